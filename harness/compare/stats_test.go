package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuantile(t *testing.T) {
	cases := []struct {
		x    []float64
		p    float64
		want float64
	}{
		{[]float64{1, 2}, 0.5, 1.5},
		{[]float64{1, 2, 3}, 0.5, 2},
		{[]float64{1, 2, 3, 4, 5}, 0.9, 4.6},
		{[]float64{7}, 0.99, 7},
		{[]float64{1, 2, 3, 4}, 0, 1},
		{[]float64{1, 2, 3, 4}, 1, 4},
	}
	for _, tc := range cases {
		if got := quantile(tc.x, tc.p); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("quantile(%v, %v) = %v, want %v", tc.x, tc.p, got, tc.want)
		}
	}
	if !math.IsNaN(quantile(nil, 0.5)) {
		t.Error("quantile of nothing must be NaN")
	}
}

// bruteU counts the pairs with y > x (ties one half).
func bruteU(x, y []float64) float64 {
	var u float64
	for _, a := range x {
		for _, b := range y {
			switch {
			case b > a:
				u++
			case b == a:
				u += 0.5
			}
		}
	}
	return u
}

func bruteDiffs(x, y []float64) []float64 {
	var d []float64
	for _, a := range x {
		for _, b := range y {
			d = append(d, b-a)
		}
	}
	slices.Sort(d)
	return d
}

func bruteKS(x, y []float64) float64 {
	var d float64
	for _, v := range append(append([]float64{}, x...), y...) {
		fx := float64(countLEq(x, v)) / float64(len(x))
		fy := float64(countLEq(y, v)) / float64(len(y))
		d = math.Max(d, math.Abs(fx-fy))
	}
	return d
}

func countLEq(x []float64, v float64) int {
	n := 0
	for _, a := range x {
		if a <= v {
			n++
		}
	}
	return n
}

func TestMannWhitneyAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n, m := 1+rng.IntN(40), 1+rng.IntN(40)
		gen := func(k int, shift float64) []float64 {
			out := make([]float64, k)
			for i := range out {
				out[i] = rng.NormFloat64() + shift
				if trial%3 == 0 { // ties
					out[i] = math.Round(out[i] * 2)
				}
			}
			slices.Sort(out)
			return out
		}
		x, y := gen(n, 0), gen(m, rng.Float64())
		r := mannWhitney(x, y)
		if u := bruteU(x, y); r.u != u {
			t.Fatalf("trial %d: U %v, brute %v", trial, r.u, u)
		}
		d := bruteDiffs(x, y)
		var hl float64
		if len(d)%2 == 1 {
			hl = d[len(d)/2]
		} else {
			hl = (d[len(d)/2-1] + d[len(d)/2]) / 2
		}
		if r.shift != hl {
			t.Fatalf("trial %d: shift %v, brute %v", trial, r.shift, hl)
		}
		if !slices.Contains(d, r.lo) || !slices.Contains(d, r.hi) || r.lo > r.shift || r.hi < r.shift {
			t.Fatalf("trial %d: CI %v..%v around %v not made of pairwise differences", trial, r.lo, r.hi, r.shift)
		}
		if ks := bruteKS(x, y); math.Abs(r.ks-ks) > 1e-9 {
			t.Fatalf("trial %d: KS %v, brute %v", trial, r.ks, ks)
		}
		if r.p < 0 || r.p > 1 || math.Abs(r.r-(2*r.u/float64(n*m)-1)) > 1e-12 {
			t.Fatalf("trial %d: p %v r %v", trial, r.p, r.r)
		}
	}
}

func TestKthDiffEveryRank(t *testing.T) {
	x := []float64{-3, -1, -1, 0, 2.5, 7}
	y := []float64{-2, 0, 0.1, 4}
	d := bruteDiffs(x, y)
	for k := range d {
		if got := kthDiff(x, y, int64(k+1)); got != d[k] {
			t.Errorf("k=%d: %v, want %v", k+1, got, d[k])
		}
	}
}

func TestMannWhitneyExactTable(t *testing.T) {
	// n = m = 5: P(U <= 2) = 4/252, the critical value of the two-sided 5 % test is 2, so
	// the 95 % interval of the shift is the 3rd smallest to 3rd largest of 25 differences.
	cdf := uCDF(5, 5)
	if math.Abs(cdf[2]-4.0/252) > 1e-12 || math.Abs(cdf[25]-1) > 1e-12 {
		t.Fatalf("cdf %v", cdf)
	}
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{11, 12, 13, 14, 15}
	r := mannWhitney(x, y)
	d := bruteDiffs(x, y)
	if !r.exact || r.u != 25 || math.Abs(r.p-2.0/252) > 1e-12 || r.lo != d[2] || r.hi != d[22] || r.shift != 10 || r.r != 1 || r.ks != 1 {
		t.Errorf("%+v", r)
	}
	// symmetric: P(U <= u) = P(U >= nm - u)
	c := uCDF(4, 7)
	for u := 0; u < 28; u++ {
		lower := c[u]
		upper := 1 - c[28-u-1]
		if math.Abs(lower-upper) > 1e-12 {
			t.Fatalf("u=%d: %v vs %v", u, lower, upper)
		}
	}
}

func TestMannWhitneyLargeSampleAgreesWithTheNormalTheory(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// no difference: p-values spread over (0, 1); about 5 % below 0.05
	below, missed := 0, 0
	for range 400 {
		x, y := make([]float64, 60), make([]float64, 60)
		for i := range x {
			x[i], y[i] = rng.NormFloat64(), rng.NormFloat64()
		}
		slices.Sort(x)
		slices.Sort(y)
		r := mannWhitney(x, y)
		if r.p < 0.05 {
			below++
		}
		if r.lo > 0 || r.hi < 0 {
			missed++ // the interval excludes the true shift 0
		}
	}
	if below < 5 || below > 40 {
		t.Errorf("%d of 400 p-values below 0.05 with no difference; want about 20", below)
	}
	if missed < 5 || missed > 40 {
		t.Errorf("the 95 %% interval missed the true shift in %d of 400 trials; want about 20", missed)
	}
}

// FuzzKthDiff checks the bisection over the float order against sorting every difference.
func FuzzKthDiff(f *testing.F) {
	f.Add(1.0, -2.0, 3.5, 0.0, 7.25, uint8(3))
	f.Add(0.0, 0.0, 0.0, 0.0, 0.0, uint8(1))
	f.Add(-1e300, 1e300, 5e-324, -5e-324, 1.0, uint8(5))
	f.Fuzz(func(t *testing.T, a, b, c, d, e float64, k uint8) {
		for _, v := range []float64{a, b, c, d, e} {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e300 {
				t.Skip()
			}
		}
		x := []float64{a, b}
		y := []float64{c, d, e}
		slices.Sort(x)
		slices.Sort(y)
		all := bruteDiffs(x, y)
		kk := int64(k)%int64(len(all)) + 1
		if got := kthDiff(x, y, kk); got != all[kk-1] && !(got == 0 && all[kk-1] == 0) {
			t.Fatalf("k=%d of %v: %v", kk, all, got)
		}
	})
}

// TestSortFloats: the radix sort of the timing values agrees with slices.Sort, negatives,
// zeros, infinities, subnormals and ties included.
func TestSortFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	gens := map[string]func(i int) float64{
		"round trips": func(int) float64 { return float64(r.IntN(5_000_000)) / 1e9 },
		"signed wide": func(int) float64 { return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20)) },
		"special": func(i int) float64 {
			return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 5e-324, -5e-324, 1, -1}[i%8]
		},
		"one value":    func(int) float64 { return 0.01 },
		"short signed": func(int) float64 { return r.NormFloat64() },
	}
	for name, gen := range gens {
		for _, n := range []int{10, 4096, 100_000} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = gen(i)
			}
			want := slices.Clone(xs)
			slices.Sort(want)
			sortFloats(xs)
			for i := range xs {
				if xs[i] != want[i] { // -0 == 0: either order of the two is sorted
					t.Fatalf("%s, n %d: [%d] = %v, want %v", name, n, i, xs[i], want[i])
				}
			}
		}
	}
}
