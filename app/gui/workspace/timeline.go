package workspace

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The Compare view's event timeline: the events of a before run and of an after run on one
// time axis (ns since each run's start), one lane per side, with the events that happened on
// both sides matched, so that "the alarm came 300 ms later after the patch" is a line between
// two ticks. Where a run has no data (connection gaps, missed slots, samples without a good
// value, and after its end) the lane says so: missing data never looks like a quiet stretch.

// EventClass is what a timeline event is, as drawn.
type EventClass uint8

const (
	ClassStep           EventClass = iota // a step started
	ClassMark                             // a scenario mark
	ClassWrite                            // a write, or a value restored at the end
	ClassState                            // a discrete tag changed value (alarm, interlock, valve)
	ClassCheckPass                        // an expect or wait_until held
	ClassCheckFail                        // ... failed
	ClassCheckUndecided                   // ... could not be decided
	ClassProbe                            // a response probe saw its condition
	ClassMissed                           // sampling slots were not taken
	ClassGap                              // the connection was lost, or came back
	ClassFault                            // a fault, a restart, a reconnect, an abort
	NumClasses
)

var classNames = [NumClasses]string{"step", "mark", "write", "state change", "check passed", "check failed",
	"check undecided", "probe", "missed slots", "connection gap", "fault or restart"}

func (c EventClass) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return "class " + strconv.Itoa(int(c))
}

// Rows of a lane.
const (
	RowSteps  = iota // steps, marks, writes
	RowEvents        // state changes, checks, probes, and what went wrong: missed slots, gaps, faults
	NumRows
)

// Row is the lane row the class is drawn in.
func (c EventClass) Row() int {
	switch c {
	case ClassStep, ClassMark, ClassWrite:
		return RowSteps
	}
	return RowEvents
}

// TimelineEvent is one event of a lane.
type TimelineEvent struct {
	T     int64 // ns since the run's start
	Class EventClass
	// Key matches the event with the same one on the other side (the n-th occurrence of a
	// key with the n-th); "" for events that are never matched (missed slots, gaps).
	Key   string
	Label string // short: "AlarmHigh=true", "mark fill", "alarm_high_trips fail"
	Msg   string // the trace's message, if any
	Pair  int    // index of the matched event in the other lane's Events, -1 if none
}

// Span is a time range [From, To), ns since the run's start.
type Span struct{ From, To int64 }

// StepSpan is one step of a run, from its start to its end.
type StepSpan struct {
	Span
	Index int
	Label string
}

// Lane is one run on the timeline.
type Lane struct {
	Side   string // before or after
	Run    string // "run 12" (register id), or "run #2" (repetition) when not stored
	Events []TimelineEvent
	Steps  []StepSpan
	NoData []Span // sorted, disjoint: where the run did not observe the plant
	End    int64  // the last sample or event; the run has no data after it
}

// Shift is an event seen on both sides, with its time on each.
type Shift struct {
	Key, Label    string
	Class         EventClass
	Before, After int64 // ns since each run's start
}

// Delta is how much later (negative: earlier) the event came after the patch, ns.
func (s Shift) Delta() int64 { return s.After - s.Before }

// Timeline is a before run and an after run on one time axis.
type Timeline struct {
	Before, After Lane
	End           int64   // ns: the end of the longer run
	Shifts        []Shift // every matched event, in before order
}

// Lanes are the two lanes, before first.
func (t *Timeline) Lanes() [2]*Lane { return [2]*Lane{&t.Before, &t.After} }

// Runs picks the before and after run a criterion is about, as Overlay does: the first of
// each side, or the run its Where names. Either may be nil.
func (res *Result) Runs(c verdict.Criterion) (b, a *trace.Trace) {
	if len(res.Before) > 0 {
		b = res.Before[0]
	}
	if len(res.After) > 0 {
		a = res.After[0]
	}
	if w := c.Where; w != nil && w.RunID != 0 {
		for _, t := range res.Before {
			if t != nil && t.Run.ID == w.RunID {
				b = t
			}
		}
		for _, t := range res.After {
			if t != nil && t.Run.ID == w.RunID {
				a = t
			}
		}
	}
	return b, a
}

// Timeline gives the timeline of the runs criterion c points at (the first run of each side
// for a criterion that points at none).
func (res *Result) Timeline(c verdict.Criterion) Timeline {
	if res == nil {
		return Timeline{}
	}
	return NewTimeline(res.Runs(c))
}

// NewTimeline puts the events of before and after on one time axis and matches them. A nil
// trace gives an empty lane.
func NewTimeline(before, after *trace.Trace) Timeline {
	t := Timeline{Before: newLane("before", before), After: newLane("after", after)}
	t.End = max(t.Before.End, t.After.End)
	t.Shifts = make([]Shift, 0, min(len(t.Before.Events), len(t.After.Events)))
	// match the n-th occurrence of each key on one side with the n-th on the other
	seen := map[string][]int{}
	for i, e := range t.After.Events {
		if e.Key != "" {
			seen[e.Key] = append(seen[e.Key], i)
		}
	}
	for i := range t.Before.Events {
		b := &t.Before.Events[i]
		q := seen[b.Key]
		if b.Key == "" || len(q) == 0 {
			continue
		}
		j := q[0]
		seen[b.Key] = q[1:]
		a := &t.After.Events[j]
		b.Pair, a.Pair = j, i
		t.Shifts = append(t.Shifts, Shift{Key: b.Key, Label: shiftLabel(b, a), Class: b.Class, Before: b.T, After: a.T})
	}
	return t
}

// shiftLabel names a matched event: a check with its outcome on each side
// ("alarm_high_threshold pass→fail"), a probe by its name, anything else by its label.
func shiftLabel(b, a *TimelineEvent) string {
	switch {
	case b.Class == ClassProbe:
		return strings.TrimPrefix(b.Key, "probe:")
	case strings.HasPrefix(b.Key, "check:"):
		id := strings.TrimPrefix(b.Key, "check:")
		bs, as := strings.TrimPrefix(b.Label, id+" "), strings.TrimPrefix(a.Label, id+" ")
		if bs != as {
			return id + " " + bs + "→" + as
		}
	}
	return b.Label
}

func newLane(side string, tr *trace.Trace) Lane {
	l := Lane{Side: side}
	if tr == nil {
		return l
	}
	l.Run = "run #" + strconv.Itoa(tr.Run.Repetition)
	if tr.Run.ID != 0 {
		l.Run = "run " + strconv.FormatInt(tr.Run.ID, 10)
	}
	if n := len(tr.Samples); n > 0 {
		l.End = tr.Samples[n-1].T
	}
	open := map[int]int{} // step index -> its StepSpan
	var gaps []Span
	gapFrom := int64(-1)
	// a run of hours repeats a few keys and labels (an alarm toggling) a million times: build
	// each once
	type name struct{ key, label string }
	names := map[[3]string]name{}
	named := func(kind trace.EventKind, tag, value string, build func() (string, string)) (string, string) {
		k := [3]string{string(kind), tag, value}
		n, ok := names[k]
		if !ok {
			n.key, n.label = build()
			names[k] = n
		}
		return n.key, n.label
	}
	l.Events = make([]TimelineEvent, 0, len(tr.Events))
	for _, e := range tr.Events {
		l.End = max(l.End, e.T)
		ev := TimelineEvent{T: e.T, Msg: e.Msg, Pair: -1}
		switch e.Kind {
		case trace.EvStepStart:
			open[e.Step] = len(l.Steps)
			l.Steps = append(l.Steps, StepSpan{Span: Span{e.T, -1}, Index: e.Step, Label: e.Msg})
			ev.Class, ev.Key, ev.Label = ClassStep, "step:"+strconv.Itoa(e.Step), fmt.Sprintf("step %d %s", e.Step, e.Msg)
		case trace.EvStepEnd:
			if i, ok := open[e.Step]; ok {
				l.Steps[i].To = e.T
				delete(open, e.Step)
			}
			continue
		case trace.EvMark:
			ev.Class, ev.Key, ev.Label = ClassMark, "mark:"+e.Msg, "mark "+e.Msg
		case trace.EvWrite:
			ev.Class = ClassWrite
			ev.Key, ev.Label = named(e.Kind, e.Tag, e.Value, func() (string, string) { return "write:" + e.Tag + "=" + e.Value, e.Tag + ":=" + e.Value })
		case trace.EvRestore:
			ev.Class = ClassWrite
			ev.Key, ev.Label = named(e.Kind, e.Tag, e.Value, func() (string, string) { return "restore:" + e.Tag, "restore " + e.Tag + ":=" + e.Value })
		case trace.EvTransition:
			ev.Class = ClassState
			ev.Key, ev.Label = named(e.Kind, e.Tag, e.Value, func() (string, string) { return "state:" + e.Tag + "=" + e.Value, e.Tag + "=" + e.Value })
		case trace.EvCheck:
			ev.Key, ev.Label = named(e.Kind, e.Tag, e.Value, func() (string, string) { return "check:" + e.Tag, e.Tag + " " + e.Value })
			switch e.Value {
			case "pass":
				ev.Class = ClassCheckPass
			case "fail":
				ev.Class = ClassCheckFail
			default:
				ev.Class = ClassCheckUndecided
			}
		case "probe":
			ev.Class, ev.Key, ev.Label = ClassProbe, "probe:"+e.Tag, e.Tag
			if v, err := strconv.ParseFloat(e.Value, 64); err == nil {
				ev.Label += " " + fmtSeconds(v)
			}
		case trace.EvMissed:
			ev.Class, ev.Label = ClassMissed, e.Value+" slots missed"
			if n, err := strconv.ParseInt(e.Value, 10, 64); err == nil && tr.Run.Period > 0 {
				gaps = append(gaps, Span{e.T, e.T + n*int64(tr.Run.Period)})
			}
		case trace.EvGapStart:
			ev.Class, ev.Label = ClassGap, "connection lost"
			if gapFrom < 0 {
				gapFrom = e.T
			}
		case trace.EvGapEnd:
			ev.Class, ev.Label = ClassGap, "connection back"
			if gapFrom >= 0 {
				gaps = append(gaps, Span{gapFrom, e.T})
				gapFrom = -1
			}
		case trace.EvFault, trace.EvAbort:
			ev.Class, ev.Label = ClassFault, e.Msg
			if e.Kind == trace.EvAbort {
				ev.Label = "aborted"
			}
			if e.Step != 0 { // a restart or reconnect the scenario asked for
				ev.Key = "fault:" + strconv.Itoa(e.Step) + ":" + e.Msg
			}
		default: // identity, arming, dry run: not about the plant's timing
			continue
		}
		l.Events = append(l.Events, ev)
	}
	for i := range l.Steps {
		if l.Steps[i].To < 0 {
			l.Steps[i].To = l.End // a step the run did not finish
		}
	}
	if gapFrom >= 0 {
		gaps = append(gaps, Span{gapFrom, l.End})
	}
	slices.SortStableFunc(l.Events, func(a, b TimelineEvent) int { return cmp.Compare(a.T, b.T) })
	l.NoData = mergeSpans(append(NoData(tr, ""), gaps...))
	return l
}

// NoData gives where run tr has no good value of tag ("" for any sampled tag): from the last
// good sample before one or more bad, missing or missed sampling slots to the next good
// sample (or the run's last sample). The plant is unknown there, so a plot must not join the
// samples on either side. Sorted and disjoint.
func NoData(tr *trace.Trace, tag string) []Span {
	if tr == nil {
		return nil
	}
	ti := -1
	if tag != "" {
		if ti = slices.Index(tr.Run.Tags, tag); ti < 0 {
			return nil
		}
	}
	var out []Span
	var lastGood, lastT int64
	haveGood, inBad, havePrev := false, false, false
	var prevSlot, badFrom int64
	ss := tr.Samples
	for i := 0; i < len(ss); {
		slot, t := ss[i].Slot, ss[i].T
		good, seen := true, false
		j := i
		for ; j < len(ss) && ss[j].Slot == slot; j++ {
			if ti >= 0 && int(ss[j].Tag) != ti {
				continue
			}
			seen = true
			t = ss[j].T
			if ss[j].Missing() {
				good = false
			}
		}
		i = j
		if !seen {
			continue
		}
		lastT = t
		missed := havePrev && slot > prevSlot+1
		havePrev, prevSlot = true, slot
		if (!good || missed) && !inBad {
			inBad, badFrom = true, 0
			if haveGood {
				badFrom = lastGood
			}
		}
		if good {
			if inBad {
				out = append(out, Span{badFrom, t})
				inBad = false
			}
			haveGood, lastGood = true, t
		}
	}
	if inBad {
		out = append(out, Span{badFrom, lastT + 1})
	}
	return out
}

// mergeSpans sorts spans and merges the ones that overlap or touch.
func mergeSpans(s []Span) []Span {
	s = slices.DeleteFunc(s, func(x Span) bool { return x.To <= x.From })
	slices.SortFunc(s, func(a, b Span) int { return cmp.Compare(a.From, b.From) })
	out := s[:0]
	for _, x := range s {
		if n := len(out); n > 0 && x.From <= out[n-1].To {
			out[n-1].To = max(out[n-1].To, x.To)
			continue
		}
		out = append(out, x)
	}
	return out
}

// salient: the classes whose shifts an engineer looks for first.
func salient(c EventClass) bool {
	switch c {
	case ClassMark, ClassState, ClassCheckPass, ClassCheckFail, ClassCheckUndecided, ClassProbe:
		return true
	}
	return false
}

// LargestShifts gives up to n matched marks, state changes, checks and probes whose time
// moved by at least least ns: the plant's state changes first (an alarm, an interlock), then
// marks, probes and checks, the largest move first within each. Events that moved together
// (the same times on both sides: an alarm, the probe it stops, the check it passes) count
// once, as the state change.
func (t *Timeline) LargestShifts(n int, least int64) []Shift {
	var out []Shift
	for _, s := range t.Shifts {
		if salient(s.Class) && abs64(s.Delta()) >= least {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b Shift) int {
		return cmp.Or(cmp.Compare(rank(a.Class), rank(b.Class)), cmp.Compare(abs64(b.Delta()), abs64(a.Delta())))
	})
	type moment struct{ b, a int64 }
	seen := map[moment]bool{}
	kept := out[:0]
	for _, s := range out {
		if m := (moment{s.Before, s.After}); !seen[m] {
			seen[m] = true
			kept = append(kept, s)
		}
	}
	return kept[:min(n, len(kept))]
}

// ShiftsIn gives the matched marks, state changes, checks and probes with a side in
// [from, to), for a plot width pixels wide: all of them when there are at most n, else the
// one that matters most per pixel column of the before time (state changes first, then the
// largest move), and of those the n that matter most. O(shifts), whatever the zoom.
func (t *Timeline) ShiftsIn(from, to int64, width, n int) []Shift {
	if width <= 0 || to <= from {
		return nil
	}
	var in []int
	for i, s := range t.Shifts {
		if salient(s.Class) && (s.Before >= from && s.Before < to || s.After >= from && s.After < to) {
			in = append(in, i)
		}
	}
	better := func(a, b Shift) int {
		return cmp.Or(cmp.Compare(rank(a.Class), rank(b.Class)), cmp.Compare(abs64(b.Delta()), abs64(a.Delta())))
	}
	if len(in) > n {
		best := make([]int, width) // per before column: 1 + index of its shift, 0 for none
		span := float64(to - from)
		for _, i := range in {
			c := min(max(int(float64(t.Shifts[i].Before-from)/span*float64(width)), 0), width-1)
			if b := best[c]; b == 0 || better(t.Shifts[i], t.Shifts[b-1]) < 0 {
				best[c] = i + 1
			}
		}
		in = in[:0]
		for _, b := range best {
			if b > 0 {
				in = append(in, b-1)
			}
		}
	}
	out := make([]Shift, len(in))
	for k, i := range in {
		out[k] = t.Shifts[i]
	}
	if len(out) > n {
		slices.SortStableFunc(out, better)
		out = out[:n]
	}
	return out
}

// rank orders the classes of events that moved together: what the plant did first.
func rank(c EventClass) int {
	switch c {
	case ClassState:
		return 0
	case ClassMark:
		return 1
	case ClassProbe:
		return 2
	}
	return 3
}

// Unmatched gives the salient events of a lane that have no match on the other side: an
// alarm that came before the patch and never after, a check only one side ran.
func (l *Lane) Unmatched() []TimelineEvent {
	var out []TimelineEvent
	for _, e := range l.Events {
		if e.Pair < 0 && e.Key != "" && salient(e.Class) {
			out = append(out, e)
		}
	}
	return out
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// Glyph is the events of one class that fall in one pixel column.
type Glyph struct {
	Col   int
	Class EventClass
	First int // index in Lane.Events of the first of them
	N     int
}

// Glyphs decimates the lane's events in [from, to) to width pixel columns: at most one glyph
// per class and column, whatever the number of events, and never drops a class from a
// column. In column order.
func (l *Lane) Glyphs(from, to int64, width int) []Glyph {
	if width <= 0 || to <= from {
		return nil
	}
	ev := l.Events
	i, _ := slices.BinarySearchFunc(ev, from, func(e TimelineEvent, t int64) int { return cmp.Compare(e.T, t) })
	var last [NumClasses]int // index+1 in out of the class's latest glyph
	var out []Glyph
	span := float64(to - from)
	for ; i < len(ev) && ev[i].T < to; i++ {
		c := min(int(float64(ev[i].T-from)/span*float64(width)), width-1)
		k := ev[i].Class
		if g := last[k]; g > 0 && out[g-1].Col == c {
			out[g-1].N++
			continue
		}
		out = append(out, Glyph{Col: c, Class: k, First: i, N: 1})
		last[k] = len(out)
	}
	return out
}

// Columns maps sorted, disjoint spans onto width pixel columns over [from, to): the runs of
// columns [a, b) they cover, each at least one column wide, touching runs merged.
func Columns(spans []Span, from, to int64, width int) [][2]int {
	if width <= 0 || to <= from {
		return nil
	}
	i, _ := slices.BinarySearchFunc(spans, from, func(s Span, t int64) int { return cmp.Compare(s.To, t+1) })
	var out [][2]int
	scale := float64(width) / float64(to-from)
	for ; i < len(spans) && spans[i].From < to; i++ {
		s := spans[i]
		if s.To <= from {
			continue
		}
		a := int(math.Floor(float64(max(s.From, from)-from) * scale))
		b := int(math.Ceil(float64(min(s.To, to)-from) * scale))
		a, b = min(max(a, 0), width-1), min(max(b, a+1), width)
		if n := len(out); n > 0 && a <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], b)
			continue
		}
		out = append(out, [2]int{a, b})
	}
	return out
}
