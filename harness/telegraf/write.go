package telegraf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists: a point map of a converted input's name is already in the folder.
var ErrExists = errors.New("point map exists")

// Write writes each map as dir/NAME.yaml and returns the paths, in order. Unless replace,
// it refuses (ErrExists, naming the file) before writing anything when one is there, so a
// refused import leaves no half set. The CLI's import and the desktop's use it.
func Write(dir string, maps []Map, replace bool) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	paths := make([]string, len(maps))
	for i, m := range maps {
		paths[i] = filepath.Join(dir, m.Name+".yaml")
		if _, err := os.Stat(paths[i]); err == nil && !replace {
			return nil, fmt.Errorf("%s: %w", paths[i], ErrExists)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	for i, m := range maps {
		if err := os.WriteFile(paths[i], m.YAML, 0o644); err != nil {
			return paths[:i], err
		}
	}
	return paths, nil
}
