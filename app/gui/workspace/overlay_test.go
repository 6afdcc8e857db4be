package workspace

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

func TestDecimateKeepsMinMaxPerColumn(t *testing.T) {
	cases := map[string]struct {
		n, width int
		from, to int64
	}{
		"1M in 1000":        {1_000_000, 1000, 0, 1_000_000},
		"fewer than pixels": {37, 1000, 0, 37},
		"zoomed":            {100_000, 640, 25_000, 30_000},
		"one column":        {500, 1, 0, 500},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			s := Series{T: make([]int64, tc.n), V: make([]float64, tc.n)}
			for i := range s.T {
				s.T[i] = int64(i)
				s.V[i] = r.NormFloat64()
			}
			s.V[tc.n/2] = 1e6 // a one-sample spike must survive
			got := Decimate(s, tc.from, tc.to, tc.width)
			if len(got) != tc.width {
				t.Fatalf("%d columns, want %d", len(got), tc.width)
			}
			// brute force
			want := make([]Column, tc.width)
			for i, ts := range s.T {
				if ts < tc.from || ts > tc.to {
					continue
				}
				c := int(float64(ts-tc.from) / float64(tc.to-tc.from) * float64(tc.width))
				w := &want[min(c, tc.width-1)]
				if w.N == 0 {
					w.Min, w.Max = math.Inf(1), math.Inf(-1)
				}
				w.Min, w.Max = min(w.Min, s.V[i]), max(w.Max, s.V[i])
				w.N++
			}
			for i := range want {
				if g := got[i]; g.Min != want[i].Min || g.Max != want[i].Max || g.N != want[i].N {
					t.Fatalf("column %d: %+v, want %+v", i, got[i], want[i])
				}
			}
			if tc.from <= int64(tc.n/2) && int64(tc.n/2) < tc.to {
				peak := math.Inf(-1)
				for _, c := range got {
					if c.N > 0 {
						peak = max(peak, c.Max)
					}
				}
				if peak != 1e6 {
					t.Errorf("spike lost: max %v", peak)
				}
			}
		})
	}
	if Decimate(Series{}, 0, 0, 10) != nil || Decimate(Series{}, 0, 10, 0) != nil {
		t.Error("empty range or width should give nil")
	}
}

// BenchmarkOverlay2x1M gives the overlay of a signal over a before and an after run of 1M
// sampling slots each whose 13 steps (2 of setup) took different times: "series" is the
// two runs' tag series alone, "frame" the overlay with the after run mapped onto the before
// run's clock (compare.Frame, O(log steps) a sample), its gaps and its place.
func BenchmarkOverlay2x1M(b *testing.B) {
	const n = 1_000_000
	res := largeResult(n)
	l, err := LoadScenario("tank-alarm-trip.yaml")
	if err != nil {
		b.Fatal(err)
	}
	res.Scenario = l
	steps := len(l.Scenario.Setup) + len(l.Scenario.Steps)
	for side, tr := range []*trace.Trace{res.Before[0], res.After[0]} {
		for k := 1; k <= steps; k++ {
			t := int64(k-1) * n / int64(steps) * int64(time.Millisecond) * int64(20+side) / 20
			tr.Events = append(tr.Events, trace.Event{T: t, Kind: trace.EvStepStart, Step: k})
		}
		slices.SortStableFunc(tr.Events, func(a, b trace.Event) int { return cmp.Compare(a.T, b.T) })
	}
	c := verdict.Criterion{ID: "signal:Level", Kind: verdict.KindSignal}
	b.Run("series", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s := TagSeries(res.After[0], "Level"); len(s.T) < n*99/100 || len(TagSeries(res.Before[0], "Level").T) < n*99/100 {
				b.Fatal(len(s.T))
			}
		}
	})
	b.Run("frame", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if o, ok := res.Overlay(c); !ok || o.Setup == 0 || len(o.After.T) < n*99/100 {
				b.Fatalf("overlay %v, setup until %d", ok, o.Setup)
			}
		}
	})
}
