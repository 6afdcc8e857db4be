package point

import (
	"fmt"
	"math"
	"strconv"
)

// Kind is the family of a Value.
type Kind uint8

const (
	KindInvalid Kind = iota
	KindBool
	KindInt
	KindUint
	KindFloat
	KindString
)

func (k Kind) String() string {
	switch k {
	case KindBool:
		return "bool"
	case KindInt:
		return "int"
	case KindUint:
		return "uint"
	case KindFloat:
		return "float"
	case KindString:
		return "string"
	}
	return "invalid"
}

// Value is one engineering value of a point. 64-bit integers keep their exact bits, which a
// float64 would not; Float gives the numeric view that comparisons and plots use.
// The zero Value is invalid (no data), which is different from 0.
type Value struct {
	kind Kind
	bits uint64
	str  string
}

func Bool(b bool) Value {
	if b {
		return Value{kind: KindBool, bits: 1}
	}
	return Value{kind: KindBool}
}
func Int(i int64) Value     { return Value{kind: KindInt, bits: uint64(i)} }
func Uint(u uint64) Value   { return Value{kind: KindUint, bits: u} }
func Float(f float64) Value { return Value{kind: KindFloat, bits: math.Float64bits(f)} }
func String(s string) Value { return Value{kind: KindString, str: s} }

func (v Value) Kind() Kind     { return v.kind }
func (v Value) Valid() bool    { return v.kind != KindInvalid }
func (v Value) IsNumber() bool { return v.kind != KindInvalid && v.kind != KindString }

// Bool reports the value as a boolean: non-zero numbers are true.
func (v Value) Bool() bool {
	switch v.kind {
	case KindFloat:
		return v.Float() != 0
	case KindString:
		return v.str != ""
	}
	return v.bits != 0
}

// Float is the numeric view; strings and invalid values give NaN.
func (v Value) Float() float64 {
	switch v.kind {
	case KindBool, KindUint:
		return float64(v.bits)
	case KindInt:
		return float64(int64(v.bits))
	case KindFloat:
		return math.Float64frombits(v.bits)
	}
	return math.NaN()
}

// Int64 returns the exact integer when the value is an integer that fits, else false.
func (v Value) Int64() (int64, bool) {
	switch v.kind {
	case KindBool:
		return int64(v.bits), true
	case KindInt:
		return int64(v.bits), true
	case KindUint:
		if v.bits > math.MaxInt64 {
			return 0, false
		}
		return int64(v.bits), true
	case KindFloat:
		f := v.Float()
		if f == math.Trunc(f) && f >= -(1<<63) && f < (1<<63) {
			return int64(f), true
		}
	}
	return 0, false
}

// Uint64 returns the exact unsigned integer when the value is one, else false.
func (v Value) Uint64() (uint64, bool) {
	switch v.kind {
	case KindBool, KindUint:
		return v.bits, true
	case KindInt:
		if int64(v.bits) < 0 {
			return 0, false
		}
		return v.bits, true
	case KindFloat:
		f := v.Float()
		if f == math.Trunc(f) && f >= 0 && f < (1<<64) {
			return uint64(f), true
		}
	}
	return 0, false
}

// Text returns the string of a string value (empty otherwise).
func (v Value) Text() string { return v.str }

// Any returns the value as a plain Go value (bool, int64, uint64, float64, string or nil),
// for expression engines and JSON.
func (v Value) Any() any {
	switch v.kind {
	case KindBool:
		return v.bits != 0
	case KindInt:
		return int64(v.bits)
	case KindUint:
		return v.bits
	case KindFloat:
		return v.Float()
	case KindString:
		return v.str
	}
	return nil
}

func (v Value) String() string {
	switch v.kind {
	case KindBool:
		return strconv.FormatBool(v.bits != 0)
	case KindInt:
		return strconv.FormatInt(int64(v.bits), 10)
	case KindUint:
		return strconv.FormatUint(v.bits, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case KindString:
		return strconv.Quote(v.str)
	}
	return "<no value>"
}

// Equal reports exact equality of kind and bits (NaN equals NaN with the same bits).
func (v Value) Equal(w Value) bool { return v == w }

// FromAny converts a plain Go value into a Value.
func FromAny(x any) (Value, error) {
	switch t := x.(type) {
	case bool:
		return Bool(t), nil
	case int:
		return Int(int64(t)), nil
	case int8:
		return Int(int64(t)), nil
	case int16:
		return Int(int64(t)), nil
	case int32:
		return Int(int64(t)), nil
	case int64:
		return Int(t), nil
	case uint:
		return Uint(uint64(t)), nil
	case uint8:
		return Uint(uint64(t)), nil
	case uint16:
		return Uint(uint64(t)), nil
	case uint32:
		return Uint(uint64(t)), nil
	case uint64:
		return Uint(t), nil
	case float32:
		return Float(float64(t)), nil
	case float64:
		return Float(t), nil
	case string:
		return String(t), nil
	case Value:
		return t, nil
	}
	return Value{}, fmt.Errorf("unsupported value type %T", x)
}
