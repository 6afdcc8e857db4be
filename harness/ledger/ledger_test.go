package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/export"
	"github.com/patchgate/patchgate/harness/trace"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func openTemp(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func reopen(t *testing.T, db *DB, path string) *DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newRun(tags ...string) *trace.Run {
	return &trace.Run{
		Scenario:     "tank-alarms",
		ScenarioFile: "scenarios/tank-alarms.yaml",
		ScenarioHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		PointMap:     "tank.yaml",
		Target:       "sim://tank?firmware=1.0.0",
		Repetition:   2,
		Started:      t0,
		TimeMode:     "simulated",
		Period:       100 * time.Millisecond,
		Tags:         tags,
		Armed:        true,
		IdentityPre:  driver.Identity{Vendor: "Acme", Product: "Tank PLC", Firmware: "1.0.0", Serial: "T-1", Extra: map[string]string{"policy": "None"}},
		Meta:         map[string]string{"operator": "jd", "bench": "B2"},
	}
}

// mixedTrace has samples of every quality, NaN, infinities, strings and events with
// characters that need escaping.
func mixedTrace() (*trace.Run, []trace.Sample, []trace.Event) {
	r := newRun("level", "pump", "mode")
	nanPayload := math.Float64frombits(0x7ff8_0000_dead_beef)
	ss := []trace.Sample{
		{Slot: 0, Tag: 0, T: 120_000, Late: 120_000, Quality: driver.Good, Value: 41.25},
		{Slot: 0, Tag: 1, T: 130_000, Late: 120_000, Quality: driver.Good, Value: 1},
		{Slot: 0, Tag: 2, T: 140_000, Late: 120_000, Quality: driver.Good, Value: math.NaN(), Text: "AUTO"},
		{Slot: 1, Tag: 0, T: 100_300_000, Late: 300_000, Quality: driver.Bad, Value: math.NaN()},
		{Slot: 1, Tag: 1, T: 100_310_000, Late: 300_000, Quality: driver.Good, Value: 0},
		{Slot: 1, Tag: 2, T: 100_320_000, Late: 300_000, Quality: driver.Good, Value: math.NaN(), Text: "MANUAL, \"local\"\nline 2"},
		{Slot: 3, Tag: 0, T: 300_000_000, Late: -5, Quality: driver.Missing, Value: math.NaN()},
		{Slot: 3, Tag: 1, T: 300_000_000, Late: 0, Quality: driver.Good, Value: math.Inf(1)},
		{Slot: 3, Tag: 2, T: 300_000_000, Late: 0, Quality: driver.Good, Value: nanPayload},
		{Slot: 4, Tag: 0, T: 400_000_001, Late: 1, Quality: driver.Good, Value: -1e-300},
	}
	es := []trace.Event{
		{T: 0, Kind: trace.EvStepStart, Step: 1, Msg: "write pump = 1"},
		{T: 1_000, Kind: trace.EvWrite, Step: 1, Tag: "pump", Value: "1"},
		{T: 200_000_000, Kind: trace.EvMissed, Msg: "slot 2 not taken"},
		{T: 250_000_000, Kind: trace.EvGapStart, Msg: "read: disconnected, \"peer reset\""},
		{T: 290_000_000, Kind: trace.EvGapEnd},
		{T: 400_000_002, Kind: trace.EvCheck, Step: 2, Tag: "level", Value: "pass", Msg: "level < 80\nwithin 2s"},
	}
	return r, ss, es
}

// sameSamples compares samples bit for bit (NaN payloads included).
func sameSamples(t *testing.T, got, want []trace.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if math.Float64bits(g.Value) != math.Float64bits(w.Value) {
			t.Fatalf("sample %d: value bits %#x, want %#x", i, math.Float64bits(g.Value), math.Float64bits(w.Value))
		}
		g.Value, w.Value = 0, 0
		if g != w {
			t.Fatalf("sample %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	r, ss, es := mixedTrace()
	id, err := db.CreateRun(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if id == 0 || r.ID != id || r.Status != trace.Running {
		t.Fatalf("CreateRun: id %d, run id %d, status %q", id, r.ID, r.Status)
	}
	if err := db.Append(ctx, id, ss, es); err != nil {
		t.Fatal(err)
	}
	ended := t0.Add(5 * time.Second)
	post := driver.Identity{Vendor: "Acme", Product: "Tank PLC", Firmware: "1.0.1", Serial: "T-1"}
	stats := driver.Stats{Requests: 50, Errors: 1, Timeouts: 2, Reconnects: 1, RoundTrip: 3 * time.Millisecond}
	if err := db.FinishRun(ctx, id, trace.Completed, ended, post, stats, ""); err != nil {
		t.Fatal(err)
	}
	tr, err := db.LoadTrace(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := *r
	want.Status, want.Ended, want.IdentityPost, want.Stats = trace.Completed, ended, post, stats
	if !reflect.DeepEqual(tr.Run, want) {
		t.Errorf("run:\n got %+v\nwant %+v", tr.Run, want)
	}
	sameSamples(t, tr.Samples, ss)
	if !reflect.DeepEqual(tr.Events, es) {
		t.Errorf("events:\n got %+v\nwant %+v", tr.Events, es)
	}
	one, err := db.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, want) {
		t.Errorf("Run:\n got %+v\nwant %+v", one, want)
	}

	// What the evidence bundle gets from the ledger is what the runner had in memory.
	orig := &trace.Trace{Run: want, Samples: ss, Events: es}
	for name, f := range map[string]func(*bytes.Buffer, *trace.Trace) error{
		"csv":    func(b *bytes.Buffer, tr *trace.Trace) error { return export.CSV(b, tr) },
		"events": func(b *bytes.Buffer, tr *trace.Trace) error { return export.EventsCSV(b, tr) },
		"json":   func(b *bytes.Buffer, tr *trace.Trace) error { return export.JSON(b, tr) },
	} {
		var a, b bytes.Buffer
		if err := f(&a, orig); err != nil {
			t.Fatal(err)
		}
		if err := f(&b, tr); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Errorf("%s export of the loaded trace differs from the original:\n%s\n---\n%s", name, b.String(), a.String())
		}
	}
}

func TestBatchesReloadInOrder(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	r := newRun("a", "b", "c", "d")
	id, err := db.CreateRun(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	var want []trace.Sample
	var wantEv []trace.Event
	slot := int64(0)
	// Batches of varying size, tags in a different order each slot, one tag missing in
	// some slots, one batch bigger than a chunk for tag 0, events in separate calls.
	for b, size := range []int{1, 7, 0, 300, maxChunk + 10, 2} {
		var batch []trace.Sample
		for range size {
			for k := range 4 {
				tag := uint16((k + int(slot)) % 4)
				if size > 100 && tag != 0 {
					continue
				}
				if slot%5 == 0 && tag == 3 {
					continue
				}
				batch = append(batch, trace.Sample{Slot: slot, Tag: tag, T: slot*1e8 + int64(k), Late: int64(k), Value: float64(slot) + float64(tag)/10})
			}
			slot++
		}
		if err := db.AppendSamples(ctx, id, batch); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
		ev := []trace.Event{{T: slot * 1e8, Kind: trace.EvMark, Step: b, Msg: "after batch"}}
		if err := db.AppendEvents(ctx, id, ev); err != nil {
			t.Fatal(err)
		}
		want = append(want, batch...)
		wantEv = append(wantEv, ev...)
		for i := range batch {
			batch[i] = trace.Sample{} // the ledger must not keep the caller's slice
		}
	}
	tr, err := db.LoadTrace(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sameSamples(t, tr.Samples, want)
	if !reflect.DeepEqual(tr.Events, wantEv) {
		t.Errorf("events: got %v, want %v", tr.Events, wantEv)
	}
	var chunks, big int
	if err := db.r.QueryRow(`SELECT count(*), count(*) FILTER (WHERE n = ?) FROM sample_chunks WHERE run_id = ?`, maxChunk, id).Scan(&chunks, &big); err != nil {
		t.Fatal(err)
	}
	if big != 1 {
		t.Errorf("%d full chunks, want the big batch split once", big)
	}
}

func TestIncompleteAfterReopen(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	running := newRun("level")
	if _, err := db.CreateRun(ctx, running); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendSamples(ctx, running.ID, []trace.Sample{{Slot: 0, Value: 1}, {Slot: 1, Value: 2}}); err != nil {
		t.Fatal(err)
	}
	faulted := newRun("level")
	faulted.Started = t0.Add(time.Minute)
	faulted.Fault = "watchdog"
	if _, err := db.CreateRun(ctx, faulted); err != nil {
		t.Fatal(err)
	}
	done := newRun("level")
	done.Started = t0.Add(2 * time.Minute)
	if _, err := db.CreateRun(ctx, done); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, done.ID, trace.Completed, done.Started.Add(time.Second), driver.Identity{}, driver.Stats{}, ""); err != nil {
		t.Fatal(err)
	}
	if got := db.Recovered(); len(got) != 0 {
		t.Fatalf("fresh ledger recovered %v", got)
	}

	db = reopen(t, db, path)
	if got, want := db.Recovered(), []int64{running.ID, faulted.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("Recovered() = %v, want %v", got, want)
	}
	tr, err := db.LoadTrace(ctx, running.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Run.Status != trace.Incomplete || !strings.HasPrefix(tr.Run.Fault, "incomplete: ") {
		t.Errorf("crashed run: status %q, fault %q", tr.Run.Status, tr.Run.Fault)
	}
	if len(tr.Samples) != 2 {
		t.Errorf("crashed run kept %d samples, want 2", len(tr.Samples))
	}
	f, err := db.Run(ctx, faulted.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != trace.Incomplete || !strings.HasPrefix(f.Fault, "watchdog; incomplete: ") {
		t.Errorf("run with a fault: status %q, fault %q", f.Status, f.Fault)
	}
	d, err := db.Run(ctx, done.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != trace.Completed || d.Fault != "" {
		t.Errorf("completed run touched: status %q, fault %q", d.Status, d.Fault)
	}
	// An incomplete run takes no more data and cannot be finished.
	if err := db.AppendSamples(ctx, running.ID, []trace.Sample{{Slot: 2}}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("append to an incomplete run: %v, want ErrNotRunning", err)
	}
	if err := db.FinishRun(ctx, running.ID, trace.Completed, t0.Add(time.Hour), driver.Identity{}, driver.Stats{}, ""); !errors.Is(err, ErrNotRunning) {
		t.Errorf("finish an incomplete run: %v, want ErrNotRunning", err)
	}
	// Only runs found running are recovered, and only once.
	db = reopen(t, db, path)
	if got := db.Recovered(); len(got) != 0 {
		t.Errorf("second reopen recovered %v", got)
	}
}

func TestMigrations(t *testing.T) {
	ctx := t.Context()
	for i, m := range migrations {
		if m.version != i+1 {
			t.Fatalf("migration %d has version %d: versions must count 1, 2, 3…", i, m.version)
		}
	}
	db, path := openTemp(t)
	v, err := db.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v != len(migrations) {
		t.Errorf("version %d, want %d", v, len(migrations))
	}
	var n int
	var app int64
	if err := db.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.r.QueryRow(`PRAGMA application_id`).Scan(&app); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) || app != applicationID {
		t.Errorf("%d migration rows, application_id %#x", n, app)
	}
	var mode string
	var fk, sync int
	if err := db.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := db.w.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || fk != 1 || sync != 1 {
		t.Errorf("journal_mode %s, foreign_keys %d, synchronous %d; want wal, 1, 1 (NORMAL)", mode, fk, sync)
	}
	// Reopening applies nothing twice.
	db = reopen(t, db, path)
	if err := db.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) {
		t.Errorf("%d migration rows after reopen", n)
	}

	// A file from a newer patchgate is refused, and left as it was.
	future := len(migrations) + 1
	if _, err := db.w.Exec(`INSERT INTO schema_migrations VALUES (?, 'from the future', 0)`, future); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(ctx, path)
	if !errors.Is(err, ErrSchemaNewer) || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", future)) {
		t.Fatalf("opening a newer ledger: %v, want ErrSchemaNewer naming version %d", err, future)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != future {
		t.Errorf("refused file changed: version %d", n)
	}
}

func TestNotLedger(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.db")
	raw, err := sql.Open("sqlite3", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE contacts (name TEXT)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := Open(t.Context(), other); !errors.Is(err, ErrNotLedger) {
		t.Errorf("SQLite file of another application: %v, want ErrNotLedger", err)
	}
	raw, err = sql.Open("sqlite3", other)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	var tables int
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if mode != "delete" || tables != 1 {
		t.Errorf("the refused file was changed: journal_mode %s, %d tables", mode, tables)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, bytes.Repeat([]byte("not a database\n"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), text); err == nil || !strings.Contains(err.Error(), text) {
		t.Errorf("text file: %v, want an error naming the file", err)
	}
	// A path with characters that mean something in a URI still names that file.
	odd := filepath.Join(dir, "bench #2 ?50% .db")
	db, err := Open(t.Context(), odd)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(odd); err != nil {
		t.Errorf("ledger not created at %q: %v", odd, err)
	}
}

func TestCheck(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	r, ss, es := mixedTrace()
	if _, err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(ctx, r.ID, ss, es); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatalf("healthy ledger: %v", err)
	}
	var root int64
	var pageSize int64
	if err := db.r.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = 'events_run'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := db.r.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	db.Close() // checkpoints the WAL into the file

	// Damage the events index page: Open still works, Check must say so.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, int(pageSize)), (root-1)*pageSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(ctx); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged ledger: Check() = %v, want ErrCorrupt", err)
	}
}

func TestCorruptChunkIsAnError(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	r, ss, _ := mixedTrace()
	if _, err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendSamples(ctx, r.ID, ss); err != nil {
		t.Fatal(err)
	}
	for name, stmt := range map[string]string{
		"truncated blob": `UPDATE sample_chunks SET data = substr(data, 1, 20) WHERE tag = 1`,
		"ordinal twice":  `UPDATE sample_chunks SET first_ord = 0 WHERE tag = 1`,
		"ordinal beyond": `UPDATE sample_chunks SET first_ord = 1000 WHERE tag = 1`,
		"unknown tag":    `UPDATE sample_chunks SET tag = 9 WHERE tag = 1`,
		"count mismatch": `UPDATE runs SET samples = samples + 1`,
	} {
		t.Run(name, func(t *testing.T) {
			tx, err := db.w.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec(stmt); err != nil {
				t.Fatal(err)
			}
			tr, err := loadIn(ctx, tx, r.ID)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("got %v (trace %v), want ErrCorrupt", err, tr != nil)
			}
		})
	}
	if _, err := db.LoadTrace(ctx, r.ID); err != nil {
		t.Errorf("after the rollbacks: %v", err)
	}
}

// loadIn loads samples inside a transaction that changed them.
func loadIn(ctx context.Context, tx *sql.Tx, id int64) ([]trace.Sample, error) {
	var total int64
	var ntags int
	if err := tx.QueryRow(`SELECT samples, json_array_length(tags) FROM runs WHERE id = ?`, id).Scan(&total, &ntags); err != nil {
		return nil, err
	}
	return loadSamples(ctx, tx, id, total, ntags)
}

func TestAppendRefused(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	r := newRun("level", "pump")
	if _, err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	good := []trace.Sample{{Slot: 0, Tag: 0, Value: 1}}
	if err := db.AppendSamples(ctx, r.ID, good); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		id int64
		ss []trace.Sample
		es []trace.Event
		is error
	}{
		"unknown run":   {id: r.ID + 100, ss: good, is: ErrNotFound},
		"tag too high":  {id: r.ID, ss: []trace.Sample{{Slot: 1, Tag: 0}, {Slot: 1, Tag: 2}}},
		"quality":       {id: r.ID, ss: []trace.Sample{{Slot: 1, Quality: 7}}},
		"samples+event": {id: r.ID, ss: []trace.Sample{{Slot: 1, Tag: 5}}, es: []trace.Event{{Kind: trace.EvMark}}},
	} {
		err := db.Append(ctx, c.id, c.ss, c.es)
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: %v, want an error (%v)", name, err, c.is)
		}
	}
	tr, err := db.LoadTrace(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Samples) != 1 || len(tr.Events) != 0 {
		t.Errorf("refused batches left %d samples and %d events, want 1 and 0", len(tr.Samples), len(tr.Events))
	}
	if err := db.FinishRun(ctx, r.ID, trace.Aborted, t0.Add(time.Second), driver.Identity{}, driver.Stats{}, "operator abort"); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendSamples(ctx, r.ID, good); !errors.Is(err, ErrNotRunning) {
		t.Errorf("append to a finished run: %v, want ErrNotRunning", err)
	}
	if err := db.AppendEvents(ctx, r.ID, []trace.Event{{Kind: trace.EvMark}}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("append events to a finished run: %v, want ErrNotRunning", err)
	}
	if err := db.Append(ctx, r.ID, nil, nil); err != nil {
		t.Errorf("an empty batch is nothing to do: %v", err)
	}
}

func TestCreateFinishRefused(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	bad := newRun("x")
	bad.Status = trace.Completed
	if _, err := db.CreateRun(ctx, bad); err == nil {
		t.Error("created a run that is already completed")
	}
	bad = newRun("x")
	bad.Started = time.Time{}
	if _, err := db.CreateRun(ctx, bad); err == nil {
		t.Error("created a run without a start time")
	}
	r := newRun("x")
	if _, err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		id     int64
		status trace.Status
		ended  time.Time
		is     error
	}{
		"status running":    {r.ID, trace.Running, t0.Add(time.Second), nil},
		"status incomplete": {r.ID, trace.Incomplete, t0.Add(time.Second), nil},
		"no end":            {r.ID, trace.Completed, time.Time{}, nil},
		"end before start":  {r.ID, trace.Completed, t0.Add(-time.Second), nil},
		"unknown run":       {r.ID + 1, trace.Completed, t0.Add(time.Second), ErrNotFound},
	} {
		err := db.FinishRun(ctx, c.id, c.status, c.ended, driver.Identity{}, driver.Stats{}, "")
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: %v, want an error (%v)", name, err, c.is)
		}
	}
	if got, err := db.Run(ctx, r.ID); err != nil || got.Status != trace.Running || !got.Ended.IsZero() {
		t.Errorf("refused finishes changed the run: %+v, %v", got, err)
	}
	if _, err := db.Run(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(999): %v, want ErrNotFound", err)
	}
	if _, err := db.LoadTrace(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("LoadTrace(999): %v, want ErrNotFound", err)
	}
	// The runner's recorder finishes from the run record.
	r.Status, r.Ended, r.Fault = trace.Faulted, t0.Add(3*time.Second), "connection lost for good"
	r.IdentityPost = driver.Identity{Firmware: "1.0.1"}
	if err := (Recorder{db}).FinishRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := db.Run(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != trace.Faulted || !got.Ended.Equal(r.Ended) || got.Fault != r.Fault || got.IdentityPost.Firmware != "1.0.1" {
		t.Errorf("finished by the recorder: %+v", got)
	}
}

func TestRuns(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	mk := func(scenario, target string, start time.Duration, finish trace.Status) int64 {
		r := newRun("x")
		r.Scenario, r.Target, r.Started = scenario, target, t0.Add(start)
		if _, err := db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if finish != "" {
			if err := db.FinishRun(ctx, r.ID, finish, r.Started.Add(time.Second), driver.Identity{}, driver.Stats{}, ""); err != nil {
				t.Fatal(err)
			}
		}
		return r.ID
	}
	a := mk("tank", "sim://tank", 0, trace.Completed)
	b := mk("tank", "modbus://10.0.0.5:502?unit=1", 2*time.Hour, trace.Aborted)
	c := mk("pid", "sim://heater", time.Hour, "")
	d := mk("tank", "sim://tank", 3*time.Hour, trace.Completed)
	e := mk("pid", "sim://heater", time.Hour, trace.Completed) // same start as c: newer id first

	ids := func(f RunFilter) []int64 {
		rs, err := db.Runs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for name, c := range map[string]struct {
		f    RunFilter
		want []int64
	}{
		"all, newest first": {RunFilter{}, []int64{d, b, e, c, a}},
		"scenario":          {RunFilter{Scenario: "tank"}, []int64{d, b, a}},
		"target":            {RunFilter{Target: "sim://tank"}, []int64{d, a}},
		"status":            {RunFilter{Status: trace.Running}, []int64{c}},
		"since":             {RunFilter{Since: t0.Add(time.Hour)}, []int64{d, b, e, c}},
		"until":             {RunFilter{Until: t0.Add(time.Hour)}, []int64{a}},
		"limit":             {RunFilter{Scenario: "tank", Status: trace.Completed, Limit: 1}, []int64{d}},
		"none":              {RunFilter{Scenario: "conveyor"}, nil},
	} {
		if got := ids(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}

// A reader sees whole batches while a writer appends: the snapshot never shows half a batch.
func TestLoadWhileWriting(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	r := newRun("a", "b")
	if _, err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	const batches, slots = 40, 50
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := range batches {
			var ss []trace.Sample
			for s := range slots {
				slot := int64(b*slots + s)
				ss = append(ss, trace.Sample{Slot: slot, Tag: 0, Value: float64(slot)}, trace.Sample{Slot: slot, Tag: 1, Value: -float64(slot)})
			}
			if err := db.Append(ctx, r.ID, ss, []trace.Event{{T: int64(b), Kind: trace.EvMark}}); err != nil {
				errc <- err
				return
			}
		}
	}()
	loads := 0
	for {
		tr, err := db.LoadTrace(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		loads++
		if len(tr.Samples)%(2*slots) != 0 || len(tr.Events) != len(tr.Samples)/(2*slots) {
			t.Fatalf("snapshot with %d samples and %d events: half a batch", len(tr.Samples), len(tr.Events))
		}
		for i, s := range tr.Samples {
			if s.Slot != int64(i/2) || s.Tag != uint16(i%2) {
				t.Fatalf("sample %d out of order: %+v", i, s)
			}
		}
		if len(tr.Samples) == batches*slots*2 {
			break
		}
		select {
		case err := <-errc:
			t.Fatal(err)
		default:
		}
	}
	wg.Wait()
	t.Logf("%d loads while writing", loads)
}
