package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/patchgate/patchgate/harness/discover"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// CanDiscover says whether t is a controller on the wire, whose points discovery can find
// (a sim:// controller's point map is its model's).
func CanDiscover(t Target) bool {
	pt, err := driver.ParseTarget(t.URL)
	return err == nil && !pt.Simulated()
}

// Discover finds the points of t, read-only (harness/discover, as `patchgate discover`
// does): OPC UA by browsing, Modbus by probing the default ranges at the default rate
// (unlimited on an embedded station). The
// map is named after the target (DiscoveredName). OPC UA targets get the workspace's trust
// folder, as Test and Connect do.
func (w *Workspace) Discover(ctx context.Context, t Target, progress func(done, total int)) (*discover.Result, error) {
	if !CanDiscover(t) {
		return nil, fmt.Errorf("%s (%s): %w: discovery needs a Modbus TCP or OPC UA target", t.Name, t.URL, driver.ErrBadTarget)
	}
	rate := float64(discover.DefaultRate)
	if t.Embedded {
		rate = 0 // an embedded simulator is no PLC to spare
	}
	return discover.Run(ctx, w.WithTrust(t.URL), discover.Options{Name: DiscoveredName(t), Rate: rate, Progress: progress})
}

// DiscoveredName is the file name (without .yaml) a discovered map of t gets by default:
// the target's name in lower case, anything but letters and digits turned into "-".
func DiscoveredName(t Target) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	if n := strings.Trim(b.String(), "-"); n != "" {
		return n
	}
	return "discovered"
}

// ErrPointMapExists: a point map of that name is in the workspace's pointmaps folder.
var ErrPointMapExists = errors.New("point map exists")

// SavePointMap writes a point map text as pointmaps/NAME.yaml in the workspace folder
// (made if missing) and returns that path, relative to the folder, as a target's point_map
// names it. The text must load as a point map; an existing file is replaced only with
// replace set.
func (w *Workspace) SavePointMap(name string, text []byte, replace bool) (string, error) {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".yaml")
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\:`) {
		return "", fmt.Errorf("point map name %q; expected a file name such as bench-plc (saved as %s/NAME.yaml)", name, PointMapsDir)
	}
	rel := PointMapsDir + "/" + name + ".yaml"
	if _, err := point.Parse(rel, text); err != nil {
		return "", err
	}
	dir := filepath.Join(w.Dir, PointMapsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("point maps folder: %w", err)
	}
	p := filepath.Join(dir, name+".yaml")
	if _, err := os.Stat(p); err == nil && !replace {
		return "", fmt.Errorf("%s: %w; choose another name or replace it", p, ErrPointMapExists)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := writeAtomic(p, text); err != nil {
		return "", fmt.Errorf("save point map: %w", err)
	}
	return rel, nil
}

// UsePointMap makes the saved target named name use the point map pointMap (a shipped name
// or a file relative to the workspace folder).
func (w *Workspace) UsePointMap(name, pointMap string) (Target, error) {
	ts, err := w.SavedTargets()
	if err != nil {
		return Target{}, err
	}
	for _, t := range ts {
		if t.Name == name {
			t.PointMap = pointMap
			return w.EditTarget(name, t)
		}
	}
	return Target{}, fmt.Errorf("target %q: %w in %s (an embedded station keeps its map)", name, ErrNoTarget, TargetsFile)
}
