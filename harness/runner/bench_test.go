package runner_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/simulators/station"
)

func sampling(b *testing.B, period, d time.Duration) *scenario.Scenario {
	src := fmt.Sprintf("version: 1\nname: sampling\npoints: x\nsample:\n  period: %s\n  tags: [Level, Inflow, Outflow, ScanCount, InletValve, AlarmHigh, Setpoint]\nsteps:\n  - wait: %s\n", period, d)
	pm, err := point.Load("../../scenarios/pointmaps/tank.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sc, err := scenario.Parse("sampling.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
	if err != nil {
		b.Fatal(err)
	}
	return sc
}

// reportLateness runs one sampling run and reports the lateness of each slot's read against
// its intended time, and the missed slots (every one is recorded as an event, none dropped).
func reportLateness(b *testing.B, target string, period, d time.Duration) {
	tg, err := driver.ParseTarget(target)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		res, err := runner.Run(context.Background(), sampling(b, period, d), runner.Options{Target: tg})
		if err != nil {
			b.Fatal(err)
		}
		n := len(res.Trace.Run.Tags)
		var late []time.Duration
		for k := 0; k < len(res.Trace.Samples); k += n {
			late = append(late, time.Duration(res.Trace.Samples[k].Late))
		}
		sort.Slice(late, func(a, c int) bool { return late[a] < late[c] })
		var recorded int64
		for _, e := range res.Trace.Events {
			if e.Kind == "missed" {
				var k int64
				fmt.Sscan(e.Value, &k)
				recorded += k
			}
		}
		slots := int64(d / period)
		unrecorded := slots - int64(len(late)) - recorded
		q := func(p float64) float64 { return float64(late[int(p*float64(len(late)-1))]) / 1e3 }
		b.ReportMetric(q(0.5), "p50_late_us")
		b.ReportMetric(q(0.99), "p99_late_us")
		b.ReportMetric(float64(late[len(late)-1])/1e3, "max_late_us")
		b.ReportMetric(float64(res.Missed), "missed_slots")
		b.ReportMetric(float64(max(unrecorded, 0)), "unrecorded_misses")
	}
}

// BenchmarkSampling100HzModbus: 100 Hz for 60 s over Modbus TCP on loopback (issue 3: p99
// lateness at most 1 ms, zero unrecorded misses).
func BenchmarkSampling100HzModbus(b *testing.B) {
	st, err := station.Start(context.Background(), station.Config{Model: "tank", Seed: 1, Modbus: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reportLateness(b, st.ModbusURL(), 10*time.Millisecond, 60*time.Second)
}

// BenchmarkSampling1kHzInProcess: what 1 kHz achieves against an in-process controller in
// real time, for 20 s.
func BenchmarkSampling1kHzInProcess(b *testing.B) {
	reportLateness(b, "sim://tank", time.Millisecond, 20*time.Second)
}

// BenchmarkSampling1kHzModbus: 1 kHz over Modbus TCP on loopback, for 20 s.
func BenchmarkSampling1kHzModbus(b *testing.B) {
	st, err := station.Start(context.Background(), station.Config{Model: "tank", Seed: 1, Modbus: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reportLateness(b, st.ModbusURL(), time.Millisecond, 20*time.Second)
}
