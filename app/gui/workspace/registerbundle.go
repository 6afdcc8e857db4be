package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/evidence"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/validation"
)

// Evidence bundles of validations stored in the register: the Register tab exports and
// verifies them long after the run, from what the register keeps: the record, the runs'
// traces, and the scenario and point map texts as run (for validations recorded before the
// register kept texts, the shipped scenario the record names).

// Bundles lists the evidence bundles of validation id in the workspace's bundles folder
// (Export names them "ID-scenario-time.zip"), oldest first.
func (w *Workspace) Bundles(id string) []string {
	if id == "" || strings.ContainsAny(id, `*?[\/`) {
		return nil
	}
	m, _ := filepath.Glob(filepath.Join(w.Dir, "bundles", id+"-*.zip"))
	slices.Sort(m) // same scenario, then the export time
	return m
}

// ErrNotExportable: a stored validation whose bundle cannot be rebuilt from the register.
var ErrNotExportable = validation.ErrNotExportable

// StoredResult rebuilds the Result of validation id from the register (validation.Stored):
// its record, the traces of its runs, and the scenario and point map texts it ran. A
// validation recorded before the register kept texts falls back to the shipped scenario the
// record names; one that is not shipped, or whose shipped file is not the one the record
// names by SHA-256, gives ErrNotExportable. It reads SQLite: call it off the UI goroutine.
func (w *Workspace) StoredResult(ctx context.Context, id string) (*Result, error) {
	res, err := validation.Stored(ctx, w.Reg, w.DB, id, shippedScenario)
	if err != nil {
		return nil, err
	}
	return &Result{Scenario: res.Scenario, Record: res.Record, Before: res.Before, After: res.After, Validation: res.Validation}, nil
}

// ExportValidation writes the signed evidence bundle of stored validation id into the
// bundles folder with its sign-offs so far (validation.ExportStored, the same export as
// `patchgate register export`), records the export in the register's audit trail, and
// returns the path and the bundle's SHA-256.
func (w *Workspace) ExportValidation(ctx context.Context, id string) (path, sum string, err error) {
	v, err := w.Reg.Validation(ctx, id)
	if err != nil {
		return "", "", err
	}
	key, _, err := bundle.LoadOrCreateKey(w.KeyDir())
	if err != nil {
		return "", "", fmt.Errorf("signing key in %s: %w", w.KeyDir(), err)
	}
	dir := filepath.Join(w.Dir, "bundles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	now := w.Now()
	path = filepath.Join(dir, fmt.Sprintf("%s-%s-%s.zip", id, strings.TrimSuffix(filepath.Base(v.Scenario), ".yaml"), now.UTC().Format("20060102-150405")))
	ex, err := validation.ExportStored(ctx, w.Reg, w.DB, validation.ExportInput{Validation: id, Path: path, Key: key, Actor: w.actor, Now: now, Find: shippedScenario})
	if err != nil {
		return "", "", err
	}
	return ex.Path, ex.SHA256, nil
}

// RecordExport records in the register's audit trail that this workspace's actor exported
// bundle path (SHA-256 sum) of validation id.
func (w *Workspace) RecordExport(ctx context.Context, id, path, sum string) error {
	return w.Reg.RecordBundle(ctx, id, path, sum, w.actor, w.Now())
}

// shippedScenario finds the shipped scenario a record names: by its SHA-256 when the record
// has one, else by name (the scenario's name or its file name).
func shippedScenario(name, sum string) (*Loaded, error) {
	var named *Loaded
	for _, s := range Scenarios() {
		h := sha256.Sum256(s.Data)
		if sum != "" && hex.EncodeToString(h[:]) == sum {
			return LoadScenario(s.Name)
		}
		l, err := ParseScenario(s.Name, s.Data)
		if err == nil && (l.Name == name || s.Name == name) && named == nil {
			named = l
		}
	}
	switch {
	case named == nil:
		return nil, fmt.Errorf("%w: it ran scenario %s, which is not a shipped scenario; export its bundle from the Validate tab right after the run", ErrNotExportable, name)
	case sum != "":
		return nil, fmt.Errorf("%w: it ran scenario %s with SHA-256 %s…; the shipped file is %s… (changed since the run)", ErrNotExportable, name, sum[:min(12, len(sum))], named.SHA256[:12])
	}
	return named, nil
}

// BundleCheck is the outcome of verifying the newest bundle of a validation.
type BundleCheck struct {
	OK     bool
	Path   string
	Report *evidence.Report
	// Export is the audit row that recorded the export of this very file (same SHA-256);
	// nil when the register has none (exported before exports were recorded, or copied in).
	Export *register.AuditRow
	Text   string
}

// VerifyValidation verifies the newest evidence bundle of validation id offline: every
// byte as signed, and the record inside it is this validation's (verdict, scenario, runs).
// It also looks the file's SHA-256 up in the register's record of exports.
func (w *Workspace) VerifyValidation(ctx context.Context, id string) BundleCheck {
	fail := func(c BundleCheck, format string, args ...any) BundleCheck {
		c.Text = "verify FAILED: " + fmt.Sprintf(format, args...)
		return c
	}
	var c BundleCheck
	v, err := w.Reg.Validation(ctx, id)
	if err != nil {
		return fail(c, "%v", err)
	}
	bs := w.Bundles(id)
	if len(bs) == 0 {
		return fail(c, "no evidence bundle of %s in %s: export one first", id, filepath.Join(w.Dir, "bundles"))
	}
	c.Path = bs[len(bs)-1]
	name := filepath.Base(c.Path)
	if c.Report, err = w.Verify(c.Path); err != nil {
		return fail(c, "%s: %v", name, err)
	}
	r := c.Report.Record
	if r.Verdict != v.Verdict || r.Scenario != v.Scenario || !slices.Equal(r.BeforeRuns, v.BeforeRuns) || !slices.Equal(r.AfterRuns, v.AfterRuns) {
		return fail(c, "%s is intact but not the record of %s: it holds %s %s, runs %v / %v; the register has %s %s, runs %v / %v",
			name, id, r.Scenario, r.Verdict, r.BeforeRuns, r.AfterRuns, v.Scenario, v.Verdict, v.BeforeRuns, v.AfterRuns)
	}
	sum, err := fileSHA256(c.Path)
	if err != nil {
		return fail(c, "%v", err)
	}
	rows, err := w.Reg.PatchAudit(ctx, v.PatchID)
	if err != nil {
		return fail(c, "%v", err)
	}
	for i := len(rows) - 1; i >= 0; i-- {
		var d register.BundleExport
		if rows[i].Action == register.ActionBundleExported && rows[i].Subject == id &&
			json.Unmarshal(rows[i].Detail, &d) == nil && d.SHA256 == sum {
			c.Export = &rows[i]
			break
		}
	}
	c.OK = true
	c.Text = fmt.Sprintf("verify OK: %s, %s, %d files signed by %s", name, r.Verdict, c.Report.Files, c.Report.Fingerprint)
	if c.Export != nil {
		c.Text += fmt.Sprintf("; the file exported by %s on %s (sha256 %s…)", c.Export.Actor, c.Export.Time.Local().Format("2006-01-02 15:04"), sum[:12])
	} else {
		c.Text += "; its export is not recorded in the register"
	}
	if so := c.Report.SignOffs; so != nil {
		var names []string
		for _, s := range so.SignOffs {
			names = append(names, fmt.Sprintf("%s %s (%s)", s.Name, s.Decision, s.Role))
		}
		if len(names) == 0 {
			names = []string{"none yet"}
		}
		c.Text += fmt.Sprintf("\nsign-offs in the bundle (addendum signed by %s): %s", so.Fingerprint, strings.Join(names, ", "))
	}
	return c
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
