package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/harness/evidence"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/trace"
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

// ErrNotExportable: a stored validation whose bundle cannot be rebuilt from the register
// (recorded before the register kept texts, and its scenario is not shipped, or not the
// file it ran).
var ErrNotExportable = errors.New("cannot rebuild the evidence bundle from the register")

// StoredResult rebuilds the Result of validation id from the register: its record, the
// traces of its runs, and the scenario and point map texts it ran, whatever became of the
// files since. A validation recorded before the register kept texts falls back to the
// shipped scenario the record names; one that is not shipped, or whose shipped file is not
// the one the record names by SHA-256, gives ErrNotExportable. It reads SQLite: call it off
// the UI goroutine.
func (w *Workspace) StoredResult(ctx context.Context, id string) (*Result, error) {
	v, err := w.Reg.Validation(ctx, id)
	if err != nil {
		return nil, err
	}
	var sc *Loaded
	if v.ScenarioFile.Data != nil {
		sc, err = validation.Parse(v.ScenarioFile.Name, v.ScenarioFile.Data, func(string) (string, []byte, error) {
			if v.PointMapFile.Data == nil {
				return "", nil, errors.New("the register holds no point map text")
			}
			return v.PointMapFile.Name, v.PointMapFile.Data, nil
		})
		if err != nil {
			err = fmt.Errorf("%w: the scenario as run no longer compiles: %w", ErrNotExportable, err)
		}
	} else {
		sc, err = shippedScenario(v.Scenario, v.Record.ScenarioSHA256)
	}
	if err != nil {
		return nil, fmt.Errorf("validation %s: %w", id, err)
	}
	res := &Result{Scenario: sc, Record: v.Record, Validation: v.ID}
	// the change request names the validation now that the register holds it; a record
	// from before change requests gets one from the register (its operator unknown)
	cr := res.Record.ChangeRequest
	if cr == nil {
		p, err := w.Reg.Patch(ctx, v.PatchID)
		if err != nil {
			return nil, fmt.Errorf("validation %s: %w", id, err)
		}
		cr = validation.ChangeRequestOf(p, "", "", "", v.Differences)
	}
	c := *cr
	c.Validation = v.ID
	res.Record.ChangeRequest = &c
	for _, side := range []struct {
		name string
		ids  []int64
		out  *[]*trace.Trace
	}{{"before", v.BeforeRuns, &res.Before}, {"after", v.AfterRuns, &res.After}} {
		for _, rid := range side.ids {
			tr, err := w.DB.LoadTrace(ctx, rid)
			if err != nil {
				return nil, fmt.Errorf("validation %s: %s run %d: %w", id, side.name, rid, err)
			}
			*side.out = append(*side.out, tr)
		}
	}
	return res, nil
}

// ExportValidation writes the signed evidence bundle of stored validation id into the
// bundles folder, records the export in the register's audit trail, and returns the path
// and the bundle's SHA-256.
func (w *Workspace) ExportValidation(ctx context.Context, id string) (path, sum string, err error) {
	res, err := w.StoredResult(ctx, id)
	if err != nil {
		return "", "", err
	}
	if path, sum, err = w.Export(res); err != nil {
		return "", "", err
	}
	if err := w.RecordExport(ctx, id, path, sum); err != nil {
		return path, sum, fmt.Errorf("bundle %s written, but its export is not in the register: %w", filepath.Base(path), err)
	}
	return path, sum, nil
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
