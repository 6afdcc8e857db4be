package compare

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Signal comparison must keep up with long runs: one signal of 1M samples per side in at
// most 20 ms, 100 of them in at most 3 s (on the 2-core bench laptop).
//
//	go test -run XXX -bench 'Signal' -benchtime 10x ./harness/compare/

const benchN = 1 << 20

// benchTrace is one tag sampled every 10 ms: a slow sine with noise, the after run slightly
// slower (its steps start later) and lagging.
func benchTrace(id int64, n int, stretch float64, seed uint64) *trace.Trace {
	rng := rand.New(rand.NewPCG(seed, 1))
	tr := &trace.Trace{Run: trace.Run{ID: id, Status: trace.Completed, Period: 10 * time.Millisecond, Tags: []string{"Level"}}}
	tr.Samples = make([]trace.Sample, n)
	for k := range tr.Samples {
		t := float64(k) * 0.01 * stretch
		tr.Samples[k] = trace.Sample{Slot: int64(k), T: int64(t * 1e9), Quality: driver.Good,
			Value: 50 + 10*math.Sin(float64(k)/5000) + 0.02*rng.NormFloat64()}
	}
	for s := 1; s <= 10; s++ {
		tr.Events = append(tr.Events, trace.Event{Kind: trace.EvStepStart, Step: s, T: int64(float64(s) * float64(n) / 10 * 0.01 * stretch * 1e9)})
	}
	return tr
}

func benchScenario() *scenario.Scenario {
	pm := &point.Map{Name: "bench", Points: []point.Point{{Tag: "Level", Type: point.TypeFloat32}}}
	return &scenario.Scenario{Points: pm, Sample: scenario.Sample{Period: 10 * time.Millisecond, Tags: []string{"Level"}},
		Tolerances: map[string]scenario.Tolerance{"Level": {Absolute: 0.5, Shift: 200 * time.Millisecond}}}
}

// BenchmarkSignal1M: one signal of 1M samples a side, band and envelope (the after run
// aligned on the before run's steps, the window slid, every after sample judged).
func BenchmarkSignal1M(b *testing.B) {
	p := benchPair(1)
	var sc scratch
	for b.Loop() {
		r := compareSignal(&sc, p.a, []series{p.b}, []alignment{p.al}, 0.5, 0, int64(200*time.Millisecond), int64(200*time.Millisecond))
		if r.compared < benchN*9/10 {
			b.Fatalf("%+v", r)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/signal")
}

// BenchmarkSignal1MFromTraces: the whole signal criterion from two traces of 1M samples,
// taking the tag's samples out of the traces too.
func BenchmarkSignal1MFromTraces(b *testing.B) {
	sc := benchScenario()
	bt, at := benchTrace(1, benchN, 1, 1), benchTrace(2, benchN, 1.01, 2)
	for b.Loop() {
		var br, ar []*runData
		var wg sync.WaitGroup
		wg.Go(func() { br = indexRuns(sideBefore, []*trace.Trace{bt}, indexing{}) })
		ar = indexRuns(sideAfter, []*trace.Trace{at}, indexing{})
		wg.Wait()
		cs := signalCriteria(sc, br, ar)
		if len(cs) != 1 || cs[0].Numbers["compared"] < benchN*9/10 {
			b.Fatalf("%+v", cs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/signal")
}

type benchSeries struct {
	a, b series
	al   alignment
}

func benchPair(i int) benchSeries {
	br := indexRun(sideBefore, 1, benchTrace(1, benchN, 1, uint64(2*i+1)), indexing{})
	ar := indexRun(sideAfter, 1, benchTrace(2, benchN, 1.01, uint64(2*i+2)), indexing{})
	return benchSeries{ar.good[0], br.good[0], align(ar, br)}
}

// BenchmarkSignals100x1M: 100 signals of 1M samples a side (8 distinct pairs of 16 MB
// series used in turn, so that none is in a cache), band and envelope each.
func BenchmarkSignals100x1M(b *testing.B) {
	pairs := make([]benchSeries, 8)
	for i := range pairs {
		pairs[i] = benchPair(i)
	}
	var sc scratch
	b.ResetTimer()
	for b.Loop() {
		for s := range 100 {
			p := pairs[s%len(pairs)]
			r := compareSignal(&sc, p.a, []series{p.b}, []alignment{p.al}, 0.5, 0, int64(200*time.Millisecond), int64(200*time.Millisecond))
			if r.compared < benchN*9/10 {
				b.Fatalf("%+v", r)
			}
		}
	}
}

// BenchmarkScanPeriod2x1M: the scan-period criterion of two runs of 1M counter samples a side
// (10 ms slots, a 10 ms scan, reads 0.3 ms): the pieces, their bound, and the segments
// beside it.
//
//	go test -run '^$' -bench ScanPeriod2x1M -benchtime 5x ./harness/compare/
func BenchmarkScanPeriod2x1M(b *testing.B) {
	counter := func(id int64, scan float64) *trace.Trace {
		tr := &trace.Trace{Run: trace.Run{ID: id, Status: trace.Completed, Period: 10 * time.Millisecond, Tags: []string{"ScanCount"}}}
		tr.Samples = make([]trace.Sample, benchN)
		for k := range tr.Samples {
			t := int64(k) * int64(10*time.Millisecond)
			tr.Samples[k] = trace.Sample{Slot: int64(k), T: t + 300_000, Quality: driver.Good, Value: math.Floor(float64(t) / 1e9 / scan)}
		}
		return tr
	}
	bt, at := counter(1, 0.010), counter(2, 0.0105)
	p := scenario.Probe{Name: "scan_period", Kind: scenario.ProbeScanPeriod, Counter: "ScanCount", Tolerance: scenario.Tolerance{Relative: 0.02}, Severity: scenario.Critical}
	sc := &scenario.Scenario{Probes: []scenario.Probe{p}}
	br, ar := timingRuns(sideBefore, []*trace.Trace{bt}, indexing{}), timingRuns(sideAfter, []*trace.Trace{at}, indexing{})
	for b.Loop() {
		cs := timingCriteria(sc, br, ar, verdict.Calibration{RoundTripP99Us: 300})
		if cs[0].Status != verdict.Fail {
			b.Fatalf("%+v", cs[0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/probe")
}
