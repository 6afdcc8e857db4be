package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Errorf("%s: %s reads %s: %v", file, tags[i], r.Quality, r.Err)
		}
	}
	return pm
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
	// a refused connection names the URL and the cause
	refused := "opc.tcp://" + closedPort(t) + "?security=None&allow_insecure=1"
	if code, _, errOut := runCLI(t, "discover", refused); code != ExitFault || !strings.Contains(errOut, refused+": ") || !strings.Contains(errOut, "connection refused") {
		t.Errorf("refused: exit %d, %s", code, errOut)
	}
	// Modbus: the ranges asked for only
	code, out, errOut := runCLI(t, "discover", st.ModbusURL(), "--ranges", "co:0-9")
	m, err := point.Parse("stdout", []byte(out))
	if code != ExitOK || err != nil || len(m.Points) != 3 || !strings.Contains(out, "coil 3-9: exception 02 illegal data address") {
		t.Errorf("--ranges co:0-9: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
}
