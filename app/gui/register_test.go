package gui

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/verdict"
)

// settle runs queued UI work until the Register tab has no register work in flight.
func (h *harness) settle() {
	h.t.Helper()
	h.waitFor("the register", time.Minute, func() bool { return h.ui.Register.busy == 0 })
}

// recordValidation enters a validation of the demo patch straight in the register (no
// runs: for sign-off tests, which do not need traces).
func (h *harness) recordValidation(o verdict.Outcome) register.Validation {
	h.t.Helper()
	v, err := h.ws.DB.RecordValidation(context.Background(), register.Validation{PatchID: workspace.DemoPatchID,
		Record: verdict.Record{Verdict: o, Scenario: "tank-alarm-trip"}, Created: fixedNow}, "bench-engineer")
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// openSignOff opens the sign-off dialog on the selected validation.
func (h *harness) openSignOff() *signOffDialog {
	h.t.Helper()
	r := h.ui.Register
	if r.signOff.Disabled() {
		h.t.Fatalf("Sign off disabled (selected validation %d of %d)", r.valSel, len(r.vals))
	}
	test.Tap(r.signOff)
	if r.dialog == nil {
		h.t.Fatal("no sign-off dialog")
	}
	return r.dialog
}

// lineColor is the colour of the row's segment that contains text.
func lineColor(r validationRow, text string) fyne.ThemeColorName {
	for _, s := range r.segments() {
		if t, ok := s.(*widget.TextSegment); ok && strings.Contains(t.Text, text) {
			return t.Style.ColorName
		}
	}
	return ""
}

// TestSignOffAcceptRiskNeedsRationale: accept_risk is labelled as overriding the computed
// verdict, Sign stays disabled without a rationale, and the signed row shows the accepted
// risk distinctly while the computed verdict stays.
func TestSignOffAcceptRiskNeedsRationale(t *testing.T) {
	h := newHarness(t)
	val := h.recordValidation(verdict.NoGo)
	h.selectTab("Register")
	r := h.ui.Register
	if len(r.vals) != 1 || r.Computed() != "NO-GO" {
		t.Fatalf("register shows %d validations, computed %q", len(r.vals), r.Computed())
	}
	d := h.openSignOff()
	if d.sign.Disabled() || d.override.Visible() || d.err.Text != "" {
		t.Fatalf("approve: sign disabled %v, override shown %v, error %q", d.sign.Disabled(), d.override.Visible(), d.err.Text)
	}
	if !slices.Equal(d.decision.Options, []string{"approve", "reject", "accept_risk"}) {
		t.Errorf("decisions on NO-GO: %v", d.decision.Options)
	}
	d.decision.SetSelected("accept_risk")
	if !d.sign.Disabled() || !d.override.Visible() || !strings.Contains(d.err.Text, "accept_risk needs a rationale") {
		t.Fatalf("accept_risk without rationale: sign disabled %v, override shown %v, error %q", d.sign.Disabled(), d.override.Visible(), d.err.Text)
	}
	if !strings.Contains(d.override.Text, "overrides the computed NO-GO") || !strings.Contains(d.override.Text, "keeps its computed verdict NO-GO") {
		t.Errorf("override label %q", d.override.Text)
	}
	d.rationale.SetText("   \n ")
	test.Tap(d.sign) // disabled: nothing happens
	if !d.sign.Disabled() || r.dialog == nil || r.busy != 0 {
		t.Fatalf("blank rationale: sign disabled %v, dialog open %v, work %d", d.sign.Disabled(), r.dialog != nil, r.busy)
	}
	d.decision.SetSelected("reject")
	if !d.sign.Disabled() || d.override.Visible() || !strings.Contains(d.err.Text, "reject needs a rationale") {
		t.Errorf("reject without rationale: sign disabled %v, override shown %v, error %q", d.sign.Disabled(), d.override.Visible(), d.err.Text)
	}
	d.decision.SetSelected("accept_risk")
	d.name.SetText(" ")
	d.rationale.SetText("alarm 2 % early is inside the process margin")
	if !d.sign.Disabled() || !strings.Contains(d.err.Text, "name") {
		t.Errorf("no name: sign disabled %v, error %q", d.sign.Disabled(), d.err.Text)
	}
	d.name.SetText("Ann Lee")
	d.role.SetSelected("approver")
	if d.sign.Disabled() || d.err.Text != "" || d.party.Text != "signs for the asset owner" {
		t.Fatalf("complete: sign disabled %v, error %q, party %q", d.sign.Disabled(), d.err.Text, d.party.Text)
	}
	test.Tap(d.sign)
	h.settle()
	if r.dialog != nil {
		t.Fatalf("dialog still open: %q", d.err.Text)
	}
	row := r.vals[0]
	if len(row.signOffs) != 1 || row.signOffs[0].Decision != register.AcceptRisk || row.Verdict != verdict.NoGo || r.Computed() != "NO-GO" {
		t.Fatalf("row after accept_risk: verdict %s, sign-offs %+v", row.Verdict, row.signOffs)
	}
	if got, err := h.ws.DB.Validation(context.Background(), val.ID); err != nil || got.Verdict != verdict.NoGo {
		t.Errorf("stored verdict %s (%v), want NO-GO unchanged", got.Verdict, err)
	}
	text := row.String()
	for _, want := range []string{"computed NO-GO", "ACCEPTED RISK (overrides computed NO-GO) by Ann Lee (approver, asset owner)",
		"inside the process margin", "fully signed by the asset owner (approver Ann Lee); no OEM witness; risk accepted"} {
		if !strings.Contains(text, want) {
			t.Errorf("row %q does not say %q", text, want)
		}
	}
	if c := lineColor(row, "ACCEPTED RISK"); c != theme.ColorNameWarning {
		t.Errorf("accepted risk line in colour %q, want the warning colour", c)
	}
	if c := lineColor(row, "NO-GO"); c != theme.ColorNameError {
		t.Errorf("computed verdict in colour %q, want the error colour", c)
	}
	if !strings.Contains(r.status.Text, "ACCEPTED RISK") || !strings.Contains(r.status.Text, "stays NO-GO") {
		t.Errorf("status %q", r.status.Text)
	}
	last := r.log[len(r.log)-1]
	if !last.Risk || last.Actor != "Ann Lee" || !strings.Contains(last.Text, "ACCEPTED RISK over the computed NO-GO") {
		t.Errorf("session log ends with %+v", last)
	}

	// on a GO there is no risk to accept: the dialog does not offer it
	h.recordValidation(verdict.Go)
	r.reload()
	h.settle()
	if r.Computed() != "NO-GO" {
		t.Errorf("a reload changed the selected validation to %q", r.Computed())
	}
	r.valList.Select(1)
	if len(r.vals) != 2 || r.Computed() != "GO" {
		t.Fatalf("after a GO: %d validations, selected %q", len(r.vals), r.Computed())
	}
	d = h.openSignOff()
	if slices.Contains(d.decision.Options, "accept_risk") {
		t.Errorf("accept_risk offered on GO: %v", d.decision.Options)
	}
	d.onCancel()
}

// TestJointSessionSignOff: in an OEM joint session the OEM witness and the asset owner's
// approver sign the same validation; the row shows both and whether it is fully signed,
// the session log who did what and when.
func TestJointSessionSignOff(t *testing.T) {
	h := newHarness(t)
	val := h.recordValidation(verdict.Inconclusive)
	h.selectTab("Register")
	r := h.ui.Register
	if s := r.vals[0].sig.Text; s != "unsigned: awaiting the asset owner's approver" {
		t.Errorf("unsigned row says %q", s)
	}
	sign := func(name, role, decision, why string) *signOffDialog {
		t.Helper()
		d := h.openSignOff()
		d.name.SetText(name)
		d.role.SetSelected(role)
		d.decision.SetSelected(decision)
		d.rationale.SetText(why)
		test.Tap(d.sign)
		h.settle()
		return d
	}
	d := sign("Hans Vogt", "oem_witness", "approve", "")
	if r.dialog != nil {
		t.Fatalf("OEM sign-off: %q", d.err.Text)
	}
	if d.party.Text != "signs for the OEM" {
		t.Errorf("OEM witness party %q", d.party.Text)
	}
	row := r.vals[0]
	if !row.sig.Joint || row.sig.Complete || !strings.Contains(row.String(), "awaiting the asset owner's approver") {
		t.Fatalf("after the OEM witness: %q", row.String())
	}
	if c := lineColor(row, "awaiting"); c != theme.ColorNamePrimary {
		t.Errorf("awaiting in colour %q", c)
	}
	// the same person cannot sign twice in the same role: the ledger says so, the dialog stays
	d = sign("Hans Vogt", "oem_witness", "approve", "")
	if r.dialog == nil || !strings.Contains(d.err.Text, "already signed") {
		t.Fatalf("second OEM sign-off: dialog open %v, error %q", r.dialog != nil, d.err.Text)
	}
	d.onCancel()
	sign("Ann Lee", "approver", "accept_risk", "inconclusive timing on a loaded bench; production scan margin is 4x")
	if r.dialog != nil {
		t.Fatal("approver sign-off failed")
	}
	row = r.vals[0]
	text := row.String()
	for _, want := range []string{"APPROVE by Hans Vogt (oem_witness, OEM)", "ACCEPTED RISK (overrides computed INCONCLUSIVE) by Ann Lee (approver, asset owner)",
		"fully signed in a joint session: OEM witness Hans Vogt, asset owner Ann Lee; risk accepted"} {
		if !strings.Contains(text, want) {
			t.Errorf("row %q does not say %q", text, want)
		}
	}
	if c := lineColor(row, "fully signed"); c != theme.ColorNameSuccess {
		t.Errorf("fully signed in colour %q", c)
	}
	var log []string
	for _, e := range r.log {
		log = append(log, e.Action+" "+e.Subject+" "+e.Actor)
	}
	want := []string{
		"patch_added " + workspace.DemoPatchID + " bench-engineer", "state_changed " + workspace.DemoPatchID + " bench-engineer",
		"state_changed " + workspace.DemoPatchID + " bench-engineer", "validation_recorded " + val.ID + " bench-engineer",
		"signed_off " + val.ID + " Hans Vogt", "signed_off " + val.ID + " Ann Lee",
	}
	if !slices.Equal(log, want) {
		t.Errorf("session log\n got %q\nwant %q", log, want)
	}
	if e := r.log[4]; !strings.HasPrefix(e.String(), "2026-03-20 12:00  Hans Vogt  signed "+val.ID+" as oem_witness (OEM): approve") {
		t.Errorf("log line %q", e.String())
	}
	r.logList.Select(5)
	if r.logDlg == nil || !strings.Contains(r.logFull.Text, "ACCEPTED RISK over the computed INCONCLUSIVE (which stays INCONCLUSIVE): inconclusive timing on a loaded bench; production scan margin is 4x") {
		t.Fatalf("selected log line in full: dialog %v", r.logDlg != nil)
	}
	r.logDlg.Hide()
	if r.logDlg != nil {
		t.Error("log dialog still open after Close")
	}
}

// TestRegisterExportVerify exports and verifies the bundle of a stored validation from the
// Register tab; the export appears in the session log.
func TestRegisterExportVerify(t *testing.T) {
	h := newHarness(t)
	res, err := h.ws.Validate(context.Background(), workspace.Request{Scenario: DefaultScenario, Patch: workspace.DemoPatchID,
		Before: "sim://tank?firmware=baseline&time=simulated", After: "sim://tank?firmware=benign&time=simulated"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.ws.Reg.SignOff(context.Background(), register.SignOff{ValidationID: res.Validation, Name: "Hans Vogt", Role: register.OEMWitness,
		Decision: register.Approve, Time: fixedNow}); err != nil {
		t.Fatal(err)
	}
	h.selectTab("Register")
	r := h.ui.Register
	if len(r.vals) != 1 || r.vals[0].ID != res.Validation {
		t.Fatalf("register shows %d validations, want %s", len(r.vals), res.Validation)
	}
	if !r.verify.Disabled() || r.export.Disabled() || !strings.Contains(r.bundle.Text, "no evidence bundle exported yet") {
		t.Fatalf("before export: verify disabled %v, export disabled %v, %q", r.verify.Disabled(), r.export.Disabled(), r.bundle.Text)
	}
	test.Tap(r.export)
	if !r.export.Disabled() || r.busy == 0 {
		t.Error("export did not start in the background")
	}
	h.settle()
	if !strings.Contains(r.bundle.Text, "export recorded") || r.bundle.Importance == widget.DangerImportance {
		t.Fatalf("export: %q", r.bundle.Text)
	}
	if len(r.vals[0].bundles) != 1 || r.verify.Disabled() {
		t.Fatalf("bundles %v, verify disabled %v", r.vals[0].bundles, r.verify.Disabled())
	}
	if last := r.log[len(r.log)-1]; last.Action != register.ActionBundleExported || last.Actor != "bench-engineer" {
		t.Errorf("session log ends with %+v", last)
	}
	test.Tap(r.verify)
	h.settle()
	if !strings.Contains(r.bundle.Text, "verify OK") || !strings.Contains(r.bundle.Text, "exported by bench-engineer") || r.bundle.Importance != widget.SuccessImportance {
		t.Errorf("verify: %q (importance %v)", r.bundle.Text, r.bundle.Importance)
	}
	// the sign-offs travel in the bundle, and verify lists them
	if !strings.Contains(r.bundle.Text, "\nsign-offs in the bundle (addendum signed by") || !strings.Contains(r.bundle.Text, "Hans Vogt approve (oem_witness)") {
		t.Errorf("verify does not list the sign-off: %q", r.bundle.Text)
	}
	if *screenshots != "" {
		f, err := os.Create(filepath.Join(*screenshots, "register-signoffs.png"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, h.win.Canvas().Capture()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRegisterReadsOffUIGoroutine: reload hands the register's rows back through the UI's
// do queue; until the queue is drained the view still shows what it had, and a result
// older than the latest reload is dropped.
func TestRegisterReadsOffUIGoroutine(t *testing.T) {
	h := newHarness(t)
	h.selectTab("Register")
	r := h.ui.Register
	if len(r.patches) != 1 {
		t.Fatalf("%d patches", len(r.patches))
	}
	p, err := h.ws.AddPatch(context.Background(), workspace.PatchForm{Supplier: "Acme", Product: "PLC-9", Type: "bugfix"})
	if err != nil {
		t.Fatal(err)
	}
	r.reloadSelecting(p.ID)
	r.reload() // a second reload: the first one's result is dropped
	if len(r.patches) != 1 || r.busy != 2 {
		t.Fatalf("reload read synchronously: %d patches, %d in flight", len(r.patches), r.busy)
	}
	h.settle()
	if len(r.patches) != 2 || r.patchSel < 0 || r.patches[r.patchSel].ID != p.ID {
		t.Fatalf("after the reload: %d patches, selected %d", len(r.patches), r.patchSel)
	}
	// the new patch's own record: no validations, a log of one line
	if len(r.vals) != 0 || len(r.log) != 1 || !strings.Contains(r.log[0].Text, "added patch "+p.ID) || !r.signOff.Disabled() {
		t.Errorf("new patch: %d validations, log %+v", len(r.vals), r.log)
	}
	if !strings.Contains(r.detail.Text, "does not apply (bugfix)") {
		t.Errorf("detail %q", r.detail.Text)
	}
	// back to the demo patch: its history
	i := slices.IndexFunc(r.patches, func(p register.Patch) bool { return p.ID == workspace.DemoPatchID })
	r.patchList.Select(i)
	h.settle()
	if len(r.log) != 3 || r.log[2].Text != "state assessed_applicable → in_test" {
		t.Errorf("demo patch log %+v", r.log)
	}
}
