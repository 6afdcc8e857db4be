package telegraf_test

// Tests of the telegraf import (docs/pointmap-format.md, "From a telegraf configuration"):
// golden point maps per telegraf style, an error per kind at file:line, a fuzz target, and
// the imported maps of the simulated tank read Good through the real drivers.

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/telegraf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// styles are the telegraf configurations of testdata, one per style.
var styles = []struct {
	conf  string
	maps  []string // names of the maps, in order
	warns []string // a piece of each warning, in order
}{
	{"register.conf", []string{"Pump-Skid-3"}, nil},
	{"request.conf", []string{"meter"}, nil},
	{"opcua.conf", []string{"line2_opcua"}, []string{"5 point(s) are float64"}},
	{"tank.conf", []string{"tank", "tank-opcua"}, nil},
	{"tank-scaled.conf", []string{"tank-scaled"}, nil},
	{"modicon.conf", []string{"legacy"}, []string{"reads protocol address 40001 (0x9C41), not 0"}},
}

func convert(t *testing.T, conf string) ([]telegraf.Map, []telegraf.Warning) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", conf))
	if err != nil {
		t.Fatal(err)
	}
	maps, warns, err := telegraf.Convert(conf, data)
	if err != nil {
		t.Fatal(err)
	}
	return maps, warns
}

func TestStyles(t *testing.T) {
	for _, s := range styles {
		t.Run(s.conf, func(t *testing.T) {
			maps, warns := convert(t, s.conf)
			var names []string
			for _, m := range maps {
				names = append(names, m.Name)
				if _, err := point.Parse(m.Name+".yaml", m.YAML); err != nil {
					t.Errorf("%s does not load: %v", m.Name, err)
				}
				golden := filepath.Join("testdata", strings.TrimSuffix(s.conf, ".conf")+"."+m.Name+".golden.yaml")
				if *update {
					if err := os.WriteFile(golden, m.YAML, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if !bytes.Equal(m.YAML, want) {
					t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", m.Name, golden, m.YAML)
				}
			}
			if strings.Join(names, " ") != strings.Join(s.maps, " ") {
				t.Errorf("maps %v; want %v", names, s.maps)
			}
			if len(warns) != len(s.warns) {
				t.Fatalf("warnings %v; want %d", warns, len(s.warns))
			}
			for i, w := range warns {
				if !strings.Contains(w.String(), s.warns[i]) || !strings.HasPrefix(w.String(), s.conf+":") {
					t.Errorf("warning %q; want %s:line: ...%s...", w, s.conf, s.warns[i])
				}
			}
		})
	}
}

// TestErrors: each kind of thing the import cannot convert names file:line and what was expected.
func TestErrors(t *testing.T) {
	const head = "[[inputs.modbus]]\n  name = \"x\"\n" // lines 1-2
	cases := []struct {
		name, conf, want string
	}{
		{"not toml", "[[inputs.modbus]\n", "bad.conf:1: not TOML"},
		{"no inputs", "[agent]\n  interval = \"1s\"\n", "bad.conf:1: no [[inputs.modbus]] or [[inputs.opcua]]; expected"},
		{"unknown data_type", head + "  holding_registers = [\n    { name = \"a\", byte_order = \"AB\", data_type = \"REAL\", scale = 1.0, address = [0] },\n  ]\n",
			"bad.conf:4: unknown data_type \"REAL\"; expected one of INT16"},
		{"8-bit data_type", head + "  holding_registers = [\n    { name = \"a\", byte_order = \"AB\", data_type = \"INT8L\", scale = 1.0, address = [0] },\n  ]\n",
			"bad.conf:4: data_type \"INT8L\" has no point map type"},
		{"not contiguous", head + "  input_registers = [\n    { name = \"a\", byte_order = \"ABCD\", data_type = \"FLOAT32-IEEE\", scale = 1.0, address = [5, 7] },\n  ]\n",
			"bad.conf:4: a: address list [5 7] is not contiguous; expected consecutive registers 5, 6"},
		{"address count", head + "  input_registers = [\n    { name = \"a\", byte_order = \"ABCD\", data_type = \"INT32\", scale = 1.0, address = [5] },\n  ]\n",
			"bad.conf:4: a: INT32 takes 2 register(s); expected an address list of 2"},
		{"byte order", head + "  input_registers = [\n    { name = \"a\", byte_order = \"XYZW\", data_type = \"INT16\", scale = 1.0, address = [5] },\n  ]\n",
			"bad.conf:4: unknown byte_order \"XYZW\"; expected ABCD, DCBA, BADC, CDAB"},
		{"scale 0", head + "  input_registers = [\n    { name = \"a\", byte_order = \"AB\", data_type = \"INT16\", scale = 0.0, address = [5] },\n  ]\n",
			"bad.conf:4: scale 0; expected a finite number other than 0"},
		{"no name", head + "  coils = [\n    { address = [1] },\n  ]\n", "bad.conf:4: an entry of coils without a name; expected name"},
		{"coil address list", head + "  coils = [\n    { name = \"c\", address = [1, 2] },\n  ]\n", "bad.conf:4: c: 2 addresses in coils; expected one bit address"},
		{"bit range", head + "  holding_registers = [\n    { name = \"b\", byte_order = \"AB\", data_type = \"BIT\", bit = 16, address = [1] },\n  ]\n",
			"bad.conf:4: b: bit 16; expected 0 to 15"},
		{"register word", head + "  configuration_type = \"request\"\n  [[inputs.modbus.request]]\n    register = \"memory\"\n",
			"bad.conf:5: unknown register \"memory\"; expected coil, discrete, holding or input"},
		{"request type", head + "  configuration_type = \"request\"\n  [[inputs.modbus.request]]\n    fields = [\n      { address = 0, name = \"v\", type = \"FLOAT16\" },\n    ]\n",
			"bad.conf:6: type \"FLOAT16\" has no point map type"},
		{"string length", head + "  configuration_type = \"request\"\n  [[inputs.modbus.request]]\n    fields = [\n      { address = 0, name = \"s\", type = \"STRING\" },\n    ]\n",
			"bad.conf:6: s: STRING needs length"},
		{"metric style", head + "  configuration_type = \"metric\"\n", "bad.conf:3: configuration_type \"metric\" is not converted; expected register or request"},
		{"overlap", head + "  holding_registers = [\n    { name = \"a\", byte_order = \"ABCD\", data_type = \"INT32\", scale = 1.0, address = [0, 1] },\n    { name = \"b\", byte_order = \"AB\", data_type = \"INT16\", scale = 1.0, address = [1] },\n  ]\n",
			"bad.conf:1: the point map of [[inputs.modbus]] \"x\" does not load"},
		{"no fields", head, "bad.conf:1: [[inputs.modbus]] \"x\" has no fields to convert"},
		{"opcua identifier type", "[[inputs.opcua]]\n  nodes = [\n    { name = \"n\", namespace = \"2\", identifier_type = \"x\", identifier = \"A\" },\n  ]\n",
			"bad.conf:3: node n: identifier_type \"x\"; expected s, i, g or b"},
		{"opcua namespace", "[[inputs.opcua]]\n  nodes = [\n    { name = \"n\", identifier = \"A\" },\n  ]\n",
			"bad.conf:3: node n: identifier \"A\" without namespace or namespace_uri; expected one on the node or its group"},
		{"opcua no nodes", "[[inputs.opcua]]\n  name = \"u\"\n", "bad.conf:1: [[inputs.opcua]] \"u\" has no nodes"},
		{"wrong kind", head + "  holding_registers = \"all\"\n", "bad.conf:3: holding_registers is a string; expected a list of tables"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			maps, _, err := telegraf.Convert("bad.conf", []byte(c.conf))
			if err == nil {
				t.Fatalf("no error; maps %v", maps)
			}
			if maps != nil {
				t.Errorf("maps beside an error: %v", maps)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, c.want)
			}
			var e *telegraf.Error
			if !errors.As(err, &e) || e.Line < 1 {
				t.Errorf("error %v is not a *telegraf.Error with a line", err)
			}
		})
	}
}

// FuzzConvert: whatever the input, Convert does not panic, and every map it returns loads.
func FuzzConvert(f *testing.F) {
	for _, s := range styles {
		data, err := os.ReadFile(filepath.Join("testdata", s.conf))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[[inputs.modbus]]\n  holding_registers = [{ name = \"a b\", byte_order = \"AB\", data_type = \"INT16\", scale = 1.0, address = [0] }]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		maps, _, err := telegraf.Convert("fuzz.conf", data)
		if err != nil && maps != nil {
			t.Fatalf("maps beside an error")
		}
		for _, m := range maps {
			if _, err := point.Parse(m.Name, m.YAML); err != nil {
				t.Fatalf("map %s does not load: %v\n%s", m.Name, err, m.YAML)
			}
		}
	})
}
