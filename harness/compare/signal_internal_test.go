package compare

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// bruteEnvelope is the definition of the envelope, sample by sample: the before samples
// within [t-shift, t+shift] plus the last one at or before t-shift and the first one at or
// after t+shift.
func bruteEnvelope(u int64, b series, shift, slack int64) (lo, hi float64, ok bool) {
	n := len(b.t)
	if n == 0 || u < b.t[0]-slack || u > b.t[n-1]+slack {
		return 0, 0, false
	}
	L, R := u-shift, u+shift
	left := 0
	for j := range b.t {
		if b.t[j] <= L {
			left = j
		}
	}
	right := n - 1
	for j := n - 1; j >= 0; j-- {
		if b.t[j] >= R {
			right = j
		}
	}
	right = max(right, left)
	lo, hi = math.Inf(1), math.Inf(-1)
	for j := left; j <= right; j++ {
		lo, hi = math.Min(lo, b.v[j]), math.Max(hi, b.v[j])
	}
	return lo, hi, true
}

func TestEnvelopeAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		mk := func(n int, step int64) series {
			s := series{}
			var tt int64
			for range n {
				tt += 1 + rng.Int64N(step) // irregular sampling, repeated times too when step is 1
				if rng.IntN(10) == 0 {
					tt += step * 5 // a gap
				}
				s.t = append(s.t, tt)
				s.v = append(s.v, math.Round(rng.NormFloat64()*4))
			}
			return s
		}
		b := mk(1+rng.IntN(200), 1+rng.Int64N(20))
		a := mk(1+rng.IntN(200), 1+rng.Int64N(20))
		shift := rng.Int64N(40)
		slack := max(shift, 10)
		lo := make([]float64, len(a.t))
		hi := make([]float64, len(a.t))
		var s slider
		s.start(b, alignment{a: []int64{0}, b: []int64{0}, slope: []float64{1}}, a.t[0], shift, slack)
		// in blocks, as compare does: the state carries over
		for from := 0; from < len(a.t); from += 7 {
			to := min(from+7, len(a.t))
			s.fill(a.t[from:to], lo[from:to], hi[from:to], true)
		}
		for i, u := range a.t {
			blo, bhi, ok := bruteEnvelope(u, b, shift, slack)
			if !ok {
				if lo[i] <= hi[i] {
					t.Fatalf("trial %d sample %d at %d: envelope [%v, %v] outside the before run", trial, i, u, lo[i], hi[i])
				}
				continue
			}
			if lo[i] != blo || hi[i] != bhi {
				t.Fatalf("trial %d sample %d at %d (shift %d): [%v, %v], brute [%v, %v]", trial, i, u, shift, lo[i], hi[i], blo, bhi)
			}
		}
	}
}

func TestAlignment(t *testing.T) {
	a := &runData{steps: map[int]int64{1: 0, 2: 100, 3: 300, 4: 300, 5: 900}}
	b := &runData{steps: map[int]int64{1: 0, 2: 100, 3: 200, 4: 250, 6: 1000}}
	al := align(a, b)
	cases := []struct{ in, want int64 }{
		{0, 0}, {50, 50}, {100, 100}, {200, 150}, {300, 200}, {400, 300}, {-10, -10},
	}
	for _, tc := range cases {
		if got := al.at(tc.in); got != tc.want {
			t.Errorf("at(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
	inv := al.inverse()
	for _, in := range []int64{0, 50, 100, 200, 300, 400} {
		if back := inv.at(al.at(in)); back != in {
			t.Errorf("inverse(%d) = %d, want %d", al.at(in), back, in)
		}
	}
}

func TestLCS(t *testing.T) {
	cases := []struct {
		x, y []int32
		n    int
	}{
		{nil, nil, 0},
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, 3},
		{[]int32{1, 2, 3, 4, 5}, []int32{1, 4, 2, 3, 5}, 4},
		{[]int32{1, 2, 3}, []int32{4, 5}, 0},
		{[]int32{1, 1, 1}, []int32{1, 1}, 2},
	}
	for _, tc := range cases {
		p := lcs(tc.x, tc.y)
		if len(p) != tc.n {
			t.Errorf("lcs(%v, %v) = %v, want length %d", tc.x, tc.y, p, tc.n)
		}
		for k, q := range p {
			if tc.x[q[0]] != tc.y[q[1]] || (k > 0 && (q[0] <= p[k-1][0] || q[1] <= p[k-1][1])) {
				t.Errorf("lcs(%v, %v) = %v: not a common subsequence", tc.x, tc.y, p)
			}
		}
	}
}

// TestPartsGiveOnePassResult: cut into parallel parts, a long signal gives exactly what one
// pass gives (the worst sample, the counts, the largest distance), with one before run and
// with several.
func TestPartsGiveOnePassResult(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	mk := func(n int, off float64) series {
		s := series{}
		var tt int64
		for k := range n {
			tt += 9 + rng.Int64N(3)
			s.t = append(s.t, tt)
			s.v = append(s.v, math.Sin(float64(k)/300)+off+0.05*rng.NormFloat64())
		}
		return s
	}
	n := 3 * parallelMin
	a := mk(n, 0.02)
	bs := []series{mk(n, 0), mk(n, 0.01)}
	al := alignment{a: []int64{0, 1000, 5000}, b: []int64{0, 1100, 5200}, slope: []float64{1.1, 1.05, 1}}
	for _, k := range []int{1, 2} {
		maps := []alignment{al, al}[:k]
		var one part
		want := one.compare(a, bs[:k], maps, 0.1, 0, 20, 20)
		var sc scratch
		got := compareSignal(&sc, a, bs[:k], maps, 0.1, 0, 20, 20)
		if len(sc.parts) < 2 && runtime.GOMAXPROCS(0) > 1 {
			t.Errorf("%d parts for %d samples", len(sc.parts), n)
		}
		if got != want || want.outside == 0 || want.compared == 0 {
			t.Errorf("%d before runs: parts %+v\none pass %+v", k, got, want)
		}
	}
}
