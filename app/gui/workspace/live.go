package workspace

import (
	"time"

	"github.com/patchgate/patchgate/harness/runner"
)

// LiveEvery is how often, at most, Validate hands progress to the app between steps. The
// runner reports every sampling slot (thousands a second in simulated time); the samples of
// the slots in between are not lost, they travel together in Progress.Live.
const LiveEvery = 100 * time.Millisecond

// liveFeed gathers the numeric values a run samples between two progress reports, so that
// the Validate tab can plot them live without a report per slot.
type liveFeed struct {
	every time.Duration
	last  time.Time // wall time of the last report handed on
	step  int
	buf   map[string]Series
}

func newLiveFeed(every time.Duration) *liveFeed {
	return &liveFeed{every: every, buf: map[string]Series{}}
}

// add takes one runner report and says whether it is time to hand one on: a new step, or
// every LiveEvery of wall time (the app's refresh rate, not run time).
func (f *liveFeed) add(p runner.Progress) bool {
	t := p.Elapsed.Nanoseconds()
	for tag, v := range p.Latest { // tags without a good value this slot are absent: a gap
		if !v.IsNumber() {
			continue
		}
		s := f.buf[tag]
		if n := len(s.T); n > 0 && s.T[n-1] == t {
			continue // the same slot reported twice (a step boundary)
		}
		s.T = append(s.T, t)
		s.V = append(s.V, v.Float())
		f.buf[tag] = s
	}
	now := time.Now()
	if p.Step != f.step || now.Sub(f.last) >= f.every {
		f.step, f.last = p.Step, now
		return true
	}
	return false
}

// take hands over what was gathered since the last take.
func (f *liveFeed) take() map[string]Series {
	b := f.buf
	f.buf = map[string]Series{}
	return b
}
