package point

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// codecCase is one value and the registers it is on the wire, written out by hand.
type codecCase struct {
	name string
	wire Wire
	val  Value
	regs []uint16
}

func wire(t Type, o ByteOrder) Wire { return Wire{Type: t, Order: o, Bit: -1} }

// roundTripCases covers every type in every byte order. A is the most significant byte; the
// comment under each type gives its bytes A first.
var roundTripCases = []codecCase{
	// bool true: one register 0x0001 (A=00 B=01); the byte-swapping orders swap A and B.
	{"bool/ABCD", wire(TypeBool, ABCD), Bool(true), []uint16{0x0001}},
	{"bool/DCBA", wire(TypeBool, DCBA), Bool(true), []uint16{0x0100}},
	{"bool/BADC", wire(TypeBool, BADC), Bool(true), []uint16{0x0100}},
	{"bool/CDAB", wire(TypeBool, CDAB), Bool(true), []uint16{0x0001}},
	{"bool false/DCBA", wire(TypeBool, DCBA), Bool(false), []uint16{0x0000}},

	// int16 -12345 = 0xCFC7: A=CF B=C7. One register: word order does not apply.
	{"int16/ABCD", wire(TypeInt16, ABCD), Int(-12345), []uint16{0xCFC7}},
	{"int16/DCBA", wire(TypeInt16, DCBA), Int(-12345), []uint16{0xC7CF}},
	{"int16/BADC", wire(TypeInt16, BADC), Int(-12345), []uint16{0xC7CF}},
	{"int16/CDAB", wire(TypeInt16, CDAB), Int(-12345), []uint16{0xCFC7}},

	// uint16 4660 = 0x1234: A=12 B=34.
	{"uint16/ABCD", wire(TypeUint16, ABCD), Uint(4660), []uint16{0x1234}},
	{"uint16/DCBA", wire(TypeUint16, DCBA), Uint(4660), []uint16{0x3412}},
	{"uint16/BADC", wire(TypeUint16, BADC), Uint(4660), []uint16{0x3412}},
	{"uint16/CDAB", wire(TypeUint16, CDAB), Uint(4660), []uint16{0x1234}},

	// int32 -123456789 = 0xF8A432EB: A=F8 B=A4 C=32 D=EB.
	{"int32/ABCD", wire(TypeInt32, ABCD), Int(-123456789), []uint16{
		0xF8A4, // A B
		0x32EB, // C D
	}},
	{"int32/DCBA", wire(TypeInt32, DCBA), Int(-123456789), []uint16{
		0xEB32, // D C
		0xA4F8, // B A
	}},
	{"int32/BADC", wire(TypeInt32, BADC), Int(-123456789), []uint16{
		0xA4F8, // B A
		0xEB32, // D C
	}},
	{"int32/CDAB", wire(TypeInt32, CDAB), Int(-123456789), []uint16{
		0x32EB, // C D
		0xF8A4, // A B
	}},

	// uint32 305419896 = 0x12345678: A=12 B=34 C=56 D=78.
	{"uint32/ABCD", wire(TypeUint32, ABCD), Uint(305419896), []uint16{
		0x1234, // A B
		0x5678, // C D
	}},
	{"uint32/DCBA", wire(TypeUint32, DCBA), Uint(305419896), []uint16{
		0x7856, // D C
		0x3412, // B A
	}},
	{"uint32/BADC", wire(TypeUint32, BADC), Uint(305419896), []uint16{
		0x3412, // B A
		0x7856, // D C
	}},
	{"uint32/CDAB", wire(TypeUint32, CDAB), Uint(305419896), []uint16{
		0x5678, // C D
		0x1234, // A B
	}},

	// int64 -72623859790382856 = -0x0102030405060708 = 0xFEFDFCFBFAF9F8F8:
	// A=FE B=FD C=FC D=FB E=FA F=F9 G=F8 H=F8. The 64-bit orders are ABCDEFGH, HGFEDCBA,
	// BADCFEHG and GHEFCDAB.
	{"int64/ABCD", wire(TypeInt64, ABCD), Int(-72623859790382856), []uint16{
		0xFEFD, // A B
		0xFCFB, // C D
		0xFAF9, // E F
		0xF8F8, // G H
	}},
	{"int64/DCBA", wire(TypeInt64, DCBA), Int(-72623859790382856), []uint16{
		0xF8F8, // H G
		0xF9FA, // F E
		0xFBFC, // D C
		0xFDFE, // B A
	}},
	{"int64/BADC", wire(TypeInt64, BADC), Int(-72623859790382856), []uint16{
		0xFDFE, // B A
		0xFBFC, // D C
		0xF9FA, // F E
		0xF8F8, // H G
	}},
	{"int64/CDAB", wire(TypeInt64, CDAB), Int(-72623859790382856), []uint16{
		0xF8F8, // G H
		0xFAF9, // E F
		0xFCFB, // C D
		0xFEFD, // A B
	}},

	// uint64 17434265340928784376 = 0xF1F2F3F4F5F6F7F8: A=F1 ... H=F8. Above MaxInt64 and
	// not a float64: it must travel exactly.
	{"uint64/ABCD", wire(TypeUint64, ABCD), Uint(17434265340928784376), []uint16{
		0xF1F2, // A B
		0xF3F4, // C D
		0xF5F6, // E F
		0xF7F8, // G H
	}},
	{"uint64/DCBA", wire(TypeUint64, DCBA), Uint(17434265340928784376), []uint16{
		0xF8F7, // H G
		0xF6F5, // F E
		0xF4F3, // D C
		0xF2F1, // B A
	}},
	{"uint64/BADC", wire(TypeUint64, BADC), Uint(17434265340928784376), []uint16{
		0xF2F1, // B A
		0xF4F3, // D C
		0xF6F5, // F E
		0xF8F7, // H G
	}},
	{"uint64/CDAB", wire(TypeUint64, CDAB), Uint(17434265340928784376), []uint16{
		0xF7F8, // G H
		0xF5F6, // E F
		0xF3F4, // C D
		0xF1F2, // A B
	}},

	// float32 1.5 = 0x3FC00000: A=3F B=C0 C=00 D=00.
	{"float32/ABCD", wire(TypeFloat32, ABCD), Float(1.5), []uint16{
		0x3FC0, // A B
		0x0000, // C D
	}},
	{"float32/DCBA", wire(TypeFloat32, DCBA), Float(1.5), []uint16{
		0x0000, // D C
		0xC03F, // B A
	}},
	{"float32/BADC", wire(TypeFloat32, BADC), Float(1.5), []uint16{
		0xC03F, // B A
		0x0000, // D C
	}},
	{"float32/CDAB", wire(TypeFloat32, CDAB), Float(1.5), []uint16{
		0x0000, // C D
		0x3FC0, // A B
	}},

	// float64 pi = 0x400921FB54442D18: A=40 B=09 C=21 D=FB E=54 F=44 G=2D H=18.
	{"float64/ABCD", wire(TypeFloat64, ABCD), Float(math.Pi), []uint16{
		0x4009, // A B
		0x21FB, // C D
		0x5444, // E F
		0x2D18, // G H
	}},
	{"float64/DCBA", wire(TypeFloat64, DCBA), Float(math.Pi), []uint16{
		0x182D, // H G
		0x4454, // F E
		0xFB21, // D C
		0x0940, // B A
	}},
	{"float64/BADC", wire(TypeFloat64, BADC), Float(math.Pi), []uint16{
		0x0940, // B A
		0xFB21, // D C
		0x4454, // F E
		0x182D, // H G
	}},
	{"float64/CDAB", wire(TypeFloat64, CDAB), Float(math.Pi), []uint16{
		0x2D18, // G H
		0x5444, // E F
		0x21FB, // C D
		0x4009, // A B
	}},

	// string "Tank1", length 5 (odd): three registers, the last byte a NUL pad. Characters
	// stay in reading order (no word swap); DCBA and BADC swap the two bytes of each register.
	{"string/ABCD", Wire{Type: TypeString, Order: ABCD, Length: 5, Bit: -1}, String("Tank1"), []uint16{
		0x5461, // 'T' 'a'
		0x6E6B, // 'n' 'k'
		0x3100, // '1' NUL
	}},
	{"string/DCBA", Wire{Type: TypeString, Order: DCBA, Length: 5, Bit: -1}, String("Tank1"), []uint16{
		0x6154, // 'a' 'T'
		0x6B6E, // 'k' 'n'
		0x0031, // NUL '1'
	}},
	{"string/BADC", Wire{Type: TypeString, Order: BADC, Length: 5, Bit: -1}, String("Tank1"), []uint16{
		0x6154, // 'a' 'T'
		0x6B6E, // 'k' 'n'
		0x0031, // NUL '1'
	}},
	{"string/CDAB", Wire{Type: TypeString, Order: CDAB, Length: 5, Bit: -1}, String("Tank1"), []uint16{
		0x5461, // 'T' 'a'
		0x6E6B, // 'n' 'k'
		0x3100, // '1' NUL
	}},
}

// extremeCases are the limits of each integer type, the float specials, and the scaled cases.
var extremeCases = []codecCase{
	{"int16 min", wire(TypeInt16, ABCD), Int(math.MinInt16), []uint16{0x8000}},
	{"int16 max", wire(TypeInt16, ABCD), Int(math.MaxInt16), []uint16{0x7FFF}},
	{"int16 -1", wire(TypeInt16, ABCD), Int(-1), []uint16{0xFFFF}},
	{"uint16 max", wire(TypeUint16, ABCD), Uint(math.MaxUint16), []uint16{0xFFFF}},
	{"int32 min", wire(TypeInt32, ABCD), Int(math.MinInt32), []uint16{0x8000, 0x0000}},
	{"uint32 max", wire(TypeUint32, CDAB), Uint(math.MaxUint32), []uint16{0xFFFF, 0xFFFF}},
	{"int64 min", wire(TypeInt64, ABCD), Int(math.MinInt64), []uint16{0x8000, 0x0000, 0x0000, 0x0000}},
	{"int64 max", wire(TypeInt64, ABCD), Int(math.MaxInt64), []uint16{0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}},
	{"int64 max/CDAB", wire(TypeInt64, CDAB), Int(math.MaxInt64), []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0x7FFF}},
	{"uint64 max", wire(TypeUint64, ABCD), Uint(math.MaxUint64), []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}},
	// 2^63+1 has no float64: a float detour would give 0x8000000000000000
	{"uint64 2^63+1", wire(TypeUint64, ABCD), Uint(1<<63 + 1), []uint16{0x8000, 0x0000, 0x0000, 0x0001}},
	{"int64 2^53+1", wire(TypeInt64, DCBA), Int(1<<53 + 1), []uint16{0x0100, 0x0000, 0x0000, 0x2000}},
	{"float32 +Inf", wire(TypeFloat32, ABCD), Float(math.Inf(1)), []uint16{0x7F80, 0x0000}},
	{"float32 -0", wire(TypeFloat32, ABCD), Float(math.Copysign(0, -1)), []uint16{0x8000, 0x0000}},
	{"float32 max", wire(TypeFloat32, ABCD), Float(math.MaxFloat32), []uint16{0x7F7F, 0xFFFF}},
	{"float64 -Inf", wire(TypeFloat64, BADC), Float(math.Inf(-1)), []uint16{0xF0FF, 0x0000, 0x0000, 0x0000}},
	{"float64 -2.5", wire(TypeFloat64, CDAB), Float(-2.5), []uint16{0x0000, 0x0000, 0x0000, 0xC004}},

	// scale and offset: engineering = raw*scale + offset
	{"int16 scale 0.1", Wire{Type: TypeInt16, Scale: 0.1, Bit: -1}, Float(23.4), []uint16{234}},
	{"int16 scale 0.1 negative", Wire{Type: TypeInt16, Scale: 0.1, Bit: -1}, Float(-23.5), []uint16{0xFF15}}, // -235
	{"uint16 scale 0.01", Wire{Type: TypeUint16, Scale: 0.01, Bit: -1}, Float(655.35), []uint16{0xFFFF}},
	{"uint16 scale 0.5 offset -40", Wire{Type: TypeUint16, Scale: 0.5, Offset: -40, Bit: -1}, Float(20), []uint16{120}},
	{"int32 scale 10", Wire{Type: TypeInt32, Scale: 10, Bit: -1}, Float(-1234560), []uint16{0xFFFE, 0x1DC0}}, // -123456
	{"uint32 offset only", Wire{Type: TypeUint32, Offset: 1000, Order: CDAB, Bit: -1}, Float(1001), []uint16{0x0001, 0x0000}},
	{"float32 scale 0.001", Wire{Type: TypeFloat32, Scale: 0.001, Bit: -1}, Float(1.5), []uint16{0x44BB, 0x8000}}, // 1500
}

func TestCodecRoundTrip(t *testing.T) {
	for _, c := range slices.Concat(roundTripCases, extremeCases) {
		t.Run(c.name, func(t *testing.T) {
			if n := c.wire.Registers(); n != len(c.regs) {
				t.Errorf("Registers() = %d, want %d", n, len(c.regs))
			}
			got, err := c.wire.Encode(c.val)
			if err != nil {
				t.Fatalf("Encode(%v): %v", c.val, err)
			}
			if !slices.Equal(got, c.regs) {
				t.Errorf("Encode(%v) = %s, want %s", c.val, hex(got), hex(c.regs))
			}
			v, err := c.wire.Decode(c.regs)
			if err != nil {
				t.Fatalf("Decode(%s): %v", hex(c.regs), err)
			}
			if !v.Equal(c.val) {
				t.Errorf("Decode(%s) = %v (%s), want %v (%s)", hex(c.regs), v, v.Kind(), c.val, c.val.Kind())
			}
		})
	}
}

// TestDecodeDecimalScale pins a fix: decimal scales were applied by multiplying, so 234 with
// scale 0.1 read as 23.400000000000002, which is not the 23.4 that a scenario compares with,
// and 23.45 was written as 234, not the 235 the decimal reads as.
func TestDecodeDecimalScale(t *testing.T) {
	for _, c := range []struct {
		scale, offset float64
		raw           int64
		want          float64
	}{
		{0.1, 0, 234, 23.4},
		{0.1, 0, -7, -0.7},
		{0.01, 0, 2999, 29.99},
		{0.001, 0, 1234, 1.234},
		{0.1, -40, 655, 25.5},
	} {
		wi := Wire{Type: TypeInt32, Scale: c.scale, Offset: c.offset, Bit: -1}
		regs, err := wi.Encode(Float(c.want))
		if err != nil {
			t.Fatal(err)
		}
		if raw := int64(int32(uint32(regs[0])<<16 | uint32(regs[1]))); raw != c.raw {
			t.Errorf("scale %g offset %g: Encode(%g) raw %d, want %d", c.scale, c.offset, c.want, raw, c.raw)
		}
		v, err := wi.Decode(regs)
		if err != nil {
			t.Fatal(err)
		}
		if v.Float() != c.want {
			t.Errorf("scale %g offset %g: Decode(raw %d) = %v, want exactly %v", c.scale, c.offset, c.raw, v.Float(), c.want)
		}
	}
}

func TestEncodeRounding(t *testing.T) {
	for _, c := range []struct {
		wire Wire
		val  Value
		want uint16
	}{
		{Wire{Type: TypeInt16, Scale: 0.1, Bit: -1}, Float(23.46), 235},
		{Wire{Type: TypeInt16, Scale: 0.1, Bit: -1}, Float(23.44), 234},
		{Wire{Type: TypeInt16, Scale: 0.1, Bit: -1}, Float(23.45), 235},     // half away from zero
		{Wire{Type: TypeInt16, Scale: 0.1, Bit: -1}, Float(-23.45), 0xFF15}, // -235
		{wire(TypeInt16, ABCD), Float(2.5), 3},
		{wire(TypeInt16, ABCD), Float(-2.5), 0xFFFD}, // -3
		{wire(TypeUint16, ABCD), Float(-0.4), 0},     // rounds to zero, which fits
		{wire(TypeUint16, ABCD), Bool(true), 1},
	} {
		got, err := c.wire.Encode(c.val)
		if err != nil {
			t.Errorf("%s scale %g: Encode(%v): %v", c.wire.Type, c.wire.Scale, c.val, err)
			continue
		}
		if got[0] != c.want {
			t.Errorf("%s scale %g: Encode(%v) = %#04x, want %#04x", c.wire.Type, c.wire.Scale, c.val, got[0], c.want)
		}
	}
}

func TestEncodeRange(t *testing.T) {
	for _, c := range []struct {
		name string
		wire Wire
		val  Value
	}{
		{"int16 above max", wire(TypeInt16, ABCD), Int(32768)},
		{"int16 below min", wire(TypeInt16, ABCD), Int(-32769)},
		{"int16 scaled above max", Wire{Type: TypeInt16, Scale: 0.1, Bit: -1}, Float(3276.8)},
		{"uint16 negative", wire(TypeUint16, ABCD), Int(-1)},
		{"uint16 negative float", wire(TypeUint16, ABCD), Float(-0.6)},
		{"uint16 above max", wire(TypeUint16, ABCD), Uint(65536)},
		{"int32 above max", wire(TypeInt32, ABCD), Uint(1 << 31)},
		{"uint32 negative", wire(TypeUint32, ABCD), Int(-1)},
		{"uint32 above max", wire(TypeUint32, ABCD), Float(4294967295.5)},
		{"int64 huge uint", wire(TypeInt64, ABCD), Uint(1 << 63)},
		{"int64 float 2^63", wire(TypeInt64, ABCD), Float(1 << 63)}, // would wrap to MinInt64
		{"uint64 negative", wire(TypeUint64, ABCD), Int(-1)},
		{"uint64 float 2^64", wire(TypeUint64, ABCD), Float(1 << 64)},
		{"uint32 huge uint", wire(TypeUint32, ABCD), Uint(math.MaxUint64)},
		{"int16 NaN", wire(TypeInt16, ABCD), Float(math.NaN())},
		{"int32 +Inf", wire(TypeInt32, ABCD), Float(math.Inf(1))},
		{"uint64 -Inf", wire(TypeUint64, ABCD), Float(math.Inf(-1))},
		{"float32 overflow", wire(TypeFloat32, ABCD), Float(1e39)},
		{"float32 scaled overflow", Wire{Type: TypeFloat32, Scale: 1e-10, Bit: -1}, Float(1e30)},
		{"string too long", Wire{Type: TypeString, Length: 6, Bit: -1}, String("abcdefg")},
	} {
		_, err := c.wire.Encode(c.val)
		if !errors.Is(err, ErrRange) {
			t.Errorf("%s: Encode(%v) error = %v, want ErrRange", c.name, c.val, err)
		}
	}
}

// TestEncodeRefused covers values that are not out of range but wrong.
func TestEncodeRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		wire Wire
		val  Value
	}{
		{"no value", wire(TypeInt16, ABCD), Value{}},
		{"string for a number", wire(TypeFloat32, ABCD), String("1.5")},
		{"number for a string", Wire{Type: TypeString, Length: 4, Bit: -1}, Int(1)},
		{"bit with Encode", Wire{Type: TypeBool, Bit: 3}, Bool(true)},
		{"invalid type", Wire{Bit: -1}, Int(0)},
	} {
		regs, err := c.wire.Encode(c.val)
		if err == nil || errors.Is(err, ErrRange) {
			t.Errorf("%s: Encode(%v) = %v, %v; want an error that is not ErrRange", c.name, c.val, regs, err)
		}
	}
}

// TestEncodeInvalidTypeRefused pins a fix: a Wire of TypeInvalid encoded a zero value as no
// registers and no error, so a bad point could be "written" without a word on the wire.
func TestEncodeInvalidTypeRefused(t *testing.T) {
	for _, v := range []Value{Int(0), Uint(0), Float(0), Bool(false)} {
		if regs, err := (Wire{Type: TypeInvalid, Bit: -1}).Encode(v); err == nil {
			t.Errorf("Encode(%v) with an invalid type = %v, nil; want an error", v, regs)
		}
	}
	if _, err := (Wire{Type: Type(200), Bit: -1}).Decode([]uint16{1, 2, 3, 4}); err == nil {
		t.Error("Decode with type 200: no error")
	}
}

func TestFloatNaN(t *testing.T) {
	for _, typ := range []Type{TypeFloat32, TypeFloat64} {
		for _, o := range []ByteOrder{ABCD, DCBA, BADC, CDAB} {
			wi := wire(typ, o)
			regs, err := wi.Encode(Float(math.NaN()))
			if err != nil {
				t.Fatalf("%s/%s: Encode(NaN): %v", typ, o, err)
			}
			v, err := wi.Decode(regs)
			if err != nil || v.Kind() != KindFloat || !math.IsNaN(v.Float()) {
				t.Errorf("%s/%s: Decode(Encode(NaN)) = %v, %v; want NaN", typ, o, v, err)
			}
		}
	}
	// a float32 NaN with a payload (0x7FC00001) decodes as NaN
	v, err := wire(TypeFloat32, ABCD).Decode([]uint16{0x7FC0, 0x0001})
	if err != nil || !math.IsNaN(v.Float()) {
		t.Errorf("Decode(0x7FC00001) = %v, %v; want NaN", v, err)
	}
}

func TestStrings(t *testing.T) {
	str := func(n int, o ByteOrder) Wire { return Wire{Type: TypeString, Length: n, Order: o, Bit: -1} }
	t.Run("encode", func(t *testing.T) {
		for _, c := range []struct {
			wire Wire
			s    string
			want []uint16
		}{
			{str(3, ABCD), "abc", []uint16{0x6162, 0x6300}},                     // odd length: NUL pad
			{str(6, ABCD), "ab", []uint16{0x6162, 0x0000, 0x0000}},              // short: NUL padded
			{str(6, CDAB), "abcdef", []uint16{0x6162, 0x6364, 0x6566}},          // no word swap for text
			{str(4, DCBA), "", []uint16{0x0000, 0x0000}},                        // empty
			{str(2, ABCD), "\u00e9", []uint16{0xC3A9}},                          // UTF-8 bytes count
			{str(8, BADC), "V1.2", []uint16{0x3156, 0x322E, 0x0000, 0x0000}},    // bytes swapped
			{str(16, ABCD), "fw", []uint16{0x6677, 0, 0, 0, 0, 0, 0, 0}},        // tank Firmware size
			{str(1, ABCD), "x", []uint16{0x7800}},                               // one character
			{str(5, ABCD), "a\x00b", []uint16{0x6100, 0x6200, 0x0000}},          // NUL is kept on the wire
			{str(7, DCBA), "1234567", []uint16{0x3231, 0x3433, 0x3635, 0x0037}}, // odd, swapped
			{str(3, BADC), "ab", []uint16{0x6261, 0x0000}},                      // short, swapped
			{str(4, ABCD), "abcd", []uint16{0x6162, 0x6364}},                    // exact fit
			{str(9, CDAB), "123456789", []uint16{0x3132, 0x3334, 0x3536, 0x3738, 0x3900}},
		} {
			got, err := c.wire.Encode(String(c.s))
			if err != nil {
				t.Errorf("length %d %s: Encode(%q): %v", c.wire.Length, c.wire.Order, c.s, err)
				continue
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("length %d %s: Encode(%q) = %s, want %s", c.wire.Length, c.wire.Order, c.s, hex(got), hex(c.want))
			}
		}
	})
	t.Run("decode", func(t *testing.T) {
		for _, c := range []struct {
			wire Wire
			regs []uint16
			want string
		}{
			{str(3, ABCD), []uint16{0x6162, 0x6300}, "abc"},
			{str(3, ABCD), []uint16{0x6162, 0x6364}, "abc"},          // the pad byte is not text
			{str(6, ABCD), []uint16{0x6162, 0x0063, 0x6465}, "ab"},   // stops at the first NUL
			{str(4, DCBA), []uint16{0x6261, 0x6463}, "abcd"},         // bytes swapped back
			{str(4, ABCD), []uint16{0x0000, 0x6162}, ""},             // leading NUL: empty
			{str(4, ABCD), []uint16{0x6162, 0x6364, 0x6566}, "abcd"}, // extra registers ignored
			{str(0, ABCD), nil, ""},
		} {
			v, err := c.wire.Decode(c.regs)
			if err != nil {
				t.Errorf("length %d: Decode(%s): %v", c.wire.Length, hex(c.regs), err)
				continue
			}
			if v.Kind() != KindString || v.Text() != c.want {
				t.Errorf("length %d %s: Decode(%s) = %v, want %q", c.wire.Length, c.wire.Order, hex(c.regs), v, c.want)
			}
		}
	})
	t.Run("too long", func(t *testing.T) {
		if _, err := str(5, ABCD).Encode(String("Tank12")); !errors.Is(err, ErrRange) {
			t.Errorf("6 characters in length 5: %v, want ErrRange", err)
		}
	})
}

// TestStringNegativeLengthNoPanic pins a fix: a Wire with a negative string Length (the public
// struct allows it; a point map does not) panicked in make and in slicing.
func TestStringNegativeLengthNoPanic(t *testing.T) {
	wi := Wire{Type: TypeString, Length: -5, Bit: -1}
	if n := wi.Registers(); n != 0 {
		t.Errorf("Registers() = %d, want 0", n)
	}
	for _, c := range []struct {
		length int
		regs   []uint16
	}{
		{-5, []uint16{0x6162}},
		{-43, nil}, // found by FuzzDecode before the fix: slice bounds out of range [:-43]
		{-1, []uint16{}},
	} {
		v, err := Wire{Type: TypeString, Length: c.length, Bit: -1}.Decode(c.regs)
		if err != nil || v.Kind() != KindString || v.Text() != "" {
			t.Errorf("length %d: Decode(%s) = %v, %v; want an empty string", c.length, hex(c.regs), v, err)
		}
	}
	regs, err := wi.Encode(String(""))
	if err != nil || len(regs) != 0 {
		t.Errorf(`Encode("") = %v, %v; want no registers`, regs, err)
	}
	if _, err := wi.Encode(String("a")); !errors.Is(err, ErrRange) {
		t.Errorf(`Encode("a") = %v, want ErrRange`, err)
	}
	// the largest length must not overflow the register count into a negative one
	if n := TypeString.Registers(math.MaxInt); n != math.MaxInt/2+1 {
		t.Errorf("Registers(MaxInt) = %d, want %d", n, math.MaxInt/2+1)
	}
}

func TestDecodeShort(t *testing.T) {
	for _, wi := range []Wire{wire(TypeInt16, ABCD), wire(TypeFloat32, ABCD), wire(TypeUint64, CDAB), {Type: TypeString, Length: 3, Bit: -1}} {
		regs := make([]uint16, wi.Registers()-1)
		if v, err := wi.Decode(regs); err == nil {
			t.Errorf("%s: Decode of %d registers = %v, want an error", wi.Type, len(regs), v)
		}
	}
}

func TestBitDecode(t *testing.T) {
	for _, c := range []struct {
		order ByteOrder
		bit   int
		reg   uint16
		want  bool
	}{
		{ABCD, 0, 0x0001, true},
		{ABCD, 0, 0xFFFE, false},
		{ABCD, 3, 0x0008, true},
		{ABCD, 3, 0xFFF7, false},
		{ABCD, 8, 0x0100, true},
		{ABCD, 8, 0x0080, false},
		{ABCD, 15, 0x8000, true},
		{ABCD, 15, 0x7FFF, false},
		{BADC, 0, 0x0001, true},
		// found by FuzzDecode before the fix: clearing bit 12 of 0x3030 with EncodeBit gives
		// 0x2030, which read back as set in DCBA (the byte swap brought bit 4 to bit 12)
		{DCBA, 12, 0x3030, true},
		{DCBA, 12, 0x2030, false},
		{DCBA, 4, 0x0010, true},
		{DCBA, 12, 0x0010, false},
	} {
		v, err := Wire{Type: TypeBool, Order: c.order, Bit: c.bit}.Decode([]uint16{c.reg})
		if err != nil || v.Kind() != KindBool || v.Bool() != c.want {
			t.Errorf("%s: bit %d of %#04x = %v, %v; want %v", c.order, c.bit, c.reg, v, err, c.want)
		}
	}
	// a whole-register bool is true for any non-zero register
	for _, reg := range []uint16{0x0001, 0x8000, 0x0100} {
		if v, _ := wire(TypeBool, ABCD).Decode([]uint16{reg}); !v.Bool() {
			t.Errorf("whole-register bool %#04x = false", reg)
		}
	}
}

func TestEncodeBit(t *testing.T) {
	for _, c := range []struct {
		bit  int
		cur  uint16
		v    bool
		want uint16
	}{
		{0, 0x00F0, true, 0x00F1},
		{4, 0x00F1, false, 0x00E1},
		{4, 0x00E1, false, 0x00E1}, // already clear
		{15, 0x0000, true, 0x8000},
		{15, 0xFFFF, false, 0x7FFF},
		{7, 0x1234, true, 0x12B4},
		{-1, 0x1234, true, 0x1234}, // not a bit point: unchanged
		{16, 0x1234, true, 0x1234},
	} {
		if got := (Wire{Type: TypeBool, Bit: c.bit}).EncodeBit(c.cur, c.v); got != c.want {
			t.Errorf("EncodeBit(%#04x, bit %d, %v) = %#04x, want %#04x", c.cur, c.bit, c.v, got, c.want)
		}
	}
}

// TestBitIgnoresByteOrder pins a fix: Decode applied the byte order to a bit-in-register point
// and EncodeBit did not, so with byte_order DCBA or BADC on the map, bit 0 written by EncodeBit
// (and by the simulated controller, which masks the raw register) read back as bit 8.
func TestBitIgnoresByteOrder(t *testing.T) {
	for _, o := range []ByteOrder{ABCD, DCBA, BADC, CDAB} {
		for bit := 0; bit < 16; bit++ {
			wi := Wire{Type: TypeBool, Order: o, Bit: bit}
			reg := wi.EncodeBit(0, true)
			if reg != 1<<bit {
				t.Errorf("%s bit %d: EncodeBit(0, true) = %#04x, want %#04x", o, bit, reg, 1<<bit)
			}
			v, err := wi.Decode([]uint16{reg})
			if err != nil || !v.Bool() {
				t.Errorf("%s bit %d: Decode(%#04x) = %v, %v; want true", o, bit, reg, v, err)
			}
			v, _ = wi.Decode([]uint16{^reg})
			if v.Bool() {
				t.Errorf("%s bit %d: Decode(%#04x) = true, want false", o, bit, ^reg)
			}
		}
	}
}

func hex(regs []uint16) string {
	s := "{"
	for i, r := range regs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("0x%04X", r)
	}
	return s + "}"
}
