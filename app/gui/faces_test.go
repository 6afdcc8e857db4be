package gui

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/patchgate/patchgate/app/cli"
	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/harness/verdict"
)

// facePatch enters the same patch in a register, as either face's register would hold it.
func facePatch(t *testing.T, db *ledger.DB, id, from, to string) {
	t.Helper()
	if _, err := db.AddPatch(t.Context(), register.Patch{ID: id, Supplier: "Simulated Controls", Product: "Tank controller",
		FromVersion: from, ToVersion: to, Type: register.Security, Identified: fixedNow, Created: fixedNow}, "bench-engineer"); err != nil {
		t.Fatal(err)
	}
}

// cliValidate runs `patchgate validate --json` on the register file db with the clock at
// fixedNow, and returns the exit code and the record it printed.
func cliValidate(t *testing.T, db string, args ...string) (int, verdict.Record) {
	t.Helper()
	var o, e bytes.Buffer
	env := cli.Env{Stdout: &o, Stderr: &e, Now: func() time.Time { return fixedNow }}
	code := cli.Main(context.Background(), env, append([]string{"validate", "--json", "--db", db}, args...))
	var rec verdict.Record
	if err := json.Unmarshal(o.Bytes(), &rec); err != nil {
		t.Fatalf("CLI: exit %d, %v: %s %s", code, err, o.String(), e.String())
	}
	return code, rec
}

// lastAudit is the newest audit row of patch id in the register file db.
func lastAudit(t *testing.T, db *ledger.DB, id string) register.AuditRow {
	t.Helper()
	rows, err := db.PatchAudit(t.Context(), id)
	if err != nil || len(rows) == 0 {
		t.Fatalf("audit of %s: %d rows, %v", id, len(rows), err)
	}
	return rows[len(rows)-1]
}

// TestFacesRecordTheSameValidation: the CLI's validate and the desktop's Validate tab, given
// the same scenario, the same sim:// targets on simulated time with the same seed, the same
// patch in a fresh register, the same clock and the same actor, record the same validation:
// the record field by field, the register entry (its id, the SHA-256 of the record as
// stored) and its audit row. Run ids are compared too: each face starts from a fresh
// register, so both number the runs 1 to 4. A patch whose to-version is not what the after
// device runs fails identity:firmware in both faces: the desktop checks the register's
// versions as the CLI does.
func TestFacesRecordTheSameValidation(t *testing.T) {
	cases := []struct {
		name, from, to, after string
		verdict               verdict.Outcome
		firmware              verdict.Status
	}{
		{"patch as applied", "3.2.0", "3.2.1", "benign", verdict.Go, verdict.Pass},
		{"another version than the patch installs", "3.2.0", "3.3.0", "benign", verdict.NoGo, verdict.Fail},
		{"another version than the patch applies to", "3.1.9", "3.2.1", "benign", verdict.NoGo, verdict.Fail},
		{"a regression", "3.2.0", "3.3.1", "alarm-shift", verdict.NoGo, verdict.Pass},
	}
	const id = "P-2026-001"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := "sim://tank?firmware=baseline&seed=7&time=simulated"
			after := "sim://tank?firmware=" + tc.after + "&seed=7&time=simulated"

			h := newHarness(t) // a fresh workspace register, the clock at fixedNow, actor bench-engineer
			facePatch(t, h.ws.DB, id, tc.from, tc.to)
			v := h.ui.Validate
			v.reloadPatches()
			v.patch.SetSelected(id)
			v.scenario.SetSelected("tank-alarm-trip.yaml")
			v.repeat.SetText("2")
			h.runValidation(before, after, 2*time.Minute)
			if v.result == nil {
				t.Fatalf("desktop: %s", v.step.Text)
			}

			cliDB := filepath.Join(t.TempDir(), "cli.db")
			db, err := ledger.Open(t.Context(), cliDB)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			facePatch(t, db, id, tc.from, tc.to)
			_, got := cliValidate(t, cliDB, "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--before", before, "--after", after,
				"--repeat", "2", "--patch", id, "--actor", "bench-engineer")

			// the desktop's record as the register stores it (JSON), as the CLI printed it
			var desk verdict.Record
			b, _ := json.Marshal(v.result.Record)
			json.Unmarshal(b, &desk)
			dv, cv := reflect.ValueOf(desk), reflect.ValueOf(got)
			for i := range dv.NumField() {
				if f := dv.Type().Field(i).Name; !reflect.DeepEqual(dv.Field(i).Interface(), cv.Field(i).Interface()) {
					t.Errorf("record field %s: desktop %+v, CLI %+v", f, dv.Field(i).Interface(), cv.Field(i).Interface())
				}
			}
			if got.Verdict != tc.verdict || criterionStatus(got, "identity:firmware") != tc.firmware {
				t.Errorf("verdict %s, identity:firmware %s; want %s, %s (%v)", got.Verdict, criterionStatus(got, "identity:firmware"), tc.verdict, tc.firmware, got.Reasons)
			}
			if got.Decided != "2026-03-20T12:00:00Z" || len(got.BeforeRuns) != 2 || got.AfterRuns[1] != 4 {
				t.Errorf("decided %s, runs %v / %v", got.Decided, got.BeforeRuns, got.AfterRuns)
			}

			// the register entries and their audit rows
			dval, err := h.ws.DB.Validation(t.Context(), v.result.Validation)
			if err != nil {
				t.Fatal(err)
			}
			cvals, err := db.Validations(t.Context(), id)
			if err != nil || len(cvals) != 1 {
				t.Fatalf("CLI register: %d validations, %v", len(cvals), err)
			}
			cval := cvals[0]
			if dval.ID != cval.ID || dval.RecordSHA256 != cval.RecordSHA256 || !dval.Created.Equal(cval.Created) || dval.Verdict != cval.Verdict {
				t.Errorf("register entries differ: desktop %s %s %s %s, CLI %s %s %s %s", dval.ID, dval.RecordSHA256, dval.Created, dval.Verdict,
					cval.ID, cval.RecordSHA256, cval.Created, cval.Verdict)
			}
			da, ca := lastAudit(t, h.ws.DB, id), lastAudit(t, db, id)
			if da.Action != register.ActionValidationRecorded || da.Actor != "bench-engineer" || da.Actor != ca.Actor ||
				da.Subject != ca.Subject || !da.Time.Equal(ca.Time) || !bytes.Equal(da.Detail, ca.Detail) {
				t.Errorf("audit rows differ:\ndesktop %s %s %s %s %s\nCLI     %s %s %s %s %s", da.Action, da.Actor, da.Subject, da.Time, da.Detail,
					ca.Action, ca.Actor, ca.Subject, ca.Time, ca.Detail)
			}
		})
	}
}

func criterionStatus(rec verdict.Record, id string) verdict.Status {
	for _, c := range rec.Criteria {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

// TestFacesRecordTheSameActor: told nothing, both faces record the operating system's user
// (validation.Actor) as who recorded the validation, and the desktop's register edits too.
func TestFacesRecordTheSameActor(t *testing.T) {
	ctx := t.Context()
	ws, err := workspace.Open(ctx, workspace.Config{Dir: t.TempDir(), Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	res, err := ws.Validate(ctx, workspace.Request{Scenario: "tank-alarm-trip.yaml", Patch: workspace.DemoPatchID, Repeat: 1,
		Before: "sim://tank?firmware=baseline&time=simulated", After: "sim://tank?firmware=alarm-shift&time=simulated"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cliDB := filepath.Join(t.TempDir(), "cli.db")
	db, err := ledger.Open(ctx, cliDB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	facePatch(t, db, "P-2026-001", "3.2.0", "3.3.1")
	if code, _ := cliValidate(t, cliDB, "--scenario", "../../scenarios/tank-alarm-trip.yaml", "--fast", "--repeat", "1",
		"--before", "sim://tank", "--after", "sim://tank?firmware=alarm-shift", "--patch", "P-2026-001"); code != cli.ExitNoGo {
		t.Fatalf("CLI exit %d", code)
	}
	want := validation.Actor()
	da, ca := lastAudit(t, ws.DB, workspace.DemoPatchID), lastAudit(t, db, "P-2026-001")
	if da.Subject != res.Validation || da.Actor != want || ca.Actor != want || ws.Actor() != want {
		t.Errorf("validation recorded by %q on the desktop (workspace actor %q), %q by the CLI; want %q", da.Actor, ws.Actor(), ca.Actor, want)
	}
	seeded, err := ws.DB.PatchAudit(ctx, workspace.DemoPatchID)
	if err != nil || seeded[0].Actor != want {
		t.Errorf("the demo patch entered by %q (%v), want %q", seeded[0].Actor, err, want)
	}
}
