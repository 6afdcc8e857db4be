package cli

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/validation"
)

const newUsage = "usage: patchgate new scenario --from-map FILE [-o FILE] [--force]"

// runNew makes a new file from another: for now the starter scenario of a point map
// (scenario.Starter, which the desktop's "New scenario from point map" writes too).
func runNew(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "new")
	from := fs.String("from-map", "", "the point map the scenario reads (required)")
	out := fs.String("o", "-", "the scenario file to write (- for stdout); points: is written relative to its folder")
	force := fs.Bool("force", false, "overwrite a scenario file that exists")
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if err := fs.Parse(args); err != nil {
			return flagError(fs, env, err) // -h prints the help
		}
		args = fs.Args()
	}
	if len(args) == 0 || args[0] != "scenario" {
		return badInput("%s", newUsage)
	}
	if err := parseFlags(fs, env, args[1:]); err != nil {
		return err
	}
	if *from == "" {
		return badInput("--from-map is required: the point map file the scenario reads (%s)", newUsage)
	}
	m, err := point.Load(*from)
	if err != nil {
		return usageError{err} // file:line:column from the loader
	}
	if *out == "-" {
		// the scenario is written where it is run from: points: as given
		_, err := env.Stdout.Write(scenario.Starter(m, "", filepath.ToSlash(*from)))
		return err
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return badInput("-o %s exists; use --force to overwrite it", *out)
	} else if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return badInput("-o %s: %v", *out, err)
	}
	points, err := relativeTo(filepath.Dir(*out), *from)
	if err != nil {
		return badInput("--from-map %s: %v", *from, err)
	}
	stem := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(*out), ".yaml"), ".yml")
	if err := os.WriteFile(*out, scenario.Starter(m, stem, points), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	sc, err := validation.Load(*out, "") // as run and validate will read it
	if err != nil {
		return fmt.Errorf("the starter scenario %s does not load (please report this): %w", *out, err)
	}
	probe := "no cycle counter in the map: no scan period probe"
	if c := scenario.StarterCounter(m); c != "" {
		probe = "scan period from " + c
	}
	fmt.Fprintf(env.Stdout, "wrote %s: scenario %s reads the %d tags of point map %s (points: %s); it writes nothing; %s\n",
		*out, sc.Name, len(sc.Sample.Tags), m.Name, points, probe)
	return nil
}

// relativeTo is the path of file as seen from folder dir, with forward slashes (a scenario's
// points: reads the same on every system).
func relativeTo(dir, file string) (string, error) {
	ad, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	af, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(ad, af)
	if err != nil {
		return filepath.ToSlash(af), nil // another volume: the absolute path
	}
	return filepath.ToSlash(rel), nil
}
