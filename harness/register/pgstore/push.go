package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/patchgate/patchgate/harness/register"
)

// ErrConflict: the pushed register and the shared one hold different things under one id
// (two benches each made their own P-2026-001); nothing is pushed.
var ErrConflict = errors.New("the registers disagree")

// Push copies a bench's own register (read with register.ReadSnapshot) into this shared
// one, in one transaction, and returns what it added (a zero report when there was
// nothing new: pushing twice changes nothing).
//
//   - Assets, patches, validations (with their texts) and sign-offs missing here are
//     added as they are, ids included. A patch or validation id already here for the same
//     one (register.SamePatch; the same record SHA-256) is that one. One taken here by
//     another (two benches each made their own P-2026-001) is given the next free id here,
//     and table pushed_ids keeps the pair, so pushing again finds it; the report's
//     Renumbered lists them, and the bench's audit rows copied name the new ids.
//   - A patch both registers hold in different states takes the state changed last (by the
//     change's time); when that is the shared one, the report's Kept says so.
//   - The pushed audit rows not pushed before are appended to this chain in their order,
//     with their own time, actor, action, subject and detail, then one register_pushed row
//     (RegisterPushed) naming the pushed chain and its head. Table pushed remembers which
//     rows were copied.
func (s *Store) Push(ctx context.Context, snap register.Snapshot, actor string) (register.RegisterPushed, error) {
	rep := register.RegisterPushed{Source: snap.Source()}
	fail := func(err error) (register.RegisterPushed, error) {
		return register.RegisterPushed{}, fmt.Errorf("push into %s: %w", Redact(s.url), err)
	}
	if err := register.CheckActor(actor); err != nil {
		return fail(err)
	}
	if rep.Source == "" {
		return rep, nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		ids, err := loadIDs(ctx, tx, rep.Source)
		if err != nil {
			return err
		}
		for _, a := range snap.Assets {
			res, err := tx.ExecContext(ctx, `INSERT INTO assets (name, target, role, baseline, created_ns)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING`, a.Name, a.Target, string(a.Role),
				jsonText(a.Baseline), a.Created.UnixNano())
			if err != nil {
				return err
			}
			rep.Assets += affected(res)
		}
		if err := s.pushPatches(ctx, tx, snap, ids, &rep); err != nil {
			return err
		}
		for _, p := range snap.Patches {
			for _, v := range snap.Validations[p.ID] {
				if err := pushValidation(ctx, tx, v, snap.SignOffs[v.ID], ids, &rep); err != nil {
					return err
				}
			}
		}
		return pushAudit(ctx, tx, snap, actor, ids, &rep)
	})
	if err != nil {
		return fail(err)
	}
	return rep, nil
}

// pushIDs maps a bench's patch and validation ids to the ids they have here, where they
// differ (table pushed_ids).
type pushIDs struct {
	source string
	of     map[string]map[string]string // kind ("patch", "validation") → bench id → id here
}

func loadIDs(ctx context.Context, tx *sql.Tx, source string) (*pushIDs, error) {
	m := &pushIDs{source: source, of: map[string]map[string]string{"patch": {}, "validation": {}}}
	rows, err := tx.QueryContext(ctx, `SELECT kind, local_id, shared_id FROM pushed_ids WHERE source = $1`, source)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, local, shared string
		if err := rows.Scan(&kind, &local, &shared); err != nil {
			return nil, err
		}
		m.of[kind][local] = shared
	}
	return m, rows.Err()
}

// here is the id a bench's id of kind has here.
func (m *pushIDs) here(kind, id string) string {
	if x, ok := m.of[kind][id]; ok {
		return x
	}
	return id
}

// subject is an audit row's subject as it is named here: a patch or validation renumbered
// by a push is named by its new id.
func (m *pushIDs) subject(s string) string {
	for _, kind := range []string{"patch", "validation"} {
		if x, ok := m.of[kind][s]; ok {
			return x
		}
	}
	return s
}

// renumber gives a bench's patch or validation whose id another one has here the next
// free id here, and keeps the pair.
func (m *pushIDs) renumber(ctx context.Context, tx *sql.Tx, kind, id string, year int, rep *register.RegisterPushed) (string, error) {
	table, prefix := "patches", "P"
	if kind == "validation" {
		table, prefix = "validations", "V"
	}
	next, err := nextID(ctx, tx, table, prefix, year)
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pushed_ids (source, kind, local_id, shared_id) VALUES ($1, $2, $3, $4)`,
		m.source, kind, id, next); err != nil {
		return "", err
	}
	m.of[kind][id] = next
	rep.Renumbered = append(rep.Renumbered, id+" → "+next)
	return next, nil
}

// renamed is p under id.
func renamed(p register.Patch, id string) register.Patch {
	p.ID = id
	return p
}

func affected(res sql.Result) int {
	n, _ := res.RowsAffected()
	return int(n)
}

func (s *Store) pushPatches(ctx context.Context, tx *sql.Tx, snap register.Snapshot, ids *pushIDs, rep *register.RegisterPushed) error {
	for _, p := range snap.Patches {
		id := ids.here("patch", p.ID)
		here, err := loadPatch(ctx, tx, id)
		if err == nil && id == p.ID && !register.SamePatch(p, here) {
			// another bench's patch has this id here: this one takes the next free id
			if id, err = ids.renumber(ctx, tx, "patch", p.ID, p.Created.Year(), rep); err != nil {
				return err
			}
			here, err = loadPatch(ctx, tx, id)
		}
		switch {
		case errors.Is(err, register.ErrNotFound):
			if _, err := tx.ExecContext(ctx, `INSERT INTO patches (id, supplier, product, from_version,
				to_version, type, cves, advisory, file_sha256, signature_checked, signature_note,
				qualification, notes, identified_ns, created_ns, state, state_ns)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'identified', $15)`,
				id, p.Supplier, p.Product, p.FromVersion, p.ToVersion, string(p.Type), jsonText(nonNil(p.CVEs)),
				p.Advisory, p.FileSHA256, p.SignatureChecked, p.SignatureNote, string(p.Qualification),
				p.Notes, p.Identified.UnixNano(), p.Created.UnixNano()); err != nil {
				return err
			}
			rep.Patches++
			here = register.Patch{ID: id, State: register.StateIdentified, StateChanged: p.Created}
		case err != nil:
			return err
		case !register.SamePatch(renamed(p, id), here):
			return fmt.Errorf("%w: patch %s (%s here) is %s %s entered %s, in the pushed register %s %s entered %s",
				ErrConflict, p.ID, id, here.Supplier, here.Product, here.Created.Format(time.RFC3339),
				p.Supplier, p.Product, p.Created.Format(time.RFC3339))
		}
		if p.State == here.State && p.StateChanged.Equal(here.StateChanged) {
			continue
		}
		if !p.StateChanged.After(here.StateChanged) {
			rep.Kept = append(rep.Kept, fmt.Sprintf("%s: kept %s (%s), not %s (%s)", id, here.State,
				here.StateChanged.Format(time.RFC3339), p.State, p.StateChanged.Format(time.RFC3339)))
			continue
		}
		// the pushed state is later: take its state fields (superseded_by once every patch is in)
		if _, err := tx.ExecContext(ctx, `UPDATE patches SET state = $1, state_ns = $2,
			evaluated_ns = coalesce(LEAST(evaluated_ns, $3), evaluated_ns, $3), mitigation_plan = $4,
			review_ns = $5, window_start_ns = $6, window_end_ns = $7 WHERE id = $8`,
			string(p.State), p.StateChanged.UnixNano(), nullNs(p.Evaluated), p.MitigationPlan,
			nullNs(p.ReviewDate), nullNs(p.WindowStart), nullNs(p.WindowEnd), id); err != nil {
			return err
		}
		rep.States++
	}
	for _, p := range snap.Patches {
		if p.SupersededBy == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE patches SET superseded_by = $1 WHERE id = $2 AND state = 'superseded'`,
			ids.here("patch", p.SupersededBy), ids.here("patch", p.ID)); err != nil {
			return err
		}
	}
	return nil
}

func pushValidation(ctx context.Context, tx *sql.Tx, v register.Validation, signs []register.SignOff, ids *pushIDs, rep *register.RegisterPushed) error {
	id := ids.here("validation", v.ID)
	var sum string
	err := tx.QueryRowContext(ctx, `SELECT record_sha256 FROM validations WHERE id = $1`, id).Scan(&sum)
	if err == nil && id == v.ID && sum != v.RecordSHA256 {
		// another bench's validation has this id here: this one takes the next free id
		if id, err = ids.renumber(ctx, tx, "validation", v.ID, v.Created.Year(), rep); err != nil {
			return err
		}
		err = sql.ErrNoRows
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		sealed := v
		sealed.WriteBundle = nil
		record, err := sealed.Seal()
		if err != nil {
			return err
		}
		if sealed.RecordSHA256 != v.RecordSHA256 {
			return register.Corrupt("validation %s: its record does not have its SHA-256 %s", v.ID, v.RecordSHA256)
		}
		var sums [2]any
		for i, f := range []register.File{v.ScenarioFile, v.PointMapFile} {
			if f.Data == nil {
				continue
			}
			sums[i] = register.SHA256Hex(f.Data)
			if _, err := tx.ExecContext(ctx, `INSERT INTO texts (sha256, data) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING`,
				sums[i], f.Data); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO validations (id, patch_id, scenario, before_runs,
			after_runs, record, record_sha256, verdict, bundle, bundle_sha256, differences, created_ns,
			scenario_file, scenario_text, point_map_file, point_map_text)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			id, ids.here("patch", v.PatchID), v.Scenario, jsonText(v.BeforeRuns), jsonText(v.AfterRuns), string(record), v.RecordSHA256,
			string(v.Verdict), v.Bundle, v.BundleSHA256, jsonText(v.Differences), v.Created.UnixNano(),
			v.ScenarioFile.Name, sums[0], v.PointMapFile.Name, sums[1]); err != nil {
			return err
		}
		rep.Validation++
	case err != nil:
		return err
	case sum != v.RecordSHA256:
		return fmt.Errorf("%w: validation %s (%s here) has record SHA-256 %s here, in the pushed register %s",
			ErrConflict, v.ID, id, sum, v.RecordSHA256)
	}
	for _, so := range signs {
		res, err := tx.ExecContext(ctx, `INSERT INTO signoffs (validation_id, name, role, decision, rationale, time_ns)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (validation_id, name, role) DO NOTHING`,
			id, so.Name, string(so.Role), string(so.Decision), so.Rationale, so.Time.UnixNano())
		if err != nil {
			return err
		}
		rep.SignOffs += affected(res)
	}
	return nil
}

func pushAudit(ctx context.Context, tx *sql.Tx, snap register.Snapshot, actor string, ids *pushIDs, rep *register.RegisterPushed) error {
	var seq int64
	head := register.Genesis
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &head); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var done int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(source_seq), 0) FROM pushed WHERE source = $1`, rep.Source).Scan(&done); err != nil {
		return err
	}
	for _, r := range snap.Audit {
		if r.Seq <= done {
			continue
		}
		var detail any = r.Detail
		row, err := register.NextAuditRow(seq, head, r.Time, r.Actor, r.Action, ids.subject(r.Subject), detail)
		if err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, row); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pushed (source, source_seq, seq) VALUES ($1, $2, $3)`, rep.Source, r.Seq, row.Seq); err != nil {
			return err
		}
		seq, head = row.Seq, row.Hash
		rep.Rows++
		rep.SourceHead, rep.SourceHash = r.Seq, r.Hash
	}
	if rep.Rows == 0 && rep.Patches+rep.States+rep.Validation+rep.SignOffs+rep.Assets == 0 {
		return nil
	}
	if rep.Rows == 0 {
		last := snap.Audit[len(snap.Audit)-1]
		rep.SourceHead, rep.SourceHash = last.Seq, last.Hash
	}
	row, err := register.NextAuditRow(seq, head, time.Now(), actor, register.ActionRegisterPushed, "register:"+rep.Source[:12], *rep)
	if err != nil {
		return err
	}
	return insertAudit(ctx, tx, row)
}

func insertAudit(ctx context.Context, tx *sql.Tx, r register.AuditRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, time_ns, actor, action, subject, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.Seq, r.Time.UnixNano(), r.Actor, r.Action, r.Subject, string(r.Detail), r.PrevHash, r.Hash)
	return err
}
