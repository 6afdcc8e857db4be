package ledger

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

// crashEnv makes the test binary a crash child: it records into the ledger named by the
// variable until it is killed.
const crashEnv = "PATCHGATE_LEDGER_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		os.Exit(crashChild(path))
	}
	os.Exit(m.Run())
}

const crashBatch = 3 * 4096 // samples per batch: 4096 slots of 3 tags

// crashSample is the sample with ordinal ord in a crash child's run.
func crashSample(ord int64) trace.Sample {
	slot := ord / 3
	s := trace.Sample{Slot: slot, Tag: uint16(ord % 3), T: slot*1_000_000 + ord%3, Late: ord % 977,
		Quality: driver.Quality(ord % 7 % 3), Value: float64(ord) / 4}
	if ord%101 == 0 {
		s.Text = fmt.Sprintf("text %d", ord)
	}
	return s
}

// crashChild opens the ledger, starts a run and commits batches, printing the number of
// committed samples after every commit, until it is killed (or a minute has passed).
func crashChild(path string) int {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r := newRun("a", "b", "c")
	r.Started = time.Now()
	if _, err := db.CreateRun(ctx, r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("run %d\n", r.ID)
	batch := make([]trace.Sample, crashBatch)
	var ord int64
	for b := 0; time.Since(r.Started) < time.Minute; b++ {
		for i := range batch {
			batch[i] = crashSample(ord + int64(i))
		}
		fmt.Printf("writing %d\n", ord+crashBatch)
		if err := db.Append(ctx, r.ID, batch, []trace.Event{{T: ord, Kind: trace.EvMark, Step: b}}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		ord += crashBatch
		fmt.Printf("committed %d\n", ord) // os.Stdout is unbuffered: the parent sees it at once
	}
	return 3
}

// TestCrashMidWrite kills a recording process with SIGKILL while it writes a batch, several
// times into the same ledger, and checks after each kill that the file is sound, the run is
// incomplete and every committed batch is there, whole; the batch being written is either
// all there or not at all.
func TestCrashMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "crash.db")
	kept := map[int64]int{} // run → samples found after its crash
	rounds := []struct {
		batch int           // kill while writing this batch (1-based)
		after time.Duration // this long after it started
	}{{1, 0}, {2, 300 * time.Microsecond}, {3, time.Millisecond}, {5, 2 * time.Millisecond}, {8, 3 * time.Millisecond}, {13, 5 * time.Millisecond}}
	for round, rd := range rounds {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var id, committed, writing, killedWriting int64
		batches := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var n int64
			switch {
			case scan(sc.Text(), "run %d", &n):
				id = n
			case scan(sc.Text(), "committed %d", &n):
				committed = n
			case scan(sc.Text(), "writing %d", &n):
				writing = n
				if batches++; batches == rd.batch {
					time.Sleep(rd.after)
					if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
						t.Fatal(err)
					}
					killedWriting = n
				}
			default:
				t.Fatalf("child said %q", sc.Text())
			}
		}
		cmd.Wait()
		if killedWriting == 0 || (runtime.GOOS != "windows" && cmd.ProcessState.String() != "signal: killed") {
			t.Fatalf("round %d: child ended with %v before the kill; stderr:\n%s", round, cmd.ProcessState, stderr.String())
		}

		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Check(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := db.Recovered(); !slices.Equal(got, []int64{id}) {
			t.Errorf("round %d: recovered %v, want [%d]", round, got, id)
		}
		tr, err := db.LoadTrace(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(len(tr.Samples))
		outcome := "lost"
		if n == writing && committed < writing {
			outcome = "committed, unreported"
		} else if n == writing {
			outcome = "committed"
		}
		t.Logf("round %d: killed %v into writing batch %d of run %d; the batch was %s (%d samples)", round, rd.after, rd.batch, id, outcome, n)
		if tr.Run.Status != trace.Incomplete {
			t.Errorf("round %d: run %d is %q, want incomplete", round, id, tr.Run.Status)
		}
		if n != committed && n != writing {
			t.Fatalf("round %d: %d samples after the crash; want %d committed, or %d if the last batch made it", round, n, committed, writing)
		}
		want := make([]trace.Sample, n)
		for i := range want {
			want[i] = crashSample(int64(i))
		}
		sameSamples(t, tr.Samples, want)
		if int64(len(tr.Events)) != n/crashBatch {
			t.Errorf("round %d: %d events for %d batches", round, len(tr.Events), n/crashBatch)
		}
		kept[id] = len(tr.Samples)
		// Earlier crashed runs are as they were.
		for rid, k := range kept {
			tr, err := db.LoadTrace(ctx, rid)
			if err != nil || len(tr.Samples) != k || tr.Run.Status != trace.Incomplete {
				t.Errorf("round %d: earlier run %d: %v, %d samples (want %d)", round, rid, err, len(tr.Samples), k)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(kept) != len(rounds) {
		t.Errorf("%d runs recorded, want %d", len(kept), len(rounds))
	}
}

func scan(line, format string, n *int64) bool {
	_, err := fmt.Sscanf(line, format, n)
	return err == nil
}
