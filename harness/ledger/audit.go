package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/verdict"
)

// The audit trail records every write to the register (patch added, state changed, asset
// added, validation recorded, sign-off, evidence bundle exported) in the same transaction as the write itself. It is
// append-only: triggers refuse UPDATE and DELETE on the table and any INSERT that does not
// continue the chain. Each row is hash-chained to the one before it:
//
//	hash = hex(SHA-256(prev_hash || seq || time_ns || actor || action || subject || detail))
//
// where prev_hash is the previous row's hash as 64 ASCII hex characters (64 '0' for row 1),
// seq and time_ns are int64 big-endian, and actor, action, subject and detail are each a
// uint32 big-endian byte length followed by the UTF-8 bytes (detail is the JSON text
// exactly as stored). VerifyAudit recomputes the chain; anyone can recompute it from the
// table with the same rule.
//
// The chain shows any changed, inserted or removed row except removing rows at the end.
// To pin the end too, keep the head (AuditHead) somewhere else, e.g. in an evidence bundle.

// ErrAuditBroken: the audit chain does not verify; errors.As gives the *AuditError.
var ErrAuditBroken = errors.New("audit trail broken")

// AuditError names the first audit row that does not verify.
type AuditError struct {
	Seq    int64
	Reason string // "hash does not match its content", "prev_hash does not match row 16", …
}

func (e *AuditError) Error() string { return fmt.Sprintf("audit row %d: %s", e.Seq, e.Reason) }

// Unwrap makes errors.Is(err, ErrAuditBroken) true.
func (e *AuditError) Unwrap() error { return ErrAuditBroken }

// AuditRow is one entry of the audit trail.
type AuditRow struct {
	Seq      int64           `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Subject  string          `json:"subject"`
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Audit actions.
const (
	ActionPatchAdded         = "patch_added"
	ActionStateChanged       = "state_changed"
	ActionAssetAdded         = "asset_added"
	ActionValidationRecorded = "validation_recorded"
	ActionSignedOff          = "signed_off"
	ActionBundleExported     = "bundle_exported"
)

// genesis is the prev_hash of the first row.
var genesis = strings.Repeat("0", 64)

// hash computes the row's hash from its content and PrevHash.
func (r *AuditRow) hash() string {
	h := sha256.New()
	h.Write([]byte(r.PrevHash))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(r.Seq))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(r.Time.UnixNano()))
	h.Write(b[:])
	for _, s := range []string{r.Actor, r.Action, r.Subject, string(r.Detail)} {
		binary.BigEndian.PutUint32(b[:4], uint32(len(s)))
		h.Write(b[:4])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// appendAudit adds a row to the audit trail inside tx, the transaction of the write it
// records.
func appendAudit(ctx context.Context, tx *sql.Tx, at time.Time, actor, action, subject string, detail any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	r := AuditRow{Time: at, Actor: actor, Action: action, Subject: subject, Detail: d}
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&r.Seq, &r.PrevHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.PrevHash = genesis
	case err != nil:
		return fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	r.Seq++
	r.Hash = r.hash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, time_ns, actor, action, subject, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, at.UnixNano(), actor, action, subject, string(d), r.PrevHash, r.Hash); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	return nil
}

const auditColumns = `seq, time_ns, actor, action, subject, detail, prev_hash, hash`

func scanAudit(sc scanner) (AuditRow, error) {
	var r AuditRow
	var t int64
	var d string
	if err := sc.Scan(&r.Seq, &t, &r.Actor, &r.Action, &r.Subject, &d, &r.PrevHash, &r.Hash); err != nil {
		return r, err
	}
	r.Time = time.Unix(0, t).UTC()
	r.Detail = json.RawMessage(d)
	return r, nil
}

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

// BundleExport is the audit detail of an exported evidence bundle.
type BundleExport struct {
	Patch   string          `json:"patch"`
	Verdict verdict.Outcome `json:"verdict"` // the computed verdict the bundle carries
	File    string          `json:"file"`    // where the bundle was written
	SHA256  string          `json:"sha256"`  // of the bundle file
}

// RecordBundle appends to the audit trail that actor exported an evidence bundle of
// validation validationID at time at (time.Now when zero): the file and its SHA-256, so
// that a bundle can later be told from another one signed by the same key. The validation
// itself never changes.
func (db *DB) RecordBundle(ctx context.Context, validationID, file, sum, actor string, at time.Time) error {
	fail := func(err error) error { return fmt.Errorf("bundle of validation %s: %w", validationID, err) }
	sum, err := checkSHA256("bundle SHA-256", sum)
	switch {
	case err != nil:
		return fail(err)
	case sum == "":
		return fail(invalid("no bundle SHA-256"))
	case strings.TrimSpace(file) == "":
		return fail(invalid("no bundle file"))
	}
	if err := checkActor(actor); err != nil {
		return fail(err)
	}
	at = orNow(at)
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
	if err := appendAudit(ctx, tx, at, actor, ActionBundleExported, validationID, d); err != nil {
		return fail(err)
	}
	return tx.Commit()
}

// AuditHead returns the sequence number and hash of the last audit row (0 and 64 '0' when
// the trail is empty): the value to keep elsewhere to pin the end of the chain.
func (db *DB) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

// VerifyAudit recomputes the audit chain from the first row. It returns how many rows
// verified and, at the first row that does not, an *AuditError (wrapping ErrAuditBroken)
// naming it: a gap in the sequence, a prev_hash that is not the previous row's hash, or a
// hash that does not match the row's content.
func (db *DB) VerifyAudit(ctx context.Context) (n int, err error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	prev := AuditRow{Hash: genesis}
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return n, fmt.Errorf("verify audit: %w", err)
		}
		switch {
		case r.Seq != prev.Seq+1 && prev.Seq == 0:
			return n, &AuditError{r.Seq, fmt.Sprintf("the trail starts at row %d, not row 1", r.Seq)}
		case r.Seq == prev.Seq+2:
			return n, &AuditError{r.Seq, fmt.Sprintf("follows row %d: row %d is missing", prev.Seq, prev.Seq+1)}
		case r.Seq != prev.Seq+1:
			return n, &AuditError{r.Seq, fmt.Sprintf("follows row %d: rows %d to %d are missing", prev.Seq, prev.Seq+1, r.Seq-1)}
		case r.PrevHash != prev.Hash && prev.Seq == 0:
			return n, &AuditError{r.Seq, "prev_hash is not the genesis value (64 zeros)"}
		case r.PrevHash != prev.Hash:
			return n, &AuditError{r.Seq, fmt.Sprintf("prev_hash does not match row %d", prev.Seq)}
		case r.hash() != r.Hash:
			return n, &AuditError{r.Seq, "hash does not match its content"}
		}
		prev = r
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("verify audit: %w", err)
	}
	return n, nil
}
