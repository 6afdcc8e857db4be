package ledger

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/patchgate/patchgate/harness/register"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/verdict"
)

// day is a calendar day at 09:00 UTC in March 2026 (day(1) is 1 March).
func day(n int) time.Time { return time.Date(2026, 3, n, 9, 0, 0, 0, time.UTC) }

func newPatch(id string) Patch {
	return Patch{
		ID: id, Supplier: "Acme Automation", Product: "Tank PLC T100", FromVersion: "3.1.0 - 3.2.0",
		ToVersion: "3.2.1", Type: Security, CVEs: []string{"cve-2026-10001", "CVE-2026-10002"},
		Advisory: "https://acme.example/psirt/ACME-SA-2026-04", FileSHA256: strings.Repeat("AB", 32),
		SignatureChecked: true, SignatureNote: "jd: vendor PGP key from the support portal",
		Qualification: Qualified, Identified: day(1), Created: day(2),
	}
}

func addPatch(t *testing.T, db *DB, id string) Patch {
	t.Helper()
	p, err := db.AddPatch(t.Context(), newPatch(id), "jd")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func auditCount(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.r.QueryRow(`SELECT count(*) FROM audit`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func verifyIntact(t *testing.T, db *DB, want int) {
	t.Helper()
	n, err := db.VerifyAudit(t.Context())
	if err != nil || n != want {
		t.Fatalf("VerifyAudit: %d rows, %v; want %d rows intact", n, err, want)
	}
}

func TestAddPatch(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	p := addPatch(t, db, "")
	if p.ID != "P-2026-001" || p.State != StateIdentified || !p.StateChanged.Equal(day(2)) {
		t.Errorf("new patch %s in %s since %s; want P-2026-001, identified since %s", p.ID, p.State, p.StateChanged, day(2))
	}
	if !slices.Equal(p.CVEs, []string{"CVE-2026-10001", "CVE-2026-10002"}) || p.FileSHA256 != strings.Repeat("ab", 32) {
		t.Errorf("CVEs %v, SHA-256 %s: want upper-case CVEs and a lower-case hash", p.CVEs, p.FileSHA256)
	}
	if got := addPatch(t, db, "").ID; got != "P-2026-002" {
		t.Errorf("second generated id %s, want P-2026-002", got)
	}
	addPatch(t, db, "P-2026-010")
	if got := addPatch(t, db, "").ID; got != "P-2026-011" {
		t.Errorf("id after P-2026-010 is %s, want P-2026-011", got)
	}
	if _, err := db.AddPatch(ctx, newPatch("P-2026-010"), "jd"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate id: %v, want ErrExists", err)
	}

	db = reopen(t, db, path)
	got, err := db.Patch(ctx, "P-2026-001")
	if err != nil {
		t.Fatal(err)
	}
	// Round trip: every field as AddPatch returned it.
	a, _ := json.Marshal(p)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("stored patch\n got %s\nwant %s", b, a)
	}
	if _, err := db.Patch(ctx, "P-1999-001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing patch: %v, want ErrNotFound", err)
	}
	all, err := db.Patches(ctx)
	if err != nil || len(all) != 4 {
		t.Fatalf("Patches: %d, %v; want 4", len(all), err)
	}
	verifyIntact(t, db, 4)

	for name, c := range map[string]struct {
		edit func(*Patch)
		want string
	}{
		"no supplier":        {func(p *Patch) { p.Supplier = " " }, "supplier and product are required"},
		"unknown type":       {func(p *Patch) { p.Type = "hotfix" }, `type "hotfix": expected security, bugfix, reliability or feature`},
		"bad qualification":  {func(p *Patch) { p.Qualification = "maybe" }, `qualification "maybe"`},
		"bad CVE":            {func(p *Patch) { p.CVEs = []string{"CVE-26-1"} }, `CVE "CVE-26-1": expected CVE-YYYY-NNNN`},
		"bad hash":           {func(p *Patch) { p.FileSHA256 = "abc" }, "file SHA-256"},
		"signature who/how":  {func(p *Patch) { p.SignatureNote = "" }, "say by whom and how"},
		"bad id":             {func(p *Patch) { p.ID = "P 1" }, `patch id "P 1"`},
		"identified later":   {func(p *Patch) { p.Identified = day(3) }, "identified 2026-03-03 is after"},
		"starts elsewhere":   {func(p *Patch) { p.State = StateGo }, "a new patch starts identified"},
		"signature no actor": {func(p *Patch) {}, "no actor"},
	} {
		p := newPatch("")
		c.edit(&p)
		actor := "jd"
		if name == "signature no actor" {
			actor = ""
		}
		_, err := db.AddPatch(ctx, p, actor)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrInvalid saying %q", name, err, c.want)
		}
	}
	if n := auditCount(t, db); n != 4 {
		t.Errorf("refused patches left audit rows: %d, want 4", n)
	}
	// Qualification defaults to unknown.
	p = newPatch("")
	p.Qualification = ""
	if p, err = db.AddPatch(ctx, p, "jd"); err != nil || p.Qualification != QualificationUnknown {
		t.Errorf("qualification %q, %v; want unknown", p.Qualification, err)
	}
}

// legal is the state machine as the register must enforce it, written out independently of
// the transitions table.
var legal = map[State][]State{
	StateIdentified:    {StateNotApplicable, StateApplicable, StateSuperseded},
	StateNotApplicable: {StateClosed, StateSuperseded},
	StateApplicable:    {StateInTest, StateDeferred, StateSuperseded},
	StateInTest:        {StateGo, StateNoGo, StateDeferred, StateSuperseded},
	StateGo:            {StateScheduled, StateDeferred, StateSuperseded},
	StateNoGo:          {StateInTest, StateDeferred, StateSuperseded},
	StateDeferred:      {StateDeferred, StateInTest, StateScheduled, StateSuperseded},
	StateScheduled:     {StateScheduled, StateDeployed, StateDeferred, StateSuperseded},
	StateDeployed:      {StateVerified, StateRolledBack, StateSuperseded},
	StateVerified:      {StateClosed, StateRolledBack, StateSuperseded},
	StateRolledBack:    {StateInTest, StateDeferred, StateClosed, StateSuperseded},
	StateClosed:        nil,
	StateSuperseded:    nil,
}

// pathTo is a legal way from identified to each state.
var pathTo = map[State][]State{
	StateIdentified:    nil,
	StateNotApplicable: {StateNotApplicable},
	StateApplicable:    {StateApplicable},
	StateInTest:        {StateApplicable, StateInTest},
	StateGo:            {StateApplicable, StateInTest, StateGo},
	StateNoGo:          {StateApplicable, StateInTest, StateNoGo},
	StateDeferred:      {StateApplicable, StateInTest, StateDeferred},
	StateScheduled:     {StateApplicable, StateInTest, StateGo, StateScheduled},
	StateDeployed:      {StateApplicable, StateInTest, StateGo, StateScheduled, StateDeployed},
	StateVerified:      {StateApplicable, StateInTest, StateGo, StateScheduled, StateDeployed, StateVerified},
	StateClosed:        {StateNotApplicable, StateClosed},
	StateSuperseded:    {StateSuperseded},
	StateRolledBack:    {StateApplicable, StateInTest, StateGo, StateScheduled, StateDeployed, StateRolledBack},
}

// detailFor is a complete detail for a change to `to` at `at`.
func detailFor(to State, at time.Time) StateDetail {
	d := StateDetail{At: at, Note: "step to " + string(to)}
	switch to {
	case StateDeferred:
		d.MitigationPlan, d.ReviewDate = "port 502 blocked at the cell firewall; monthly log review", at.AddDate(0, 1, 0)
	case StateScheduled:
		d.WindowStart, d.WindowEnd = at.AddDate(0, 0, 7), at.AddDate(0, 0, 7).Add(4*time.Hour)
	case StateSuperseded:
		d.SupersededBy = "P-NEXT"
	}
	return d
}

func TestStateMachine(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	addPatch(t, db, "P-NEXT")
	if len(legal) != len(States()) {
		t.Fatalf("the test knows %d states, the register %d", len(legal), len(States()))
	}
	for _, from := range States() {
		if got := Next(from); !slices.Equal(got, legal[from]) {
			t.Errorf("Next(%s) = %v, want %v", from, got, legal[from])
		}
	}
	i := 0
	for _, from := range States() {
		for _, to := range States() {
			i++
			id := fmt.Sprintf("T-%03d", i)
			addPatch(t, db, id)
			at := day(3)
			for _, s := range pathTo[from] {
				at = at.Add(time.Hour)
				if _, err := db.SetState(ctx, id, s, "jd", detailFor(s, at)); err != nil {
					t.Fatalf("path to %s: %v", from, err)
				}
			}
			before := auditCount(t, db)
			at = at.Add(time.Hour)
			p, err := db.SetState(ctx, id, to, "jd", detailFor(to, at))
			if slices.Contains(legal[from], to) {
				if err != nil {
					t.Errorf("%s -> %s: %v, want it allowed", from, to, err)
					continue
				}
				if p.State != to || !p.StateChanged.Equal(at) {
					t.Errorf("%s -> %s: now %s since %s", from, to, p.State, p.StateChanged)
				}
				rows, err := db.Audit(ctx, 1)
				if err != nil {
					t.Fatal(err)
				}
				var d register.StateChange
				if err := json.Unmarshal(rows[0].Detail, &d); err != nil {
					t.Fatal(err)
				}
				if rows[0].Action != ActionStateChanged || rows[0].Subject != id || d.From != from || d.To != to || d.Note == "" {
					t.Errorf("%s -> %s: audit row %+v, detail %+v", from, to, rows[0], d)
				}
				continue
			}
			var te *TransitionError
			if !errors.Is(err, ErrIllegalTransition) || !errors.As(err, &te) {
				t.Errorf("%s -> %s: %v, want an illegal transition", from, to, err)
				continue
			}
			if !slices.Equal(te.Allowed, legal[from]) || te.From != from || te.To != to {
				t.Errorf("%s -> %s: error %+v, want allowed %v", from, to, te, legal[from])
			}
			want := fmt.Sprintf("patch %s is %s: it can go to ", id, from)
			if len(legal[from]) == 0 {
				want = fmt.Sprintf("patch %s is %s, a final state: it cannot go to %s", id, from, to)
			}
			if !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), "not "+string(to)) && len(legal[from]) > 0 {
				t.Errorf("%s -> %s: message %q, want %q…", from, to, err, want)
			}
			if p, err := db.Patch(ctx, id); err != nil || p.State != from {
				t.Errorf("%s -> %s refused, but the patch is now %s (%v)", from, to, p.State, err)
			}
			if n := auditCount(t, db); n != before {
				t.Errorf("%s -> %s refused, but the audit grew from %d to %d rows", from, to, before, n)
			}
		}
	}
	// One message in full, as the engineer reads it.
	_, err := db.SetState(ctx, "T-001", StateClosed, "jd", StateDetail{})
	if want := "patch T-001 is identified: it can go to assessed_not_applicable, assessed_applicable or superseded, not closed"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if _, err := db.SetState(ctx, "T-001", "approved", "jd", StateDetail{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `unknown state "approved"`) {
		t.Errorf("unknown state: %v", err)
	}
	if _, err := db.SetState(ctx, "P-NONE", StateApplicable, "jd", StateDetail{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown patch: %v, want ErrNotFound", err)
	}
	verifyIntact(t, db, auditCount(t, db))
}

func TestStateDetails(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	addPatch(t, db, "P-1")
	at := day(10)
	for _, s := range []State{StateApplicable, StateInTest} {
		if _, err := db.SetState(ctx, "P-1", s, "jd", StateDetail{At: at}); err != nil {
			t.Fatal(err)
		}
	}
	plan := "cell firewall blocks port 502 from the office network; review monthly"
	for name, c := range map[string]struct {
		to   State
		d    StateDetail
		want string
	}{
		"deferred without plan":   {StateDeferred, StateDetail{ReviewDate: day(20)}, "deferred needs a dated mitigation plan"},
		"deferred without date":   {StateDeferred, StateDetail{MitigationPlan: plan}, "deferred needs a dated mitigation plan"},
		"review in the past":      {StateDeferred, StateDetail{MitigationPlan: plan, ReviewDate: day(9)}, "review date 2026-03-09 is not after the deferral (2026-03-10)"},
		"plan for go":             {StateGo, StateDetail{MitigationPlan: plan}, "belong to deferred, not go"},
		"window for go":           {StateGo, StateDetail{WindowStart: day(12)}, "belongs to scheduled, not go"},
		"superseded-by for no_go": {StateNoGo, StateDetail{SupersededBy: "P-2"}, "belongs to superseded, not no_go"},
		"superseded by nothing":   {StateSuperseded, StateDetail{}, "needs the id of the patch"},
		"superseded by itself":    {StateSuperseded, StateDetail{SupersededBy: "P-1"}, "cannot supersede itself"},
		"superseded by unknown":   {StateSuperseded, StateDetail{SupersededBy: "P-9"}, "no such patch in the register"},
		"no actor":                {StateGo, StateDetail{}, "no actor"},
	} {
		c.d.At = at.Add(time.Hour)
		actor := "jd"
		if name == "no actor" {
			actor = " "
		}
		_, err := db.SetState(ctx, "P-1", c.to, actor, c.d)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrInvalid saying %q", name, err, c.want)
		}
	}
	p, err := db.SetState(ctx, "P-1", StateDeferred, "jd", StateDetail{MitigationPlan: plan, ReviewDate: day(30), At: day(11)})
	if err != nil {
		t.Fatal(err)
	}
	if p.State != StateDeferred || p.MitigationPlan != plan || !p.ReviewDate.Equal(day(30)) {
		t.Errorf("deferred: %+v", p)
	}
	// A deferral is renewed with a new plan and date.
	p, err = db.SetState(ctx, "P-1", StateDeferred, "jd", StateDetail{MitigationPlan: plan + " (renewed)", ReviewDate: day(31), At: day(29)})
	if err != nil || p.MitigationPlan != plan+" (renewed)" || !p.ReviewDate.Equal(day(31)) {
		t.Errorf("renewed deferral: %+v, %v", p, err)
	}
	// Scheduled needs a window whose end is after its start.
	for _, d := range []StateDetail{{WindowStart: day(20)}, {WindowStart: day(20), WindowEnd: day(20)}} {
		if _, err := db.SetState(ctx, "P-1", StateScheduled, "jd", d); !errors.Is(err, ErrInvalid) {
			t.Errorf("window %v - %v: %v, want ErrInvalid", d.WindowStart, d.WindowEnd, err)
		}
	}
	start := time.Date(2026, 4, 4, 22, 0, 0, 0, time.UTC)
	p, err = db.SetState(ctx, "P-1", StateScheduled, "jd", StateDetail{WindowStart: start, WindowEnd: start.Add(4 * time.Hour), At: day(30)})
	if err != nil || !p.WindowStart.Equal(start) || !p.WindowEnd.Equal(start.Add(4*time.Hour)) {
		t.Errorf("scheduled: %+v, %v", p, err)
	}
	addPatch(t, db, "P-2")
	p, err = db.SetState(ctx, "P-1", StateSuperseded, "jd", StateDetail{SupersededBy: "P-2", At: day(31)})
	if err != nil || p.SupersededBy != "P-2" || p.State != StateSuperseded {
		t.Errorf("superseded: %+v, %v", p, err)
	}
	// The audit row of the deferral carries the plan.
	rows, err := db.PatchAudit(ctx, "P-1")
	if err != nil {
		t.Fatal(err)
	}
	var deferrals int
	for _, r := range rows {
		if strings.Contains(string(r.Detail), `"to":"deferred"`) && strings.Contains(string(r.Detail), `"review_date":"2026-03-30T09:00:00Z"`) {
			deferrals++
		}
	}
	if deferrals != 1 {
		t.Errorf("audit of P-1 has %d rows for the first deferral with its review date: %+v", deferrals, rows)
	}
}

func TestEvaluationClock(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	p := newPatch("P-1")
	p.Identified = time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)
	p.Created = time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)
	p, err := db.AddPatch(ctx, p, "jd")
	if err != nil {
		t.Fatal(err)
	}
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		now                   time.Time
		elapsed, left         int
		overdue               bool
		text                  string
		evaluatedAt, dueShown time.Time
	}{
		{now: at(3, 1, 15), elapsed: 0, left: 35, text: "35 d left"},
		{now: at(3, 24, 23), elapsed: 23, left: 12, text: "12 d left"},
		{now: at(4, 5, 23), elapsed: 35, left: 0, text: "0 d left"}, // the due day itself
		{now: at(4, 6, 0), elapsed: 36, left: -1, overdue: true, text: "OVERDUE 1 d"},
		{now: at(4, 8, 12), elapsed: 38, left: -3, overdue: true, text: "OVERDUE 3 d"},
	} {
		c.dueShown = time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)
		k := p.Clock(c.now)
		if !k.Applies || k.DaysElapsed != c.elapsed || k.DaysLeft != c.left || k.Overdue != c.overdue ||
			k.String() != c.text || !k.Due.Equal(c.dueShown) {
			t.Errorf("at %s: %+v %q; want elapsed %d, left %d, overdue %v, %q, due %s",
				c.now, k, k, c.elapsed, c.left, c.overdue, c.text, c.dueShown)
		}
	}
	// Calendar days count in the zone of "now": 1 March 14:00 UTC is 2 March in Auckland.
	nz := time.FixedZone("NZDT", 13*3600)
	if k := p.Clock(time.Date(2026, 3, 24, 12, 0, 0, 0, nz)); k.DaysElapsed != 22 || k.DaysLeft != 13 || k.TimeZone != "NZDT" {
		t.Errorf("in NZDT: %+v, want 22 elapsed, 13 left", k)
	}
	// Assessment stops the clock.
	p, err = db.SetState(ctx, "P-1", StateApplicable, "jd", StateDetail{At: at(3, 21, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if k := p.Clock(at(6, 1, 0)); k.Overdue || k.DaysElapsed != 20 || k.String() != "evaluated d 20" || !k.Evaluated.Equal(at(3, 21, 10)) {
		t.Errorf("evaluated on day 20, read in June: %+v %q", k, k)
	}
	// Later changes keep the evaluation time.
	if p, err = db.SetState(ctx, "P-1", StateInTest, "jd", StateDetail{At: at(5, 1, 10)}); err != nil || !p.Evaluated.Equal(at(3, 21, 10)) {
		t.Errorf("evaluated moved to %s (%v)", p.Evaluated, err)
	}
	// Evaluated after the due day: late, not overdue.
	late := newPatch("P-2")
	late.Identified, late.Created = at(3, 1, 9), at(3, 1, 9)
	if _, err := db.AddPatch(ctx, late, "jd"); err != nil {
		t.Fatal(err)
	}
	if late, err = db.SetState(ctx, "P-2", StateNotApplicable, "jd", StateDetail{At: at(4, 10, 9)}); err != nil {
		t.Fatal(err)
	}
	if k := late.Clock(at(5, 1, 0)); k.Overdue || !k.Late || k.String() != "evaluated LATE d 40" {
		t.Errorf("evaluated on day 40: %+v %q", k, k)
	}
	// No clock for a bug fix.
	bug := newPatch("P-3")
	bug.Type, bug.Identified, bug.Created = Bugfix, at(1, 1, 0), at(1, 1, 0)
	if bug, err = db.AddPatch(ctx, bug, "jd"); err != nil {
		t.Fatal(err)
	}
	if k := bug.Clock(at(6, 1, 0)); k.Applies || k.Overdue || k.String() != "-" {
		t.Errorf("bug fix clock %+v %q", k, k)
	}
}

func newValidation(patchID string, v verdict.Outcome) Validation {
	return Validation{
		PatchID: patchID,
		Record: verdict.Record{
			Verdict: v, Reasons: []string{"alarm.high: threshold moved from 80.0 to 82.5"}, Scenario: "tank-alarms",
			PointMap: "tank.yaml", Patch: patchID, BeforeTarget: "sim://tank?firmware=baseline",
			AfterTarget: "sim://tank?firmware=alarm-shift", BeforeRuns: []int64{1, 2, 3}, AfterRuns: []int64{4, 5, 6},
			Criteria: []verdict.Criterion{{ID: "alarm.high", Kind: verdict.KindSequence, Severity: "critical", Status: verdict.Fail}},
		},
		Bundle: "evidence/P-2026-001.pgz", BundleSHA256: strings.Repeat("c", 64),
		Differences: []string{"bench PLC firmware 3.2.0 same as production", "I/O simulated", " "},
		Created:     day(12),
	}
}

func TestValidationsAndSignOffs(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	addPatch(t, db, "P-1")
	v, err := db.RecordValidation(ctx, newValidation("P-1", verdict.NoGo), "jd")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "V-2026-001" || v.Verdict != verdict.NoGo || v.Scenario != "tank-alarms" ||
		!slices.Equal(v.BeforeRuns, []int64{1, 2, 3}) || !slices.Equal(v.AfterRuns, []int64{4, 5, 6}) ||
		!slices.Equal(v.Differences, []string{"bench PLC firmware 3.2.0 same as production", "I/O simulated"}) ||
		len(v.RecordSHA256) != 64 {
		t.Errorf("recorded %+v", v)
	}
	for name, c := range map[string]struct {
		edit func(*Validation)
		want error
		text string
	}{
		"typed-in verdict":   {func(v *Validation) { v.Verdict = verdict.Go }, ErrInvalid, "verdict GO differs from the record's computed verdict NO-GO"},
		"no verdict":         {func(v *Validation) { v.Record.Verdict = "" }, ErrInvalid, `the record's verdict is ""`},
		"other patch":        {func(v *Validation) { v.Record.Patch = "P-2" }, ErrInvalid, "the record is for patch P-2"},
		"other runs":         {func(v *Validation) { v.AfterRuns = []int64{7} }, ErrInvalid, "after runs [7] differ"},
		"other scenario":     {func(v *Validation) { v.Scenario = "pid" }, ErrInvalid, `scenario "pid" differs`},
		"bad bundle hash":    {func(v *Validation) { v.BundleSHA256, v.Record.BundleSHA256 = "xyz", "" }, ErrInvalid, "bundle SHA-256"},
		"unknown patch":      {func(v *Validation) { v.PatchID, v.Record.Patch = "P-9", "" }, ErrNotFound, "patch P-9"},
		"duplicate id":       {func(v *Validation) { v.ID = "V-2026-001" }, ErrExists, "V-2026-001"},
		"no scenario at all": {func(v *Validation) { v.Record.Scenario = "" }, ErrInvalid, "no scenario"},
	} {
		nv := newValidation("P-1", verdict.NoGo)
		c.edit(&nv)
		if _, err := db.RecordValidation(ctx, nv, "jd"); !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v; want %v saying %q", name, err, c.want, c.text)
		}
	}

	// An OEM joint session: both parties sign the same validation.
	tester, err := db.SignOff(ctx, SignOff{ValidationID: v.ID, Name: "Jane Doe", Role: Tester, Decision: Approve, Time: day(13)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SignOff(ctx, SignOff{ValidationID: v.ID, Name: "Hans Vogt", Role: OEMWitness, Decision: Approve, Time: day(13).Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Rationale is mandatory for reject and accept_risk.
	for _, d := range []Decision{Reject, AcceptRisk} {
		_, err := db.SignOff(ctx, SignOff{ValidationID: v.ID, Name: "Ann Lee", Role: Approver, Decision: d, Rationale: "  "})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), string(d)+" needs a rationale") {
			t.Errorf("%s without rationale: %v", d, err)
		}
	}
	for name, s := range map[string]SignOff{
		"no name":         {ValidationID: v.ID, Role: Approver, Decision: Approve},
		"bad role":        {ValidationID: v.ID, Name: "X", Role: "manager", Decision: Approve},
		"bad decision":    {ValidationID: v.ID, Name: "X", Role: Approver, Decision: "maybe"},
		"twice as tester": {ValidationID: v.ID, Name: "Jane Doe", Role: Tester, Decision: Approve},
		"no validation":   {ValidationID: "V-9", Name: "X", Role: Approver, Decision: Approve},
	} {
		if _, err := db.SignOff(ctx, s); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExists) && !errors.Is(err, ErrNotFound) || err == nil {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	why := "alarm shift of 2.5 % accepted: the high-high trip is unchanged and operators confirmed; vendor fix due in Q3"
	risk, err := db.SignOff(ctx, SignOff{ValidationID: v.ID, Name: "Ann Lee", Role: Approver, Decision: AcceptRisk, Rationale: why, Time: day(14)})
	if err != nil {
		t.Fatal(err)
	}
	// The computed verdict stays NO-GO; the accepted risk is in the sign-off.
	db = reopen(t, db, path)
	got, err := db.Validation(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Verdict != verdict.NoGo || got.Record.Verdict != verdict.NoGo || got.RecordSHA256 != v.RecordSHA256 {
		t.Errorf("after accept_risk the validation says %s (record %s, sha %s); want NO-GO unchanged", got.Verdict, got.Record.Verdict, got.RecordSHA256)
	}
	ss, err := db.SignOffs(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 3 || ss[0] != tester || ss[1].Role != OEMWitness || ss[2] != risk || ss[2].Rationale != why {
		t.Errorf("sign-offs %+v", ss)
	}
	// Accepting a risk on a GO is refused: approve it.
	goV, err := db.RecordValidation(ctx, newValidation("P-1", verdict.Go), "jd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SignOff(ctx, SignOff{ValidationID: goV.ID, Name: "Ann Lee", Role: Approver, Decision: AcceptRisk, Rationale: why}); !errors.Is(err, ErrInvalid) {
		t.Errorf("accept_risk on GO: %v, want ErrInvalid", err)
	}
	vs, err := db.Validations(ctx, "P-1")
	if err != nil || len(vs) != 2 || vs[0].ID != "V-2026-001" || vs[1].ID != "V-2026-002" {
		t.Errorf("Validations: %+v, %v", vs, err)
	}
	// Validations and sign-offs never change, even through raw SQL.
	for _, q := range []string{
		`UPDATE validations SET verdict = 'GO' WHERE id = 'V-2026-001'`,
		`DELETE FROM validations WHERE id = 'V-2026-001'`,
		`UPDATE signoffs SET decision = 'approve'`,
		`DELETE FROM signoffs`,
		`DELETE FROM patches`,
	} {
		if _, err := db.w.Exec(q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
	// Every write is in the audit trail, the patch's view included.
	rows, err := db.PatchAudit(ctx, "P-1")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range rows {
		actions = append(actions, r.Action+" "+r.Subject+" by "+r.Actor)
	}
	want := []string{
		"patch_added P-1 by jd", "validation_recorded V-2026-001 by jd", "signed_off V-2026-001 by Jane Doe",
		"signed_off V-2026-001 by Hans Vogt", "signed_off V-2026-001 by Ann Lee", "validation_recorded V-2026-002 by jd",
	}
	if !slices.Equal(actions, want) {
		t.Errorf("audit of P-1:\n got %q\nwant %q", actions, want)
	}
	var d register.SignedOff
	if err := json.Unmarshal(rows[4].Detail, &d); err != nil || d.Verdict != verdict.NoGo || d.Decision != AcceptRisk || d.Rationale != why {
		t.Errorf("accept_risk audit detail %s (%v)", rows[4].Detail, err)
	}
	verifyIntact(t, db, 6)
}

// TestRecordBundle: an exported bundle is an audit row of its validation, in the patch's
// view; bad input is refused without a row.
func TestRecordBundle(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	addPatch(t, db, "P-1")
	v, err := db.RecordValidation(ctx, newValidation("P-1", verdict.NoGo), "jd")
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("AB", 32)
	for name, c := range map[string]struct {
		id, file, sum, actor string
		want                 error
	}{
		"no validation": {"V-9", "b.zip", sum, "jd", ErrNotFound},
		"bad sum":       {v.ID, "b.zip", "xyz", "jd", ErrInvalid},
		"no sum":        {v.ID, "b.zip", "", "jd", ErrInvalid},
		"no file":       {v.ID, " ", sum, "jd", ErrInvalid},
		"no actor":      {v.ID, "b.zip", sum, "", ErrInvalid},
	} {
		if err := db.RecordBundle(ctx, c.id, c.file, c.sum, c.actor, day(15)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if err := db.RecordBundle(ctx, v.ID, "bundles/V-2026-001-tank.zip", sum, "Ann Lee", day(15)); err != nil {
		t.Fatal(err)
	}
	rows, err := db.PatchAudit(ctx, "P-1")
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	var d BundleExport
	if err := json.Unmarshal(last.Detail, &d); err != nil || last.Action != ActionBundleExported || last.Subject != v.ID ||
		last.Actor != "Ann Lee" || !last.Time.Equal(day(15)) || d.SHA256 != strings.ToLower(sum) || d.Patch != "P-1" || d.Verdict != verdict.NoGo {
		t.Errorf("bundle audit row %+v, detail %+v (%v)", last, d, err)
	}
	verifyIntact(t, db, 3)
}

func TestAssets(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	id := driver.Identity{Vendor: "Acme", Product: "T100", Firmware: "3.2.0", Serial: "B-7"}
	a, err := db.AddAsset(ctx, Asset{Name: "bench-1", Target: "modbus://10.0.0.5:502?unit=1", Role: Bench, Baseline: id, Created: day(2)}, "jd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddAsset(ctx, Asset{Name: "line-3", Target: "opc.tcp://10.1.0.9:4840", Role: Production, Created: day(2)}, "jd"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Asset{
		"duplicate":  {Name: "bench-1", Target: "sim://tank", Role: Bench},
		"bad role":   {Name: "x", Target: "sim://tank", Role: "spare"},
		"bad target": {Name: "x", Target: "http://10.0.0.5", Role: Bench},
		"no name":    {Target: "sim://tank", Role: Bench},
	} {
		if _, err := db.AddAsset(ctx, c, "jd"); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExists) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	as, err := db.Assets(ctx)
	if err != nil || len(as) != 2 || as[0].ID != a.ID || as[0].Name != "bench-1" || as[0].Baseline.Serial != "B-7" ||
		!as[0].Created.Equal(day(2)) || as[0].Target != a.Target || as[1].Role != Production {
		t.Errorf("Assets %+v, %v", as, err)
	}
	rows, err := db.Audit(ctx, 0)
	if err != nil || len(rows) != 2 || rows[0].Subject != "asset:bench-1" || rows[0].Action != ActionAssetAdded {
		t.Errorf("audit %+v, %v", rows, err)
	}
}

func TestAuditAppendOnly(t *testing.T) {
	ctx := t.Context()
	db, _ := openTemp(t)
	addPatch(t, db, "P-1")
	addPatch(t, db, "P-2")
	var before string
	if err := db.r.QueryRow(`SELECT detail FROM audit WHERE seq = 1`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE audit SET detail = '{}' WHERE seq = 1`,
		`UPDATE audit SET actor = 'mallory'`,
		`DELETE FROM audit WHERE seq = 2`,
		`DELETE FROM audit`,
	} {
		_, err := db.w.Exec(q)
		if err == nil || !strings.Contains(err.Error(), "the audit trail is append-only") {
			t.Errorf("%s: %v, want refused by the trigger", q, err)
		}
	}
	// An insert that does not continue the chain is refused too.
	for _, q := range []string{
		`INSERT INTO audit VALUES (3, 0, 'x', 'y', 'z', '{}', '` + strings.Repeat("0", 64) + `', '` + strings.Repeat("1", 64) + `')`,
		`INSERT INTO audit VALUES (9, 0, 'x', 'y', 'z', '{}', (SELECT hash FROM audit WHERE seq = 2), '` + strings.Repeat("1", 64) + `')`,
	} {
		if _, err := db.w.Exec(q); err == nil || !strings.Contains(err.Error(), "must continue the chain") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
	var after string
	if err := db.r.QueryRow(`SELECT detail FROM audit WHERE seq = 1`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before || auditCount(t, db) != 2 {
		t.Errorf("audit changed: row 1 %s, %d rows", after, auditCount(t, db))
	}
	verifyIntact(t, db, 2)
	seq, head, err := db.AuditHead(ctx)
	if rows, _ := db.Audit(ctx, 1); err != nil || seq != 2 || head != rows[0].Hash {
		t.Errorf("head %d %s, %v", seq, head, err)
	}
}

// TestAuditTamper goes around the triggers the way an attacker with the file would: a plain
// connection drops them and edits the table. VerifyAudit names the first row that fails.
func TestAuditTamper(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	for i := range 6 {
		addPatch(t, db, fmt.Sprintf("P-%d", i+1))
	}
	verifyIntact(t, db, 6)
	raw, err := sql.Open("sqlite3", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`DROP TRIGGER audit_no_update`)
	exec(`DROP TRIGGER audit_no_delete`)
	exec(`DROP TRIGGER audit_chain`)
	broken := func(wantN int, wantSeq int64, want string) {
		t.Helper()
		n, err := db.VerifyAudit(ctx)
		var ae *AuditError
		if !errors.Is(err, ErrAuditBroken) || !errors.As(err, &ae) || ae.Seq != wantSeq || err.Error() != want || n != wantN {
			t.Fatalf("VerifyAudit: %d, %v; want %d rows then %q", n, err, wantN, want)
		}
	}

	// 1. Row 4's content changes: its own hash no longer matches.
	var orig string
	if err := raw.QueryRow(`SELECT detail FROM audit WHERE seq = 4`).Scan(&orig); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE audit SET detail = json_set(detail, '$.supplier', 'Evil Corp') WHERE seq = 4`)
	broken(3, 4, "audit row 4: hash does not match its content")

	// 2. The attacker recomputes row 4's hash: now row 5 no longer links to it.
	rows, err := db.Audit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	r4 := rows[3]
	exec(`UPDATE audit SET hash = ? WHERE seq = 4`, r4.ComputeHash())
	broken(4, 5, "audit row 5: prev_hash does not match row 4")

	// 3. Put row 4 back: intact again. Then remove row 3.
	exec(`UPDATE audit SET detail = ?, hash = ? WHERE seq = 4`, orig, rows[3].Hash)
	verifyIntact(t, db, 6)
	exec(`DELETE FROM audit WHERE seq = 3`)
	broken(2, 4, "audit row 4: follows row 2: row 3 is missing")

	// 4. The time of the first row changes.
	exec(`INSERT INTO audit SELECT * FROM (SELECT ? , ?, ?, ?, ?, ?, ?, ?)`,
		rows[2].Seq, rows[2].Time.UnixNano(), rows[2].Actor, rows[2].Action, rows[2].Subject, string(rows[2].Detail), rows[2].PrevHash, rows[2].Hash)
	verifyIntact(t, db, 6)
	exec(`UPDATE audit SET time_ns = time_ns + 1 WHERE seq = 1`)
	broken(0, 1, "audit row 1: hash does not match its content")
}

// TestUpgradeToRegister opens a ledger written before the register existed (schema 1, with
// a run in it): the register's migration applies, the run stays, the audit trail starts.
func TestUpgradeToRegister(t *testing.T) {
	ctx := t.Context()
	all := migrations
	migrations = all[:1]
	db, path := openTemp(t)
	migrations = all
	id, err := db.CreateRun(ctx, newRun("level"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.Version(ctx); err != nil || v != 1 {
		t.Fatalf("old file at version %d, %v", v, err)
	}
	db = reopen(t, db, path)
	if v, err := db.Version(ctx); err != nil || v != SchemaVersion() {
		t.Fatalf("upgraded file at version %d, %v; want %d", v, err, SchemaVersion())
	}
	if _, err := db.Run(ctx, id); err != nil {
		t.Errorf("run %d after the upgrade: %v", id, err)
	}
	verifyIntact(t, db, 0)
	addPatch(t, db, "P-1")
	verifyIntact(t, db, 1)
}
