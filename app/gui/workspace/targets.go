package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/harness/yamlfile"
	"github.com/patchgate/patchgate/scenarios"
)

// TargetsFile is the file in the workspace folder that holds the engineer's targets.
const TargetsFile = "targets.yaml"

// TargetsVersion is the format version of TargetsFile.
const TargetsVersion = 1

// Target is one controller endpoint the Bench tab knows: the engineer's own (saved in
// TargetsFile) or one of the embedded stations (Embedded, read-only).
type Target struct {
	Name string `yaml:"name"`
	// URL is the target as the drivers take it: modbus://host:port?unit=N,
	// opc.tcp://host:port/path?security=..., sim://MODEL?firmware=NAME.
	URL string `yaml:"url"`
	// PointMap is a shipped point map by name (tank, conveyor, heater) or a point map file,
	// relative to the workspace folder when not absolute. A sim:// target may leave it
	// empty: its model's shipped map.
	PointMap string `yaml:"point_map,omitempty"`
	// Embedded: one of the workspace's embedded stations, not in the file; it cannot be
	// edited or removed.
	Embedded bool `yaml:"-"`
}

// targetsDoc is TargetsFile as written.
type targetsDoc struct {
	Version int      `yaml:"version"`
	Targets []Target `yaml:"targets"`
}

// Validate checks the document and normalises its targets (see Target.Check).
func (d *targetsDoc) Validate() error {
	var errs []error
	switch d.Version {
	case TargetsVersion:
	case 0:
		errs = append(errs, yamlfile.At("$.version", "no version; expected version: %d", TargetsVersion))
	default:
		errs = append(errs, yamlfile.At("$.version", "version %d is not supported; expected version: %d", d.Version, TargetsVersion))
	}
	seen := map[string]int{}
	for i := range d.Targets {
		at := fmt.Sprintf("$.targets[%d]", i)
		t, err := d.Targets[i].check(at)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.Targets[i] = t
		k := strings.ToLower(t.Name)
		if j, dup := seen[k]; dup {
			errs = append(errs, yamlfile.At(at+".name", "name %q is already used by target %d; expected a name of its own", t.Name, j+1))
			continue
		}
		seen[k] = i
	}
	return errors.Join(errs...)
}

// ParseTargets reads a targets file (name is used in errors): strict YAML, every error with
// file:line:column and what was expected. A URL that gives its point map as map=NAME has
// it moved to point_map.
func ParseTargets(name string, data []byte) ([]Target, error) {
	var d targetsDoc
	if err := yamlfile.Decode(name, data, &d); err != nil {
		return nil, err
	}
	return d.Targets, nil
}

// MarshalTargets writes targets in the TargetsFile format (embedded ones left out).
func MarshalTargets(ts []Target) ([]byte, error) {
	d := targetsDoc{Version: TargetsVersion, Targets: []Target{}}
	for _, t := range ts {
		if !t.Embedded {
			d.Targets = append(d.Targets, t)
		}
	}
	b, err := yaml.MarshalWithOptions(d, yaml.IndentSequence(true))
	if err != nil {
		return nil, err
	}
	head := "# Targets of this patchgate workspace: the controllers on the bench. The Bench tab\n" +
		"# edits this file (and does not keep comments); point_map is a shipped map (tank,\n" +
		"# conveyor, heater) or a .yaml file relative to this folder.\n"
	return append([]byte(head), b...), nil
}

// Check reports what is wrong with t, and returns it normalised: spaces trimmed, and a
// map=NAME parameter of the URL (which no driver accepts) moved to PointMap. A bad URL is
// an error wrapping driver.ErrBadTarget.
func (t Target) Check() (Target, error) { return t.check("") }

// check is Check; with at (the target's YAML path in a file) set, its errors are
// yamlfile.PathErrors at the offending field.
func (t Target) check(at string) (Target, error) {
	bad := func(k string, err error) error {
		if at == "" {
			return err
		}
		return yamlfile.At(at+"."+k, "%v", err)
	}
	t.Name, t.URL, t.PointMap = strings.TrimSpace(t.Name), strings.TrimSpace(t.URL), strings.TrimSpace(t.PointMap)
	if t.Name == "" {
		return t, bad("name", errors.New(`no name; expected a name such as "Bench PLC 1"`))
	}
	if strings.ContainsAny(t.Name, "\r\n\t") {
		return t, bad("name", fmt.Errorf("name %q has a line break or tab; expected one line", t.Name))
	}
	if reservedName(t.Name) {
		return t, bad("name", fmt.Errorf("name %q is an embedded station's; expected another name", t.Name))
	}
	if t.URL == "" {
		return t, bad("url", errors.New("no url; expected modbus://host:port?unit=N, opc.tcp://host:port or sim://MODEL"))
	}
	u, pm, err := cutMapParam(t.URL)
	if err != nil {
		return t, bad("url", err)
	}
	if pm != "" {
		if t.PointMap != "" && t.PointMap != pm {
			return t, bad("url", fmt.Errorf("map=%s in the url and point_map %s; expected one point map", pm, t.PointMap))
		}
		t.URL, t.PointMap = u, pm
	}
	if _, err := driver.ParseTarget(t.URL); err != nil {
		return t, bad("url", err)
	}
	shipped := strings.Join(ShippedPointMaps(), ", ")
	// a controller new to the bench has no point map yet: Discover finds its points and
	// saves one; until then Test and Connect say so
	if t.PointMap != "" && !slices.Contains(ShippedPointMaps(), t.PointMap) && !isYAMLFile(t.PointMap) {
		return t, bad("point_map", fmt.Errorf("point_map %q; expected a shipped point map (%s) or a .yaml file relative to the workspace folder", t.PointMap, shipped))
	}
	return t, nil
}

func isYAMLFile(p string) bool {
	e := strings.ToLower(filepath.Ext(p))
	return (e == ".yaml" || e == ".yml") && len(p) > len(e)
}

// cutMapParam removes a map=NAME parameter from the query of u, keeping the others as
// written, and returns NAME.
func cutMapParam(u string) (string, string, error) {
	base, q, ok := strings.Cut(u, "?")
	if !ok {
		return u, "", nil
	}
	frag := ""
	if i := strings.IndexByte(q, '#'); i >= 0 {
		q, frag = q[:i], q[i:]
	}
	var keep []string
	var pm string
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "map" {
			keep = append(keep, kv)
			continue
		}
		if pm != "" {
			return u, "", fmt.Errorf("map= given twice in %q; expected it once", u)
		}
		if v == "" {
			return u, "", fmt.Errorf("map= without a value in %q; expected map=NAME, e.g. map=tank", u)
		}
		pm = v
	}
	if pm == "" {
		return u, "", nil
	}
	out := base
	if len(keep) > 0 {
		out += "?" + strings.Join(keep, "&")
	}
	return out + frag, pm, nil
}

// embeddedRoles are the roles of the embedded stations, whose target names are reserved.
var embeddedRoles = []string{"before", "after"}

func embeddedName(role, face string) string { return "tank " + role + " (" + face + ")" }

var embeddedFaces = []string{"Modbus", "OPC UA", "simulated time"}

func reservedName(n string) bool {
	for _, r := range embeddedRoles {
		for _, f := range embeddedFaces {
			if strings.EqualFold(n, embeddedName(r, f)) {
				return true
			}
		}
	}
	return false
}

// ShippedPointMaps lists the point maps shipped with patchgate, by name.
func ShippedPointMaps() []string {
	names, _ := fs.Glob(scenarios.FS, "pointmaps/*.yaml")
	var out []string
	for _, n := range names {
		out = append(out, strings.TrimSuffix(path.Base(n), ".yaml"))
	}
	return out
}

// EmbeddedTargets are the embedded stations as targets: each station's Modbus and OPC UA
// faces, then a sim:// controller on simulated time with each station's firmware.
func (w *Workspace) EmbeddedTargets() []Target {
	var out []Target
	sts := w.Stations()
	for _, st := range sts {
		out = append(out, Target{Name: embeddedName(st.Role, "Modbus"), URL: st.ModbusURL(), PointMap: "tank", Embedded: true})
		if st.OPCUA != nil || st.opcuaAddr != "" { // not when started Modbus only
			out = append(out, Target{Name: embeddedName(st.Role, "OPC UA"), URL: st.OPCUATarget(), PointMap: "tank", Embedded: true})
		}
	}
	for _, st := range sts {
		out = append(out, Target{Name: embeddedName(st.Role, "simulated time"),
			URL: "sim://tank?firmware=" + st.Firmware().Name + "&time=simulated", PointMap: "tank", Embedded: true})
	}
	return out
}

// Targets lists the embedded stations' targets and then the engineer's from TargetsFile.
// When the file cannot be read, the embedded targets come with the error (file:line:col).
func (w *Workspace) Targets() ([]Target, error) {
	saved, err := w.SavedTargets()
	return append(w.EmbeddedTargets(), saved...), err
}

// SavedTargets lists the engineer's targets from TargetsFile; none when there is no file.
func (w *Workspace) SavedTargets() ([]Target, error) {
	targetsMu.Lock()
	defer targetsMu.Unlock()
	return w.loadTargets()
}

// targetsMu serialises the read-modify-write of TargetsFile.
var targetsMu sync.Mutex

func (w *Workspace) targetsPath() string { return filepath.Join(w.Dir, TargetsFile) }

func (w *Workspace) loadTargets() ([]Target, error) {
	p := w.targetsPath()
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	return ParseTargets(p, data)
}

// ErrNoTarget is a target name that is not in TargetsFile.
var ErrNoTarget = errors.New("no such target")

// AddTarget checks t and adds it to TargetsFile; a name already used is an error.
func (w *Workspace) AddTarget(t Target) (Target, error) {
	return w.changeTargets(func(ts []Target) ([]Target, Target, error) {
		t, err := t.Check()
		if err != nil {
			return nil, t, err
		}
		if slices.ContainsFunc(ts, func(o Target) bool { return strings.EqualFold(o.Name, t.Name) }) {
			return nil, t, fmt.Errorf("a target named %q exists; expected a name of its own", t.Name)
		}
		return append(ts, t), t, nil
	})
}

// EditTarget replaces the target named name in TargetsFile with t (which may rename it).
func (w *Workspace) EditTarget(name string, t Target) (Target, error) {
	return w.changeTargets(func(ts []Target) ([]Target, Target, error) {
		i := slices.IndexFunc(ts, func(o Target) bool { return o.Name == name })
		if i < 0 {
			return nil, t, fmt.Errorf("target %q: %w in %s", name, ErrNoTarget, TargetsFile)
		}
		t, err := t.Check()
		if err != nil {
			return nil, t, err
		}
		if slices.ContainsFunc(ts, func(o Target) bool { return o.Name != name && strings.EqualFold(o.Name, t.Name) }) {
			return nil, t, fmt.Errorf("a target named %q exists; expected a name of its own", t.Name)
		}
		ts[i] = t
		return ts, t, nil
	})
}

// RemoveTarget removes the target named name from TargetsFile.
func (w *Workspace) RemoveTarget(name string) error {
	_, err := w.changeTargets(func(ts []Target) ([]Target, Target, error) {
		i := slices.IndexFunc(ts, func(o Target) bool { return o.Name == name })
		if i < 0 {
			return nil, Target{}, fmt.Errorf("target %q: %w in %s", name, ErrNoTarget, TargetsFile)
		}
		return slices.Delete(ts, i, i+1), Target{}, nil
	})
	return err
}

// changeTargets reads TargetsFile, applies f and writes the file again (atomically). A file
// that does not load is never overwritten: the engineer's hand edits would be lost.
func (w *Workspace) changeTargets(f func([]Target) ([]Target, Target, error)) (Target, error) {
	targetsMu.Lock()
	defer targetsMu.Unlock()
	ts, err := w.loadTargets()
	if err != nil {
		return Target{}, fmt.Errorf("%w (fix the file first; it is not overwritten)", err)
	}
	ts, t, err := f(ts)
	if err != nil {
		return t, err
	}
	data, err := MarshalTargets(ts)
	if err != nil {
		return t, fmt.Errorf("targets: %w", err)
	}
	if err := writeAtomic(w.targetsPath(), data); err != nil {
		return t, fmt.Errorf("targets: %w", err)
	}
	return t, nil
}

// writeAtomic writes data to p through a temporary file in the same folder, so that a crash
// leaves the old file or the new one, never half of one.
func writeAtomic(p string, data []byte) error {
	tmp, err := writeTemp(p, data)
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
	}
	return err
}

// writeTemp writes data to a new hidden temporary file beside p and returns its name; on an
// error nothing is left behind.
func writeTemp(p string, data []byte) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// PointMap loads t's point map: a shipped one by name (the workspace's copy in pointmaps/
// when there, as the engineer may have edited it), or a file (relative to the workspace
// folder); a sim:// target without one gets its model's.
func (w *Workspace) PointMap(t Target) (*point.Map, error) {
	p, data, err := w.pointMapFile(t)
	if err != nil {
		return nil, err
	}
	return point.Parse(p, data)
}

// pointMapFile reads t's point map (see PointMap): its path, as errors name it, and text.
func (w *Workspace) pointMapFile(t Target) (string, []byte, error) {
	name := strings.TrimSpace(t.PointMap)
	if name == "" {
		if pt, err := driver.ParseTarget(t.URL); err == nil && pt.Simulated() {
			name = pt.URL.Host
			if name == "" {
				name = pt.URL.Opaque
			}
		}
	}
	if slices.Contains(ShippedPointMaps(), name) {
		own := filepath.Join(w.PointMapsFolder(), name+".yaml")
		if data, err := os.ReadFile(own); err == nil {
			return own, data, nil
		}
		p := "pointmaps/" + name + ".yaml"
		data, err := scenarios.FS.ReadFile(p)
		if err != nil {
			return "", nil, fmt.Errorf("point map %s: %w", name, err)
		}
		return p, data, nil
	}
	if name == "" {
		return "", nil, fmt.Errorf("%s has no point map yet; Discover finds its points and saves one, or name a shipped point map (%s) or a .yaml file", t.Name, strings.Join(ShippedPointMaps(), ", "))
	}
	if !isYAMLFile(name) {
		return "", nil, fmt.Errorf("point map %q; expected a shipped point map (%s) or a .yaml file", name, strings.Join(ShippedPointMaps(), ", "))
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(w.Dir, p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", nil, fmt.Errorf("point map: %w", err)
	}
	return p, data, nil
}

// TargetPointMap is the point map that the engineer's targets among urls name (their
// point_map on the Bench tab), as a file name and its text. Data is nil when none of them
// names one: an embedded station, a URL typed in, a target without point_map; the
// scenario's own point map then applies. Targets that name different point maps are an
// error: a validation reads both sides through one point map.
func (w *Workspace) TargetPointMap(urls ...string) (name string, data []byte, err error) {
	saved, err := w.SavedTargets()
	if err != nil {
		return "", nil, err
	}
	var from string
	for _, u := range urls {
		u = strings.TrimSpace(u)
		i := slices.IndexFunc(saved, func(t Target) bool { return t.URL == u && strings.TrimSpace(t.PointMap) != "" })
		if i < 0 {
			continue
		}
		t := saved[i]
		p, d, err := w.pointMapFile(t)
		if err != nil {
			return "", nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		if data != nil && string(d) != string(data) {
			return "", nil, fmt.Errorf("%w: target %s reads through point map %s, target %s through %s; a validation compares both sides through one point map",
				validation.ErrBadInput, from, name, t.Name, filepath.Base(p))
		}
		from, name, data = t.Name, filepath.Base(p), d
	}
	return name, data, nil
}
