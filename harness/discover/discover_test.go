package discover_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/discover"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/simtest"
	"github.com/patchgate/patchgate/simulators/station"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// readsGood opens the target through the normal driver with the map and reads every point
// once: each must be Good.
func readsGood(t *testing.T, target string, pm *point.Map) {
	t.Helper()
	ctx := ctxT(t)
	tg, err := driver.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := driver.Open(ctx, tg, pm)
	if err != nil {
		t.Fatalf("open with the discovered map: %v", err)
	}
	defer c.Close()
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	if err := c.Read(ctx, tags, out); err != nil {
		t.Fatalf("read: %v", err)
	}
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Errorf("%s reads %s: %v", tags[i], r.Quality, r.Err)
		}
	}
}

// shipped loads a shipped point map of the simulators.
func shipped(t *testing.T, name string) *point.Map {
	t.Helper()
	pm, err := point.Load("../../scenarios/pointmaps/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// TestModbusFindsEveryRegister: a probe of the simulated tank finds every register and bit
// its own point map serves, no other, and the skeleton map reads back Good.
func TestModbusFindsEveryRegister(t *testing.T) {
	for _, model := range []string{"tank", "conveyor", "heater"} {
		t.Run(model, func(t *testing.T) {
			st := simtest.StartConfig(t, station.Config{Model: model, Seed: 1, OPCUA: "-"})
			var progress []int
			res, err := discover.Run(ctxT(t), st.ModbusURL(), discover.Options{Name: model + "-found",
				Progress: func(done, total int) { progress = append(progress, done, total) }})
			if err != nil {
				t.Fatal(err)
			}
			if res.Protocol != "modbus" || res.Map.Name != model+"-found" {
				t.Errorf("protocol %s, name %s", res.Protocol, res.Map.Name)
			}
			if n := len(progress); n < 2 || progress[n-2] != progress[n-1] || progress[n-1] != 800 {
				t.Errorf("progress ends %v; expected 800 of 800", progress[max(0, n-2):])
			}
			want := map[string]bool{}
			for _, p := range shipped(t, model).Points {
				if a := p.Modbus; a != nil {
					n := a.Wire.Registers()
					if a.Register.IsBit() {
						n = 1
					}
					for k := range n {
						want[a.Register.String()+" "+itoa(int(a.Address)+k)] = true
					}
				}
			}
			got := map[string]bool{}
			for _, p := range res.Map.Points {
				a := p.Modbus
				got[a.Register.String()+" "+itoa(int(a.Address))] = true
				wantType := point.TypeUint16
				if a.Register.IsBit() {
					wantType = point.TypeBool
				}
				if p.Type != wantType || p.Writable {
					t.Errorf("%s: type %s writable %t; expected %s, not writable", p.Tag, p.Type, p.Writable, wantType)
				}
			}
			for k := range want {
				if !got[k] {
					t.Errorf("%s of the %s map not found", k, model)
				}
			}
			for k := range got {
				if !want[k] {
					t.Errorf("%s found, but the %s map has nothing there", k, model)
				}
			}
			if !strings.Contains(string(res.YAML), "# confirm type") || !strings.Contains(string(res.YAML), "exception 02 illegal data address") {
				t.Errorf("the map does not mark types to confirm or record the exceptions:\n%s", res.YAML)
			}
			// an unmapped address costs a request (only a read of it alone says it is not
			// there); the start and end of every run of answering addresses a few more
			if limit := 800 + 8*(len(res.Found)+1); res.Requests > limit {
				t.Errorf("%d requests for 800 addresses and %d answering runs; expected at most %d", res.Requests, len(res.Found), limit)
			}
			t.Logf("%s: %d points in %d requests; %v", model, len(res.Map.Points), res.Requests, res.Found)
			readsGood(t, st.ModbusURL(), res.Map)
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestOPCUAFindsEveryVariable: a browse of the simulated tank finds every variable of its
// point map with the same node, type and writability; the map reads back Good.
func TestOPCUAFindsEveryVariable(t *testing.T) {
	st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 1})
	target := st.OPCUAURL() + "?security=None&allow_insecure=1"
	res, err := discover.Run(ctxT(t), target, discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Protocol != "opcua" || res.Map.Name == "" {
		t.Errorf("protocol %s, name %q", res.Protocol, res.Map.Name)
	}
	want := shipped(t, "tank")
	for _, p := range want.Points {
		if p.OPCUA == nil {
			continue
		}
		g, ok := res.Map.Point(p.Tag)
		if !ok {
			t.Errorf("%s not found", p.Tag)
			continue
		}
		if g.Type != p.Type || g.Writable != p.Writable {
			t.Errorf("%s: type %s writable %t; the map says %s %t", p.Tag, g.Type, g.Writable, p.Type, p.Writable)
		}
		if g.Description == "" {
			t.Errorf("%s: no description", p.Tag)
		}
	}
	if len(res.Map.Points) != len(want.Points) {
		t.Errorf("%d points found, the map has %d", len(res.Map.Points), len(want.Points))
	}
	readsGood(t, target, res.Map)
}

// TestBadTargets: every failure names the target and the cause, and a malformed target or
// option is driver.ErrBadTarget (bad input), a device that cannot be reached is not.
func TestBadTargets(t *testing.T) {
	st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 1})
	refused := "modbus://" + closedPort(t) + "?unit=1"
	cases := []struct {
		target string
		o      discover.Options
		bad    bool
		says   string
	}{
		{"sim://tank", discover.Options{}, true, "Modbus TCP or OPC UA"},
		{"ftp://x", discover.Options{}, true, "unknown scheme"},
		{"modbus://127.0.0.1:1?unit=999", discover.Options{}, true, `unit="999"`},
		{refused, discover.Options{}, false, "connection refused"},
		{"opc.tcp://" + closedPort(t) + "?security=None&allow_insecure=1", discover.Options{}, false, "connection refused"},
		{st.OPCUAURL() + "?security=None&allow_insecure=1", discover.Options{Root: "ns=x;i=1"}, true, `root "ns=x;i=1"`},
		{st.OPCUAURL() + "?security=None&allow_insecure=1", discover.Options{Root: "nsu=urn:nope;s=X"}, true, "urn:nope"},
		{st.OPCUAURL() + "?security=None&allow_insecure=1", discover.Options{Root: "ns=2;s=Nope"}, true, "BadNodeIDUnknown"},
		{st.ModbusURL(), discover.Options{Ranges: mustRanges(t, "hr:1000-1010")}, false, "no points found"},
	}
	for _, tc := range cases {
		_, err := discover.Run(ctxT(t), tc.target, tc.o)
		if err == nil {
			t.Errorf("%s: no error", tc.target)
			continue
		}
		if errors.Is(err, driver.ErrBadTarget) != tc.bad || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s %+v: %v (bad target %t); expected bad target %t and %q", tc.target, tc.o, err, errors.Is(err, driver.ErrBadTarget), tc.bad, tc.says)
		}
		if tg, perr := driver.ParseTarget(tc.target); perr == nil && !strings.Contains(err.Error(), tg.URL.Host) {
			t.Errorf("%s: the error does not name the target: %v", tc.target, err)
		}
	}
}

func mustRanges(t *testing.T, s string) []discover.Range {
	t.Helper()
	r, err := discover.ParseRanges(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDenseRangeIsOneRequest: addresses that all answer are read as many at a time as a
// request holds.
func TestDenseRangeIsOneRequest(t *testing.T) {
	st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 1, OPCUA: "-"})
	res, err := discover.Run(ctxT(t), st.ModbusURL(), discover.Options{Ranges: mustRanges(t, "ir:20-27,co:0-2,di:0-2")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 3 || len(res.Map.Points) != 14 {
		t.Errorf("%d points in %d requests; expected 14 in 3", len(res.Map.Points), res.Requests)
	}
}

// TestRateLimited: a limited probe finds what an unlimited one does.
func TestRateLimited(t *testing.T) {
	st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 1, OPCUA: "-"})
	ranges := mustRanges(t, "ir:0-30,co:0-5")
	fast, err := discover.Run(ctxT(t), st.ModbusURL(), discover.Options{Ranges: ranges})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := discover.Run(ctxT(t), st.ModbusURL(), discover.Options{Ranges: ranges, Rate: discover.DefaultRate})
	if err != nil {
		t.Fatal(err)
	}
	if len(fast.Map.Points) != len(slow.Map.Points) || fast.Requests != slow.Requests {
		t.Errorf("limited: %d points in %d requests; unlimited: %d in %d", len(slow.Map.Points), slow.Requests, len(fast.Map.Points), fast.Requests)
	}
}
