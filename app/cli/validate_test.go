package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/ledger"
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
		{"tank-steady-state.yaml", "sim://tank?firmware=benign&faults=restart-every%3D3s,restart-time%3D1h", ExitInconclusive, "data"},
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
			if tc.code == ExitInconclusive {
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
	if !regexp.MustCompile(`(?m)^  validation V-\S+ recorded against patch ` + p.ID + `$`).MatchString(out) {
		t.Errorf("validate does not print the validation id:\n%s", out)
	}
	// the workstation that signed trusts its own key; another does not
	if code, out, errOut := runCLI(t, "verify", bundle, "--key-dir", filepath.Join(dir, "keys")); code != ExitOK || !strings.Contains(out, "NO-GO") {
		t.Errorf("verify: exit %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "verify", bundle, "--key-dir", t.TempDir()); code != ExitNoGo || !strings.Contains(errOut, "unknown key") {
		t.Errorf("verify on another workstation: exit %d %s", code, errOut)
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

// runJSON runs `patchgate run --fast --json` and returns the run id.
func runJSON(t *testing.T, db, scenario, target string) int64 {
	t.Helper()
	code, out, errOut := runCLI(t, "run", "--fast", "--json", "--db", db, "--repeat", "1", "--scenario", "../../scenarios/"+scenario, "--target", target)
	var s runSummary
	if code != ExitOK || json.Unmarshal([]byte(out), &s) != nil || s.RunID == 0 {
		t.Fatalf("run: exit %d %s %s", code, out, errOut)
	}
	return s.RunID
}

func storedRuns(t *testing.T, db string) int {
	t.Helper()
	l, err := ledger.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	runs, err := l.Runs(t.Context(), ledger.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

// TestValidateStoredRuns: runs stored by `patchgate run` are compared when they are of the
// scenario given; runs of two scenarios are refused (exit 2) with both runs named.
func TestValidateStoredRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	base := runJSON(t, db, "tank-alarm-trip.yaml", "sim://tank")
	shifted := runJSON(t, db, "tank-alarm-trip.yaml", "sim://tank?firmware=alarm-shift")
	steady := runJSON(t, db, "tank-steady-state.yaml", "sim://tank?firmware=benign")
	cases := []struct {
		name, scenario, before, after string
		code                          int
		stderr                        string
	}{
		{"one scenario", "tank-alarm-trip.yaml", fmt.Sprint(base), fmt.Sprint(shifted), ExitNoGo, ""},
		{"two scenarios", "tank-alarm-trip.yaml", fmt.Sprint(base), fmt.Sprint(steady), ExitBadInput,
			fmt.Sprintf(`stored before run %d and after run %d are runs of different scenarios: scenario "tank-alarm-trip"`, base, steady)},
		{"runs of another scenario than given", "tank-steady-state.yaml", fmt.Sprint(base), fmt.Sprint(shifted), ExitBadInput,
			fmt.Sprintf(`stored before run %d is a run of scenario "tank-alarm-trip"`, base)},
		{"a run that is not stored", "tank-alarm-trip.yaml", fmt.Sprint(base), "999", ExitBadInput, "stored after run 999: not in the register"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, rec, errOut := validateJSONNoFast(t, db, "--scenario", "../../scenarios/"+tc.scenario, "--before-run", tc.before, "--after-run", tc.after)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want it to say %q", code, tc.code, errOut, tc.stderr)
			}
			if tc.code == ExitNoGo && (!slices.Equal(rec.BeforeRuns, []int64{base}) || !slices.Equal(rec.AfterRuns, []int64{shifted})) {
				t.Errorf("runs %v / %v", rec.BeforeRuns, rec.AfterRuns)
			}
		})
	}
	if n := storedRuns(t, db); n != 3 {
		t.Errorf("%d runs stored; comparing stored runs must run nothing", n)
	}
}

// TestValidatePatchVersions: --patch takes the firmware versions from the register; an
// explicit version that contradicts them is refused (exit 2) before anything runs.
func TestValidatePatchVersions(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	mustCLI(t, ExitOK, "register", "add", "--db", db, "--id", "P-2026-001", "--actor", "jd", "--supplier", "Simulated Controls",
		"--product", "Tank", "--from", "3.2.0", "--to", "3.3.0", "--type", "security")
	args := []string{"--fast", "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--before", "sim://tank", "--after", "sim://tank?firmware=alarm-shift", "--patch", "P-2026-001"}
	for _, extra := range [][]string{{"--from-version", "3.1.0"}, {"--to-version", "3.3.1"}} {
		code, _, errOut := validateJSONNoFast(t, db, append(slices.Clone(args), extra...)...)
		if code != ExitBadInput || !strings.Contains(errOut, "but the register has patch P-2026-001 going from 3.2.0 to 3.3.0") {
			t.Errorf("%v: exit %d, stderr %s; want 2 naming the register's versions", extra, code, errOut)
		}
	}
	if n := storedRuns(t, db); n != 0 {
		t.Fatalf("%d runs stored before the versions were refused", n)
	}
	// the register says 3.3.0; the after device runs 3.3.1: identity:firmware fails
	code, rec, errOut := validateJSONNoFast(t, db, append(args, "--to-version", "3.3.0")...)
	if code != ExitNoGo {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, c := range rec.Criteria {
		if c.ID == "identity:firmware" && (c.Status != verdict.Fail || c.Expected != "firmware 3.2.0 before and 3.3.0 after") {
			t.Errorf("identity:firmware %s, expected %q", c.Status, c.Expected)
		}
	}
}
