package point

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/yamlfile"
)

var update = flag.Bool("update", false, "rewrite testdata/bad from badMaps")

const shippedMaps = "../../scenarios/pointmaps"

func TestShippedMapsLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(shippedMaps, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no point maps in %s (%v)", shippedMaps, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != FormatVersion || m.Name == "" || len(m.Points) == 0 {
				t.Errorf("version %d name %q with %d points", m.Version, m.Name, len(m.Points))
			}
			for _, p := range m.Points {
				if p.Modbus == nil && p.OPCUA == nil {
					t.Errorf("%s: no address", p.Tag)
				}
				if q, ok := m.Point(p.Tag); !ok || q.Tag != p.Tag {
					t.Errorf("Point(%q) = %v, %v", p.Tag, q.Tag, ok)
				}
			}
		})
	}
}

// TestTankMap checks what the tank simulator and its scenarios rely on.
func TestTankMap(t *testing.T) {
	m, err := Load(filepath.Join(shippedMaps, "tank.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tag      string
		typ      Type
		addr     string
		writable bool
		node     string
	}{
		{"Level", TypeFloat32, "input 0+2", false, "nsu=urn:patchgate:sim:tank;s=Tank.Level"},
		{"AlarmCount", TypeUint32, "input 6+2", false, "nsu=urn:patchgate:sim:tank;s=Tank.AlarmCount"},
		{"Firmware", TypeString, "input 20+8", false, "nsu=urn:patchgate:sim:tank;s=Tank.Firmware"},
		{"InletValve", TypeBool, "coil 0", true, "nsu=urn:patchgate:sim:tank;s=Tank.InletValve"},
		{"Interlock", TypeBool, "discrete 2", false, "nsu=urn:patchgate:sim:tank;s=Tank.Interlock"},
		{"Mode", TypeUint16, "holding 0", true, "nsu=urn:patchgate:sim:tank;s=Tank.Mode"},
		{"Setpoint", TypeFloat32, "holding 2+2", true, "nsu=urn:patchgate:sim:tank;s=Tank.Setpoint"},
	} {
		p, ok := m.Point(c.tag)
		if !ok {
			t.Errorf("no point %s", c.tag)
			continue
		}
		if p.Type != c.typ || p.Modbus.String() != c.addr || p.Writable != c.writable || p.OPCUA.String() != c.node {
			t.Errorf("%s = %s at %q writable %v node %q; want %s at %q writable %v node %q",
				c.tag, p.Type, p.Modbus, p.Writable, p.OPCUA, c.typ, c.addr, c.writable, c.node)
		}
		if p.Modbus.Wire.Order != ABCD || p.Modbus.Wire.Bit != -1 {
			t.Errorf("%s: order %s bit %d; want ABCD, whole register", c.tag, p.Modbus.Wire.Order, p.Modbus.Wire.Bit)
		}
	}
	if got := m.Tags(); len(got) != 15 || got[0] != "Level" || got[14] != "Setpoint" {
		t.Errorf("Tags() = %v; want the 15 tags in file order", got)
	}
}

// badMap is a malformed point map and what its errors must say: one "line:col: fragment" for
// each error, in any order, and no other errors. The cases are also in testdata/bad, which
// `go test -run TestParseErrors -update` rewrites.
type badMap struct {
	name string // also the file name in testdata/bad
	yaml string
	want []string
}

// head is the start of most bad maps: the point's modbus line is line 5, and in it the register
// word starts at column 24 and the address at column 42.
const head = "version: 1\npoints:\n  - tag: A\n"

var badMaps = []badMap{
	{"empty_file", "", []string{"1:1: file is empty; expected a YAML document"}},
	{"blank_file", "\n  \n\t\n", []string{"1:1: file is empty"}},
	{"yaml_syntax_unclosed_flow", head + "    type: uint16\n    modbus: {register: holding, address: 0\n",
		[]string{"5:13: could not find flow mapping end token '}'"}},
	{"yaml_syntax_tab_indent", "version: 1\npoints:\n\t- tag: A\n",
		[]string{"3:1: found character"}},
	{"yaml_duplicate_key", "version: 1\nversion: 1\n",
		[]string{`2:1: mapping key "version" already defined`}},
	// found by FuzzParse ("points:  ! "): go-yaml v1.19 panics decoding a tag with no value
	// into a list; the loader crashed instead of saying where
	{"tag_without_value", "version: 1\npoints:  ! \n",
		[]string{"2:10: a tag without a value; expected a value after the tag"}},
	// found by FuzzParse ("..."): a file with no document at all crashed a first version of
	// the empty-tag check above
	{"document_end_only", "...\n",
		[]string{"1:1: version 0 is not supported", "1:1: no points"}},
	{"not_a_mapping", "- version: 1\n",
		[]string{"1:1: sequence was used where mapping is expected"}},
	{"unknown_key", head + "    type: uint16\n    typo: 1\n    modbus: {register: holding, address: 0}\n",
		[]string{`5:5: unknown field "typo"; expected one of tag, description, type, length, unit, writable, modbus, opcua`}},
	{"unknown_key_in_modbus", head + "    type: uint16\n    modbus: {register: holding, adress: 0}\n",
		[]string{`5:33: unknown field "adress"; expected one of register, address, address_base, type, byte_order, scale, offset, bit`}},
	// found by FuzzParse ("X:\n7A: 7"): go-yaml's strict mode named one of the unknown keys,
	// picked at random; now every one is reported, in file order
	{"two_unknown_keys", "X:\n7A: 7\n",
		[]string{`1:1: unknown field "X"; expected one of version, name, description, modbus, opcua, points`, `2:1: unknown field "7A"`}},
	{"unknown_keys_everywhere", "version: 1\nmodbus: {byteorder: ABCD}\npoints:\n  - tag: A\n    typ: uint16\n    opcua: {node: x}\n",
		[]string{`2:10: unknown field "byteorder"`, `5:5: unknown field "typ"`, `6:13: unknown field "node"`}},
	{"type_error_bool", head + "    type: uint16\n    writable: maybe\n    modbus: {register: holding, address: 0}\n",
		[]string{`5:15: expected true or false, got text "maybe"`}},
	{"type_error_list_for_text", head + "    type: [uint16]\n    modbus: {register: holding, address: 0}\n",
		[]string{"4:11: expected text, got a list"}},
	{"points_not_a_list", "version: 1\npoints: 5\n",
		[]string{"2:9: int was used where sequence is expected"}},
	{"wrong_version", "version: 2\npoints:\n  - tag: A\n    type: uint16\n    modbus: {register: holding, address: 0}\n",
		[]string{"1:10: version 2 is not supported; expected version: 1"}},
	{"missing_version", "points:\n  - tag: A\n    type: uint16\n    modbus: {register: holding, address: 0}\n",
		[]string{"1:1: version 0 is not supported; expected version: 1"}},
	// the decoder used to truncate 1.5 to 1
	{"fractional_version", "version: 1.5\npoints:\n  - tag: A\n    type: uint16\n    modbus: {register: holding, address: 0}\n",
		[]string{`1:10: version "1.5" is not a whole number; expected version: 1`}},
	{"no_points", "version: 1\npoints: []\n",
		[]string{"2:9: no points; expected a list of points"}},
	{"bad_tag", "version: 1\npoints:\n  - tag: 1A\n    type: uint16\n    modbus: {register: holding, address: 0}\n",
		[]string{`3:10: tag "1A"; expected a name of letters, digits and _`}},
	{"unknown_register", head + "    type: uint16\n    modbus: {register: holdings, address: 0}\n",
		[]string{`5:24: unknown register "holdings"; expected holding, input, coil or discrete`}},
	{"unknown_type", head + "    type: uint17\n    modbus: {register: holding, address: 0}\n",
		[]string{`4:11: unknown type "uint17"; expected one of bool, int16`}},
	{"unknown_modbus_type", head + "    type: float32\n    modbus: {register: holding, address: 0, type: int8}\n",
		[]string{`5:51: unknown type "int8"`}},
	{"bad_byte_order", head + "    type: float32\n    modbus: {register: holding, address: 0, byte_order: BCDA}\n",
		[]string{`5:57: unknown byte_order "BCDA"; expected ABCD, DCBA, BADC or CDAB`}},
	{"bad_map_byte_order", "version: 1\nmodbus:\n  byte_order: little\npoints:\n  - tag: A\n    type: uint16\n    modbus: {register: holding, address: 0}\n",
		[]string{`3:15: unknown byte_order "little"`}},
	{"missing_address", head + "    type: uint16\n    modbus: {register: holding}\n",
		[]string{"5:13: missing address; expected the protocol (0-based) address"}},
	// a missing key in a block mapping points at the mapping's first key, not at its ':'
	{"missing_address_block", head + "    type: uint16\n    modbus:\n      register: holding\n",
		[]string{"6:7: missing address"}},
	{"address_out_of_range", head + "    type: uint16\n    modbus: {register: holding, address: 65536}\n",
		[]string{"5:42: address 65536 (protocol address 65536) is outside 0..65535"}},
	{"address_negative", head + "    type: uint16\n    modbus: {register: holding, address: -1}\n",
		[]string{"5:42: address -1 (protocol address -1) is outside 0..65535"}},
	{"address_runs_past_end", head + "    type: uint32\n    modbus: {register: holding, address: 65535}\n",
		[]string{"5:42: uint32 at 65535 runs past address 65535"}},
	{"address_not_a_number", head + "    type: uint16\n    modbus: {register: holding, address: x}\n",
		[]string{`5:42: address "x" is not a whole number; expected the protocol (0-based) address`}},
	// the decoder used to truncate 1.5 to 1
	{"address_fraction", head + "    type: uint16\n    modbus: {register: holding, address: 1.5}\n",
		[]string{`5:42: address "1.5" is not a whole number`}},
	{"address_too_large", head + "    type: uint16\n    modbus: {register: holding, address: 99999999999999999999}\n",
		[]string{`5:42: address "99999999999999999999" is too large`}},
	{"address_zero_one_based", head + "    type: uint16\n    modbus: {register: holding, address: 0, address_base: 1}\n",
		[]string{"5:42: address 0 (protocol address -1) is outside 0..65535"}},
	{"bad_address_base", "version: 1\nmodbus:\n  address_base: 2\npoints:\n  - tag: A\n    type: uint16\n    modbus: {register: holding, address: 0}\n",
		[]string{"3:17: address_base 2; expected 0 (protocol addresses) or 1"}},
	{"overlapping_points",
		head + "    type: uint32\n    modbus: {register: holding, address: 0}\n" +
			"  - tag: B\n    type: uint16\n    modbus: {register: holding, address: 1}\n",
		[]string{"8:42: B overlaps A on holding register 1"}},
	{"same_address_twice",
		head + "    type: uint16\n    modbus: {register: holding, address: 7}\n" +
			"  - tag: B\n    type: uint16\n    modbus: {register: holding, address: 7}\n",
		[]string{"8:42: B overlaps A on holding register 7"}},
	// the overlap check compared neighbours only: Y, inside the string but after X, passed
	{"overlap_string_covers_two_points",
		"version: 1\npoints:\n  - tag: Name\n    type: string\n    length: 16\n    modbus: {register: input, address: 20}\n" +
			"  - tag: X\n    type: uint16\n    modbus: {register: input, address: 22}\n" +
			"  - tag: Y\n    type: uint16\n    modbus: {register: input, address: 25}\n",
		[]string{"9:40: X overlaps Name on input register 22", "12:40: Y overlaps Name on input register 25"}},
	// the error goes to the point later in the file, even when it has the lower address
	{"overlap_later_point_lower_address",
		head + "    type: uint16\n    modbus: {register: holding, address: 3}\n" +
			"  - tag: B\n    type: float64\n    modbus: {register: holding, address: 0}\n",
		[]string{"8:42: B overlaps A on holding register 3"}},
	// two bits of one register are fine, the same bit twice is not (it was missed when another
	// bit of the register sat between the two in the sorted list)
	{"same_bit_twice",
		head + "    type: bool\n    modbus: {register: holding, address: 3, bit: 0}\n" +
			"  - tag: B\n    type: bool\n    modbus: {register: holding, address: 3, bit: 1}\n" +
			"  - tag: C\n    type: bool\n    modbus: {register: holding, address: 3, bit: 0}\n",
		[]string{"11:42: C overlaps A on holding register 3 bit 0"}},
	{"bit_and_whole_register",
		head + "    type: bool\n    modbus: {register: holding, address: 3, bit: 0}\n" +
			"  - tag: B\n    type: uint16\n    modbus: {register: holding, address: 3}\n",
		[]string{"8:42: B overlaps A on holding register 3"}},
	{"duplicate_tag",
		head + "    type: uint16\n    modbus: {register: holding, address: 0}\n" +
			"  - tag: A\n    type: uint16\n    modbus: {register: holding, address: 1}\n",
		[]string{`6:10: tag "A" is already defined by point 1`}},
	// the point number counted only valid points, so it said "point 1" here
	{"duplicate_tag_after_bad_tag",
		"version: 1\npoints:\n  - tag: 9x\n    type: uint16\n    opcua: {id: i=1}\n" +
			"  - tag: A\n    type: uint16\n    opcua: {id: i=2}\n" +
			"  - tag: A\n    type: uint16\n    opcua: {id: i=3}\n",
		[]string{`3:10: tag "9x"`, `9:10: tag "A" is already defined by point 2`}},
	{"writable_input_register", head + "    type: uint16\n    writable: true\n    modbus: {register: input, address: 0}\n",
		[]string{"6:24: point is writable but input registers cannot be written by a Modbus master; expected holding or coil"}},
	{"writable_discrete", head + "    type: bool\n    writable: true\n    modbus: {register: discrete, address: 0}\n",
		[]string{"6:24: point is writable but discrete registers cannot be written"}},
	// one error, not a second one about the same missing length at modbus
	{"string_without_length", head + "    type: string\n    modbus: {register: holding, address: 0}\n",
		[]string{"3:5: a string point needs length: the number of characters"}},
	{"string_length_fraction", head + "    type: string\n    length: 2.5\n    modbus: {register: holding, address: 0}\n",
		[]string{`5:13: length "2.5" is not a whole number; expected the number of characters`}},
	{"string_point_number_wire", head + "    type: string\n    length: 4\n    modbus: {register: holding, address: 0, type: uint16}\n",
		[]string{"6:51: modbus type uint16 cannot carry a string point"}},
	{"number_point_string_wire", head + "    type: float32\n    modbus: {register: holding, address: 0, type: string}\n",
		[]string{"5:51: modbus type string cannot carry a float32 point"}},
	{"number_on_a_coil", head + "    type: uint16\n    modbus: {register: coil, address: 0}\n",
		[]string{"5:13: a coil holds a single bit; expected type bool, got uint16"}},
	{"bit_on_a_coil", head + "    type: bool\n    modbus: {register: coil, address: 0, bit: 3}\n",
		[]string{"5:47: bit applies only to a bool point in a holding or input register"}},
	{"bit_on_a_number", head + "    type: uint16\n    modbus: {register: holding, address: 0, bit: 3}\n",
		[]string{"5:50: bit applies only to a bool point"}},
	{"bit_out_of_range", head + "    type: bool\n    modbus: {register: holding, address: 0, bit: 16}\n",
		[]string{"5:50: bit 16; expected 0 to 15"}},
	{"scale_zero", head + "    type: float32\n    modbus: {register: holding, address: 0, type: int16, scale: 0}\n",
		[]string{"5:65: scale 0 would lose every value; expected a non-zero factor"}},
	{"scale_on_bool", head + "    type: bool\n    modbus: {register: holding, address: 0, scale: 2}\n",
		[]string{"5:52: scale and offset apply to numbers, not bool"}},
	{"scale_not_a_number", head + "    type: uint16\n    modbus: {register: holding, address: 0, scale: abc}\n",
		[]string{`5:52: expected a number, got text "abc"`}},
	{"no_protocol", head + "    type: uint16\n",
		[]string{`3:5: point "A" has neither modbus nor opcua; expected at least one`}},
	{"bad_opcua_id", head + "    type: uint16\n    opcua: {id: \"ns=x;s=A\"}\n",
		[]string{`5:17: node id "ns=x;s=A"; expected the form ns=2;s=Tank.Level or i=1001`}},
	{"opcua_id_and_identifier", head + "    type: uint16\n    opcua: {id: \"ns=2;s=A\", identifier: A, namespace_uri: urn:x}\n",
		[]string{"5:12: expected exactly one of id, identifier (with namespace_uri) or browse_path"}},
	{"opcua_none", head + "    type: uint16\n    opcua: {namespace_uri: urn:x}\n",
		[]string{"5:12: expected exactly one of id, identifier"}},
	{"opcua_identifier_without_namespace", head + "    type: uint16\n    opcua: {identifier: Tank.Level}\n",
		[]string{`5:12: identifier "s=Tank.Level" needs namespace_uri`}},
	{"opcua_bad_identifier_type", head + "    type: uint16\n    opcua: {identifier: A, identifier_type: x, namespace_uri: urn:x}\n",
		[]string{`5:45: identifier_type "x"; expected s, i, g or b`}},
	{"several_errors", head + "    type: uint17\n    modbus: {register: holdings}\n",
		[]string{`4:11: unknown type "uint17"`, `5:24: unknown register "holdings"`, "5:13: missing address"}},
}

func TestParseErrors(t *testing.T) {
	for _, c := range badMaps {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse(c.name+".yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("no error; got %d points", len(m.Points))
			}
			if m != nil {
				t.Errorf("a map beside the error")
			}
			checkErrors(t, c.name+".yaml", err, c.want)
			if *update {
				writeBad(t, c)
			}
		})
	}
}

// checkErrors checks that err is *yamlfile.Errors for file, one for each "line:col: fragment"
// of want, and no others.
func checkErrors(t *testing.T, file string, err error, want []string) {
	t.Helper()
	got, lerr := leaves(err)
	if lerr != nil {
		t.Fatal(lerr)
	}
	var lines []string
	for _, e := range got {
		if e.File != file {
			t.Errorf("error names file %q, want %q: %v", e.File, file, e)
		}
		lines = append(lines, fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg))
	}
	used := make([]bool, len(lines))
	for _, w := range want {
		pos, frag, _ := strings.Cut(w, ": ")
		found := false
		for i, l := range lines {
			if !used[i] && strings.HasPrefix(l, pos+": ") && strings.Contains(l[len(pos)+2:], frag) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("no error %q in:\n%s", w, strings.Join(lines, "\n"))
		}
	}
	if len(lines) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
}

// leaves returns the *yamlfile.Errors that err is or joins, or an error if any part is
// something else.
func leaves(err error) ([]*yamlfile.Error, error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*yamlfile.Error
		for _, e := range j.Unwrap() {
			l, err := leaves(e)
			if err != nil {
				return nil, err
			}
			out = append(out, l...)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("an empty join: %v", err)
		}
		return out, nil
	}
	var ye *yamlfile.Error
	if !errors.As(err, &ye) || error(ye) != err {
		return nil, fmt.Errorf("%T is not a *yamlfile.Error: %v", err, err)
	}
	if ye.Line < 0 || ye.Col < 0 || (ye.Line == 0) != (ye.Col == 0) || ye.Msg == "" {
		return nil, fmt.Errorf("bad position or message: %#v", ye)
	}
	return []*yamlfile.Error{ye}, nil
}

// writeBad writes a table case into the golden folder.
func writeBad(t *testing.T, c badMap) {
	dir := filepath.Join("testdata", "bad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, c.name+".yaml"), []byte(c.yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, c.name+".err"), []byte(strings.Join(c.want, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadFolder loads every testdata/bad/NAME.yaml and checks its errors against NAME.err: one
// "line:col: fragment" a line, every error listed and no other ("#" lines are comments). Add a
// case with two files, no code.
func TestBadFolder(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in testdata/bad (%v)", err)
	}
	names := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		names[name] = true
		t.Run(name, func(t *testing.T) {
			sidecar, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".err")
			if err != nil {
				t.Fatalf("every bad map needs its expected errors: %v", err)
			}
			var want []string
			for _, l := range strings.Split(string(sidecar), "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
					if !regexp.MustCompile(`^\d+:\d+: `).MatchString(l) {
						t.Fatalf("%q in %s.err is not line:col: fragment", l, name)
					}
					want = append(want, l)
				}
			}
			m, err := Load(f)
			if err == nil {
				t.Fatalf("no error; got %d points", len(m.Points))
			}
			checkErrors(t, f, err, want)
		})
	}
	for _, c := range badMaps {
		if !names[c.name] {
			t.Errorf("badMaps case %s is not in testdata/bad; run go test -run TestParseErrors -update", c.name)
		}
	}
}

// TestParseDeterministic: several errors come out in the same order every time (the overlap
// check ranged over a map of tables).
func TestParseDeterministic(t *testing.T) {
	src := "version: 1\npoints:\n" +
		"  - {tag: A, type: bool, modbus: {register: coil, address: 0}}\n" +
		"  - {tag: B, type: bool, modbus: {register: coil, address: 0}}\n" +
		"  - {tag: C, type: bool, modbus: {register: discrete, address: 0}}\n" +
		"  - {tag: D, type: bool, modbus: {register: discrete, address: 0}}\n" +
		"  - {tag: E, type: uint16, modbus: {register: input, address: 0}}\n" +
		"  - {tag: F, type: uint16, modbus: {register: input, address: 0}}\n" +
		"  - {tag: G, type: uint16, modbus: {register: holding, address: 0}}\n" +
		"  - {tag: H, type: uint16, modbus: {register: holding, address: 0}}\n"
	_, first := Parse("d.yaml", []byte(src))
	if first == nil || strings.Count(first.Error(), "overlaps") != 4 {
		t.Fatalf("want 4 overlaps, got %v", first)
	}
	for range 50 {
		if _, err := Parse("d.yaml", []byte(src)); err.Error() != first.Error() {
			t.Fatalf("errors changed order:\n%v\nthen\n%v", first, err)
		}
	}
}

func TestAddressBase(t *testing.T) {
	for _, c := range []struct {
		name     string
		mapBase  string // map-wide modbus section, or ""
		register string
		typ      string
		address  string // as written in YAML
		extra    string // more keys of the point's modbus mapping
		want     uint16
	}{
		{"holding 40001", "address_base: 1", "holding", "uint16", "40001", "", 0},
		{"holding 40010", "address_base: 1", "holding", "uint16", "40010", "", 9},
		{"holding 49999", "address_base: 1", "holding", "uint16", "49999", "", 9998},
		{"holding 400001 six digits", "address_base: 1", "holding", "uint16", "400001", "", 0},
		{"holding 465536 six digits", "address_base: 1", "holding", "uint16", "465536", "", 65535},
		{"holding plain 1", "address_base: 1", "holding", "uint16", "1", "", 0},
		{"input 30001", "address_base: 1", "input", "uint16", "30001", "", 0},
		{"input 300101 six digits", "address_base: 1", "input", "uint16", "300101", "", 100},
		{"discrete 10001", "address_base: 1", "discrete", "bool", "10001", "", 0},
		{"discrete 100001", "address_base: 1", "discrete", "bool", "100001", "", 0},
		{"coil 1", "address_base: 1", "coil", "bool", "1", "", 0},
		// a leading zero was read as octal: 000010 became 8, so protocol address 7
		{"coil 000010", "address_base: 1", "coil", "bool", "000010", "", 9},
		{"holding 010 protocol", "", "holding", "uint16", "010", "", 10},
		{"holding hex", "", "holding", "uint16", "0x10", "", 16},
		{"holding quoted", "", "holding", "uint16", `"12"`, "", 12},
		{"point base 0 overrides map", "address_base: 1", "holding", "uint16", "40001", "address_base: 0", 40001},
		{"point base 1 overrides map", "address_base: 0", "holding", "uint16", "40001", "address_base: 1", 0},
		{"protocol 0", "", "holding", "uint16", "0", "", 0},
		{"protocol 65535", "", "holding", "uint16", "65535", "", 65535},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "version: 1\n"
			if c.mapBase != "" {
				src += "modbus: {" + c.mapBase + "}\n"
			}
			mb := "register: " + c.register + ", address: " + c.address
			if c.extra != "" {
				mb += ", " + c.extra
			}
			src += "points:\n  - tag: P\n    type: " + c.typ + "\n    modbus: {" + mb + "}\n"
			m, err := Parse("base.yaml", []byte(src))
			if err != nil {
				t.Fatalf("%s\n%v", src, err)
			}
			if got := m.Points[0].Modbus.Address; got != c.want {
				t.Errorf("address %s = protocol %d, want %d", c.address, got, c.want)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	src := `version: 1
modbus: {byte_order: CDAB}
opcua: {namespace_uri: "urn:x"}
points:
  - tag: Temp
    type: float32
    unit: degC
    modbus: {register: holding, address: 10, type: int16, scale: 0.1, offset: -40}
    opcua: {identifier: "1001", identifier_type: i}
  - tag: Flags3
    type: bool
    modbus: {register: input, address: 4, bit: 3, byte_order: ABCD}
    opcua: {browse_path: Plant/Flags3}
  - tag: Flags4
    type: bool
    modbus: {register: input, address: 4, bit: 4}
  - tag: Name
    type: string
    length: 5
    opcua: {id: "ns=3;s=Name"}
`
	m, err := Parse("defaults.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	temp, _ := m.Point("Temp")
	if w := temp.Modbus.Wire; w.Type != TypeInt16 || w.Order != CDAB || w.Scale != 0.1 || w.Offset != -40 || w.Bit != -1 {
		t.Errorf("Temp wire = %+v; want int16 CDAB scale 0.1 offset -40", w)
	}
	if temp.Type != TypeFloat32 || temp.Unit != "degC" || temp.OPCUA.String() != "nsu=urn:x;i=1001" {
		t.Errorf("Temp = %s %q %s", temp.Type, temp.Unit, temp.OPCUA)
	}
	f3, _ := m.Point("Flags3")
	if w := f3.Modbus.Wire; w.Bit != 3 || w.Order != ABCD || f3.Modbus.String() != "input 4" || f3.OPCUA.String() != "browse:Plant/Flags3" {
		t.Errorf("Flags3 = %+v at %s node %s", w, f3.Modbus, f3.OPCUA)
	}
	name, _ := m.Point("Name")
	if name.Modbus != nil || name.Length != 5 || name.OPCUA.ID != "ns=3;s=Name" {
		t.Errorf("Name = %+v", name)
	}
	// the decoded Temp of raw 655 is 25.5 degC
	v, err := temp.Modbus.Wire.Decode([]uint16{655})
	if err != nil || v.Float() != 25.5 {
		t.Errorf("Temp of raw 655 = %v, %v; want 25.5", v, err)
	}
}

func TestMapCloneAndMove(t *testing.T) {
	m, err := Load(filepath.Join(shippedMaps, "tank.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Clone()
	if err := c.SetModbusAddress("Setpoint", 40); err != nil {
		t.Fatal(err)
	}
	c.Points[0].OPCUA.Identifier = "s=Changed"
	orig, _ := m.Point("Setpoint")
	moved, _ := c.Point("Setpoint")
	if orig.Modbus.Address != 2 || moved.Modbus.Address != 40 {
		t.Errorf("after moving the clone: original %d, clone %d; want 2 and 40", orig.Modbus.Address, moved.Modbus.Address)
	}
	if m.Points[0].OPCUA.Identifier != "s=Tank.Level" {
		t.Errorf("changing the clone's node changed the original: %s", m.Points[0].OPCUA)
	}
	if !slices.Equal(m.Tags(), c.Tags()) {
		t.Errorf("clone tags %v, want %v", c.Tags(), m.Tags())
	}
	if err := c.SetModbusAddress("NoSuchTag", 1); err == nil {
		t.Error("moving an unknown tag: no error")
	}
	if _, ok := m.Point("NoSuchTag"); ok {
		t.Error("Point(NoSuchTag) found")
	}
}
