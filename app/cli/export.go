package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

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

// runRow is one run as runs lists it.
type runRow struct {
	ID       int64        `json:"run_id"`
	Started  time.Time    `json:"started"` // the wall clock
	TimeMode string       `json:"time_mode"`
	SimStart *time.Time   `json:"simulated_started,omitempty"` // simulated runs: on their own clock
	Status   trace.Status `json:"status"`
	Scenario string       `json:"scenario"`
	Target   string       `json:"target"`
	Firmware string       `json:"firmware,omitempty"`
}

func listRow(r trace.Run) runRow {
	row := runRow{ID: r.ID, Started: r.Started, TimeMode: r.TimeMode, Status: r.Status, Scenario: r.Scenario, Target: r.Target, Firmware: r.IdentityPre.Firmware}
	if r.TimeMode == "simulated" {
		sim := r.Started
		row.SimStart = &sim
		if w, err := time.Parse(time.RFC3339Nano, r.Meta[trace.MetaWallStarted]); err == nil {
			row.Started = w
		}
	}
	return row
}

// runRuns lists stored runs, newest (highest id) first. Simulated runs show when they were
// made on the wall clock: their own start is on the simulated clock.
func runRuns(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "runs")
	db := fs.String("db", "patchgate.db", "SQLite file")
	limit := fs.Int("n", 20, "how many (the newest); 0: all")
	asJSON := fs.Bool("json", false, "print the runs as a JSON array")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if *limit < 0 {
		return badInput("-n %d: expected 0 or more", *limit)
	}
	if _, err := os.Stat(*db); err != nil {
		return badInput("--db %s: %v", *db, err)
	}
	l, err := ledger.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer l.Close()
	// all of them: the store orders by start, and a simulated run's start is on its own clock
	runs, err := l.Runs(ctx, ledger.RunFilter{})
	if err != nil {
		return err
	}
	slices.SortFunc(runs, func(a, b trace.Run) int { return cmp.Compare(b.ID, a.ID) })
	if *limit > 0 && len(runs) > *limit {
		runs = runs[:*limit]
	}
	rows := make([]runRow, 0, len(runs))
	for _, r := range runs {
		rows = append(rows, listRow(r))
	}
	if *asJSON {
		return printJSON(env.Stdout, rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tTIME\tSTATUS\tSCENARIO\tTARGET\tFIRMWARE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04:05"), r.TimeMode, r.Status, r.Scenario, r.Target, r.Firmware)
	}
	return tw.Flush()
}
