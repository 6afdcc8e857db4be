// Package registertest is the test suite every register store passes: the SQLite ledger
// and the PostgreSQL store run the same tests, each through its own constructor.
package registertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Open gives a new, empty register for one test; the store closes with the test.
type Open func(t *testing.T) register.Store

// T0 is the suite's clock: every write is dated from it.
var T0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Record is a verdict record of the given outcome, as a comparison makes one.
func Record(o verdict.Outcome) verdict.Record {
	return verdict.Record{Verdict: o, Reasons: []string{"suite"}, Scenario: "tank.yaml", BeforeRuns: []int64{1}, AfterRuns: []int64{2}}
}

// NewPatch is a security patch entered at T0.
func NewPatch(product string) register.Patch {
	return register.Patch{Supplier: "Acme", Product: product, FromVersion: "3.1", ToVersion: "3.2",
		Type: register.Security, CVEs: []string{"CVE-2026-1234"}, Created: T0}
}

// Run runs the suite against the stores open makes.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		test func(*testing.T, register.Store)
	}{
		{"Patches", testPatches},
		{"States", testStates},
		{"Assets", testAssets},
		{"Validations", testValidations},
		{"SignOffs", testSignOffs},
		{"Audit", testAudit},
		{"ConcurrentWriters", testConcurrent},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, open(t)) })
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func testPatches(t *testing.T, s register.Store) {
	ctx := context.Background()
	p1 := must[register.Patch](t)(s.AddPatch(ctx, NewPatch("PLC"), "jd"))
	p2 := must[register.Patch](t)(s.AddPatch(ctx, NewPatch("HMI"), "jd"))
	if p1.ID != "P-2026-001" || p2.ID != "P-2026-002" {
		t.Errorf("ids %s %s, want P-2026-001 and P-2026-002", p1.ID, p2.ID)
	}
	if p1.State != register.StateIdentified || !p1.Created.Equal(T0) || !slices.Equal(p1.CVEs, []string{"CVE-2026-1234"}) {
		t.Errorf("stored %+v", p1)
	}
	got := must[register.Patch](t)(s.Patch(ctx, p1.ID))
	if got.Product != "PLC" || got.Created.Location() != time.UTC {
		t.Errorf("read back %+v", got)
	}
	dup := NewPatch("PLC")
	dup.ID = p1.ID
	if _, err := s.AddPatch(ctx, dup, "jd"); !errors.Is(err, register.ErrExists) {
		t.Errorf("same id again: %v, want ErrExists", err)
	}
	if _, err := s.AddPatch(ctx, register.Patch{Product: "x", Type: register.Security}, "jd"); !errors.Is(err, register.ErrInvalid) {
		t.Errorf("no supplier: %v, want ErrInvalid", err)
	}
	if _, err := s.AddPatch(ctx, NewPatch("x"), " "); !errors.Is(err, register.ErrInvalid) {
		t.Errorf("no actor: %v, want ErrInvalid", err)
	}
	if _, err := s.Patch(ctx, "P-1999-001"); !errors.Is(err, register.ErrNotFound) {
		t.Errorf("unknown patch: %v, want ErrNotFound", err)
	}
	all := must[[]register.Patch](t)(s.Patches(ctx))
	if len(all) != 2 || all[0].ID != p1.ID {
		t.Errorf("Patches() = %d patches", len(all))
	}
	if none := must[[]register.Patch](t)(s.Patches(ctx, register.StateGo)); len(none) != 0 {
		t.Errorf("Patches(go) = %v", none)
	}
}

func testStates(t *testing.T, s register.Store) {
	ctx := context.Background()
	p := must[register.Patch](t)(s.AddPatch(ctx, NewPatch("PLC"), "jd"))
	at := T0.Add(24 * time.Hour)
	p = must[register.Patch](t)(s.SetState(ctx, p.ID, register.StateApplicable, "jd", register.StateDetail{At: at}))
	if !p.Evaluated.Equal(at) || p.State != register.StateApplicable {
		t.Errorf("after applicable: %+v", p)
	}
	_, err := s.SetState(ctx, p.ID, register.StateGo, "jd", register.StateDetail{At: at})
	var te *register.TransitionError
	if !errors.As(err, &te) || te.From != register.StateApplicable {
		t.Errorf("applicable → go: %v, want a *TransitionError", err)
	}
	review := at.AddDate(0, 1, 0)
	p = must[register.Patch](t)(s.SetState(ctx, p.ID, register.StateDeferred, "jd",
		register.StateDetail{MitigationPlan: "block port 502", ReviewDate: review, At: at.Add(time.Hour)}))
	if p.MitigationPlan != "block port 502" || !p.ReviewDate.Equal(review) || !p.Evaluated.Equal(at) {
		t.Errorf("deferred: %+v", p)
	}
	if _, err := s.SetState(ctx, p.ID, register.StateSuperseded, "jd", register.StateDetail{SupersededBy: "P-2026-099"}); !errors.Is(err, register.ErrInvalid) {
		t.Errorf("superseded by an unknown patch: %v, want ErrInvalid", err)
	}
	q := must[register.Patch](t)(s.AddPatch(ctx, NewPatch("PLC 2"), "jd"))
	p = must[register.Patch](t)(s.SetState(ctx, p.ID, register.StateSuperseded, "jd", register.StateDetail{SupersededBy: q.ID, At: at.Add(2 * time.Hour)}))
	if p.SupersededBy != q.ID || p.MitigationPlan != "block port 502" {
		t.Errorf("superseded: %+v", p)
	}
	if got := must[[]register.Patch](t)(s.Patches(ctx, register.StateSuperseded)); len(got) != 1 || got[0].ID != p.ID {
		t.Errorf("Patches(superseded) = %v", got)
	}
}

func testAssets(t *testing.T, s register.Store) {
	ctx := context.Background()
	a := must[register.Asset](t)(s.AddAsset(ctx, register.Asset{Name: "bench PLC", Target: "sim://tank", Role: register.Bench, Created: T0}, "jd"))
	if a.ID == 0 {
		t.Error("no asset id")
	}
	if _, err := s.AddAsset(ctx, register.Asset{Name: "bench PLC", Target: "sim://tank", Role: register.Bench}, "jd"); !errors.Is(err, register.ErrExists) {
		t.Errorf("same name: %v, want ErrExists", err)
	}
	if _, err := s.AddAsset(ctx, register.Asset{Name: "x", Target: "sim://tank", Role: "spare"}, "jd"); !errors.Is(err, register.ErrInvalid) {
		t.Errorf("bad role: %v, want ErrInvalid", err)
	}
	must[register.Asset](t)(s.AddAsset(ctx, register.Asset{Name: "a line 1", Target: "modbus://127.0.0.1:502", Role: register.Production}, "jd"))
	as := must[[]register.Asset](t)(s.Assets(ctx))
	if len(as) != 2 || as[0].Name != "a line 1" || as[1].Target != "sim://tank" {
		t.Errorf("Assets() = %+v", as)
	}
}

func testValidations(t *testing.T, s register.Store) {
	ctx := context.Background()
	p := must[register.Patch](t)(s.AddPatch(ctx, NewPatch("PLC"), "jd"))
	scen := []byte("name: tank\n")
	rec := Record(verdict.NoGo)
	rec.ScenarioSHA256 = register.SHA256Hex(scen)
	rec.ChangeRequest = &verdict.ChangeRequest{}
	v := register.Validation{PatchID: p.ID, Record: rec, Differences: []string{" I/O simulated ", ""}, Created: T0.Add(time.Hour),
		ScenarioFile: register.File{Name: "tank.yaml", Data: scen}, PointMapFile: register.File{Name: "map.csv", Data: []byte("tag,addr\n")}}
	var named string
	v.WriteBundle = func(r verdict.Record) (verdict.Record, error) {
		named = r.ChangeRequest.Validation
		r.Bundle, r.BundleSHA256 = "V.zip", strings.Repeat("c", 64)
		return r, nil
	}
	got := must[register.Validation](t)(s.RecordValidation(ctx, v, "jd"))
	if got.ID != "V-2026-001" || named != got.ID || got.Bundle != "V.zip" || got.Verdict != verdict.NoGo {
		t.Errorf("recorded %s (bundle written for %q) bundle %s verdict %s", got.ID, named, got.Bundle, got.Verdict)
	}
	back := must[register.Validation](t)(s.Validation(ctx, got.ID))
	if back.RecordSHA256 != got.RecordSHA256 || string(back.ScenarioFile.Data) != string(scen) || back.PointMapFile.Name != "map.csv" ||
		!slices.Equal(back.Differences, []string{"I/O simulated"}) || back.Record.ChangeRequest.Validation != got.ID || back.BundleSHA256 != strings.Repeat("c", 64) {
		t.Errorf("read back %+v", back)
	}
	// the same text twice is stored once; a validation without texts has none
	v2 := must[register.Validation](t)(s.RecordValidation(ctx, register.Validation{PatchID: p.ID, Record: Record(verdict.Go), Created: T0.Add(2 * time.Hour)}, "jd"))
	if v2.ID != "V-2026-002" {
		t.Errorf("second id %s", v2.ID)
	}
	list := must[[]register.Validation](t)(s.Validations(ctx, p.ID))
	if len(list) != 2 || list[0].ID != got.ID || list[1].ScenarioFile.Data != nil {
		t.Errorf("Validations() = %d", len(list))
	}
	if _, err := s.RecordValidation(ctx, register.Validation{ID: got.ID, PatchID: p.ID, Record: Record(verdict.Go)}, "jd"); !errors.Is(err, register.ErrExists) {
		t.Errorf("same id: %v, want ErrExists", err)
	}
	if _, err := s.RecordValidation(ctx, register.Validation{PatchID: "P-1999-001", Record: Record(verdict.Go)}, "jd"); !errors.Is(err, register.ErrNotFound) {
		t.Errorf("unknown patch: %v, want ErrNotFound", err)
	}
	failing := register.Validation{PatchID: p.ID, Record: Record(verdict.Go),
		WriteBundle: func(verdict.Record) (verdict.Record, error) { return verdict.Record{}, errors.New("disk full") }}
	if _, err := s.RecordValidation(ctx, failing, "jd"); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("bundle not written: %v", err)
	}
	if n := len(must[[]register.Validation](t)(s.Validations(ctx, p.ID))); n != 2 {
		t.Errorf("a validation whose bundle failed was recorded: %d validations", n)
	}
	if _, err := s.Validation(ctx, "V-1999-001"); !errors.Is(err, register.ErrNotFound) {
		t.Errorf("unknown validation: %v, want ErrNotFound", err)
	}
}

func testSignOffs(t *testing.T, s register.Store) {
	ctx := context.Background()
	p := must[register.Patch](t)(s.AddPatch(ctx, NewPatch("PLC"), "jd"))
	nogo := must[register.Validation](t)(s.RecordValidation(ctx, register.Validation{PatchID: p.ID, Record: Record(verdict.NoGo)}, "jd"))
	gov := must[register.Validation](t)(s.RecordValidation(ctx, register.Validation{PatchID: p.ID, Record: Record(verdict.Go)}, "jd"))
	sign := func(v, name string, r register.Role, d register.Decision, why string) error {
		_, err := s.SignOff(ctx, register.SignOff{ValidationID: v, Name: name, Role: r, Decision: d, Rationale: why, Time: T0})
		return err
	}
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"tester approves", sign(nogo.ID, "jd", register.Tester, register.Approve, ""), nil},
		{"tester again", sign(nogo.ID, "jd", register.Tester, register.Approve, ""), register.ErrExists},
		{"witness", sign(nogo.ID, "jd", register.OEMWitness, register.Approve, ""), nil},
		{"risk without why", sign(nogo.ID, "ann", register.Approver, register.AcceptRisk, ""), register.ErrInvalid},
		{"risk", sign(nogo.ID, "ann", register.Approver, register.AcceptRisk, "compensating control"), nil},
		{"risk on GO", sign(gov.ID, "ann", register.Approver, register.AcceptRisk, "x"), register.ErrInvalid},
		{"unknown validation", sign("V-1999-001", "ann", register.Approver, register.Approve, ""), register.ErrNotFound},
	} {
		if (c.want == nil && c.err != nil) || (c.want != nil && !errors.Is(c.err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	got := must[[]register.SignOff](t)(s.SignOffs(ctx, nogo.ID))
	if len(got) != 3 || got[2].Decision != register.AcceptRisk || got[2].ID == 0 || got[0].ID == got[1].ID {
		t.Errorf("SignOffs() = %+v", got)
	}
	if v := must[register.Validation](t)(s.Validation(ctx, nogo.ID)); v.Verdict != verdict.NoGo {
		t.Errorf("an accepted risk changed the computed verdict to %s", v.Verdict)
	}
}

func testAudit(t *testing.T, s register.Store) {
	ctx := context.Background()
	if seq, head, err := s.AuditHead(ctx); err != nil || seq != 0 || head != register.Genesis {
		t.Errorf("empty head %d %s %v", seq, head, err)
	}
	p := must[register.Patch](t)(s.AddPatch(ctx, NewPatch("PLC"), "jd"))
	must[register.Patch](t)(s.AddPatch(ctx, NewPatch("other"), "jd"))
	v := must[register.Validation](t)(s.RecordValidation(ctx, register.Validation{PatchID: p.ID, Record: Record(verdict.Go)}, "jd"))
	must[register.SignOff](t)(s.SignOff(ctx, register.SignOff{ValidationID: v.ID, Name: "ann", Role: register.Approver, Decision: register.Approve}))
	if err := s.RecordBundle(ctx, v.ID, "/tmp/V.zip", strings.Repeat("d", 64), "jd", T0); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordBundle(ctx, "V-1999-001", "x.zip", strings.Repeat("d", 64), "jd", T0); !errors.Is(err, register.ErrNotFound) {
		t.Errorf("bundle of an unknown validation: %v", err)
	}
	n, err := s.VerifyAudit(ctx)
	if err != nil || n != 5 {
		t.Errorf("VerifyAudit = %d, %v; want 5 rows", n, err)
	}
	rows := must[[]register.AuditRow](t)(s.Audit(ctx, 0))
	seq, head := must2(t)(s.AuditHead(ctx))
	if len(rows) != 5 || rows[4].Seq != seq || rows[4].Hash != head || rows[0].PrevHash != register.Genesis {
		t.Errorf("audit %d rows, head %d", len(rows), seq)
	}
	last := must[[]register.AuditRow](t)(s.Audit(ctx, 2))
	if len(last) != 2 || last[0].Seq != 4 || last[1].Action != register.ActionBundleExported {
		t.Errorf("Audit(2) = %+v", last)
	}
	var actions []string
	for _, r := range must[[]register.AuditRow](t)(s.PatchAudit(ctx, p.ID)) {
		actions = append(actions, r.Action)
	}
	if want := []string{register.ActionPatchAdded, register.ActionValidationRecorded, register.ActionSignedOff, register.ActionBundleExported}; !slices.Equal(actions, want) {
		t.Errorf("PatchAudit = %v, want %v", actions, want)
	}
}

func must2(t *testing.T) func(int64, string, error) (int64, string) {
	return func(a int64, b string, err error) (int64, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// testConcurrent: writers in goroutines of one process add validations and sign-offs;
// every id is made once and the chain verifies. (The PostgreSQL store's tests also run
// writers in separate processes.)
func testConcurrent(t *testing.T, s register.Store) {
	ctx := context.Background()
	p := must[register.Patch](t)(s.AddPatch(ctx, NewPatch("PLC"), "jd"))
	const writers, each = 4, 5
	var wg sync.WaitGroup
	ids := make(chan string, writers*each)
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				v, err := s.RecordValidation(ctx, register.Validation{PatchID: p.ID, Record: Record(verdict.NoGo)}, fmt.Sprintf("w%d", w))
				if err != nil {
					errs <- err
					return
				}
				ids <- v.ID
				if _, err := s.SignOff(ctx, register.SignOff{ValidationID: v.ID, Name: fmt.Sprintf("w%d", w), Role: register.Tester, Decision: register.Approve}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("id %s made twice", id)
		}
		seen[id] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d validations, want %d", len(seen), writers*each)
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n != 1+2*writers*each {
		t.Errorf("VerifyAudit = %d, %v; want %d rows", n, err, 1+2*writers*each)
	}
}
