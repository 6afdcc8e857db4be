package pgstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/pgstore"
	"github.com/patchgate/patchgate/harness/register/registertest"
	"github.com/patchgate/patchgate/harness/verdict"
)

func TestPush(t *testing.T) {
	ctx := context.Background()
	shared := open(t).(*pgstore.Store)
	local, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	t0 := registertest.T0
	p, err := local.AddPatch(ctx, registertest.NewPatch("PLC"), "jd")
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range []register.State{register.StateApplicable, register.StateInTest} {
		if _, err := local.SetState(ctx, p.ID, st, "jd", register.StateDetail{At: t0.Add(time.Duration(i+1) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := local.RecordValidation(ctx, register.Validation{PatchID: p.ID, Record: registertest.Record(verdict.NoGo), Created: t0.Add(3 * time.Hour),
		ScenarioFile: register.File{Name: "tank.yaml", Data: []byte("name: tank\n")}}, "jd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.SignOff(ctx, register.SignOff{ValidationID: v.ID, Name: "ann", Role: register.Approver, Decision: register.AcceptRisk, Rationale: "fenced", Time: t0.Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := local.AddAsset(ctx, register.Asset{Name: "bench", Target: "sim://tank", Role: register.Bench}, "jd"); err != nil {
		t.Fatal(err)
	}
	push := func() register.RegisterPushed {
		t.Helper()
		snap, err := register.ReadSnapshot(ctx, local)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := shared.Push(ctx, snap, "lead")
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := push()
	if rep.Patches != 1 || rep.States != 1 || rep.Validation != 1 || rep.SignOffs != 1 || rep.Assets != 1 || rep.Rows != 6 {
		t.Errorf("first push: %+v", rep)
	}
	n1, err := shared.VerifyAudit(ctx)
	if err != nil || n1 != 7 {
		t.Errorf("after the push the chain: %d rows, %v; want 7", n1, err)
	}
	got, err := shared.Patch(ctx, p.ID)
	if err != nil || got.State != register.StateInTest || !got.Evaluated.Equal(t0.Add(time.Hour)) {
		t.Errorf("pushed patch %+v %v", got, err)
	}
	gv, err := shared.Validation(ctx, v.ID)
	if err != nil || gv.RecordSHA256 != v.RecordSHA256 || string(gv.ScenarioFile.Data) != "name: tank\n" {
		t.Errorf("pushed validation %+v %v", gv, err)
	}
	if rows, _ := shared.PatchAudit(ctx, p.ID); len(rows) != 5 {
		t.Errorf("the shared register's audit of %s has %d rows, want 5", p.ID, len(rows))
	}

	// twice: nothing changes
	if rep := push(); rep.Rows != 0 || rep.Patches+rep.States+rep.Validation+rep.SignOffs+rep.Assets != 0 {
		t.Errorf("second push: %+v", rep)
	}
	if n, _ := shared.VerifyAudit(ctx); n != n1 {
		t.Errorf("second push: %d audit rows, was %d", n, n1)
	}

	// both sides change the state: the later change stays
	if _, err := shared.SetState(ctx, p.ID, register.StateNoGo, "lead", register.StateDetail{At: t0.Add(6 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := local.SetState(ctx, p.ID, register.StateDeferred, "jd", register.StateDetail{MitigationPlan: "fence", ReviewDate: t0.AddDate(0, 1, 0), At: t0.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rep = push()
	if rep.Rows != 1 || rep.States != 0 || len(rep.Kept) != 1 || !strings.Contains(rep.Kept[0], "kept no_go") {
		t.Errorf("push after both changed: %+v", rep)
	}
	if got, _ := shared.Patch(ctx, p.ID); got.State != register.StateNoGo {
		t.Errorf("state %s, want the later no_go", got.State)
	}
	if _, err := local.SetState(ctx, p.ID, register.StateInTest, "jd", register.StateDetail{At: t0.Add(7 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if rep := push(); rep.States != 1 {
		t.Errorf("a later local change: %+v", rep)
	} else if got, _ := shared.Patch(ctx, p.ID); got.State != register.StateInTest {
		t.Errorf("state %s, want the later in_test", got.State)
	}
	if _, err := shared.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}

	// another register with its own P-2026-001 and V-2026-001 (two benches each made their
	// own): the pushed ones take the next free ids there, and pushing again finds them
	other := open(t).(*pgstore.Store)
	hmi, err := other.AddPatch(ctx, registertest.NewPatch("HMI"), "kim")
	if err != nil {
		t.Fatal(err)
	}
	ov, err := other.RecordValidation(ctx, register.Validation{PatchID: hmi.ID, Record: registertest.Record(verdict.Go), Created: t0}, "kim")
	if err != nil {
		t.Fatal(err)
	}
	if hmi.ID != p.ID || ov.ID != v.ID {
		t.Fatalf("the other register's ids %s %s; want the bench's %s %s to clash", hmi.ID, ov.ID, p.ID, v.ID)
	}
	snap, err := register.ReadSnapshot(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = other.Push(ctx, snap, "lead")
	if err != nil {
		t.Fatal(err)
	}
	newP, newV := register.MakeID("P", t0.Year(), 1), register.MakeID("V", t0.Year(), 1) // the other register has number 1 of each
	if want := []string{p.ID + " → " + newP, v.ID + " → " + newV}; strings.Join(rep.Renumbered, "; ") != strings.Join(want, "; ") ||
		rep.Patches != 1 || rep.Validation != 1 || rep.SignOffs != 1 {
		t.Errorf("push with clashing ids: %+v; want renumbered %v", rep, want)
	}
	if got, err := other.Patch(ctx, hmi.ID); err != nil || got.Product != hmi.Product {
		t.Errorf("the other register's own %s: %+v %v", hmi.ID, got, err)
	}
	gp, err := other.Patch(ctx, newP)
	if err != nil || gp.Product != p.Product || gp.State != register.StateInTest {
		t.Errorf("the bench's patch as %s: %+v %v", newP, gp, err)
	}
	gv, err = other.Validation(ctx, newV)
	if err != nil || gv.PatchID != newP || gv.RecordSHA256 != v.RecordSHA256 {
		t.Errorf("the bench's validation as %s: %+v %v", newV, gv, err)
	}
	if so, err := other.SignOffs(ctx, newV); err != nil || len(so) != 1 || so[0].Name != "ann" {
		t.Errorf("the bench's sign-off on %s: %+v %v", newV, so, err)
	}
	if rows, _ := other.PatchAudit(ctx, newP); len(rows) < 5 {
		t.Errorf("the audit of %s names it in %d rows; the bench's rows should name the new id", newP, len(rows))
	}
	n2, err := other.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = other.Push(ctx, snap, "lead")
	if err != nil || rep.Rows != 0 || rep.Patches+rep.States+rep.Validation+rep.SignOffs+rep.Assets != 0 || len(rep.Renumbered) != 0 {
		t.Errorf("pushing the renumbered register again: %+v %v", rep, err)
	}
	if n, _ := other.VerifyAudit(ctx); n != n2 {
		t.Errorf("pushing again: %d audit rows, was %d", n, n2)
	}
}
