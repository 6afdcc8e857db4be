package workspace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/trace"
)

// PatchForm is the Add patch dialog's text, as typed.
type PatchForm struct {
	Supplier, Product, From, To, Type, CVEs, Identified string
}

// AddPatch checks the form and enters the patch in the register (state identified).
// Errors are for the dialog: what to fix, in the user's words.
func (w *Workspace) AddPatch(ctx context.Context, f PatchForm) (register.Patch, error) {
	p := register.Patch{
		Supplier: f.Supplier, Product: f.Product, FromVersion: f.From, ToVersion: f.To,
		Type: register.PatchType(f.Type), Created: w.Now(),
	}
	for _, c := range strings.FieldsFunc(f.CVEs, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		p.CVEs = append(p.CVEs, c)
	}
	if s := strings.TrimSpace(f.Identified); s != "" {
		d, err := time.ParseInLocation(time.DateOnly, s, time.Local)
		if err != nil {
			return p, fmt.Errorf("identified %q: expected a date YYYY-MM-DD", s)
		}
		p.Identified = d
	}
	return w.Reg.AddPatch(ctx, p, w.actor)
}

// NextStates lists the states patch p may go to now.
func NextStates(p register.Patch) []register.State { return register.Next(p.State) }

// StateForm is the Change state dialog's input.
type StateForm struct {
	To          register.State
	Plan        string // deferred: the mitigation plan
	Review      string // deferred: its review date, YYYY-MM-DD
	WindowStart string // scheduled: YYYY-MM-DD HH:MM
	WindowEnd   string
	Superseded  string // superseded: by which patch
	Note        string
}

// SetState changes the state of patch id.
func (w *Workspace) SetState(ctx context.Context, id string, f StateForm) (register.Patch, error) {
	d := register.StateDetail{MitigationPlan: f.Plan, SupersededBy: f.Superseded, Note: f.Note, At: w.Now()}
	var err error
	parse := func(what, layout, s string) time.Time {
		s = strings.TrimSpace(s)
		if s == "" || err != nil {
			return time.Time{}
		}
		t, e := time.ParseInLocation(layout, s, time.Local)
		if e != nil {
			err = fmt.Errorf("%s %q: expected %s", what, s, layout)
		}
		return t
	}
	d.ReviewDate = parse("review date", time.DateOnly, f.Review)
	d.WindowStart = parse("window start", "2006-01-02 15:04", f.WindowStart)
	d.WindowEnd = parse("window end", "2006-01-02 15:04", f.WindowEnd)
	if err != nil {
		return register.Patch{}, err
	}
	return w.Reg.SetState(ctx, id, f.To, w.actor, d)
}

// AuditCheck is the outcome of verifying the audit chain.
type AuditCheck struct {
	OK     bool
	Rows   int   // rows that verified
	Broken int64 // the first row that does not (0 when OK)
	Text   string
}

// VerifyAudit recomputes the register's audit chain.
func (w *Workspace) VerifyAudit(ctx context.Context) AuditCheck {
	n, err := w.Reg.VerifyAudit(ctx)
	if err == nil {
		return AuditCheck{OK: true, Rows: n, Text: fmt.Sprintf("audit chain OK: %d rows verify", n)}
	}
	c := AuditCheck{Rows: n, Text: "audit chain BROKEN: " + err.Error()}
	var ae *register.AuditError
	if errors.As(err, &ae) {
		c.Broken = ae.Seq
	}
	return c
}

// Audit returns the last n rows of the audit trail, oldest first.
func (w *Workspace) Audit(ctx context.Context, n int) ([]register.AuditRow, error) {
	return w.Reg.Audit(ctx, n)
}

// StoredRuns lists the recent finished runs of scenario (any when ""), newest first.
func (w *Workspace) StoredRuns(ctx context.Context, scenario string, limit int) ([]trace.Run, error) {
	return w.DB.Runs(ctx, ledger.RunFilter{Scenario: scenario, Status: trace.Completed, Limit: limit})
}

// RunLabel is how a stored run is named in a select: "run 12 · modbus://… · 2026-03-20 11:02".
func RunLabel(r trace.Run) string {
	return fmt.Sprintf("run %d · %s · %s", r.ID, r.Target, r.Started.Local().Format("2006-01-02 15:04"))
}
