package compare

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Tags that count scans, not process events.
const (
	scanCountTag  = "ScanCount"
	scanTimeUsTag = "ScanTimeUs"
)

// reorderWindow: an event missing at one place and extra at another, with the same label,
// is one reordered event when the two are at most this far apart (plus the tag's allowed
// shift); farther apart they stay a missing and an extra event.
const reorderWindow = int64(time.Second)

// maxLCSCells bounds the alignment table (4 bytes a cell). Sequences that differ over a
// longer stretch are matched on their common beginning and end only: every event in
// between counts as missing or extra, which still fails, with the first difference right.
const maxLCSCells = 4 << 20

// seqEvent is one discrete event of a run.
type seqEvent struct {
	label string // RejectGate↑, RejectCount+1, Mode→0
	tag   string
	order int // tag order, to order events of one sample
	t     int64
}

// sequenceCriterion (major) compares the discrete events of each after run with those of a
// before run (after run i with before run i modulo the number of before runs: repetitions
// with the same seed describe the same parts).
//
// Events: the edges of bool tags ("RejectGate↑", "RejectGate↓") and the changes of integer
// tags ("RejectCount+1"; a decrease is "RejectCount→0"), from the good samples (the
// runner's transition events come from the same samples), ordered by time and, within one
// sample, by the scenario's tag order. Scan counters (ScanCount, ScanTimeUs and the probes'
// counters) are not events.
//
// Only the time both runs observed is compared: events of one run later than the other
// run's last sample (mapped through the alignment) are left out, so a run that stopped early
// is inconclusive through the data criterion, not a sequence of missing events.
//
// Rule: the sequences are aligned by their longest common subsequence. An event of the
// before run left unmatched is missing; one of the after run extra; a missing and an extra
// event with the same label within 1 s (plus its allowed shift) of each other is one
// reordered event. A matched event of a tag with a tolerance must lie within the tag's shift
// plus one sample period (events are only seen at samples) of its before time, after the
// step alignment of signal comparison. Fail on any missing, extra, reordered or shifted
// event, reporting the first in time; inconclusive when a side has no runs; otherwise pass.
func sequenceCriterion(sc *scenario.Scenario, before, after []*runData) (verdict.Criterion, bool) {
	tags := sequenceTags(sc, before, after)
	if len(tags) == 0 {
		return verdict.Criterion{}, false
	}
	c := verdict.Criterion{
		ID: "sequence", Kind: verdict.KindSequence, Severity: string(scenario.Major),
		Expected:  "the same discrete events (" + strings.Join(tags, ", ") + ") in the same order",
		Tolerance: seqTolText(sc, tags),
	}
	if len(before) == 0 || len(after) == 0 {
		c.Status, c.Reason = verdict.StatusUndecided, "no runs to compare on one side"
		return c, true
	}
	order := map[string]int{}
	for i, t := range tags {
		order[t] = i
	}
	bev := make([][]seqEvent, len(before))
	for i, r := range before {
		bev[i] = runEvents(sc, r, tags, order)
	}
	aev := make([][]seqEvent, len(after))
	for i, r := range after {
		aev[i] = runEvents(sc, r, tags, order)
	}
	c.Before, c.After = eventsText(bev), eventsText(aev)
	var all []seqDiff
	var st seqStats
	var first, firstBlurred *seqDiff
	var firstRun, blurredRun *runData
	for i, a := range after {
		j := i % len(before)
		diffs, s := compareEvents(sc, before[j], a, bev[j], aev[i])
		st.add(s)
		for _, d := range diffs {
			if len(before) > 1 || len(after) > 1 {
				d.text += fmt.Sprintf(" (%s vs %s)", a.label, before[j].label)
			}
			switch {
			case d.blurred == "" && (first == nil || d.t < first.t):
				first, firstRun = &d, a
			case d.blurred != "" && (firstBlurred == nil || d.t < firstBlurred.t):
				firstBlurred, blurredRun = &d, a
			}
		}
		all = append(all, diffs...)
	}
	c.Numbers = map[string]float64{
		"before_events": float64(st.before), "after_events": float64(st.after), "matched": float64(st.matched),
		"missing": float64(st.missing), "extra": float64(st.extra), "reordered": float64(st.reordered),
		"shifted": float64(st.shifted), "max_shift_s": st.maxShift,
	}
	if first == nil {
		c.Status = verdict.Pass
		c.Where = after[0].where("", 0, after[0].last)
		if st.before == 0 && st.after == 0 {
			c.Reason = "no discrete events on either side"
		} else {
			c.Reason = fmt.Sprintf("%d events match in order; largest shift %s", st.matched, fmtSec(st.maxShift))
		}
		if firstBlurred != nil {
			c.Where = blurredRun.where(firstBlurred.tag, firstBlurred.t-int64(100*time.Millisecond), firstBlurred.t+int64(100*time.Millisecond))
			void(&c, fmt.Sprintf("every difference lies in a gap in the data, which could have hidden the event or delayed when it was seen: %s, in a gap of %s", firstBlurred.text, firstBlurred.blurred))
		}
		return c, true
	}
	c.Status = verdict.Fail
	var counts []string
	for _, k := range []struct {
		n    int
		what string
	}{{st.missing, "missing"}, {st.extra, "extra"}, {st.reordered, "reordered"}, {st.shifted, "shifted"}} {
		if k.n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", k.n, k.what))
		}
	}
	c.Reason = fmt.Sprintf("%s; %s of %d events before", first.text, strings.Join(counts, ", "), st.before)
	c.Where = firstRun.where(first.tag, first.t-int64(100*time.Millisecond), first.t+int64(100*time.Millisecond))
	return c, true
}

func seqTolText(sc *scenario.Scenario, tags []string) string {
	var parts []string
	for _, t := range tags {
		if tol, ok := sc.Tolerances[t]; ok {
			parts = append(parts, fmt.Sprintf("%s shift %s", t, tol.Shift))
		}
	}
	if len(parts) == 0 {
		return "order exact; shifts not judged (no tag tolerance)"
	}
	return "order exact; " + strings.Join(parts, ", ") + " (plus one sample period)"
}

// sequenceTags lists the event tags: bool and integer tags the runs sampled, in the
// scenario's sampling order, then the others by name.
func sequenceTags(sc *scenario.Scenario, before, after []*runData) []string {
	skip := map[string]bool{scanCountTag: true, scanTimeUsTag: true}
	for _, p := range sc.Probes {
		if p.Kind == scenario.ProbeScanPeriod {
			skip[p.Counter] = true
		}
	}
	seen := map[string]bool{}
	var sampled []string
	for _, r := range append(append([]*runData{}, before...), after...) {
		for _, t := range r.tr.Run.Tags {
			if !seen[t] {
				seen[t] = true
				sampled = append(sampled, t)
			}
		}
	}
	slices.Sort(sampled)
	var out []string
	take := func(t string) {
		if !seen[t] || skip[t] || slices.Contains(out, t) {
			return
		}
		if ty := pointType(sc, t); ty == point.TypeBool || isInteger(ty) {
			out = append(out, t)
		}
	}
	for _, t := range sc.Sample.Tags {
		take(t)
	}
	for _, t := range sampled {
		take(t)
	}
	return out
}

func runEvents(sc *scenario.Scenario, r *runData, tags []string, order map[string]int) []seqEvent {
	var out []seqEvent
	for _, tag := range tags {
		s, ok := r.tagSeries(tag)
		if !ok {
			continue
		}
		isBool := pointType(sc, tag) == point.TypeBool
		for k := 1; k < len(s.v); k++ {
			prev, v := s.v[k-1], s.v[k]
			var label string
			switch {
			case isBool && (v != 0) != (prev != 0):
				label = tag + "↓"
				if v != 0 {
					label = tag + "↑"
				}
			case !isBool && v > prev:
				label = tag + "+" + strconv.FormatFloat(v-prev, 'g', -1, 64)
			case !isBool && v < prev:
				label = tag + "→" + strconv.FormatFloat(v, 'g', -1, 64)
			default:
				continue
			}
			out = append(out, seqEvent{label: label, tag: tag, order: order[tag], t: s.t[k]})
		}
	}
	slices.SortStableFunc(out, func(x, y seqEvent) int {
		if c := cmpInt64(x.t, y.t); c != 0 {
			return c
		}
		return x.order - y.order
	})
	return out
}

func eventsText(runs [][]seqEvent) string {
	n := 0
	var first []string
	for _, ev := range runs {
		n += len(ev)
	}
	if len(runs) > 0 {
		for _, e := range runs[0] {
			if len(first) == 5 {
				first = append(first, "…")
				break
			}
			first = append(first, e.label)
		}
	}
	s := plural(n, "event", "events")
	if len(runs) > 1 {
		s += fmt.Sprintf(" in %d runs", len(runs))
	}
	if len(first) > 0 {
		s += ": " + strings.Join(first, ", ")
	}
	return s
}

type seqStats struct {
	before, after, matched, missing, extra, reordered, shifted int
	maxShift                                                   float64 // seconds, absolute
}

func (s *seqStats) add(o seqStats) {
	s.before += o.before
	s.after += o.after
	s.matched += o.matched
	s.missing += o.missing
	s.extra += o.extra
	s.reordered += o.reordered
	s.shifted += o.shifted
	s.maxShift = math.Max(s.maxShift, o.maxShift)
}

// seqDiff is one difference; t is in the after run's time. blurred: it lies in a hole in
// the data, which could have hidden the event or delayed when it was seen (holes.go).
type seqDiff struct {
	t       int64
	tag     string
	text    string
	blurred string // the hole, "" when the data is whole there
}

func compareEvents(sc *scenario.Scenario, b, a *runData, be, ae []seqEvent) ([]seqDiff, seqStats) {
	al := align(a, b)
	inv := al.inverse()
	period := max(int64(a.tr.Run.Period), int64(b.tr.Run.Period))
	// the common observed time, give or take a sample: a run that ends when a wait_until
	// holds has its last event on its last sample, which the alignment may map a few µs past
	// the other run's last sample (an alarm that cleared at the end of both runs came out as
	// missing on one side and extra on the other)
	for len(be) > 0 && inv.at(be[len(be)-1].t) > a.last+period {
		be = be[:len(be)-1]
	}
	for len(ae) > 0 && al.at(ae[len(ae)-1].t) > b.last+period {
		ae = ae[:len(ae)-1]
	}
	st := seqStats{before: len(be), after: len(ae)}
	allowed := func(tag string) (int64, bool) {
		tol, ok := sc.Tolerances[tag]
		return int64(tol.Shift) + period, ok
	}
	// in reports the first hole of tag in run r around t (within slack), as text; an event
	// seen at the first sample after a hole may have happened anywhere in it
	in := func(r *runData, tag string, t, slack int64) string {
		if hs := r.holesIn([]string{tag}, t-1, t, slack); len(hs) > 0 {
			return fmt.Sprintf("%s (%s)", hs[0], r.label)
		}
		return ""
	}
	seen := func(ea, eb seqEvent) string { // seen late, after a hole, on either side
		if h := in(a, ea.tag, ea.t, 0); h != "" {
			return h
		}
		return in(b, eb.tag, eb.t, 0)
	}
	ids := map[string]int32{}
	intern := func(ev []seqEvent) []int32 {
		out := make([]int32, len(ev))
		for i, e := range ev {
			id, ok := ids[e.label]
			if !ok {
				id = int32(len(ids))
				ids[e.label] = id
			}
			out[i] = id
		}
		return out
	}
	pairs := lcs(intern(be), intern(ae))
	matchedB := make([]bool, len(be))
	matchedA := make([]bool, len(ae))
	var diffs []seqDiff
	for _, p := range pairs {
		matchedB[p[0]], matchedA[p[1]] = true, true
		eb, ea := be[p[0]], ae[p[1]]
		shift := al.at(ea.t) - eb.t
		st.matched++
		st.maxShift = math.Max(st.maxShift, math.Abs(float64(shift))/1e9)
		if lim, ok := allowed(ea.tag); ok && abs64(shift) > lim {
			st.shifted++
			diffs = append(diffs, seqDiff{ea.t, ea.tag, fmt.Sprintf("%s at %s after the patch is %s from before (%s); allowed %s",
				ea.label, fmtAt(ea.t), fmtSigned(float64(shift)/1e9), fmtAt(eb.t), fmtSec(float64(lim)/1e9)), seen(ea, eb)})
		}
	}
	// neighbours for the reordered texts: the nearest matched event before (in the before
	// run) and after (in the after run)
	prevMatched := func(i int) string {
		for k := i - 1; k >= 0; k-- {
			if matchedB[k] {
				return "after " + be[k].label
			}
		}
		return "first"
	}
	nextMatched := func(j int) string {
		for k := j + 1; k < len(ae); k++ {
			if matchedA[k] {
				return "before " + ae[k].label
			}
		}
		return "last"
	}
	// unmatched, by label, in order
	ub := map[string][]int{}
	var labels []string
	for i, e := range be {
		if !matchedB[i] {
			if _, ok := ub[e.label]; !ok {
				labels = append(labels, e.label)
			}
			ub[e.label] = append(ub[e.label], i)
		}
	}
	ua := map[string][]int{}
	for j, e := range ae {
		if !matchedA[j] {
			if _, ok := ua[e.label]; !ok && ub[e.label] == nil {
				labels = append(labels, e.label)
			}
			ua[e.label] = append(ua[e.label], j)
		}
	}
	for _, l := range labels {
		bs, as := ub[l], ua[l]
		k := 0
		for ; k < len(bs) && k < len(as); k++ {
			eb, ea := be[bs[k]], ae[as[k]]
			lim, _ := allowed(ea.tag)
			if abs64(al.at(ea.t)-eb.t) > reorderWindow+lim {
				break
			}
			st.reordered++
			diffs = append(diffs, seqDiff{min(ea.t, inv.at(eb.t)), ea.tag, fmt.Sprintf("%s reordered: after the patch at %s (%s), before it at %s (%s)",
				l, fmtAt(ea.t), nextMatched(as[k]), fmtAt(eb.t), prevMatched(bs[k])), seen(ea, eb)})
		}
		for _, i := range bs[k:] {
			eb := be[i]
			st.missing++
			lim, _ := allowed(eb.tag)
			t := inv.at(eb.t)
			diffs = append(diffs, seqDiff{t, eb.tag, fmt.Sprintf("%s at %s before the patch is missing after it", eb.label, fmtAt(eb.t)), in(a, eb.tag, t, lim)})
		}
		for _, j := range as[min(k, len(as)):] {
			ea := ae[j]
			st.extra++
			lim, _ := allowed(ea.tag)
			diffs = append(diffs, seqDiff{ea.t, ea.tag, fmt.Sprintf("%s at %s after the patch was not there before", ea.label, fmtAt(ea.t)), in(b, ea.tag, al.at(ea.t), lim)})
		}
	}
	slices.SortStableFunc(diffs, func(x, y seqDiff) int { return cmpInt64(x.t, y.t) })
	return diffs, st
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// inverse maps before times back onto the after run.
func (al alignment) inverse() alignment {
	inv := alignment{a: al.b, b: al.a, slope: make([]float64, len(al.a))}
	for k := 0; k+1 < len(inv.a); k++ {
		inv.slope[k] = float64(inv.b[k+1]-inv.b[k]) / float64(inv.a[k+1]-inv.a[k])
	}
	inv.slope[len(inv.a)-1] = 1
	return inv
}

// lcs returns the index pairs (in x, in y) of a longest common subsequence: the common
// beginning and end, then a table over what lies between (when it fits in maxLCSCells).
func lcs(x, y []int32) [][2]int {
	var pairs [][2]int
	p := 0
	for p < len(x) && p < len(y) && x[p] == y[p] {
		pairs = append(pairs, [2]int{p, p})
		p++
	}
	s := 0
	for s < len(x)-p && s < len(y)-p && x[len(x)-1-s] == y[len(y)-1-s] {
		s++
	}
	mx, my := x[p:len(x)-s], y[p:len(y)-s]
	n, m := len(mx), len(my)
	if n > 0 && m > 0 && n*m <= maxLCSCells {
		// L[i][j]: length of the LCS of mx[i:] and my[j:]
		w := m + 1
		L := make([]int32, (n+1)*w)
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if mx[i] == my[j] {
					L[i*w+j] = L[(i+1)*w+j+1] + 1
				} else {
					L[i*w+j] = max(L[(i+1)*w+j], L[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n && j < m {
			switch {
			case mx[i] == my[j]:
				pairs = append(pairs, [2]int{p + i, p + j})
				i++
				j++
			case L[(i+1)*w+j] >= L[i*w+j+1]:
				i++
			default:
				j++
			}
		}
	}
	for k := s - 1; k >= 0; k-- {
		pairs = append(pairs, [2]int{len(x) - 1 - k, len(y) - 1 - k})
	}
	return pairs
}
