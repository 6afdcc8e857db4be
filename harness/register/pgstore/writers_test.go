package pgstore_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/register/pgstore"
	"github.com/patchgate/patchgate/harness/register/pgstore/pgtest"
	"github.com/patchgate/patchgate/harness/register/registertest"
	"github.com/patchgate/patchgate/harness/verdict"
)

var writeFor = flag.Duration("pg.write-for", 3*time.Second,
	"how long each writer process of TestWriterProcesses writes (the issue's check: 60s)")

const writerEnv = "PATCHGATE_PG_WRITER" // set in a writer process: the register URL

// TestWriterProcesses: eight processes (this test binary again) add validations and
// sign-offs to one register for -pg.write-for. Afterwards every record a writer reported
// is there once, nothing else is, the audit chain verifies, and the application's role
// cannot change or delete audit rows.
func TestWriterProcesses(t *testing.T) {
	if os.Getenv(writerEnv) != "" {
		t.Skip("in a writer process")
	}
	app, owner := pgtest.Fresh(t)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.AddPatch(ctx, registertest.NewPatch("PLC"), "lead")
	if err != nil {
		t.Fatal(err)
	}
	const writers = 8
	var mu sync.Mutex
	reported := map[string]int{} // validation id: sign-offs reported for it
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestWriterProcess$", "-test.count=1", "-pg.write-for="+writeFor.String())
			cmd.Env = append(os.Environ(), writerEnv+"="+app, "PATCHGATE_PG_WRITER_PATCH="+p.ID, fmt.Sprintf("PATCHGATE_PG_WRITER_NAME=bench%d", w))
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				t.Errorf("writer %d: %v\n%s%s", w, err, out.String(), errb.String())
				return
			}
			sc := bufio.NewScanner(&out)
			mu.Lock()
			defer mu.Unlock()
			for sc.Scan() {
				if id, ok := strings.CutPrefix(sc.Text(), "VALIDATION "); ok {
					reported[id]++
				}
				if id, ok := strings.CutPrefix(sc.Text(), "SIGNOFF "); ok {
					reported[id] += 10
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	vs, err := s.Validations(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	signoffs := 0
	for _, v := range vs {
		n, ok := reported[v.ID]
		if !ok {
			t.Errorf("validation %s in the register, reported by no writer", v.ID)
		}
		so, err := s.SignOffs(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := n / 10; len(so) != want || n%10 != 1 {
			t.Errorf("validation %s: reported %d times with %d sign-offs; the register has %d sign-offs", v.ID, n%10, n/10, len(so))
		}
		signoffs += len(so)
		delete(reported, v.ID)
	}
	for id := range reported {
		t.Errorf("validation %s reported by a writer, missing from the register", id)
	}
	n, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if want := 1 + len(vs) + signoffs; n != want {
		t.Errorf("audit has %d rows, want %d (a patch, %d validations, %d sign-offs)", n, want, len(vs), signoffs)
	}
	t.Logf("%d writer processes for %s: %d validations, %d sign-offs, %d audit rows verified", writers, *writeFor, len(vs), signoffs, n)
	if len(vs) < writers {
		t.Errorf("only %d validations from %d writers", len(vs), writers)
	}
	checkAppendOnly(t, app, owner)
}

// checkAppendOnly: UPDATE, DELETE and TRUNCATE on the audit trail fail as the
// application's role (no privilege) and as the owner (the triggers).
func checkAppendOnly(t *testing.T, urls ...string) {
	for i, u := range urls {
		who := []string{"app", "owner"}[i]
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`UPDATE audit SET actor = 'mallory' WHERE seq = 2`, `DELETE FROM audit WHERE seq = 2`,
			`TRUNCATE audit`, `UPDATE validations SET verdict = 'GO'`, `DELETE FROM signoffs`} {
			if _, err := db.Exec(q); err == nil {
				t.Errorf("as the %s: %s succeeded", who, q)
			} else {
				t.Logf("as the %s: %s: %v", who, q, err)
			}
		}
		db.Close()
	}
}

// TestWriterProcess is one writer of TestWriterProcesses (it runs only in a writer
// process): it records validations of the patch, each signed off, until -pg.write-for
// has passed, and prints each id it stored.
func TestWriterProcess(t *testing.T) {
	url := os.Getenv(writerEnv)
	if url == "" {
		t.Skip("runs only as a writer process of TestWriterProcesses")
	}
	ctx := context.Background()
	s, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	patch, name := os.Getenv("PATCHGATE_PG_WRITER_PATCH"), os.Getenv("PATCHGATE_PG_WRITER_NAME")
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	deadline := time.Now().Add(*writeFor)
	for i := 0; time.Now().Before(deadline); i++ {
		v, err := s.RecordValidation(ctx, register.Validation{PatchID: patch, Record: registertest.Record(verdict.NoGo),
			Differences: []string{name}}, name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(out, "VALIDATION", v.ID)
		if i%2 == 0 { // every other one gets a sign-off, so the counts differ
			if _, err := s.SignOff(ctx, register.SignOff{ValidationID: v.ID, Name: name, Role: register.Tester, Decision: register.Approve}); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(out, "SIGNOFF", v.ID)
		}
	}
}
