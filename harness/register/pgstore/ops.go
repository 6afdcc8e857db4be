package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/sqlrows"
	"github.com/patchgate/patchgate/harness/verdict"
)

// AddPatch enters a patch (register.Store).
func (s *Store) AddPatch(ctx context.Context, p register.Patch, actor string) (register.Patch, error) {
	fail := func(err error) (register.Patch, error) {
		if p.ID != "" {
			return register.Patch{}, fmt.Errorf("add patch %s: %w", p.ID, err)
		}
		return register.Patch{}, fmt.Errorf("add patch: %w", err)
	}
	if err := p.Normalize(); err != nil {
		return fail(err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	var stored register.Patch
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if p.ID == "" {
			if p.ID, err = nextID(ctx, tx, "patches", register.PatchPrefix, p.Created.Year()); err != nil {
				return err
			}
		} else if _, err := loadPatch(ctx, tx, p.ID); err == nil {
			return register.Exists("patch " + p.ID)
		} else if !errors.Is(err, register.ErrNotFound) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO patches (id, supplier, product, from_version,
			to_version, type, cves, advisory, file_sha256, signature_checked, signature_note,
			qualification, notes, identified_ns, created_ns, state, state_ns)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			p.ID, p.Supplier, p.Product, p.FromVersion, p.ToVersion, string(p.Type), jsonText(nonNil(p.CVEs)),
			p.Advisory, p.FileSHA256, p.SignatureChecked, p.SignatureNote, string(p.Qualification),
			p.Notes, p.Identified.UnixNano(), p.Created.UnixNano(), string(p.State), p.StateChanged.UnixNano()); err != nil {
			return err
		}
		if stored, err = loadPatch(ctx, tx, p.ID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, p.Created, actor, register.ActionPatchAdded, p.ID, stored)
	})
	if err != nil {
		return fail(err)
	}
	return stored, nil
}

// the register's rows are read as every SQL store reads them (harness/register/sqlrows)
const patchColumns = sqlrows.PatchColumns

var scanPatch = sqlrows.ScanPatch

func loadPatch(ctx context.Context, q querier, id string) (register.Patch, error) {
	p, err := scanPatch(q.QueryRowContext(ctx, `SELECT `+patchColumns+` FROM patches WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return register.Patch{}, fmt.Errorf("patch %s: %w", id, register.ErrNotFound)
	}
	return p, err
}

// Patch returns one patch.
func (s *Store) Patch(ctx context.Context, id string) (register.Patch, error) {
	return loadPatch(ctx, s.db, id)
}

// Patches lists the patches in the given states (all when none), in entry order.
func (s *Store) Patches(ctx context.Context, states ...register.State) ([]register.Patch, error) {
	q := `SELECT ` + patchColumns + ` FROM patches`
	var args []any
	if len(states) > 0 {
		var ss []string
		for _, st := range states {
			ss = append(ss, string(st))
		}
		q += ` WHERE state = ANY($1)`
		args = append(args, ss)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY created_ns, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list patches: %w", err)
	}
	return sqlrows.All(rows, scanPatch, "list patches")
}

// SetState moves a patch to another state (register.Store).
func (s *Store) SetState(ctx context.Context, id string, to register.State, actor string, d register.StateDetail) (register.Patch, error) {
	fail := func(err error) (register.Patch, error) {
		return register.Patch{}, fmt.Errorf("patch %s to %s: %w", id, to, err)
	}
	if _, err := register.ParseState(string(to)); err != nil {
		return register.Patch{}, fmt.Errorf("patch %s: %w", id, err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	if err := d.Check(id, to); err != nil {
		return fail(err)
	}
	var out register.Patch
	err := s.write(ctx, func(tx *sql.Tx) error {
		p, err := loadPatch(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := register.CheckTransition(id, p.State, to); err != nil {
			return err
		}
		if to == register.StateSuperseded {
			if _, err := loadPatch(ctx, tx, d.SupersededBy); errors.Is(err, register.ErrNotFound) {
				return register.Invalid("superseded by %s: no such patch in the register; add it first", d.SupersededBy)
			} else if err != nil {
				return err
			}
		}
		n, change := p.Apply(to, d)
		if _, err := tx.ExecContext(ctx, `UPDATE patches SET state = $1, state_ns = $2, evaluated_ns = $3,
			mitigation_plan = $4, review_ns = $5, window_start_ns = $6, window_end_ns = $7, superseded_by = $8
			WHERE id = $9`, string(n.State), n.StateChanged.UnixNano(), nullNs(n.Evaluated), n.MitigationPlan,
			nullNs(n.ReviewDate), nullNs(n.WindowStart), nullNs(n.WindowEnd), nullString(n.SupersededBy), id); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, d.At, actor, register.ActionStateChanged, id, change); err != nil {
			return err
		}
		out, err = loadPatch(ctx, tx, id)
		return err
	})
	var te *register.TransitionError
	switch {
	case errors.As(err, &te), errors.Is(err, register.ErrNotFound):
		return register.Patch{}, err
	case err != nil:
		return fail(err)
	}
	return out, nil
}

// AddAsset enters an asset (register.Store).
func (s *Store) AddAsset(ctx context.Context, a register.Asset, actor string) (register.Asset, error) {
	fail := func(err error) (register.Asset, error) {
		return register.Asset{}, fmt.Errorf("add asset %q: %w", a.Name, err)
	}
	if err := a.Normalize(); err != nil {
		return fail(err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM assets WHERE name = $1`, a.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return register.ErrExists
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO assets (name, target, role, baseline, created_ns)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, a.Name, a.Target, string(a.Role), jsonText(a.Baseline),
			a.Created.UnixNano()).Scan(&a.ID); err != nil {
			return err
		}
		a.Created = a.Created.UTC()
		return appendAudit(ctx, tx, a.Created, actor, register.ActionAssetAdded, register.AssetSubject(a.Name), a)
	})
	if err != nil {
		return fail(err)
	}
	return a, nil
}

// Assets lists the assets by name.
func (s *Store) Assets(ctx context.Context) ([]register.Asset, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, target, role, baseline, created_ns FROM assets ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	defer rows.Close()
	var out []register.Asset
	for rows.Next() {
		var a register.Asset
		var role, baseline string
		var created int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Target, &role, &baseline, &created); err != nil {
			return nil, fmt.Errorf("list assets: %w", err)
		}
		a.Role, a.Created = register.AssetRole(role), fromNs(created)
		if err := json.Unmarshal([]byte(baseline), &a.Baseline); err != nil {
			return nil, register.Corrupt("asset %s baseline: %v", a.Name, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	return out, nil
}

// RecordValidation stores a validation (register.Store); v.WriteBundle runs inside the
// transaction, while it holds the write lock.
func (s *Store) RecordValidation(ctx context.Context, v register.Validation, actor string) (register.Validation, error) {
	fail := func(err error) (register.Validation, error) {
		return register.Validation{}, fmt.Errorf("record validation of patch %s: %w", v.PatchID, err)
	}
	if err := v.Normalize(); err != nil {
		return fail(err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		p, err := loadPatch(ctx, tx, v.PatchID)
		if err != nil {
			return err
		}
		if v.ID == "" {
			if v.ID, err = nextID(ctx, tx, "validations", register.ValidationPrefix, v.Created.Year()); err != nil {
				return err
			}
		} else {
			var taken bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM validations WHERE id = $1)`, v.ID).Scan(&taken); err != nil {
				return err
			}
			if taken {
				return register.Exists("validation " + v.ID)
			}
		}
		record, err := v.Seal()
		if err != nil {
			return err
		}
		var sums [2]any
		for i, f := range []register.File{v.ScenarioFile, v.PointMapFile} {
			if f.Data == nil {
				continue
			}
			sum := register.SHA256Hex(f.Data)
			if _, err := tx.ExecContext(ctx, `INSERT INTO texts (sha256, data) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING`,
				sum, f.Data); err != nil {
				return err
			}
			sums[i] = sum
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO validations (id, patch_id, scenario, before_runs,
			after_runs, record, record_sha256, verdict, bundle, bundle_sha256, differences, created_ns,
			scenario_file, scenario_text, point_map_file, point_map_text)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			v.ID, v.PatchID, v.Scenario, jsonText(v.BeforeRuns), jsonText(v.AfterRuns), string(record), v.RecordSHA256,
			string(v.Verdict), v.Bundle, v.BundleSHA256, jsonText(v.Differences), v.Created.UnixNano(),
			v.ScenarioFile.Name, sums[0], v.PointMapFile.Name, sums[1]); err != nil {
			return err
		}
		v.Created = v.Created.UTC()
		return appendAudit(ctx, tx, v.Created, actor, register.ActionValidationRecorded, v.ID, v.Recorded(p.State))
	})
	if err != nil {
		return fail(err)
	}
	return v, nil
}

const validationColumns = sqlrows.ValidationColumns

var scanValidation = sqlrows.ScanValidation

// Validation returns one validation.
func (s *Store) Validation(ctx context.Context, id string) (register.Validation, error) {
	v, err := scanValidation(s.db.QueryRowContext(ctx, `SELECT `+validationColumns+` FROM validations WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = register.ErrNotFound
	}
	if err != nil {
		return register.Validation{}, fmt.Errorf("validation %s: %w", id, err)
	}
	return v, nil
}

// Validations lists the validations of a patch, oldest first.
func (s *Store) Validations(ctx context.Context, patchID string) ([]register.Validation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+validationColumns+` FROM validations
		WHERE patch_id = $1 ORDER BY created_ns, id`, patchID)
	if err != nil {
		return nil, fmt.Errorf("validations of patch %s: %w", patchID, err)
	}
	return sqlrows.All(rows, scanValidation, fmt.Sprintf("validations of patch %s", patchID))
}

// SignOff records a sign-off (register.Store).
func (s *Store) SignOff(ctx context.Context, so register.SignOff) (register.SignOff, error) {
	fail := func(err error) (register.SignOff, error) {
		return register.SignOff{}, fmt.Errorf("sign-off of validation %s: %w", so.ValidationID, err)
	}
	if err := so.Normalize(); err != nil {
		return fail(err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var patchID, outcome string
		err := tx.QueryRowContext(ctx, `SELECT patch_id, verdict FROM validations WHERE id = $1`, so.ValidationID).Scan(&patchID, &outcome)
		if errors.Is(err, sql.ErrNoRows) {
			return register.ErrNotFound
		}
		if err != nil {
			return err
		}
		signed, err := querySignOffs(ctx, tx, so.ValidationID)
		if err != nil {
			return err
		}
		detail, err := register.CheckSignOff(so, patchID, verdict.Outcome(outcome), signed)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO signoffs (validation_id, name, role, decision, rationale, time_ns)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, so.ValidationID, so.Name, string(so.Role), string(so.Decision),
			so.Rationale, so.Time.UnixNano()).Scan(&so.ID); err != nil {
			return err
		}
		so.Time = so.Time.UTC()
		return appendAudit(ctx, tx, so.Time, so.Name, register.ActionSignedOff, so.ValidationID, detail)
	})
	if err != nil {
		return fail(err)
	}
	return so, nil
}

func querySignOffs(ctx context.Context, q querier, validationID string) ([]register.SignOff, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+sqlrows.SignOffColumns+`
		FROM signoffs WHERE validation_id = $1 ORDER BY time_ns, id`, validationID)
	if err != nil {
		return nil, err
	}
	return sqlrows.All(rows, sqlrows.ScanSignOff, "sign-off rows")
}

// SignOffs lists the sign-offs of a validation in the order they were made.
func (s *Store) SignOffs(ctx context.Context, validationID string) ([]register.SignOff, error) {
	out, err := querySignOffs(ctx, s.db, validationID)
	if err != nil {
		return nil, fmt.Errorf("sign-offs of validation %s: %w", validationID, err)
	}
	return out, nil
}

// RecordBundle records an exported evidence bundle in the audit trail (register.Store).
func (s *Store) RecordBundle(ctx context.Context, validationID, file, sum, actor string, at time.Time) error {
	fail := func(err error) error { return fmt.Errorf("bundle of validation %s: %w", validationID, err) }
	sum, at, err := register.CheckBundle(file, sum, actor, at)
	if err != nil {
		return fail(err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		d := register.BundleExport{File: file, SHA256: sum}
		var outcome string
		err := tx.QueryRowContext(ctx, `SELECT patch_id, verdict FROM validations WHERE id = $1`, validationID).Scan(&d.Patch, &outcome)
		if errors.Is(err, sql.ErrNoRows) {
			return register.ErrNotFound
		}
		if err != nil {
			return err
		}
		d.Verdict = verdict.Outcome(outcome)
		return appendAudit(ctx, tx, at, actor, register.ActionBundleExported, validationID, d)
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

const auditColumns = sqlrows.AuditColumns

var scanAudit = sqlrows.ScanAudit

func (s *Store) queryAudit(ctx context.Context, q string, args ...any) ([]register.AuditRow, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []register.AuditRow
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Audit returns the last limit audit rows (all when limit <= 0), oldest first.
func (s *Store) Audit(ctx context.Context, limit int) ([]register.AuditRow, error) {
	q := `SELECT ` + auditColumns + ` FROM audit ORDER BY seq`
	var args []any
	if limit > 0 {
		q = `SELECT * FROM (SELECT ` + auditColumns + ` FROM audit ORDER BY seq DESC LIMIT $1) last ORDER BY seq`
		args = append(args, limit)
	}
	out, err := s.queryAudit(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

// PatchAudit returns the audit rows of a patch, its validations and their sign-offs.
func (s *Store) PatchAudit(ctx context.Context, patchID string) ([]register.AuditRow, error) {
	out, err := s.queryAudit(ctx, `SELECT `+auditColumns+` FROM audit
		WHERE subject = $1 OR subject IN (SELECT id FROM validations WHERE patch_id = $1) ORDER BY seq`, patchID)
	if err != nil {
		return nil, fmt.Errorf("audit of patch %s: %w", patchID, err)
	}
	return out, nil
}

// AuditHead returns the sequence number and hash of the last audit row.
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, register.Genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

// VerifyAudit recomputes the audit chain from row 1 (register.Verifier). It reads in one
// REPEATABLE READ transaction, so rows appended meanwhile by other benches do not mix in.
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("verify audit: %w", err)
	}
	defer tx.Rollback()
	return sqlrows.VerifyAudit(ctx, tx)
}
