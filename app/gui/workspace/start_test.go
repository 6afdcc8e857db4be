package workspace

import (
	"context"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/simopt"
)

// TestEmbeddedTanksLikeABenchWeDidNotBuild: with a random start the desktop's two embedded
// tanks begin in different states (a bench is never left the same way twice), and they scan
// at the period asked for.
func TestEmbeddedTanksLikeABenchWeDidNotBuild(t *testing.T) {
	w, err := Open(context.Background(), Config{Dir: t.TempDir(), Start: simopt.Start{Random: true}, Scan: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var levels []float64
	for _, s := range w.Stations() {
		if got := s.Controller.Period(); got != 50*time.Millisecond && s.Role == "before" {
			t.Errorf("%s tank scans at %v, want 50ms", s.Role, got)
		}
		i, ok := s.Controller.TagIndex("Level")
		if !ok {
			t.Fatal("no Level")
		}
		v := make([]point.Value, 1)
		if err := s.Controller.Read([]int{i}, v); err != nil {
			t.Fatal(err)
		}
		levels = append(levels, v[0].Float())
	}
	if len(levels) != 2 || levels[0] == levels[1] {
		t.Errorf("levels %v: the two tanks start alike", levels)
	}
	if _, err := Open(context.Background(), Config{Dir: t.TempDir(), Scan: time.Hour}); err == nil {
		t.Error("a scan of an hour was accepted")
	}
}
