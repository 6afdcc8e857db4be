package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/patchgate/patchgate/harness/discover"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// runDiscover finds the points of a controller, read-only, and writes them as a point map:
// OPC UA by browsing, Modbus by probing the four tables with the read function codes
// (harness/discover; README.md, "Bring up your own PLC").
func runDiscover(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "discover")
	out := fs.String("o", "-", "the point map file to write; - is standard output")
	name := fs.String("name", "", "the point map's name (default: from -o, else the target's host and port)")
	root := fs.String("root", "", "OPC UA: the node to browse from, e.g. ns=2;s=Tank or nsu=URI;i=1000 (default: the Objects folder)")
	ranges := fs.String("ranges", discover.DefaultRanges, "Modbus: the tables and protocol (0-based) addresses to probe: hr holding, ir input, co coil, di discrete")
	rate := fs.Float64("rate", discover.DefaultRate, "Modbus: at most this many requests a second; 0 is unlimited")
	force := fs.Bool("force", false, "overwrite the -o file if it exists")
	check := fs.String("check", "", "instead of discovering, load this point map and read every point of it once from URL (read-only)")
	// URL may come before or after the flags
	var urls []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return flagError(fs, env, err)
		}
		if fs.NArg() == 0 {
			break
		}
		urls = append(urls, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(urls) != 1 {
		return badInput("usage: patchgate discover URL [-o FILE]: expected one target URL, got %d", len(urls))
	}
	if *check != "" {
		return checkPointMap(ctx, env, urls[0], *check)
	}
	if *rate < 0 {
		return badInput("--rate %g; expected requests a second above 0, or 0 for no limit", *rate)
	}
	o := discover.Options{Root: *root, Rate: *rate, Name: *name}
	rs, err := discover.ParseRanges(*ranges)
	if err != nil {
		return badInput("--ranges: %v", err)
	}
	o.Ranges = rs
	toFile := *out != "-" && *out != ""
	if toFile {
		if o.Name == "" {
			o.Name = strings.TrimSuffix(filepath.Base(*out), filepath.Ext(*out))
		}
		if _, err := os.Stat(*out); err == nil && !*force {
			return badInput("%s exists; use --force to overwrite it", *out)
		}
	}
	if env.Interactive {
		o.Progress = func(done, total int) {
			fmt.Fprintf(env.Stderr, "\rprobing: %d of %d addresses", done, total)
		}
	}
	res, err := discover.Run(ctx, urls[0], o)
	if env.Interactive && o.Progress != nil {
		fmt.Fprint(env.Stderr, "\r\033[K")
	}
	if err != nil {
		if errors.Is(err, discover.ErrNoPoints) {
			return codeError{ExitFault, err}
		}
		return err
	}
	where := "standard output"
	if toFile {
		if err := os.WriteFile(*out, res.YAML, 0o644); err != nil {
			return fmt.Errorf("write the point map: %w", err)
		}
		where = *out
	} else if _, err := env.Stdout.Write(res.YAML); err != nil {
		return err
	}
	how := "browsed"
	if res.Protocol == "modbus" {
		how = fmt.Sprintf("probed with %d read requests", res.Requests)
	}
	fmt.Fprintf(env.Stderr, "discovered %d points on %s (%s, nothing written to the device); wrote %s\n", len(res.Map.Points), res.Target, how, where)
	for _, f := range res.Found {
		fmt.Fprintf(env.Stderr, "  found   %s\n", f)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(env.Stderr, "  skipped %s\n", s)
	}
	if res.Protocol == "modbus" {
		fmt.Fprintln(env.Stderr, "every register is a uint16 marked \"confirm type\": check the types against the device's manual")
	}
	return nil
}

// checkPointMap loads a point map and reads every point once from the target through the
// normal driver: after editing a discovered map, this says whether it is right. Exit 0 when
// every point reads Good, 1 when one does not, 2 for a map that does not load.
func checkPointMap(ctx context.Context, env Env, target, file string) error {
	pm, err := point.Load(file)
	if err != nil {
		return usageError{err}
	}
	rows, bad, err := discover.Check(ctx, target, pm)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		v := r.Value
		if r.Quality != driver.Good {
			v = fmt.Sprintf("%s: %v", strings.ToUpper(r.Quality.String()), r.Err)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.Tag, r.Where, v)
	}
	w.Flush()
	if bad > 0 {
		return codeError{ExitNoGo, fmt.Errorf("%s on %s: %d of %d points do not read", file, target, bad, len(rows))}
	}
	fmt.Fprintf(env.Stderr, "%s on %s: all %d points read (read-only)\n", file, target, len(rows))
	return nil
}
