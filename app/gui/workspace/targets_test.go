package workspace

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"

	_ "github.com/patchgate/patchgate/harness/driver/modbus"
	_ "github.com/patchgate/patchgate/harness/driver/opcua"
	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		log.SetOutput(io.Discard) // gopcua's server chatter
	}
	os.Exit(m.Run())
}

// targetCases are targets files and what ParseTargets makes of them: the targets, or an
// error that starts with file:line:col (err) and says what is wrong (why). They also seed
// FuzzParseTargets.
var targetCases = []struct {
	name, data string
	want       []Target
	err, why   string
}{
	{name: "two targets", data: `version: 1
targets:
  - name: Bench PLC
    url: modbus://192.168.10.20:502?unit=1
    point_map: tank
  - name: OPC UA panel
    url: opc.tcp://10.0.0.5:4840/plc?security=Basic256Sha256&mode=Sign
    point_map: maps/panel.yaml
`, want: []Target{
		{Name: "Bench PLC", URL: "modbus://192.168.10.20:502?unit=1", PointMap: "tank"},
		{Name: "OPC UA panel", URL: "opc.tcp://10.0.0.5:4840/plc?security=Basic256Sha256&mode=Sign", PointMap: "maps/panel.yaml"},
	}},
	{name: "map= in the url moves to point_map", data: "version: 1\ntargets:\n  - name: A\n    url: modbus://127.0.0.1:1502?unit=1&map=tank&timeout=2s\n",
		want: []Target{{Name: "A", URL: "modbus://127.0.0.1:1502?unit=1&timeout=2s", PointMap: "tank"}}},
	{name: "a sim target needs no point map", data: "version: 1\ntargets:\n  - {name: Sim, url: 'sim://conveyor?firmware=baseline'}\n",
		want: []Target{{Name: "Sim", URL: "sim://conveyor?firmware=baseline"}}},
	{name: "no targets yet", data: "version: 1\ntargets: []\n", want: []Target{}},
	{name: "a BOM and spaces around values", data: "\ufeffversion: 1\ntargets:\n  - name: '  A  '\n    url: ' modbus://h:502 '\n    point_map: heater\n",
		want: []Target{{Name: "A", URL: "modbus://h:502", PointMap: "heater"}}},

	// a controller new to the bench: Discover finds its points and saves its map
	{name: "no point map yet", data: "version: 1\ntargets:\n  - name: A\n    url: modbus://h:502\n",
		want: []Target{{Name: "A", URL: "modbus://h:502"}}},

	{name: "empty file", data: "", err: "targets.yaml:1:1:", why: "empty"},
	{name: "unknown key", data: "version: 1\ntargets:\n  - name: A\n    adress: modbus://h:502\n", err: "targets.yaml:4:5:", why: `unknown field "adress"`},
	{name: "no version", data: "targets: []\n", err: "targets.yaml:1:1:", why: "no version"},
	{name: "version 2", data: "version: 2\ntargets: []\n", err: "targets.yaml:1:10:", why: "version 2 is not supported"},
	{name: "version not a number", data: "version: one\ntargets: []\n", err: "targets.yaml:1:10:", why: "whole number"},
	{name: "unknown scheme", data: "version: 1\ntargets:\n  - name: A\n    url: ftp://h:21\n    point_map: tank\n", err: "targets.yaml:4:10:", why: `unknown scheme "ftp"`},
	// a URL without a port is Modbus's 502 now; without a host it is still wrong
	{name: "no host", data: "version: 1\ntargets:\n  - name: A\n    url: modbus://:502?unit=1\n    point_map: tank\n", err: "targets.yaml:4:10:", why: "expected a host"},
	{name: "no url", data: "version: 1\ntargets:\n  - name: A\n    point_map: tank\n", err: "targets.yaml:3:5:", why: "no url"},
	{name: "no name", data: "version: 1\ntargets:\n  - url: modbus://h:502\n    point_map: tank\n", err: "targets.yaml:3:5:", why: "no name"},
	{name: "point map neither shipped nor yaml", data: "version: 1\ntargets:\n  - name: A\n    url: modbus://h:502\n    point_map: tnak\n", err: "targets.yaml:5:16:", why: `point_map "tnak"`},
	{name: "two point maps", data: "version: 1\ntargets:\n  - name: A\n    url: modbus://h:502?map=tank\n    point_map: heater\n", err: "targets.yaml:4:10:", why: "expected one point map"},
	{name: "same name twice", data: "version: 1\ntargets:\n  - {name: A, url: 'modbus://h:502', point_map: tank}\n  - {name: a, url: 'modbus://h:503', point_map: tank}\n", err: "targets.yaml:4:12:", why: "already used by target 1"},
	{name: "an embedded station's name", data: "version: 1\ntargets:\n  - name: Tank before (Modbus)\n    url: modbus://h:502\n    point_map: tank\n", err: "targets.yaml:3:11:", why: "embedded station"},
	{name: "targets not a list", data: "version: 1\ntargets: modbus://h:502\n", err: "targets.yaml:2:10:", why: "sequence"},
	{name: "not YAML", data: "version: 1\ntargets: [\n", err: "targets.yaml:", why: ""},
	{name: "two documents", data: "version: 1\ntargets: []\n---\nversion: 1\n", err: "targets.yaml:3:1:", why: "second YAML document"},
}

func TestParseTargets(t *testing.T) {
	for _, tc := range targetCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTargets("targets.yaml", []byte(tc.data))
			if tc.err != "" {
				if err == nil {
					t.Fatalf("no error; want %s ... %s (targets %+v)", tc.err, tc.why, got)
				}
				if !strings.HasPrefix(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("error %q; want %s ... %s", err, tc.err, tc.why)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("targets\n%+v\nwant\n%+v", got, tc.want)
			}
			// what MarshalTargets writes reads back the same
			data, err := MarshalTargets(got)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseTargets("targets.yaml", data)
			if err != nil {
				t.Fatalf("re-reading what MarshalTargets wrote: %v\n%s", err, data)
			}
			if len(got) > 0 && !reflect.DeepEqual(back, got) {
				t.Fatalf("round trip\n%+v\nwant\n%+v\n%s", back, got, data)
			}
		})
	}
}

// FuzzParseTargets: no input panics the loader; every error names the file and a line;
// what it accepts, MarshalTargets writes back so that it reads the same.
func FuzzParseTargets(f *testing.F) {
	for _, tc := range targetCases {
		f.Add([]byte(tc.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseTargets("targets.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "targets.yaml:") {
				t.Fatalf("error without the file name: %q", err)
			}
			return
		}
		out, err := MarshalTargets(got)
		if err != nil {
			t.Fatalf("marshal %+v: %v", got, err)
		}
		back, err := ParseTargets("targets.yaml", out)
		if err != nil {
			t.Fatalf("re-reading what MarshalTargets wrote: %v\n%s", err, out)
		}
		if len(back) != len(got) || (len(got) > 0 && !reflect.DeepEqual(back, got)) {
			t.Fatalf("round trip\n%+v\nwant\n%+v\n%s", back, got, out)
		}
	})
}

func openWorkspace(t *testing.T) *Workspace {
	t.Helper()
	w, err := Open(t.Context(), Config{Dir: t.TempDir(), Actor: "bench-engineer"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestTargetsFile adds, edits and removes targets through the real file, and never
// overwrites a file that does not load.
func TestTargetsFile(t *testing.T) {
	w := openWorkspace(t)
	if ts, err := w.SavedTargets(); err != nil || len(ts) != 0 {
		t.Fatalf("a new workspace has targets %+v, %v", ts, err)
	}
	a, err := w.AddTarget(Target{Name: " Bench PLC ", URL: "modbus://192.168.10.20:502?unit=1&map=tank"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Bench PLC" || a.PointMap != "tank" || a.URL != "modbus://192.168.10.20:502?unit=1" {
		t.Errorf("added %+v, want it normalised", a)
	}
	if _, err := w.AddTarget(Target{Name: "Panel", URL: "opc.tcp://10.0.0.5:4840", PointMap: "heater"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddTarget(Target{Name: "bench plc", URL: "modbus://h:502", PointMap: "tank"}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second target of the same name: %v", err)
	}
	if _, err := w.AddTarget(Target{Name: "Broken", URL: "modbus//h:502", PointMap: "tank"}); !errors.Is(err, driver.ErrBadTarget) || !strings.Contains(err.Error(), "modbus//h:502") {
		t.Errorf("a malformed URL: %v, want ErrBadTarget naming the URL", err)
	}
	if _, err := w.EditTarget("Bench PLC", Target{Name: "Bench PLC 2", URL: "modbus://192.168.10.21:502?unit=2", PointMap: "tank"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.EditTarget("Bench PLC", Target{Name: "X", URL: "modbus://h:502", PointMap: "tank"}); !errors.Is(err, ErrNoTarget) {
		t.Errorf("editing a target that is gone: %v", err)
	}
	if _, err := w.EditTarget("Panel", Target{Name: "Bench PLC 2", URL: "modbus://h:502", PointMap: "tank"}); err == nil {
		t.Error("renaming a target onto another's name went through")
	}
	ts, err := w.Targets()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range ts {
		if !x.Embedded {
			names = append(names, x.Name)
		}
	}
	if !slices.Equal(names, []string{"Bench PLC 2", "Panel"}) {
		t.Errorf("saved targets %v", names)
	}
	if n := len(ts) - len(names); n != 6 {
		t.Errorf("%d embedded targets, want 6 (two stations, Modbus, OPC UA and simulated time)", n)
	}
	if i := slices.IndexFunc(ts, func(x Target) bool { return x.URL == w.Stations()[0].ModbusURL() }); i < 0 || !ts[i].Embedded {
		t.Error("the before station's Modbus face is not an embedded target")
	}
	if err := w.RemoveTarget("Panel"); err != nil {
		t.Fatal(err)
	}
	if err := w.RemoveTarget("Panel"); !errors.Is(err, ErrNoTarget) {
		t.Errorf("removing it twice: %v", err)
	}
	// what is on disk is what the workspace says
	data, err := os.ReadFile(filepath.Join(w.Dir, TargetsFile))
	if err != nil {
		t.Fatal(err)
	}
	disk, err := ParseTargets(TargetsFile, data)
	if err != nil || len(disk) != 1 || disk[0].Name != "Bench PLC 2" || disk[0].URL != "modbus://192.168.10.21:502?unit=2" {
		t.Fatalf("file holds %+v, %v\n%s", disk, err, data)
	}

	// a hand edit that breaks the file: errors with file:line:col, and the file is kept
	bad := append(bytes.Clone(data), "  - name: Typo\n    ulr: modbus://h:502\n"...)
	if err := os.WriteFile(filepath.Join(w.Dir, TargetsFile), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err = w.Targets()
	if err == nil || !strings.Contains(err.Error(), TargetsFile+":") || !strings.Contains(err.Error(), `unknown field "ulr"`) {
		t.Fatalf("broken file: %v", err)
	}
	if len(ts) != 6 {
		t.Errorf("with a broken file, %d targets; want the 6 embedded ones", len(ts))
	}
	if _, err := w.AddTarget(Target{Name: "New", URL: "modbus://h:502", PointMap: "tank"}); err == nil || !strings.Contains(err.Error(), "not overwritten") {
		t.Errorf("adding to a broken file: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(w.Dir, TargetsFile)); !bytes.Equal(now, bad) {
		t.Error("the broken file was overwritten")
	}
}

// TestTestTargets tests the embedded stations' targets over real Modbus TCP, OPC UA and
// the sim driver: identity, ping and every point read, without writing.
func TestTestTargets(t *testing.T) {
	w := openWorkspace(t)
	st := w.Stations()[0]
	if err := st.Controller.Set("Setpoint", point.Float(61.5)); err != nil {
		t.Fatal(err)
	}
	pm, err := w.PointMap(Target{PointMap: "tank"})
	if err != nil {
		t.Fatal(err)
	}
	ts := w.EmbeddedTargets()
	for _, tg := range ts {
		t.Run(tg.Name, func(t *testing.T) {
			r, err := w.Test(t.Context(), tg)
			if err != nil {
				t.Fatalf("test %s: %v", tg.URL, err)
			}
			if !r.OK() || r.Bad != 0 || len(r.Readings) != len(pm.Points) {
				t.Fatalf("%s: %d readings, %d bad\n%s", tg.URL, len(r.Readings), r.Bad, r.Summary())
			}
			fw := w.Stations()[slices.Index(embeddedRoles, strings.Fields(tg.Name)[1])].Firmware().Version
			if r.Identity.Firmware != fw {
				t.Errorf("identity firmware %q, want %q (%s)", r.Identity.Firmware, fw, FormatIdentity(r.Identity))
			}
			if !strings.Contains(r.Summary(), "OK: "+tg.Name) {
				t.Errorf("summary:\n%s", r.Summary())
			}
			if tg.URL == st.ModbusURL() || tg.URL == st.OPCUATarget() {
				i := slices.IndexFunc(r.Readings, func(x Reading) bool { return x.Tag == "Setpoint" })
				if i < 0 || r.Readings[i].Value != "61.50" {
					t.Errorf("Setpoint read as %+v, want 61.50", r.Readings[i])
				}
			}
		})
	}
	// the engineer's own point map file, relative to the workspace folder
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "scenarios", "pointmaps", "tank.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(w.Dir, "maps"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Dir, "maps", "plc.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := w.Test(t.Context(), Target{Name: "Own map", URL: st.ModbusURL(), PointMap: "maps/plc.yaml"})
	if err != nil || r.Bad != 0 || len(r.Readings) != len(pm.Points) {
		t.Errorf("with the point map from a file: %v\n%s", err, r.Summary())
	}
	// the wrong point map: the device answers, the points it does not serve read bad
	r, err = w.Test(t.Context(), Target{Name: "Wrong map", URL: st.ModbusURL(), PointMap: "conveyor"})
	if err != nil {
		t.Fatalf("the wrong point map: %v", err)
	}
	if r.Bad == 0 || !strings.Contains(r.Summary(), ": bad: ") {
		t.Errorf("the wrong point map: %d bad\n%s", r.Bad, r.Summary())
	}
	if v, _ := st.Controller.Get("Setpoint"); v.Float() != 61.5 {
		t.Errorf("Setpoint is %v after the tests; a test wrote", v)
	}
	// a Session has no way to write
	for _, m := range []string{"Write", "Set"} {
		if _, ok := reflect.TypeFor[*Session]().MethodByName(m); ok {
			t.Errorf("Session has a %s method; the Bench tab's connections are read-only", m)
		}
	}
}

// TestTestTargetErrors: bad input gives an error naming the URL (or file:line:col) and the
// cause, never a panic.
func TestTestTargetErrors(t *testing.T) {
	w := openWorkspace(t)
	// a port where nothing listens: a listener's, closed
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "modbus://" + l.Addr().String() + "?unit=1"
	l.Close()
	if err := os.WriteFile(filepath.Join(w.Dir, "broken.yaml"), []byte("version: 1\nname: x\npoints:\n  - tag: A\n    type: float33\n    modbus: {register: holding, address: 0}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		t    Target
		want []string
	}{
		{"refused", Target{Name: "Gone", URL: refused, PointMap: "tank"}, []string{refused, "refused"}},
		{"refused over OPC UA", Target{Name: "Gone", URL: "opc.tcp://" + l.Addr().String() + "?security=None&allow_insecure=1", PointMap: "tank"}, []string{l.Addr().String(), "refused"}},
		{"no host", Target{Name: "NoHost", URL: "modbus://:502?unit=1", PointMap: "tank"}, []string{"modbus://:502?unit=1", "expected a host"}},
		{"unknown parameter", Target{Name: "Typo", URL: w.Stations()[0].ModbusURL() + "&unti=2", PointMap: "tank"}, []string{w.Stations()[0].ModbusURL(), `unknown parameter "unti"`}},
		{"no such point map file", Target{Name: "NoMap", URL: refused, PointMap: "maps/none.yaml"}, []string{refused, filepath.Join(w.Dir, "maps", "none.yaml")}},
		{"broken point map", Target{Name: "BadMap", URL: refused, PointMap: "broken.yaml"}, []string{refused, filepath.Join(w.Dir, "broken.yaml") + ":5:11:", "float33"}},
		{"not a URL", Target{Name: "Junk", URL: "::junk", PointMap: "tank"}, []string{"::junk", "not a URL"}},
		{"no URL", Target{Name: "Empty", PointMap: "tank"}, []string{"Empty", "no url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := w.Test(t.Context(), tc.t)
			if err == nil {
				t.Fatalf("no error (%+v)", r)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestStationStopStartAndFaults stops a station under a connected session, starts it
// again, and switches faults on and off.
func TestStationStopStartAndFaults(t *testing.T) {
	w := openWorkspace(t)
	ctx := t.Context()
	tg := w.EmbeddedTargets()[0] // before, Modbus
	s, err := w.Connect(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Read(ctx); err != nil {
		t.Fatal(err)
	}
	w.SetFaults(0, Combine([]bool{false, false, false, false, true, true}))
	if err := w.Stop(0); err != nil {
		t.Fatal(err)
	}
	if w.Stations()[0].Running() {
		t.Fatal("stopped station says it runs")
	}
	if err := w.Stop(0); err != nil {
		t.Errorf("stopping twice: %v", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	rows, err := s.Read(rctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1") || rows[0].Value != "missing" {
		t.Fatalf("reading a stopped station: %v, %+v", err, rows[0])
	}
	if _, err := w.Test(ctx, tg); err == nil {
		t.Error("testing a stopped station succeeded")
	}
	st, err := w.Start(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running() || !w.Stations()[0].Running() {
		t.Fatal("started station does not run")
	}
	if got := KindsOn(st.Faults()); !slices.Equal(got, []bool{false, false, false, false, true, true}) || !st.Faulted() {
		t.Errorf("faults after Start %v (%s); want the two switched on before Stop", got, st.Faults())
	}
	if st.ModbusURL() == tg.URL { // same port again: the session reconnects
		if _, err := s.Read(ctx); err != nil {
			t.Errorf("reading after the station came back: %v", err)
		}
	}
	w.SetFaults(0, Combine(nil))
	if w.Stations()[0].Faulted() {
		t.Error("faults off, but the station says it is faulted")
	}
	// a stopped station starts on another firmware
	if err := w.Stop(1); err != nil {
		t.Fatal(err)
	}
	st, err = w.Restart(ctx, 1, "benign")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running() || st.Firmware().Name != "benign" {
		t.Errorf("after Restart of a stopped station: running %v, firmware %s", st.Running(), st.Firmware().Name)
	}
	if err := w.Stop(1); err != nil { // Close skips stopped stations
		t.Fatal(err)
	}
}

// TestFaultKindsRoundTrip: every combination of fault kinds reads back from the fault set.
func TestFaultKindsRoundTrip(t *testing.T) {
	n := len(FaultKinds)
	for m := range 1 << n {
		on := make([]bool, n)
		for k := range n {
			on[k] = m&(1<<k) != 0
		}
		f := Combine(on)
		if got := KindsOn(f); !slices.Equal(got, on) {
			t.Errorf("KindsOn(Combine(%v)) = %v (%s)", on, got, f)
		}
		if f.Healthy() != (m == 0) {
			t.Errorf("Combine(%v) = %s, healthy %v", on, f, f.Healthy())
		}
	}
}
