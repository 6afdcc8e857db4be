package workspace

import (
	"context"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/pgstore/pgtest"
)

// TestSharedRegister: with Config.Register the workspace's register is the PostgreSQL one
// (no demo patch entered there), the runs stay in the workspace's file.
func TestSharedRegister(t *testing.T) {
	app, _ := pgtest.Fresh(t)
	ctx := context.Background()
	w, err := Open(ctx, Config{Dir: t.TempDir(), Register: app, Actor: "jd"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !w.Shared() || strings.Contains(w.RegisterName(), "patchgate.db") {
		t.Errorf("register %s, shared %v", w.RegisterName(), w.Shared())
	}
	if ps, err := w.Reg.Patches(ctx); err != nil || len(ps) != 0 {
		t.Errorf("a demo patch in the shared register: %v %v", ps, err)
	}
	if ps, err := w.DB.Patches(ctx); err != nil || len(ps) != 0 {
		t.Errorf("the workspace file got patches: %v %v", ps, err)
	}
	if _, err := w.Reg.AddPatch(ctx, register.Patch{Supplier: "Acme", Product: "PLC", Type: register.Bugfix}, "jd"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Config{Dir: t.TempDir(), Register: "mysql://x/y"}); err == nil || !strings.Contains(err.Error(), "PostgreSQL URL") {
		t.Errorf("a MySQL URL: %v", err)
	}
}
