package ledger

import (
	"bytes"
	"errors"
	"github.com/patchgate/patchgate/harness/register"
	"testing"

	"github.com/patchgate/patchgate/harness/verdict"
)

// TestValidationTexts: a validation keeps the scenario and point map texts it ran, each text
// stored once however many validations ran it; a text that is not the record's scenario, or
// a name without a text, is refused; the register's verification still holds.
func TestValidationTexts(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	addPatch(t, db, "P-1")
	scen, pm := []byte("version: 1\nname: tank-alarms\n"), []byte("version: 1\nname: tank\n")
	with := func(s []byte) Validation {
		v := newValidation("P-1", verdict.NoGo)
		v.Record.ScenarioSHA256 = register.SHA256Hex(s)
		v.ScenarioFile = File{Name: "tank-alarms.yaml", Data: s}
		v.PointMapFile = File{Name: "tank.yaml", Data: pm}
		return v
	}
	var ids []string
	for range 2 {
		v, err := db.RecordValidation(ctx, with(scen), "jd")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	bare, err := db.RecordValidation(ctx, newValidation("P-1", verdict.Go), "jd") // no texts: as before migration 3
	if err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db, path)
	for _, id := range ids {
		v, err := db.Validation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.ScenarioFile.Name != "tank-alarms.yaml" || !bytes.Equal(v.ScenarioFile.Data, scen) ||
			v.PointMapFile.Name != "tank.yaml" || !bytes.Equal(v.PointMapFile.Data, pm) {
			t.Errorf("%s: texts %q %q, %q %q", id, v.ScenarioFile.Name, v.ScenarioFile.Data, v.PointMapFile.Name, v.PointMapFile.Data)
		}
	}
	if v, err := db.Validation(ctx, bare.ID); err != nil || v.ScenarioFile.Data != nil || v.PointMapFile.Name != "" {
		t.Errorf("validation without texts: %+v %+v, %v", v.ScenarioFile, v.PointMapFile, err)
	}
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM texts`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d texts stored (%v), want 2: each once", n, err)
	}
	for name, v := range map[string]Validation{
		"another scenario's text": func() Validation { v := with(scen); v.ScenarioFile.Data = []byte("edited"); return v }(),
		"a name without a text":   func() Validation { v := with(scen); v.PointMapFile.Data = nil; return v }(),
		"a text without a name":   func() Validation { v := with(scen); v.PointMapFile.Name = ""; return v }(),
		"a name with a folder":    func() Validation { v := with(scen); v.ScenarioFile.Name = "../x.yaml"; return v }(),
	} {
		if _, err := db.RecordValidation(ctx, v, "jd"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE texts SET data = 'x'`); err == nil {
		t.Error("a stored text was changed")
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM texts`); err == nil {
		t.Error("a stored text was deleted")
	}
	verifyIntact(t, db, 4) // the patch and three validations
}

// TestUpgradeKeepsValidations: a register of schema 2 with a validation in it opens at the
// current schema; the validation reads back, without texts, and new ones keep theirs.
func TestUpgradeKeepsValidations(t *testing.T) {
	ctx := t.Context()
	all := migrations
	migrations = all[:2]
	db, path := openTemp(t)
	migrations = all
	addPatch(t, db, "P-1")
	if _, err := db.w.ExecContext(ctx, `INSERT INTO validations (id, patch_id, scenario, before_runs,
		after_runs, record, record_sha256, verdict, created_ns) VALUES ('V-2026-001', 'P-1', 'tank', '[1]', '[2]',
		'{"verdict":"GO"}', ?, 'GO', 1)`, register.SHA256Hex(nil)); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db, path)
	if v, err := db.Version(ctx); err != nil || v != SchemaVersion() {
		t.Fatalf("upgraded file at version %d, %v; want %d", v, err, SchemaVersion())
	}
	old, err := db.Validation(ctx, "V-2026-001")
	if err != nil || old.Verdict != verdict.Go || old.ScenarioFile.Data != nil {
		t.Fatalf("the old validation: %+v, %v", old, err)
	}
	v := newValidation("P-1", verdict.NoGo)
	v.ScenarioFile = File{Name: "s.yaml", Data: []byte("s")}
	if v, err = db.RecordValidation(ctx, v, "jd"); err != nil {
		t.Fatal(err)
	}
	if v, err = db.Validation(ctx, v.ID); err != nil || string(v.ScenarioFile.Data) != "s" {
		t.Errorf("new validation after the upgrade: %+v, %v", v.ScenarioFile, err)
	}
}
