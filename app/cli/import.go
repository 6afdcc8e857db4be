package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/patchgate/patchgate/harness/telegraf"
)

// runImport converts another tool's configuration into point maps: for now, telegraf's
// modbus and opcua inputs (docs/pointmap-format.md, "From a telegraf configuration").
func runImport(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "import")
	dir := fs.String("o", ".", "directory to write <name>.yaml point maps into")
	force := fs.Bool("force", false, "overwrite point maps that exist")
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if err := fs.Parse(args); err != nil {
			return flagError(fs, env, err) // -h prints the help
		}
	}
	if len(args) == 0 || args[0] != "telegraf" {
		return badInput("usage: patchgate import telegraf FILE [-o DIR] [--force]")
	}
	// FILE may come before or after the flags
	var files []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return flagError(fs, env, err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		return badInput("usage: patchgate import telegraf FILE [-o DIR] [--force]: expected one telegraf configuration file, got %d", len(files))
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return badInput("%v", err)
	}
	maps, warns, err := telegraf.Convert(files[0], data)
	for _, w := range warns {
		fmt.Fprintf(env.Stderr, "warning: %s\n", w)
	}
	if err != nil {
		return usageError{err}
	}
	paths, err := telegraf.Write(*dir, maps, *force)
	if errors.Is(err, telegraf.ErrExists) {
		return badInput("%v; use --force to overwrite it", err)
	}
	if err != nil {
		return badInput("-o %s: %v", *dir, err)
	}
	for i, m := range maps {
		p := paths[i]
		target := ""
		if m.Target != "" {
			target = ", target " + m.Target
		}
		fmt.Fprintf(env.Stdout, "wrote %s: %d points from [[%s]] at %s:%d%s\n", p, m.Points, m.Plugin, files[0], m.Line, target)
	}
	return nil
}
