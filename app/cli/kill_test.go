package cli

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/trace"
)

// TestMain lets the test binary act as the patchgate command for the crash test.
func TestMain(m *testing.M) {
	if os.Getenv("PATCHGATE_AS_CLI") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		code := Main(ctx, Env{Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestKilledRunLeavesCleanDatabase kills `patchgate run` with SIGKILL mid-run: the database
// opens clean, the committed samples are there without holes, the run is marked incomplete.
func TestKilledRunLeavesCleanDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run")
	}
	db := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "run", "--scenario", "../../scenarios/tank-steady-state.yaml", "--target", "sim://tank", "--db", db)
	cmd.Env = append(os.Environ(), "PATCHGATE_AS_CLI=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// wait until the run has committed batches of samples, then kill without warning. (It
	// waited for the WAL to pass 64 KiB, which creating the schema alone can do: the kill then
	// came before the run was recorded, one time in three.)
	committed := func() int {
		ro, err := sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=200")
		if err != nil {
			return 0
		}
		defer ro.Close()
		var n int
		if ro.QueryRow(`SELECT count(*) FROM sample_chunks`).Scan(&n) != nil {
			return 0
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for committed() < 2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the run never committed a batch")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	ctx := context.Background()
	l, err := ledger.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Check(ctx); err != nil {
		t.Fatalf("integrity after SIGKILL: %v", err)
	}
	runs, err := l.Runs(ctx, ledger.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v, %v", runs, err)
	}
	tr, err := l.LoadTrace(ctx, runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Run.Status != trace.Incomplete {
		t.Errorf("status %s, want incomplete", tr.Run.Status)
	}
	n := len(tr.Run.Tags)
	if len(tr.Samples) == 0 || len(tr.Samples)%n != 0 {
		t.Fatalf("%d samples for %d tags: committed batches must hold whole slots", len(tr.Samples), n)
	}
	// whole slots, tags in order, slots increasing (a slot missed under load is skipped by
	// the runner and recorded as an event, so slots need not be consecutive)
	for i, s := range tr.Samples {
		first := tr.Samples[i-i%n]
		if s.Slot != first.Slot || int(s.Tag) != i%n || (i >= n && first.Slot <= tr.Samples[i-n].Slot) {
			t.Fatalf("sample %d is slot %d tag %d: a hole in the committed data", i, s.Slot, s.Tag)
		}
	}
	t.Logf("%d samples (%d slots) survived the kill", len(tr.Samples), len(tr.Samples)/n)
}
