// Package sqlrows reads the register's rows the same way for every SQL store (the SQLite
// ledger and PostgreSQL's pgstore keep the same columns): the register's rules stay apart
// from SQL (harness/register), the stores keep their dialects, and this is what they share.
package sqlrows

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Scanner is a *sql.Row or *sql.Rows.
type Scanner interface{ Scan(dest ...any) error }

// FromNs is a stored time: integer nanoseconds since the Unix epoch, in UTC.
func FromNs(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// FromNullNs is a stored time that may be NULL (the zero time).
func FromNullNs(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return FromNs(ns.Int64)
}

// PatchColumns are the patches table's columns in the order ScanPatch reads them.
const PatchColumns = `id, supplier, product, from_version, to_version, type, cves, advisory,
	file_sha256, signature_checked, signature_note, qualification, notes, identified_ns,
	created_ns, state, state_ns, evaluated_ns, mitigation_plan, review_ns, window_start_ns,
	window_end_ns, superseded_by`

// ScanPatch reads a row of PatchColumns.
func ScanPatch(sc Scanner) (register.Patch, error) {
	var (
		p                                         register.Patch
		typ, qual, state, cves                    string
		identified, created, changed              int64
		evaluated, review, windowStart, windowEnd sql.NullInt64
		supersededBy                              sql.NullString
	)
	if err := sc.Scan(&p.ID, &p.Supplier, &p.Product, &p.FromVersion, &p.ToVersion, &typ, &cves,
		&p.Advisory, &p.FileSHA256, &p.SignatureChecked, &p.SignatureNote, &qual, &p.Notes,
		&identified, &created, &state, &changed, &evaluated, &p.MitigationPlan, &review,
		&windowStart, &windowEnd, &supersededBy); err != nil {
		return p, err
	}
	p.Type, p.Qualification, p.State = register.PatchType(typ), register.Qualification(qual), register.State(state)
	p.Identified, p.Created, p.StateChanged = FromNs(identified), FromNs(created), FromNs(changed)
	p.Evaluated, p.ReviewDate = FromNullNs(evaluated), FromNullNs(review)
	p.WindowStart, p.WindowEnd = FromNullNs(windowStart), FromNullNs(windowEnd)
	p.SupersededBy = supersededBy.String
	if err := json.Unmarshal([]byte(cves), &p.CVEs); err != nil {
		return p, register.Corrupt("patch %s cves: %v", p.ID, err)
	}
	if len(p.CVEs) == 0 {
		p.CVEs = nil
	}
	return p, nil
}

// ValidationColumns are the validations table's columns, with the texts they name, in
// the order ScanValidation reads them.
const ValidationColumns = `id, patch_id, scenario, before_runs, after_runs, record, record_sha256,
	verdict, bundle, bundle_sha256, differences, created_ns,
	scenario_file, scenario_text, (SELECT data FROM texts WHERE sha256 = scenario_text),
	point_map_file, point_map_text, (SELECT data FROM texts WHERE sha256 = point_map_text)`

// ScanValidation reads a row of ValidationColumns.
func ScanValidation(sc Scanner) (register.Validation, error) {
	var v register.Validation
	var before, after, record, diffs, outcome string
	var created int64
	var sums [2]sql.NullString
	if err := sc.Scan(&v.ID, &v.PatchID, &v.Scenario, &before, &after, &record, &v.RecordSHA256,
		&outcome, &v.Bundle, &v.BundleSHA256, &diffs, &created,
		&v.ScenarioFile.Name, &sums[0], &v.ScenarioFile.Data, &v.PointMapFile.Name, &sums[1], &v.PointMapFile.Data); err != nil {
		return v, err
	}
	if err := v.CheckTexts([2]string{sums[0].String, sums[1].String}); err != nil {
		return v, err
	}
	v.Verdict, v.Created = verdict.Outcome(outcome), FromNs(created)
	for _, c := range []struct {
		name string
		src  string
		dst  any
	}{
		{"before_runs", before, &v.BeforeRuns},
		{"after_runs", after, &v.AfterRuns},
		{"record", record, &v.Record},
		{"differences", diffs, &v.Differences},
	} {
		if err := json.Unmarshal([]byte(c.src), c.dst); err != nil {
			return v, register.Corrupt("validation %s %s: %v", v.ID, c.name, err)
		}
	}
	return v, nil
}

// AuditColumns are the audit table's columns in the order ScanAudit reads them.
const AuditColumns = `seq, time_ns, actor, action, subject, detail, prev_hash, hash`

// ScanAudit reads a row of AuditColumns.
func ScanAudit(sc Scanner) (register.AuditRow, error) {
	var r register.AuditRow
	var t int64
	var d string
	if err := sc.Scan(&r.Seq, &t, &r.Actor, &r.Action, &r.Subject, &d, &r.PrevHash, &r.Hash); err != nil {
		return r, err
	}
	r.Time = FromNs(t)
	r.Detail = json.RawMessage(d)
	return r, nil
}

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// VerifyAudit recomputes the audit chain read through q from the first row
// (register.Verifier): how many rows verified and, at the first that does not, the error
// naming it.
func VerifyAudit(ctx context.Context, q Querier) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+AuditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	var v register.Verifier
	for rows.Next() {
		r, err := ScanAudit(rows)
		if err != nil {
			return v.N, fmt.Errorf("verify audit: %w", err)
		}
		if err := v.Next(r); err != nil {
			return v.N, err
		}
	}
	if err := rows.Err(); err != nil {
		return v.N, fmt.Errorf("verify audit: %w", err)
	}
	return v.N, nil
}

// Tx is a *sql.Tx: the transaction of a register write.
type Tx interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// AppendAudit adds a row to the audit trail inside tx, the transaction of the write it
// records (and, on a shared register, the holder of its write lock). insert is the store's
// INSERT INTO audit (AuditColumns) with its own placeholders.
func AppendAudit(ctx context.Context, tx Tx, insert string, at time.Time, actor, action, subject string, detail any) error {
	var seq int64
	head := register.Genesis
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	r, err := register.NextAuditRow(seq, head, at, actor, action, subject, detail)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, insert, r.Seq, at.UnixNano(), actor, action, subject, string(r.Detail), r.PrevHash, r.Hash); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	return nil
}

// All reads every row of rows with scan; what names the list in errors.
func All[T any](rows *sql.Rows, scan func(Scanner) (T, error), what string) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// SignOffColumns are the signoffs table's columns in the order ScanSignOff reads them.
const SignOffColumns = `id, validation_id, name, role, decision, rationale, time_ns`

// ScanSignOff reads a row of SignOffColumns.
func ScanSignOff(sc Scanner) (register.SignOff, error) {
	var so register.SignOff
	var role, decision string
	var t int64
	if err := sc.Scan(&so.ID, &so.ValidationID, &so.Name, &role, &decision, &so.Rationale, &t); err != nil {
		return so, err
	}
	so.Role, so.Decision, so.Time = register.Role(role), register.Decision(decision), FromNs(t)
	return so, nil
}
