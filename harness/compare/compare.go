// Package compare compares the runs of a scenario before a patch with the runs after it and
// returns one verdict.Criterion per finding, each with what was expected, what was seen
// before and after, the tolerance, the outcome and why, and where in the traces to look.
// It is pure: no I/O, no clock, no globals; the same traces always give the same criteria.
//
// Criteria, in this order (ids are stable):
//
//	data               critical  every run completed; no connection gaps, missed slots or
//	                             missing samples (gaps the scenario asked for, by a restart or
//	                             reconnect step, are expected and only listed)
//	identity:firmware  critical  the firmware changed, and as the patch says
//	identity:points    critical  every point reads as before; vendor, product, serial and
//	                             OPC UA nodes unchanged
//	check:<id>         step's    each scenario expect / wait_until
//	signal:<tag>       tag's     each tag with a tolerance: after within the before envelope
//	sequence           major     discrete events (bool edges, counter increments): none
//	                             missing, extra or reordered; shifts within tolerance
//	timing:<probe>     probe's   each timing probe, compared as distributions
//	posture            scenario's the security posture (posture.go), when the scenario asks
//
// The decision rules of each kind are documented where they are computed (data.go,
// identity.go, checks.go, signal.go, sequence.go, timing.go, posture.go). Criterion.Numbers hold the
// statistics behind each finding; times there are in seconds.
//
// Runs are indexed, and long signals compared, by several goroutines at once; Compare waits
// for them, and the result is the same as one goroutine's.
package compare

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Patch is what the patch claims to change; an empty version is unknown and not checked.
type Patch struct {
	FromVersion string
	ToVersion   string
}

// Side names, as in verdict.Where.
const (
	sideBefore = "before"
	sideAfter  = "after"
)

// Compare compares the before runs with the after runs of sc. Either side may hold several
// repetitions; nil traces are ignored.
func Compare(sc *scenario.Scenario, before, after []*trace.Trace, patch Patch) []verdict.Criterion {
	if sc == nil {
		sc = &scenario.Scenario{}
	}
	var b, a []*runData
	var wg sync.WaitGroup
	ix := indexingOf(sc)
	wg.Go(func() { b = indexRuns(sideBefore, before, ix) })
	a = indexRuns(sideAfter, after, ix)
	wg.Wait()
	var all []*trace.Trace
	for _, r := range append(append([]*runData{}, b...), a...) {
		all = append(all, r.tr)
	}
	cal := Calibrate(all)
	out := []verdict.Criterion{
		dataCriterion(sc, b, a),
		firmwareCriterion(b, a, patch),
		pointsCriterion(b, a),
	}
	out = append(out, checkCriteria(sc, b, a)...)
	out = append(out, signalCriteria(sc, b, a)...)
	if c, ok := sequenceCriterion(sc, b, a); ok {
		out = append(out, c)
	}
	out = append(out, timingCriteria(sc, b, a, cal)...)
	if c, ok := postureCriterion(sc, b, a); ok {
		out = append(out, c)
	}
	voided(out)
	return out
}

// series is one tag's good numeric samples of one run, in time order.
type series struct {
	t        []int64   // ns since run start
	v        []float64 // never NaN
	min, max float64   // of v (+Inf, -Inf when empty)
}

// runData is one run indexed for comparison.
type runData struct {
	tr    *trace.Trace
	side  string
	label string // "before run 12", or "before run #2" for a run not stored
	tagIx map[string]int
	good  []series // by tag index
	nGood []int
	nBad  []int
	nMiss []int
	text  []string // first good text by tag index (string tags)
	steps map[int]int64
	end   int64 // last sample or event time
	last  int64 // last sample time: the run observed the plant until then
	// origin is when the first step after the setup started: behaviour is judged from here
	// on (docs/architecture.md, "Setup and the start state"). Samples before it are the
	// setup's and are not in good; 0 for a scenario without setup. A run that never got
	// past its setup has its origin at its end.
	origin int64
	// holes are the stretches of each tag (by tag index) after the origin without a good
	// sample where the sampling plan had one: missed slots, connection gaps, failed reads
	// (docs/architecture.md, "Missing data is judged per criterion").
	holes [][]hole
}

// indexRuns indexes the runs of one side, several at a time (each is one pass over its
// samples, bound by memory bandwidth).
func indexRuns(side string, trs []*trace.Trace, ix indexing) []*runData {
	var kept []*trace.Trace
	for _, tr := range trs {
		if tr != nil {
			kept = append(kept, tr)
		}
	}
	out := make([]*runData, len(kept))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for i, tr := range kept {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = indexRun(side, i+1, tr, ix)
		})
	}
	wg.Wait()
	return out
}

// indexing is what indexing a run needs of its scenario.
type indexing struct {
	nSetup int          // setup steps: the origin is the start of step nSetup+1
	asked  map[int]bool // steps that lose communication on purpose (restart, reconnect)
}

func indexingOf(sc *scenario.Scenario) indexing {
	ix := indexing{asked: map[int]bool{}}
	if sc == nil {
		return ix
	}
	ix.nSetup = len(sc.Setup)
	for _, st := range allSteps(sc) {
		if st.Kind == scenario.StepRestart || st.Kind == scenario.StepReconnect {
			ix.asked[st.Index] = true
		}
	}
	return ix
}

// newRunData is run pos (1-based) of a side with its label, tag index, step starts and
// origin; its samples not yet indexed.
func newRunData(side string, pos int, tr *trace.Trace, ix indexing) *runData {
	nSetup := ix.nSetup
	r := &runData{tr: tr, side: side, tagIx: map[string]int{}, steps: map[int]int64{}}
	if tr.Run.ID != 0 {
		r.label = fmt.Sprintf("%s run %d", side, tr.Run.ID)
	} else {
		r.label = fmt.Sprintf("%s run #%d", side, pos)
	}
	for i, t := range tr.Run.Tags {
		r.tagIx[t] = i
	}
	for _, e := range tr.Events {
		if e.Kind == trace.EvStepStart {
			if _, seen := r.steps[e.Step]; !seen {
				r.steps[e.Step] = e.T
			}
		}
	}
	if nSetup > 0 {
		r.origin = math.MaxInt64 // never got past the setup
		if t, ok := r.steps[nSetup+1]; ok {
			r.origin = t
		}
	}
	return r
}

func indexRun(side string, pos int, tr *trace.Trace, ix indexing) *runData {
	r := newRunData(side, pos, tr, ix)
	origin := r.origin
	nt := len(tr.Run.Tags)
	r.good = make([]series, nt)
	r.nGood, r.nBad, r.nMiss = make([]int, nt), make([]int, nt), make([]int, nt)
	r.text = make([]string, nt)
	if nt > 0 {
		per := len(tr.Samples)/nt + 1
		for i := range r.good {
			r.good[i] = series{t: make([]int64, 0, per), v: make([]float64, 0, per), min: math.Inf(1), max: math.Inf(-1)}
		}
	}
	// one pass over the samples: the hot loop of a long run, kept free of function calls
	// and of dependencies through memory
	good, last := r.good, int64(0)
	for i := range tr.Samples {
		s := &tr.Samples[i]
		ti := int(s.Tag)
		if ti >= nt {
			continue
		}
		if s.T > last {
			last = s.T
		}
		switch {
		case s.Quality == driver.Good && s.Value == s.Value && s.T < origin: // the setup's
			r.nGood[ti]++
		case s.Quality == driver.Good && s.Value == s.Value: // a number (not NaN)
			g := &good[ti]
			g.t = append(g.t, s.T)
			g.v = append(g.v, s.Value)
			if s.Value < g.min {
				g.min = s.Value
			}
			if s.Value > g.max {
				g.max = s.Value
			}
		case s.Quality == driver.Good && s.Text != "":
			if r.text[ti] == "" {
				r.text[ti] = s.Text
			}
			r.nGood[ti]++
		case s.Quality == driver.Bad: // the device answered, with an error: not missing data
			r.nBad[ti]++
		default:
			r.nMiss[ti]++
		}
	}
	r.last = last
	for i := range good {
		r.nGood[i] += len(good[i].v)
	}
	for i := range r.good {
		g := &r.good[i]
		if !slices.IsSorted(g.t) {
			idx := make([]int, len(g.t))
			for k := range idx {
				idx[k] = k
			}
			slices.SortStableFunc(idx, func(p, q int) int { return cmpInt64(g.t[p], g.t[q]) })
			t2, v2 := make([]int64, len(idx)), make([]float64, len(idx))
			for k, p := range idx {
				t2[k], v2[k] = g.t[p], g.v[p]
			}
			g.t, g.v = t2, v2
		}
	}
	r.end = r.last
	for _, e := range tr.Events {
		// a load probe runs after the last sample (runner.loads): its reads are not part of
		// the sampled run, whose data and holes end with the samples
		if e.T > r.end && e.Kind != trace.EvLoad {
			r.end = e.T
		}
	}
	r.origin = min(r.origin, r.end)
	r.holes = findHoles(r, ix.asked)
	return r
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tagSeries returns a run's good series of a tag (empty if the run did not sample it).
func (r *runData) tagSeries(tag string) (series, bool) {
	i, ok := r.tagIx[tag]
	if !ok {
		return series{}, false
	}
	return r.good[i], true
}

func (r *runData) where(tag string, from, to int64) *verdict.Where {
	return &verdict.Where{Side: r.side, RunID: r.tr.Run.ID, Tag: tag, FromNs: max(0, from), ToNs: max(0, to)}
}

// pointType is the type of a tag in the scenario's point map (TypeInvalid if unknown).
func pointType(sc *scenario.Scenario, tag string) point.Type {
	if sc.Points == nil {
		return point.TypeInvalid
	}
	p, ok := sc.Points.Point(tag)
	if !ok {
		return point.TypeInvalid
	}
	return p.Type
}

func isInteger(t point.Type) bool {
	switch t {
	case point.TypeInt16, point.TypeUint16, point.TypeInt32, point.TypeUint32, point.TypeInt64, point.TypeUint64:
		return true
	}
	return false
}

// allSteps is setup then steps, as the runner numbers them.
func allSteps(sc *scenario.Scenario) []scenario.Step {
	return append(append([]scenario.Step{}, sc.Setup...), sc.Steps...)
}

func sev(s scenario.Severity) string {
	if s == "" {
		return string(scenario.Major)
	}
	return string(s)
}

// Formatting helpers: one style for every reason line.

// fmtAt formats a time in a run.
func fmtAt(ns int64) string { return fmt.Sprintf("%.3f s", float64(ns)/1e9) }

// fmtSec formats a duration in seconds with a unit that suits it.
func fmtSec(s float64) string {
	a := math.Abs(s)
	switch {
	case math.IsNaN(s) || math.IsInf(s, 0):
		return fmt.Sprint(s)
	case a < 5e-8:
		return "0 ms"
	case a >= 10:
		return fmt.Sprintf("%.1f s", s)
	case a >= 1:
		return fmt.Sprintf("%.2f s", s)
	case a >= 1e-3:
		return fmt.Sprintf("%.2f ms", s*1e3)
	default:
		return fmt.Sprintf("%.1f µs", s*1e6)
	}
}

// fmtSigned is fmtSec with a sign.
func fmtSigned(s float64) string {
	if fmtSec(s) == "0 ms" {
		return "0 ms"
	}
	if s >= 0 {
		return "+" + fmtSec(s)
	}
	return "-" + fmtSec(-s)
}

// fmtVal formats a process value.
func fmtVal(v float64) string { return fmt.Sprintf("%.4g", v) }

// fmtPct formats a fraction as a percentage with the digits that matter: 2%, 5.2%, 0.35%.
func fmtPct(f float64) string {
	p := f*100 + 0 // no "-0"
	d := 2
	switch a := math.Abs(p); {
	case a >= 10:
		d = 0
	case a >= 1:
		d = 1
	}
	s := strconv.FormatFloat(p, 'f', d, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s + "%"
}

func fmtSignedPct(f float64) string {
	if fmtPct(f) == "0%" {
		return "0%"
	}
	if f >= 0 {
		return "+" + fmtPct(f)
	}
	return fmtPct(f)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// listMax joins up to n items and says how many more there are.
func listMax(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
}
