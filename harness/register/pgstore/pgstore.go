// Package pgstore is the patch register in PostgreSQL (through jackc/pgx's database/sql
// driver), shared by every bench of a lab: the same tables as the SQLite ledger, the same
// rules (harness/register), the same register.Store interface. Traces stay in each
// bench's SQLite file.
//
// Guarantees (docs/architecture.md, "The register on PostgreSQL"):
//   - The tables belong to an owner role (the one that ran Setup); the application
//     connects as another role that may read, insert and change a patch's state fields,
//     but holds only SELECT and INSERT on the audit trail. Triggers refuse UPDATE, DELETE
//     and TRUNCATE on the audit trail (and changes to validations, sign-offs, texts) even
//     for the owner.
//   - Every write transaction first takes one transaction-level advisory lock
//     (pg_advisory_xact_lock), so register writes from every bench are serialised: the
//     audit chain head each write reads is the one it continues, and ids P-YEAR-NNN and
//     V-YEAR-NNN come from a counter row updated in the same transaction. The lock is
//     released at commit or rollback, also when a bench's connection drops.
package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/sqlrows"
)

// SchemaVersion is the register schema version this build writes.
const SchemaVersion = 1

// lockKey is the advisory lock every register write holds ("pgreg").
const lockKey = 0x7067726567

// ErrNotSetUp: the database has no register yet; Setup makes it.
var ErrNotSetUp = errors.New("no patchgate register in this database")

// IsURL reports whether s names a PostgreSQL register (postgres:// or postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact is the URL without its password, for messages.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// Store is a register in PostgreSQL.
type Store struct {
	db  *sql.DB
	url string
}

var _ register.Store = (*Store)(nil)

func connect(ctx context.Context, rawURL string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", Redact(rawURL), err)
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("register %s: %w", Redact(rawURL), err)
	}
	return db, nil
}

// Open connects to the register at rawURL (postgres://user@host/db) and checks that
// Setup made it.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	db, err := connect(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	var v int
	err = db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM register_schema`).Scan(&v)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "42P01": // undefined_table
		db.Close()
		return nil, fmt.Errorf("register %s: %w: its owner sets it up with 'patchgate register setup --register URL --app-role ROLE'", Redact(rawURL), ErrNotSetUp)
	case err != nil:
		db.Close()
		return nil, fmt.Errorf("register %s: %w", Redact(rawURL), err)
	case v > SchemaVersion:
		db.Close()
		return nil, fmt.Errorf("register %s: schema version %d is newer than this build knows (%d); use a newer patchgate", Redact(rawURL), v, SchemaVersion)
	}
	return &Store{db: db, url: rawURL}, nil
}

// Setup creates the register's tables in the database at ownerURL, owned by the role that
// connects (the owner), and grants appRole what the application needs: see grants. It is
// run once, by the owner; running it again only renews the grants.
func Setup(ctx context.Context, ownerURL, appRole string) error {
	fail := func(err error) error { return fmt.Errorf("set up register %s: %w", Redact(ownerURL), err) }
	if appRole == "" {
		return fail(register.Invalid("no application role: the role benches connect as"))
	}
	db, err := connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var me, schemaName string
	if err := tx.QueryRowContext(ctx, `SELECT current_user, current_schema()`).Scan(&me, &schemaName); err != nil {
		return fail(err)
	}
	if me == appRole {
		return fail(register.Invalid("the application role %s would own the register: connect as another role (the owner)", appRole))
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
		return fail(err)
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT to_regclass('register_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return fail(err)
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fail(err)
		}
	}
	role := pgx.Identifier{appRole}.Sanitize()
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(grants, role, pgx.Identifier{schemaName}.Sanitize())); err != nil {
		return fail(err)
	}
	return tx.Commit()
}

// Close closes the connections.
func (s *Store) Close() error { return s.db.Close() }

// write runs f in a transaction that holds the register's write lock.
func (s *Store) write(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// nextID takes the next number under prefix-year from the counter row, skipping numbers
// already used by ids given by hand.
func nextID(ctx context.Context, tx *sql.Tx, table, prefix string, year int) (string, error) {
	pre := register.IDPrefix(prefix, year)
	for {
		var last int
		if err := tx.QueryRowContext(ctx, `INSERT INTO id_counters (prefix, last) VALUES ($1, 1)
			ON CONFLICT (prefix) DO UPDATE SET last = id_counters.last + 1 RETURNING last`, pre).Scan(&last); err != nil {
			return "", err
		}
		id := register.MakeID(prefix, year, last-1)
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id).Scan(&taken); err != nil {
			return "", err
		}
		if !taken {
			return id, nil
		}
	}
}

// appendAudit adds a row to the audit trail inside tx (which holds the write lock).
func appendAudit(ctx context.Context, tx *sql.Tx, at time.Time, actor, action, subject string, detail any) error {
	return sqlrows.AppendAudit(ctx, tx, `INSERT INTO audit (`+sqlrows.AuditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, at, actor, action, subject, detail)
}

type scanner interface{ Scan(dest ...any) error }

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

var fromNs = sqlrows.FromNs

func nullNs(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
