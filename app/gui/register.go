package gui

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/verdict"
)

// registerView is the Register tab: the patches with their state and 35-day clock, the
// validations of the selected patch with their sign-offs and evidence bundles, the patch's
// session log (who did what and when), the whole register's audit trail, and the sign-off
// dialog.
//
// Threads: every read and write of the register runs in a work goroutine (work) and hands
// its result back on the Fyne goroutine; a result older than the latest request of its kind
// is dropped. busy counts the work in flight, so that tests can wait for none.
type registerView struct {
	ui      *UI
	content fyne.CanvasObject
	// valsBox holds the patch's facts, the validations and the bundle line: laid out again
	// when either text changes its number of lines (a label's SetText does not)
	valsBox *fyne.Container

	patches  []register.Patch
	patchSel int    // index in patches; -1: none
	selID    string // the selected patch, kept across reloads
	shownID  string // the patch whose validations and log are shown
	vals     []validationRow
	valSel   int    // index in vals; -1: none
	valID    string // the selected validation, kept across reloads
	log      []workspace.LogEntry

	patchList *widget.List
	detail    *widget.Label
	valList   *widget.List
	signOff   *widget.Button
	export    *widget.Button
	verify    *widget.Button
	bundle    *widget.Label // the selected validation's bundle: exported, verified
	bundleFor string        // what the bundle line is about (bundleKey)
	logList   *widget.List
	status    *widget.Label

	addPatch    *widget.Button
	changeState *widget.Button
	audit       *auditView

	dialog   *signOffDialog       // the open sign-off dialog, nil when closed
	patchDlg *patchDialog         // the open Add patch dialog
	stateDlg *stateDialog         // the open Change state dialog
	logDlg   *dialog.CustomDialog // the open session log entry
	logFull  *widget.Label        // its text

	busy      int // register work in flight
	listGen   int // the latest reload
	detailGen int // the latest load of the selected patch
}

// validationRow is one validation as the list shows it.
type validationRow struct {
	register.Validation
	signOffs []register.SignOff
	sig      workspace.Signatures
	bundles  []string
}

func newValidationRow(e workspace.ValidationEntry) validationRow {
	return validationRow{Validation: e.Validation, signOffs: e.SignOffs, sig: e.Signatures, bundles: e.Bundles}
}

// String is the row as text, one line per sign-off and one for where they stand.
func (r validationRow) String() string {
	var b strings.Builder
	for _, seg := range r.segments() {
		b.WriteString(seg.Textual())
		if !seg.Inline() {
			b.WriteByte('\n')
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// segments is the row in rich text: the validation with its computed verdict in the
// verdict's colour, each sign-off (an accepted risk in the warning colour, a rejection in
// the error colour), and the signatures' status.
func (r validationRow) segments() []widget.RichTextSegment {
	seg := func(text string, color fyne.ThemeColorName, bold, inline bool) *widget.TextSegment {
		return &widget.TextSegment{Text: text, Style: widget.RichTextStyle{ColorName: color, Inline: inline, TextStyle: fyne.TextStyle{Bold: bold}}}
	}
	out := []widget.RichTextSegment{
		seg(r.ID, theme.ColorNameForeground, true, true),
		seg(fmt.Sprintf("  %s  computed ", r.Scenario), theme.ColorNameForeground, false, true),
		seg(string(r.Verdict), verdictColor(r.Verdict), true, true),
		seg(fmt.Sprintf("  (%s)", r.Created.Local().Format("2006-01-02 15:04")), theme.ColorNameForeground, false, false),
	}
	for _, so := range r.signOffs {
		color, bold := theme.ColorNameForeground, false
		switch so.Decision {
		case register.AcceptRisk:
			color, bold = theme.ColorNameWarning, true
		case register.Reject:
			color = theme.ColorNameError
		}
		out = append(out, seg("    "+workspace.SignOffText(so, r.Verdict), color, bold, false))
		if so.Rationale != "" {
			out = append(out, seg("        "+so.Rationale, color, false, false))
		}
	}
	color := theme.ColorNamePrimary
	switch {
	case r.sig.Rejected != nil:
		color = theme.ColorNameError
	case r.sig.Complete:
		color = theme.ColorNameSuccess
	}
	return append(out, seg("    "+r.sig.Text, color, false, false))
}

func newRegister(u *UI) *registerView {
	v := &registerView{ui: u, patchSel: -1, valSel: -1}
	v.patchList = widget.NewList(func() int { return len(v.patches) },
		func() fyne.CanvasObject {
			return widget.NewLabel("P-2026-001  assessed_applicable  OVERDUE 10 d  Simulated Controls")
		},
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.patchLine(v.patches[i])) })
	v.patchList.OnSelected = v.onPatchSelected
	v.detail = widget.NewLabel("")
	// one short fact a line, each line truncated: a wrapped label above the list reported
	// its height before it had its width, and the lines ran over the Validations heading
	v.detail.Truncation = fyne.TextTruncateEllipsis
	v.valList = widget.NewList(func() int { return len(v.vals) },
		func() fyne.CanvasObject {
			t := widget.NewRichText(&widget.TextSegment{Text: "V", Style: widget.RichTextStyleParagraph},
				&widget.TextSegment{Text: "status", Style: widget.RichTextStyleParagraph})
			t.Truncation = fyne.TextTruncateEllipsis
			return t
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			t := o.(*widget.RichText)
			t.Segments = v.vals[i].segments()
			t.Refresh()
			v.valList.SetItemHeight(i, t.MinSize().Height)
		})
	v.valList.OnSelected = v.onValidationSelected
	v.signOff = widget.NewButtonWithIcon("Sign off…", theme.DocumentCreateIcon(), v.onSignOff)
	v.export = widget.NewButtonWithIcon("Export bundle", theme.DocumentSaveIcon(), v.onExport)
	v.verify = widget.NewButtonWithIcon("Verify bundle", theme.ConfirmIcon(), v.onVerify)
	v.bundle = widget.NewLabel("")
	v.bundle.Truncation = fyne.TextTruncateEllipsis
	v.logList = widget.NewList(func() int { return len(v.log) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("2026-03-20 12:00  bench-engineer  state in_test → go")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			e := v.log[i]
			l := o.(*widget.Label)
			text := fmt.Sprintf("%s  %s  %s", e.Time.Local().Format("2006-01-02 15:04"), e.Actor, e.Text)
			if e.Detail != "" {
				text += "\n        " + e.Detail // the rationale, note or plan on a line of its own
			}
			l.SetText(text)
			imp := widget.MediumImportance
			switch {
			case e.Risk:
				imp = widget.WarningImportance
			case e.Rejected:
				imp = widget.DangerImportance
			}
			if l.Importance != imp {
				l.Importance = imp
				l.Refresh()
			}
			v.logList.SetItemHeight(i, l.MinSize().Height)
		})
	v.logList.OnSelected = v.onLogSelected
	v.status = widget.NewLabel("")
	v.status.Truncation = fyne.TextTruncateEllipsis
	v.enableValidation(false)

	bold := func(s string) *widget.Label {
		return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	valHead := container.NewBorder(nil, nil, bold("Validations"), container.NewHBox(v.signOff, v.export, v.verify))
	v.valsBox = container.NewBorder(container.NewVBox(v.detail, widget.NewSeparator(), valHead), v.bundle, nil, nil, v.valList)
	session := container.NewBorder(bold("Session log"), nil, nil, nil, v.logList)
	rightSplit := container.NewVSplit(v.valsBox, session)
	rightSplit.Offset = 0.62
	right := container.NewBorder(nil, v.status, nil, nil, rightSplit)

	v.addPatch = widget.NewButtonWithIcon("Add patch…", theme.ContentAddIcon(), v.onAddPatch)
	v.changeState = widget.NewButtonWithIcon("Change state…", theme.MediaSkipNextIcon(), v.onChangeState)
	v.changeState.Disable()
	v.audit = newAuditView(v)
	patches := container.NewBorder(container.NewHBox(v.addPatch, v.changeState), nil, nil, nil, v.patchList)
	left := container.NewVSplit(patches, v.audit.content)
	left.Offset = 0.55
	split := container.NewHSplit(left, right)
	split.Offset = 0.4
	v.content = split
	// The register is read when the tab is selected (UI.onTabSelected): not here, while
	// the UI is still being built and its do function may not take work yet.
	return v
}

// onLogSelected shows the session log entry in full, in a dialog.
func (v *registerView) onLogSelected(i widget.ListItemID) {
	if i < 0 || i >= len(v.log) {
		return
	}
	e := v.log[i]
	text := widget.NewLabel(e.String())
	text.Wrapping = fyne.TextWrapWord
	v.logFull = text
	title := fmt.Sprintf("Session log: audit row %d, %s", e.Seq, e.Subject)
	v.logDlg = dialog.NewCustom(title, "Close", text, v.ui.win)
	v.logDlg.SetOnClosed(func() {
		v.logDlg = nil
		v.logList.UnselectAll()
	})
	v.logDlg.Resize(fyne.NewSize(560, 0))
	v.logDlg.Show()
}

// work runs f in a work goroutine; the function f returns runs on the Fyne goroutine.
func (v *registerView) work(f func(ctx context.Context) func()) {
	v.busy++
	v.ui.goWork(func(ctx context.Context) {
		apply := f(ctx)
		v.ui.do(func() {
			v.busy--
			apply()
		})
	})
}

func (v *registerView) patchLine(p register.Patch) string {
	return fmt.Sprintf("%s  %s  %s  %s", p.ID, p.State, p.Clock(v.ui.ws.Now()), p.Product)
}

// reload reads the patches and the audit trail again, keeping the selected patch, and then
// the selected patch's validations and session log.
func (v *registerView) reload() {
	v.listGen++
	g := v.listGen
	v.work(func(ctx context.Context) func() {
		ps, err := v.ui.ws.Reg.Patches(ctx)
		rows, aerr := v.ui.ws.Audit(ctx, auditRows)
		return func() {
			if g != v.listGen {
				return
			}
			v.audit.show(rows, aerr)
			if err != nil {
				v.status.SetText(err.Error())
				return
			}
			v.patches = ps
			v.patchList.Refresh()
			v.ui.Validate.setPatches(ps, nil) // read here, off the UI goroutine
			i := slices.IndexFunc(ps, func(p register.Patch) bool { return p.ID == v.selID })
			if i < 0 && len(ps) > 0 {
				i = 0
			}
			switch {
			case i < 0:
				v.patchSel = -1
				v.patchList.UnselectAll()
			case i == v.patchSel:
				v.onPatchSelected(i) // the list calls it only when the selection changes
			default:
				v.patchList.Select(i)
			}
		}
	})
}

// reloadSelecting reads the register again and selects patch id.
func (v *registerView) reloadSelecting(id string) {
	v.selID = id
	v.reload()
}

func (v *registerView) onAddPatch() {
	v.patchDlg = newPatchDialog(v)
	v.patchDlg.dlg.Show()
}

func (v *registerView) onChangeState() {
	if v.patchSel < 0 || v.patchSel >= len(v.patches) {
		return
	}
	v.stateDlg = newStateDialog(v, v.patches[v.patchSel])
	v.stateDlg.dlg.Show()
}

func (v *registerView) onPatchSelected(i widget.ListItemID) {
	if i < 0 || i >= len(v.patches) {
		return
	}
	v.patchSel = i
	p := v.patches[i]
	if p.ID != v.shownID {
		// another patch: show nothing of the last one while its record loads
		v.valID, v.vals, v.log = "", nil, nil
		v.valSel = -1
		v.valList.UnselectAll()
		v.valList.Refresh()
		v.logList.Refresh()
		v.enableValidation(false)
		v.setBundle("", widget.MediumImportance, "")
	}
	v.selID = p.ID
	v.showPatch(p)
	v.loadPatch(p.ID)
}

// showPatch shows the patch's details and 35-day clock.
func (v *registerView) showPatch(p register.Patch) {
	if len(workspace.NextStates(p)) > 0 {
		v.changeState.Enable()
	} else {
		v.changeState.Disable()
	}
	c := p.Clock(v.ui.ws.Now())
	clock := "35-day evaluation clock: does not apply (" + string(p.Type) + ")"
	if c.Applies {
		clock = fmt.Sprintf("35-day evaluation clock: %s (identified %s, due %s)", c, p.Identified.Format("2006-01-02"), c.Due.Format("2006-01-02"))
	}
	v.detail.SetText(fmt.Sprintf("%s  %s %s: %s → %s\n%s, %s, CVEs %s\nstate %s since %s\n%s",
		p.ID, p.Supplier, p.Product, p.FromVersion, p.ToVersion, p.Type, p.Qualification, strings.Join(p.CVEs, ", "),
		p.State, p.StateChanged.Local().Format("2006-01-02"), clock))
	v.valsBox.Refresh()
}

// loadPatch reads the validations, sign-offs, bundles and session log of patch id.
func (v *registerView) loadPatch(id string) {
	v.detailGen++
	g := v.detailGen
	v.work(func(ctx context.Context) func() {
		rec, err := v.ui.ws.PatchRecord(ctx, id)
		return func() {
			if g != v.detailGen || id != v.selID {
				return
			}
			if err != nil {
				v.status.SetText(err.Error())
				return
			}
			v.showRecord(rec)
		}
	})
}

func (v *registerView) showRecord(rec workspace.PatchRecord) {
	if v.patchSel >= 0 && v.patchSel < len(v.patches) && v.patches[v.patchSel].ID == rec.Patch.ID {
		v.patches[v.patchSel] = rec.Patch
		v.patchList.RefreshItem(v.patchSel)
	}
	v.showPatch(rec.Patch)
	v.shownID = rec.Patch.ID
	v.vals = v.vals[:0]
	for _, e := range rec.Validations {
		v.vals = append(v.vals, newValidationRow(e))
	}
	v.log = rec.Log
	v.logList.UnselectAll()
	// every row's height before scrolling, so that ScrollToBottom reaches the last one
	one, two := widget.NewLabel("x").MinSize().Height, widget.NewLabel("x\ny").MinSize().Height
	for i, e := range v.log {
		if e.Detail != "" {
			v.logList.SetItemHeight(i, two)
		} else {
			v.logList.SetItemHeight(i, one)
		}
	}
	v.logList.Refresh()
	if len(v.log) > 0 {
		v.logList.ScrollToBottom()
	}
	j := slices.IndexFunc(v.vals, func(r validationRow) bool { return r.ID == v.valID })
	if j < 0 {
		j = len(v.vals) - 1 // the newest
	}
	v.valList.UnselectAll()
	v.valSel = -1
	v.enableValidation(false)
	v.valList.Refresh()
	if j >= 0 {
		v.valList.Select(j)
	} else {
		v.setBundle("", widget.MediumImportance, "")
	}
}

func (v *registerView) onValidationSelected(i widget.ListItemID) {
	if i < 0 || i >= len(v.vals) {
		return
	}
	v.valSel = i
	r := v.vals[i]
	if k := bundleKey(r.ID, r.bundles); k != v.bundleFor {
		v.setBundle(k, widget.MediumImportance, bundleText(r)) // the last export or verify is of other files
	}
	v.valID = r.ID
	v.enableValidation(true)
}

// bundleText says which bundles of r the workspace holds.
func bundleText(r validationRow) string {
	switch n := len(r.bundles); n {
	case 0:
		return fmt.Sprintf("%s: no evidence bundle exported yet", r.ID)
	case 1:
		return fmt.Sprintf("%s: bundle %s", r.ID, filepath.Base(r.bundles[0]))
	default:
		return fmt.Sprintf("%s: bundle %s (newest of %d)", r.ID, filepath.Base(r.bundles[n-1]), n)
	}
}

// enableValidation enables the buttons that act on the selected validation.
func (v *registerView) enableValidation(on bool) {
	for _, b := range []*widget.Button{v.signOff, v.export, v.verify} {
		if on {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	if on && len(v.vals[v.valSel].bundles) == 0 {
		v.verify.Disable()
	}
}

// bundleKey names what the bundle line is about: validation id and its newest bundle.
func bundleKey(id string, bundles []string) string {
	if len(bundles) == 0 {
		return id + "|"
	}
	return id + "|" + bundles[len(bundles)-1]
}

// setBundle shows text in the bundle line, about what key names.
func (v *registerView) setBundle(key string, imp widget.Importance, text string) {
	v.bundleFor = key
	v.bundle.Importance = imp
	v.bundle.SetText(text)
	v.valsBox.Refresh()
}

// Computed is the computed verdict of the selected validation ("" when none).
func (v *registerView) Computed() string {
	if v.valSel < 0 || v.valSel >= len(v.vals) {
		return ""
	}
	return string(v.vals[v.valSel].Verdict)
}

// onExport writes the evidence bundle of the selected validation from what the register
// keeps, and records the export in the audit trail.
func (v *registerView) onExport() {
	if v.valSel < 0 || v.valSel >= len(v.vals) {
		return
	}
	id := v.vals[v.valSel].ID
	v.export.Disable()
	v.verify.Disable()
	v.setBundle(id+"|writing", widget.MediumImportance, id+": writing the evidence bundle…")
	v.work(func(ctx context.Context) func() {
		path, sum, err := v.ui.ws.ExportValidation(ctx, id)
		return func() {
			switch {
			case err != nil && path == "":
				v.setBundle(id+"|failed", widget.DangerImportance, id+": export failed: "+err.Error())
			case err != nil:
				v.setBundle(bundleKey(id, []string{path}), widget.WarningImportance, id+": "+err.Error())
			default:
				v.setBundle(bundleKey(id, []string{path}), widget.MediumImportance, fmt.Sprintf("%s: bundle %s (sha256 %s…), export recorded", id, filepath.Base(path), sum[:12]))
			}
			if id == v.valID {
				v.enableValidation(v.valSel >= 0)
			}
			v.reload() // its bundles, the session log and the audit trail
		}
	})
}

// onVerify verifies the newest bundle of the selected validation offline.
func (v *registerView) onVerify() {
	if v.valSel < 0 || v.valSel >= len(v.vals) {
		return
	}
	id := v.vals[v.valSel].ID
	v.verify.Disable()
	v.setBundle(id+"|verifying", widget.MediumImportance, id+": verifying its newest bundle…")
	v.work(func(ctx context.Context) func() {
		c := v.ui.ws.VerifyValidation(ctx, id)
		return func() {
			imp := widget.SuccessImportance
			if !c.OK {
				imp = widget.DangerImportance
			}
			v.setBundle(bundleKey(id, []string{c.Path}), imp, id+": "+c.Text)
			if id == v.valID {
				v.enableValidation(v.valSel >= 0)
			}
		}
	})
}

func (v *registerView) onSignOff() {
	if v.valSel < 0 || v.valSel >= len(v.vals) {
		return
	}
	d := newSignOffDialog(v, v.vals[v.valSel])
	v.dialog = d
	d.dlg.Show()
}

// signOffDialog asks who signs, in which role, what they decide and why. Choosing
// accept_risk shows that it overrides the computed verdict as a recorded risk, and Sign
// stays disabled until a rationale is given (reject needs one too; the ledger refuses
// either without one as well).
type signOffDialog struct {
	reg       *registerView
	val       register.Validation
	name      *widget.Entry
	role      *widget.Select
	party     *widget.Label // the party the role signs for
	decision  *widget.Select
	override  *widget.Label // shown for accept_risk
	rationale *widget.Entry
	err       *widget.Label
	sign      *widget.Button
	signing   bool
	dlg       *dialog.CustomDialog
}

func newSignOffDialog(reg *registerView, row validationRow) *signOffDialog {
	val := row.Validation
	d := &signOffDialog{reg: reg, val: val}
	d.name = widget.NewEntry()
	d.name.SetText(reg.ui.ws.Actor())
	var roles, decisions []string
	for _, r := range register.Roles() {
		roles = append(roles, string(r))
	}
	for _, dc := range register.Decisions() {
		if dc == register.AcceptRisk && val.Verdict == verdict.Go {
			continue // nothing to accept beyond GO: the ledger refuses it
		}
		decisions = append(decisions, string(dc))
	}
	d.party = widget.NewLabel("")
	d.role = widget.NewSelect(roles, func(s string) {
		d.party.SetText(fmt.Sprintf("signs for the %s", workspace.PartyOf(register.Role(s))))
	})
	d.role.SetSelected(string(register.Tester))
	d.override = widget.NewLabel(fmt.Sprintf("Accepted risk overrides the computed %[1]s for the decision to go ahead. "+
		"The validation keeps its computed verdict %[1]s; this sign-off records the accepted risk and its rationale "+
		"in the register and its audit trail.", val.Verdict))
	d.override.Importance = widget.WarningImportance
	d.override.Wrapping = fyne.TextWrapWord
	d.override.Hide()
	d.rationale = widget.NewMultiLineEntry()
	d.rationale.SetMinRowsVisible(3)
	d.err = widget.NewLabel("")
	d.err.Importance = widget.DangerImportance
	d.err.Wrapping = fyne.TextWrapWord
	d.sign = widget.NewButtonWithIcon("Sign", theme.ConfirmIcon(), d.onSign)
	d.sign.Importance = widget.HighImportance
	d.decision = widget.NewSelect(decisions, func(string) { d.update() })
	d.decision.SetSelected(string(register.Approve))
	d.name.OnChanged = func(string) { d.update() }
	d.rationale.OnChanged = func(string) { d.update() }
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), d.onCancel)
	signed := "not signed yet"
	if len(row.signOffs) > 0 {
		signed = row.sig.Text
	}
	form := widget.NewForm(
		widget.NewFormItem("Validation", widget.NewLabel(fmt.Sprintf("%s: computed verdict %s", val.ID, val.Verdict))),
		widget.NewFormItem("Signatures", widget.NewLabel(signed)),
		widget.NewFormItem("Name", d.name),
		widget.NewFormItem("Role", container.NewBorder(nil, nil, nil, d.party, d.role)),
		widget.NewFormItem("Decision", d.decision),
		widget.NewFormItem("Rationale", d.rationale),
	)
	content := container.NewVBox(form, d.override, d.err, container.NewHBox(layoutSpacer(), cancel, d.sign))
	d.dlg = dialog.NewCustomWithoutButtons("Sign off "+val.ID, content, reg.ui.win)
	d.dlg.Resize(fyne.NewSize(560, 0))
	d.update()
	return d
}

// problem is why the dialog cannot be signed as filled in ("" when it can).
func (d *signOffDialog) problem() string {
	dec := register.Decision(d.decision.Selected)
	switch {
	case strings.TrimSpace(d.name.Text) == "":
		return "Who signs? Enter a name."
	case dec == register.AcceptRisk && strings.TrimSpace(d.rationale.Text) == "":
		return "accept_risk needs a rationale: say why the risk of going ahead despite " + string(d.val.Verdict) + " is acceptable."
	case dec == register.Reject && strings.TrimSpace(d.rationale.Text) == "":
		return "reject needs a rationale: say why the validation does not stand."
	}
	return ""
}

// update shows what the chosen decision means and enables Sign when it can be signed.
func (d *signOffDialog) update() {
	if d.sign == nil || d.decision == nil {
		return // still building
	}
	dec := register.Decision(d.decision.Selected)
	switch dec {
	case register.AcceptRisk:
		d.rationale.SetPlaceHolder("why the risk is acceptable (required)")
	case register.Reject:
		d.rationale.SetPlaceHolder("why the validation does not stand (required)")
	default:
		d.rationale.SetPlaceHolder("why (optional when approving)")
	}
	if shown := dec == register.AcceptRisk; shown != d.override.Visible() {
		if shown {
			d.override.Show()
		} else {
			d.override.Hide()
		}
		if d.dlg != nil {
			d.dlg.Resize(fyne.NewSize(560, 0)) // lays the dialog out again
		}
	}
	p := d.problem()
	d.err.SetText(p)
	if p != "" || d.signing {
		d.sign.Disable()
	} else {
		d.sign.Enable()
	}
}

func (d *signOffDialog) onSign() {
	if d.problem() != "" || d.signing {
		d.update()
		return
	}
	s := register.SignOff{
		ValidationID: d.val.ID, Name: d.name.Text, Role: register.Role(d.role.Selected),
		Decision: register.Decision(d.decision.Selected), Rationale: d.rationale.Text, Time: d.reg.ui.ws.Now(),
	}
	d.signing = true
	d.sign.Disable()
	d.reg.work(func(ctx context.Context) func() {
		so, err := d.reg.ui.ws.Reg.SignOff(ctx, s)
		return func() {
			d.signing = false
			if err != nil {
				d.update()
				d.err.SetText(err.Error())
				return
			}
			d.dlg.Hide()
			d.reg.dialog = nil
			msg := fmt.Sprintf("%s signed %s as %s: %s; the computed verdict stays %s", so.Name, so.ValidationID, so.Role, so.Decision, d.val.Verdict)
			if so.Decision == register.AcceptRisk {
				msg = fmt.Sprintf("%s (%s) signed %s: ACCEPTED RISK; the computed verdict stays %s", so.Name, so.Role, so.ValidationID, d.val.Verdict)
			}
			d.reg.status.SetText(msg)
			d.reg.reload()
		}
	})
}

func (d *signOffDialog) onCancel() {
	d.dlg.Hide()
	d.reg.dialog = nil
}
