package workspace

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

const ms = int64(time.Millisecond)

// slots builds a trace of one or more tags sampled every 100 ms: vals[slot] holds a value
// per tag, NaN for a missing sample; a nil row is a slot the harness did not take.
func slots(tags []string, vals [][]float64, events ...trace.Event) *trace.Trace {
	tr := &trace.Trace{Run: trace.Run{ID: 7, Period: 100 * time.Millisecond, Tags: tags, Status: trace.Completed}, Events: events}
	for slot, row := range vals {
		for tag, v := range row {
			s := trace.Sample{Slot: int64(slot), Tag: uint16(tag), T: int64(slot)*100*ms + 2*ms, Quality: driver.Good, Value: v}
			if math.IsNaN(v) {
				s.Quality = driver.Missing
			}
			tr.Samples = append(tr.Samples, s)
		}
	}
	return tr
}

var nan = math.NaN()

func TestNoData(t *testing.T) {
	at := func(slot int64) int64 { return slot*100*ms + 2*ms }
	cases := map[string]struct {
		tags []string
		vals [][]float64
		tag  string
		want []Span
	}{
		"all good":      {[]string{"L"}, [][]float64{{1}, {2}, {3}}, "", nil},
		"one missing":   {[]string{"L"}, [][]float64{{1}, {nan}, {3}, {4}}, "", []Span{{at(0), at(2)}}},
		"two runs":      {[]string{"L"}, [][]float64{{1}, {nan}, {nan}, {4}, {nan}, {6}}, "", []Span{{at(0), at(3)}, {at(3), at(5)}}},
		"missed slots":  {[]string{"L"}, [][]float64{{1}, nil, nil, {4}}, "", []Span{{at(0), at(3)}}},
		"leading":       {[]string{"L"}, [][]float64{{nan}, {2}}, "", []Span{{0, at(1)}}},
		"trailing":      {[]string{"L"}, [][]float64{{1}, {2}, {nan}, {nan}}, "", []Span{{at(1), at(3) + 1}}},
		"nothing good":  {[]string{"L"}, [][]float64{{nan}, {nan}}, "", []Span{{0, at(1) + 1}}},
		"other tag bad": {[]string{"L", "A"}, [][]float64{{1, 0}, {2, nan}, {3, 1}}, "L", nil},
		"any tag bad":   {[]string{"L", "A"}, [][]float64{{1, 0}, {2, nan}, {3, 1}}, "", []Span{{at(0), at(2)}}},
		"this tag bad":  {[]string{"L", "A"}, [][]float64{{1, 0}, {2, nan}, {3, 1}}, "A", []Span{{at(0), at(2)}}},
		"unknown tag":   {[]string{"L"}, [][]float64{{nan}}, "X", nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := NoData(slots(tc.tags, tc.vals), tc.tag); !slices.Equal(got, tc.want) {
				t.Errorf("NoData = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTimelineByHand: two hand-made runs; the alarm comes 300 ms later after, a check that
// passed before fails after, the after run loses its connection for 300 ms and misses slots.
func TestTimelineByHand(t *testing.T) {
	before := slots([]string{"Level", "AlarmHigh"}, [][]float64{{50, 0}, {60, 0}, {70, 0}, {80, 0}, {90, 1}, {91, 1}, {92, 1}, {93, 1}, {94, 1}, {95, 1}},
		trace.Event{T: 0, Kind: trace.EvStepStart, Step: 1, Msg: "mark fill"},
		trace.Event{T: 0, Kind: trace.EvMark, Step: 1, Msg: "fill"},
		trace.Event{T: 1 * ms, Kind: trace.EvStepEnd, Step: 1},
		trace.Event{T: 1 * ms, Kind: trace.EvStepStart, Step: 2, Msg: "wait until AlarmHigh"},
		trace.Event{T: 402 * ms, Kind: trace.EvTransition, Tag: "AlarmHigh", Value: "true"},
		trace.Event{T: 402 * ms, Kind: trace.EvCheck, Step: 2, Tag: "alarm_high_trips", Value: "pass"},
		trace.Event{T: 402 * ms, Kind: trace.EvStepEnd, Step: 2},
		trace.Event{T: 402 * ms, Kind: "probe", Tag: "alarm_response", Value: "0.402"},
		trace.Event{T: 0, Kind: trace.EvIdentity, Msg: "not on the timeline"},
	)
	after := slots([]string{"Level", "AlarmHigh"}, [][]float64{{50, 0}, {60, 0}, {nan, nan}, {nan, nan}, {nan, nan}, {84, 0}, {86, 0}, {92, 1}, {93, 1}, {94, 1}},
		trace.Event{T: 0, Kind: trace.EvStepStart, Step: 1, Msg: "mark fill"},
		trace.Event{T: 0, Kind: trace.EvMark, Step: 1, Msg: "fill"},
		trace.Event{T: 1 * ms, Kind: trace.EvStepEnd, Step: 1},
		trace.Event{T: 1 * ms, Kind: trace.EvStepStart, Step: 2, Msg: "wait until AlarmHigh"},
		trace.Event{T: 202 * ms, Kind: trace.EvGapStart, Msg: "connection reset"},
		trace.Event{T: 502 * ms, Kind: trace.EvGapEnd, Msg: "connection back after 300ms"},
		trace.Event{T: 702 * ms, Kind: trace.EvTransition, Tag: "AlarmHigh", Value: "true"},
		trace.Event{T: 702 * ms, Kind: trace.EvCheck, Step: 2, Tag: "alarm_high_trips", Value: "fail", Msg: "late"},
		trace.Event{T: 702 * ms, Kind: trace.EvStepEnd, Step: 2},
		trace.Event{T: 702 * ms, Kind: "probe", Tag: "alarm_response", Value: "0.702"},
		trace.Event{T: 800 * ms, Kind: trace.EvMissed, Value: "2", Msg: "slots 8-9 missed"},
		trace.Event{T: 905 * ms, Kind: trace.EvTransition, Tag: "Interlock", Value: "true"},
	)
	after.Run.ID = 8
	tl := NewTimeline(before, after)

	if tl.Before.Run != "run 7" || tl.After.Run != "run 8" {
		t.Errorf("runs %q, %q", tl.Before.Run, tl.After.Run)
	}
	if tl.End != 905*ms || tl.Before.End != 902*ms {
		t.Errorf("end %d, before end %d", tl.End, tl.Before.End)
	}
	shifts := map[string]int64{}
	for _, s := range tl.Shifts {
		shifts[s.Key] = s.Delta()
	}
	want := map[string]int64{"step:1": 0, "mark:fill": 0, "step:2": 0, "state:AlarmHigh=true": 300 * ms,
		"check:alarm_high_trips": 300 * ms, "probe:alarm_response": 300 * ms}
	for k, d := range want {
		if got, ok := shifts[k]; !ok || got != d {
			t.Errorf("shift %s = %v (matched %v), want %v", k, time.Duration(got), ok, time.Duration(d))
		}
	}
	if len(tl.Shifts) != len(want) {
		t.Errorf("%d shifts, want %d: %+v", len(tl.Shifts), len(want), tl.Shifts)
	}
	// the alarm, its probe and its check moved together: they count once, as the alarm
	top := tl.LargestShifts(2, 100*ms)
	if len(top) != 1 || top[0].Delta() != 300*ms || top[0].Key != "state:AlarmHigh=true" {
		t.Errorf("largest shifts %+v, want only the alarm's +300 ms", top)
	}
	labels := map[string]string{}
	for _, s := range tl.Shifts {
		labels[s.Key] = s.Label
	}
	if l := labels["check:alarm_high_trips"]; l != "alarm_high_trips pass→fail" {
		t.Errorf("check shift label %q", l)
	}
	if l := labels["probe:alarm_response"]; l != "alarm_response" {
		t.Errorf("probe shift label %q", l)
	}
	if got := tl.LargestShifts(10, 301*ms); len(got) != 0 {
		t.Errorf("shifts of at least 301 ms: %+v", got)
	}
	// pairs point at each other
	for i, e := range tl.Before.Events {
		if e.Pair >= 0 && tl.After.Events[e.Pair].Pair != i {
			t.Errorf("before event %d pairs with %d, which pairs with %d", i, e.Pair, tl.After.Events[e.Pair].Pair)
		}
	}
	if un := tl.After.Unmatched(); len(un) != 1 || un[0].Label != "Interlock=true" {
		t.Errorf("after only: %+v, want the interlock", un)
	}
	var classes []EventClass
	for _, e := range tl.After.Events {
		classes = append(classes, e.Class)
	}
	for _, c := range []EventClass{ClassStep, ClassMark, ClassGap, ClassState, ClassCheckFail, ClassProbe, ClassMissed} {
		if !slices.Contains(classes, c) {
			t.Errorf("after lane lacks a %s event: %v", c, classes)
		}
	}
	if slices.ContainsFunc(tl.Before.Events, func(e TimelineEvent) bool { return e.Msg == "not on the timeline" }) {
		t.Error("an identity event is on the timeline")
	}
	if len(tl.Before.NoData) != 0 {
		t.Errorf("before has no gap, NoData %v", tl.Before.NoData)
	}
	// the missing samples (slots 2-4) and the gap events, and the two missed slots after slot 9
	wantNoData := []Span{{102 * ms, 502 * ms}, {800 * ms, 1000 * ms}}
	if !slices.Equal(tl.After.NoData, wantNoData) {
		t.Errorf("after NoData %v, want %v", tl.After.NoData, wantNoData)
	}
	if s := tl.After.Steps; len(s) != 2 || s[1].Index != 2 || s[1].From != 1*ms || s[1].To != 702*ms || s[1].Label != "wait until AlarmHigh" {
		t.Errorf("after steps %+v", s)
	}
}

// TestTimelineOnSimulatedRuns: on the shipped alarm scenario the alarm-shift firmware raises
// the high alarm at 92 % instead of 90 %, so it comes later; the timeline's shift is the
// difference of the first samples that saw each alarm.
func TestTimelineOnSimulatedRuns(t *testing.T) {
	res := simValidation(t, "tank-alarm-trip.yaml", "baseline", "alarm-shift", 1)
	var seq verdict.Criterion
	for _, c := range res.Record.Criteria {
		if c.ID == "sequence" {
			seq = c
		}
	}
	tl := res.Timeline(seq)
	firstHigh := func(tr *trace.Trace) int64 {
		ti := slices.Index(tr.Run.Tags, "AlarmHigh")
		prev := -1.0
		for _, s := range tr.Samples {
			if int(s.Tag) == ti && !s.Missing() {
				if prev == 0 && s.Value == 1 {
					return s.T
				}
				prev = s.Value
			}
		}
		t.Fatalf("run %d never raised AlarmHigh", tr.Run.ID)
		return 0
	}
	var alarm *Shift
	for i, s := range tl.Shifts {
		if s.Key == "state:AlarmHigh=true" {
			alarm = &tl.Shifts[i]
			break
		}
	}
	if alarm == nil {
		t.Fatalf("no AlarmHigh shift in %+v", tl.Shifts)
	}
	b, a := firstHigh(res.Before[0]), firstHigh(res.After[0])
	if alarm.Before != b || alarm.After != a {
		t.Errorf("alarm at %v before and %v after, samples say %v and %v", alarm.Before, alarm.After, b, a)
	}
	if alarm.Delta() < 100*ms {
		t.Errorf("alarm shifted by %v, want later by at least 100 ms at 92 %% instead of 90 %%", time.Duration(alarm.Delta()))
	}
	if top := tl.LargestShifts(1, 0); len(top) != 1 || top[0].Class != ClassState || abs64(top[0].Delta()) < abs64(alarm.Delta()) {
		t.Errorf("first shift %+v: want a state change moved at least as much as the alarm's %v", top, alarm.Delta())
	}
	if tl.Before.Run == tl.After.Run || len(tl.Before.Steps) == 0 || len(tl.Before.Steps) != len(tl.After.Steps) {
		t.Errorf("lanes %q %d steps, %q %d steps", tl.Before.Run, len(tl.Before.Steps), tl.After.Run, len(tl.After.Steps))
	}
}

func TestGlyphsKeepEveryClass(t *testing.T) {
	const n = 1_000_000
	r := rand.New(rand.NewPCG(5, 6))
	l := Lane{Events: make([]TimelineEvent, n)}
	for i := range l.Events {
		l.Events[i] = TimelineEvent{T: int64(i) * 1000, Class: ClassState, Pair: -1}
	}
	rare := map[int]EventClass{r.IntN(n): ClassFault, r.IntN(n): ClassCheckFail, 0: ClassMark, n - 1: ClassGap}
	for i, c := range rare {
		l.Events[i].Class = c
	}
	cases := map[string]struct {
		from, to int64
		width    int
	}{
		"all in 1000 px":    {0, n * 1000, 1000},
		"zoomed":            {n * 400, n * 401, 640},
		"one column":        {0, n * 1000, 1},
		"wider than events": {0, 100_000, 4000},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := l.Glyphs(tc.from, tc.to, tc.width)
			if len(g) > tc.width*int(NumClasses) {
				t.Fatalf("%d glyphs for %d columns", len(g), tc.width)
			}
			total := 0
			type key struct {
				col int
				c   EventClass
			}
			seen := map[key]bool{}
			for _, x := range g {
				total += x.N
				if x.Col < 0 || x.Col >= tc.width || seen[key{x.Col, x.Class}] {
					t.Fatalf("glyph %+v out of range or twice", x)
				}
				seen[key{x.Col, x.Class}] = true
				if l.Events[x.First].Class != x.Class {
					t.Fatalf("glyph %+v: its first event is a %s", x, l.Events[x.First].Class)
				}
			}
			inRange := 0
			for i, e := range l.Events {
				if e.T < tc.from || e.T >= tc.to {
					continue
				}
				inRange++
				if c, ok := rare[i]; ok && !slices.ContainsFunc(g, func(x Glyph) bool { return x.Class == c }) {
					t.Errorf("the %s at %d was decimated away", c, e.T)
				}
			}
			if total != inRange {
				t.Errorf("glyphs count %d events, %d in range", total, inRange)
			}
		})
	}
	if l.Glyphs(0, 0, 10) != nil || l.Glyphs(0, 10, 0) != nil {
		t.Error("an empty range or width should give nil")
	}
}

func TestColumns(t *testing.T) {
	spans := []Span{{0, 10}, {100, 101}, {102, 103}, {500, 900}}
	cases := map[string]struct {
		from, to int64
		width    int
		want     [][2]int
	}{
		"one px per unit":   {0, 1000, 1000, [][2]int{{0, 10}, {100, 101}, {102, 103}, {500, 900}}},
		"narrow spans stay": {0, 1000, 10, [][2]int{{0, 2}, {5, 9}}},
		"zoomed into one":   {600, 700, 50, [][2]int{{0, 50}}},
		"between spans":     {200, 400, 50, nil},
		"clipped ends":      {5, 600, 595, [][2]int{{0, 5}, {95, 96}, {97, 98}, {495, 595}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Columns(spans, tc.from, tc.to, tc.width); !slices.Equal(got, tc.want) {
				t.Errorf("Columns = %v, want %v", got, tc.want)
			}
		})
	}
}

// BenchmarkTimeline2x1M builds the timeline of a before and an after run of 1M sampling
// slots (3M samples, 200 state changes) and decimates it to 1000 px.
func BenchmarkTimeline2x1M(b *testing.B) {
	res := largeResult(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		tl := res.Timeline(verdict.Criterion{})
		for _, l := range tl.Lanes() {
			if g := l.Glyphs(0, tl.End+1, 1000); len(g) < 100 {
				b.Fatalf("%d glyphs", len(g))
			}
			Columns(l.NoData, 0, tl.End+1, 1000)
		}
	}
}

// TestNoDataOnARestart: the shipped comm-timeout scenario restarts the simulated controller;
// the connection gap the runner records lies inside the lanes' no-data spans, and no good
// sample of Level lies strictly inside one.
func TestNoDataOnARestart(t *testing.T) {
	res := simValidation(t, "tank-comm-timeout.yaml", "baseline", "benign", 1)
	tl := res.Timeline(verdict.Criterion{})
	for i, l := range tl.Lanes() {
		tr := [2]*trace.Trace{res.Before[0], res.After[0]}[i]
		var gap Span
		for _, e := range tr.Events {
			switch e.Kind {
			case trace.EvGapStart:
				gap.From = e.T
			case trace.EvGapEnd:
				gap.To = e.T
			}
		}
		if gap.To <= gap.From {
			t.Fatalf("%s: no connection gap in the run's events", l.Side)
		}
		if !slices.ContainsFunc(l.NoData, func(s Span) bool { return s.From <= gap.From && gap.To <= s.To }) {
			t.Errorf("%s: gap %v not inside no-data spans %v", l.Side, gap, l.NoData)
		}
		spans := NoData(tr, "Level")
		if len(spans) == 0 {
			t.Fatalf("%s: Level has no no-data span across the restart", l.Side)
		}
		ti := slices.Index(tr.Run.Tags, "Level")
		for _, s := range tr.Samples {
			if int(s.Tag) != ti || s.Missing() {
				continue
			}
			for _, sp := range spans {
				if s.T > sp.From && s.T < sp.To {
					t.Fatalf("%s: good Level sample at %v inside no-data span %v", l.Side, s.T, sp)
				}
			}
		}
	}
}

// TestShiftsIn: few moves in view are all drawn; of many, per pixel column the state change
// (before checks, however far they moved), else the largest move, and never more than asked.
func TestShiftsIn(t *testing.T) {
	var tl Timeline
	for i := range int64(100_000) {
		c := ClassCheckFail
		if i%1000 == 500 {
			c = ClassState
		}
		tl.Shifts = append(tl.Shifts, Shift{Key: "k", Class: c, Before: i * 1000, After: i*1000 + (i%7)*100})
	}
	tl.Shifts = append(tl.Shifts, Shift{Key: "step", Class: ClassStep, Before: 5, After: 90_000_000}) // never drawn
	cases := map[string]struct {
		from, to int64
		width, n int
		want     int
	}{
		"few in view: all":   {0, 10_000, 100, 50, 10},
		"many: one a column": {0, 100_000_000, 1000, 5000, 1000},
		"many: capped":       {0, 100_000_000, 1000, 100, 100},
		"none in view":       {200_000_000, 300_000_000, 1000, 100, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := tl.ShiftsIn(tc.from, tc.to, tc.width, tc.n)
			if len(got) != tc.want {
				t.Fatalf("%d shifts, want %d", len(got), tc.want)
			}
			states := 0
			for _, s := range got {
				if s.Class == ClassStep || !(s.Before >= tc.from && s.Before < tc.to || s.After >= tc.from && s.After < tc.to) {
					t.Fatalf("shift %+v out of view or not drawn", s)
				}
				if s.Class == ClassState {
					states++
				}
			}
			// the 100 state changes each lie in a column of their own: they win it, and they
			// come first when capped
			if tc.want >= 100 && states != 100 {
				t.Errorf("%d state changes kept, want all 100", states)
			}
		})
	}
}
