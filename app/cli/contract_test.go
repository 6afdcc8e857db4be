package cli

// The command line contract: every failure class exits with its code, and the help texts
// are as the goldens in testdata/ (go test ./app/cli -run Contract -update rewrites them).

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// closedPort is a loopback address nothing listens on: a connection to it is refused.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run Contract -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden (go test -run Contract -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestContractExitCodes drives Main with one case per failure class and command.
func TestContractExitCodes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	keys := filepath.Join(dir, "keys")
	refused := "modbus://" + closedPort(t) + "?unit=1"
	steady, trip := "../../scenarios/tank-steady-state.yaml", "../../scenarios/tank-alarm-trip.yaml"
	bundle := filepath.Join(dir, "e.zip")
	// the registered patch and the bundle some cases use
	var p struct{ ID string }
	json.Unmarshal([]byte(mustCLI(t, ExitOK, "register", "add", "--db", db, "--json", "--supplier", "Acme", "--product", "Tank PLC", "--to", "3.3.1", "--type", "security")), &p)

	type tcase struct {
		name   string
		code   int
		args   []string
		stderr string // a part
	}
	cases := []tcase{
		{"no command", ExitBadInput, nil, "usage: patchgate COMMAND"},
		{"unknown command", ExitBadInput, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"help", ExitOK, []string{"help"}, ""},
		{"version", ExitOK, []string{"--version"}, ""},
		{"help of an unknown command", ExitBadInput, []string{"help", "frobnicate"}, "unknown command"},

		{"run: completed", ExitOK, []string{"run", "--fast", "--db", db, "--scenario", steady, "--target", "sim://tank"}, "repetition 1 step "},
		{"run: unknown flag", ExitBadInput, []string{"run", "--frobnicate"}, "patchgate help run"},
		{"run: unknown sim model", ExitBadInput, []string{"run", "--db", db, "--scenario", steady, "--target", "sim://tnk"}, `unknown model "tnk"`},
		{"run: not armed", ExitBadInput, []string{"run", "--db", db, "--scenario", steady, "--target", refused}, "--dry-run"},
		{"run: connection refused", ExitFault, []string{"run", "--db", db, "--scenario", steady, "--target", refused, "--arm"}, "connection refused"},

		{"validate: GO", ExitOK, []string{"validate", "--fast", "--db", db, "--scenario", trip, "--before", "sim://tank", "--after", "sim://tank?firmware=benign"}, ""},
		{"validate: NO-GO", ExitNoGo, []string{"validate", "--fast", "--db", db, "--scenario", trip, "--before", "sim://tank", "--after", "sim://tank?firmware=alarm-shift",
			"--patch", p.ID, "--bundle", bundle, "--key-dir", keys}, ""},
		{"validate: INCONCLUSIVE", ExitInconclusive, []string{"validate", "--fast", "--db", db, "--scenario", steady, "--before", "sim://tank",
			"--after", "sim://tank?firmware=benign&faults=restart-every%3D3s,restart-time%3D1h"}, ""},
		{"validate: unknown sim model", ExitBadInput, []string{"validate", "--fast", "--db", db, "--scenario", trip, "--before", "sim://tnk", "--after", "sim://tank"}, `unknown model "tnk"`},
		{"validate: unknown patch", ExitBadInput, []string{"validate", "--fast", "--db", db, "--scenario", trip, "--before", "sim://tank", "--after", "sim://tank", "--patch", "P-404"}, "P-404"},
		{"validate: connection refused", ExitFault, []string{"validate", "--arm", "--db", db, "--scenario", steady, "--before", refused, "--after", refused}, "connection refused"},

		{"verify: trusted (own key)", ExitOK, []string{"verify", bundle, "--key-dir", keys}, ""},
		{"verify: unknown signer", ExitNoGo, []string{"verify", bundle, "--key-dir", t.TempDir()}, "signed by an unknown key"},
		{"verify: any signer", ExitOK, []string{"verify", bundle, "--key-dir", t.TempDir(), "--any-signer"}, "--any-signer"},
		{"verify: no such bundle", ExitBadInput, []string{"verify", filepath.Join(dir, "nope.zip")}, "no such file"},

		{"export: no such run", ExitBadInput, []string{"export", "--db", db, "--run", "999"}, "no run 999"},
		{"export: no such database", ExitBadInput, []string{"export", "--db", filepath.Join(dir, "nope.db"), "--run", "1"}, "no such file"},
		{"runs", ExitOK, []string{"runs", "--db", db}, ""},
		{"register: unknown patch", ExitBadInput, []string{"register", "show", "--db", db, "P-404"}, "P-404"},
		{"register: verify", ExitOK, []string{"register", "verify", "--db", db}, ""},
		{"new: no point map", ExitBadInput, []string{"new", "scenario"}, "--from-map is required"},
		{"new: starter to stdout", ExitOK, []string{"new", "scenario", "--from-map", "../../scenarios/pointmaps/tank.yaml"}, ""},
		{"discover: bad URL", ExitBadInput, []string{"discover", "modbus://:502"}, `"modbus://:502": expected a host`},
		{"discover: bad parameter", ExitBadInput, []string{"discover", "modbus://127.0.0.1:1?unit=x"}, `unit="x"`},
		{"discover: bad ranges", ExitBadInput, []string{"discover", refused, "--ranges", "hr:9-1"}, "below the first"},
		{"discover: connection refused", ExitFault, []string{"discover", refused}, refused + ": unit 1 on"},
		{"discover: no URL", ExitBadInput, []string{"discover", "-o", filepath.Join(dir, "x.yaml")}, "expected one target URL"},
		{"sim: unknown model", ExitBadInput, []string{"sim", "--model", "tnk"}, "tnk"},
		{"demo: unknown profile", ExitBadInput, []string{"demo", "--after", "nope"}, "nope"},
		{"study: bad seeds", ExitBadInput, []string{"study", "--seeds", "0"}, "--seeds 0"},
		{"trust: list", ExitOK, []string{"trust", "list", "--trust", filepath.Join(dir, "pki", "trusted")}, ""},
		{"trust: no such thumbprint", ExitBadInput, []string{"trust", "add", "--trust", filepath.Join(dir, "pki", "trusted"), "abcdef12"}, "no such certificate"},
	}
	var table strings.Builder
	for _, tc := range cases {
		// the cases share the database and the bundle: in order, not in parallel
		code, out, errOut := runCLI(t, tc.args...)
		fmt.Fprintf(&table, "%d  %s\n", code, tc.name)
		if code != tc.code || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%s: exit %d, want %d; stderr should say %q\nstdout: %s\nstderr: %s", tc.name, code, tc.code, tc.stderr, out, errOut)
		}
	}
	golden(t, "exit-codes.golden", table.String())

	// an unknown patch ran nothing: the runs stored are those of the cases before it
	var runs []runRow
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "runs", "--db", db, "--json", "-n", "0")), &runs); err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		if i > 0 && r.ID >= runs[i-1].ID {
			t.Errorf("runs not newest first by id: %d after %d", r.ID, runs[i-1].ID)
		}
		if r.TimeMode == "simulated" && (r.SimStart == nil || r.Started.Equal(*r.SimStart)) {
			t.Errorf("simulated run %d: wall-clock start %v beside the simulated %v", r.ID, r.Started, r.SimStart)
		}
	}
	// validate --json carries the validation id
	_, out, _ := runCLI(t, "validate", "--fast", "--json", "--db", db, "--scenario", trip, "--before", "sim://tank", "--after", "sim://tank?firmware=alarm-shift", "--patch", p.ID)
	var rec struct{ Verdict, Validation string }
	if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.Verdict != "NO-GO" || !strings.HasPrefix(rec.Validation, "V-") {
		t.Errorf("validate --json: %+v %v\n%s", rec, err, out)
	}
}

// TestContractInterrupted: a run stopped by the operator exits 3, not as a fault.
func TestContractInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := Env{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}
	// cancel when a step starts: the non-terminal progress line is the signal
	env.Stderr = writerFunc(func(b []byte) (int, error) {
		if bytes.Contains(b, []byte(" step ")) {
			cancel()
		}
		return len(b), nil
	})
	code := Main(ctx, env, []string{"run", "--fast", "--db", filepath.Join(t.TempDir(), "i.db"), "--scenario", "../../scenarios/tank-steady-state.yaml", "--target", "sim://tank"})
	if code != ExitInconclusive {
		t.Errorf("interrupted run: exit %d, want %d", code, ExitInconclusive)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestContractHelp: 'patchgate help CMD' and 'patchgate CMD -h' print the same help on
// stdout and exit 0; the texts are the goldens.
func TestContractHelp(t *testing.T) {
	code, out, _ := runCLI(t, "help")
	if code != ExitOK {
		t.Errorf("help: exit %d", code)
	}
	golden(t, "help/patchgate.golden", out)
	for _, c := range commands() {
		code, out, errOut := runCLI(t, "help", c.name)
		if code != ExitOK || errOut != "" {
			t.Errorf("help %s: exit %d, stderr %q", c.name, code, errOut)
		}
		for _, part := range []string{"patchgate " + c.name + ": ", "usage:\n", "exit codes:\n"} {
			if !strings.Contains(out, part) {
				t.Errorf("help %s does not say %q", c.name, part)
			}
		}
		if _, ok := helps[c.name]; ok && !strings.Contains(out, "examples:\n") {
			t.Errorf("help %s has no examples", c.name)
		}
		if code, h, _ := runCLI(t, c.name, "-h"); code != ExitOK || h != out {
			t.Errorf("%s -h: exit %d, and not the same text as help %s:\n%s", c.name, code, c.name, h)
		}
		golden(t, "help/"+c.name+".golden", out)
	}
}
