package workspace

import (
	"archive/zip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/scenarios"
)

// TestSeedFiles: the first start copies every shipped scenario and point map; a later start
// keeps what the engineer changed and adds a shipped file that is missing (as one a newer
// version ships).
func TestSeedFiles(t *testing.T) {
	w := openTest(t) // Open seeds
	shipped, _ := fs.Glob(scenarios.FS, "*.yaml")
	maps, _ := fs.Glob(scenarios.FS, "pointmaps/*.yaml")
	sc, err := w.ScenarioFiles()
	if err != nil || len(sc) != len(shipped) {
		t.Fatalf("%d scenarios in the workspace (%v), %d shipped", len(sc), err, len(shipped))
	}
	pm, err := w.PointMapFiles()
	if err != nil || len(pm) != len(maps) {
		t.Fatalf("%d point maps in the workspace (%v), %d shipped", len(pm), err, len(maps))
	}
	for _, f := range sc {
		want, _ := scenarios.FS.ReadFile(f.Name)
		if string(f.Data) != string(want) {
			t.Errorf("%s is not the shipped text", f.Name)
		}
	}
	edited := filepath.Join(w.ScenariosFolder(), "tank-alarm-trip.yaml")
	if err := os.WriteFile(edited, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(w.PointMapsFolder(), "heater.yaml")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	copied, err := w.SeedFiles() // the next start
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(copied, []string{filepath.Join(PointMapsDir, "heater.yaml")}) {
		t.Errorf("the second start copied %v, want only the missing heater.yaml", copied)
	}
	if b, _ := os.ReadFile(edited); string(b) != "# mine\n" {
		t.Errorf("the edited scenario was overwritten: %q", b)
	}
	if _, err := os.Stat(gone); err != nil {
		t.Errorf("the missing point map was not copied: %v", err)
	}
	// every seeded scenario compiles from the workspace folder, its point map beside it
	for _, f := range sc {
		if f.Name == "tank-alarm-trip.yaml" {
			continue
		}
		if _, err := w.LoadScenario(f.Name); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
}

// TestSaveScenario: saving keeps the engineer's text and never the other program's loss: a
// file changed or deleted on disk since it was opened is not overwritten, a new file never
// replaces one.
func TestSaveScenario(t *testing.T) {
	w := &Workspace{Dir: t.TempDir()}
	if _, err := w.SeedFiles(); err != nil {
		t.Fatal(err)
	}
	f, err := w.ReadScenario("tank-soak") // .yaml added
	if err != nil {
		t.Fatal(err)
	}
	mine := append(slices.Clone(f.Data), "# edited\n"...)
	saved, err := w.SaveScenario(f.Name, mine, f.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.Path); string(b) != string(mine) || saved.SHA256 == f.SHA256 {
		t.Fatalf("saved text %q", b)
	}
	// another program changes it: saving over it is refused and its text stays
	if err := os.WriteFile(f.Path, []byte("# theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SaveScenario(f.Name, []byte("# mine again\n"), saved.SHA256); !errors.Is(err, ErrChangedOnDisk) || !strings.Contains(err.Error(), "Duplicate") {
		t.Errorf("save over a changed file: %v", err)
	}
	if b, _ := os.ReadFile(f.Path); string(b) != "# theirs\n" {
		t.Errorf("the changed file was overwritten: %q", b)
	}
	os.Remove(f.Path)
	if _, err := w.SaveScenario(f.Name, mine, saved.SHA256); !errors.Is(err, ErrChangedOnDisk) || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("save over a deleted file: %v", err)
	}
	if _, err := w.SaveScenario("tank-alarm-trip.yaml", mine, ""); !errors.Is(err, ErrFileExists) {
		t.Errorf("a new file over an existing one: %v", err)
	}
	for _, bad := range []string{"", " ", "../x.yaml", "a/b.yaml", ".hidden.yaml", `c:\x.yaml`, ".yaml"} {
		if _, err := w.SaveScenario(bad, mine, ""); err == nil {
			t.Errorf("file name %q accepted", bad)
		}
	}
	if names, _ := os.ReadDir(w.ScenariosFolder()); slices.ContainsFunc(names, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), ".") }) {
		t.Error("a temporary file was left behind")
	}
}

// TestNewAndDuplicate: a duplicate takes the name of its file; a new file and the starter of
// every point map compile from the workspace folder.
func TestNewAndDuplicate(t *testing.T) {
	w := &Workspace{Dir: t.TempDir()}
	if _, err := w.SeedFiles(); err != nil {
		t.Fatal(err)
	}
	f, _ := w.ReadScenario("tank-alarm-trip.yaml")
	d, err := w.DuplicateScenario(f.Data, "my trip")
	if err != nil {
		t.Fatal(err)
	}
	l, err := w.LoadScenario(d.Name)
	if err != nil || d.Name != "my trip.yaml" || l.Name != "my trip" {
		t.Fatalf("duplicate %q named %v, %v", d.Name, l, err)
	}
	if _, err := w.DuplicateScenario(f.Data, "my trip.yaml"); !errors.Is(err, ErrFileExists) {
		t.Errorf("a second duplicate of that name: %v", err)
	}
	n, err := w.NewScenario("blank")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := w.LoadScenario(n.Name); err != nil || l.Name != "blank" {
		t.Errorf("new scenario: %v %v\n%s", l, err, n.Data)
	}
	maps, _ := w.PointMapFiles()
	for _, m := range maps {
		s, err := w.NewScenarioFromMap(m.Name, StarterName(m.Name))
		if err != nil {
			t.Fatal(err)
		}
		l, err := w.LoadScenario(s.Name)
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.Name, err, s.Data)
		}
		if l.PointMap != m.Name || len(l.Sample.Tags) != len(l.Points.Points) || len(l.Allow) != 0 {
			t.Errorf("%s: point map %s, %d of %d tags, allow %v", s.Name, l.PointMap, len(l.Sample.Tags), len(l.Points.Points), l.Allow)
		}
	}
	if _, err := w.NewScenarioFromMap("nope.yaml", "x.yaml"); err == nil {
		t.Error("a starter of a point map that is not there")
	}
}

// bundleFile reads one file of an evidence bundle.
func bundleFile(t *testing.T, path, prefix string) (string, string) {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		if strings.HasPrefix(f.Name, prefix) {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			r.Close()
			return strings.TrimPrefix(f.Name, prefix), string(b)
		}
	}
	t.Fatalf("%s holds no %s", path, prefix)
	return "", ""
}

// TestValidateWorkspaceScenario validates a scenario that only the workspace holds on the
// embedded stations (the real protocols, real time), through the point map of the engineer's
// target, then deletes both files: the register still rebuilds, exports and re-exports the
// bundle with the texts as run.
func TestValidateWorkspaceScenario(t *testing.T) {
	ctx := t.Context()
	w := openTest(t)
	const text = `version: 1
name: tank-mine
description: a few seconds of the tank at rest
points: pointmaps/tank.yaml
sample:
  period: 100ms
  tags: [Level, AlarmHigh, ScanCount]
steps:
  - wait: 1s
  - expect: not AlarmHigh
    id: no_alarm
`
	if _, err := w.SaveScenario("tank-mine.yaml", []byte(text), ""); err != nil {
		t.Fatal(err)
	}
	// the engineer's own copy of the tank map, named by a target on the before station
	own, _ := os.ReadFile(filepath.Join(w.PointMapsFolder(), "tank.yaml"))
	own = []byte(strings.Replace(string(own), "name: tank\n", "name: tank-bench\n", 1))
	ownPath := filepath.Join(w.PointMapsFolder(), "tank-bench.yaml")
	if err := os.WriteFile(ownPath, own, 0o644); err != nil {
		t.Fatal(err)
	}
	sts := w.Stations()
	if _, err := w.AddTarget(Target{Name: "Bench tank", URL: sts[0].ModbusURL(), PointMap: "pointmaps/tank-bench.yaml"}); err != nil {
		t.Fatal(err)
	}
	res, err := w.Validate(ctx, Request{Scenario: "tank-mine.yaml", Before: sts[0].ModbusURL(), After: sts[1].ModbusURL(), Patch: DemoPatchID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Validation == "" || res.Record.PointMap != "tank-bench" || res.Scenario.PointMap != "tank-bench.yaml" {
		t.Fatalf("validation %q through point map %q (%s)", res.Validation, res.Record.PointMap, res.Scenario.PointMap)
	}
	os.Remove(filepath.Join(w.ScenariosFolder(), "tank-mine.yaml"))
	os.Remove(ownPath)
	var sums []string
	for range 2 { // export, and export again
		path, sum, err := w.ExportValidation(ctx, res.Validation)
		if err != nil {
			t.Fatal(err)
		}
		if c := w.VerifyValidation(ctx, res.Validation); !c.OK {
			t.Fatal(c.Text)
		}
		if name, got := bundleFile(t, path, "scenario/"); name != "tank-mine.yaml" || got != text {
			t.Errorf("the bundle's scenario %s:\n%s", name, got)
		}
		if name, got := bundleFile(t, path, "pointmap/"); name != "tank-bench.yaml" || got != string(own) {
			t.Errorf("the bundle's point map %s is not the target's as run", name)
		}
		sums = append(sums, sum)
	}
	if len(sums) != 2 || sums[0] == "" {
		t.Errorf("exports %v", sums)
	}
	// two targets that read through different point maps cannot be compared
	if err := os.WriteFile(ownPath, own, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddTarget(Target{Name: "Other", URL: sts[1].ModbusURL(), PointMap: "heater"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RequestScenario(Request{Scenario: "tank-alarm-trip.yaml", Before: sts[0].ModbusURL(), After: sts[1].ModbusURL()}); !errors.Is(err, validation.ErrBadInput) {
		t.Errorf("two point maps: %v", err)
	}
}
