package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/fixtures/thirdparty"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/simtest"
)

// readBackGood loads a discovered point map and reads every point of it once through the
// normal driver: each must be Good.
func readBackGood(t *testing.T, target, file string) *point.Map {
	t.Helper()
	pm, err := point.Load(file)
	if err != nil {
		t.Fatalf("the discovered map does not load: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tags, out := readEveryPoint(ctx, t, target, pm)
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Errorf("%s: %s reads %s: %v", file, tags[i], r.Quality, r.Err)
		}
	}
	return pm
}

// readEveryPoint reads every point of pm from target once, through the normal driver.
func readEveryPoint(ctx context.Context, t *testing.T, target string, pm *point.Map) ([]string, []driver.Reading) {
	t.Helper()
	tg, err := driver.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := driver.Open(ctx, tg, pm)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	if err := c.Read(ctx, tags, out); err != nil {
		t.Fatal(err)
	}
	return tags, out
}

// TestDiscover: discover against the simulated tank over both protocols writes a point map
// that loads and reads back Good; an existing file is not overwritten without --force; the
// map goes to stdout without -o.
func TestDiscover(t *testing.T) {
	st := simtest.Start(t, "tank", "")
	dir := t.TempDir()
	opc := st.OPCUAURL() + "?security=None&allow_insecure=1"
	for _, tc := range []struct{ name, target string }{{"modbus", st.ModbusURL()}, {"opcua", opc}} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "tank-"+tc.name+".yaml")
			code, out, errOut := runCLI(t, "discover", tc.target, "-o", file, "--rate", "0")
			if code != ExitOK || out != "" || !strings.Contains(errOut, "nothing written to the device") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			pm := readBackGood(t, tc.target, file)
			if pm.Name != "tank-"+tc.name {
				t.Errorf("name %q; expected the file's", pm.Name)
			}
			before, _ := os.ReadFile(file)
			code, _, errOut = runCLI(t, "discover", "-o", file, tc.target)
			if after, _ := os.ReadFile(file); code != ExitBadInput || !strings.Contains(errOut, "--force") || string(after) != string(before) {
				t.Errorf("existing file: exit %d, %s", code, errOut)
			}
			code, out, _ = runCLI(t, "discover", tc.target, "--rate", "0", "--name", "x")
			if m, err := point.Parse("stdout", []byte(out)); code != ExitOK || err != nil || m.Name != "x" || len(m.Points) != len(pm.Points) {
				t.Errorf("to stdout: exit %d, %v\n%s", code, err, out)
			}
		})
	}
	// --check reads every point of a map once: all Good is 0, a point that does not read 1
	// (listed with its cause), a map that does not load 2
	file := filepath.Join(dir, "tank-modbus.yaml")
	code, out, errOut := runCLI(t, "discover", st.ModbusURL(), "--check", file)
	if code != ExitOK || !strings.Contains(out, "input_0") || !strings.Contains(errOut, "all 29 points read") {
		t.Errorf("--check: exit %d\n%s\n%s", code, out, errOut)
	}
	data, _ := os.ReadFile(file)
	wrong := filepath.Join(dir, "wrong.yaml")
	os.WriteFile(wrong, append(data, "  - {tag: Gap, type: uint16, modbus: {register: holding, address: 1}}\n"...), 0o644)
	code, out, errOut = runCLI(t, "discover", st.ModbusURL(), "--check", wrong)
	if code != ExitNoGo || !strings.Contains(out, "Gap") || !strings.Contains(out, "BAD: ") || !strings.Contains(out, "illegal data address") || !strings.Contains(errOut, "1 of 30 points do not read") {
		t.Errorf("--check with an unmapped address: exit %d\n%s\n%s", code, out, errOut)
	}
	os.WriteFile(wrong, append(data, "  - {tag: Gap, type: uint17, modbus: {register: holding, address: 1}}\n"...), 0o644)
	if code, _, errOut = runCLI(t, "discover", st.ModbusURL(), "--check", wrong); code != ExitBadInput || !strings.Contains(errOut, wrong+":") || !strings.Contains(errOut, "uint17") {
		t.Errorf("--check with a map that does not load: exit %d, %s", code, errOut)
	}
	// a refused connection names the URL and the cause
	refused := "opc.tcp://" + closedPort(t) + "?security=None&allow_insecure=1"
	if code, _, errOut := runCLI(t, "discover", refused); code != ExitFault || !strings.Contains(errOut, refused+": ") || !strings.Contains(errOut, "connection refused") {
		t.Errorf("refused: exit %d, %s", code, errOut)
	}
	// Modbus: the ranges asked for only
	code, out, errOut = runCLI(t, "discover", st.ModbusURL(), "--ranges", "co:0-9")
	m, err := point.Parse("stdout", []byte(out))
	if code != ExitOK || err != nil || len(m.Points) != 3 || !strings.Contains(out, "coil 3-9: exception 02 illegal data address") {
		t.Errorf("--ranges co:0-9: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
}

// TestThirdPartyDiscover: discover the third-party tank PLC (fixtures/thirdparty: node-opcua
// and modbus-serial, stacks we did not write) over both protocols. Each map loads and every
// point reads back Good through the normal driver. Over OPC UA it finds the ten variables of
// its documentation with their types and access; over Modbus the holding registers 0-6 and
// 10-17 and nothing else (every other address, coil, discrete input and input register
// answers exception 02).
func TestThirdPartyDiscover(t *testing.T) {
	dir := thirdparty.DirOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	plc, err := thirdparty.Start(ctx, dir, "baseline")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := plc.Close(); err != nil {
			t.Error(err)
		}
	})
	out := t.TempDir()

	opc := plc.OPCUA + "?security=None&allow_insecure=1"
	file := filepath.Join(out, "tankplc-opcua.yaml")
	if code, _, errOut := runCLI(t, "discover", opc, "-o", file); code != ExitOK {
		t.Fatalf("opc ua: exit %d: %s", code, errOut)
	}
	got := readBackGood(t, opc, file)
	want, err := point.Load(filepath.Join("..", "..", "fixtures", "thirdparty", "tankplc-opcua.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range want.Points {
		g, ok := got.Point(p.Tag)
		switch {
		case !ok:
			t.Errorf("opc ua: %s not found", p.Tag)
		case g.Type != p.Type || g.Writable != p.Writable || g.OPCUA.Identifier != p.OPCUA.Identifier || g.OPCUA.NamespaceURI != p.OPCUA.NamespaceURI:
			t.Errorf("opc ua: %s is %s writable %t at %s; the documented map says %s %t %s", p.Tag, g.Type, g.Writable, g.OPCUA, p.Type, p.Writable, p.OPCUA)
		}
	}
	if len(got.Points) != len(want.Points) {
		t.Errorf("opc ua: %d points; the PLC documents %d", len(got.Points), len(want.Points))
	}
	for tag, unit := range map[string]string{"Level": "%", "ScanTime": "ms"} {
		if p, _ := got.Point(tag); p.Unit != unit {
			t.Errorf("opc ua: %s has unit %q; its EngineeringUnits say %q", tag, p.Unit, unit)
		}
	}

	file = filepath.Join(out, "tankplc-modbus.yaml")
	code, _, errOut := runCLI(t, "discover", plc.Modbus, "-o", file, "--ranges", "hr:0-99,ir:0-19,co:0-19,di:0-19")
	if code != ExitOK {
		t.Fatalf("modbus: exit %d: %s", code, errOut)
	}
	t.Logf("modbus:\n%s", errOut)
	got = readBackGood(t, plc.Modbus, file)
	var addrs []string
	for _, p := range got.Points {
		addrs = append(addrs, p.Modbus.String())
	}
	wantAddrs := "holding 0 holding 1 holding 2 holding 3 holding 4 holding 5 holding 6 holding 10 holding 11 holding 12 holding 13 holding 14 holding 15 holding 16 holding 17"
	if strings.Join(addrs, " ") != wantAddrs {
		t.Errorf("modbus: found %s; the PLC documents %s", strings.Join(addrs, " "), wantAddrs)
	}
}
