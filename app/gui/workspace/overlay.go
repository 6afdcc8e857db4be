package workspace

import (
	"math"
	"strings"

	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Series is one tag of one run: sample times (ns since run start) and values, good samples
// only, in time order.
type Series struct {
	T []int64
	V []float64
}

// TagSeries extracts tag from tr (good, numeric samples only).
func TagSeries(tr *trace.Trace, tag string) Series {
	var s Series
	if tr == nil {
		return s
	}
	idx := -1
	for i, t := range tr.Run.Tags {
		if t == tag {
			idx = i
		}
	}
	if idx < 0 {
		return s
	}
	for _, x := range tr.Samples {
		if int(x.Tag) != idx || x.Missing() || math.IsNaN(x.Value) {
			continue
		}
		s.T = append(s.T, x.T)
		s.V = append(s.V, x.Value)
	}
	return s
}

// Column is one pixel column of a decimated series: the smallest and largest value of the
// samples that fall in it. N is 0 for a column no sample falls in (Min and Max are then
// meaningless).
type Column struct {
	Min, Max float64
	N        int
}

// Decimate reduces the samples of s that lie in [from, to) to width columns, keeping the
// minimum and maximum of each column, so that a plot of millions of samples draws as fast
// as one of width samples and still shows every spike. s.T must be sorted.
func Decimate(s Series, from, to int64, width int) []Column {
	if width <= 0 || to <= from {
		return nil
	}
	cols := make([]Column, width)
	span := float64(to - from)
	// binary search for the first sample in range
	lo, hi := 0, len(s.T)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.T[m] < from {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := lo; i < len(s.T) && s.T[i] < to; i++ {
		c := int(float64(s.T[i]-from) / span * float64(width))
		if c >= width {
			c = width - 1
		}
		v := s.V[i]
		col := &cols[c]
		if col.N == 0 {
			col.Min, col.Max = v, v
		} else if v < col.Min {
			col.Min = v
		} else if v > col.Max {
			col.Max = v
		}
		col.N++
	}
	return cols
}

// Overlay is what the Compare view plots for one criterion: the before and after traces
// of its tag, the tolerance around the before trace and where to look.
type Overlay struct {
	Tag           string
	Before, After Series
	Tolerance     scenario.Tolerance // zero when the tag has none
	Where         *verdict.Where
	End           int64 // ns: the end of the longer trace
}

// Band is the half-width of the tolerance band at value v.
func (o *Overlay) Band(v float64) float64 {
	return max(o.Tolerance.Absolute, o.Tolerance.Relative*math.Abs(v))
}

// CriterionTag is the tag a criterion is about: its Where.Tag, or the tag of a signal
// criterion ("signal:Level"); "" when it names none.
func CriterionTag(c verdict.Criterion) string {
	if c.Where != nil && c.Where.Tag != "" {
		return c.Where.Tag
	}
	if t, ok := strings.CutPrefix(c.ID, "signal:"); ok {
		return t
	}
	return ""
}

// Overlay gives the overlay of criterion c of res: the first before and after runs (or
// the run the criterion points at). ok is false when c names no tag.
func (res *Result) Overlay(c verdict.Criterion) (o Overlay, ok bool) {
	tag := CriterionTag(c)
	if tag == "" || len(res.Before) == 0 || len(res.After) == 0 {
		return o, false
	}
	b, a := res.Before[0], res.After[0]
	if w := c.Where; w != nil && w.RunID != 0 {
		for _, t := range res.Before {
			if t.Run.ID == w.RunID {
				b = t
			}
		}
		for _, t := range res.After {
			if t.Run.ID == w.RunID {
				a = t
			}
		}
	}
	o = Overlay{Tag: tag, Before: TagSeries(b, tag), After: TagSeries(a, tag), Where: c.Where}
	if res.Scenario != nil && res.Scenario.Scenario != nil {
		o.Tolerance = res.Scenario.Tolerances[tag]
	}
	for _, s := range []Series{o.Before, o.After} {
		if n := len(s.T); n > 0 {
			o.End = max(o.End, s.T[n-1]+1)
		}
	}
	return o, len(o.Before.T)+len(o.After.T) > 0
}
