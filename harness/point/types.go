package point

import (
	"fmt"
	"strings"
)

// Type is the data type of a point, as written in a point map.
type Type uint8

const (
	TypeInvalid Type = iota
	TypeBool
	TypeInt16
	TypeUint16
	TypeInt32
	TypeUint32
	TypeInt64
	TypeUint64
	TypeFloat32
	TypeFloat64
	TypeString
)

var typeNames = map[Type]string{
	TypeBool: "bool", TypeInt16: "int16", TypeUint16: "uint16", TypeInt32: "int32",
	TypeUint32: "uint32", TypeInt64: "int64", TypeUint64: "uint64", TypeFloat32: "float32",
	TypeFloat64: "float64", TypeString: "string",
}

// TypeNames lists the type words a point map accepts, for error messages.
const TypeNames = "bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string"

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "invalid"
}

// ParseType parses a type word (case-insensitive; "float" and "double" are accepted as the
// telegraf spellings of float32 and float64).
func ParseType(s string) (Type, error) {
	w := strings.ToLower(strings.TrimSpace(s))
	switch w {
	case "float":
		return TypeFloat32, nil
	case "double":
		return TypeFloat64, nil
	case "boolean":
		return TypeBool, nil
	}
	for t, n := range typeNames {
		if n == w {
			return t, nil
		}
	}
	return TypeInvalid, fmt.Errorf("unknown type %q; expected one of %s", s, TypeNames)
}

// Registers is how many 16-bit registers a value of this type takes (strings: per length).
func (t Type) Registers(length int) int {
	switch t {
	case TypeBool, TypeInt16, TypeUint16:
		return 1
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	case TypeInt64, TypeUint64, TypeFloat64:
		return 4
	case TypeString:
		if length <= 0 {
			return 0
		}
		return length/2 + length%2 // (length+1)/2 would overflow for the largest int
	}
	return 0
}

// Kind is the Value kind a decoded raw value of this type has (before scaling).
func (t Type) Kind() Kind {
	switch t {
	case TypeBool:
		return KindBool
	case TypeInt16, TypeInt32, TypeInt64:
		return KindInt
	case TypeUint16, TypeUint32, TypeUint64:
		return KindUint
	case TypeFloat32, TypeFloat64:
		return KindFloat
	case TypeString:
		return KindString
	}
	return KindInvalid
}

// Register is a Modbus table.
type Register uint8

const (
	RegisterInvalid Register = iota
	RegisterCoil
	RegisterDiscrete
	RegisterInput
	RegisterHolding
)

func (r Register) String() string {
	switch r {
	case RegisterCoil:
		return "coil"
	case RegisterDiscrete:
		return "discrete"
	case RegisterInput:
		return "input"
	case RegisterHolding:
		return "holding"
	}
	return "invalid"
}

// ParseRegister parses telegraf's register words.
func ParseRegister(s string) (Register, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "coil", "coils":
		return RegisterCoil, nil
	case "discrete", "discrete_input", "discrete_inputs":
		return RegisterDiscrete, nil
	case "input", "input_register", "input_registers":
		return RegisterInput, nil
	case "holding", "holding_register", "holding_registers":
		return RegisterHolding, nil
	}
	return RegisterInvalid, fmt.Errorf("unknown register %q; expected holding, input, coil or discrete", s)
}

// IsBit reports whether the table holds single bits (coils, discrete inputs).
func (r Register) IsBit() bool { return r == RegisterCoil || r == RegisterDiscrete }

// Writable reports whether a Modbus master can write the table at all.
func (r Register) Writable() bool { return r == RegisterCoil || r == RegisterHolding }

// modiconPrefix is the leading digit of the 1-based "40001" notation for the table.
func (r Register) modiconPrefix() int {
	switch r {
	case RegisterCoil:
		return 0
	case RegisterDiscrete:
		return 1
	case RegisterInput:
		return 3
	case RegisterHolding:
		return 4
	}
	return -1
}

// ByteOrder is the order of the bytes of a multi-register value on the wire, named as in
// telegraf: A is the most significant byte.
type ByteOrder uint8

const (
	ABCD ByteOrder = iota // big-endian, high word first (Modbus default)
	DCBA                  // little-endian
	BADC                  // bytes swapped in each word, high word first
	CDAB                  // low word first, bytes big-endian in each word
)

func (o ByteOrder) String() string {
	return [...]string{"ABCD", "DCBA", "BADC", "CDAB"}[o&3]
}

// ParseByteOrder parses ABCD, DCBA, BADC or CDAB (and the 16-bit spellings AB, BA).
func ParseByteOrder(s string) (ByteOrder, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "ABCD", "AB", "ABCDEFGH":
		return ABCD, nil
	case "DCBA", "BA", "HGFEDCBA":
		return DCBA, nil
	case "BADC", "BADCFEHG":
		return BADC, nil
	case "CDAB", "GHEFCDAB":
		return CDAB, nil
	}
	return ABCD, fmt.Errorf("unknown byte_order %q; expected ABCD, DCBA, BADC or CDAB", s)
}

func (o ByteOrder) swapsBytes() bool { return o == DCBA || o == BADC }
func (o ByteOrder) swapsWords() bool { return o == DCBA || o == CDAB }
