package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/sqlrows"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The patch register in SQLite: the SQL only. The rules (states and transitions, the
// checks on every input, the audit details, the hash chain) are harness/register's; every
// write checks its input there and appends an audit row (audit.go) in the same transaction.
//
// Tables (schema migrations 2 and 3):
//
//	patches(id, supplier, product, from_version, to_version, type, cves JSON, advisory,
//	        file_sha256, signature_checked, signature_note, qualification, notes,
//	        identified_ns, created_ns, state, state_ns, evaluated_ns, mitigation_plan,
//	        review_ns, window_start_ns, window_end_ns, superseded_by)
//	assets(id, name, target, role, baseline JSON, created_ns)
//	validations(id, patch_id, scenario, before_runs JSON, after_runs JSON, record JSON,
//	        record_sha256, verdict, bundle, bundle_sha256, differences JSON, created_ns,
//	        scenario_file, scenario_text, point_map_file, point_map_text)
//	texts(sha256, data): the files validations ran, by the SHA-256 of their bytes
//	signoffs(id, validation_id, name, role, decision, rationale, time_ns)
//	audit(seq, time_ns, actor, action, subject, detail JSON, prev_hash, hash)
//
// Rows of patches and assets are never deleted; validations, sign-offs and audit rows never
// change (triggers refuse it). Times are stored as integer nanoseconds since the Unix epoch
// and come back in UTC. Ids are made inside the write transaction, which SQLite runs alone
// (BEGIN IMMEDIATE), so two writers never make the same one.

// nextID makes the next id of the form PREFIX-YEAR-NNN for a table with a text id.
func nextID(ctx context.Context, tx *sql.Tx, table, prefix string, year int) (string, error) {
	pre := register.IDPrefix(prefix, year)
	rows, err := tx.QueryContext(ctx, `SELECT id FROM `+table+` WHERE substr(id, 1, ?) = ?`, len(pre), pre)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	last := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		if n, ok := register.IDNumber(pre, id); ok && n > last {
			last = n
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return register.MakeID(prefix, year, last), nil
}

// AddPatch enters a patch in the register, in state identified, and returns it as stored
// (with its id, made as P-YEAR-NNN from the entry year when p.ID is empty). actor is who
// entered it, for the audit trail.
func (db *DB) AddPatch(ctx context.Context, p Patch, actor string) (Patch, error) {
	fail := func(err error) (Patch, error) {
		if p.ID != "" {
			return Patch{}, fmt.Errorf("add patch %s: %w", p.ID, err)
		}
		return Patch{}, fmt.Errorf("add patch: %w", err)
	}
	if err := p.Normalize(); err != nil {
		return fail(err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	cves, err := json.Marshal(nonNil(p.CVEs))
	if err != nil {
		return fail(err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if p.ID == "" {
		if p.ID, err = nextID(ctx, tx, "patches", register.PatchPrefix, p.Created.Year()); err != nil {
			return fail(err)
		}
	} else if _, err := loadPatch(ctx, tx, p.ID); err == nil {
		return fail(register.Exists("patch " + p.ID))
	} else if !errors.Is(err, ErrNotFound) {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO patches (id, supplier, product, from_version,
		to_version, type, cves, advisory, file_sha256, signature_checked, signature_note,
		qualification, notes, identified_ns, created_ns, state, state_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Supplier, p.Product, p.FromVersion, p.ToVersion, string(p.Type), string(cves),
		p.Advisory, p.FileSHA256, p.SignatureChecked, p.SignatureNote, string(p.Qualification),
		p.Notes, p.Identified.UnixNano(), p.Created.UnixNano(), string(p.State), p.StateChanged.UnixNano()); err != nil {
		return fail(err)
	}
	stored, err := loadPatch(ctx, tx, p.ID)
	if err != nil {
		return fail(err)
	}
	if err := appendAudit(ctx, tx, p.Created, actor, register.ActionPatchAdded, p.ID, stored); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return stored, nil
}

// the register's rows are read as every SQL store reads them (harness/register/sqlrows)
const patchColumns = sqlrows.PatchColumns

var scanPatch = sqlrows.ScanPatch

var fromNs = sqlrows.FromNs

// nullNs is t in nanoseconds, NULL when zero.
func nullNs(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func loadPatch(ctx context.Context, q querier, id string) (Patch, error) {
	p, err := scanPatch(q.QueryRowContext(ctx, `SELECT `+patchColumns+` FROM patches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Patch{}, fmt.Errorf("patch %s: %w", id, ErrNotFound)
	}
	return p, err
}

// Patch returns one patch.
func (db *DB) Patch(ctx context.Context, id string) (Patch, error) {
	return loadPatch(ctx, db.r, id)
}

// Patches lists the patches in the given states (all patches when none is given), in the
// order they were entered.
func (db *DB) Patches(ctx context.Context, states ...State) ([]Patch, error) {
	q := `SELECT ` + patchColumns + ` FROM patches`
	var args []any
	if len(states) > 0 {
		q += ` WHERE state IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ") + `)`
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	q += ` ORDER BY created_ns, id`
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list patches: %w", err)
	}
	return sqlrows.All(rows, scanPatch, "list patches")
}

// SetState moves a patch to another state, if the state machine allows it (otherwise a
// *TransitionError listing the allowed states), and returns the patch as stored. actor is
// who made the change, for the audit trail.
func (db *DB) SetState(ctx context.Context, id string, to State, actor string, d StateDetail) (Patch, error) {
	fail := func(err error) (Patch, error) {
		return Patch{}, fmt.Errorf("patch %s to %s: %w", id, to, err)
	}
	if _, err := register.ParseState(string(to)); err != nil {
		return Patch{}, fmt.Errorf("patch %s: %w", id, err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	if err := d.Check(id, to); err != nil {
		return fail(err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	p, err := loadPatch(ctx, tx, id)
	if err != nil {
		return Patch{}, err
	}
	if err := register.CheckTransition(id, p.State, to); err != nil {
		return Patch{}, err
	}
	if to == register.StateSuperseded {
		if _, err := loadPatch(ctx, tx, d.SupersededBy); errors.Is(err, ErrNotFound) {
			return fail(register.Invalid("superseded by %s: no such patch in the register; add it first", d.SupersededBy))
		} else if err != nil {
			return fail(err)
		}
	}
	n, change := p.Apply(to, d)
	if _, err := tx.ExecContext(ctx, `UPDATE patches SET state = ?, state_ns = ?, evaluated_ns = ?,
		mitigation_plan = ?, review_ns = ?, window_start_ns = ?, window_end_ns = ?, superseded_by = ?
		WHERE id = ?`, string(n.State), n.StateChanged.UnixNano(), nullNs(n.Evaluated), n.MitigationPlan,
		nullNs(n.ReviewDate), nullNs(n.WindowStart), nullNs(n.WindowEnd), nullString(n.SupersededBy), id); err != nil {
		return fail(err)
	}
	if err := appendAudit(ctx, tx, d.At, actor, register.ActionStateChanged, id, change); err != nil {
		return fail(err)
	}
	if p, err = loadPatch(ctx, tx, id); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return p, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// AddAsset enters an asset (names are unique) and returns it with its id.
func (db *DB) AddAsset(ctx context.Context, a Asset, actor string) (Asset, error) {
	fail := func(err error) (Asset, error) { return Asset{}, fmt.Errorf("add asset %q: %w", a.Name, err) }
	if err := a.Normalize(); err != nil {
		return fail(err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	baseline, err := json.Marshal(a.Baseline)
	if err != nil {
		return fail(err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM assets WHERE name = ?`, a.Name).Scan(&n); err != nil {
		return fail(err)
	}
	if n > 0 {
		return fail(ErrExists)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO assets (name, target, role, baseline, created_ns) VALUES (?, ?, ?, ?, ?)`,
		a.Name, a.Target, string(a.Role), string(baseline), a.Created.UnixNano())
	if err != nil {
		return fail(err)
	}
	if a.ID, err = res.LastInsertId(); err != nil {
		return fail(err)
	}
	a.Created = a.Created.UTC()
	if err := appendAudit(ctx, tx, a.Created, actor, register.ActionAssetAdded, register.AssetSubject(a.Name), a); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return a, nil
}

// Assets lists the assets by name.
func (db *DB) Assets(ctx context.Context) ([]Asset, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name, target, role, baseline, created_ns FROM assets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	defer rows.Close()
	var out []Asset
	for rows.Next() {
		var a Asset
		var role, baseline string
		var created int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Target, &role, &baseline, &created); err != nil {
			return nil, fmt.Errorf("list assets: %w", err)
		}
		a.Role, a.Created = register.AssetRole(role), fromNs(created)
		if err := json.Unmarshal([]byte(baseline), &a.Baseline); err != nil {
			return nil, fmt.Errorf("%w: asset %s baseline: %v", ErrCorrupt, a.Name, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	return out, nil
}

// RecordValidation stores a validation of a patch in the register and returns it as
// stored (with its id, made as V-YEAR-NNN when v.ID is empty). actor is who recorded it.
func (db *DB) RecordValidation(ctx context.Context, v Validation, actor string) (Validation, error) {
	fail := func(err error) (Validation, error) {
		return Validation{}, fmt.Errorf("record validation of patch %s: %w", v.PatchID, err)
	}
	if err := v.Normalize(); err != nil {
		return fail(err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	before, _ := json.Marshal(v.BeforeRuns)
	after, _ := json.Marshal(v.AfterRuns)
	diffs, _ := json.Marshal(v.Differences)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	p, err := loadPatch(ctx, tx, v.PatchID)
	if err != nil {
		return fail(err)
	}
	if v.ID == "" {
		if v.ID, err = nextID(ctx, tx, "validations", register.ValidationPrefix, v.Created.Year()); err != nil {
			return fail(err)
		}
	} else {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM validations WHERE id = ?`, v.ID).Scan(&n); err != nil {
			return fail(err)
		}
		if n > 0 {
			return fail(register.Exists("validation " + v.ID))
		}
	}
	record, err := v.Seal()
	if err != nil {
		return fail(err)
	}
	var sums [2]any // NULL without a text
	for i, f := range []register.File{v.ScenarioFile, v.PointMapFile} {
		if f.Data == nil {
			continue
		}
		sum := register.SHA256Hex(f.Data)
		if _, err := tx.ExecContext(ctx, `INSERT INTO texts (sha256, data) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING`,
			sum, f.Data); err != nil {
			return fail(err)
		}
		sums[i] = sum
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO validations (id, patch_id, scenario, before_runs,
		after_runs, record, record_sha256, verdict, bundle, bundle_sha256, differences, created_ns,
		scenario_file, scenario_text, point_map_file, point_map_text)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.PatchID, v.Scenario, string(before), string(after), string(record), v.RecordSHA256,
		string(v.Verdict), v.Bundle, v.BundleSHA256, string(diffs), v.Created.UnixNano(),
		v.ScenarioFile.Name, sums[0], v.PointMapFile.Name, sums[1]); err != nil {
		return fail(err)
	}
	v.Created = v.Created.UTC()
	if err := appendAudit(ctx, tx, v.Created, actor, register.ActionValidationRecorded, v.ID, v.Recorded(p.State)); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return v, nil
}

const validationColumns = sqlrows.ValidationColumns

var scanValidation = sqlrows.ScanValidation

// Validation returns one validation.
func (db *DB) Validation(ctx context.Context, id string) (Validation, error) {
	v, err := scanValidation(db.r.QueryRowContext(ctx, `SELECT `+validationColumns+` FROM validations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Validation{}, fmt.Errorf("validation %s: %w", id, err)
	}
	return v, nil
}

// Validations lists the validations of a patch, oldest first.
func (db *DB) Validations(ctx context.Context, patchID string) ([]Validation, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+validationColumns+` FROM validations
		WHERE patch_id = ? ORDER BY created_ns, id`, patchID)
	if err != nil {
		return nil, fmt.Errorf("validations of patch %s: %w", patchID, err)
	}
	return sqlrows.All(rows, scanValidation, fmt.Sprintf("validations of patch %s", patchID))
}

// SignOff records a sign-off on a validation and returns it with its id, under the rules
// of register.SignOff.Normalize and register.CheckSignOff.
func (db *DB) SignOff(ctx context.Context, s SignOff) (SignOff, error) {
	fail := func(err error) (SignOff, error) {
		return SignOff{}, fmt.Errorf("sign-off of validation %s: %w", s.ValidationID, err)
	}
	if err := s.Normalize(); err != nil {
		return fail(err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var patchID, outcome string
	err = tx.QueryRowContext(ctx, `SELECT patch_id, verdict FROM validations WHERE id = ?`, s.ValidationID).Scan(&patchID, &outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(ErrNotFound)
	}
	if err != nil {
		return fail(err)
	}
	signed, err := querySignOffs(ctx, tx, s.ValidationID)
	if err != nil {
		return fail(err)
	}
	detail, err := register.CheckSignOff(s, patchID, verdict.Outcome(outcome), signed)
	if err != nil {
		return fail(err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO signoffs (validation_id, name, role, decision, rationale, time_ns)
		VALUES (?, ?, ?, ?, ?, ?)`, s.ValidationID, s.Name, string(s.Role), string(s.Decision), s.Rationale, s.Time.UnixNano())
	if err != nil {
		return fail(err)
	}
	if s.ID, err = res.LastInsertId(); err != nil {
		return fail(err)
	}
	s.Time = s.Time.UTC()
	if err := appendAudit(ctx, tx, s.Time, s.Name, register.ActionSignedOff, s.ValidationID, detail); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return s, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func querySignOffs(ctx context.Context, q queryer, validationID string) ([]SignOff, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+sqlrows.SignOffColumns+`
		FROM signoffs WHERE validation_id = ? ORDER BY time_ns, id`, validationID)
	if err != nil {
		return nil, err
	}
	return sqlrows.All(rows, sqlrows.ScanSignOff, "sign-off rows")
}

// SignOffs lists the sign-offs of a validation in the order they were made.
func (db *DB) SignOffs(ctx context.Context, validationID string) ([]SignOff, error) {
	out, err := querySignOffs(ctx, db.r, validationID)
	if err != nil {
		return nil, fmt.Errorf("sign-offs of validation %s: %w", validationID, err)
	}
	return out, nil
}
