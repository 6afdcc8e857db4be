package compare

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// The statistics behind the timing criteria: order statistics, the Mann-Whitney U test with
// the Hodges-Lehmann shift and its distribution-free confidence interval, and the
// Kolmogorov-Smirnov distance. Every function takes sorted samples without NaNs.

// summary is the distribution of one side.
type summary struct {
	n                       int
	min, p50, p90, p99, max float64
}

func summarize(sorted []float64) summary {
	if len(sorted) == 0 {
		return summary{}
	}
	return summary{
		n:   len(sorted),
		min: sorted[0], max: sorted[len(sorted)-1],
		p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99),
	}
}

// quantile is the linearly interpolated quantile of sorted data (Hyndman and Fan type 7, the
// default of R and NumPy): the median of an even count is the mean of the middle two.
// gonum's LinInterp interpolates the empirical CDF instead, which puts the median of
// {1, 2} at 1.
func quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := p * float64(n-1)
	i := int(math.Floor(h))
	if i >= n-1 {
		return sorted[n-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// mwResult is a two-sample comparison of y (after) against x (before).
type mwResult struct {
	u      float64 // Mann-Whitney U of y: pairs with y > x, ties counted one half
	p      float64 // two-sided p-value
	r      float64 // rank-biserial correlation 2U/(nm) - 1: +1 every after value above every before value
	shift  float64 // Hodges-Lehmann estimate of the shift y - x: the median of all pairwise differences
	lo, hi float64 // 95 % confidence interval of the shift (distribution-free, from U's distribution)
	exact  bool    // p and the interval from U's exact distribution (small samples, no ties)
	ks     float64 // Kolmogorov-Smirnov D
}

// confidence of the interval of the shift.
const confidence = 0.95

// exactLimit: up to this many values per side (and no ties) U's exact null distribution is
// used; above it the normal approximation with the tie correction.
const exactLimit = 30

// mannWhitney compares sorted samples x (before) and y (after).
func mannWhitney(x, y []float64) mwResult {
	n, m := len(x), len(y)
	var res mwResult
	if n == 0 || m == 0 {
		return mwResult{p: math.NaN(), r: math.NaN(), shift: math.NaN(), lo: math.NaN(), hi: math.NaN(), ks: math.NaN()}
	}
	// midranks over the merged samples; U of y from its rank sum
	var ry, ties float64
	i, j, rank := 0, 0, 0
	for i < n || j < m {
		var v float64
		switch {
		case j == m || (i < n && x[i] < y[j]):
			v = x[i]
		default:
			v = y[j]
		}
		ci, cj := 0, 0
		for i < n && x[i] == v {
			i++
			ci++
		}
		for j < m && y[j] == v {
			j++
			cj++
		}
		t := ci + cj
		mid := float64(rank) + float64(t+1)/2
		ry += mid * float64(cj)
		rank += t
		if t > 1 {
			ties += float64(t)*float64(t)*float64(t) - float64(t)
		}
	}
	nm := float64(n) * float64(m)
	res.u = ry - float64(m)*float64(m+1)/2
	res.r = 2*res.u/nm - 1
	// gonum sums the steps of each CDF in floating point; D is a multiple of 1/(n*m), so
	// rounding to 1e-9 gives back 1 where the sums made it 0.9999999999999999
	res.ks = math.Round(stat.KolmogorovSmirnov(x, nil, y, nil)*1e9) / 1e9

	alpha := 1 - confidence
	var k int64 // the interval is the k-th smallest and k-th largest pairwise difference
	if n <= exactLimit && m <= exactLimit && ties == 0 {
		res.exact = true
		cdf := uCDF(n, m)
		lower := cdf[int(math.Floor(res.u))]
		upper := 1.0
		if u := int(math.Ceil(res.u)) - 1; u >= 0 {
			upper = 1 - cdf[u]
		}
		res.p = math.Min(1, 2*math.Min(lower, upper))
		// largest k with P(U <= k-1) <= alpha/2
		k = 1
		for c := 1; c <= n*m/2; c++ {
			if cdf[c] > alpha/2 {
				break
			}
			k = int64(c) + 1
		}
	} else {
		N := float64(n + m)
		v := nm / 12 * ((N + 1) - ties/(N*(N-1)))
		if v <= 0 {
			res.p = 1
		} else {
			sd := math.Sqrt(v)
			d := math.Abs(res.u - nm/2)
			z := math.Max(0, d-0.5) / sd // continuity correction
			res.p = math.Min(1, 2*distuv.UnitNormal.Survival(z))
		}
		z := distuv.UnitNormal.Quantile(1 - alpha/2)
		k = int64(math.Floor(nm/2 - z*math.Sqrt(math.Max(v, 0))))
	}
	total := int64(n) * int64(m)
	k = max(1, min(k, (total+1)/2))
	res.lo = kthDiff(x, y, k)
	res.hi = kthDiff(x, y, total-k+1)
	if total%2 == 1 {
		res.shift = kthDiff(x, y, (total+1)/2)
	} else {
		res.shift = (kthDiff(x, y, total/2) + kthDiff(x, y, total/2+1)) / 2
	}
	return res
}

// uCDF returns P(U <= u) for u = 0..n*m under the null hypothesis (no ties), from the
// recurrence c(n, m, u) = c(n-1, m, u-m) + c(n, m-1, u) on the counts of arrangements.
func uCDF(n, m int) []float64 {
	// prev[b][u]: counts for (a-1, b); cur[b][u]: counts for (a, b)
	prev := make([][]float64, m+1)
	for b := range prev {
		prev[b] = []float64{1} // a = 0: one arrangement, U = 0
	}
	for a := 1; a <= n; a++ {
		cur := make([][]float64, m+1)
		cur[0] = []float64{1}
		for b := 1; b <= m; b++ {
			c := make([]float64, a*b+1)
			// U counts pairs where the y value is above the x value: the largest element is
			// an x (prev[b], U unchanged) or a y (cur[b-1], U + a).
			copy(c, prev[b])
			for u, v := range cur[b-1] {
				c[u+a] += v
			}
			cur[b] = c
		}
		prev = cur
	}
	counts := prev[m]
	var total float64
	for _, v := range counts {
		total += v
	}
	cdf := make([]float64, len(counts))
	var acc float64
	for u, v := range counts {
		acc += v
		cdf[u] = acc / total
	}
	return cdf
}

// kthDiff returns the k-th smallest (1-based) of the n*m differences y[j] - x[i] without
// forming them: a bisection over the float64 order (at most 64 steps), each counting the
// differences at or below a value with two pointers in O(n + m).
func kthDiff(x, y []float64, k int64) float64 {
	lo, hi := orderKey(y[0]-x[len(x)-1]), orderKey(y[len(y)-1]-x[0])
	for lo < hi {
		mid := lo + (hi-lo)/2
		if countLE(x, y, fromOrderKey(mid)) >= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return fromOrderKey(lo)
}

// countLE counts the pairs with y[j] - x[i] <= v. For a fixed j the difference falls as i
// grows, and the first i where it is <= v only moves right as j grows.
func countLE(x, y []float64, v float64) int64 {
	var c int64
	i := 0
	for _, yj := range y {
		for i < len(x) && yj-x[i] > v {
			i++
		}
		c += int64(len(x) - i)
	}
	return c
}

// orderKey maps a float64 to a uint64 of the same order (negative numbers reversed).
func orderKey(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderKey(k uint64) float64 {
	if k>>63 == 1 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// sortFloats sorts xs (no NaN) in increasing order. Long slices (the round trips and
// lateness of every slot of a long run) are radix sorted on their IEEE 754 bits, 16 bits a
// pass: O(n), several times faster than slices.Sort on a million values. The order is the
// one slices.Sort gives, but for -0, which comes before +0 (slices.Sort holds them equal).
func sortFloats(xs []float64) {
	const radixFrom = 1 << 12
	if len(xs) < radixFrom {
		slices.Sort(xs)
		return
	}
	// order-preserving keys (orderKey): flip every bit of a negative value, the sign bit of
	// the others
	keys, tmp := make([]uint64, len(xs)), make([]uint64, len(xs))
	for i, x := range xs {
		keys[i] = orderKey(x)
	}
	count := make([]int, 1<<16)
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count)
		for _, k := range keys {
			count[k>>shift&0xffff]++
		}
		if count[keys[0]>>shift&0xffff] == len(keys) {
			continue // every key has this digit
		}
		sum := 0
		for d, c := range count {
			count[d], sum = sum, sum+c
		}
		for _, k := range keys {
			d := k >> shift & 0xffff
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, k := range keys {
		xs[i] = fromOrderKey(k)
	}
}
