package point

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrRange is returned when a value does not fit the wire type of a point.
var ErrRange = errors.New("value out of range")

// Wire describes how one value sits in Modbus registers: its wire type, byte order, string
// length and linear scaling (engineering = raw*Scale + Offset). It is the one codec shared by
// the Modbus driver and the simulated controllers, so both sides agree by construction.
type Wire struct {
	Type   Type
	Order  ByteOrder
	Length int     // characters, for strings
	Scale  float64 // 0 means 1
	Offset float64
	// Bit is -1 for a whole register, or 0..15 for one bit of a holding/input register. Bit 0 is
	// the least significant bit of the register as it is on the wire: byte order does not apply
	// to bits, so that Decode, EncodeBit and a simulator masking the raw register agree.
	Bit int
}

// Registers is the number of 16-bit registers the value occupies.
func (w Wire) Registers() int {
	if w.Type == TypeBool {
		return 1
	}
	return w.Type.Registers(w.Length)
}

func (w Wire) scaled() bool { return (w.Scale != 0 && w.Scale != 1) || w.Offset != 0 }

func (w Wire) scale() float64 {
	if w.Scale == 0 {
		return 1
	}
	return w.Scale
}

// divisor is 1/Scale when that is a whole number (scales 0.1, 0.01, 0.001, ...), else 0.
// Those decimal scales are not exact in binary: 234*0.1 is 23.400000000000002, while 234/10 is
// 23.4, the float64 nearest to what the engineer wrote. So decimal scales divide.
func (w Wire) divisor() float64 {
	s := w.scale()
	if math.Abs(s) >= 1 {
		return 0
	}
	if d := 1 / s; d == math.Trunc(d) && !math.IsInf(d, 0) {
		return d
	}
	return 0
}

// toEngineering applies the scaling to a raw wire number.
func (w Wire) toEngineering(raw float64) float64 {
	if d := w.divisor(); d != 0 {
		return raw/d + w.Offset
	}
	return raw*w.scale() + w.Offset
}

// toRaw undoes the scaling of an engineering value.
func (w Wire) toRaw(f float64) float64 {
	if d := w.divisor(); d != 0 {
		return (f - w.Offset) * d
	}
	return (f - w.Offset) / w.scale()
}

// Decode turns registers (as read off the wire, one uint16 per register) into a value.
func (w Wire) Decode(regs []uint16) (Value, error) {
	n := w.Registers()
	if len(regs) < n {
		return Value{}, fmt.Errorf("need %d registers for %s, got %d", n, w.Type, len(regs))
	}
	if w.Type == TypeBool && w.Bit >= 0 {
		// the bit of the register as on the wire, whatever the byte order (see Wire.Bit)
		return Bool(w.Bit < 16 && regs[0]&(1<<uint(w.Bit)) != 0), nil
	}
	b := w.bytes(regs[:n])
	var raw Value
	switch w.Type {
	case TypeBool:
		return Bool(binary.BigEndian.Uint16(b) != 0), nil
	case TypeInt16:
		raw = Int(int64(int16(binary.BigEndian.Uint16(b))))
	case TypeUint16:
		raw = Uint(uint64(binary.BigEndian.Uint16(b)))
	case TypeInt32:
		raw = Int(int64(int32(binary.BigEndian.Uint32(b))))
	case TypeUint32:
		raw = Uint(uint64(binary.BigEndian.Uint32(b)))
	case TypeInt64:
		raw = Int(int64(binary.BigEndian.Uint64(b)))
	case TypeUint64:
		raw = Uint(binary.BigEndian.Uint64(b))
	case TypeFloat32:
		raw = Float(float64(math.Float32frombits(binary.BigEndian.Uint32(b))))
	case TypeFloat64:
		raw = Float(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case TypeString:
		s := string(b)
		if i := strings.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		if len(s) > w.Length {
			s = s[:max(w.Length, 0)]
		}
		return String(s), nil
	default:
		return Value{}, fmt.Errorf("cannot decode type %s", w.Type)
	}
	if w.scaled() {
		return Float(w.toEngineering(raw.Float())), nil
	}
	return raw, nil
}

// Encode turns a value into registers. Integer wire types round a scaled value to the
// nearest integer and refuse values that do not fit (ErrRange).
func (w Wire) Encode(v Value) ([]uint16, error) {
	if !v.Valid() {
		return nil, errors.New("no value to encode")
	}
	if w.Type.Kind() == KindInvalid {
		return nil, fmt.Errorf("cannot encode type %s", w.Type)
	}
	n := w.Registers()
	b := make([]byte, 2*n)
	if w.Type == TypeString {
		if v.Kind() != KindString {
			return nil, fmt.Errorf("%s is not a string", v)
		}
		if len(v.Text()) > max(w.Length, 0) {
			return nil, fmt.Errorf("string of %d characters longer than %d: %w", len(v.Text()), w.Length, ErrRange)
		}
		copy(b, v.Text())
		return w.regs(b), nil
	}
	if v.Kind() == KindString {
		return nil, fmt.Errorf("string %s for a %s point", v, w.Type)
	}
	if w.Type == TypeBool {
		if w.Bit >= 0 {
			return nil, errors.New("a bit inside a register is written with EncodeBit")
		}
		if v.Bool() {
			b[1] = 1
		}
		return w.regs(b), nil
	}
	if w.Type == TypeFloat32 || w.Type == TypeFloat64 {
		f := v.Float()
		if w.scaled() {
			f = w.toRaw(f)
		}
		if w.Type == TypeFloat32 {
			if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
				return nil, fmt.Errorf("%g as float32: %w", f, ErrRange)
			}
			binary.BigEndian.PutUint32(b, math.Float32bits(float32(f)))
		} else {
			binary.BigEndian.PutUint64(b, math.Float64bits(f))
		}
		return w.regs(b), nil
	}
	lo, hi := intRange(w.Type)
	if !w.scaled() && v.Kind() != KindFloat {
		// exact integer path: no float64 rounding of 64-bit values
		if i, ok := v.Int64(); ok {
			if !fitsInt(w.Type, i) {
				return nil, fmt.Errorf("%d as %s: %w", i, w.Type, ErrRange)
			}
			w.putInt(b, uint64(i))
			return w.regs(b), nil
		}
		if u, ok := v.Uint64(); ok { // above MaxInt64: only uint64 holds it
			if w.Type != TypeUint64 {
				return nil, fmt.Errorf("%d as %s: %w", u, w.Type, ErrRange)
			}
			w.putInt(b, u)
			return w.regs(b), nil
		}
	}
	f := v.Float()
	if w.scaled() {
		f = w.toRaw(f)
	}
	f = math.Round(f)
	if math.IsNaN(f) || f < lo || f > hi {
		return nil, fmt.Errorf("%s as %s (raw %g): %w", v, w.Type, f, ErrRange)
	}
	if f < 0 {
		w.putInt(b, uint64(int64(f)))
	} else {
		w.putInt(b, uint64(f))
	}
	return w.regs(b), nil
}

// EncodeBit sets or clears this point's bit in the current register value (as on the wire;
// see Wire.Bit). A Bit outside 0..15 leaves the register unchanged.
func (w Wire) EncodeBit(current uint16, v bool) uint16 {
	if w.Bit < 0 || w.Bit > 15 {
		return current
	}
	mask := uint16(1) << uint(w.Bit)
	if v {
		return current | mask
	}
	return current &^ mask
}

func fitsInt(t Type, i int64) bool {
	switch t {
	case TypeInt16:
		return i >= math.MinInt16 && i <= math.MaxInt16
	case TypeUint16:
		return i >= 0 && i <= math.MaxUint16
	case TypeInt32:
		return i >= math.MinInt32 && i <= math.MaxInt32
	case TypeUint32:
		return i >= 0 && i <= math.MaxUint32
	case TypeInt64:
		return true
	case TypeUint64:
		return i >= 0
	}
	return false
}

func intRange(t Type) (lo, hi float64) {
	switch t {
	case TypeInt16:
		return math.MinInt16, math.MaxInt16
	case TypeUint16:
		return 0, math.MaxUint16
	case TypeInt32:
		return math.MinInt32, math.MaxInt32
	case TypeUint32:
		return 0, math.MaxUint32
	case TypeInt64:
		// the largest float64 below 2^63, so that a rounded float never overflows int64
		return math.MinInt64, math.Nextafter(math.MaxInt64, 0)
	case TypeUint64:
		return 0, math.Nextafter(math.MaxUint64, 0)
	}
	return 0, 0
}

func (w Wire) putInt(b []byte, u uint64) {
	switch len(b) {
	case 2:
		binary.BigEndian.PutUint16(b, uint16(u))
	case 4:
		binary.BigEndian.PutUint32(b, uint32(u))
	case 8:
		binary.BigEndian.PutUint64(b, u)
	}
}

// bytes turns wire registers into big-endian bytes (A first), undoing the byte order.
func (w Wire) bytes(regs []uint16) []byte {
	n := len(regs)
	b := make([]byte, 2*n)
	for i, r := range regs {
		j := i
		if w.Order.swapsWords() && w.Type != TypeString {
			j = n - 1 - i
		}
		hi, lo := byte(r>>8), byte(r)
		if w.Order.swapsBytes() {
			hi, lo = lo, hi
		}
		b[2*j], b[2*j+1] = hi, lo
	}
	return b
}

// regs turns big-endian bytes into wire registers in this byte order.
func (w Wire) regs(b []byte) []uint16 {
	n := len(b) / 2
	out := make([]uint16, n)
	for j := 0; j < n; j++ {
		i := j
		if w.Order.swapsWords() && w.Type != TypeString {
			i = n - 1 - j
		}
		hi, lo := b[2*j], b[2*j+1]
		if w.Order.swapsBytes() {
			hi, lo = lo, hi
		}
		out[i] = uint16(hi)<<8 | uint16(lo)
	}
	return out
}
