// Package plotdata is what every plot of a trace is drawn from, in the evidence reports
// (harness/report) and on the desktop alike: a tag's good samples, reduced to the minimum
// and maximum of each pixel column so that a plot's cost depends on its width and no spike
// is lost, and round tick steps. It draws nothing and knows neither SQL nor Fyne.
package plotdata

import (
	"math"
	"sort"

	"github.com/patchgate/patchgate/harness/trace"
)

// Series is one tag of one run: sample times (ns, sorted) and values, good numeric samples
// only. Breaks lists, ascending, the indices i > 0 whose sample must not be joined to
// sample i-1: a missing or unusable reading, or a silence longer than three sampling
// periods, came in between. nil: join everything.
type Series struct {
	T      []int64
	V      []float64
	Breaks []int
}

// usable reports whether a sample holds a finite number.
func usable(x trace.Sample) bool {
	return !x.Missing() && x.Text == "" && !math.IsNaN(x.Value) && !math.IsInf(x.Value, 0)
}

// TagSeries extracts tag from tr: its good, finite numeric samples, and the breaks between
// them.
func TagSeries(tr *trace.Trace, tag string) Series {
	var s Series
	if tr == nil || len(tr.Run.Tags) == 0 {
		return s
	}
	idx := -1
	for i, t := range tr.Run.Tags {
		if t == tag {
			idx = i
			break
		}
	}
	if idx < 0 {
		return s
	}
	n := len(tr.Samples)/len(tr.Run.Tags) + 1 // one a sampling slot, about
	s.T, s.V = make([]int64, 0, n), make([]float64, 0, n)
	maxGap := 3 * int64(tr.Run.Period)
	broken := false
	for _, x := range tr.Samples {
		if int(x.Tag) != idx {
			continue
		}
		if !usable(x) {
			broken = true
			continue
		}
		if k := len(s.T); k > 0 {
			if maxGap > 0 && x.T-s.T[k-1] > maxGap {
				broken = true
			}
			if broken {
				s.Breaks = append(s.Breaks, k)
			}
		}
		broken = false
		s.T = append(s.T, x.T)
		s.V = append(s.V, x.Value)
	}
	return s
}

// Column is one pixel column of a decimated series: the smallest and largest value of the
// samples in it. N is 0 for a column no sample falls in (Min and Max are then meaningless).
type Column struct {
	Min, Max float64
	N        int
	MinFirst bool // the minimum came before the maximum (a line through both goes that way)
	// Break: a line must not be drawn into this column from the previous one that holds
	// samples (the series breaks between them).
	Break bool
}

// Decimate reduces the samples of s that lie in [from, to] to width columns of equal time,
// keeping the minimum and maximum of each, so that a plot of millions of samples draws as
// fast as one of width samples and still shows every spike. A sample at to falls in the
// last column. nil when width < 1 or to <= from.
func Decimate(s Series, from, to int64, width int) []Column {
	if width <= 0 || to <= from {
		return nil
	}
	cols := make([]Column, width)
	span := float64(to - from)
	lo := sort.Search(len(s.T), func(i int) bool { return s.T[i] >= from })
	b := sort.SearchInts(s.Breaks, lo)
	var minSeq, maxSeq []int // the sample that gave each column's minimum and maximum
	minSeq, maxSeq = make([]int, width), make([]int, width)
	last := -1 // the column of the previous sample
	for i := lo; i < len(s.T) && s.T[i] <= to; i++ {
		broken := b < len(s.Breaks) && s.Breaks[b] == i
		if broken {
			b++
		}
		c := min(max(int(float64(s.T[i]-from)/span*float64(width)), 0), width-1)
		v := s.V[i]
		col := &cols[c]
		if col.N == 0 {
			col.Min, col.Max = v, v
			minSeq[c], maxSeq[c] = i, i
			col.Break = broken && c != last
		} else {
			if v < col.Min {
				col.Min, minSeq[c] = v, i
			}
			if v > col.Max {
				col.Max, maxSeq[c] = v, i
			}
		}
		col.N++
		col.MinFirst = minSeq[c] <= maxSeq[c]
		last = c
	}
	return cols
}

// Step is a round step (1, 2 or 5 × 10^k) that divides span into about n parts; 1 when
// span or n is not positive.
func Step(span float64, n int) float64 {
	if span <= 0 || n < 1 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// Ticks returns about n round values (multiples of Step) covering [lo, hi]; nil when
// hi <= lo.
func Ticks(lo, hi float64, n int) []float64 {
	if hi <= lo || n < 1 {
		return nil
	}
	step := Step(hi-lo, n)
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		out = append(out, v)
	}
	return out
}
