package gui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
)

// open opens scenario file name on the Scenarios tab.
func (v *scenariosView) open(t *testing.T, name string) {
	t.Helper()
	i := slices.IndexFunc(v.files, func(f workspace.File) bool { return f.Name == name })
	if i < 0 {
		t.Fatalf("the Scenarios tab lists no %s", name)
	}
	v.list.Select(i)
	if v.current != name {
		t.Fatalf("opened %q, want %s", v.current, name)
	}
}

// TestScenariosSave edits a workspace scenario and saves it with Ctrl+S in the editor and
// from the window; a file changed on disk since it was opened is not saved over, and the
// text stays in the editor; switching files keeps unsaved text.
func TestScenariosSave(t *testing.T) {
	h := newHarness(t)
	h.selectTab("Scenarios")
	v := h.ui.Scen
	v.open(t, "tank-soak.yaml")
	path := filepath.Join(h.ws.ScenariosFolder(), "tank-soak.yaml")
	if !v.save.Disabled() {
		t.Error("Save is enabled on a file just opened")
	}
	edited := v.yaml.Text + "# edited on the bench\n"
	v.yaml.SetText(edited)
	if v.save.Disabled() || !strings.Contains(v.file.Text, "not saved") || !strings.HasPrefix(v.listLabel(v.index()), "● ") {
		t.Errorf("after an edit: Save disabled %v, file %q, list %q", v.save.Disabled(), v.file.Text, v.listLabel(v.index()))
	}
	// another file and back: the edit is kept
	v.open(t, "tank-alarm-trip.yaml")
	v.open(t, "tank-soak.yaml")
	if v.yaml.Text != edited {
		t.Fatal("switching files lost the unsaved text")
	}
	v.yaml.TypedShortcut(ShortcutSave) // Ctrl+S with the editor focused
	if b, _ := os.ReadFile(path); string(b) != edited {
		t.Fatalf("Ctrl+S in the editor did not save: %q", b)
	}
	if !v.save.Disabled() || strings.HasPrefix(v.listLabel(v.index()), "● ") || !strings.Contains(v.status.Text, "saved ") {
		t.Errorf("after saving: Save disabled %v, list %q, status %q", v.save.Disabled(), v.listLabel(v.index()), v.status.Text)
	}
	v.yaml.SetText(edited + "# twice\n")
	h.press(ShortcutSave) // Ctrl+S from the window
	if b, _ := os.ReadFile(path); string(b) != edited+"# twice\n" {
		t.Fatalf("Ctrl+S from the window did not save: %q", b)
	}
	// another program changes the file: Save refuses and keeps both texts
	if err := os.WriteFile(path, []byte("# theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.yaml.SetText(edited + "# mine\n")
	test.Tap(v.save)
	if b, _ := os.ReadFile(path); string(b) != "# theirs\n" {
		t.Errorf("saved over a file changed on disk: %q", b)
	}
	if !strings.Contains(v.status.Text, "changed on disk") || v.status.Importance != widget.DangerImportance || v.yaml.Text != edited+"# mine\n" {
		t.Errorf("refused save: status %q, editor kept %v", v.status.Text, v.yaml.Text == edited+"# mine\n")
	}
}

// TestScenariosDuplicateNewFromMap: Duplicate, New and New from point map each prompt for a
// name, write a file the Validate tab offers at once, and open it; the starter compiles and
// writes nothing.
func TestScenariosDuplicateNewFromMap(t *testing.T) {
	h := newHarness(t)
	h.selectTab("Scenarios")
	v := h.ui.Scen
	v.open(t, DefaultScenario)
	v.yaml.SetText(strings.Replace(v.yaml.Text, "repeat: 1", "repeat: 2", 1)) // duplicated with the edit
	test.Tap(v.duplicate)
	if v.prompt == nil || v.promptName.Text != "tank-alarm-trip-copy.yaml" {
		t.Fatalf("Duplicate prompt %v with %q", v.prompt != nil, v.promptName.Text)
	}
	v.promptName.SetText("my-trip")
	v.prompt.Submit()
	if v.current != "my-trip.yaml" || !strings.Contains(v.yaml.Text, "repeat: 2") || !strings.Contains(v.yaml.Text, "name: my-trip\n") {
		t.Fatalf("after Duplicate: open %q\n%s", v.current, v.yaml.Text)
	}
	if !strings.Contains(v.status.Text, "my-trip: valid") {
		t.Errorf("duplicate status %q", v.status.Text)
	}
	// the original keeps its unsaved edit, the copy is on disk
	if b, _ := os.ReadFile(filepath.Join(h.ws.ScenariosFolder(), "my-trip.yaml")); !strings.Contains(string(b), "repeat: 2") {
		t.Errorf("the copy on disk:\n%s", b)
	}
	test.Tap(v.duplicate) // a name that exists is refused, nothing replaced
	v.promptName.SetText("tank-soak.yaml")
	v.prompt.Submit()
	if !strings.Contains(v.status.Text, "exists") {
		t.Errorf("duplicate over an existing file: %q", v.status.Text)
	}

	test.Tap(v.newFile)
	v.promptName.SetText("blank")
	v.prompt.Submit()
	if v.current != "blank.yaml" || !strings.Contains(v.status.Text, "blank: valid") {
		t.Errorf("after New: open %q, status %q", v.current, v.status.Text)
	}

	test.Tap(v.fromMap)
	if v.promptMap == nil || len(v.promptMap.Options) < 6 {
		t.Fatalf("the point map choice: %v", v.promptMap)
	}
	v.promptMap.SetSelected("conveyor.yaml")
	if v.promptName.Text != "conveyor-starter.yaml" {
		t.Errorf("proposed name %q", v.promptName.Text)
	}
	v.prompt.Submit()
	if v.current != "conveyor-starter.yaml" || !strings.Contains(v.status.Text, "conveyor-starter: valid") || !strings.Contains(v.status.Text, " 0 writes") ||
		!strings.Contains(v.yaml.Text, "kind: scan_period") {
		t.Errorf("after From point map: open %q, status %q\n%s", v.current, v.status.Text, v.yaml.Text)
	}
	for _, n := range []string{"my-trip.yaml", "blank.yaml", "conveyor-starter.yaml"} {
		if !slices.Contains(h.ui.Validate.scenario.Options, n) {
			t.Errorf("the Validate tab does not offer %s: %v", n, h.ui.Validate.scenario.Options)
		}
	}
}
