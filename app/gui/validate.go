package gui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// DefaultScenario is the scenario the Validate tab opens on.
const DefaultScenario = "tank-alarm-trip.yaml"

const noPatch = "(do not record)"

// runNow and runAfterNow are the stored-run choices that run a side now.
const (
	runNow      = "(run the before target now)"
	runAfterNow = "(run the after target now)"
)

// storedRunsShown is how many recent runs the stored-run select offers.
const storedRunsShown = 20

// validateView is the Validate tab: what to run, progress, abort, then the verdict with the
// criteria table (the comparison), and the evidence bundle.
type validateView struct {
	ui      *UI
	content fyne.CanvasObject
	arming  *dialog.ConfirmDialog // the arming dialog while it is shown (tests press its buttons)
	restart *restartDialog        // the restart dialog while a restart step waits for the operator

	patch    *widget.Select
	scenario *widget.Select
	before   *widget.SelectEntry
	stored   *widget.Select // a stored run for the before side, or runNow
	runs     []trace.Run    // the stored runs offered, in stored's order after runNow
	after    *widget.SelectEntry
	storedAf *widget.Select // a stored run for the after side, or runAfterNow
	repeat   *widget.Entry
	run      *widget.Button
	abort    *widget.Button
	progress *widget.ProgressBar
	step     *widget.Label

	head     *fyne.Container // the verdict, the bundle and its buttons
	verdict  *widget.RichText
	reasons  *widget.Label
	criteria *widget.Table
	export   *widget.Button
	verify   *widget.Button
	bundle   *widget.Label
	compare  *compareView
	lower    *fyne.Container // the Compare section, or the live plot while a validation runs
	live     *livePlot

	cancel context.CancelFunc // of the running validation; nil when idle
	result *workspace.Result
	crit   []verdict.Criterion
}

var criteriaColumns = []struct {
	title string
	width float32
	cell  func(c verdict.Criterion) string
}{
	{"Status", 110, func(c verdict.Criterion) string { return strings.ToUpper(string(c.Status)) }},
	{"Severity", 80, func(c verdict.Criterion) string { return c.Severity }},
	{"Criterion", 230, func(c verdict.Criterion) string { return c.ID }},
	{"Expected", 170, func(c verdict.Criterion) string { return c.Expected }},
	{"Before", 130, func(c verdict.Criterion) string { return c.Before }},
	{"After", 130, func(c verdict.Criterion) string { return c.After }},
	{"Reason", 520, func(c verdict.Criterion) string { return c.Reason }},
}

func newValidate(u *UI) *validateView {
	v := &validateView{ui: u}
	v.patch = widget.NewSelect(nil, nil)
	v.stored = widget.NewSelect([]string{runNow}, v.onStoredChanged)
	v.stored.SetSelected(runNow)
	v.storedAf = widget.NewSelect([]string{runAfterNow}, v.onStoredChanged)
	v.storedAf.SetSelected(runAfterNow)
	v.scenario = widget.NewSelect(nil, func(string) { v.reloadRuns() })
	v.reloadScenarios()
	v.before = widget.NewSelectEntry(nil)
	v.after = widget.NewSelectEntry(nil)
	v.onStationsChanged()
	v.repeat = widget.NewEntry()
	v.repeat.SetPlaceHolder("scenario's")
	v.repeat.Validator = func(s string) error {
		if s == "" {
			return nil
		}
		if n, err := strconv.Atoi(s); err != nil || n < 1 || n > 100 {
			return errors.New("1 to 100")
		}
		return nil
	}
	v.run = widget.NewButtonWithIcon("Run", theme.MediaPlayIcon(), v.onRun)
	v.run.Importance = widget.HighImportance
	v.abort = widget.NewButtonWithIcon("Abort", theme.MediaStopIcon(), v.onAbort)
	v.abort.Importance = widget.DangerImportance
	v.abort.Disable()
	v.progress = widget.NewProgressBar()
	v.step = widget.NewLabel("Ready: choose a scenario and the two targets, then Run.")
	v.step.Truncation = fyne.TextTruncateEllipsis

	v.verdict = widget.NewRichText()
	v.reasons = widget.NewLabel("")
	v.reasons.Wrapping = fyne.TextWrapWord
	v.criteria = widget.NewTableWithHeaders(func() (int, int) { return len(v.crit), len(criteriaColumns) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		}, v.updateCell)
	v.criteria.ShowHeaderColumn = false
	v.criteria.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	v.criteria.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		l := o.(*widget.Label)
		l.TextStyle.Bold = true
		if id.Col >= 0 {
			l.SetText(criteriaColumns[id.Col].title)
		}
	}
	for i, c := range criteriaColumns {
		v.criteria.SetColumnWidth(i, c.width)
	}
	v.export = widget.NewButtonWithIcon("Export bundle", theme.DocumentSaveIcon(), v.onExport)
	v.verify = widget.NewButtonWithIcon("Verify bundle", theme.ConfirmIcon(), v.onVerify)
	v.export.Disable()
	v.verify.Disable()
	v.bundle = widget.NewLabel("")
	v.bundle.Truncation = fyne.TextTruncateEllipsis

	// two columns, what to run beside where: the Compare section below needs the height
	what := widget.NewForm(
		widget.NewFormItem("Patch", v.patch),
		widget.NewFormItem("Scenario", v.scenario),
		widget.NewFormItem("Repetitions", v.repeat),
	)
	where := widget.NewForm(
		widget.NewFormItem("Before from", v.stored),
		widget.NewFormItem("Before (baseline)", v.before),
		widget.NewFormItem("After from", v.storedAf),
		widget.NewFormItem("After (patched)", v.after),
	)
	form := container.NewGridWithColumns(2, what, where)
	controls := container.NewBorder(nil, nil, container.NewHBox(v.run, v.abort), nil, v.progress)
	reasons := container.NewVScroll(v.reasons)
	reasons.SetMinSize(fyne.NewSize(0, 80))
	v.head = container.NewBorder(nil, nil, v.verdict, container.NewHBox(v.export, v.verify), v.bundle)
	top := container.NewVBox(form, controls, v.step, widget.NewSeparator(), v.head, reasons)
	v.criteria.OnSelected = v.onCriterionSelected
	v.compare = newCompare()
	v.live = newLivePlot()
	v.lower = container.NewStack(v.compare.content)
	split := container.NewVSplit(v.criteria, v.lower)
	split.Offset = 0.4
	v.content = container.NewBorder(top, nil, nil, nil, split)
	v.reloadPatches()
	return v
}

// reloadScenarios offers the scenarios of the workspace folder (the Scenarios tab calls it
// when it saves or makes a file), keeping the choice when it is still there, else
// DefaultScenario or the first.
func (v *validateView) reloadScenarios() {
	files, err := v.ui.ws.ScenarioFiles()
	if err != nil && v.step != nil {
		v.step.SetText(err.Error())
	}
	names := []string{}
	for _, f := range files {
		names = append(names, f.Name)
	}
	v.scenario.SetOptions(names)
	switch {
	case slices.Contains(names, v.scenario.Selected):
		v.reloadRuns() // the file may have changed: its name, its runs
	case slices.Contains(names, DefaultScenario):
		v.scenario.SetSelected(DefaultScenario)
	case len(names) > 0:
		v.scenario.SetSelectedIndex(0)
	default:
		v.scenario.ClearSelected()
	}
}

// reloadRuns refills the stored-run choices with the recent completed runs of the chosen
// scenario, keeping the choice when it is still offered.
func (v *validateView) reloadRuns() {
	if v.stored == nil {
		return
	}
	v.runs = nil
	if l, err := v.ui.ws.LoadScenario(v.scenario.Selected); err == nil {
		v.runs, _ = v.ui.ws.StoredRuns(v.ui.ctx, l.Name, storedRunsShown)
	}
	for _, sel := range []*widget.Select{v.stored, v.storedAf} {
		opts := []string{sel.Options[0]}
		for _, r := range v.runs {
			opts = append(opts, workspace.RunLabel(r))
		}
		sel.SetOptions(opts)
		if !slices.Contains(opts, sel.Selected) {
			sel.SetSelectedIndex(0)
		}
	}
}

// storedRun is the stored run chosen in sel, 0 for running the side now.
func (v *validateView) storedRun(sel *widget.Select) int64 {
	if i := sel.SelectedIndex(); i > 0 && i-1 < len(v.runs) {
		return v.runs[i-1].ID
	}
	return 0
}

// onStoredChanged disables a side's target while a stored run stands in for it.
func (v *validateView) onStoredChanged(string) {
	if v.before == nil || v.after == nil || v.storedAf == nil || v.run == nil || v.cancel != nil {
		return
	}
	for _, s := range []struct {
		sel    *widget.Select
		target *widget.SelectEntry
	}{{v.stored, v.before}, {v.storedAf, v.after}} {
		if v.storedRun(s.sel) != 0 {
			s.target.Disable()
		} else {
			s.target.Enable()
		}
	}
}

// onStationsChanged refills the target choices and points the two sides at the embedded
// stations again (their URLs change when one restarts on another firmware).
func (v *validateView) onStationsChanged() {
	v.refreshTargets()
	if sts := v.ui.ws.Stations(); len(sts) == 2 {
		v.before.SetText(sts[0].ModbusURL())
		v.after.SetText(sts[1].ModbusURL())
	}
}

// refreshTargets refills the target choices: the embedded stations, then the engineer's
// targets from the Bench tab (a broken targets file leaves the embedded ones).
func (v *validateView) refreshTargets() {
	ts, _ := v.ui.ws.Targets()
	var opts []string
	for _, t := range ts {
		opts = append(opts, t.URL)
	}
	v.before.SetOptions(opts)
	v.after.SetOptions(opts)
}

// reloadPatches fills the patch choices from the register; only while the tab is built,
// before the window shows: later the Register tab hands the patches it read off the UI
// goroutine to setPatches.
func (v *validateView) reloadPatches() {
	ps, err := v.ui.ws.Reg.Patches(v.ui.ctx)
	v.setPatches(ps, err)
}

// setPatches offers ps (and "do not record"); the choice is kept, or the first patch.
func (v *validateView) setPatches(ps []register.Patch, err error) {
	opts := []string{noPatch}
	for _, p := range ps {
		opts = append(opts, p.ID)
	}
	v.patch.SetOptions(opts)
	if err != nil {
		v.step.SetText("register: " + err.Error())
	}
	if v.patch.Selected == "" {
		v.patch.SetSelected(opts[min(1, len(opts)-1)])
	}
}

func (v *validateView) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	c := v.crit[id.Row]
	l.SetText(criteriaColumns[id.Col].cell(c))
	l.Importance = widget.MediumImportance
	if id.Col == 0 {
		l.Importance = statusImportance(c.Status)
		l.Refresh()
	}
}

// onCriterionSelected shows the selected criterion's tag in the Compare section.
func (v *validateView) onCriterionSelected(id widget.TableCellID) {
	if v.result == nil || id.Row < 0 || id.Row >= len(v.crit) {
		return
	}
	c := v.crit[id.Row]
	o, ok := v.result.Overlay(c)
	v.compare.show(c, o, ok)
}

func statusImportance(s verdict.Status) widget.Importance {
	switch s {
	case verdict.Pass:
		return widget.SuccessImportance
	case verdict.Fail:
		return widget.DangerImportance
	}
	return widget.WarningImportance
}

func verdictColor(o verdict.Outcome) fyne.ThemeColorName {
	switch o {
	case verdict.Go:
		return theme.ColorNameSuccess
	case verdict.NoGo:
		return theme.ColorNameError
	}
	return theme.ColorNameWarning
}

// request reads the form.
func (v *validateView) request() workspace.Request {
	req := workspace.Request{Scenario: v.scenario.Selected, Before: v.before.Text, After: v.after.Text}
	req.Repeat, _ = strconv.Atoi(v.repeat.Text)
	if v.patch.Selected != noPatch {
		req.Patch = v.patch.Selected
	}
	if id := v.storedRun(v.stored); id != 0 {
		req.BeforeRuns = []int64{id}
		req.Before = ""
	}
	if id := v.storedRun(v.storedAf); id != 0 {
		req.AfterRuns = []int64{id}
		req.After = ""
	}
	return req
}

func (v *validateView) onRun() {
	if err := v.repeat.Validate(); err != nil {
		v.step.SetText("Repetitions: " + err.Error())
		return
	}
	req := v.request()
	targets, writes, err := v.ui.ws.Arming(req)
	if err != nil {
		v.step.SetText(err.Error())
		return
	}
	if len(targets) > 0 {
		v.confirmArming(req, targets, writes)
		return
	}
	v.start(req)
}

// confirmArming is the deliberate step before writes to a real controller: the dialog names
// the targets and lists the exact writes; only "Arm and run" arms, and the run records it.
func (v *validateView) confirmArming(req workspace.Request, targets []string, writes []runner.PlannedWrite) {
	lines := make([]string, len(writes))
	for i, w := range writes {
		lines[i] = w.String()
	}
	list := widget.NewLabel(strings.Join(lines, "\n"))
	msg := widget.NewLabel("The scenario writes to a controller that is not simulated:\n" + strings.Join(targets, "\n") +
		"\n\nThese are the exact writes. Abort stops them at once and restores the values captured before the test. Arming is recorded in the run.")
	msg.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(msg, nil, nil, nil, container.NewVScroll(list))
	d := dialog.NewCustomConfirm("Arm writes to a real controller", "Arm and run", "Cancel", content, func(ok bool) {
		if !ok {
			v.step.SetText("not armed: nothing was written")
			return
		}
		req.Armed = true
		v.start(req)
	}, v.ui.win)
	d.Resize(fyne.NewSize(640, 420))
	v.arming = d
	d.Show()
}

// start runs a validation off the UI goroutine.
func (v *validateView) start(req workspace.Request) {
	ctx, abort := context.WithCancelCause(v.ui.ctx)
	cancel := func() { abort(nil) }
	v.cancel = cancel
	v.setRunning(true)
	v.result, v.crit = nil, nil
	v.criteria.UnselectAll()
	v.criteria.Refresh()
	v.compare.setResult(nil)
	v.compare.show(verdict.Criterion{}, workspace.Overlay{}, false)
	v.verdict.Segments = nil
	v.verdict.Refresh()
	v.reasons.SetText("")
	v.bundle.SetText("")
	v.progress.SetValue(0)
	v.step.SetText("starting…")
	sc := req.Loaded
	if sc == nil {
		sc, _ = v.ui.ws.RequestScenario(req) // an error surfaces from Validate
	}
	if sc != nil {
		v.live.reset(sc)
	}
	v.lower.Objects = []fyne.CanvasObject{v.live.content}
	v.lower.Refresh()
	req.OperatorRestart = func(ctx context.Context, r runner.RestartRequest) (runner.RestartConfirmation, error) {
		return v.askRestart(ctx, r, abort)
	}
	v.ui.goWork(func(context.Context) {
		defer cancel()
		res, err := v.ui.ws.Validate(ctx, req, func(p workspace.Progress) {
			v.ui.do(func() { v.onProgress(p) })
		})
		v.ui.do(func() { v.onDone(res, err) })
	})
}

func (v *validateView) setRunning(on bool) {
	for _, w := range []fyne.Disableable{v.run, v.patch, v.scenario, v.stored, v.storedAf, v.before, v.after, v.repeat, v.export, v.verify} {
		if on {
			w.Disable()
		} else {
			w.Enable()
		}
	}
	if on {
		v.abort.Enable()
	} else {
		v.abort.Disable()
	}
}

func (v *validateView) onProgress(p workspace.Progress) {
	v.live.add(p)
	v.progress.SetValue(p.Fraction)
	v.step.SetText(fmt.Sprintf("%s run %d of %d: step %d/%d %s (%.1f s)", p.Side, p.Run, p.Runs, p.Step, p.Steps, p.StepText, p.Elapsed.Seconds()))
}

func (v *validateView) onAbort() {
	if v.cancel != nil {
		v.cancel()
		v.step.SetText("aborting: restoring the values captured before the test…")
	}
}

func (v *validateView) onDone(res *workspace.Result, err error) {
	v.cancel = nil
	v.setRunning(false)
	if err == nil && res != nil && res.Record.Verdict != "" { // on an error or abort the live plot stays
		v.lower.Objects = []fyne.CanvasObject{v.compare.content}
		v.lower.Refresh()
	}
	v.reloadRuns()
	v.onStoredChanged("")
	if err != nil || res == nil || res.Record.Verdict == "" {
		v.export.Disable()
		v.verify.Disable()
		if errors.Is(err, workspace.ErrAborted) {
			v.showVerdict("ABORTED", theme.ColorNameWarning)
		} else {
			v.showVerdict("FAILED", theme.ColorNameError)
		}
		v.step.SetText(fmt.Sprint(err))
		return
	}
	v.result = res
	v.crit = res.Record.Criteria
	v.compare.setResult(res)
	v.criteria.Refresh()
	v.selectCriterion()
	v.showVerdict(string(res.Record.Verdict), verdictColor(res.Record.Verdict))
	v.reasons.SetText(strings.Join(res.Record.Reasons, "\n"))
	done := fmt.Sprintf("done: %s, before runs %v, after runs %v", res.Record.Scenario, res.Record.BeforeRuns, res.Record.AfterRuns)
	if res.Validation != "" {
		done += "; recorded as " + res.Validation + " on " + res.Record.Patch
	}
	v.step.SetText(done)
	v.progress.SetValue(1)
	v.verify.Disable()
	v.ui.Register.reload()
}

// selectCriterion selects the criterion to show first: a failed one with a tag, else the
// first signal criterion.
func (v *validateView) selectCriterion() {
	best := -1
	for i, c := range v.crit {
		if workspace.CriterionTag(c) == "" {
			continue
		}
		if c.Status == verdict.Fail {
			best = i
			break
		}
		if best < 0 && c.Kind == verdict.KindSignal {
			best = i
		}
	}
	if best >= 0 {
		v.criteria.Select(widget.TableCellID{Row: best, Col: 0})
	}
}

func (v *validateView) showVerdict(text string, color fyne.ThemeColorName) {
	v.verdict.Segments = []widget.RichTextSegment{&widget.TextSegment{Text: text, Style: widget.RichTextStyle{
		ColorName: color, SizeName: theme.SizeNameHeadingText, TextStyle: fyne.TextStyle{Bold: true},
	}}}
	v.verdict.Refresh()
	v.head.Refresh() // lays the row out again for the verdict's new width
}

// Verdict is the verdict shown ("" before the first run).
func (v *validateView) Verdict() string {
	if len(v.verdict.Segments) == 0 {
		return ""
	}
	return v.verdict.String()
}

func (v *validateView) onExport() {
	res := v.result
	if res == nil {
		return
	}
	v.export.Disable()
	v.bundle.SetText("writing the evidence bundle…")
	v.ui.goWork(func(ctx context.Context) {
		path, sum, err := v.ui.ws.Export(res)
		if err == nil && res.Validation != "" {
			if rerr := v.ui.ws.RecordExport(ctx, res.Validation, path, sum); rerr != nil {
				err = fmt.Errorf("bundle %s written, but its export is not recorded in the register: %w", path, rerr)
			}
		}
		v.ui.do(func() {
			v.export.Enable()
			if err != nil {
				v.bundle.Importance = widget.DangerImportance
				v.bundle.SetText("export failed: " + err.Error())
				return
			}
			v.bundle.Importance = widget.MediumImportance
			v.bundle.SetText(fmt.Sprintf("bundle %s (sha256 %s…)", filepath.Base(path), sum[:12]))
			v.verify.Enable()
		})
	})
}

func (v *validateView) onVerify() {
	if v.result == nil || v.result.Bundle == "" {
		return
	}
	path := v.result.Bundle
	v.ui.goWork(func(context.Context) {
		rep, err := v.ui.ws.Verify(path)
		v.ui.do(func() {
			if err != nil {
				v.bundle.Importance = widget.DangerImportance
				v.bundle.SetText("verify FAILED: " + err.Error())
				return
			}
			v.bundle.Importance = widget.SuccessImportance
			v.bundle.SetText(fmt.Sprintf("verify OK: %s, %s, %d files signed by %s", filepath.Base(path), rep.Verdict, rep.Files, rep.Fingerprint))
		})
	})
}
