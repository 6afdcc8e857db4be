package gui

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/runner"
)

// ShortcutSave saves the scenario open on the Scenarios tab (Ctrl+S; Cmd+S on macOS).
var ShortcutSave = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}

// scenariosView is the Scenarios tab: the scenarios of the workspace folder, the YAML of the
// open one in an editor that checks it while typing (errors at file:line:column), a dry run
// of the writes it would make, and the file commands: Save, Duplicate, New, and New from
// point map (a starter scenario that reads every tag). Edits not saved yet are kept per file
// while another file is open, so switching files loses no text; the list marks them.
type scenariosView struct {
	ui      *UI
	content fyne.CanvasObject
	files   []workspace.File
	drafts  map[string]string // unsaved text by file name
	list    *widget.List
	file    *widget.Label // the open file and whether it is saved
	yaml    *yamlEntry
	status  *widget.Label
	writes  []runner.PlannedWrite
	dry     *widget.List
	current string // the open file's name; "" when none

	save, duplicate, newFile, fromMap *widget.Button
	prompt                            *dialog.FormDialog // the name prompt while shown (tests fill and submit it)
	promptName                        *widget.Entry
	promptMap                         *widget.Select
	loading                           bool // SetText of a file being opened, not an edit
}

// yamlEntry is the scenario editor: a monospace multi-line entry that passes Ctrl+S to the
// tab (a focused entry gets every shortcut before the window does).
type yamlEntry struct {
	widget.Entry
	onSave func()
}

func newYAMLEntry(onSave func()) *yamlEntry {
	e := &yamlEntry{onSave: onSave}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapOff
	e.TextStyle.Monospace = true
	e.ExtendBaseWidget(e)
	return e
}

func (e *yamlEntry) TypedShortcut(s fyne.Shortcut) {
	if s.ShortcutName() == ShortcutSave.ShortcutName() {
		e.onSave()
		return
	}
	e.Entry.TypedShortcut(s)
}

func newScenarios(u *UI) *scenariosView {
	v := &scenariosView{ui: u, drafts: map[string]string{}}
	v.list = widget.NewList(func() int { return len(v.files) },
		func() fyne.CanvasObject { return widget.NewLabel("● conveyor-restart-retain.yaml") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.listLabel(i)) })
	v.list.OnSelected = v.onSelected
	v.yaml = newYAMLEntry(v.onSave)
	v.yaml.OnChanged = v.onEdited
	v.file = widget.NewLabel("")
	v.file.Truncation = fyne.TextTruncateEllipsis
	v.status = widget.NewLabel("Select a scenario.")
	v.status.Wrapping = fyne.TextWrapWord
	v.dry = widget.NewList(func() int { return len(v.writes) },
		func() fyne.CanvasObject { return widget.NewLabel("step 10 setup InletValve = false") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.writes[i].String()) })
	v.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), v.onSave)
	v.duplicate = widget.NewButtonWithIcon("Duplicate", theme.ContentCopyIcon(), v.onDuplicate)
	v.newFile = widget.NewButtonWithIcon("New", theme.ContentAddIcon(), v.onNew)
	v.fromMap = widget.NewButtonWithIcon("From point map", theme.ListIcon(), v.onFromMap)
	right := container.NewBorder(
		container.NewVBox(widget.NewLabelWithStyle("Dry run: the writes a run makes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.status),
		nil, nil, nil, v.dry)
	editor := container.NewBorder(container.NewBorder(nil, nil, nil, container.NewHBox(v.save, v.duplicate), v.file), nil, nil, nil, v.yaml)
	split := container.NewHSplit(editor, right)
	split.Offset = 0.62
	folder := widget.NewLabel("Workspace " + workspace.ScenariosDir + string(filepath.Separator))
	folder.TextStyle.Bold = true
	left := container.NewBorder(container.NewVBox(folder, container.NewGridWithColumns(2, v.newFile, v.fromMap)), nil, nil, nil, v.list)
	outer := container.NewHSplit(left, split)
	outer.Offset = 0.22
	v.content = outer
	v.reload(DefaultScenario)
	return v
}

// listLabel is file i as the list shows it: marked when it has unsaved edits.
func (v *scenariosView) listLabel(i int) string {
	n := v.files[i].Name
	if _, ok := v.drafts[n]; ok {
		return "● " + n
	}
	return n
}

// reload lists the workspace's scenarios again and opens name (the open file when "").
func (v *scenariosView) reload(name string) {
	files, err := v.ui.ws.ScenarioFiles()
	v.files = files
	v.list.Refresh()
	if err != nil {
		v.setStatus(err.Error(), widget.DangerImportance)
	}
	if name == "" {
		name = v.current
	}
	if i := slices.IndexFunc(v.files, func(f workspace.File) bool { return f.Name == name }); i >= 0 {
		v.list.UnselectAll() // the list selects nothing when i is the row already selected
		v.list.Select(i)
	} else if len(v.files) > 0 && v.current == "" {
		v.list.Select(0)
	}
	if v.ui.Validate != nil {
		v.ui.Validate.reloadScenarios()
	}
}

// index is the position of the open file in files, -1 when none.
func (v *scenariosView) index() int {
	return slices.IndexFunc(v.files, func(f workspace.File) bool { return f.Name == v.current })
}

func (v *scenariosView) onSelected(i widget.ListItemID) {
	if i < 0 || i >= len(v.files) {
		return
	}
	f := v.files[i]
	v.current = f.Name
	text, ok := v.drafts[f.Name]
	if !ok {
		text = string(f.Data)
	}
	v.loading = true
	v.yaml.SetText(text) // calls onEdited
	v.loading = false
	v.onEdited(text)
}

// onEdited compiles the text in the editor: errors at line:column, or the dry run.
func (v *scenariosView) onEdited(text string) {
	if v.loading {
		return
	}
	name := "scenario"
	if i := v.index(); i >= 0 {
		name = v.files[i].Name
		if text != string(v.files[i].Data) {
			v.drafts[name] = text
		} else {
			delete(v.drafts, name)
		}
		v.list.RefreshItem(i)
	}
	v.showFile()
	l, err := v.ui.ws.ParseScenario(name, []byte(text))
	if err != nil {
		v.writes = nil
		v.setStatus(err.Error(), widget.DangerImportance)
	} else {
		v.writes = runner.DryRun(l.Scenario)
		v.setStatus(fmt.Sprintf("%s: valid; %d steps, %d writes, point map %s", l.Name, len(l.Steps), len(v.writes), l.PointMap), widget.MediumImportance)
	}
	v.dry.Refresh()
}

// showFile says which file is open and whether it is saved.
func (v *scenariosView) showFile() {
	if v.current == "" {
		v.file.SetText("no scenario open")
		v.save.Disable()
		v.duplicate.Disable()
		return
	}
	v.duplicate.Enable()
	if _, dirty := v.drafts[v.current]; dirty {
		v.file.SetText(v.current + " (edited, not saved)")
		v.save.Enable()
	} else {
		v.file.SetText(v.current)
		v.save.Disable()
	}
}

func (v *scenariosView) setStatus(text string, imp widget.Importance) {
	v.status.Importance = imp
	v.status.SetText(text)
}

// onSave writes the editor's text to the open file, unless the file changed on disk since
// it was opened: then nothing is written and the text stays in the editor, to be kept with
// Duplicate.
func (v *scenariosView) onSave() {
	i := v.index()
	if i < 0 {
		return
	}
	f := v.files[i]
	text := v.yaml.Text
	saved, err := v.ui.ws.SaveScenario(f.Name, []byte(text), f.SHA256)
	if err != nil {
		msg := "not saved: " + err.Error()
		v.setStatus(msg, widget.DangerImportance)
		if errors.Is(err, workspace.ErrChangedOnDisk) {
			dialog.ShowError(errors.New(msg), v.ui.win)
		}
		return
	}
	v.files[i] = saved
	delete(v.drafts, f.Name)
	v.list.RefreshItem(i)
	v.onEdited(text)
	v.setStatus("saved "+saved.Path+"; "+v.status.Text, v.status.Importance)
	if v.ui.Validate != nil {
		v.ui.Validate.reloadScenarios()
	}
}

// askName shows a form asking a file name (and a point map when maps is not nil); ok gets
// what was entered. The dialog stays in v.prompt while shown.
func (v *scenariosView) askName(title, confirm, name string, maps []string, ok func(name, pointMap string) error) {
	v.promptName = widget.NewEntry()
	v.promptName.SetText(name)
	items := []*widget.FormItem{widget.NewFormItem("File name", v.promptName)}
	v.promptMap = nil
	if maps != nil {
		v.promptMap = widget.NewSelect(maps, func(m string) { v.promptName.SetText(workspace.StarterName(m)) })
		items = append([]*widget.FormItem{widget.NewFormItem("Point map", v.promptMap)}, items...)
		if len(maps) > 0 {
			v.promptMap.SetSelectedIndex(0)
		}
	}
	help := widget.NewFormItem("", widget.NewLabel("in "+v.ui.ws.ScenariosFolder()))
	items = append(items, help)
	d := dialog.NewForm(title, confirm, "Cancel", items, func(yes bool) {
		v.prompt = nil
		if !yes {
			return
		}
		pm := ""
		if v.promptMap != nil {
			pm = v.promptMap.Selected
		}
		if err := ok(v.promptName.Text, pm); err != nil {
			v.setStatus(err.Error(), widget.DangerImportance)
			dialog.ShowError(err, v.ui.win)
		}
	}, v.ui.win)
	d.Resize(fyne.NewSize(520, 0))
	v.prompt = d
	d.Show()
}

// created lists the files again and opens f.
func (v *scenariosView) created(f workspace.File) error {
	v.reload(f.Name)
	v.setStatus("created "+f.Path+"; "+v.status.Text, v.status.Importance)
	return nil
}

// onDuplicate saves the open text, edits included, as a new file with its own name.
func (v *scenariosView) onDuplicate() {
	if v.current == "" {
		return
	}
	stem := strings.TrimSuffix(strings.TrimSuffix(v.current, ".yaml"), ".yml")
	text := v.yaml.Text
	v.askName("Duplicate "+v.current, "Duplicate", stem+"-copy.yaml", nil, func(name, _ string) error {
		f, err := v.ui.ws.DuplicateScenario([]byte(text), name)
		if err != nil {
			return err
		}
		return v.created(f)
	})
}

// onNew makes a new scenario file from a small template.
func (v *scenariosView) onNew() {
	v.askName("New scenario", "Create", "new-scenario.yaml", nil, func(name, _ string) error {
		f, err := v.ui.ws.NewScenario(name)
		if err != nil {
			return err
		}
		return v.created(f)
	})
}

// onFromMap makes the starter scenario of a point map of the workspace.
func (v *scenariosView) onFromMap() {
	maps, err := v.ui.ws.PointMapFiles()
	if err != nil {
		v.setStatus(err.Error(), widget.DangerImportance)
		return
	}
	names := []string{}
	for _, m := range maps {
		names = append(names, m.Name)
	}
	if len(names) == 0 {
		v.setStatus("no point map in "+v.ui.ws.PointMapsFolder(), widget.DangerImportance)
		return
	}
	v.askName("New scenario from point map", "Create", workspace.StarterName(names[0]), names, func(name, pm string) error {
		if pm == "" {
			return errors.New("choose a point map")
		}
		f, err := v.ui.ws.NewScenarioFromMap(pm, name)
		if err != nil {
			return err
		}
		return v.created(f)
	})
}
