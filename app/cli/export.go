package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/patchgate/patchgate/harness/export"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/trace"
)

type traceT = trace.Trace

// runExport writes a stored run as CSV (samples or events) or JSON.
func runExport(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "export")
	db := fs.String("db", "patchgate.db", "SQLite file")
	id := fs.Int64("run", 0, "run id (required; see patchgate runs)")
	format := fs.String("format", "csv", "csv (samples), events (events as CSV) or json (the whole run)")
	out := fs.String("o", "-", "output file (- for stdout)")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if *id <= 0 {
		return badInput("--run is required: the id of a stored run (patchgate runs lists them)")
	}
	write := map[string]func(io.Writer, *traceT) error{"csv": export.CSV, "events": export.EventsCSV, "json": export.JSON}[*format]
	if write == nil {
		return badInput("--format %q: expected csv, events or json", *format)
	}
	if _, err := os.Stat(*db); err != nil {
		return badInput("--db %s: %v", *db, err)
	}
	l, err := ledger.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer l.Close()
	tr, err := l.LoadTrace(ctx, *id)
	if errors.Is(err, ledger.ErrNotFound) {
		return badInput("no run %d in %s", *id, *db)
	}
	if err != nil {
		return err
	}
	w := env.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return badInput("-o %s: %v", *out, err)
		}
		defer f.Close()
		w = f
	}
	return write(w, tr)
}

// runRuns lists stored runs, newest first.
func runRuns(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "runs")
	db := fs.String("db", "patchgate.db", "SQLite file")
	limit := fs.Int("n", 20, "how many")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if _, err := os.Stat(*db); err != nil {
		return badInput("--db %s: %v", *db, err)
	}
	l, err := ledger.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer l.Close()
	runs, err := l.Runs(ctx, ledger.RunFilter{Limit: *limit})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tSTATUS\tSCENARIO\tTARGET\tFIRMWARE")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04:05"), r.Status, r.Scenario, r.Target, r.IdentityPre.Firmware)
	}
	return tw.Flush()
}
