// Package pgtest gives tests a fresh PostgreSQL register: a new database on the server
// PATCHGATE_PG names (a superuser URL; scripts/pg/throwaway.sh and `make test-pg` start a
// throwaway server and set it), set up by an owner role, opened as the application's role.
// Tests skip, saying so, when PATCHGATE_PG is unset.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/patchgate/patchgate/harness/register/pgstore"
)

// Roles the test databases use: Owner owns the tables, App is what the application
// connects as.
const (
	Owner = "patchgate_test_owner"
	App   = "patchgate_test_app"
)

// AdminURL is PATCHGATE_PG; the test skips when it is unset.
func AdminURL(t testing.TB) string {
	u := os.Getenv("PATCHGATE_PG")
	if u == "" {
		t.Skip("PATCHGATE_PG is unset: no PostgreSQL to test against; `make test-pg` starts a throwaway one (scripts/pg/throwaway.sh)")
	}
	return u
}

// As is rawURL with another user and database.
func As(rawURL, user, database string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	u.User = url.User(user)
	u.Path = "/" + database
	return u.String()
}

// Fresh makes a new, set-up register database and returns the application's URL and the
// owner's; the database is dropped when the test ends.
func Fresh(t testing.TB) (appURL, ownerURL string) {
	admin := AdminURL(t)
	ctx := context.Background()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, role := range []string{Owner, App} {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`DO $$ BEGIN CREATE ROLE %s LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`, role)); err != nil {
			t.Fatalf("role %s: %v", role, err)
		}
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "register_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name+` OWNER `+Owner); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	ownerURL, appURL = As(admin, Owner, name), As(admin, App, name)
	if err := pgstore.Setup(ctx, ownerURL, App); err != nil {
		t.Fatal(err)
	}
	return appURL, ownerURL
}
