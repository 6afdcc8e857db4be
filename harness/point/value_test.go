package point

import (
	"math"
	"testing"
)

func TestValueViews(t *testing.T) {
	type ints struct {
		i   int64
		iok bool
		u   uint64
		uok bool
	}
	for _, c := range []struct {
		name  string
		v     Value
		kind  Kind
		float float64 // NaN: want NaN
		ints  ints
		str   string
		any   any
		bool  bool
	}{
		{"invalid", Value{}, KindInvalid, math.NaN(), ints{}, "<no value>", nil, false},
		{"true", Bool(true), KindBool, 1, ints{1, true, 1, true}, "true", true, true},
		{"false", Bool(false), KindBool, 0, ints{0, true, 0, true}, "false", false, false},
		{"int -5", Int(-5), KindInt, -5, ints{-5, true, 0, false}, "-5", int64(-5), true},
		{"int 0", Int(0), KindInt, 0, ints{0, true, 0, true}, "0", int64(0), false},
		{"int min", Int(math.MinInt64), KindInt, -9223372036854775808, ints{math.MinInt64, true, 0, false}, "-9223372036854775808", int64(math.MinInt64), true},
		{"uint 7", Uint(7), KindUint, 7, ints{7, true, 7, true}, "7", uint64(7), true},
		{"uint max", Uint(math.MaxUint64), KindUint, 18446744073709551615, ints{0, false, math.MaxUint64, true}, "18446744073709551615", uint64(math.MaxUint64), true},
		{"uint 2^63", Uint(1 << 63), KindUint, 9223372036854775808, ints{0, false, 1 << 63, true}, "9223372036854775808", uint64(1 << 63), true},
		{"float 2.5", Float(2.5), KindFloat, 2.5, ints{}, "2.5", 2.5, true},
		{"float -3", Float(-3), KindFloat, -3, ints{-3, true, 0, false}, "-3", -3.0, true},
		{"float 1e19", Float(1e19), KindFloat, 1e19, ints{0, false, 10000000000000000000, true}, "1e+19", 1e19, true},
		{"float 2^63", Float(1 << 63), KindFloat, 1 << 63, ints{0, false, 1 << 63, true}, "9.223372036854776e+18", float64(1 << 63), true},
		{"float -2^63", Float(-(1 << 63)), KindFloat, -(1 << 63), ints{math.MinInt64, true, 0, false}, "-9.223372036854776e+18", float64(-(1 << 63)), true},
		{"float 2^64", Float(1 << 64), KindFloat, 1 << 64, ints{}, "1.8446744073709552e+19", float64(1 << 64), true},
		{"float +Inf", Float(math.Inf(1)), KindFloat, math.Inf(1), ints{}, "+Inf", math.Inf(1), true},
		{"float 0", Float(0), KindFloat, 0, ints{0, true, 0, true}, "0", 0.0, false},
		{"string", String("on"), KindString, math.NaN(), ints{}, `"on"`, "on", true},
		{"empty string", String(""), KindString, math.NaN(), ints{}, `""`, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := c.v
			if v.Kind() != c.kind {
				t.Errorf("Kind() = %s, want %s", v.Kind(), c.kind)
			}
			if v.Valid() != (c.kind != KindInvalid) {
				t.Errorf("Valid() = %v", v.Valid())
			}
			if v.IsNumber() != (c.kind != KindInvalid && c.kind != KindString) {
				t.Errorf("IsNumber() = %v", v.IsNumber())
			}
			if f := v.Float(); f != c.float && !(math.IsNaN(f) && math.IsNaN(c.float)) {
				t.Errorf("Float() = %v, want %v", f, c.float)
			}
			if i, ok := v.Int64(); i != c.ints.i || ok != c.ints.iok {
				t.Errorf("Int64() = %d, %v; want %d, %v", i, ok, c.ints.i, c.ints.iok)
			}
			if u, ok := v.Uint64(); u != c.ints.u || ok != c.ints.uok {
				t.Errorf("Uint64() = %d, %v; want %d, %v", u, ok, c.ints.u, c.ints.uok)
			}
			if s := v.String(); s != c.str {
				t.Errorf("String() = %q, want %q", s, c.str)
			}
			if a := v.Any(); a != c.any {
				t.Errorf("Any() = %#v (%T), want %#v (%T)", a, a, c.any, c.any)
			}
			if b := v.Bool(); b != c.bool {
				t.Errorf("Bool() = %v, want %v", b, c.bool)
			}
			// Any and FromAny are inverses for every valid value
			if c.kind != KindInvalid {
				back, err := FromAny(v.Any())
				if err != nil || !back.Equal(v) {
					t.Errorf("FromAny(Any()) = %v, %v; want %v", back, err, v)
				}
			}
		})
	}
}

func TestValueText(t *testing.T) {
	if s := String("Tank.Level").Text(); s != "Tank.Level" {
		t.Errorf("Text() = %q", s)
	}
	if s := Int(5).Text(); s != "" {
		t.Errorf("Int(5).Text() = %q, want empty", s)
	}
}

func TestValueEqual(t *testing.T) {
	nan := Float(math.NaN())
	for _, c := range []struct {
		a, b Value
		want bool
	}{
		{Int(1), Int(1), true},
		{Int(1), Uint(1), false}, // kinds differ
		{Int(1), Float(1), false},
		{Bool(true), Int(1), false},
		{nan, nan, true}, // same bits
		{Float(0), Float(math.Copysign(0, -1)), false},
		{String("a"), String("a"), true},
		{String("a"), String("b"), false},
		{Value{}, Value{}, true},
		{Value{}, Int(0), false}, // no data is not zero
	} {
		if got := c.a.Equal(c.b); got != c.want {
			t.Errorf("%v (%s) Equal %v (%s) = %v, want %v", c.a, c.a.Kind(), c.b, c.b.Kind(), got, c.want)
		}
	}
}

func TestFromAny(t *testing.T) {
	for _, c := range []struct {
		in   any
		want Value
	}{
		{true, Bool(true)},
		{int(-3), Int(-3)},
		{int8(-8), Int(-8)},
		{int16(-16), Int(-16)},
		{int32(-32), Int(-32)},
		{int64(math.MinInt64), Int(math.MinInt64)},
		{uint(3), Uint(3)},
		{uint8(8), Uint(8)},
		{uint16(16), Uint(16)},
		{uint32(32), Uint(32)},
		{uint64(math.MaxUint64), Uint(math.MaxUint64)},
		{float32(1.5), Float(1.5)},
		{float64(-0.25), Float(-0.25)},
		{"x", String("x")},
		{Int(9), Int(9)},
	} {
		got, err := FromAny(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("FromAny(%#v) = %v (%s), %v; want %v (%s)", c.in, got, got.Kind(), err, c.want, c.want.Kind())
		}
	}
	for _, bad := range []any{nil, []byte("x"), struct{}{}, complex(1, 2), &struct{}{}} {
		if v, err := FromAny(bad); err == nil {
			t.Errorf("FromAny(%#v) = %v, want an error", bad, v)
		}
	}
}

func TestKindAndTypeNames(t *testing.T) {
	for k, want := range map[Kind]string{KindInvalid: "invalid", KindBool: "bool", KindInt: "int", KindUint: "uint", KindFloat: "float", KindString: "string", Kind(99): "invalid"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
	// every type word parses back to its type, and has the Kind and register count it should
	for _, c := range []struct {
		word string
		typ  Type
		kind Kind
		regs int
	}{
		{"bool", TypeBool, KindBool, 1},
		{"int16", TypeInt16, KindInt, 1},
		{"uint16", TypeUint16, KindUint, 1},
		{"int32", TypeInt32, KindInt, 2},
		{"uint32", TypeUint32, KindUint, 2},
		{"int64", TypeInt64, KindInt, 4},
		{"uint64", TypeUint64, KindUint, 4},
		{"float32", TypeFloat32, KindFloat, 2},
		{"float64", TypeFloat64, KindFloat, 4},
		{"string", TypeString, KindString, 3}, // length 5
	} {
		typ, err := ParseType(c.word)
		if err != nil || typ != c.typ {
			t.Errorf("ParseType(%q) = %v, %v; want %v", c.word, typ, err, c.typ)
		}
		if typ.String() != c.word || typ.Kind() != c.kind || typ.Registers(5) != c.regs {
			t.Errorf("%s: String %q Kind %s Registers(5) %d; want %q %s %d", c.word, typ, typ.Kind(), typ.Registers(5), c.word, c.kind, c.regs)
		}
	}
	for word, want := range map[string]Type{"FLOAT": TypeFloat32, "double": TypeFloat64, " Boolean ": TypeBool, "UInt16": TypeUint16} {
		if got, err := ParseType(word); err != nil || got != want {
			t.Errorf("ParseType(%q) = %v, %v; want %v", word, got, err, want)
		}
	}
	for _, word := range []string{"", "int8", "float16", "invalid"} {
		if got, err := ParseType(word); err == nil {
			t.Errorf("ParseType(%q) = %v, want an error", word, got)
		}
	}
	for word, want := range map[string]ByteOrder{"": ABCD, "abcd": ABCD, "AB": ABCD, "BA": DCBA, "HGFEDCBA": DCBA, "badc": BADC, "BADCFEHG": BADC, "CDAB": CDAB, "GHEFCDAB": CDAB} {
		if got, err := ParseByteOrder(word); err != nil || got != want {
			t.Errorf("ParseByteOrder(%q) = %v, %v; want %v", word, got, err, want)
		}
	}
	for word, want := range map[string]Register{"coils": RegisterCoil, "discrete_input": RegisterDiscrete, "Input": RegisterInput, "holding_registers": RegisterHolding} {
		if got, err := ParseRegister(word); err != nil || got != want {
			t.Errorf("ParseRegister(%q) = %v, %v; want %v", word, got, err, want)
		}
	}
}
