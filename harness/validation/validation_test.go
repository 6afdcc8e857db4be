package validation_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/evidence"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/harness/verdict"

	_ "github.com/patchgate/patchgate/harness/driver/modbus"
	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

var testNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

func now() time.Time { return testNow }

// sim is the in-process simulated tank on firmware fw, on simulated time.
func sim(fw string) validation.Side {
	return validation.Side{Target: "sim://tank?firmware=" + fw + "&seed=1&time=simulated"}
}

func load(t *testing.T, name string) *validation.Scenario {
	t.Helper()
	sc, err := validation.Load("../../scenarios/"+name, "")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func openLedger(t *testing.T) *ledger.DB {
	t.Helper()
	db, err := ledger.Open(t.Context(), filepath.Join(t.TempDir(), "register.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func addPatch(t *testing.T, db *ledger.DB, id, from, to string) {
	t.Helper()
	if _, err := db.AddPatch(t.Context(), register.Patch{ID: id, Supplier: "Simulated Controls", Product: "Tank controller",
		FromVersion: from, ToVersion: to, Type: register.Security, Created: testNow}, "tester"); err != nil {
		t.Fatal(err)
	}
}

func runCount(t *testing.T, db *ledger.DB) int {
	t.Helper()
	runs, err := db.Runs(t.Context(), ledger.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

func mustTarget(t *testing.T, u string) driver.Target {
	t.Helper()
	tg, err := driver.ParseTarget(u)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func criterion(rec verdict.Record, id string) verdict.Criterion {
	for _, c := range rec.Criteria {
		if c.ID == id {
			return c
		}
	}
	return verdict.Criterion{}
}

// TestRunRecordsEverything: a validation against a patch in the register: the runs stored
// with the scenario's SHA-256, the record (verdict, scenario, point map, patch, runs,
// identities, decided by the injected clock), the signed bundle holding the scenario and
// point map as run, JUnit, and the register entry with its differences and actor.
func TestRunRecordsEverything(t *testing.T) {
	ctx := t.Context()
	db := openLedger(t)
	addPatch(t, db, "P-2026-001", "3.2.0", "3.3.1")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	sc := load(t, "tank-alarm-trip.yaml")
	in := validation.Input{
		Scenario: sc, Before: sim("baseline"), After: sim("alarm-shift"), Repeat: 2,
		Patch: validation.Patch{ID: "P-2026-001"}, Ledger: db, Actor: "jd",
		Bundle: filepath.Join(dir, "e.zip"), Key: key, JUnit: filepath.Join(dir, "j.xml"),
		Differences: []string{"bench tank simulated"}, Now: now, ToolVersion: "9.9.9",
	}
	res, err := validation.Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	rec := res.Record
	if rec.Verdict != verdict.NoGo || criterion(rec, "check:alarm_high_threshold").Status != verdict.Fail {
		t.Errorf("verdict %s %v; want NO-GO on the alarm threshold", rec.Verdict, rec.Reasons)
	}
	if c := criterion(rec, "identity:firmware"); c.Status != verdict.Pass || c.Expected != "firmware 3.2.0 before and 3.3.1 after" {
		t.Errorf("identity:firmware %s, expected %q: the register's versions apply", c.Status, c.Expected)
	}
	if rec.Scenario != "tank-alarm-trip" || rec.ScenarioSHA256 != sc.SHA256 || rec.PointMap != "tank" || rec.Patch != "P-2026-001" ||
		rec.Decided != "2026-03-20T12:00:00Z" || rec.ToolVersion != "9.9.9" || rec.TimeMode != "simulated" ||
		!slices.Equal(rec.BeforeRuns, []int64{1, 2}) || !slices.Equal(rec.AfterRuns, []int64{3, 4}) ||
		rec.IdentityBefore.Firmware != "3.2.0" || rec.IdentityAfter.Firmware != "3.3.1" {
		t.Errorf("record %+v", rec)
	}
	if len(rec.BundleSHA256) != 64 || rec.Bundle != in.Bundle || rec.SignerPublicKey == "" {
		t.Errorf("bundle fields %q %q %q", rec.Bundle, rec.BundleSHA256, rec.SignerPublicKey)
	}
	runs, err := db.Runs(ctx, ledger.RunFilter{})
	if err != nil || len(runs) != 4 {
		t.Fatalf("%d runs stored (%v), want 4", len(runs), err)
	}
	for _, r := range runs {
		if r.ScenarioHash != sc.SHA256 || r.Scenario != sc.Name || r.PointMap != "tank" {
			t.Errorf("run %d: scenario %q sha %q map %q", r.ID, r.Scenario, r.ScenarioHash, r.PointMap)
		}
	}

	f, err := os.Open(in.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	rep, err := evidence.Verify(f, fi.Size(), []ed25519.PublicKey{key.Public().(ed25519.PublicKey)})
	if err != nil || !rep.Trusted || rep.Verdict != verdict.NoGo || rep.Record.Decided != rec.Decided {
		t.Fatalf("bundle: %v %+v", err, rep)
	}
	if x, err := os.ReadFile(in.JUnit); err != nil || !strings.Contains(string(x), "alarm_high_threshold") {
		t.Errorf("junit: %v %s", err, x)
	}

	v, err := db.Validation(ctx, res.Validation)
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != verdict.NoGo || v.BundleSHA256 != rec.BundleSHA256 || !slices.Equal(v.Differences, in.Differences) || !v.Created.Equal(testNow) {
		t.Errorf("register entry %+v", v)
	}
	stored, _ := json.Marshal(v.Record)
	want, _ := json.Marshal(rec)
	if string(stored) != string(want) {
		t.Errorf("the register holds another record:\n%s\nwant\n%s", stored, want)
	}
	audit, err := db.PatchAudit(ctx, "P-2026-001")
	if err != nil {
		t.Fatal(err)
	}
	last := audit[len(audit)-1]
	if last.Action != register.ActionValidationRecorded || last.Actor != "jd" || last.Subject != res.Validation {
		t.Errorf("last audit row %+v", last)
	}
}

// TestBadInputRunsNothing: every input error is ErrBadInput, says what is wrong, and comes
// before any run (the register holds none afterwards).
func TestBadInputRunsNothing(t *testing.T) {
	ctx := t.Context()
	sc := load(t, "tank-alarm-trip.yaml")
	other := load(t, "tank-steady-state.yaml")
	db := openLedger(t)
	addPatch(t, db, "P-2026-001", "3.2.0", "3.3.1")
	addPatch(t, db, "P-2026-002", "", "3.3.1") // the register leaves the from version open
	// two stored runs of another scenario, one of an older patchgate (no scenario SHA-256)
	res, err := validation.Run(ctx, validation.Input{Scenario: other, Before: sim("baseline"), After: sim("benign"), Repeat: 1, Ledger: db})
	if err != nil {
		t.Fatal(err)
	}
	otherRun := res.Before[0].Run.ID
	old, err := runner.Run(ctx, sc.Scenario, runner.Options{Target: mustTarget(t, sim("baseline").Target), Recorder: ledger.Recorder{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	noHash := old.Trace.Run.ID
	stored := runCount(t, db)
	_, key, _ := ed25519.GenerateKey(rand.Reader)

	good := validation.Input{Scenario: sc, Before: sim("baseline"), After: sim("alarm-shift"), Ledger: db, Now: now}
	cases := []struct {
		name string
		edit func(in *validation.Input)
		want string // in the message
	}{
		{"no scenario", func(in *validation.Input) { in.Scenario = nil }, "no scenario"},
		{"scenario without its text", func(in *validation.Input) { in.Scenario = &validation.Scenario{Scenario: sc.Scenario} }, "its text is missing"},
		{"negative repetitions", func(in *validation.Input) { in.Repeat = -1 }, "repetitions -1"},
		{"no after target", func(in *validation.Input) { in.After = validation.Side{} }, "after: no target and no stored runs"},
		{"target and stored runs", func(in *validation.Input) { in.Before.Runs = []int64{1} }, "before: give a target or stored runs, not both"},
		{"bad URL", func(in *validation.Input) { in.After.Target = "ftp://plc:21" }, "after target:"},
		{"real target not armed", func(in *validation.Input) { in.After.Target = "modbus://127.0.0.1:1?unit=1&map=tank" }, "writes to a real controller need arming"},
		{"simulated time on a wire target", func(in *validation.Input) {
			in.SimulatedTime, in.After = true, validation.Side{Target: "modbus://127.0.0.1:1?unit=1&map=tank", Armed: true}
		}, "simulated time applies to sim:// targets only"},
		{"patch not in the register", func(in *validation.Input) { in.Patch.ID = "P-2026-999" }, "patch P-2026-999 is not in the register"},
		{"from version disagrees", func(in *validation.Input) { in.Patch = validation.Patch{ID: "P-2026-001", FromVersion: "3.1.0"} },
			"from version 3.1.0 given, but the register has patch P-2026-001 going from 3.2.0 to 3.3.1"},
		{"to version disagrees", func(in *validation.Input) { in.Patch = validation.Patch{ID: "P-2026-001", ToVersion: "3.3.0"} },
			"to version 3.3.0 given, but the register has patch P-2026-001 going from 3.2.0 to 3.3.1"},
		{"to version disagrees, from open", func(in *validation.Input) {
			in.Patch = validation.Patch{ID: "P-2026-002", FromVersion: "3.2.0", ToVersion: "3.4.0"}
		}, "going from (unknown) to 3.3.1"},
		{"differences without a patch", func(in *validation.Input) { in.Differences = []string{"I/O simulated"} }, "name the patch"},
		{"stored run not in the register", func(in *validation.Input) { in.Before = validation.Side{Runs: []int64{999}} }, "stored before run 999: not in the register"},
		{"stored run of another scenario", func(in *validation.Input) { in.Before = validation.Side{Runs: []int64{otherRun}} }, "not of the scenario given"},
		{"stored run without a scenario SHA-256", func(in *validation.Input) { in.After = validation.Side{Runs: []int64{noHash}} }, "no recorded SHA-256"},
		{"stored runs without the register", func(in *validation.Input) { in.Ledger, in.Before = nil, validation.Side{Runs: []int64{1}} }, "need the register"},
		{"bundle without a key", func(in *validation.Input) { in.Bundle = filepath.Join(t.TempDir(), "e.zip") }, "no signing key"},
		{"bundle into a missing folder", func(in *validation.Input) { in.Bundle, in.Key = filepath.Join(t.TempDir(), "gone", "e.zip"), key }, "bundle"},
		{"JUnit into a missing folder", func(in *validation.Input) { in.JUnit = filepath.Join(t.TempDir(), "gone", "j.xml") }, "JUnit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.edit(&in)
			ran := false
			in.Progress = func(validation.Progress) { ran = true }
			res, err := validation.Run(ctx, in)
			if !errors.Is(err, validation.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want ErrBadInput saying %q", err, tc.want)
			}
			if res != nil || ran {
				t.Errorf("result %v, progress reported %v: something ran", res, ran)
			}
			if n := runCount(t, db); n != stored {
				t.Errorf("%d runs stored, %d before: something ran", n, stored)
			}
		})
	}
}

// TestStoredRuns: stored runs of one scenario compare as the live runs did; stored runs of
// two scenarios, or of two texts of one scenario, are refused naming both runs.
func TestStoredRuns(t *testing.T) {
	ctx := t.Context()
	db := openLedger(t)
	sc := load(t, "tank-alarm-trip.yaml")
	live := func(sc *validation.Scenario, fw string) int64 {
		t.Helper()
		res, err := validation.Run(ctx, validation.Input{Scenario: sc, Before: sim("baseline"), After: sim(fw), Repeat: 1, Ledger: db, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return res.After[0].Run.ID
	}
	first, err := validation.Run(ctx, validation.Input{Scenario: sc, Before: sim("baseline"), After: sim("alarm-shift"), Repeat: 1, Ledger: db, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	baseline, alarm := first.Before[0].Run.ID, first.After[0].Run.ID
	steady := live(load(t, "tank-steady-state.yaml"), "benign")
	// the same scenario name with another text: a tolerance edited after the baseline run
	edited := filepath.Join(t.TempDir(), "tank-alarm-trip.yaml")
	os.WriteFile(edited, append(append([]byte{}, sc.Data...), "\n# edited\n"...), 0o644)
	os.MkdirAll(filepath.Join(filepath.Dir(edited), "pointmaps"), 0o755)
	os.WriteFile(filepath.Join(filepath.Dir(edited), "pointmaps", "tank.yaml"), sc.PointData, 0o644)
	esc, err := validation.Load(edited, "")
	if err != nil {
		t.Fatal(err)
	}
	editedRun := live(esc, "alarm-shift")

	cases := []struct {
		name          string
		sc            *validation.Scenario
		before, after []int64
		want          string // error message; empty: the verdict of the live runs
	}{
		{"same scenario", sc, []int64{baseline}, []int64{alarm}, ""},
		{"different scenarios", sc, []int64{baseline}, []int64{steady}, fmt.Sprintf(
			`stored before run %d and after run %d are runs of different scenarios: scenario "tank-alarm-trip" (SHA-256 %s…, point map "tank") and scenario "tank-steady-state"`,
			baseline, steady, sc.SHA256[:12])},
		{"the other scenario given", load(t, "tank-steady-state.yaml"), []int64{steady}, []int64{baseline},
			fmt.Sprintf("stored before run %d and after run %d are runs of different scenarios", steady, baseline)},
		{"one scenario, two texts", sc, []int64{baseline}, []int64{editedRun},
			fmt.Sprintf("stored before run %d and after run %d are runs of different scenarios", baseline, editedRun)},
		{"both runs of the edited text, the original given", sc, []int64{editedRun}, []int64{editedRun}, fmt.Sprintf(
			`stored before run %d is a run of scenario "tank-alarm-trip" (SHA-256 %s…, point map "tank"), not of the scenario given, scenario "tank-alarm-trip" (SHA-256 %s…`,
			editedRun, esc.SHA256[:12], sc.SHA256[:12])},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := validation.Run(ctx, validation.Input{Scenario: tc.sc, Before: validation.Side{Runs: tc.before},
				After: validation.Side{Runs: tc.after}, Ledger: db, Now: now})
			if tc.want != "" {
				if !errors.Is(err, validation.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v; want ErrBadInput saying %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(res.Record)
			b, _ := json.Marshal(first.Record)
			if string(a) != string(b) {
				t.Errorf("stored runs give another record than when they were made:\n%s\n%s", a, b)
			}
		})
	}
}

// TestPatchVersions: the patch's versions come from the register; explicit versions fill in
// what it leaves open; without an id they apply as given. A device that runs another
// version than the patch installs fails identity:firmware.
func TestPatchVersions(t *testing.T) {
	db := openLedger(t)
	addPatch(t, db, "P-2026-001", "3.2.0", "3.3.1")
	addPatch(t, db, "P-2026-002", "", "")
	addPatch(t, db, "P-2026-003", "3.2.0", "3.3.0") // not what alarm-shift runs
	sc := load(t, "tank-alarm-trip.yaml")
	cases := []struct {
		patch    validation.Patch
		expected string
		status   verdict.Status
	}{
		{validation.Patch{ID: "P-2026-001"}, "firmware 3.2.0 before and 3.3.1 after", verdict.Pass},
		{validation.Patch{ID: "P-2026-001", FromVersion: "3.2.0", ToVersion: " 3.3.1 "}, "firmware 3.2.0 before and 3.3.1 after", verdict.Pass},
		{validation.Patch{ID: "P-2026-002", ToVersion: "3.3.1"}, "firmware changed to 3.3.1", verdict.Pass},
		{validation.Patch{ID: "P-2026-002"}, "firmware changed", verdict.Pass},
		{validation.Patch{ID: "P-2026-003"}, "firmware 3.2.0 before and 3.3.0 after", verdict.Fail},
		{validation.Patch{FromVersion: "3.1.0"}, "firmware changed from 3.1.0", verdict.Fail},
		{validation.Patch{}, "firmware changed", verdict.Pass},
	}
	for _, tc := range cases {
		t.Run(tc.patch.ID+"/"+tc.patch.FromVersion+"/"+tc.patch.ToVersion, func(t *testing.T) {
			res, err := validation.Run(t.Context(), validation.Input{Scenario: sc, Before: sim("baseline"), After: sim("alarm-shift"),
				Patch: tc.patch, Ledger: db, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			c := criterion(res.Record, "identity:firmware")
			if c.Expected != tc.expected || c.Status != tc.status {
				t.Errorf("identity:firmware %s expecting %q (%s); want %s expecting %q", c.Status, c.Expected, c.Reason, tc.status, tc.expected)
			}
			if tc.status == verdict.Fail && res.Record.Verdict != verdict.NoGo {
				t.Errorf("verdict %s with the firmware check failed", res.Record.Verdict)
			}
		})
	}
}

// TestProgressAndAbort: each run reports its start, the runner's progress and its end, in
// order, and the decision last; cancelling while a run goes on gives ErrAborted with the
// traces so far, and records nothing.
func TestProgressAndAbort(t *testing.T) {
	db := openLedger(t)
	addPatch(t, db, "P-2026-001", "3.2.0", "3.3.1")
	sc := load(t, "tank-alarm-trip.yaml")
	var got []string
	res, err := validation.Run(t.Context(), validation.Input{Scenario: sc, Before: sim("baseline"), After: sim("alarm-shift"), Repeat: 2, Ledger: db, Now: now,
		Progress: func(p validation.Progress) {
			s := [...]string{"start", "running", "end", "decided"}[p.Stage]
			if p.Stage != validation.Decided {
				s += fmt.Sprintf(" %s %d/%d rep %d", p.Side, p.Run, p.Runs, p.Repetition)
			}
			if len(got) == 0 || got[len(got)-1] != s {
				got = append(got, s)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"start before 1/4 rep 1", "running before 1/4 rep 1", "end before 1/4 rep 1",
		"start before 2/4 rep 2", "running before 2/4 rep 2", "end before 2/4 rep 2",
		"start after 3/4 rep 1", "running after 3/4 rep 1", "end after 3/4 rep 1",
		"start after 4/4 rep 2", "running after 4/4 rep 2", "end after 4/4 rep 2", "decided",
	}
	if !slices.Equal(got, want) {
		t.Errorf("progress\n%q\nwant\n%q", got, want)
	}
	if len(res.Before) != 2 || len(res.After) != 2 {
		t.Errorf("%d/%d traces", len(res.Before), len(res.After))
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res, err = validation.Run(ctx, validation.Input{Scenario: sc, Before: sim("baseline"), After: sim("alarm-shift"), Ledger: db, Now: now,
		Patch: validation.Patch{ID: "P-2026-001"},
		Progress: func(p validation.Progress) {
			if p.Stage == validation.Running && p.Side == "after" && p.Runner.Step >= 2 {
				cancel()
			}
		}})
	if !errors.Is(err, validation.ErrAborted) || !strings.HasPrefix(err.Error(), "after run 1: ") {
		t.Fatalf("error %v; want after run 1 aborted", err)
	}
	if res == nil || len(res.Before) != 1 || len(res.After) != 1 || res.Record.Verdict != "" || res.Validation != "" {
		t.Fatalf("aborted result %+v; want the two traces and no verdict", res)
	}
	if vs, _ := db.Validations(t.Context(), "P-2026-001"); len(vs) != 0 {
		t.Errorf("an aborted validation was recorded: %+v", vs)
	}
}

// TestTargetErrors: a target that does not answer is the bench's problem (not ErrBadInput);
// a parameter the driver does not know is the caller's, even though only opening the
// target finds it. Either names the run and the target.
func TestTargetErrors(t *testing.T) {
	sc := load(t, "tank-steady-state.yaml")
	for _, tc := range []struct {
		url      string
		badInput bool
		want     string
	}{
		{"modbus://127.0.0.1:1?unit=1&timeout=1s", false, "refused"},
		{"modbus://127.0.0.1:1?unit=1&map=tank", true, `unknown parameter "map"`},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := validation.Run(t.Context(), validation.Input{Scenario: sc, Before: validation.Side{Target: tc.url, Armed: true},
				After: sim("benign"), Repeat: 1, Now: now})
			if err == nil || errors.Is(err, validation.ErrBadInput) != tc.badInput || errors.Is(err, validation.ErrAborted) ||
				!strings.HasPrefix(err.Error(), "before run 1: ") || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v (bad input %v); want bad input %v, naming the run, the target and %q", err, errors.Is(err, validation.ErrBadInput), tc.badInput, tc.want)
			}
		})
	}
}

// TestActor: one rule, the operating system's user name, or "patchgate".
func TestActor(t *testing.T) {
	want := "patchgate"
	if u, err := user.Current(); err == nil && strings.TrimSpace(u.Username) != "" {
		want = strings.TrimSpace(u.Username)
	}
	if got := validation.Actor(); got != want {
		t.Errorf("Actor() = %q, want %q", got, want)
	}
	// the default actor of Run is the same
	db := openLedger(t)
	addPatch(t, db, "P-2026-001", "3.2.0", "3.3.1")
	res, err := validation.Run(t.Context(), validation.Input{Scenario: load(t, "tank-steady-state.yaml"), Before: sim("baseline"), After: sim("alarm-shift"),
		Repeat: 1, Patch: validation.Patch{ID: "P-2026-001"}, Ledger: db, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	audit, _ := db.PatchAudit(t.Context(), "P-2026-001")
	if last := audit[len(audit)-1]; last.Subject != res.Validation || last.Actor != want {
		t.Errorf("recorded by %q, want %q", last.Actor, want)
	}
}

// TestBundleCarriesTheChangeRequest: the bundle of a validation against a patch says what a
// change board needs first, in record.json, report.html and report.pdf alike: the decision
// with the criteria that made it, the patch as the register holds it, who ran it on which
// workstation, the bench's differences from production, the tool and the signer.
func TestBundleCarriesTheChangeRequest(t *testing.T) {
	db := openLedger(t)
	if _, err := db.AddPatch(t.Context(), register.Patch{ID: "P-2026-007", Supplier: "Acme Automation", Product: "TankPLC",
		FromVersion: "3.2.0", ToVersion: "3.3.1", Type: register.Security, CVEs: []string{"CVE-2026-1234"},
		Advisory: "ICSA-26-100-01", FileSHA256: strings.Repeat("ab", 32), SignatureChecked: true, SignatureNote: "by J. Doe with the vendor's key",
		Qualification: register.Qualified, Created: testNow}, "tester"); err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	bundlePath := filepath.Join(t.TempDir(), "e.zip")
	res, err := validation.Run(t.Context(), validation.Input{
		Scenario: load(t, "tank-alarm-trip.yaml"), Before: sim("baseline"), After: sim("alarm-shift"), Repeat: 1,
		Patch: validation.Patch{ID: "P-2026-007"}, Ledger: db, Actor: "jd", Workstation: "bench-laptop-3",
		Bundle: bundlePath, Key: key, Differences: []string{"firmware 3.2.0 on the bench, 3.1.9 in production"}, Now: now, ToolVersion: "9.9.9",
	})
	if err != nil {
		t.Fatal(err)
	}
	cr := res.Record.ChangeRequest
	if cr == nil || cr.Operator != "jd" || cr.Workstation != "bench-laptop-3" || cr.Patch.Advisory != "ICSA-26-100-01" ||
		!cr.Patch.SignatureChecked || cr.Patch.Qualification != "qualified" || len(cr.Differences) != 1 {
		t.Fatalf("change request %+v", cr)
	}
	if d := res.Record.Decision(); !strings.HasPrefix(d, "NO-GO: check:alarm_high_threshold (critical)") || strings.Contains(d, "): ") {
		t.Errorf("decision %q; want the verdict and the criteria that made it, without their reasons", d)
	}
	zr, err := zip.OpenReader(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	read := func(name string) string {
		f, err := zr.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		return string(b)
	}
	html := read("report.html")
	fp := bundle.Fingerprint(key.Public().(ed25519.PublicKey))
	for _, want := range []string{"Change request", "NO-GO: check:alarm_high_threshold (critical)", "Acme Automation TankPLC", "3.2.0 → 3.3.1",
		"CVE-2026-1234", "ICSA-26-100-01", strings.Repeat("ab", 32), "checked by J. Doe with the vendor&#39;s key", "qualified",
		"jd on bench-laptop-3", "firmware 3.2.0 on the bench, 3.1.9 in production", "9.9.9", fp} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html has no %q", want)
		}
	}
	var rec verdict.Record
	if err := json.Unmarshal([]byte(read("record.json")), &rec); err != nil || rec.ChangeRequest == nil || rec.ChangeRequest.Patch.CVEs[0] != "CVE-2026-1234" {
		t.Fatalf("record.json: %v %+v", err, rec.ChangeRequest)
	}
	// the bundle used to be written before the register gave the validation its id
	if res.Validation == "" || rec.ChangeRequest.Validation != res.Validation || cr.Validation != res.Validation {
		t.Errorf("bundle names validation %q, result %q, register %q", rec.ChangeRequest.Validation, cr.Validation, res.Validation)
	}
	if !strings.Contains(html, res.Validation) {
		t.Errorf("report.html does not name validation %s", res.Validation)
	}
	stored, err := db.Validation(t.Context(), res.Validation)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := sha256File(bundlePath)
	if stored.Bundle != bundlePath || stored.BundleSHA256 != sum || stored.Record.BundleSHA256 != sum {
		t.Errorf("register: bundle %q sha256 %q (record's %q), want %q %q", stored.Bundle, stored.BundleSHA256, stored.Record.BundleSHA256, bundlePath, sum)
	}
	// the register holds the record as bundled, and the bundle's hash beside it
	stored.Record.BundleSHA256 = ""
	a, _ := json.Marshal(stored.Record)
	b, _ := json.Marshal(rec)
	if string(a) != string(b) {
		t.Errorf("the register's record differs from the bundle's:\n%s\n%s", a, b)
	}
}

func sha256File(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// TestExportStoredKeepsTheFirstBundle: a stored validation exports with its sign-offs as the
// bundle first written, byte for byte: from the file the register recorded, or rebuilt with
// the same key once the file is gone. Rebuilt with another key, it is signed anew, and says
// so.
func TestExportStoredKeepsTheFirstBundle(t *testing.T) {
	ctx := t.Context()
	db := openLedger(t)
	if _, err := db.AddPatch(ctx, ledger.Patch{ID: "P-2026-008", Supplier: "Acme", Product: "TankPLC", FromVersion: "3.2.0", ToVersion: "3.2.1",
		Type: ledger.Security, Created: testNow}, "tester"); err != nil {
		t.Fatal(err)
	}
	_, bench, _ := ed25519.GenerateKey(rand.Reader)
	_, desk, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	first := filepath.Join(dir, "first.zip")
	res, err := validation.Run(ctx, validation.Input{
		Scenario: load(t, "tank-alarm-trip.yaml"), Before: sim("baseline"), After: sim("benign"), Repeat: 1,
		Patch: validation.Patch{ID: "P-2026-008"}, Ledger: db, Actor: "jd", Bundle: first, Key: bench, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []ledger.SignOff{
		{ValidationID: res.Validation, Name: "J. Doe", Role: ledger.Tester, Decision: ledger.Approve, Time: testNow},
		{ValidationID: res.Validation, Name: "Hans Vogt", Role: ledger.OEMWitness, Decision: ledger.Approve, Time: testNow},
	} {
		if _, err := db.SignOff(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	firstBytes, _ := os.ReadFile(first)
	directory := bytes.Index(firstBytes, []byte("PK\x01\x02"))
	export := func(name string, key ed25519.PrivateKey) (validation.Export, *evidence.Report) {
		t.Helper()
		ex, err := validation.ExportStored(ctx, db, db, validation.ExportInput{Validation: res.Validation, Path: filepath.Join(dir, name), Key: key, Actor: "pm", Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(ex.Path)
		rep, err := evidence.Verify(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.SignOffs == nil || len(rep.SignOffs.SignOffs) != 2 || rep.SignOffs.Fingerprint != bundle.Fingerprint(key.Public().(ed25519.PublicKey)) {
			t.Errorf("%s: sign-offs %+v", name, rep.SignOffs)
		}
		if ex.Original != bytes.Equal(b[:directory], firstBytes[:directory]) {
			t.Errorf("%s: original %v, but the first bundle's files are %v the exported ones", name, ex.Original, map[bool]string{true: "", false: "not"}[!ex.Original])
		}
		return ex, rep
	}
	if ex, _ := export("from-the-file.zip", desk); !ex.Original {
		t.Error("the recorded file was not used")
	}
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	if ex, _ := export("rebuilt.zip", bench); !ex.Original {
		t.Error("rebuilt with the first key, the bundle differs from the first")
	}
	ex, rep := export("signed-anew.zip", desk)
	if ex.Original || rep.Fingerprint != bundle.Fingerprint(desk.Public().(ed25519.PublicKey)) {
		t.Errorf("rebuilt with another key: original %v, signed by %s", ex.Original, rep.Fingerprint)
	}
	if n, err := db.VerifyAudit(ctx); err != nil || n == 0 {
		t.Errorf("audit after three exports: %d rows, %v", n, err)
	}
}
