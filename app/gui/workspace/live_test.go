package workspace

import (
	"slices"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
)

// TestLiveProgressCarriesEverySample: what the Validate tab plots live, pieced together from
// the throttled progress reports, is exactly what the runs recorded.
func TestLiveProgressCarriesEverySample(t *testing.T) {
	w := openTest(t)
	live := map[int]Series{} // per run, the Level samples seen live
	var reports int
	res, err := w.Validate(t.Context(), Request{Scenario: "tank-alarm-trip.yaml",
		Before: "sim://tank?firmware=baseline&time=simulated", After: "sim://tank?firmware=alarm-shift&time=simulated"},
		func(p Progress) {
			reports++
			s := live[p.Run]
			s.T = append(s.T, p.Live["Level"].T...)
			s.V = append(s.V, p.Live["Level"].V...)
			live[p.Run] = s
		})
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range append(res.Before, res.After...) {
		want := TagSeries(tr, "Level")
		got := live[i+1]
		if len(want.T) == 0 || !slices.Equal(got.T, want.T) || !slices.Equal(got.V, want.V) {
			t.Errorf("run %d: %d samples live, %d recorded", i+1, len(got.T), len(want.T))
		}
	}
	slots := 0
	for _, tr := range append(res.Before, res.After...) {
		slots += len(TagSeries(tr, "Level").T)
	}
	if reports >= slots {
		t.Errorf("%d progress reports for %d sampled slots: not throttled", reports, slots)
	}
}

// TestLiveFeedHandsOnEveryStep: throttling never swallows a step change, and a slot
// reported twice (at a step boundary) is kept once.
func TestLiveFeedHandsOnEveryStep(t *testing.T) {
	f := newLiveFeed(time.Hour) // only step changes are due
	var due []int
	for i, step := range []int{0, 1, 1, 1, 2, 2, 3, 3, 3, 3} {
		p := runner.Progress{Step: step, Elapsed: time.Duration(i/2*50) * time.Millisecond,
			Latest: map[string]point.Value{"Level": point.Float(float64(i)), "Name": point.String("x")}}
		if f.add(p) {
			due = append(due, step)
		}
	}
	if !slices.Equal(due, []int{0, 1, 2, 3}) { // the first report is due (wall clock)
		t.Errorf("due at steps %v", due)
	}
	got := f.take()
	if _, ok := got["Name"]; ok {
		t.Error("a text tag in the live series")
	}
	if lv := got["Level"]; !slices.Equal(lv.T, []int64{0, 50e6, 100e6, 150e6, 200e6}) || !slices.Equal(lv.V, []float64{0, 2, 4, 6, 8}) {
		t.Errorf("Level %v %v", lv.T, lv.V)
	}
	if len(f.take()) != 0 {
		t.Error("take did not hand the samples over")
	}
}
