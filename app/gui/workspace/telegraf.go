package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/patchgate/patchgate/harness/telegraf"
)

// Imported is one point map a telegraf configuration gave, saved in pointmaps/.
type Imported struct {
	telegraf.Map
	PointMap string // as a target names it: pointmaps/NAME.yaml
	Target   *Target
}

// ImportTelegraf converts the [[inputs.modbus]] and [[inputs.opcua]] of a telegraf
// configuration into point maps in the workspace's pointmaps folder (harness/telegraf, as
// `patchgate import telegraf` does) and, with addTargets, adds a target for each input that
// says where telegraf polls it, reading through its map. A map of a name already there is
// refused before anything is written, unless replace; so is a target name in use. The
// warnings say what was converted with a caveat.
func (w *Workspace) ImportTelegraf(file string, replace, addTargets bool) ([]Imported, []string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	maps, warns, err := telegraf.Convert(file, data)
	var warnings []string
	for _, wn := range warns {
		warnings = append(warnings, fmt.Sprint(wn))
	}
	if err != nil {
		return nil, warnings, err
	}
	if len(maps) == 0 {
		return nil, warnings, fmt.Errorf("%s has no [[inputs.modbus]] or [[inputs.opcua]] to convert", file)
	}
	if addTargets {
		have, err := w.Targets()
		if err != nil {
			return nil, warnings, err
		}
		for _, m := range maps {
			for _, t := range have {
				if m.Target != "" && t.Name == m.Name {
					return nil, warnings, fmt.Errorf("a target is already named %s; rename it or import without adding targets", m.Name)
				}
			}
		}
	}
	if _, err := telegraf.Write(w.PointMapsFolder(), maps, replace); err != nil {
		if errors.Is(err, telegraf.ErrExists) {
			err = fmt.Errorf("%w; tick Replace to overwrite it", err)
		}
		return nil, warnings, err
	}
	out := make([]Imported, len(maps))
	for i, m := range maps {
		out[i] = Imported{Map: m, PointMap: filepath.ToSlash(filepath.Join(PointMapsDir, m.Name+".yaml"))}
		if addTargets && m.Target != "" {
			t, err := w.AddTarget(Target{Name: m.Name, URL: m.Target, PointMap: out[i].PointMap})
			if err != nil {
				return out, warnings, fmt.Errorf("target %s (%s): %w", m.Name, m.Target, err)
			}
			out[i].Target = &t
		}
	}
	return out, warnings, nil
}
