package register

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

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
		return "", Invalid("unknown state %q; the states are %s", s, join(States(), "and"))
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
	return fmt.Sprintf("patch %s is %s: it can go to %s, not %s", e.Patch, e.From, join(e.Allowed, "or"), e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// CheckTransition is nil when patch id may go from state from to state to, else a
// *TransitionError.
func CheckTransition(id string, from, to State) error {
	if next := Next(from); !slices.Contains(next, to) {
		return &TransitionError{Patch: id, From: from, To: to, Allowed: next}
	}
	return nil
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

// Normalize checks a new patch and fills its defaults: trimmed text, CVEs upper-cased and
// deduplicated, qualification unknown when empty, created now and identified when created
// when zero, state identified with every later field cleared.
func (p *Patch) Normalize() error {
	p.Supplier, p.Product = strings.TrimSpace(p.Supplier), strings.TrimSpace(p.Product)
	p.FromVersion, p.ToVersion = strings.TrimSpace(p.FromVersion), strings.TrimSpace(p.ToVersion)
	p.Advisory, p.Notes = strings.TrimSpace(p.Advisory), strings.TrimSpace(p.Notes)
	p.SignatureNote = strings.TrimSpace(p.SignatureNote)
	if p.ID != "" {
		if err := CheckID("patch", p.ID); err != nil {
			return err
		}
	}
	if p.Supplier == "" || p.Product == "" {
		return Invalid("supplier and product are required")
	}
	if !slices.Contains(PatchTypes(), p.Type) {
		return Invalid("type %q: expected %s", p.Type, join(PatchTypes(), "or"))
	}
	if p.Qualification == "" {
		p.Qualification = QualificationUnknown
	}
	if !slices.Contains(Qualifications(), p.Qualification) {
		return Invalid("qualification %q: expected %s", p.Qualification, join(Qualifications(), "or"))
	}
	var cves []string
	for _, c := range p.CVEs {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !cvePattern.MatchString(c) {
			return Invalid("CVE %q: expected CVE-YYYY-NNNN", c)
		}
		if !slices.Contains(cves, c) {
			cves = append(cves, c)
		}
	}
	p.CVEs = cves
	var err error
	if p.FileSHA256, err = CheckSHA256("file SHA-256", p.FileSHA256); err != nil {
		return err
	}
	if p.SignatureChecked && p.SignatureNote == "" {
		return Invalid("signature checked: say by whom and how (e.g. \"jd, vendor PGP key 0x1234 from the support portal\")")
	}
	if p.State != "" && p.State != StateIdentified {
		return Invalid("a new patch starts %s, not %s; change its state afterwards", StateIdentified, p.State)
	}
	p.Created = OrNow(p.Created)
	if p.Identified.IsZero() {
		p.Identified = p.Created
	}
	if p.Identified.After(p.Created) {
		return Invalid("identified %s is after the patch was entered (%s)",
			p.Identified.Format(time.DateOnly), p.Created.Format(time.DateOnly))
	}
	p.State, p.StateChanged = StateIdentified, p.Created
	p.Evaluated, p.MitigationPlan, p.ReviewDate = time.Time{}, "", time.Time{}
	p.WindowStart, p.WindowEnd, p.SupersededBy = time.Time{}, time.Time{}, ""
	return nil
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

// Check trims the detail, sets At to now when zero, and refuses a detail that does not
// fit the change of patch id to state to (the state machine is CheckTransition's).
func (d *StateDetail) Check(id string, to State) error {
	if _, err := ParseState(string(to)); err != nil {
		return err
	}
	d.At = OrNow(d.At)
	d.MitigationPlan, d.SupersededBy = strings.TrimSpace(d.MitigationPlan), strings.TrimSpace(d.SupersededBy)
	d.Note = strings.TrimSpace(d.Note)
	if to == StateDeferred {
		if d.MitigationPlan == "" || d.ReviewDate.IsZero() {
			return Invalid("deferred needs a dated mitigation plan: the plan text and its review date")
		}
		if !d.ReviewDate.After(d.At) {
			return Invalid("the mitigation plan's review date %s is not after the deferral (%s)",
				d.ReviewDate.Format(time.DateOnly), d.At.Format(time.DateOnly))
		}
	} else if d.MitigationPlan != "" || !d.ReviewDate.IsZero() {
		return Invalid("a mitigation plan and review date belong to %s, not %s", StateDeferred, to)
	}
	if to == StateScheduled {
		if d.WindowStart.IsZero() || d.WindowEnd.IsZero() {
			return Invalid("scheduled needs the maintenance window: its start and end")
		}
		if !d.WindowEnd.After(d.WindowStart) {
			return Invalid("the maintenance window ends (%s) before it starts (%s)",
				d.WindowEnd.Format(time.RFC3339), d.WindowStart.Format(time.RFC3339))
		}
	} else if !d.WindowStart.IsZero() || !d.WindowEnd.IsZero() {
		return Invalid("a maintenance window belongs to %s, not %s", StateScheduled, to)
	}
	if to == StateSuperseded {
		if d.SupersededBy == "" {
			return Invalid("superseded needs the id of the patch that supersedes it")
		}
		if d.SupersededBy == id {
			return Invalid("patch %s cannot supersede itself", id)
		}
	} else if d.SupersededBy != "" {
		return Invalid("superseded-by belongs to %s, not %s", StateSuperseded, to)
	}
	return nil
}

// Apply is the patch p after the change to state to with detail d (checked): the new
// state and its time, the evaluation clock stopped at the first change, and the
// deferral's plan, the schedule's window or the superseding patch. It also returns the
// change's audit detail.
func (p Patch) Apply(to State, d StateDetail) (Patch, StateChange) {
	c := StateChange{From: p.State, To: to, MitigationPlan: d.MitigationPlan, ReviewDate: UTC(d.ReviewDate),
		WindowStart: UTC(d.WindowStart), WindowEnd: UTC(d.WindowEnd), SupersededBy: d.SupersededBy, Note: d.Note}
	p.State, p.StateChanged = to, d.At.UTC()
	if p.Evaluated.IsZero() {
		p.Evaluated = d.At.UTC()
	}
	switch to {
	case StateDeferred:
		p.MitigationPlan, p.ReviewDate = d.MitigationPlan, d.ReviewDate.UTC()
	case StateScheduled:
		p.WindowStart, p.WindowEnd = d.WindowStart.UTC(), d.WindowEnd.UTC()
	case StateSuperseded:
		p.SupersededBy = d.SupersededBy
	}
	return p, c
}

// StateChange is the audit detail of a state change.
type StateChange struct {
	From           State     `json:"from"`
	To             State     `json:"to"`
	MitigationPlan string    `json:"mitigation_plan,omitempty"`
	ReviewDate     time.Time `json:"review_date,omitzero"`
	WindowStart    time.Time `json:"window_start,omitzero"`
	WindowEnd      time.Time `json:"window_end,omitzero"`
	SupersededBy   string    `json:"superseded_by,omitempty"`
	Note           string    `json:"note,omitempty"`
}
