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
	{2, "patch register: patches, assets, validations, sign-offs, audit trail", `
CREATE TABLE patches (
	id                TEXT    PRIMARY KEY,
	supplier          TEXT    NOT NULL CHECK (supplier != ''),
	product           TEXT    NOT NULL CHECK (product != ''),
	from_version      TEXT    NOT NULL DEFAULT '',
	to_version        TEXT    NOT NULL DEFAULT '',
	type              TEXT    NOT NULL
		CHECK (type IN ('security', 'bugfix', 'reliability', 'feature')),
	cves              TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(cves) = 'array'),
	advisory          TEXT    NOT NULL DEFAULT '',
	file_sha256       TEXT    NOT NULL DEFAULT '',
	signature_checked INTEGER NOT NULL DEFAULT 0 CHECK (signature_checked IN (0, 1)),
	signature_note    TEXT    NOT NULL DEFAULT '',
	qualification     TEXT    NOT NULL
		CHECK (qualification IN ('qualified', 'not_qualified', 'unknown')),
	notes             TEXT    NOT NULL DEFAULT '',
	identified_ns     INTEGER NOT NULL,
	created_ns        INTEGER NOT NULL,
	state             TEXT    NOT NULL CHECK (state IN ('identified', 'assessed_not_applicable',
		'assessed_applicable', 'in_test', 'go', 'no_go', 'deferred', 'scheduled', 'deployed',
		'verified', 'closed', 'superseded', 'rolled_back')),
	state_ns          INTEGER NOT NULL,
	evaluated_ns      INTEGER,
	mitigation_plan   TEXT    NOT NULL DEFAULT '',
	review_ns         INTEGER,
	window_start_ns   INTEGER,
	window_end_ns     INTEGER,
	superseded_by     TEXT    REFERENCES patches (id)
) STRICT;
CREATE INDEX patches_state ON patches (state);

CREATE TABLE assets (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE CHECK (name != ''),
	target     TEXT    NOT NULL,
	role       TEXT    NOT NULL CHECK (role IN ('bench', 'production')),
	baseline   TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(baseline) = 'object'),
	created_ns INTEGER NOT NULL
) STRICT;

CREATE TABLE validations (
	id            TEXT    PRIMARY KEY,
	patch_id      TEXT    NOT NULL REFERENCES patches (id),
	scenario      TEXT    NOT NULL,
	before_runs   TEXT    NOT NULL CHECK (json_type(before_runs) = 'array'),
	after_runs    TEXT    NOT NULL CHECK (json_type(after_runs) = 'array'),
	record        TEXT    NOT NULL CHECK (json_type(record) = 'object'),
	record_sha256 TEXT    NOT NULL,
	verdict       TEXT    NOT NULL CHECK (verdict IN ('GO', 'NO-GO', 'INCONCLUSIVE')),
	bundle        TEXT    NOT NULL DEFAULT '',
	bundle_sha256 TEXT    NOT NULL DEFAULT '',
	differences   TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(differences) = 'array'),
	created_ns    INTEGER NOT NULL
) STRICT;
CREATE INDEX validations_patch ON validations (patch_id, created_ns);

CREATE TABLE signoffs (
	id            INTEGER PRIMARY KEY,
	validation_id TEXT    NOT NULL REFERENCES validations (id),
	name          TEXT    NOT NULL CHECK (name != ''),
	role          TEXT    NOT NULL CHECK (role IN ('tester', 'oem_witness', 'approver')),
	decision      TEXT    NOT NULL CHECK (decision IN ('approve', 'reject', 'accept_risk')),
	rationale     TEXT    NOT NULL DEFAULT '',
	time_ns       INTEGER NOT NULL,
	CHECK (decision = 'approve' OR rationale != ''),
	UNIQUE (validation_id, name, role)
) STRICT;

CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY,
	time_ns   INTEGER NOT NULL,
	actor     TEXT    NOT NULL,
	action    TEXT    NOT NULL,
	subject   TEXT    NOT NULL,
	detail    TEXT    NOT NULL CHECK (json_valid(detail)),
	prev_hash TEXT    NOT NULL CHECK (length(prev_hash) = 64),
	hash      TEXT    NOT NULL CHECK (length(hash) = 64)
) STRICT;
CREATE INDEX audit_subject ON audit (subject, seq);

-- The register keeps everything it was told: no row is ever deleted, validations and
-- sign-offs never change, and the audit trail only grows, each row continuing the chain.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: its rows cannot be changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: its rows cannot be deleted'); END;
CREATE TRIGGER audit_chain BEFORE INSERT ON audit
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM audit)
	OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1),
		'0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'an audit row must continue the chain: next seq, prev_hash of the last row'); END;
CREATE TRIGGER patches_no_delete BEFORE DELETE ON patches
BEGIN SELECT RAISE(ABORT, 'patches are never deleted from the register'); END;
CREATE TRIGGER assets_no_delete BEFORE DELETE ON assets
BEGIN SELECT RAISE(ABORT, 'assets are never deleted from the register'); END;
CREATE TRIGGER validations_no_update BEFORE UPDATE ON validations
BEGIN SELECT RAISE(ABORT, 'a recorded validation cannot be changed'); END;
CREATE TRIGGER validations_no_delete BEFORE DELETE ON validations
BEGIN SELECT RAISE(ABORT, 'a recorded validation cannot be deleted'); END;
CREATE TRIGGER signoffs_no_update BEFORE UPDATE ON signoffs
BEGIN SELECT RAISE(ABORT, 'a sign-off cannot be changed'); END;
CREATE TRIGGER signoffs_no_delete BEFORE DELETE ON signoffs
BEGIN SELECT RAISE(ABORT, 'a sign-off cannot be deleted'); END;
`},
	{3, "the scenario and point map texts each validation ran", `
-- texts holds files by the SHA-256 of their bytes, once each however many validations ran
-- them; like the validations, a stored text never changes and is never deleted.
CREATE TABLE texts (
	sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
	data   BLOB NOT NULL
) STRICT;
CREATE TRIGGER texts_no_update BEFORE UPDATE ON texts
BEGIN SELECT RAISE(ABORT, 'a stored text cannot be changed'); END;
CREATE TRIGGER texts_no_delete BEFORE DELETE ON texts
BEGIN SELECT RAISE(ABORT, 'a stored text cannot be deleted'); END;
-- validations recorded before this migration have no texts (NULL)
ALTER TABLE validations ADD COLUMN scenario_file TEXT NOT NULL DEFAULT '';
ALTER TABLE validations ADD COLUMN scenario_text TEXT REFERENCES texts (sha256);
ALTER TABLE validations ADD COLUMN point_map_file TEXT NOT NULL DEFAULT '';
ALTER TABLE validations ADD COLUMN point_map_text TEXT REFERENCES texts (sha256);
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

// migrate applies the missing migrations, one transaction each. When it applied any, it
// checkpoints the WAL so that a new or upgraded file starts with its schema in the main
// file and an empty WAL (the schema of the register alone is some 100 KB of WAL frames).
func (db *DB) migrate(ctx context.Context) error {
	for applied := 0; ; applied++ {
		done, err := db.migrateOne(ctx)
		if err != nil {
			return err
		}
		if done {
			if applied > 0 {
				// Best effort: another process reading the file may keep part of the WAL,
				// which is no harm; the next checkpoint folds it in.
				db.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
			}
			return nil
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
