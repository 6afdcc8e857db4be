package compare_test

import (
	"math"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Synthetic traces for table tests: build trace.Trace values in code, one slot at a time.

// tb builds one trace.
type tb struct {
	tr  *trace.Trace
	ix  map[string]int
	per time.Duration
}

func newTrace(id int64, period time.Duration, tags ...string) *tb {
	b := &tb{tr: &trace.Trace{Run: trace.Run{
		ID: id, Scenario: "synthetic", Status: trace.Completed, TimeMode: "simulated", Period: period, Tags: tags,
		IdentityPre:  driver.Identity{Vendor: "acme", Product: "PLC-1", Firmware: "1.0", Serial: "S1"},
		IdentityPost: driver.Identity{Vendor: "acme", Product: "PLC-1", Firmware: "1.0", Serial: "S1"},
	}}, ix: map[string]int{}, per: period}
	for i, t := range tags {
		b.ix[t] = i
	}
	return b
}

// firmware sets the firmware of both identities.
func (b *tb) firmware(v string) *tb {
	b.tr.Run.IdentityPre.Firmware, b.tr.Run.IdentityPost.Firmware = v, v
	return b
}

// slot appends one sample per tag at slot*period (+dt): NaN is a Missing sample, -Inf a
// Bad one.
func (b *tb) slotAt(slot int64, t int64, vals ...float64) *tb {
	for i, v := range vals {
		s := trace.Sample{Slot: slot, Tag: uint16(i), T: t, Quality: driver.Good, Value: v}
		switch {
		case math.IsNaN(v):
			s.Quality = driver.Missing
		case math.IsInf(v, -1):
			s.Quality, s.Value = driver.Bad, math.NaN()
		}
		b.tr.Samples = append(b.tr.Samples, s)
	}
	return b
}

func (b *tb) slot(slot int64, vals ...float64) *tb {
	return b.slotAt(slot, slot*int64(b.per), vals...)
}

// fill appends slots from..to-1 with values from f.
func (b *tb) fill(from, to int64, f func(slot int64) []float64) *tb {
	for s := from; s < to; s++ {
		b.slot(s, f(s)...)
	}
	return b
}

func (b *tb) ev(es ...trace.Event) *tb {
	b.tr.Events = append(b.tr.Events, es...)
	return b
}

func (b *tb) status(s trace.Status, fault string) *tb {
	b.tr.Run.Status, b.tr.Run.Fault = s, fault
	return b
}

func (b *tb) done() *trace.Trace { return b.tr }

func ms(n float64) int64 { return int64(n * float64(time.Millisecond)) }

func stepStart(step int, t int64, msg string) trace.Event {
	return trace.Event{T: t, Kind: trace.EvStepStart, Step: step, Msg: msg}
}

func check(id string, step int, t int64, status, msg string) trace.Event {
	return trace.Event{T: t, Kind: trace.EvCheck, Step: step, Tag: id, Value: status, Msg: msg}
}

// parseScenario compiles a scenario against the shipped point maps.
func parseScenario(t testing.TB, src string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse("test.yaml", []byte(src), func(name string) (*point.Map, error) {
		return point.Load("../../scenarios/" + name)
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// byID finds a criterion.
func byID(t testing.TB, cs []verdict.Criterion, id string) verdict.Criterion {
	t.Helper()
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	t.Fatalf("no criterion %q among %v", id, ids)
	return verdict.Criterion{}
}

func traces(ts ...*trace.Trace) []*trace.Trace { return ts }

func run(sc *scenario.Scenario, before, after []*trace.Trace) []verdict.Criterion {
	return compare.Compare(sc, before, after, compare.Patch{})
}
