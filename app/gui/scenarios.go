package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/runner"
)

// scenariosView is the Scenarios tab: the shipped scenarios, the YAML of the selected one,
// its validation errors (file:line:column) and a dry run of the writes it would make.
type scenariosView struct {
	ui      *UI
	content fyne.CanvasObject
	files   []workspace.Scenario
	list    *widget.List
	yaml    *widget.Entry
	status  *widget.Label
	writes  []runner.PlannedWrite
	dry     *widget.List
	current int // the selected file
}

func newScenarios(u *UI) *scenariosView {
	v := &scenariosView{ui: u, files: workspace.Scenarios()}
	v.list = widget.NewList(func() int { return len(v.files) },
		func() fyne.CanvasObject { return widget.NewLabel("conveyor-restart-retain.yaml") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.files[i].Name) })
	v.list.OnSelected = v.onSelected
	v.yaml = widget.NewMultiLineEntry()
	v.yaml.TextStyle.Monospace = true
	v.yaml.Wrapping = fyne.TextWrapOff
	v.yaml.OnChanged = v.onEdited
	v.status = widget.NewLabel("Select a scenario.")
	v.status.Wrapping = fyne.TextWrapWord
	v.dry = widget.NewList(func() int { return len(v.writes) },
		func() fyne.CanvasObject { return widget.NewLabel("step 10 setup InletValve = false") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.writes[i].String()) })
	right := container.NewBorder(
		container.NewVBox(widget.NewLabelWithStyle("Dry run: the writes a run makes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.status),
		nil, nil, nil, v.dry)
	split := container.NewHSplit(v.yaml, right)
	split.Offset = 0.6
	left := container.NewHSplit(v.list, split)
	left.Offset = 0.22
	v.content = left
	for i, f := range v.files {
		if f.Name == DefaultScenario {
			v.list.Select(i)
		}
	}
	return v
}

func (v *scenariosView) onSelected(i widget.ListItemID) {
	v.current = i
	v.yaml.SetText(string(v.files[i].Data)) // calls onEdited
}

// onEdited compiles the text in the editor: errors at line:column, or the dry run.
func (v *scenariosView) onEdited(text string) {
	name := "scenario"
	if v.current < len(v.files) {
		name = v.files[v.current].Name
	}
	l, err := workspace.ParseScenario(name, []byte(text))
	if err != nil {
		v.writes = nil
		v.status.SetText(err.Error())
		v.status.Importance = widget.DangerImportance
	} else {
		v.writes = runner.DryRun(l.Scenario)
		v.status.SetText(fmt.Sprintf("%s: valid; %d steps, %d writes, point map %s", l.Name, len(l.Steps), len(v.writes), l.PointMap))
		v.status.Importance = widget.MediumImportance
	}
	v.status.Refresh()
	v.dry.Refresh()
}
