package workspace

// The engineer's files: the workspace folder holds scenarios/ and pointmaps/, seeded with the
// shipped ones on first start and theirs from then on. A scenario there names its point map
// as the shipped ones do (points: pointmaps/tank.yaml), which scenario.ResolvePoints finds
// beside the scenarios folder; the CLI reads the same files the same way.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/scenarios"
)

// The folders of the workspace that hold the engineer's files.
const (
	ScenariosDir = "scenarios"
	PointMapsDir = "pointmaps"
)

// File is a scenario or point map file of the workspace folder.
type File struct {
	Name string // file name in its folder, e.g. tank-alarm-trip.yaml
	Path string
	Data []byte
	// SHA256 is of Data: what Save compares to see whether the file changed on disk since it
	// was read.
	SHA256 string
}

func newFile(p string, data []byte) File {
	h := sha256.Sum256(data)
	return File{Name: filepath.Base(p), Path: p, Data: data, SHA256: hex.EncodeToString(h[:])}
}

// Errors the Scenarios tab shows as they are.
var (
	// ErrChangedOnDisk: the file changed on disk since it was read; it is not overwritten.
	ErrChangedOnDisk = errors.New("the file changed on disk since it was opened")
	// ErrFileExists: a new file would replace one that exists.
	ErrFileExists = errors.New("a file of that name exists")
)

// ScenariosFolder is the folder of the workspace's scenarios.
func (w *Workspace) ScenariosFolder() string { return filepath.Join(w.Dir, ScenariosDir) }

// PointMapsFolder is the folder of the workspace's point maps.
func (w *Workspace) PointMapsFolder() string { return filepath.Join(w.Dir, PointMapsDir) }

// SeedFiles copies each shipped scenario and point map into the workspace folder unless a
// file of its name is there: a file the engineer changed (or made) stays as it is, and a
// file a newer patchgate ships is added. Open calls it. It returns the files it copied.
func (w *Workspace) SeedFiles() ([]string, error) {
	var copied []string
	for _, s := range []struct{ glob, dir string }{{"*.yaml", ScenariosDir}, {"pointmaps/*.yaml", PointMapsDir}} {
		names, _ := fs.Glob(scenarios.FS, s.glob)
		dir := filepath.Join(w.Dir, s.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return copied, fmt.Errorf("workspace %s folder: %w", s.dir, err)
		}
		for _, n := range names {
			p := filepath.Join(dir, path.Base(n))
			if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
				continue // there (or unreadable): never overwritten
			}
			data, err := scenarios.FS.ReadFile(n)
			if err != nil {
				return copied, err
			}
			if err := writeNew(p, data); err != nil && !errors.Is(err, fs.ErrExist) {
				return copied, fmt.Errorf("copying the shipped %s: %w", n, err)
			}
			copied = append(copied, filepath.Join(s.dir, path.Base(n)))
		}
	}
	return copied, nil
}

// writeNew writes data to p, which must not exist (fs.ErrExist), through a temporary file
// so that p is never seen half written.
func writeNew(p string, data []byte) error {
	tmp, err := writeTemp(p, data)
	if err != nil {
		return err
	}
	err = os.Link(tmp, p) // fails when p exists, unlike a rename
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// a file system without hard links: check, then rename (racy only against
		// another program making the same name in the same instant)
		switch _, serr := os.Lstat(p); {
		case errors.Is(serr, fs.ErrNotExist):
			err = os.Rename(tmp, p)
		case serr == nil:
			err = fs.ErrExist
		}
	}
	os.Remove(tmp)
	return err
}

// yamlFiles lists the .yaml and .yml files of dir, by name.
func yamlFiles(dir string) ([]File, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []File
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") || !isYAMLFile(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return out, err
		}
		out = append(out, newFile(p, data))
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ScenarioFiles lists the scenarios of the workspace folder, by name.
func (w *Workspace) ScenarioFiles() ([]File, error) {
	files, err := yamlFiles(w.ScenariosFolder())
	if err != nil {
		return files, fmt.Errorf("scenarios in %s: %w", w.ScenariosFolder(), err)
	}
	return files, nil
}

// PointMapFiles lists the point maps of the workspace folder, by name.
func (w *Workspace) PointMapFiles() ([]File, error) {
	files, err := yamlFiles(w.PointMapsFolder())
	if err != nil {
		return files, fmt.Errorf("point maps in %s: %w", w.PointMapsFolder(), err)
	}
	return files, nil
}

// fileName checks a file name typed by the engineer: one name, no folder, .yaml added when
// it has no .yaml or .yml ending.
func fileName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !isYAMLFile(name) {
		name += ".yaml"
	}
	switch base := strings.TrimSuffix(strings.TrimSuffix(name, ".yaml"), ".yml"); {
	case base == "" || base == ".yaml":
		return "", errors.New("no file name; expected a name such as tank-my-test.yaml")
	case strings.ContainsAny(name, `/\:*?"<>|`) || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "\r\n\t"):
		return "", fmt.Errorf("file name %q; expected a name without a folder, a leading dot or any of / \\ : * ? \" < > |", name)
	}
	return name, nil
}

// ReadScenario reads the scenario file name of the workspace.
func (w *Workspace) ReadScenario(name string) (File, error) {
	n, err := fileName(name)
	if err != nil {
		return File{}, err
	}
	p := filepath.Join(w.ScenariosFolder(), n)
	data, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return File{}, fmt.Errorf("scenario %s: %w in %s", n, ErrNoScenario, w.ScenariosFolder())
		}
		return File{}, fmt.Errorf("scenario %s: %w", n, err)
	}
	return newFile(p, data), nil
}

// SaveScenario writes data as scenario name and returns the file as saved. base is the
// SHA-256 of the file as it was read (File.SHA256), and the file is written only when it
// still has it: a file changed on disk since is not overwritten (ErrChangedOnDisk). An
// empty base makes a new file, refused when one of that name exists (ErrFileExists). The
// text need not be a valid scenario: the engineer may save work in progress.
func (w *Workspace) SaveScenario(name string, data []byte, base string) (File, error) {
	n, err := fileName(name)
	if err != nil {
		return File{}, err
	}
	if err := os.MkdirAll(w.ScenariosFolder(), 0o755); err != nil {
		return File{}, err
	}
	p := filepath.Join(w.ScenariosFolder(), n)
	filesMu.Lock()
	defer filesMu.Unlock()
	if base == "" {
		if err := writeNew(p, data); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return File{}, fmt.Errorf("%s: %w in %s; choose another name", n, ErrFileExists, w.ScenariosFolder())
			}
			return File{}, fmt.Errorf("saving %s: %w", n, err)
		}
		return newFile(p, data), nil
	}
	cur, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return File{}, fmt.Errorf("%s: %w: it was deleted; save it under a name (Duplicate) to keep your text", n, ErrChangedOnDisk)
	case err != nil:
		return File{}, fmt.Errorf("saving %s: %w", n, err)
	case newFile(p, cur).SHA256 != base:
		return File{}, fmt.Errorf("%s: %w by another program; your text is not saved over it: Duplicate keeps it under another name, or reopen the file to see the other version", n, ErrChangedOnDisk)
	}
	if err := writeAtomic(p, data); err != nil {
		return File{}, fmt.Errorf("saving %s: %w", n, err)
	}
	return newFile(p, data), nil
}

// filesMu serialises the check-then-write of SaveScenario within this process.
var filesMu = new(sync.Mutex)

// nameLine is a scenario's top-level name: line.
var nameLine = regexp.MustCompile(`(?m)^name:[ \t]*[^\r\n#]*`)

// renamed gives scenario text the name of its new file (the stem): stored runs are found
// by a scenario's name, so a copy must not share it.
func renamed(data []byte, file string) []byte {
	stem := strings.TrimSuffix(strings.TrimSuffix(file, ".yaml"), ".yml")
	done := false
	return nameLine.ReplaceAllFunc(data, func(m []byte) []byte {
		if done {
			return m
		}
		done = true
		return []byte("name: " + quoteName(stem))
	})
}

// quoteName quotes a scenario name when YAML would read it as something else.
func quoteName(s string) string {
	if regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`).MatchString(s) && !slices.Contains([]string{"true", "false", "yes", "no", "on", "off", "null"}, strings.ToLower(s)) {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// DuplicateScenario saves text (the open scenario, edits included) as the new file name,
// with the scenario's name: set to the file's. A file of that name is never replaced.
func (w *Workspace) DuplicateScenario(data []byte, name string) (File, error) {
	n, err := fileName(name)
	if err != nil {
		return File{}, err
	}
	return w.SaveScenario(n, renamed(data, n), "")
}

// NewScenario makes scenario file name from a small template on the first point map of the
// workspace (tank.yaml when there): it reads two tags for ten seconds.
func (w *Workspace) NewScenario(name string) (File, error) {
	n, err := fileName(name)
	if err != nil {
		return File{}, err
	}
	pm := "tank.yaml"
	maps, _ := w.PointMapFiles()
	if len(maps) > 0 && !slices.ContainsFunc(maps, func(f File) bool { return f.Name == pm }) {
		pm = maps[0].Name
	}
	tags := "[Level, ScanCount]"
	if pmap, err := point.Parse(pm, w.pointMapData(pm)); err == nil && pm != "tank.yaml" {
		var ts []string
		for _, p := range pmap.Points[:min(2, len(pmap.Points))] {
			ts = append(ts, p.Tag)
		}
		tags = "[" + strings.Join(ts, ", ") + "]"
	}
	stem := strings.TrimSuffix(strings.TrimSuffix(n, ".yaml"), ".yml")
	text := fmt.Sprintf(`# A new scenario: the format is in docs/scenario-format.md.
version: 1
name: %s
description: ""
points: %s/%s
sample:
  period: 100ms
  tags: %s
steps:
  - wait: 10s
`, quoteName(stem), PointMapsDir, pm, tags)
	return w.SaveScenario(n, []byte(text), "")
}

func (w *Workspace) pointMapData(name string) []byte {
	d, _ := os.ReadFile(filepath.Join(w.PointMapsFolder(), name))
	return d
}

// NewScenarioFromMap makes scenario file name as the starter scenario of the workspace's
// point map mapName (scenario.Starter): every tag read, the plant held at rest for a minute,
// the scan period when the map has a cycle counter. Nothing in it writes.
func (w *Workspace) NewScenarioFromMap(mapName, name string) (File, error) {
	mn, err := fileName(mapName)
	if err != nil {
		return File{}, fmt.Errorf("point map: %w", err)
	}
	n, err := fileName(name)
	if err != nil {
		return File{}, err
	}
	p := filepath.Join(w.PointMapsFolder(), mn)
	m, err := point.Load(p)
	if err != nil {
		return File{}, err
	}
	stem := strings.TrimSuffix(strings.TrimSuffix(n, ".yaml"), ".yml")
	return w.SaveScenario(n, scenario.Starter(m, stem, PointMapsDir+"/"+mn), "")
}

// StarterName is the file name the Scenarios tab proposes for the starter of point map
// file mapName: tank.yaml gives tank-starter.yaml.
func StarterName(mapName string) string {
	return strings.TrimSuffix(strings.TrimSuffix(mapName, ".yaml"), ".yml") + "-starter.yaml"
}

// pointsReader reads the point map a scenario of the workspace names, as the CLI would read
// it for the scenario file at scenarioPath (scenario.ResolvePoints).
func pointsReader(scenarioPath string) validation.PointsReader {
	return func(pm string) (string, []byte, error) {
		if pm == "" {
			return "", nil, errors.New("the scenario names no point map (points:)")
		}
		p := scenario.ResolvePoints(scenarioPath, pm)
		data, err := os.ReadFile(p)
		if err != nil {
			return "", nil, fmt.Errorf("point map %s: %w", pm, err)
		}
		return p, data, nil
	}
}

// LoadScenario compiles the workspace's scenario file name with the point map it names;
// errors carry file:line:column.
func (w *Workspace) LoadScenario(name string) (*Loaded, error) {
	f, err := w.ReadScenario(name)
	if err != nil {
		return nil, err
	}
	return w.ParseScenario(f.Name, f.Data)
}

// ParseScenario compiles text as the workspace's scenario file name (saved or not): its
// point map is read from the workspace folder.
func (w *Workspace) ParseScenario(name string, data []byte) (*Loaded, error) {
	return validation.Parse(name, data, pointsReader(filepath.Join(w.ScenariosFolder(), filepath.Base(name))))
}
