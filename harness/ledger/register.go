package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The patch register: patches and their states, assets (bench targets and the production
// controllers they stand for), validations with their verdict records, sign-offs, and the
// audit trail (audit.go). Every write appends an audit row in the same transaction.
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
// change (triggers refuse it).
//
// Time: every write takes its time from the value it is given (Patch.Created,
// StateDetail.At, Validation.Created, SignOff.Time, Asset.Created) and uses time.Now when
// that is zero, so tests inject the clock. Times are stored as integer nanoseconds since
// the Unix epoch and come back in UTC.

// Errors callers branch on (besides ErrNotFound).
var (
	// ErrInvalid: a field is missing or malformed (unknown type or state, no rationale for a
	// rejection, no mitigation plan for a deferral, …). The message says which and why.
	ErrInvalid = errors.New("invalid register input")
	// ErrIllegalTransition: the state machine does not allow the change; errors.As gives the
	// *TransitionError with the states that are allowed.
	ErrIllegalTransition = errors.New("illegal state transition")
	// ErrExists: the id (or the sign-off) is already in the register.
	ErrExists = errors.New("already in the register")
)

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

// PatchType is what the patch is for. Security patches run the 35-day evaluation clock.
type PatchType string

const (
	Security    PatchType = "security"
	Bugfix      PatchType = "bugfix"
	Reliability PatchType = "reliability"
	Feature     PatchType = "feature"
)

// PatchTypes lists the patch types.
func PatchTypes() []PatchType { return []PatchType{Security, Bugfix, Reliability, Feature} }

// Qualification is whether the vendor qualified the patch for the product (for the control
// system it runs in).
type Qualification string

const (
	Qualified            Qualification = "qualified"
	NotQualified         Qualification = "not_qualified"
	QualificationUnknown Qualification = "unknown"
)

// Qualifications lists the qualification statuses.
func Qualifications() []Qualification {
	return []Qualification{Qualified, NotQualified, QualificationUnknown}
}

// State is where a patch stands in the register.
type State string

const (
	StateIdentified    State = "identified"
	StateNotApplicable State = "assessed_not_applicable"
	StateApplicable    State = "assessed_applicable"
	StateInTest        State = "in_test"
	StateGo            State = "go"
	StateNoGo          State = "no_go"
	StateDeferred      State = "deferred" // needs a mitigation plan and its review date
	StateScheduled     State = "scheduled"
	StateDeployed      State = "deployed"
	StateVerified      State = "verified"
	StateClosed        State = "closed"
	StateSuperseded    State = "superseded" // needs the id of the superseding patch
	StateRolledBack    State = "rolled_back"
)

// States lists every state in workflow order.
func States() []State {
	return []State{StateIdentified, StateNotApplicable, StateApplicable, StateInTest, StateGo,
		StateNoGo, StateDeferred, StateScheduled, StateDeployed, StateVerified, StateClosed,
		StateSuperseded, StateRolledBack}
}

// transitions is the state machine without superseded, which every state but the final
// ones (closed, superseded) may go to. Deferred and scheduled may be entered again: a
// renewed mitigation plan, a moved maintenance window.
var transitions = map[State][]State{
	StateIdentified:    {StateNotApplicable, StateApplicable},
	StateNotApplicable: {StateClosed},
	StateApplicable:    {StateInTest, StateDeferred},
	StateInTest:        {StateGo, StateNoGo, StateDeferred},
	StateGo:            {StateScheduled, StateDeferred},
	StateNoGo:          {StateInTest, StateDeferred},
	StateDeferred:      {StateDeferred, StateInTest, StateScheduled},
	StateScheduled:     {StateScheduled, StateDeployed, StateDeferred},
	StateDeployed:      {StateVerified, StateRolledBack},
	StateVerified:      {StateClosed, StateRolledBack},
	StateRolledBack:    {StateInTest, StateDeferred, StateClosed},
	StateClosed:        nil,
	StateSuperseded:    nil,
}

// Next lists the states a patch in state s may go to (none for closed and superseded, or
// an unknown state).
func Next(s State) []State {
	next, ok := transitions[s]
	if !ok || s == StateClosed || s == StateSuperseded {
		return nil
	}
	return append(slices.Clone(next), StateSuperseded)
}

// ParseState checks a state name.
func ParseState(s string) (State, error) {
	st := State(s)
	if _, ok := transitions[st]; !ok {
		return "", invalid("unknown state %q; the states are %s", s, joinStates(States(), "and"))
	}
	return st, nil
}

// TransitionError is an illegal state change, with the changes that are allowed.
type TransitionError struct {
	Patch   string
	From    State
	To      State
	Allowed []State
}

func (e *TransitionError) Error() string {
	if len(e.Allowed) == 0 {
		return fmt.Sprintf("patch %s is %s, a final state: it cannot go to %s", e.Patch, e.From, e.To)
	}
	return fmt.Sprintf("patch %s is %s: it can go to %s, not %s", e.Patch, e.From, joinStates(e.Allowed, "or"), e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

func joinStates[S ~string](ss []S, conj string) string {
	var b strings.Builder
	for i, s := range ss {
		switch {
		case i == 0:
		case i == len(ss)-1:
			b.WriteString(" " + conj + " ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(s))
	}
	return b.String()
}

// Patch is one entry of the register.
type Patch struct {
	ID               string        `json:"id"` // e.g. P-2026-001; AddPatch makes one when empty
	Supplier         string        `json:"supplier"`
	Product          string        `json:"product"`
	FromVersion      string        `json:"from_version"` // the affected version(s)
	ToVersion        string        `json:"to_version"`   // the version the patch brings
	Type             PatchType     `json:"type"`
	CVEs             []string      `json:"cves"`
	Advisory         string        `json:"advisory,omitempty"`    // URL or advisory id
	FileSHA256       string        `json:"file_sha256,omitempty"` // of the patch file, lower-case hex
	SignatureChecked bool          `json:"signature_checked"`
	SignatureNote    string        `json:"signature_note,omitempty"` // by whom and how
	Qualification    Qualification `json:"qualification"`            // the vendor's
	Notes            string        `json:"notes,omitempty"`
	// Identified is when the patch was released or identified: it starts the 35-day
	// evaluation clock. Zero means the day it was entered.
	Identified time.Time `json:"identified"`
	Created    time.Time `json:"created"`

	State        State     `json:"state"`
	StateChanged time.Time `json:"state_changed"`
	// Evaluated is when the patch first left "identified": the evaluation clock stops there.
	Evaluated      time.Time `json:"evaluated,omitzero"`
	MitigationPlan string    `json:"mitigation_plan,omitempty"` // the latest, set when deferred
	ReviewDate     time.Time `json:"review_date,omitzero"`      // of the mitigation plan
	WindowStart    time.Time `json:"window_start,omitzero"`     // the latest maintenance window
	WindowEnd      time.Time `json:"window_end,omitzero"`
	SupersededBy   string    `json:"superseded_by,omitempty"`
}

// EvaluationDays is the evaluation period of a security patch (NERC CIP-007-6 R2.2:
// evaluate security patches for applicability within 35 calendar days).
const EvaluationDays = 35

// Clock is the 35-day evaluation clock of a patch, counted in calendar days.
type Clock struct {
	Applies     bool      `json:"applies"` // security patches only
	Identified  time.Time `json:"identified"`
	Due         time.Time `json:"due"`                 // the last day to evaluate
	Evaluated   time.Time `json:"evaluated,omitzero"`  // the clock stopped here
	DaysElapsed int       `json:"days_elapsed"`        // identification to today (or to evaluation)
	DaysLeft    int       `json:"days_left"`           // to the due day; negative when past it
	Overdue     bool      `json:"overdue"`             // not evaluated and past the due day
	Late        bool      `json:"late,omitempty"`      // evaluated after the due day
	Now         time.Time `json:"now,omitzero"`        // the "today" the clock was read at
	TimeZone    string    `json:"time_zone,omitempty"` // calendar days are counted in this zone
}

// Clock reads the evaluation clock at now. Calendar days are counted in now's location:
// a patch identified on 1 March is due on 5 April, overdue from 6 April.
func (p Patch) Clock(now time.Time) Clock {
	loc := now.Location()
	day := func(t time.Time) time.Time {
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	days := func(from, to time.Time) int { return int(to.Sub(from).Round(time.Hour).Hours()) / 24 }
	c := Clock{Applies: p.Type == Security, Identified: p.Identified, Evaluated: p.Evaluated, Now: now, TimeZone: loc.String()}
	start := day(p.Identified)
	due := start.AddDate(0, 0, EvaluationDays)
	end := day(now)
	if !p.Evaluated.IsZero() {
		end = day(p.Evaluated)
	}
	c.Due = time.Date(due.Year(), due.Month(), due.Day(), 0, 0, 0, 0, loc)
	c.DaysElapsed = days(start, end)
	c.DaysLeft = days(end, due)
	c.Overdue = c.Applies && p.Evaluated.IsZero() && c.DaysLeft < 0
	c.Late = c.Applies && !p.Evaluated.IsZero() && c.DaysLeft < 0
	return c
}

// String is the clock in a few characters: "12 d left", "OVERDUE 3 d", "evaluated d 20",
// "evaluated LATE d 40", or "-" when the clock does not apply.
func (c Clock) String() string {
	switch {
	case !c.Applies:
		return "-"
	case c.Late:
		return fmt.Sprintf("evaluated LATE d %d", c.DaysElapsed)
	case !c.Evaluated.IsZero():
		return fmt.Sprintf("evaluated d %d", c.DaysElapsed)
	case c.Overdue:
		return fmt.Sprintf("OVERDUE %d d", -c.DaysLeft)
	}
	return fmt.Sprintf("%d d left", c.DaysLeft)
}

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	cvePattern = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)
	hexPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func checkID(what, id string) error {
	if !idPattern.MatchString(id) {
		return invalid("%s id %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", what, id)
	}
	return nil
}

func checkSHA256(what, s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s != "" && !hexPattern.MatchString(s) {
		return "", invalid("%s %q: expected 64 hexadecimal digits", what, s)
	}
	return s, nil
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// normalize checks a new patch and fills its defaults.
func (p *Patch) normalize() error {
	p.Supplier, p.Product = strings.TrimSpace(p.Supplier), strings.TrimSpace(p.Product)
	p.FromVersion, p.ToVersion = strings.TrimSpace(p.FromVersion), strings.TrimSpace(p.ToVersion)
	p.Advisory, p.Notes = strings.TrimSpace(p.Advisory), strings.TrimSpace(p.Notes)
	p.SignatureNote = strings.TrimSpace(p.SignatureNote)
	if p.ID != "" {
		if err := checkID("patch", p.ID); err != nil {
			return err
		}
	}
	if p.Supplier == "" || p.Product == "" {
		return invalid("supplier and product are required")
	}
	if !slices.Contains(PatchTypes(), p.Type) {
		return invalid("type %q: expected %s", p.Type, joinStates(PatchTypes(), "or"))
	}
	if p.Qualification == "" {
		p.Qualification = QualificationUnknown
	}
	if !slices.Contains(Qualifications(), p.Qualification) {
		return invalid("qualification %q: expected %s", p.Qualification, joinStates(Qualifications(), "or"))
	}
	var cves []string
	for _, c := range p.CVEs {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !cvePattern.MatchString(c) {
			return invalid("CVE %q: expected CVE-YYYY-NNNN", c)
		}
		if !slices.Contains(cves, c) {
			cves = append(cves, c)
		}
	}
	p.CVEs = cves
	var err error
	if p.FileSHA256, err = checkSHA256("file SHA-256", p.FileSHA256); err != nil {
		return err
	}
	if p.SignatureChecked && p.SignatureNote == "" {
		return invalid("signature checked: say by whom and how (e.g. \"jd, vendor PGP key 0x1234 from the support portal\")")
	}
	if p.State != "" && p.State != StateIdentified {
		return invalid("a new patch starts %s, not %s; change its state afterwards", StateIdentified, p.State)
	}
	p.Created = orNow(p.Created)
	if p.Identified.IsZero() {
		p.Identified = p.Created
	}
	if p.Identified.After(p.Created) {
		return invalid("identified %s is after the patch was entered (%s)",
			p.Identified.Format(time.DateOnly), p.Created.Format(time.DateOnly))
	}
	p.State, p.StateChanged = StateIdentified, p.Created
	p.Evaluated, p.MitigationPlan, p.ReviewDate = time.Time{}, "", time.Time{}
	p.WindowStart, p.WindowEnd, p.SupersededBy = time.Time{}, time.Time{}, ""
	return nil
}

// nextID makes the next id of the form PREFIX-YEAR-NNN for a table with a text id.
func nextID(ctx context.Context, tx *sql.Tx, table, prefix string, year int) (string, error) {
	pre := fmt.Sprintf("%s-%d-", prefix, year)
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
		if n, err := strconv.Atoi(strings.TrimPrefix(id, pre)); err == nil && n > last {
			last = n
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s%03d", pre, last+1), nil
}

func checkActor(actor string) error {
	if strings.TrimSpace(actor) == "" {
		return invalid("no actor: the audit trail records who made every change")
	}
	return nil
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
	if err := p.normalize(); err != nil {
		return fail(err)
	}
	if err := checkActor(actor); err != nil {
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
		if p.ID, err = nextID(ctx, tx, "patches", "P", p.Created.Year()); err != nil {
			return fail(err)
		}
	} else if _, err := loadPatch(ctx, tx, p.ID); err == nil {
		return fail(fmt.Errorf("%w: patch %s", ErrExists, p.ID))
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
	if err := appendAudit(ctx, tx, p.Created, actor, ActionPatchAdded, p.ID, stored); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return stored, nil
}

const patchColumns = `id, supplier, product, from_version, to_version, type, cves, advisory,
	file_sha256, signature_checked, signature_note, qualification, notes, identified_ns,
	created_ns, state, state_ns, evaluated_ns, mitigation_plan, review_ns, window_start_ns,
	window_end_ns, superseded_by`

func scanPatch(sc scanner) (Patch, error) {
	var (
		p                                         Patch
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
	p.Type, p.Qualification, p.State = PatchType(typ), Qualification(qual), State(state)
	p.Identified, p.Created, p.StateChanged = fromNs(identified), fromNs(created), fromNs(changed)
	p.Evaluated, p.ReviewDate = fromNullNs(evaluated), fromNullNs(review)
	p.WindowStart, p.WindowEnd = fromNullNs(windowStart), fromNullNs(windowEnd)
	p.SupersededBy = supersededBy.String
	if err := json.Unmarshal([]byte(cves), &p.CVEs); err != nil {
		return p, fmt.Errorf("%w: patch %s cves: %v", ErrCorrupt, p.ID, err)
	}
	if len(p.CVEs) == 0 {
		p.CVEs = nil
	}
	return p, nil
}

func fromNs(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func fromNullNs(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return fromNs(ns.Int64)
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
	defer rows.Close()
	var out []Patch
	for rows.Next() {
		p, err := scanPatch(rows)
		if err != nil {
			return nil, fmt.Errorf("list patches: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list patches: %w", err)
	}
	return out, nil
}

// StateDetail is what a state change carries. Deferred needs MitigationPlan and
// ReviewDate (after the change), scheduled needs WindowStart and WindowEnd (end after
// start), superseded needs SupersededBy (a patch in the register). Those fields are refused
// for other states. Note is free text for any change. At is when the change happened
// (time.Now when zero).
type StateDetail struct {
	MitigationPlan string
	ReviewDate     time.Time
	WindowStart    time.Time
	WindowEnd      time.Time
	SupersededBy   string
	Note           string
	At             time.Time
}

// check refuses a detail that does not fit the state change to `to`.
func (d *StateDetail) check(id string, to State) error {
	d.MitigationPlan, d.SupersededBy = strings.TrimSpace(d.MitigationPlan), strings.TrimSpace(d.SupersededBy)
	d.Note = strings.TrimSpace(d.Note)
	if to == StateDeferred {
		if d.MitigationPlan == "" || d.ReviewDate.IsZero() {
			return invalid("deferred needs a dated mitigation plan: the plan text and its review date")
		}
		if !d.ReviewDate.After(d.At) {
			return invalid("the mitigation plan's review date %s is not after the deferral (%s)",
				d.ReviewDate.Format(time.DateOnly), d.At.Format(time.DateOnly))
		}
	} else if d.MitigationPlan != "" || !d.ReviewDate.IsZero() {
		return invalid("a mitigation plan and review date belong to %s, not %s", StateDeferred, to)
	}
	if to == StateScheduled {
		if d.WindowStart.IsZero() || d.WindowEnd.IsZero() {
			return invalid("scheduled needs the maintenance window: its start and end")
		}
		if !d.WindowEnd.After(d.WindowStart) {
			return invalid("the maintenance window ends (%s) before it starts (%s)",
				d.WindowEnd.Format(time.RFC3339), d.WindowStart.Format(time.RFC3339))
		}
	} else if !d.WindowStart.IsZero() || !d.WindowEnd.IsZero() {
		return invalid("a maintenance window belongs to %s, not %s", StateScheduled, to)
	}
	if to == StateSuperseded {
		if d.SupersededBy == "" {
			return invalid("superseded needs the id of the patch that supersedes it")
		}
		if d.SupersededBy == id {
			return invalid("patch %s cannot supersede itself", id)
		}
	} else if d.SupersededBy != "" {
		return invalid("superseded-by belongs to %s, not %s", StateSuperseded, to)
	}
	return nil
}

// stateChange is the audit detail of a state change.
type stateChange struct {
	From           State     `json:"from"`
	To             State     `json:"to"`
	MitigationPlan string    `json:"mitigation_plan,omitempty"`
	ReviewDate     time.Time `json:"review_date,omitzero"`
	WindowStart    time.Time `json:"window_start,omitzero"`
	WindowEnd      time.Time `json:"window_end,omitzero"`
	SupersededBy   string    `json:"superseded_by,omitempty"`
	Note           string    `json:"note,omitempty"`
}

// SetState moves a patch to another state, if the state machine allows it (otherwise a
// *TransitionError listing the allowed states), and returns the patch as stored. actor is
// who made the change, for the audit trail.
func (db *DB) SetState(ctx context.Context, id string, to State, actor string, d StateDetail) (Patch, error) {
	fail := func(err error) (Patch, error) {
		return Patch{}, fmt.Errorf("patch %s to %s: %w", id, to, err)
	}
	if _, err := ParseState(string(to)); err != nil {
		return Patch{}, fmt.Errorf("patch %s: %w", id, err)
	}
	if err := checkActor(actor); err != nil {
		return fail(err)
	}
	d.At = orNow(d.At)
	if err := d.check(id, to); err != nil {
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
	if next := Next(p.State); !slices.Contains(next, to) {
		return Patch{}, &TransitionError{Patch: id, From: p.State, To: to, Allowed: next}
	}
	if to == StateSuperseded {
		if _, err := loadPatch(ctx, tx, d.SupersededBy); errors.Is(err, ErrNotFound) {
			return fail(invalid("superseded by %s: no such patch in the register; add it first", d.SupersededBy))
		} else if err != nil {
			return fail(err)
		}
	}
	set := []string{"state = ?", "state_ns = ?"}
	args := []any{string(to), d.At.UnixNano()}
	if p.Evaluated.IsZero() {
		set, args = append(set, "evaluated_ns = ?"), append(args, d.At.UnixNano())
	}
	switch to {
	case StateDeferred:
		set, args = append(set, "mitigation_plan = ?", "review_ns = ?"), append(args, d.MitigationPlan, d.ReviewDate.UnixNano())
	case StateScheduled:
		set, args = append(set, "window_start_ns = ?", "window_end_ns = ?"), append(args, d.WindowStart.UnixNano(), d.WindowEnd.UnixNano())
	case StateSuperseded:
		set, args = append(set, "superseded_by = ?"), append(args, d.SupersededBy)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE patches SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...); err != nil {
		return fail(err)
	}
	detail := stateChange{From: p.State, To: to, MitigationPlan: d.MitigationPlan, ReviewDate: utc(d.ReviewDate),
		WindowStart: utc(d.WindowStart), WindowEnd: utc(d.WindowEnd), SupersededBy: d.SupersededBy, Note: d.Note}
	if err := appendAudit(ctx, tx, d.At, actor, ActionStateChanged, id, detail); err != nil {
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

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// AssetRole says what an asset is.
type AssetRole string

const (
	Bench      AssetRole = "bench"      // a test-bench controller or a simulated one
	Production AssetRole = "production" // a controller in the plant
)

// Asset is a controller the register knows: a bench target or the production controller
// it stands for.
type Asset struct {
	ID       int64           `json:"id"`
	Name     string          `json:"name"`
	Target   string          `json:"target"` // modbus://…, opc.tcp://…, sim://…
	Role     AssetRole       `json:"role"`
	Baseline driver.Identity `json:"baseline"` // the identity it is expected to report
	Created  time.Time       `json:"created"`
}

// AddAsset enters an asset (names are unique) and returns it with its id.
func (db *DB) AddAsset(ctx context.Context, a Asset, actor string) (Asset, error) {
	a.Name, a.Target = strings.TrimSpace(a.Name), strings.TrimSpace(a.Target)
	fail := func(err error) (Asset, error) { return Asset{}, fmt.Errorf("add asset %q: %w", a.Name, err) }
	if a.Name == "" {
		return fail(invalid("no name"))
	}
	if a.Role != Bench && a.Role != Production {
		return fail(invalid("role %q: expected %s or %s", a.Role, Bench, Production))
	}
	if _, err := driver.ParseTarget(a.Target); err != nil {
		return fail(invalid("%v", err))
	}
	if err := checkActor(actor); err != nil {
		return fail(err)
	}
	a.Created = orNow(a.Created)
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
	if err := appendAudit(ctx, tx, a.Created, actor, ActionAssetAdded, "asset:"+a.Name, a); err != nil {
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
		a.Role, a.Created = AssetRole(role), fromNs(created)
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

// Validation is one before/after validation of a patch, with its verdict record.
type Validation struct {
	ID         string  `json:"id"` // e.g. V-2026-001; RecordValidation makes one when empty
	PatchID    string  `json:"patch_id"`
	Scenario   string  `json:"scenario"`    // the record's when empty
	BeforeRuns []int64 `json:"before_runs"` // the record's when nil
	AfterRuns  []int64 `json:"after_runs"`  // the record's when nil
	// Record is the verdict record as the comparison produced it; Verdict is its computed
	// verdict, stored beside it. A sign-off may accept a risk; it never changes either.
	Record       verdict.Record  `json:"record"`
	RecordSHA256 string          `json:"record_sha256"` // of the record JSON as stored
	Verdict      verdict.Outcome `json:"verdict"`
	Bundle       string          `json:"bundle,omitempty"`
	BundleSHA256 string          `json:"bundle_sha256,omitempty"`
	// Differences are the differences between the test bench and production (CIP-010-4
	// R1.5.2), one per line: "bench PLC firmware 3.2.0 same as production; I/O simulated".
	Differences []string  `json:"differences"`
	Created     time.Time `json:"created"`
	// ScenarioFile and PointMapFile are the scenario and point map exactly as the validation
	// ran them, so its evidence bundle can be rebuilt after the files changed or went. Both
	// are empty for a validation recorded before the register kept them. The scenario's
	// bytes must have the record's ScenarioSHA256.
	ScenarioFile File `json:"-"`
	PointMapFile File `json:"-"`
	// WriteBundle, when set, writes the validation's evidence bundle once its id is known,
	// inside the transaction that records it: given the record as it will be stored (naming
	// its own validation), it returns the record as bundled (with its bundle's name and
	// SHA-256). So the bundle a validation writes carries the validation id, and a validation
	// whose bundle could not be written is not recorded without it.
	WriteBundle func(verdict.Record) (verdict.Record, error) `json:"-"`
}

// File is a text a validation ran: its file name (no folder) and its bytes.
type File struct {
	Name string
	Data []byte
}

// sha256Hex is the lower-case hex SHA-256 of b.
func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// validationRecorded is the audit detail of a validation.
type validationRecorded struct {
	Patch        string          `json:"patch"`
	PatchState   State           `json:"patch_state"`
	Verdict      verdict.Outcome `json:"verdict"`
	Scenario     string          `json:"scenario"`
	BeforeRuns   []int64         `json:"before_runs"`
	AfterRuns    []int64         `json:"after_runs"`
	RecordSHA256 string          `json:"record_sha256"`
	Bundle       string          `json:"bundle,omitempty"`
	BundleSHA256 string          `json:"bundle_sha256,omitempty"`
	Differences  []string        `json:"differences"`
	// the SHA-256 of the texts stored with it (the scenario's is also the record's)
	ScenarioSHA256 string `json:"scenario_sha256,omitempty"`
	PointMapSHA256 string `json:"point_map_sha256,omitempty"`
}

// normalize fills a validation from its record and refuses contradictions.
func (v *Validation) normalize() error {
	r := &v.Record
	if v.ID != "" {
		if err := checkID("validation", v.ID); err != nil {
			return err
		}
	}
	switch r.Verdict {
	case verdict.Go, verdict.NoGo, verdict.Inconclusive:
	default:
		return invalid("the record's verdict is %q; expected %s, %s or %s", r.Verdict, verdict.Go, verdict.NoGo, verdict.Inconclusive)
	}
	if v.Verdict != "" && v.Verdict != r.Verdict {
		return invalid("verdict %s differs from the record's computed verdict %s; the verdict is computed, never typed in", v.Verdict, r.Verdict)
	}
	v.Verdict = r.Verdict
	if r.Patch != "" && r.Patch != v.PatchID {
		return invalid("the record is for patch %s, not %s", r.Patch, v.PatchID)
	}
	same := func(what string, dst *string, rec string) error {
		switch {
		case *dst == "":
			*dst = rec
		case rec != "" && *dst != rec:
			return invalid("%s %q differs from the record's %q", what, *dst, rec)
		}
		return nil
	}
	if err := errors.Join(same("scenario", &v.Scenario, r.Scenario), same("bundle", &v.Bundle, r.Bundle),
		same("bundle SHA-256", &v.BundleSHA256, r.BundleSHA256)); err != nil {
		return err
	}
	if v.Scenario == "" {
		return invalid("no scenario")
	}
	for _, runs := range []struct {
		what     string
		dst      *[]int64
		rec      []int64
		fallback bool
	}{{"before runs", &v.BeforeRuns, r.BeforeRuns, v.BeforeRuns == nil}, {"after runs", &v.AfterRuns, r.AfterRuns, v.AfterRuns == nil}} {
		switch {
		case runs.fallback:
			*runs.dst = slices.Clone(runs.rec)
		case len(runs.rec) > 0 && !slices.Equal(*runs.dst, runs.rec):
			return invalid("%s %v differ from the record's %v", runs.what, *runs.dst, runs.rec)
		}
		if *runs.dst == nil {
			*runs.dst = []int64{}
		}
	}
	var err error
	if v.BundleSHA256, err = checkSHA256("bundle SHA-256", v.BundleSHA256); err != nil {
		return err
	}
	var diffs []string
	for _, d := range v.Differences {
		if d = strings.TrimSpace(d); d != "" {
			diffs = append(diffs, d)
		}
	}
	v.Differences = nonNil(diffs)
	v.Created = orNow(v.Created)
	for _, f := range []struct {
		what string
		f    *File
	}{{"scenario", &v.ScenarioFile}, {"point map", &v.PointMapFile}} {
		f.f.Name = strings.TrimSpace(f.f.Name)
		if f.f.Data == nil && f.f.Name != "" {
			return invalid("%s file %s without its text", f.what, f.f.Name)
		}
		if f.f.Data != nil && (f.f.Name == "" || strings.ContainsAny(f.f.Name, `/\`)) {
			return invalid("%s text named %q; expected a file name without a folder", f.what, f.f.Name)
		}
	}
	if d := v.ScenarioFile.Data; d != nil && r.ScenarioSHA256 != "" && sha256Hex(d) != r.ScenarioSHA256 {
		return invalid("the scenario text has SHA-256 %s, the record's scenario %s", sha256Hex(d), r.ScenarioSHA256)
	}
	return nil
}

// RecordValidation stores a validation of a patch in the register and returns it as
// stored (with its id, made as V-YEAR-NNN when v.ID is empty). actor is who recorded it.
func (db *DB) RecordValidation(ctx context.Context, v Validation, actor string) (Validation, error) {
	fail := func(err error) (Validation, error) {
		return Validation{}, fmt.Errorf("record validation of patch %s: %w", v.PatchID, err)
	}
	if err := v.normalize(); err != nil {
		return fail(err)
	}
	if err := checkActor(actor); err != nil {
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
		if v.ID, err = nextID(ctx, tx, "validations", "V", v.Created.Year()); err != nil {
			return fail(err)
		}
	} else {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM validations WHERE id = ?`, v.ID).Scan(&n); err != nil {
			return fail(err)
		}
		if n > 0 {
			return fail(fmt.Errorf("%w: validation %s", ErrExists, v.ID))
		}
	}
	if cr := v.Record.ChangeRequest; cr != nil && cr.Validation == "" {
		named := *cr
		named.Validation = v.ID // the change-request record names its own validation
		v.Record.ChangeRequest = &named
	}
	if v.WriteBundle != nil {
		if v.Record, err = v.WriteBundle(v.Record); err != nil {
			return fail(err)
		}
		v.Bundle, v.BundleSHA256 = v.Record.Bundle, v.Record.BundleSHA256
		if v.BundleSHA256, err = checkSHA256("bundle SHA-256", v.BundleSHA256); err != nil {
			return fail(err)
		}
	}
	record, err := json.Marshal(v.Record)
	if err != nil {
		return fail(err)
	}
	v.RecordSHA256 = sha256Hex(record)
	var sums [2]any // NULL without a text
	for i, f := range []File{v.ScenarioFile, v.PointMapFile} {
		if f.Data == nil {
			continue
		}
		sum := sha256Hex(f.Data)
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
	detail := validationRecorded{Patch: v.PatchID, PatchState: p.State, Verdict: v.Verdict, Scenario: v.Scenario,
		BeforeRuns: v.BeforeRuns, AfterRuns: v.AfterRuns, RecordSHA256: v.RecordSHA256, Bundle: v.Bundle,
		BundleSHA256: v.BundleSHA256, Differences: v.Differences}
	detail.ScenarioSHA256, _ = sums[0].(string)
	detail.PointMapSHA256, _ = sums[1].(string)
	if err := appendAudit(ctx, tx, v.Created, actor, ActionValidationRecorded, v.ID, detail); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return v, nil
}

const validationColumns = `id, patch_id, scenario, before_runs, after_runs, record, record_sha256,
	verdict, bundle, bundle_sha256, differences, created_ns,
	scenario_file, scenario_text, (SELECT data FROM texts WHERE sha256 = scenario_text),
	point_map_file, point_map_text, (SELECT data FROM texts WHERE sha256 = point_map_text)`

func scanValidation(sc scanner) (Validation, error) {
	var v Validation
	var before, after, record, diffs, outcome string
	var created int64
	var sums [2]sql.NullString
	if err := sc.Scan(&v.ID, &v.PatchID, &v.Scenario, &before, &after, &record, &v.RecordSHA256,
		&outcome, &v.Bundle, &v.BundleSHA256, &diffs, &created,
		&v.ScenarioFile.Name, &sums[0], &v.ScenarioFile.Data, &v.PointMapFile.Name, &sums[1], &v.PointMapFile.Data); err != nil {
		return v, err
	}
	for i, f := range []*File{&v.ScenarioFile, &v.PointMapFile} {
		switch {
		case sums[i].Valid && f.Data == nil:
			return v, fmt.Errorf("%w: validation %s: text %s of %s is missing", ErrCorrupt, v.ID, sums[i].String, f.Name)
		case sums[i].Valid && sha256Hex(f.Data) != sums[i].String:
			return v, fmt.Errorf("%w: validation %s: the text of %s does not have its SHA-256 %s", ErrCorrupt, v.ID, f.Name, sums[i].String)
		}
	}
	v.Verdict, v.Created = verdict.Outcome(outcome), fromNs(created)
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
			return v, fmt.Errorf("%w: validation %s %s: %v", ErrCorrupt, v.ID, c.name, err)
		}
	}
	return v, nil
}

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
	defer rows.Close()
	var out []Validation
	for rows.Next() {
		v, err := scanValidation(rows)
		if err != nil {
			return nil, fmt.Errorf("validations of patch %s: %w", patchID, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("validations of patch %s: %w", patchID, err)
	}
	return out, nil
}

// Role is the capacity in which someone signs a validation.
type Role string

const (
	Tester     Role = "tester"
	OEMWitness Role = "oem_witness" // the vendor's engineer in a joint validation session
	Approver   Role = "approver"
)

// Roles lists the sign-off roles.
func Roles() []Role { return []Role{Tester, OEMWitness, Approver} }

// Decision is what a sign-off says about a validation.
type Decision string

const (
	// Approve: the validation and its computed verdict stand as recorded.
	Approve Decision = "approve"
	// Reject: the validation does not stand (wrong setup, wrong scenario…); needs a rationale.
	Reject Decision = "reject"
	// AcceptRisk: go ahead despite a NO-GO or INCONCLUSIVE verdict; needs a rationale. It is
	// the only way to override the computed verdict, and it never replaces it: the
	// validation keeps its verdict and the sign-off records the accepted risk.
	AcceptRisk Decision = "accept_risk"
)

// Decisions lists the sign-off decisions.
func Decisions() []Decision { return []Decision{Approve, Reject, AcceptRisk} }

// SignOff is one person's signature on a validation. In an OEM joint session both parties
// sign the same validation, each in their role.
type SignOff struct {
	ID           int64     `json:"id"`
	ValidationID string    `json:"validation_id"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	Decision     Decision  `json:"decision"`
	Rationale    string    `json:"rationale,omitempty"`
	Time         time.Time `json:"time"`
}

// signedOff is the audit detail of a sign-off.
type signedOff struct {
	Patch     string          `json:"patch"`
	Verdict   verdict.Outcome `json:"verdict"` // the computed verdict, as it stays
	Role      Role            `json:"role"`
	Decision  Decision        `json:"decision"`
	Rationale string          `json:"rationale,omitempty"`
}

// SignOff records a sign-off on a validation and returns it with its id. Reject and
// accept_risk need a rationale; accept_risk is refused on a GO verdict (there is no risk to
// accept beyond what GO says: approve it). One person signs a validation once per role.
func (db *DB) SignOff(ctx context.Context, s SignOff) (SignOff, error) {
	s.Name, s.Rationale = strings.TrimSpace(s.Name), strings.TrimSpace(s.Rationale)
	fail := func(err error) (SignOff, error) {
		return SignOff{}, fmt.Errorf("sign-off of validation %s: %w", s.ValidationID, err)
	}
	switch {
	case s.Name == "":
		return fail(invalid("no name: who signs?"))
	case !slices.Contains(Roles(), s.Role):
		return fail(invalid("role %q: expected %s", s.Role, joinStates(Roles(), "or")))
	case !slices.Contains(Decisions(), s.Decision):
		return fail(invalid("decision %q: expected %s", s.Decision, joinStates(Decisions(), "or")))
	case s.Decision != Approve && s.Rationale == "":
		return fail(invalid("%s needs a rationale: why", s.Decision))
	}
	s.Time = orNow(s.Time)
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
	if s.Decision == AcceptRisk && verdict.Outcome(outcome) == verdict.Go {
		return fail(invalid("the computed verdict is GO: there is no risk to accept beyond it; approve instead"))
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM signoffs WHERE validation_id = ? AND name = ? AND role = ?`,
		s.ValidationID, s.Name, string(s.Role)).Scan(&n); err != nil {
		return fail(err)
	}
	if n > 0 {
		return fail(fmt.Errorf("%w: %s already signed it as %s", ErrExists, s.Name, s.Role))
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
	detail := signedOff{Patch: patchID, Verdict: verdict.Outcome(outcome), Role: s.Role, Decision: s.Decision, Rationale: s.Rationale}
	if err := appendAudit(ctx, tx, s.Time, s.Name, ActionSignedOff, s.ValidationID, detail); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return s, nil
}

// SignOffs lists the sign-offs of a validation in the order they were made.
func (db *DB) SignOffs(ctx context.Context, validationID string) ([]SignOff, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, validation_id, name, role, decision, rationale, time_ns
		FROM signoffs WHERE validation_id = ? ORDER BY time_ns, id`, validationID)
	if err != nil {
		return nil, fmt.Errorf("sign-offs of validation %s: %w", validationID, err)
	}
	defer rows.Close()
	var out []SignOff
	for rows.Next() {
		var s SignOff
		var role, decision string
		var t int64
		if err := rows.Scan(&s.ID, &s.ValidationID, &s.Name, &role, &decision, &s.Rationale, &t); err != nil {
			return nil, fmt.Errorf("sign-offs of validation %s: %w", validationID, err)
		}
		s.Role, s.Decision, s.Time = Role(role), Decision(decision), fromNs(t)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sign-offs of validation %s: %w", validationID, err)
	}
	return out, nil
}
