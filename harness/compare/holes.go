package compare

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Missing data is judged per criterion (docs/architecture.md, "Missing data is judged per
// criterion"): a missed sampling slot, a connection gap that came back or a failed read
// leaves a hole in the tags it touches, and a hole voids only the criteria whose judgement
// it could change:
//   - a check (checks.go) whose window it touches in an after run, when the hole could
//     hide what decides it: the moment a wait_until or expect-within condition held (a fail
//     is then not known), or a moment an expect-hold condition broke (a pass is not known).
//     A pass seen at a sample, or a break seen at a sample, stands;
//   - a signal band (signal.go) whose allowed shift the hole exceeds: in an after run it
//     could hide an excursion (a pass is not known); in a before run it narrows the envelope,
//     so a failure found where it lies is not known;
//   - a sequence difference (sequence.go) that lies in a hole: the event may have been there
//     (missing), or been seen late (extra, reordered or shifted);
//   - a timing value (timing.go) it spans: a response whose clock ran across a hole is left
//     out; the scan period's pieces of counter samples break at holes and the period's
//     interval widens by one count per piece.
// Harness lateness that missed no slot leaves no hole.

// hole is a stretch of one tag, after the run's origin, without a good sample where the
// sampling plan had one.
type hole struct {
	from, to int64 // the good samples either side, ns since run start (to: the run's end when none came back)
	slots    int64 // sampling slots without a good sample
}

// span is how much of the plant the hole hid beyond what sampling hides anyway: the time
// between the good samples either side, less one sampling period.
func (h hole) span(period int64) int64 { return max(0, h.to-h.from-period) }

func (h hole) String() string {
	return fmt.Sprintf("%s at %s", plural(int(h.slots), "slot", "slots"), fmtAt(h.from))
}

// window is a stretch of a run where the scenario asked for a loss of communication: from
// the start of a restart or reconnect step to the first good reading strictly after its end
// (an operator's restart lasts until the controller is back, sampled all along).
type window struct{ from, to int64 }

// askedWindows lists the runs' windows where the scenario asked for a loss of communication
// (a run's step_start message names restart and reconnect steps; asked holds their indexes).
func askedWindows(tr *trace.Trace, asked map[int]bool) []window {
	var starts, ends []int64
	for i, e := range tr.Events {
		if e.Kind == trace.EvStepStart && (asked[e.Step] || strings.HasPrefix(e.Msg, "restart") || strings.HasPrefix(e.Msg, "reconnect")) {
			// the step's end: an operator's restart samples while it lasts
			end := e.T
			for _, f := range tr.Events[i+1:] {
				if f.Kind == trace.EvStepEnd && f.Step == e.Step {
					end = max(end, f.T)
					break
				}
			}
			starts, ends = append(starts, e.T), append(ends, end)
		}
	}
	if len(starts) == 0 {
		return nil // most runs: no pass over the samples
	}
	var goodTimes []int64
	for i := range tr.Samples {
		if s := &tr.Samples[i]; s.Quality == driver.Good {
			if n := len(goodTimes); n == 0 || goodTimes[n-1] != s.T {
				goodTimes = append(goodTimes, s.T)
			}
		}
	}
	if !slices.IsSorted(goodTimes) {
		slices.Sort(goodTimes)
	}
	var wins []window
	for i, t := range starts {
		// the first good reading strictly after the step ended (a reading at the same
		// instant, on simulated time, was taken before the step acted)
		k, _ := slices.BinarySearch(goodTimes, ends[i]+1)
		if k < len(goodTimes) {
			wins = append(wins, window{t, goodTimes[k]})
		}
	}
	return wins
}

// findHoles lists each tag's holes after the run's origin, leaving out those the scenario
// asked for (a restart or reconnect step). Slots are the runner's: a good sample whose slot
// is not the next of the tag's previous good one ends a hole.
func findHoles(r *runData, askedSteps map[int]bool) [][]hole {
	tr := r.tr
	nt := len(tr.Run.Tags)
	out := make([][]hole, nt)
	if nt == 0 || len(tr.Samples) == 0 || r.origin >= r.end {
		return out
	}
	wins := askedWindows(tr, askedSteps)
	asked := func(h hole) bool {
		for _, w := range wins {
			if h.from <= w.to && h.to >= w.from {
				return true
			}
		}
		return false
	}
	type state struct {
		seen      bool // a good sample after the origin
		slot, t   int64
		started   bool // a slot after the origin
		firstSlot int64
	}
	st := make([]state, nt)
	var lastSlot int64 = -1
	for i := range tr.Samples {
		s := &tr.Samples[i]
		ti := int(s.Tag)
		if ti >= nt || s.T < r.origin {
			continue
		}
		lastSlot = max(lastSlot, s.Slot)
		x := &st[ti]
		if !x.started {
			x.started, x.firstSlot = true, s.Slot
		}
		if s.Quality != driver.Good {
			continue
		}
		switch {
		case x.seen && s.Slot > x.slot+1:
			if h := (hole{from: x.t, to: s.T, slots: s.Slot - x.slot - 1}); !asked(h) {
				out[ti] = append(out[ti], h)
			}
		case !x.seen && s.Slot > x.firstSlot:
			if h := (hole{from: r.origin, to: s.T, slots: s.Slot - x.firstSlot}); !asked(h) {
				out[ti] = append(out[ti], h)
			}
		}
		x.seen, x.slot, x.t = true, s.Slot, s.T
	}
	for ti := range st {
		x := &st[ti]
		switch {
		case x.seen && x.slot < lastSlot:
			if h := (hole{from: x.t, to: r.last, slots: lastSlot - x.slot}); !asked(h) {
				out[ti] = append(out[ti], h)
			}
		case !x.seen && x.started:
			out[ti] = append(out[ti], hole{from: r.origin, to: r.last, slots: lastSlot - x.firstSlot + 1})
		}
	}
	return out
}

// holesIn returns the holes of the tags (every tag when tags is empty) whose hidden stretch,
// the open interval between the good samples either side, meets [from-slack, to+slack]. A
// hole that begins at a window's last sample hides nothing of it.
func (r *runData) holesIn(tags []string, from, to, slack int64) []hole {
	var out []hole
	take := func(ti int) {
		for _, h := range r.holes[ti] {
			if h.from < to+slack && h.to > from-slack {
				out = append(out, h)
			}
		}
	}
	if len(tags) == 0 {
		for ti := range r.holes {
			take(ti)
		}
	} else {
		for _, t := range tags {
			if ti, ok := r.tagIx[t]; ok && ti < len(r.holes) {
				take(ti)
			}
		}
	}
	slices.SortFunc(out, func(x, y hole) int { return cmpInt64(x.from, y.from) })
	return out
}

// gapVoided marks a criterion as one a hole in the data left undecided: the data criterion
// lists these.
const gapVoided = "voided_by_gap"

// void makes c inconclusive because of a hole, keeping what it found as the reason's tail.
func void(c *verdict.Criterion, why string) {
	found := c.Reason
	c.Status = verdict.StatusUndecided
	c.Reason = why
	if found != "" {
		c.Reason += "; without it: " + found
	}
	if c.Numbers == nil {
		c.Numbers = map[string]float64{}
	}
	c.Numbers[gapVoided] = 1
}

// voided tells the data criterion (out[0], when it is one) which criteria the holes in the
// data left undecided, so its reason says what the gaps cost.
func voided(out []verdict.Criterion) {
	if len(out) == 0 || out[0].ID != "data" {
		return
	}
	var ids []string
	for _, c := range out[1:] {
		if c.Numbers[gapVoided] == 1 {
			ids = append(ids, c.ID)
		}
	}
	if out[0].Numbers == nil {
		out[0].Numbers = map[string]float64{}
	}
	out[0].Numbers["voided_criteria"] = float64(len(ids))
	if len(ids) > 0 {
		out[0].Reason += "; the gaps leave undecided: " + listMax(ids, 6)
	} else if out[0].Numbers["before_missed_slots"]+out[0].Numbers["after_missed_slots"]+out[0].Numbers["before_gaps"]+out[0].Numbers["after_gaps"]+out[0].Numbers["before_missing_samples"]+out[0].Numbers["after_missing_samples"] > 0 {
		out[0].Reason += "; no criterion's judgement depends on them"
	}
}
