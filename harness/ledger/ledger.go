// Package ledger is patchgate's store: one SQLite file (through mattn/go-sqlite3) holding
// runs with their traces now, and later the patch register (patches, validations, sign-offs,
// the hash-chained audit trail). It is the only package in patchgate that speaks SQL.
//
// # The file
//
// The database runs in WAL mode with synchronous=NORMAL, a busy timeout and foreign keys on.
// A process crash loses no committed transaction; a power loss may lose the last few
// commits but never corrupts the file. Writes go through one connection that starts its
// transactions with BEGIN IMMEDIATE (no lock upgrades, no SQLITE_BUSY halfway through);
// reads go through a separate query-only pool and see a consistent snapshot while a run is
// being written. The file carries application_id 0x70676c64 ("pgld") so that a foreign
// SQLite file is refused instead of being written into.
//
// The schema is versioned: table schema_migrations records every numbered migration
// applied, each in its own transaction. Open applies the missing ones and refuses (with
// ErrSchemaNewer) a file whose version is newer than this build knows.
//
// # Runs
//
// CreateRun starts a run; Append (or AppendSamples, AppendEvents) commits each batch the
// runner hands over, one transaction per batch, so a crash loses at most the batch being
// written; FinishRun ends it. Recorder adapts the DB to the runner's Recorder interface.
// LoadTrace reads a run back whole; package export writes it as CSV or JSON.
//
// A single process records into a ledger at a time: Open marks every run still "running"
// as "incomplete" (the process that recorded it stopped without finishing it), with the
// reason in the run's fault text. An incomplete run keeps its committed data and takes no
// more.
//
// # Tables
//
//	schema_migrations(version, name, applied_ns)
//	runs(id, scenario, …, status, started_ns, ended_ns, tags JSON, identity_start JSON,
//	     identity_end JSON, protocol_stats JSON, fault, meta JSON, samples, events)
//	sample_chunks(id, run_id, tag, first_ord, n, slot_min, slot_max, data BLOB)
//	events(id, run_id, t_ns, kind, step, tag, value, msg)
//
// runs.samples counts the samples committed so far: the ordinal the next one gets. Times are
// integer nanoseconds since the Unix epoch (UTC).
//
// # Samples in chunks
//
// A row per sample cannot reach a million samples a second through cgo, so samples are
// stored in chunks: each appended batch is split by tag, and each tag's samples of the batch
// become one row of sample_chunks (more when a tag has over 65,536 samples in one batch)
// with the samples packed in the data BLOB. Every sample has an ordinal, its position in
// the run as written (0, 1, 2, …); a chunk row holds the ordinal of its first sample
// (first_ord), so loading puts every sample back exactly where it was written, and one tag's
// chunks ordered by first_ord are that tag's samples in order. All integers are
// little-endian:
//
//	header, 9 bytes:
//	  0  uint8   format version, 1
//	  1  uint32  n, number of records
//	  5  uint32  m, number of text entries
//	n records, 37 bytes each:
//	  0  uint32  ordinal - first_ord (strictly increasing within a chunk)
//	  4  int64   slot
//	  12 int64   t, ns since run start
//	  20 int64   late, ns
//	  28 uint8   quality (0 good, 1 bad, 2 missing)
//	  29 float64 value (IEEE 754 bits, NaN payloads kept)
//	m text entries, for the records whose Text is not empty:
//	  0  uint32  record number within the chunk (strictly increasing, < n)
//	  4  uint32  length in bytes (> 0)
//	  8  …       the text, UTF-8 as given
//
// The blob ends exactly after the last text entry. The encoding is canonical: decoding a
// valid chunk and encoding it again gives the same bytes.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/patchgate/patchgate/harness/register"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3" // registers the "sqlite3" database/sql driver
)

// Errors callers branch on.
var (
	// ErrSchemaNewer: the file was written by a newer patchgate; this build must not touch it.
	ErrSchemaNewer = errors.New("ledger schema is newer than this build of patchgate")
	// ErrNotLedger: the file is an SQLite database of some other application.
	ErrNotLedger = errors.New("not a patchgate ledger")
	// ErrNotFound: no run (patch, validation…) with that id; the register's error.
	ErrNotFound = register.ErrNotFound
	// ErrNotRunning: the run is finished (or was found incomplete); it takes no more data.
	ErrNotRunning = errors.New("run is not running")
	// ErrCorrupt: stored data does not decode; run Check and restore from a copy.
	ErrCorrupt = register.ErrCorrupt
)

// applicationID marks a patchgate ledger file ("pgld").
const applicationID = 0x70676c64

// busyTimeout is how long a statement waits for another connection's lock.
const busyTimeout = 10 * time.Second

// DB is an open ledger. Its methods are safe for concurrent use. It starts no goroutines:
// Close only closes the connections (waiting for statements in progress).
type DB struct {
	path      string
	w         *sql.DB // writes: one connection, BEGIN IMMEDIATE
	r         *sql.DB // reads: query_only connections
	recovered []int64
}

// Open opens (creating if needed) the ledger file at path, brings its schema up to date and
// marks runs left "running" by a crashed process as "incomplete".
func Open(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	uri := fileURI(abs)
	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=on&_stmt_cache_size=32", busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite3", uri+"?"+common+"&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	db := &DB{path: path, w: w}
	fail := func(err error) (*DB, error) {
		w.Close()
		if db.r != nil {
			db.r.Close()
		}
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	// Refuse a foreign file before touching it. WAL mode is persistent in the file; check
	// it took (it cannot on some network file systems).
	if err := checkApplication(ctx, w); err != nil {
		return fail(err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return fail(err)
	}
	if mode != "wal" {
		return fail(fmt.Errorf("journal_mode is %s, cannot switch to WAL", mode))
	}
	if err := db.migrate(ctx); err != nil {
		return fail(err)
	}
	// Readers open after the writer made the file WAL; query_only keeps them honest.
	db.r, err = sql.Open("sqlite3", uri+"?"+common+"&_synchronous=NORMAL&_query_only=on")
	if err != nil {
		return fail(err)
	}
	if err := db.r.PingContext(ctx); err != nil {
		return fail(err)
	}
	if db.recovered, err = db.markIncomplete(ctx); err != nil {
		return fail(err)
	}
	return db, nil
}

// fileURI turns an absolute path into an SQLite URI, escaping the characters ('?', '#',
// '%', spaces) that would otherwise end the path or be taken for options.
func fileURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: C:/x becomes /C:/x, as SQLite expects
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// Path is the file the ledger was opened from.
func (db *DB) Path() string { return db.path }

// Recovered lists the runs that Open found still "running" and marked "incomplete".
func (db *DB) Recovered() []int64 { return append([]int64(nil), db.recovered...) }

// Close closes the ledger.
func (db *DB) Close() error {
	var err error
	if db.r != nil {
		err = db.r.Close()
	}
	return errors.Join(err, db.w.Close())
}

// Check runs SQLite's integrity check and foreign key check and returns an error describing
// the damage unless both are clean.
func (db *DB) Check(ctx context.Context) error {
	fail := func(err error) error {
		var se sqlite3.Error
		if errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB) {
			return fmt.Errorf("check ledger %s: %w: %w", db.path, ErrCorrupt, err)
		}
		return fmt.Errorf("check ledger %s: %w", db.path, err)
	}
	rows, err := db.r.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fail(err)
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return fail(err)
		}
		msgs = append(msgs, m)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fail(err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		return fmt.Errorf("check ledger %s: %w: integrity_check: %s", db.path, ErrCorrupt, strings.Join(msgs, "; "))
	}
	rows, err = db.r.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int64
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fail(err)
		}
		return fmt.Errorf("check ledger %s: %w: %s row %d refers to a missing %s row", db.path, ErrCorrupt, table, rowid.Int64, parent)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return nil
}

// markIncomplete marks the runs a crashed process left "running".
func (db *DB) markIncomplete(ctx context.Context) ([]int64, error) {
	why := "incomplete: still recording when the ledger was opened again at " +
		time.Now().UTC().Format(time.RFC3339) +
		" (the recording process stopped without finishing the run); every committed batch of samples and events is kept"
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `UPDATE runs SET status = 'incomplete',
		fault = CASE WHEN fault = '' THEN ?1 ELSE fault || '; ' || ?1 END
		WHERE status = 'running' RETURNING id`, why)
	if err != nil {
		return nil, fmt.Errorf("mark incomplete runs: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("mark incomplete runs: %w", err)
	}
	return ids, tx.Commit()
}
