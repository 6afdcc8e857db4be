package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one numbered step of the schema. Applied migrations are never edited: a
// change to the schema is a new migration at the end of the list.
type migration struct {
	version int
	name    string
	sql     string
}

var migrations = []migration{
	{1, "runs, sample chunks and events", `
CREATE TABLE runs (
	id              INTEGER PRIMARY KEY,
	scenario        TEXT    NOT NULL,
	scenario_file   TEXT    NOT NULL DEFAULT '',
	scenario_sha256 TEXT    NOT NULL DEFAULT '',
	point_map       TEXT    NOT NULL DEFAULT '',
	target          TEXT    NOT NULL,
	repetition      INTEGER NOT NULL DEFAULT 0,
	status          TEXT    NOT NULL
		CHECK (status IN ('running', 'completed', 'aborted', 'faulted', 'incomplete')),
	started_ns      INTEGER NOT NULL,
	ended_ns        INTEGER,
	time_mode       TEXT    NOT NULL DEFAULT '',
	period_ns       INTEGER NOT NULL DEFAULT 0,
	tags            TEXT    NOT NULL CHECK (json_type(tags) = 'array'),
	armed           INTEGER NOT NULL DEFAULT 0 CHECK (armed IN (0, 1)),
	identity_start  TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(identity_start)),
	identity_end    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(identity_end)),
	protocol_stats  TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(protocol_stats)),
	fault           TEXT    NOT NULL DEFAULT '',
	meta            TEXT    CHECK (meta IS NULL OR json_type(meta) = 'object'),
	samples         INTEGER NOT NULL DEFAULT 0,
	events          INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX runs_started ON runs (started_ns);

CREATE TABLE sample_chunks (
	id        INTEGER PRIMARY KEY,
	run_id    INTEGER NOT NULL REFERENCES runs (id),
	tag       INTEGER NOT NULL CHECK (tag BETWEEN 0 AND 65535),
	first_ord INTEGER NOT NULL CHECK (first_ord >= 0),
	n         INTEGER NOT NULL CHECK (n > 0),
	slot_min  INTEGER NOT NULL,
	slot_max  INTEGER NOT NULL,
	data      BLOB    NOT NULL,
	UNIQUE (run_id, tag, first_ord)
) STRICT;

CREATE TABLE events (
	id     INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES runs (id),
	t_ns   INTEGER NOT NULL,
	kind   TEXT    NOT NULL,
	step   INTEGER NOT NULL DEFAULT 0,
	tag    TEXT    NOT NULL DEFAULT '',
	value  TEXT    NOT NULL DEFAULT '',
	msg    TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX events_run ON events (run_id, id);
`},
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int { return len(migrations) }

// Version reports the schema version recorded in the file.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v int
	err := db.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrate applies the missing migrations, one transaction each.
func (db *DB) migrate(ctx context.Context) error {
	for {
		done, err := db.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (db *DB) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if err := checkApplication(ctx, tx); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_ns INTEGER NOT NULL
	) STRICT`); err != nil {
		return false, fmt.Errorf("schema_migrations: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return false, fmt.Errorf("schema version: %w", err)
	}
	switch {
	case v > len(migrations):
		return false, fmt.Errorf("%w: the file has schema version %d, this build knows versions up to %d; open it with a newer patchgate",
			ErrSchemaNewer, v, len(migrations))
	case v == len(migrations):
		return true, tx.Commit()
	}
	m := migrations[v]
	if v == 0 {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d`, applicationID)); err != nil {
			return false, fmt.Errorf("set application_id: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_ns) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	return false, tx.Commit()
}

// checkApplication refuses an SQLite file that belongs to another application: one with a
// different application_id, or one with tables but no patchgate marks at all.
func checkApplication(ctx context.Context, tx interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) error {
	var id int64
	if err := tx.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&id); err != nil {
		return err
	}
	if id == applicationID {
		return nil
	}
	if id != 0 {
		return fmt.Errorf("%w: application_id is %#x, a ledger has %#x", ErrNotLedger, id, applicationID)
	}
	var tables int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name != 'schema_migrations'`).Scan(&tables); err != nil {
		return err
	}
	if tables > 0 {
		return fmt.Errorf("%w: the file holds %d tables of another application", ErrNotLedger, tables)
	}
	return nil
}
