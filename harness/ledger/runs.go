package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

// CreateRun records the start of a run and returns its id, which it also sets in r along
// with the status "running". r.Status must be empty or "running" and r.Started set.
func (db *DB) CreateRun(ctx context.Context, r *trace.Run) (int64, error) {
	if r.Status != "" && r.Status != trace.Running {
		return 0, fmt.Errorf("create run: status %q, a new run is %q", r.Status, trace.Running)
	}
	if r.Started.IsZero() {
		return 0, errors.New("create run: no start time")
	}
	tags, err := json.Marshal(nonNil(r.Tags))
	if err != nil {
		return 0, fmt.Errorf("create run: tags: %w", err)
	}
	identity, err := json.Marshal(r.IdentityPre)
	if err != nil {
		return 0, fmt.Errorf("create run: identity: %w", err)
	}
	stats, err := json.Marshal(r.Stats)
	if err != nil {
		return 0, fmt.Errorf("create run: stats: %w", err)
	}
	var meta []byte
	if r.Meta != nil {
		if meta, err = json.Marshal(r.Meta); err != nil {
			return 0, fmt.Errorf("create run: meta: %w", err)
		}
	}
	res, err := db.w.ExecContext(ctx, `INSERT INTO runs (scenario, scenario_file, scenario_sha256,
		point_map, target, repetition, status, started_ns, time_mode, period_ns, tags, armed,
		identity_start, protocol_stats, fault, meta)
		VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Scenario, r.ScenarioFile, r.ScenarioHash, r.PointMap, r.Target, r.Repetition,
		r.Started.UnixNano(), r.TimeMode, int64(r.Period), string(tags), r.Armed,
		string(identity), string(stats), r.Fault, nullText(meta))
	if err != nil {
		return 0, fmt.Errorf("create run: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("create run: %w", err)
	}
	r.ID, r.Status = id, trace.Running
	return id, nil
}

// FinishRun records the end of a running run: its final status (completed, aborted or
// faulted), end time, the device identity at the end, protocol statistics and the fault
// text (empty when none). A run that is not running is refused with ErrNotRunning.
func (db *DB) FinishRun(ctx context.Context, id int64, status trace.Status, ended time.Time,
	identityPost driver.Identity, stats driver.Stats, fault string) error {
	switch status {
	case trace.Completed, trace.Aborted, trace.Faulted:
	default:
		return fmt.Errorf("finish run %d: status %q; a run finishes %q, %q or %q",
			id, status, trace.Completed, trace.Aborted, trace.Faulted)
	}
	if ended.IsZero() {
		return fmt.Errorf("finish run %d: no end time", id)
	}
	identity, err := json.Marshal(identityPost)
	if err != nil {
		return fmt.Errorf("finish run %d: identity: %w", id, err)
	}
	st, err := json.Marshal(stats)
	if err != nil {
		return fmt.Errorf("finish run %d: stats: %w", id, err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	defer tx.Rollback()
	var cur string
	var started int64
	err = tx.QueryRowContext(ctx, `SELECT status, started_ns FROM runs WHERE id = ?`, id).Scan(&cur, &started)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("finish run %d: %w", id, ErrNotFound)
	case err != nil:
		return fmt.Errorf("finish run %d: %w", id, err)
	case cur != string(trace.Running):
		return fmt.Errorf("finish run %d: it is %s: %w", id, cur, ErrNotRunning)
	case ended.UnixNano() < started:
		return fmt.Errorf("finish run %d: ends at %s, before it started at %s",
			id, ended.UTC().Format(time.RFC3339Nano), time.Unix(0, started).UTC().Format(time.RFC3339Nano))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended_ns = ?, identity_end = ?,
		protocol_stats = ?, fault = ? WHERE id = ?`,
		string(status), ended.UnixNano(), string(identity), string(st), fault, id); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return nil
}

// Run returns the record of one run.
func (db *DB) Run(ctx context.Context, id int64) (trace.Run, error) {
	r, err := scanRun(db.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return trace.Run{}, fmt.Errorf("run %d: %w", id, err)
	}
	return r, nil
}

// RunFilter selects runs; zero fields select everything.
type RunFilter struct {
	Scenario string
	Target   string
	Status   trace.Status
	Since    time.Time // started at or after
	Until    time.Time // started before
	Limit    int       // at most this many (the newest)
}

// Runs lists the runs the filter selects, newest (latest start) first.
func (db *DB) Runs(ctx context.Context, f RunFilter) ([]trace.Run, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Scenario != "" {
		add("scenario = ?", f.Scenario)
	}
	if f.Target != "" {
		add("target = ?", f.Target)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if !f.Since.IsZero() {
		add("started_ns >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("started_ns < ?", f.Until.UnixNano())
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started_ns DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []trace.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

const runColumns = `id, scenario, scenario_file, scenario_sha256, point_map, target, repetition,
	status, started_ns, ended_ns, time_mode, period_ns, tags, armed, identity_start,
	identity_end, protocol_stats, fault, meta`

type scanner interface{ Scan(dest ...any) error }

func scanRun(sc scanner) (trace.Run, error) {
	var (
		r                              trace.Run
		status                         string
		started, period                int64
		ended                          sql.NullInt64
		tags, idStart, idEnd, st, meta []byte
	)
	if err := sc.Scan(&r.ID, &r.Scenario, &r.ScenarioFile, &r.ScenarioHash, &r.PointMap,
		&r.Target, &r.Repetition, &status, &started, &ended, &r.TimeMode, &period, &tags,
		&r.Armed, &idStart, &idEnd, &st, &r.Fault, &meta); err != nil {
		return r, err
	}
	r.Status = trace.Status(status)
	r.Started = time.Unix(0, started).UTC()
	if ended.Valid {
		r.Ended = time.Unix(0, ended.Int64).UTC()
	}
	r.Period = time.Duration(period)
	for _, c := range []struct {
		name string
		src  []byte
		dst  any
	}{
		{"tags", tags, &r.Tags},
		{"identity_start", idStart, &r.IdentityPre},
		{"identity_end", idEnd, &r.IdentityPost},
		{"protocol_stats", st, &r.Stats},
		{"meta", meta, &r.Meta},
	} {
		if c.src == nil {
			continue
		}
		if err := json.Unmarshal(c.src, c.dst); err != nil {
			return r, fmt.Errorf("%w: run %d %s: %v", ErrCorrupt, r.ID, c.name, err)
		}
	}
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
	return r, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullText(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
