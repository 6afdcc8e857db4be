package discover_test

import (
	"context"
	"testing"

	"github.com/patchgate/patchgate/harness/discover"
	"github.com/patchgate/patchgate/simulators/simtest"
	"github.com/patchgate/patchgate/simulators/station"
)

// BenchmarkModbusProbe10k: a probe of 10 000 addresses (2 500 in each table) of the
// simulated tank over loopback at an unlimited rate. The tank maps a few dozen of them, so
// nearly every address costs a request of its own: this is the worst case, bound by the
// round trip. At the default 50 requests a second the same probe takes about 200 s.
func BenchmarkModbusProbe10k(b *testing.B) {
	st := simtest.StartConfig(b, station.Config{Model: "tank", Seed: 1, OPCUA: "-"})
	ranges, err := discover.ParseRanges("hr:0-2499,ir:0-2499,co:0-2499,di:0-2499")
	if err != nil {
		b.Fatal(err)
	}
	var requests int
	for b.Loop() {
		res, err := discover.Run(context.Background(), st.ModbusURL(), discover.Options{Ranges: ranges})
		if err != nil {
			b.Fatal(err)
		}
		requests = res.Requests
	}
	b.ReportMetric(float64(requests), "requests/op")
	b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "addresses/s")
}

// BenchmarkOPCUABrowse: a browse of the simulated tank (15 variables) over loopback,
// security None, connect to close.
func BenchmarkOPCUABrowse(b *testing.B) {
	st := simtest.StartConfig(b, station.Config{Model: "tank", Seed: 1})
	target := st.OPCUAURL() + "?security=None&allow_insecure=1"
	for b.Loop() {
		if _, err := discover.Run(context.Background(), target, discover.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
