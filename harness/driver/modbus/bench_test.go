package modbus

import (
	"context"
	"io"
	"log"
	"math"
	"slices"
	"testing"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/patchgate/patchgate/harness/driver"
)

// The acceptance figure: one Conn.Read of every tank point against the raw simonvetter
// client making the same minimal requests by hand, on the same kind of in-process server.
// Compare ns/sample: the harness must stay within 1.15x of the raw client. On a busy machine
// the two separate benchmarks can run under different loads; BenchmarkHarnessVsRawInterleaved
// then gives the steadier harness/raw figure.
//
//	go test -run '^$' -bench . -count 5 ./harness/driver/modbus/

// BenchmarkHarnessVsRawInterleaved makes the same comparison with both reads in every
// iteration, alternating which goes first, and compares the medians of the single read
// times, so that both see the same machine load and a load spike does not weigh: its
// harness/raw metric is the figure to trust on a busy machine, where the two benchmarks
// above may run under different loads.
func BenchmarkHarnessVsRawInterleaved(b *testing.B) {
	_, s := startTank(b, "", true)
	pm := tankMap(b)
	conn := dial(b, s, "", pm)
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	ctx := context.Background()
	mc := rawClient(b, s.Addr())
	var smp tankSample
	var harness, raw []time.Duration
	i := 0
	for b.Loop() {
		for k := range 2 {
			start := time.Now()
			if (i+k)%2 == 0 {
				if err := conn.Read(ctx, tags, out); err != nil {
					b.Fatal(err)
				}
				harness = append(harness, time.Since(start))
			} else {
				if err := rawRead(mc, &smp); err != nil {
					b.Fatal(err)
				}
				raw = append(raw, time.Since(start))
			}
		}
		i++
	}
	h, r := median(harness), median(raw)
	b.ReportMetric(float64(h.Nanoseconds())/float64(len(tags)), "harness-ns/sample")
	b.ReportMetric(float64(r.Nanoseconds())/15, "raw-ns/sample")
	b.ReportMetric(float64(h)/float64(r), "harness/raw")
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func rawClient(b *testing.B, addr string) *mb.ModbusClient {
	mc, err := mb.NewClient(&mb.ClientConfiguration{URL: "tcp://" + addr, Timeout: time.Second, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		b.Fatal(err)
	}
	if err := mc.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mc.Close() })
	return mc
}

// tankSample is what the raw client decodes by hand: every tank point.
type tankSample struct {
	level, inflow, outflow, setpoint float32
	alarmCount, scanCount, scanTime  uint32
	mode                             uint16
	firmware                         string
	coils, discretes                 []bool
}

func BenchmarkHarnessRead(b *testing.B) {
	_, s := startTank(b, "", true)
	pm := tankMap(b)
	conn := dial(b, s, "", pm)
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := conn.Read(ctx, tags, out); err != nil {
			b.Fatal(err)
		}
	}
	for i, r := range out {
		if r.Quality != driver.Good {
			b.Fatalf("%s: %s %v", tags[i], r.Quality, r.Err)
		}
	}
	reportPerSample(b, len(tags))
}

func BenchmarkRawClientRead(b *testing.B) {
	_, s := startTank(b, "", true)
	mc := rawClient(b, s.Addr())
	var smp tankSample
	b.ReportAllocs()
	for b.Loop() {
		if err := rawRead(mc, &smp); err != nil {
			b.Fatal(err)
		}
	}
	if smp.firmware != "3.2.0" || smp.setpoint != 50 {
		b.Fatalf("raw read decoded %+v", smp)
	}
	reportPerSample(b, 15)
}

// rawRead is the tank read written by hand: the seven requests of the plan, decoded inline.
func rawRead(mc *mb.ModbusClient, s *tankSample) error {
	f32 := func(r []uint16) float32 { return math.Float32frombits(uint32(r[0])<<16 | uint32(r[1])) }
	u32 := func(r []uint16) uint32 { return uint32(r[0])<<16 | uint32(r[1]) }
	var err error
	if s.coils, err = mc.ReadCoils(0, 3); err != nil {
		return err
	}
	if s.discretes, err = mc.ReadDiscreteInputs(0, 3); err != nil {
		return err
	}
	in, err := mc.ReadRegisters(0, 8, mb.INPUT_REGISTER)
	if err != nil {
		return err
	}
	s.level, s.inflow, s.outflow, s.alarmCount = f32(in[0:]), f32(in[2:]), f32(in[4:]), u32(in[6:])
	if in, err = mc.ReadRegisters(10, 4, mb.INPUT_REGISTER); err != nil {
		return err
	}
	s.scanCount, s.scanTime = u32(in[0:]), u32(in[2:])
	fw, err := mc.ReadBytes(20, 16, mb.INPUT_REGISTER)
	if err != nil {
		return err
	}
	n := 0
	for n < len(fw) && fw[n] != 0 {
		n++
	}
	s.firmware = string(fw[:n])
	if s.mode, err = mc.ReadRegister(0, mb.HOLDING_REGISTER); err != nil {
		return err
	}
	s.setpoint, err = mc.ReadFloat32(2, mb.HOLDING_REGISTER)
	return err
}

func reportPerSample(b *testing.B, points int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(points), "ns/sample")
}
