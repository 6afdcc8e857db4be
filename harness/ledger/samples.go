package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

// Append commits one batch of a running run's samples and events in one transaction, so a
// crash loses at most the batch being written. Samples keep the order given; their Tag must
// index the run's Tags. The slices are not kept: the caller may reuse them at once.
func (db *DB) Append(ctx context.Context, runID int64, samples []trace.Sample, events []trace.Event) error {
	if len(samples) == 0 && len(events) == 0 {
		return nil
	}
	chunks, maxTag, err := encodeBatch(samples)
	if err != nil {
		return fmt.Errorf("run %d: append: %w", runID, err)
	}
	if err := db.append(ctx, runID, len(samples), chunks, maxTag, events); err != nil {
		return fmt.Errorf("run %d: append: %w", runID, err)
	}
	return nil
}

// AppendSamples commits one batch of samples (see Append).
func (db *DB) AppendSamples(ctx context.Context, runID int64, samples []trace.Sample) error {
	return db.Append(ctx, runID, samples, nil)
}

// AppendEvents commits one batch of events (see Append).
func (db *DB) AppendEvents(ctx context.Context, runID int64, events []trace.Event) error {
	return db.Append(ctx, runID, nil, events)
}

// encodedChunk is one sample_chunks row waiting for its run's ordinal base.
type encodedChunk struct {
	tag              uint16
	first            int // position in the batch of the chunk's first sample
	n                int
	slotMin, slotMax int64
	data             []byte
}

// encodeBatch splits a batch by tag into chunk blobs. It returns the highest tag seen (-1
// for none) for the caller to check against the run's tags.
func encodeBatch(samples []trace.Sample) ([]encodedChunk, int, error) {
	if len(samples) == 0 {
		return nil, -1, nil
	}
	if uint64(len(samples)) > math.MaxUint32 {
		return nil, -1, fmt.Errorf("batch of %d samples is too large", len(samples))
	}
	var counts []int
	for i := range samples {
		s := &samples[i]
		if s.Quality > driver.Missing {
			return nil, -1, fmt.Errorf("sample %d: quality %d", i, s.Quality)
		}
		if uint64(len(s.Text)) > math.MaxUint32 {
			return nil, -1, fmt.Errorf("sample %d: text of %d bytes", i, len(s.Text))
		}
		if int(s.Tag) >= len(counts) {
			counts = append(counts, make([]int, int(s.Tag)+1-len(counts))...)
		}
		counts[s.Tag]++
	}
	type open struct {
		enc   *chunkEncoder
		first int
	}
	encs := make([]open, len(counts))
	var out []encodedChunk
	done := func(tag int) {
		o := encs[tag]
		out = append(out, encodedChunk{tag: uint16(tag), first: o.first, n: int(o.enc.n),
			slotMin: o.enc.slotMin, slotMax: o.enc.slotMax, data: o.enc.finish()})
		encs[tag].enc = nil
	}
	for i := range samples {
		t := samples[i].Tag
		o := &encs[t]
		if o.enc == nil {
			o.enc, o.first = newChunkEncoder(min(counts[t], maxChunk)), i
		}
		o.enc.add(uint32(i-o.first), &samples[i])
		counts[t]--
		if o.enc.n == maxChunk {
			done(int(t))
		}
	}
	for t := range encs {
		if encs[t].enc != nil {
			done(t)
		}
	}
	return out, len(counts) - 1, nil
}

func (db *DB) append(ctx context.Context, runID int64, nsamples int, chunks []encodedChunk, maxTag int, events []trace.Event) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var status string
	var base int64
	var ntags int
	err = tx.QueryRowContext(ctx, `SELECT status, samples, json_array_length(tags) FROM runs WHERE id = ?`, runID).
		Scan(&status, &base, &ntags)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case status != string(trace.Running):
		return fmt.Errorf("it is %s: %w", status, ErrNotRunning)
	case maxTag >= ntags:
		return fmt.Errorf("tag index %d, the run has %d tags", maxTag, ntags)
	}
	if len(chunks) > 0 {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO sample_chunks
			(run_id, tag, first_ord, n, slot_min, slot_max, data) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, c := range chunks {
			if _, err := ins.ExecContext(ctx, runID, int64(c.tag), base+int64(c.first), c.n, c.slotMin, c.slotMax, c.data); err != nil {
				return fmt.Errorf("samples: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET samples = samples + ? WHERE id = ?`, nsamples, runID); err != nil {
			return err
		}
	}
	if len(events) > 0 {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO events
			(run_id, t_ns, kind, step, tag, value, msg) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, e := range events {
			if _, err := ins.ExecContext(ctx, runID, e.T, string(e.Kind), e.Step, e.Tag, e.Value, e.Msg); err != nil {
				return fmt.Errorf("events: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET events = events + ? WHERE id = ?`, len(events), runID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// LoadTrace reads a whole run: its record, its samples in the order they were written and
// its events, from one consistent snapshot (a run being written loads as far as its last
// committed batch).
func (db *DB) LoadTrace(ctx context.Context, runID int64) (*trace.Trace, error) {
	tr, err := db.loadTrace(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("load run %d: %w", runID, err)
	}
	return tr, nil
}

func (db *DB) loadTrace(ctx context.Context, runID int64) (*trace.Trace, error) {
	tx, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	r, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var total, nevents int64
	if err := tx.QueryRowContext(ctx, `SELECT samples, events FROM runs WHERE id = ?`, runID).Scan(&total, &nevents); err != nil {
		return nil, err
	}
	tr := &trace.Trace{Run: r}
	if tr.Samples, err = loadSamples(ctx, tx, runID, total, len(r.Tags)); err != nil {
		return nil, err
	}
	if tr.Events, err = loadEvents(ctx, tx, runID, nevents); err != nil {
		return nil, err
	}
	return tr, nil
}

func loadSamples(ctx context.Context, tx *sql.Tx, runID, total int64, ntags int) ([]trace.Sample, error) {
	if total == 0 {
		return nil, nil
	}
	out := make([]trace.Sample, total)
	filled := make([]uint64, (total+63)/64)
	rows, err := tx.QueryContext(ctx, `SELECT tag, first_ord, n, data FROM sample_chunks WHERE run_id = ?`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var seen int64
	for rows.Next() {
		var tag, first, n int64
		var data sql.RawBytes
		if err := rows.Scan(&tag, &first, &n, &data); err != nil {
			return nil, err
		}
		if tag < 0 || tag >= int64(ntags) {
			return nil, corrupt("chunk at ordinal %d: tag %d of %d", first, tag, ntags)
		}
		var got int64
		err := decodeChunk(data, func(idx uint32, s trace.Sample) error {
			ord := first + int64(idx)
			if ord < 0 || ord >= total {
				return corrupt("sample ordinal %d, the run has %d samples", ord, total)
			}
			if filled[ord/64]&(1<<(ord%64)) != 0 {
				return corrupt("sample ordinal %d stored twice", ord)
			}
			filled[ord/64] |= 1 << (ord % 64)
			s.Tag = uint16(tag)
			out[ord] = s
			got++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("chunk at ordinal %d, tag %d: %w", first, tag, err)
		}
		if got != n {
			return nil, corrupt("chunk at ordinal %d, tag %d: %d samples, the row says %d", first, tag, got, n)
		}
		seen += got
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if seen != total {
		return nil, corrupt("%d samples stored, the run says %d", seen, total)
	}
	return out, nil
}

func loadEvents(ctx context.Context, tx *sql.Tx, runID, n int64) ([]trace.Event, error) {
	if n == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT t_ns, kind, step, tag, value, msg FROM events WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]trace.Event, 0, n)
	for rows.Next() {
		var e trace.Event
		var kind string
		if err := rows.Scan(&e.T, &kind, &e.Step, &e.Tag, &e.Value, &e.Msg); err != nil {
			return nil, err
		}
		e.Kind = trace.EventKind(kind)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if int64(len(out)) != n {
		return nil, corrupt("%d events stored, the run says %d", len(out), n)
	}
	return out, nil
}

// Recorder is the ledger seen by the runner: it finishes a run from the run record itself.
type Recorder struct{ DB *DB }

// CreateRun records the start of a run (see DB.CreateRun).
func (rec Recorder) CreateRun(ctx context.Context, r *trace.Run) (int64, error) {
	return rec.DB.CreateRun(ctx, r)
}

// AppendSamples commits a batch of samples (see DB.Append).
func (rec Recorder) AppendSamples(ctx context.Context, runID int64, s []trace.Sample) error {
	return rec.DB.AppendSamples(ctx, runID, s)
}

// AppendEvents commits a batch of events (see DB.Append).
func (rec Recorder) AppendEvents(ctx context.Context, runID int64, e []trace.Event) error {
	return rec.DB.AppendEvents(ctx, runID, e)
}

// FinishRun records r's status, end time, end identity, statistics and fault (see
// DB.FinishRun).
func (rec Recorder) FinishRun(ctx context.Context, r *trace.Run) error {
	return rec.DB.FinishRun(ctx, r.ID, r.Status, r.Ended, r.IdentityPost, r.Stats, r.Fault)
}

// Append stores a batch of samples and events in one transaction (runner.BatchRecorder).
func (rec Recorder) Append(ctx context.Context, runID int64, s []trace.Sample, e []trace.Event) error {
	return rec.DB.Append(ctx, runID, s, e)
}
