package opcua

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
)

// The acceptance figure: one Conn.Read of every tank point against the raw gopcua client
// making the one equivalent ReadRequest by hand, both over Basic256Sha256 SignAndEncrypt
// (the driver's default) to the same kind of simulated server. Compare ns/sample: the
// harness must stay within 1.15x of the raw client.
//
//	go test -run '^$' -bench . -count 5 ./harness/driver/opcua/
//
// BenchmarkHarnessVsRawInterleaved makes the same comparison with both reads in every
// iteration, alternating which goes first, so that both see the same machine load: its
// harness/raw metric is the figure to trust on a busy machine, where the two benchmarks
// may run under different loads.

func BenchmarkHarnessRead(b *testing.B) {
	s := benchServer(b)
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
	s := benchServer(b)
	cl := rawClient(b, s)
	req := rawRequest()
	ctx := context.Background()
	var smp tankSample
	b.ReportAllocs()
	for b.Loop() {
		if err := rawRead(ctx, cl, req, &smp); err != nil {
			b.Fatal(err)
		}
	}
	if smp.firmware != "3.2.0" || smp.setpoint != 50 {
		b.Fatalf("raw read decoded %+v", smp)
	}
	reportPerSample(b, len(req.NodesToRead))
}

func BenchmarkHarnessVsRawInterleaved(b *testing.B) {
	s := benchServer(b)
	pm := tankMap(b)
	conn := dial(b, s, "", pm)
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	cl := rawClient(b, s)
	req := rawRequest()
	ctx := context.Background()
	var smp tankSample
	var harness, raw time.Duration
	i := 0
	for b.Loop() {
		for k := range 2 {
			start := time.Now()
			if (i+k)%2 == 0 {
				if err := conn.Read(ctx, tags, out); err != nil {
					b.Fatal(err)
				}
				harness += time.Since(start)
			} else {
				if err := rawRead(ctx, cl, req, &smp); err != nil {
					b.Fatal(err)
				}
				raw += time.Since(start)
			}
		}
		i++
	}
	b.ReportMetric(float64(harness.Nanoseconds())/float64(b.N)/float64(len(tags)), "harness-ns/sample")
	b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N)/float64(len(req.NodesToRead)), "raw-ns/sample")
	b.ReportMetric(float64(harness)/float64(raw), "harness/raw")
}

// benchServer serves a frozen tank (its values stay put) over every security mode.
func benchServer(b *testing.B) *opcuaserver.Server {
	return serve(b, newTank(b, "", true), opcuaserver.SecurityAll)
}

// rawClient is gopcua's client as its examples set it up, with the driver's security:
// Basic256Sha256 SignAndEncrypt, the server's certificate pinned, anonymous.
func rawClient(b *testing.B, s *opcuaserver.Server) *gopcua.Client {
	ctx := testContext(b)
	eps, err := gopcua.GetEndpoints(ctx, s.URL())
	if err != nil {
		b.Fatal(err)
	}
	ep, err := gopcua.SelectEndpoint(eps, ua.SecurityPolicyURIBasic256Sha256, ua.MessageSecurityModeSignAndEncrypt)
	if err != nil {
		b.Fatal(err)
	}
	newPKIDir(b, s, true) // makes the test client certificate
	blk, _ := pem.Decode(ownKey)
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	cl, err := gopcua.NewClient(s.URL(),
		gopcua.AutoReconnect(false),
		gopcua.SecurityFromEndpoint(ep, ua.UserTokenTypeAnonymous),
		gopcua.Certificate(ownDER), gopcua.PrivateKey(key.(*rsa.PrivateKey)))
	if err != nil {
		b.Fatal(err)
	}
	if err := cl.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close(context.Background()) })
	return cl
}

// rawRequest reads every tank point, in the point map's order.
func rawRequest() *ua.ReadRequest {
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither}
	for _, name := range []string{"Level", "Inflow", "Outflow", "AlarmCount", "ScanCount", "ScanTimeUs", "Firmware",
		"InletValve", "OutletValve", "Pump", "AlarmHigh", "AlarmLow", "Interlock", "Mode", "Setpoint"} {
		req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: ua.NewStringNodeID(2, "Tank."+name), AttributeID: ua.AttributeIDValue})
	}
	return req
}

// tankSample is what the raw client decodes by hand: every tank point.
type tankSample struct {
	level, inflow, outflow, setpoint float32
	alarmCount, scanCount, scanTime  uint32
	mode                             uint16
	firmware                         string
	inlet, outlet, pump              bool
	high, low, interlock             bool
}

// rawRead is the tank read written by hand: one ReadRequest, the variants decoded inline.
func rawRead(ctx context.Context, cl *gopcua.Client, req *ua.ReadRequest, s *tankSample) error {
	res, err := cl.Read(ctx, req)
	if err != nil {
		return err
	}
	if len(res.Results) != 15 {
		return fmt.Errorf("%d results", len(res.Results))
	}
	for i, dv := range res.Results {
		if dv.Status != ua.StatusOK || dv.Value == nil {
			return fmt.Errorf("result %d: %s", i, dv.Status)
		}
	}
	f32 := func(i int) float32 { x, _ := res.Results[i].Value.Value().(float32); return x }
	u32 := func(i int) uint32 { x, _ := res.Results[i].Value.Value().(uint32); return x }
	bit := func(i int) bool { x, _ := res.Results[i].Value.Value().(bool); return x }
	s.level, s.inflow, s.outflow = f32(0), f32(1), f32(2)
	s.alarmCount, s.scanCount, s.scanTime = u32(3), u32(4), u32(5)
	s.firmware, _ = res.Results[6].Value.Value().(string)
	s.inlet, s.outlet, s.pump, s.high, s.low, s.interlock = bit(7), bit(8), bit(9), bit(10), bit(11), bit(12)
	s.mode, _ = res.Results[13].Value.Value().(uint16)
	s.setpoint = f32(14)
	return nil
}

func reportPerSample(b *testing.B, points int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(points), "ns/sample")
}
