package gui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// DefaultScenario is the scenario the Validate tab opens on.
const DefaultScenario = "tank-alarm-trip.yaml"

const noPatch = "(do not record)"

// validateView is the Validate tab: what to run, progress, abort, then the verdict with the
// criteria table (the comparison), and the evidence bundle.
type validateView struct {
	ui      *UI
	content fyne.CanvasObject

	patch    *widget.Select
	scenario *widget.Select
	before   *widget.SelectEntry
	after    *widget.SelectEntry
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
	var names []string
	for _, s := range workspace.Scenarios() {
		names = append(names, s.Name)
	}
	v.scenario = widget.NewSelect(names, nil)
	v.scenario.SetSelected(DefaultScenario)
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

	form := widget.NewForm(
		widget.NewFormItem("Patch", v.patch),
		widget.NewFormItem("Scenario", v.scenario),
		widget.NewFormItem("Before (baseline)", v.before),
		widget.NewFormItem("After (patched)", v.after),
		widget.NewFormItem("Repetitions", v.repeat),
	)
	controls := container.NewBorder(nil, nil, container.NewHBox(v.run, v.abort), nil, v.progress)
	reasons := container.NewVScroll(v.reasons)
	reasons.SetMinSize(fyne.NewSize(0, 80))
	v.head = container.NewBorder(nil, nil, v.verdict, container.NewHBox(v.export, v.verify), v.bundle)
	top := container.NewVBox(form, controls, v.step, widget.NewSeparator(), v.head, reasons)
	v.content = container.NewBorder(top, nil, nil, nil, v.criteria)
	v.reloadPatches()
	return v
}

// onStationsChanged refills the target choices from the embedded stations.
func (v *validateView) onStationsChanged() {
	sts := v.ui.ws.Stations()
	var opts []string
	for _, st := range sts {
		opts = append(opts, st.ModbusURL(), st.OPCUATarget())
	}
	for _, st := range sts {
		opts = append(opts, "sim://tank?firmware="+st.Firmware().Name+"&time=simulated")
	}
	v.before.SetOptions(opts)
	v.after.SetOptions(opts)
	if len(sts) == 2 {
		v.before.SetText(sts[0].ModbusURL())
		v.after.SetText(sts[1].ModbusURL())
	}
}

func (v *validateView) reloadPatches() {
	opts := []string{noPatch}
	ps, err := v.ui.ws.DB.Patches(v.ui.ctx)
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
	return req
}

func (v *validateView) onRun() {
	if err := v.repeat.Validate(); err != nil {
		v.step.SetText("Repetitions: " + err.Error())
		return
	}
	req := v.request()
	ctx, cancel := context.WithCancel(v.ui.ctx)
	v.cancel = cancel
	v.setRunning(true)
	v.result, v.crit = nil, nil
	v.criteria.Refresh()
	v.verdict.Segments = nil
	v.verdict.Refresh()
	v.reasons.SetText("")
	v.bundle.SetText("")
	v.progress.SetValue(0)
	v.step.SetText("starting…")
	v.ui.goWork(func(context.Context) {
		defer cancel()
		res, err := v.ui.ws.Validate(ctx, req, func(p workspace.Progress) {
			v.ui.do(func() { v.onProgress(p) })
		})
		v.ui.do(func() { v.onDone(res, err) })
	})
}

func (v *validateView) setRunning(on bool) {
	for _, w := range []fyne.Disableable{v.run, v.patch, v.scenario, v.before, v.after, v.repeat, v.export, v.verify} {
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
	v.criteria.Refresh()
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
	v.ui.goWork(func(context.Context) {
		path, sum, err := v.ui.ws.Export(res)
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
