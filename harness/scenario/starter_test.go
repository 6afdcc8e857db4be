package scenario_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
)

// starterMap is a point map of the given points, written as YAML.
func starterMap(t *testing.T, points string) *point.Map {
	t.Helper()
	m, err := point.Parse("m.yaml", []byte("version: 1\nname: plc\npoints:\n"+points))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func pt(tag, typ string, addr int, extra string) string {
	reg := "holding"
	if typ == "bool" {
		reg = "coil"
	}
	return "  - {tag: " + tag + ", type: " + typ + ", modbus: {register: " + reg + ", address: " + itoa(addr) + "}" + extra + "}\n"
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestStarter: what the starter samples, holds and probes, for maps of each shape; every
// text parses against its map.
func TestStarter(t *testing.T) {
	cases := []struct {
		name    string
		points  string
		points2 string // the points: path
		counter string
		want    []string // parts of the text
		wantNot []string
	}{
		{"counter and alarms", pt("Level", "float32", 0, "") + pt("ScanCount", "uint32", 2, "") + pt("AlarmHigh", "bool", 0, "") +
			pt("Pump", "bool", 1, ", writable: true") + pt("Trip", "bool", 2, ""),
			"../pointmaps/plc.yaml", "ScanCount",
			[]string{"tags: [Level, ScanCount, AlarmHigh, Pump, Trip]", `expect: "not AlarmHigh && not Trip"`, "hold: 1m", "counter: ScanCount", "kind: round_trip", "points: ../pointmaps/plc.yaml"},
			[]string{"- write:", "allow:", "not Pump"}},
		{"cycle counter in another spelling", pt("plc_cycle_cnt", "int32", 0, "") + pt("AlarmCount", "uint16", 2, ""),
			"plc.yaml", "plc_cycle_cnt",
			[]string{"counter: plc_cycle_cnt", "wait: 1m", "scan_period"}, []string{"AlarmCount\n", "- expect:"}},
		{"no counter: a writable counter does not count scans", pt("ScanCount", "uint32", 0, ", writable: true") + pt("Speed", "float32", 2, ""),
			"maps/plc map.yaml", "",
			[]string{`points: "maps/plc map.yaml"`, "wait: 1m", "kind: round_trip"}, []string{"scan_period", "- expect:"}},
		{"a counter that is a float is no counter", pt("ScanCount", "float32", 0, ""),
			"plc.yaml", "", []string{"tags: [ScanCount]"}, []string{"scan_period"}},
		{"a tag named as a YAML word is quoted", pt("On", "bool", 0, "") + pt("FaultOn", "bool", 1, ""),
			"plc.yaml", "", []string{`tags: ["On", FaultOn]`, `expect: "not FaultOn"`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := starterMap(t, tc.points)
			if got := scenario.StarterCounter(m); got != tc.counter {
				t.Errorf("counter %q, want %q", got, tc.counter)
			}
			text := string(scenario.Starter(m, "", tc.points2))
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("the starter does not say %q:\n%s", w, text)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("the starter says %q:\n%s", w, text)
				}
			}
			sc, err := scenario.Parse("starter.yaml", []byte(text), func(name string) (*point.Map, error) {
				if name != tc.points2 {
					t.Errorf("points: %q, want %q", name, tc.points2)
				}
				return m, nil
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if len(sc.Allow) != 0 || sc.Name != "plc-starter" || len(sc.Sample.Tags) != len(m.Points) {
				t.Errorf("allow %v, name %q, %d tags sampled of %d", sc.Allow, sc.Name, len(sc.Sample.Tags), len(m.Points))
			}
		})
	}
}

// TestResolvePoints: points: is taken beside the scenario, else beside its folder.
func TestResolvePoints(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"pointmaps/a.yaml", "scenarios/pointmaps/b.yaml", "pointmaps/b.yaml"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	sc := filepath.Join(dir, "scenarios", "s.yaml")
	for _, tc := range []struct{ name, want string }{
		{"pointmaps/a.yaml", filepath.Join(dir, "pointmaps/a.yaml")},           // only beside the folder
		{"pointmaps/b.yaml", filepath.Join(dir, "scenarios/pointmaps/b.yaml")}, // beside the scenario first
		{"pointmaps/c.yaml", filepath.Join(dir, "scenarios/pointmaps/c.yaml")}, // neither: the usual place, for the error
		{"../pointmaps/a.yaml", filepath.Join(dir, "pointmaps/a.yaml")},
		{filepath.Join(dir, "x.yaml"), filepath.Join(dir, "x.yaml")},
	} {
		if got := scenario.ResolvePoints(sc, tc.name); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// FuzzStarter: whatever the map, file and scenario names, the starter parses, names its
// point map as given and has the name asked for.
func FuzzStarter(f *testing.F) {
	for _, s := range [][3]string{{"tank", "", "pointmaps/tank.yaml"}, {"my plc: 1", "x #1", "../maps/plc map.yaml"},
		{"", "yes", `C:\maps\plc.yaml`}, {"ü", "-starter", "'quoted'.yaml"}, {"a\nb", "\"", "[x].yaml"}} {
		f.Add(s[0], s[1], s[2])
	}
	m, err := point.Parse("m.yaml", []byte("version: 1\nname: plc\npoints:\n"+pt("ScanCount", "uint32", 0, "")+pt("AlarmHigh", "bool", 0, "")))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, mapName, name, points string) {
		if strings.TrimSpace(points) == "" || !utf8.ValidString(mapName) || !utf8.ValidString(name) || !utf8.ValidString(points) {
			t.Skip()
		}
		mm := *m
		mm.Name = mapName
		text := scenario.Starter(&mm, name, points)
		var got string
		sc, err := scenario.Parse("starter.yaml", text, func(p string) (*point.Map, error) { got = p; return m, nil })
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		want := strings.TrimSpace(name)
		if want == "" {
			want = strings.TrimSpace(mapName)
			if want == "" {
				want = "pointmap"
			}
			want += "-starter"
		}
		if got != points || sc.Name != want {
			t.Errorf("points %q name %q; want %q %q", got, sc.Name, points, want)
		}
	})
}
