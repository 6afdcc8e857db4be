package plotdata

import (
	"math"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

// TestTagSeriesBreaks: a missing reading and a silence longer than three periods break the
// series; Decimate marks the column after the break and keeps each column's extremes.
func TestTagSeriesBreaks(t *testing.T) {
	tr := &trace.Trace{Run: trace.Run{Period: 10 * time.Millisecond, Tags: []string{"x"}}}
	add := func(ms int64, v float64, q driver.Quality) {
		tr.Samples = append(tr.Samples, trace.Sample{T: ms * 1e6, Value: v, Quality: q})
	}
	add(0, 1, driver.Good)
	add(10, 5, driver.Good)
	add(20, math.NaN(), driver.Missing) // break before index 2
	add(30, 2, driver.Good)
	add(100, 3, driver.Good) // silence of 70 ms: break before index 3
	add(110, math.Inf(1), driver.Good)
	s := TagSeries(tr, "x")
	if len(s.T) != 4 || len(s.Breaks) != 2 || s.Breaks[0] != 2 || s.Breaks[1] != 3 {
		t.Fatalf("series %v breaks %v", s.T, s.Breaks)
	}
	cols := Decimate(s, 0, 110e6, 11)
	if c := cols[0]; c.N != 1 || cols[1].Min != 5 || !cols[3].Break || !cols[10].Break || cols[1].Break {
		t.Errorf("columns %+v", cols)
	}
	if Decimate(s, 0, 0, 10) != nil || Decimate(s, 0, 10, 0) != nil {
		t.Error("an empty range or width gives nil")
	}
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   int
	}{{0, 10, 5, 6}, {-0.3, 0.7, 5, 5}, {5, 5, 5, 0}} {
		if got := Ticks(tc.lo, tc.hi, tc.n); len(got) != tc.want {
			t.Errorf("Ticks(%v, %v, %d) = %v", tc.lo, tc.hi, tc.n, got)
		}
	}
	if Step(10, 5) != 2 || Step(0, 5) != 1 {
		t.Error("Step")
	}
}
