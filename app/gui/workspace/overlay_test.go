package workspace

import (
	"math"
	"math/rand/v2"
	"testing"
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
				if ts < tc.from || ts >= tc.to {
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
				if got[i] != want[i] {
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
