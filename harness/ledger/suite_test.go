package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/registertest"
)

// TestRegisterSuite runs the register suite every store passes (the PostgreSQL store
// runs it too) on a SQLite file.
func TestRegisterSuite(t *testing.T) {
	registertest.Run(t, func(t *testing.T) register.Store {
		db, err := Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func BenchmarkRegisterWrites(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db, err := Open(context.Background(), filepath.Join(b.TempDir(), "r.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			registertest.BenchWrites(b, db, writers)
		})
	}
}
