package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/verdict"
)

func validateJSON(t *testing.T, args ...string) (int, verdict.Record, string) {
	t.Helper()
	return validateJSONNoFast(t, filepath.Join(t.TempDir(), "v.db"), append([]string{"--fast"}, args...)...)
}

func validateJSONNoFast(t *testing.T, db string, args ...string) (int, verdict.Record, string) {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"validate", "--json", "--db", db}, args...)...)
	var rec verdict.Record
	if out != "" {
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	return code, rec, errOut
}

// TestValidateExitCodes: benign exit 0, each regression exit 1 naming the criterion it
// breaks, a controller cut off mid-run exit 3.
func TestValidateExitCodes(t *testing.T) {
	cases := []struct {
		scenario, after string
		code            int
		criterion       string // a failed (exit 1) or undecided (exit 3) criterion
	}{
		{"tank-alarm-trip.yaml", "sim://tank?firmware=benign", ExitOK, ""},
		{"tank-alarm-trip.yaml", "sim://tank?firmware=alarm-shift", ExitNoGo, "check:alarm_high_threshold"},
		{"tank-steady-state.yaml", "sim://tank?firmware=scan-slow-5", ExitNoGo, "timing:scan_period"},
		{"tank-steady-state.yaml", "sim://tank?firmware=register-moved", ExitNoGo, "identity:points"},
		{"tank-restart-retain.yaml", "sim://tank?firmware=retain-lost", ExitNoGo, "check:retained_values"},
		{"heater-step-response.yaml", "sim://heater?firmware=loop-retuned", ExitNoGo, "check:overshoot_limit"},
		{"conveyor-sequence.yaml", "sim://conveyor?firmware=event-order", ExitNoGo, "sequence"},
		// the controller goes down 3 s in and stays down: the run faults, nothing is decided
		{"tank-steady-state.yaml", "sim://tank?firmware=benign&faults=restart-every%3D3s,restart-time%3D1h", ExitFault, "data"},
	}
	for _, tc := range cases {
		t.Run(tc.after, func(t *testing.T) {
			model := strings.SplitN(tc.scenario, "-", 2)[0]
			code, rec, errOut := validateJSON(t, "--scenario", "../../scenarios/"+tc.scenario, "--before", "sim://"+model, "--after", tc.after)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; verdict %s %v; stderr %s", code, tc.code, rec.Verdict, rec.Reasons, errOut)
			}
			if tc.criterion == "" {
				return
			}
			want := verdict.Fail
			if tc.code == ExitFault {
				want = verdict.StatusUndecided
			}
			for _, c := range rec.Criteria {
				if c.ID == tc.criterion && c.Status == want {
					return
				}
			}
			t.Errorf("no %s criterion %s; reasons %v", want, tc.criterion, rec.Reasons)
		})
	}
}

// TestValidateBundleRegisterJUnit: the whole record path: patch in the register, validation
// recorded against it with the bundle hash, the bundle verifies, JUnit written.
func TestValidateBundleRegisterJUnit(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	code, out, errOut := runCLI(t, "register", "add", "--db", db, "--json", "--supplier", "Acme", "--product", "Tank PLC", "--from", "3.2.0", "--to", "3.3.1", "--type", "security", "--identified", "2026-11-20")
	if code != ExitOK {
		t.Fatalf("register add: %d %s", code, errOut)
	}
	var p struct{ ID string }
	json.Unmarshal([]byte(out), &p)
	if p.ID == "" {
		t.Fatalf("no patch id in %s", out)
	}
	bundle, junit := filepath.Join(dir, "e.zip"), filepath.Join(dir, "j.xml")
	code, out, errOut = runCLI(t, "validate", "--fast", "--db", db, "--scenario", "../../scenarios/tank-alarm-trip.yaml",
		"--before", "sim://tank", "--after", "sim://tank?firmware=alarm-shift", "--patch", p.ID, "--from-version", "3.2.0", "--to-version", "3.3.1",
		"--bundle", bundle, "--junit", junit, "--key-dir", filepath.Join(dir, "keys"),
		"--difference", "bench tank simulated; production has 2 inlet valves")
	if code != ExitNoGo {
		t.Fatalf("validate: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "verify", bundle); code != ExitOK || !strings.Contains(out, "NO-GO") {
		t.Errorf("verify: exit %d %s %s", code, out, errOut)
	}
	if x, err := os.ReadFile(junit); err != nil || !strings.Contains(string(x), "alarm_high_threshold") || !strings.Contains(string(x), "<failure") {
		t.Errorf("junit: %v\n%s", err, x)
	}
	code, out, _ = runCLI(t, "register", "show", p.ID, "--db", db, "--json")
	if code != ExitOK || !strings.Contains(out, "NO-GO") || !strings.Contains(out, "bundle_sha256") || !strings.Contains(out, "production has 2 inlet valves") || !strings.Contains(out, "signer_public_key") {
		t.Errorf("register show: %d %s", code, out)
	}
	if code, _, errOut := runCLI(t, "register", "verify", "--db", db); code != ExitOK {
		t.Errorf("audit chain: %d %s", code, errOut)
	}
}

func TestValidateBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"validate", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--before", "sim://tank"},
		{"validate", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--before", "sim://tank", "--after", "modbus://127.0.0.1:1"},
		{"validate", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--before-run", "1"},
		{"validate", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--before-run", "x", "--after-run", "2", "--db", filepath.Join(t.TempDir(), "x.db")},
	} {
		if code, _, errOut := runCLI(t, args...); code != ExitBadInput {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
}
