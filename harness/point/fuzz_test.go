package point

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fuzzScales are the scalings FuzzDecode tries (index 0: none).
var fuzzScales = []struct{ scale, offset float64 }{
	{0, 0}, {0.1, 0}, {0.01, 0}, {0.5, -40}, {10, 0}, {-0.1, 0}, {0.1, -273.15}, {0.001, 1000},
}

// FuzzDecode decodes random registers as every type, byte order, string length, bit and
// scaling. Decode must not panic, and what it decodes must encode again: to the same registers
// where the encoding is unique, and always to the same value.
func FuzzDecode(f *testing.F) {
	for _, c := range slices.Concat(roundTripCases, extremeCases) {
		s := slices.IndexFunc(fuzzScales, func(s struct{ scale, offset float64 }) bool {
			return s.scale == c.wire.Scale && s.offset == c.wire.Offset
		})
		if s < 0 {
			continue
		}
		f.Add(regBytes(c.regs), uint8(c.wire.Type), uint8(c.wire.Order), int8(c.wire.Length), int8(c.wire.Bit), uint8(s))
	}
	f.Add([]byte{0x00, 0x08}, uint8(TypeBool), uint8(DCBA), int8(0), int8(3), uint8(0))
	f.Add([]byte{0x61, 0x00, 0x62, 0x63}, uint8(TypeString), uint8(ABCD), int8(-5), int8(-1), uint8(0))
	f.Add([]byte{0x7F, 0xC0, 0x00, 0x01}, uint8(TypeFloat32), uint8(ABCD), int8(0), int8(-1), uint8(0))

	f.Fuzz(func(t *testing.T, data []byte, typ, order uint8, length, bit int8, scale uint8) {
		regs := make([]uint16, len(data)/2)
		for i := range regs {
			regs[i] = binary.BigEndian.Uint16(data[2*i:])
		}
		sc := fuzzScales[int(scale)%len(fuzzScales)]
		wi := Wire{Type: Type(typ % 12), Order: ByteOrder(order % 4), Length: int(length), Bit: int(bit), Scale: sc.scale, Offset: sc.offset}
		v, err := wi.Decode(regs)
		if err != nil {
			return
		}
		if !v.Valid() {
			t.Fatalf("%+v: Decode(%s) = no value and no error", wi, hex(regs))
		}
		if wi.Type == TypeBool && wi.Bit >= 0 {
			// writing back what was read leaves the register as it was; writing the opposite
			// reads back as the opposite
			if got := wi.EncodeBit(regs[0], v.Bool()); got != regs[0] {
				t.Fatalf("bit %d: EncodeBit(%#04x, %v) = %#04x", wi.Bit, regs[0], v.Bool(), got)
			}
			if wi.Bit < 16 {
				back, _ := wi.Decode([]uint16{wi.EncodeBit(regs[0], !v.Bool())})
				if back.Bool() == v.Bool() {
					t.Fatalf("bit %d of %#04x: flipping it read back %v", wi.Bit, regs[0], back)
				}
			}
			return
		}
		n := wi.Registers()
		enc, err := wi.Encode(v)
		exact := !wi.scaled() || wi.Type == TypeInt16 || wi.Type == TypeUint16 || wi.Type == TypeInt32 || wi.Type == TypeUint32
		if err != nil {
			if exact {
				t.Fatalf("%+v: %s decoded to %v, which does not encode: %v", wi, hex(regs), v, err)
			}
			// a scaled 64-bit or float value may not survive the float64 detour; then it is
			// out of range, nothing else
			if !errors.Is(err, ErrRange) {
				t.Fatalf("%+v: Encode(%v): %v, want nil or ErrRange", wi, v, err)
			}
			return
		}
		if len(enc) != n {
			t.Fatalf("%+v: Encode(%v) gave %d registers, want %d", wi, v, len(enc), n)
		}
		if !exact {
			return
		}
		again, err := wi.Decode(enc)
		if err != nil {
			t.Fatalf("%+v: Decode(Encode(%v)) = %v", wi, v, err)
		}
		bothNaN := v.Kind() == KindFloat && math.IsNaN(v.Float()) && math.IsNaN(again.Float())
		if !again.Equal(v) && !bothNaN {
			t.Fatalf("%+v: %s -> %v -> %s -> %v", wi, hex(regs), v, hex(enc), again)
		}
		// numbers have one encoding (except NaN payloads, and a bool is any non-zero register)
		unique := wi.Type != TypeBool && wi.Type != TypeString && !bothNaN
		if unique && !slices.Equal(enc, regs[:n]) {
			t.Fatalf("%+v: %s decoded to %v, which encodes as %s", wi, hex(regs[:n]), v, hex(enc))
		}
	})
}

func regBytes(regs []uint16) []byte {
	b := make([]byte, 2*len(regs))
	for i, r := range regs {
		binary.BigEndian.PutUint16(b[2*i:], r)
	}
	return b
}

// FuzzParse feeds random bytes to Parse. It must not panic; an error must be *yamlfile.Errors
// with sane positions, the same every time; a map that loads must hold what compile promises.
func FuzzParse(f *testing.F) {
	for _, c := range badMaps {
		f.Add([]byte(c.yaml))
	}
	for _, glob := range []string{filepath.Join(shippedMaps, "*.yaml"), filepath.Join("testdata", "bad", "*.yaml")} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data)
		if err != nil {
			if m != nil {
				t.Fatalf("a map beside the error %v", err)
			}
			if _, lerr := leaves(err); lerr != nil {
				t.Fatal(lerr)
			}
			if _, again := Parse("fuzz.yaml", data); again == nil || again.Error() != err.Error() {
				t.Fatalf("errors differ between two runs:\n%v\n%v", err, again)
			}
			return
		}
		checkMap(t, m)
	})
}

// checkMap checks a compiled map against what the loader promises, without its code.
func checkMap(t *testing.T, m *Map) {
	t.Helper()
	if m.Version != FormatVersion || len(m.Points) == 0 {
		t.Fatalf("loaded version %d with %d points", m.Version, len(m.Points))
	}
	for i, p := range m.Points {
		if !tagPattern.MatchString(p.Tag) || p.Type == TypeInvalid {
			t.Fatalf("point %d: tag %q type %s", i, p.Tag, p.Type)
		}
		if q, ok := m.Point(p.Tag); !ok || q.Tag != p.Tag || slices.Index(m.Tags(), p.Tag) != i {
			t.Fatalf("point %d: tag %q is not unique or not found", i, p.Tag)
		}
		if p.Type == TypeString && p.Length <= 0 {
			t.Fatalf("%s: string of length %d", p.Tag, p.Length)
		}
		if p.Modbus == nil && p.OPCUA == nil {
			t.Fatalf("%s: neither modbus nor opcua", p.Tag)
		}
		if a := p.Modbus; a != nil {
			w := a.Wire
			if a.Register == RegisterInvalid || w.Type == TypeInvalid || w.Registers() < 1 || a.End() > 65536 {
				t.Fatalf("%s: %s %s occupying %d registers", p.Tag, a, w.Type, w.Registers())
			}
			if a.Register.IsBit() && (w.Type != TypeBool || w.Bit != -1) {
				t.Fatalf("%s: %s of type %s bit %d", p.Tag, a.Register, w.Type, w.Bit)
			}
			if w.Bit < -1 || w.Bit > 15 || (w.Bit >= 0 && w.Type != TypeBool) {
				t.Fatalf("%s: bit %d of a %s", p.Tag, w.Bit, w.Type)
			}
			if p.Writable && !a.Register.Writable() {
				t.Fatalf("%s: writable %s", p.Tag, a.Register)
			}
			if (w.Type == TypeString) != (p.Type == TypeString) {
				t.Fatalf("%s: a %s point on a %s wire", p.Tag, p.Type, w.Type)
			}
		}
		if n := p.OPCUA; n != nil {
			set := 0
			for _, s := range []string{n.ID, n.Identifier, n.BrowsePath} {
				if s != "" {
					set++
				}
			}
			if set != 1 || (n.Identifier != "" && n.NamespaceURI == "") {
				t.Fatalf("%s: node %+v", p.Tag, *n)
			}
		}
		// no two points share a register, except different bits of one register
		for _, q := range m.Points[:i] {
			a, b := p.Modbus, q.Modbus
			if a == nil || b == nil || a.Register != b.Register {
				continue
			}
			if int(a.Address) >= b.End() || int(b.Address) >= a.End() {
				continue
			}
			if a.Wire.Bit >= 0 && b.Wire.Bit >= 0 && a.Wire.Bit != b.Wire.Bit {
				continue
			}
			t.Fatalf("%s (%s) and %s (%s) overlap", p.Tag, a, q.Tag, b)
		}
	}
}
