package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/sqlrows"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The audit trail in SQLite: the table holds the rows register.NextAuditRow makes, and
// triggers refuse UPDATE and DELETE on it and any INSERT that does not continue the chain
// (the hash rule is in harness/register, audit.go).

// appendAudit adds a row to the audit trail inside tx, the transaction of the write it
// records.
func appendAudit(ctx context.Context, tx *sql.Tx, at time.Time, actor, action, subject string, detail any) error {
	return sqlrows.AppendAudit(ctx, tx, `INSERT INTO audit (`+sqlrows.AuditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, at, actor, action, subject, detail)
}

const auditColumns = sqlrows.AuditColumns

var scanAudit = sqlrows.ScanAudit

func (db *DB) queryAudit(ctx context.Context, q string, args ...any) ([]AuditRow, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Audit returns the last limit rows of the audit trail (all of them when limit <= 0),
// oldest first.
func (db *DB) Audit(ctx context.Context, limit int) ([]AuditRow, error) {
	q := `SELECT ` + auditColumns + ` FROM audit ORDER BY seq`
	var args []any
	if limit > 0 {
		q = `SELECT * FROM (SELECT ` + auditColumns + ` FROM audit ORDER BY seq DESC LIMIT ?) ORDER BY seq`
		args = append(args, limit)
	}
	out, err := db.queryAudit(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

// PatchAudit returns the audit rows about one patch, its validations and their sign-offs,
// oldest first.
func (db *DB) PatchAudit(ctx context.Context, patchID string) ([]AuditRow, error) {
	out, err := db.queryAudit(ctx, `SELECT `+auditColumns+` FROM audit
		WHERE subject = ?1 OR subject IN (SELECT id FROM validations WHERE patch_id = ?1) ORDER BY seq`, patchID)
	if err != nil {
		return nil, fmt.Errorf("audit of patch %s: %w", patchID, err)
	}
	return out, nil
}

// RecordBundle appends to the audit trail that actor exported an evidence bundle of
// validation validationID at time at (time.Now when zero): the file and its SHA-256, so
// that a bundle can later be told from another one signed by the same key. The validation
// itself never changes.
func (db *DB) RecordBundle(ctx context.Context, validationID, file, sum, actor string, at time.Time) error {
	fail := func(err error) error { return fmt.Errorf("bundle of validation %s: %w", validationID, err) }
	sum, at, err := register.CheckBundle(file, sum, actor, at)
	if err != nil {
		return fail(err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	d := BundleExport{File: file, SHA256: sum}
	var outcome string
	err = tx.QueryRowContext(ctx, `SELECT patch_id, verdict FROM validations WHERE id = ?`, validationID).Scan(&d.Patch, &outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(ErrNotFound)
	}
	if err != nil {
		return fail(err)
	}
	d.Verdict = verdict.Outcome(outcome)
	if err := appendAudit(ctx, tx, at, actor, register.ActionBundleExported, validationID, d); err != nil {
		return fail(err)
	}
	return tx.Commit()
}

// AuditHead returns the sequence number and hash of the last audit row (0 and 64 '0' when
// the trail is empty): the value to keep elsewhere to pin the end of the chain.
func (db *DB) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, register.Genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

// VerifyAudit recomputes the audit chain from the first row (register.Verifier). It
// returns how many rows verified and, at the first row that does not, an *AuditError
// (wrapping ErrAuditBroken) naming it.
func (db *DB) VerifyAudit(ctx context.Context) (n int, err error) {
	return sqlrows.VerifyAudit(ctx, db.r)
}
