package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/pgstore"
	"github.com/patchgate/patchgate/harness/register/pgstore/pgtest"
	"github.com/patchgate/patchgate/harness/register/registertest"
)

func open(t *testing.T) register.Store {
	app, _ := pgtest.Fresh(t)
	s, err := pgstore.Open(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRegisterSuite runs the suite the SQLite ledger passes (harness/ledger) on PostgreSQL.
func TestRegisterSuite(t *testing.T) { registertest.Run(t, open) }

func TestOpenRefusesADatabaseWithoutRegister(t *testing.T) {
	admin := pgtest.AdminURL(t)
	_, err := pgstore.Open(context.Background(), admin)
	if !errors.Is(err, pgstore.ErrNotSetUp) {
		t.Errorf("Open on a database without register: %v, want ErrNotSetUp", err)
	}
	if _, err := pgstore.Open(context.Background(), "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"); err == nil {
		t.Error("Open on a closed port: no error")
	}
}

func TestSetupRefusesTheAppRoleAsOwner(t *testing.T) {
	app, owner := pgtest.Fresh(t)
	if err := pgstore.Setup(context.Background(), app, pgtest.App); !errors.Is(err, register.ErrInvalid) {
		t.Errorf("Setup as the app role: %v, want ErrInvalid", err)
	}
	if err := pgstore.Setup(context.Background(), owner, pgtest.App); err != nil {
		t.Errorf("Setup twice: %v", err)
	}
}

func BenchmarkRegisterWrites(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			app, _ := pgtest.Fresh(b)
			s, err := pgstore.Open(context.Background(), app)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			registertest.BenchWrites(b, s, writers)
		})
	}
}
