package register

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/verdict"
)

func TestTransitions(t *testing.T) {
	for _, c := range []struct {
		from, to State
		ok       bool
	}{
		{StateIdentified, StateApplicable, true},
		{StateIdentified, StateNotApplicable, true},
		{StateIdentified, StateGo, false},
		{StateApplicable, StateInTest, true},
		{StateInTest, StateGo, true},
		{StateInTest, StateNoGo, true},
		{StateNoGo, StateInTest, true},
		{StateGo, StateScheduled, true},
		{StateDeferred, StateDeferred, true},
		{StateScheduled, StateScheduled, true},
		{StateScheduled, StateGo, false},
		{StateDeployed, StateRolledBack, true},
		{StateVerified, StateClosed, true},
		{StateClosed, StateSuperseded, false},
		{StateSuperseded, StateIdentified, false},
		{StateInTest, StateSuperseded, true},
		{StateRolledBack, StateClosed, true},
	} {
		err := CheckTransition("P-1", c.from, c.to)
		if (err == nil) != c.ok {
			t.Errorf("%s → %s: err %v, want ok %v", c.from, c.to, err, c.ok)
			continue
		}
		var te *TransitionError
		if !c.ok && (!errors.Is(err, ErrIllegalTransition) || !errors.As(err, &te) || te.From != c.from || te.To != c.to) {
			t.Errorf("%s → %s: %v is not a *TransitionError from %s to %s", c.from, c.to, err, c.from, c.to)
		}
		if !c.ok && slices.Contains(te.Allowed, c.to) {
			t.Errorf("%s → %s: refused but listed as allowed: %v", c.from, c.to, te.Allowed)
		}
	}
	if err := CheckTransition("P-1", StateClosed, StateGo); !strings.Contains(err.Error(), "final state") {
		t.Errorf("closed: %v, want it called a final state", err)
	}
	for _, s := range States() {
		if _, err := ParseState(string(s)); err != nil {
			t.Errorf("ParseState(%s): %v", s, err)
		}
	}
	if _, err := ParseState("approved"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseState(approved): %v, want ErrInvalid", err)
	}
}

func TestClock(t *testing.T) {
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		name      string
		typ       PatchType
		evaluated time.Time
		now       time.Time
		want      string
		overdue   bool
	}{
		{"first day", Security, time.Time{}, day(3, 1), "35 d left", false},
		{"due day", Security, time.Time{}, day(4, 5), "0 d left", false},
		{"day after", Security, time.Time{}, day(4, 6), "OVERDUE 1 d", true},
		{"evaluated in time", Security, day(3, 21), day(6, 1), "evaluated d 20", false},
		{"evaluated late", Security, day(4, 10), day(6, 1), "evaluated LATE d 40", false},
		{"not security", Bugfix, time.Time{}, day(9, 1), "-", false},
	} {
		p := Patch{Type: c.typ, Identified: day(3, 1), Evaluated: c.evaluated}
		got := p.Clock(c.now)
		if got.String() != c.want || got.Overdue != c.overdue {
			t.Errorf("%s: %s overdue %v, want %s overdue %v", c.name, got, got.Overdue, c.want, c.overdue)
		}
	}
}

func TestPatchNormalize(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ok := func() Patch {
		return Patch{Supplier: " Acme ", Product: "PLC", Type: Security, CVEs: []string{"cve-2026-1234", "CVE-2026-1234"}, Created: t0}
	}
	for _, c := range []struct {
		name string
		edit func(*Patch)
		bad  string // "" when valid
	}{
		{"valid", func(*Patch) {}, ""},
		{"no supplier", func(p *Patch) { p.Supplier = " " }, "supplier and product"},
		{"bad type", func(p *Patch) { p.Type = "urgent" }, `type "urgent"`},
		{"bad qualification", func(p *Patch) { p.Qualification = "maybe" }, "qualification"},
		{"bad cve", func(p *Patch) { p.CVEs = []string{"CVE-26-1"} }, "CVE-YYYY-NNNN"},
		{"bad sha", func(p *Patch) { p.FileSHA256 = "abc" }, "64 hexadecimal"},
		{"signature without note", func(p *Patch) { p.SignatureChecked = true }, "by whom"},
		{"starts elsewhere", func(p *Patch) { p.State = StateGo }, "starts identified"},
		{"identified later", func(p *Patch) { p.Identified = t0.AddDate(0, 0, 1) }, "after the patch was entered"},
		{"bad id", func(p *Patch) { p.ID = "-x" }, "patch id"},
	} {
		p := ok()
		c.edit(&p)
		err := p.Normalize()
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.bad != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.bad)
		}
	}
	p := ok()
	if err := p.Normalize(); err != nil {
		t.Fatal(err)
	}
	if p.Supplier != "Acme" || !slices.Equal(p.CVEs, []string{"CVE-2026-1234"}) || p.Qualification != QualificationUnknown ||
		p.State != StateIdentified || !p.Identified.Equal(t0) {
		t.Errorf("normalized %+v", p)
	}
}

func TestStateDetailCheck(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		to   State
		d    StateDetail
		bad  string
	}{
		{"plain", StateApplicable, StateDetail{}, ""},
		{"deferred", StateDeferred, StateDetail{MitigationPlan: "firewall", ReviewDate: at.AddDate(0, 1, 0)}, ""},
		{"deferred without plan", StateDeferred, StateDetail{}, "dated mitigation plan"},
		{"deferred review in the past", StateDeferred, StateDetail{MitigationPlan: "x", ReviewDate: at}, "not after"},
		{"plan elsewhere", StateGo, StateDetail{MitigationPlan: "x"}, "belong to deferred"},
		{"scheduled", StateScheduled, StateDetail{WindowStart: at, WindowEnd: at.Add(time.Hour)}, ""},
		{"window backwards", StateScheduled, StateDetail{WindowStart: at, WindowEnd: at}, "ends"},
		{"window elsewhere", StateGo, StateDetail{WindowStart: at}, "belongs to scheduled"},
		{"superseded self", StateSuperseded, StateDetail{SupersededBy: "P-1"}, "itself"},
		{"superseded none", StateSuperseded, StateDetail{}, "needs the id"},
		{"by elsewhere", StateGo, StateDetail{SupersededBy: "P-2"}, "belongs to superseded"},
		{"unknown state", "approved", StateDetail{}, "unknown state"},
	} {
		c.d.At = at
		err := c.d.Check("P-1", c.to)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.bad != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.bad)
		}
	}
	p := Patch{ID: "P-1", State: StateInTest}
	n, change := p.Apply(StateDeferred, StateDetail{MitigationPlan: "fw", ReviewDate: at.AddDate(0, 1, 0), At: at})
	if n.State != StateDeferred || !n.Evaluated.Equal(at) || n.MitigationPlan != "fw" || change.From != StateInTest || change.To != StateDeferred {
		t.Errorf("Apply: %+v, %+v", n, change)
	}
	n2, _ := n.Apply(StateInTest, StateDetail{At: at.Add(time.Hour)})
	if !n2.Evaluated.Equal(at) {
		t.Errorf("the evaluation clock moved: evaluated %s, want %s", n2.Evaluated, at)
	}
}

func TestSignOffRules(t *testing.T) {
	prior := []SignOff{{Name: "jd", Role: Tester, Decision: Approve}}
	for _, c := range []struct {
		name    string
		s       SignOff
		verdict verdict.Outcome
		want    error
		says    string
	}{
		{"approve", SignOff{Name: "ann", Role: Approver, Decision: Approve}, verdict.Go, nil, ""},
		{"no name", SignOff{Role: Approver, Decision: Approve}, verdict.Go, ErrInvalid, "who signs"},
		{"bad role", SignOff{Name: "a", Role: "boss", Decision: Approve}, verdict.Go, ErrInvalid, "role"},
		{"bad decision", SignOff{Name: "a", Role: Tester, Decision: "maybe"}, verdict.Go, ErrInvalid, "decision"},
		{"reject without why", SignOff{Name: "a", Role: Tester, Decision: Reject}, verdict.NoGo, ErrInvalid, "rationale"},
		{"accept risk without why", SignOff{Name: "a", Role: Approver, Decision: AcceptRisk}, verdict.NoGo, ErrInvalid, "rationale"},
		{"accept risk on NO-GO", SignOff{Name: "a", Role: Approver, Decision: AcceptRisk, Rationale: "mitigated"}, verdict.NoGo, nil, ""},
		{"accept risk on GO", SignOff{Name: "a", Role: Approver, Decision: AcceptRisk, Rationale: "x"}, verdict.Go, ErrInvalid, "approve instead"},
		{"second signature same role", SignOff{Name: "jd", Role: Tester, Decision: Approve}, verdict.Go, ErrExists, "jd already signed"},
		{"same person other role", SignOff{Name: "jd", Role: OEMWitness, Decision: Approve}, verdict.Go, nil, ""},
	} {
		err := c.s.Normalize()
		if err == nil {
			var d SignedOff
			d, err = CheckSignOff(c.s, "P-1", c.verdict, prior)
			if err == nil && (d.Verdict != c.verdict || d.Decision != c.s.Decision) {
				t.Errorf("%s: detail %+v", c.name, d)
			}
		}
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != nil && (!errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says)):
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.want, c.says)
		}
	}
}

func TestValidationNormalize(t *testing.T) {
	rec := verdict.Record{Verdict: verdict.NoGo, Scenario: "s.yaml", BeforeRuns: []int64{1}, AfterRuns: []int64{2}}
	for _, c := range []struct {
		name string
		v    Validation
		bad  string
	}{
		{"from the record", Validation{PatchID: "P-1", Record: rec}, ""},
		{"typed verdict", Validation{PatchID: "P-1", Record: rec, Verdict: verdict.Go}, "never typed in"},
		{"other patch", Validation{PatchID: "P-1", Record: verdict.Record{Verdict: verdict.Go, Scenario: "s", Patch: "P-2"}}, "for patch P-2"},
		{"other runs", Validation{PatchID: "P-1", Record: rec, BeforeRuns: []int64{9}}, "before runs"},
		{"no verdict", Validation{PatchID: "P-1", Record: verdict.Record{Scenario: "s"}}, "verdict"},
		{"no scenario", Validation{PatchID: "P-1", Record: verdict.Record{Verdict: verdict.Go}}, "no scenario"},
		{"text without name", Validation{PatchID: "P-1", Record: rec, ScenarioFile: File{Data: []byte("x")}}, "without a folder"},
		{"name without text", Validation{PatchID: "P-1", Record: rec, PointMapFile: File{Name: "m.csv"}}, "without its text"},
		{"text of another scenario", Validation{PatchID: "P-1", Record: verdict.Record{Verdict: verdict.Go, Scenario: "s", ScenarioSHA256: SHA256Hex([]byte("a"))},
			ScenarioFile: File{Name: "s.yaml", Data: []byte("b")}}, "SHA-256"},
	} {
		err := c.v.Normalize()
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.bad != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.bad)
		}
	}
	v := Validation{ID: "V-2026-007", PatchID: "P-1", Record: rec}
	v.Record.ChangeRequest = &verdict.ChangeRequest{}
	v.WriteBundle = func(r verdict.Record) (verdict.Record, error) {
		if r.ChangeRequest.Validation != v.ID {
			t.Errorf("the bundle is written for %q, want %s", r.ChangeRequest.Validation, v.ID)
		}
		r.Bundle, r.BundleSHA256 = "b.zip", strings.Repeat("AB", 32)
		return r, nil
	}
	if err := v.Normalize(); err != nil {
		t.Fatal(err)
	}
	record, err := v.Seal()
	if err != nil {
		t.Fatal(err)
	}
	if v.RecordSHA256 != SHA256Hex(record) || v.BundleSHA256 != strings.Repeat("ab", 32) || v.Bundle != "b.zip" {
		t.Errorf("sealed: sha %s bundle %s %s", v.RecordSHA256, v.Bundle, v.BundleSHA256)
	}
}

// chain makes n audit rows.
func chain(t *testing.T, n int) []AuditRow {
	var rows []AuditRow
	seq, head := int64(0), Genesis
	for i := range n {
		r, err := NextAuditRow(seq, head, time.Unix(int64(i), 0), "jd", ActionPatchAdded, "P-1", map[string]int{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
		seq, head = r.Seq, r.Hash
	}
	return rows
}

func TestVerifier(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func([]AuditRow) []AuditRow
		seq    int64  // of the row named; 0: verifies
		reason string // in the reason
	}{
		{"intact", func(r []AuditRow) []AuditRow { return r }, 0, ""},
		{"changed detail", func(r []AuditRow) []AuditRow { r[2].Detail = json.RawMessage(`{"i":9}`); return r }, 3, "does not match its content"},
		{"changed actor, rehashed", func(r []AuditRow) []AuditRow { r[2].Actor = "eve"; r[2].Hash = r[2].ComputeHash(); return r }, 4, "prev_hash does not match row 3"},
		{"row removed", func(r []AuditRow) []AuditRow { return slices.Delete(r, 1, 2) }, 3, "row 2 is missing"},
		{"rows removed", func(r []AuditRow) []AuditRow { return slices.Delete(r, 1, 3) }, 4, "rows 2 to 3 are missing"},
		{"first removed", func(r []AuditRow) []AuditRow { return r[1:] }, 2, "starts at row 2"},
		{"bad genesis", func(r []AuditRow) []AuditRow { r[0].PrevHash = strings.Repeat("1", 64); return r }, 1, "genesis"},
	} {
		rows := c.tamper(chain(t, 5))
		var v Verifier
		var err error
		for _, r := range rows {
			if err = v.Next(r); err != nil {
				break
			}
		}
		var ae *AuditError
		switch {
		case c.seq == 0 && (err != nil || v.N != 5):
			t.Errorf("%s: %v after %d rows", c.name, err, v.N)
		case c.seq != 0 && (!errors.Is(err, ErrAuditBroken) || !errors.As(err, &ae) || ae.Seq != c.seq || !strings.Contains(ae.Reason, c.reason)):
			t.Errorf("%s: %v, want row %d: …%s", c.name, err, c.seq, c.reason)
		}
	}
}

func TestIDs(t *testing.T) {
	pre := IDPrefix(ValidationPrefix, 2026)
	for _, c := range []struct {
		id string
		n  int
		ok bool
	}{{"V-2026-001", 1, true}, {"V-2026-1234", 1234, true}, {"V-2025-001", 0, false}, {"V-2026-x", 0, false}, {"V-2026-000", 0, false}} {
		if n, ok := IDNumber(pre, c.id); n != c.n || ok != c.ok {
			t.Errorf("IDNumber(%s) = %d %v, want %d %v", c.id, n, ok, c.n, c.ok)
		}
	}
	if got := MakeID(PatchPrefix, 2026, 41); got != "P-2026-042" {
		t.Errorf("MakeID = %s", got)
	}
}

func TestBundleCheck(t *testing.T) {
	sum := strings.Repeat("a", 64)
	for _, c := range []struct {
		file, sum, actor, bad string
	}{{"b.zip", sum, "jd", ""}, {"b.zip", "", "jd", "no bundle SHA-256"}, {"", sum, "jd", "no bundle file"}, {"b.zip", sum, " ", "no actor"}, {"b.zip", "xyz", "jd", "64 hexadecimal"}} {
		_, at, err := CheckBundle(c.file, c.sum, c.actor, time.Time{})
		switch {
		case c.bad == "" && (err != nil || at.IsZero()):
			t.Errorf("%+v: %v", c, err)
		case c.bad != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%+v: %v, want %q", c, err, c.bad)
		}
	}
}
