package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	_ "github.com/patchgate/patchgate/harness/driver/modbus"
	_ "github.com/patchgate/patchgate/harness/driver/opcua"
	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(context.Background(), Env{Stdout: &o, Stderr: &e}, args)
	return code, o.String(), e.String()
}

func TestSimListJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "sim", "--list", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var l struct {
		Models   []struct{ Name string }
		Profiles []struct{ Model, Name, Kind, Description string }
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[string]int{}
	for _, p := range l.Profiles {
		if p.Description == "" {
			t.Errorf("%s/%s has no description", p.Model, p.Name)
		}
		if kinds[p.Model] == nil {
			kinds[p.Model] = map[string]int{}
		}
		kinds[p.Model][p.Kind]++
	}
	if len(l.Models) != 3 {
		t.Errorf("models %v", l.Models)
	}
	for _, m := range l.Models {
		k := kinds[m.Name]
		if k["baseline"] != 1 || k["benign"] != 1 || k["regression"] < 5 {
			t.Errorf("%s profiles by kind %v; want one baseline, one benign, regressions", m.Name, k)
		}
	}
	// the text listing has the same profiles, a line each
	_, text, _ := runCLI(t, "sim", "--list")
	if n := strings.Count(text, "\nfirmware "); n != len(l.Profiles)-1 && n != len(l.Profiles) {
		t.Errorf("text listing has %d firmware lines, JSON %d profiles", n, len(l.Profiles))
	}
}

func TestSimServesUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- Main(ctx, Env{Stdout: pw, Stderr: io.Discard}, []string{"sim", "--model", "tank", "--firmware", "benign", "--modbus", "127.0.0.1:0", "--opcua", "127.0.0.1:0", "--json"})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var info stationInfo
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("%v: %q", err, line)
	}
	if info.Firmware != "3.2.1" || !strings.HasPrefix(info.Modbus, "modbus://127.0.0.1:") || strings.HasSuffix(info.Modbus, ":0?unit=1") || !strings.HasPrefix(info.OPCUA, "opc.tcp://127.0.0.1:") {
		t.Errorf("endpoints %+v", info)
	}
	// it really serves: read the firmware over Modbus
	host := strings.TrimSuffix(strings.TrimPrefix(info.Modbus, "modbus://"), "?unit=1")
	mc, _ := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + host, Timeout: 2 * time.Second})
	if err := mc.Open(); err != nil {
		t.Fatal(err)
	}
	b, err := mc.ReadBytes(20, 5, modbus.INPUT_REGISTER)
	mc.Close()
	if err != nil || string(b) != "3.2.1" {
		t.Errorf("firmware over Modbus %q, %v", b, err)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit %d after interrupt", code)
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"sim", "--model", "boiler"}, `unknown model "boiler"`},
		{[]string{"sim", "--firmware", "nope"}, `model tank has no firmware "nope"`},
		{[]string{"sim", "--fault", "latency=soon"}, `fault "latency=soon": expected a duration`},
		{[]string{"sim", "--modbus", "5020"}, `listen address "5020": expected host:port`},
		{[]string{"sim", "--opcua-user", "operator"}, "PATCHGATE_SIM_OPCUA_PASSWORD, which is not set"},
		{[]string{"run", "--target", "sim://tank"}, "--scenario is required"},
		{[]string{"run", "--scenario", "../../scenarios/tank-alarm-trip.yaml"}, "--target is required"},
		{[]string{"run", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--target", "ftp://x"}, `unknown scheme "ftp"`},
		{[]string{"run", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--target", "modbus://:502"}, "expected a host and an optional port"},
		{[]string{"run", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--target", "modbus://127.0.0.1:1?unit=1"}, "need arming (--arm)"},
		{[]string{"run", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--points", "../../scenarios/pointmaps/heater.yaml", "--target", "sim://tank"}, `tank-alarm-trip.yaml:11:10: unknown tag "Level"`},
		{[]string{"run", "--scenario", "/no/such.yaml", "--target", "sim://tank"}, "/no/such.yaml"},
		{[]string{"run", "--bogus"}, "flag provided but not defined"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.args...)
			if code != ExitBadInput {
				t.Errorf("exit %d, want 2; stderr %s", code, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.want)
			}
		})
	}
}

func TestRunJSONSummary(t *testing.T) {
	db := t.TempDir() + "/t.db"
	code, out, errOut := runCLI(t, "run", "--scenario", "../../scenarios/tank-restart-retain.yaml", "--target", "sim://tank?firmware=retain-lost", "--fast", "--db", db, "--json", "--repeat", "2")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per repetition, got %d:\n%s", len(lines), out)
	}
	for i, l := range lines {
		var s runSummary
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		if s.RunID == 0 || s.Status != "completed" || s.Repetition != i+1 || s.Samples == 0 || s.Identity.Firmware != "3.4.1" || s.TimeMode != "simulated" {
			t.Errorf("summary %+v", s)
		}
		var retained string
		for _, c := range s.Checks {
			if c.ID == "retained_values" {
				retained = c.Status
			}
		}
		if retained != "fail" {
			t.Errorf("retained_values = %q on retain-lost firmware, want fail", retained)
		}
	}
}

func TestDryRunPrintsWritesAndTouchesNothing(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--target", "modbus://127.0.0.1:1?unit=1", "--dry-run")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"nothing sent", "step 1 (setup): Mode = 0", "step 4 (setup): InletValve = true", "step 11 (step): InletValve = true", "restore: Mode = (value captured before the test)"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
}

func TestExportStoredRun(t *testing.T) {
	db := t.TempDir() + "/e.db"
	code, out, errOut := runCLI(t, "run", "--scenario", "../../scenarios/tank-steady-state.yaml", "--target", "sim://tank", "--fast", "--db", db, "--json")
	if code != ExitOK {
		t.Fatalf("run: exit %d %s", code, errOut)
	}
	var s runSummary
	json.Unmarshal([]byte(out), &s)
	code, csv, errOut := runCLI(t, "export", "--db", db, "--run", fmt.Sprint(s.RunID))
	if code != ExitOK {
		t.Fatalf("export: exit %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != s.Samples+1 || !strings.Contains(lines[0], "tag") {
		t.Errorf("CSV has %d lines (header %q) for %d samples", len(lines), lines[0], s.Samples)
	}
	code, js, _ := runCLI(t, "export", "--db", db, "--run", fmt.Sprint(s.RunID), "--format", "json")
	var doc map[string]any
	if code != ExitOK || json.Unmarshal([]byte(js), &doc) != nil {
		t.Errorf("JSON export: exit %d, %q", code, js[:min(len(js), 200)])
	}
	if code, _, errOut := runCLI(t, "export", "--db", db, "--run", "999"); code != ExitBadInput || !strings.Contains(errOut, "no run 999") {
		t.Errorf("missing run: exit %d %s", code, errOut)
	}
	code, list, _ := runCLI(t, "runs", "--db", db)
	if code != ExitOK || !strings.Contains(list, "tank-steady-state") || !strings.Contains(list, "completed") {
		t.Errorf("runs: %d %s", code, list)
	}
}
