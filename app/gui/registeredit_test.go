package gui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

func TestAddPatch(t *testing.T) {
	h := newHarness(t)
	h.selectTab("Register")
	r := h.ui.Register
	test.Tap(r.addPatch)
	d := r.patchDlg
	if d == nil {
		t.Fatal("no Add patch dialog")
	}
	// validation errors stay in the dialog
	test.Tap(d.add)
	h.settle()
	if r.patchDlg == nil || !strings.Contains(d.err.Text, "supplier and product") {
		t.Fatalf("empty form: dialog open %v, error %q", r.patchDlg != nil, d.err.Text)
	}
	d.supplier.SetText("Acme Automation")
	d.product.SetText("PLC-9 CPU")
	d.from.SetText("2.1.0")
	d.to.SetText("2.1.4")
	d.cves.SetText("CVE-2026-12, cve-2026-4711")
	test.Tap(d.add)
	h.settle()
	if r.patchDlg == nil || !strings.Contains(d.err.Text, "CVE") {
		t.Fatalf("bad CVE: dialog open %v, error %q", r.patchDlg != nil, d.err.Text)
	}
	d.cves.SetText("CVE-2026-1234, cve-2026-4711")
	d.ident.SetText("20.03.2026")
	test.Tap(d.add)
	h.settle()
	if r.patchDlg == nil || !strings.Contains(d.err.Text, "YYYY-MM-DD") {
		t.Fatalf("bad date: error %q", d.err.Text)
	}
	d.ident.SetText("2026-03-18")
	test.Tap(d.add)
	h.settle()
	if r.patchDlg != nil {
		t.Fatalf("dialog still open: %q", d.err.Text)
	}
	i := slices.IndexFunc(r.patches, func(p register.Patch) bool { return p.Product == "PLC-9 CPU" })
	if i < 0 {
		t.Fatalf("new patch not in the list: %v", r.patches)
	}
	p := r.patches[i]
	if p.State != register.StateIdentified || !slices.Equal(p.CVEs, []string{"CVE-2026-1234", "CVE-2026-4711"}) || r.patchSel != i {
		t.Errorf("added patch %+v (selected %d)", p, r.patchSel)
	}
	if !slices.Contains(h.ui.Validate.patch.Options, p.ID) {
		t.Errorf("Validate tab does not offer %s", p.ID)
	}
}

func TestChangeStateOffersOnlyAllowed(t *testing.T) {
	h := newHarness(t)
	h.selectTab("Register")
	r := h.ui.Register
	r.patchList.Select(0) // the demo patch, in_test
	test.Tap(r.changeState)
	d := r.stateDlg
	if d == nil {
		t.Fatal("no Change state dialog")
	}
	got := d.stateChoices()
	want := []string{"go", "no_go", "deferred", "superseded"}
	if !slices.Equal(got, want) {
		t.Fatalf("offered %v, want %v", got, want)
	}
	for _, illegal := range []string{"closed", "deployed", "scheduled", "identified"} {
		if slices.Contains(got, illegal) {
			t.Errorf("illegal state %s offered from in_test", illegal)
		}
	}
	// deferred needs a dated plan; its fields appear
	d.state.SetSelected("deferred")
	if len(d.form.Items) != 5 {
		t.Fatalf("deferred form has %d items, want patch, state, plan, review, note", len(d.form.Items))
	}
	test.Tap(d.apply)
	h.settle()
	if r.stateDlg == nil || !strings.Contains(d.err.Text, "mitigation plan") {
		t.Fatalf("deferred without plan: error %q", d.err.Text)
	}
	d.plan.SetText("network segmentation and a weekly log review")
	d.review.SetText(fixedNow.AddDate(0, 1, 0).Format("2006-01-02"))
	test.Tap(d.apply)
	h.settle()
	if r.stateDlg != nil {
		t.Fatalf("dialog still open: %q", d.err.Text)
	}
	if p := r.patches[r.patchSel]; p.State != register.StateDeferred || p.MitigationPlan == "" {
		t.Errorf("patch after change: %s, plan %q", p.State, p.MitigationPlan)
	}
	// scheduled from deferred asks for the window
	test.Tap(r.changeState)
	d = r.stateDlg
	d.state.SetSelected("scheduled")
	d.start.SetText("2026-04-02 06:00")
	d.end.SetText("2026-04-02 05:00")
	test.Tap(d.apply)
	h.settle()
	if r.stateDlg == nil || !strings.Contains(d.err.Text, "window") {
		t.Fatalf("window backwards: error %q", d.err.Text)
	}
	d.end.SetText("2026-04-02 08:00")
	test.Tap(d.apply)
	h.settle()
	if p := r.patches[r.patchSel]; p.State != register.StateScheduled || p.WindowStart.IsZero() {
		t.Errorf("patch after scheduling: %s, window %v", p.State, p.WindowStart)
	}
}

func TestAuditVerify(t *testing.T) {
	h := newHarness(t)
	h.selectTab("Register")
	a := h.ui.Register.audit
	if len(a.rows) < 3 { // the demo patch: added, applicable, in_test
		t.Fatalf("audit shows %d rows", len(a.rows))
	}
	if a.rows[len(a.rows)-1].Action != register.ActionStateChanged {
		t.Errorf("last audit row %+v", a.rows[len(a.rows)-1])
	}
	test.Tap(a.verify)
	h.settle()
	if !strings.HasPrefix(a.result.Text, "audit chain OK") || a.broken != 0 {
		t.Errorf("verify: %q", a.result.Text)
	}
}

func TestStoredBaseline(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	v.scenario.SetSelected(DefaultScenario)
	v.patch.SetSelected(noPatch)
	h.runValidation("sim://tank?firmware=baseline&time=simulated", "sim://tank?firmware=benign&time=simulated", 2*time.Minute)
	if v.result == nil {
		t.Fatalf("first validation: %s", v.step.Text)
	}
	baseline := v.result.Record.BeforeRuns[0]
	if len(v.runs) == 0 {
		t.Fatal("no stored runs offered after a validation")
	}
	i := slices.IndexFunc(v.runs, func(r trace.Run) bool { return r.ID == baseline })
	if i < 0 {
		t.Fatalf("baseline run %d not offered: %v", baseline, v.stored.Options)
	}
	v.stored.SetSelectedIndex(i + 1)
	if !v.before.Disabled() {
		t.Error("before target still editable with a stored run chosen")
	}
	v.patch.SetSelected(workspace.DemoPatchID)
	h.selectTab("Validate")
	v.after.SetText("sim://tank?firmware=alarm-shift&time=simulated")
	test.Tap(v.run)
	h.waitFor("the verdict", 2*time.Minute, func() bool { return v.cancel == nil })
	if v.result == nil {
		t.Fatalf("stored-run validation: %s", v.step.Text)
	}
	rec := v.result.Record
	if !slices.Equal(rec.BeforeRuns, []int64{baseline}) || len(rec.AfterRuns) == 0 || rec.AfterRuns[0] <= baseline {
		t.Errorf("before runs %v, after runs %v; want the stored baseline %d and new after runs", rec.BeforeRuns, rec.AfterRuns, baseline)
	}
	if rec.Verdict != verdict.NoGo {
		t.Errorf("verdict %s, want NO-GO (alarm-shift against the stored baseline)", rec.Verdict)
	}
	if v.result.Validation == "" {
		t.Error("not recorded in the register")
	}
}
