package station_test

// Tests of a station over the real protocol servers and the real drivers on loopback: a
// random start seen on the wire, state kept across connections, scan periods from the
// counter, and every register layout read back within its resolution.

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	_ "github.com/patchgate/patchgate/harness/driver/modbus"
	_ "github.com/patchgate/patchgate/harness/driver/opcua"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/plant"
	"github.com/patchgate/patchgate/simulators/plc"
	"github.com/patchgate/patchgate/simulators/simopt"
	"github.com/patchgate/patchgate/simulators/simtest"
	"github.com/patchgate/patchgate/simulators/station"
)

var random = simopt.Start{Random: true}

// dial opens a driver connection to url through the point map.
func dial(t *testing.T, url string, pm *point.Map) driver.Conn {
	t.Helper()
	tg, err := driver.ParseTarget(url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := driver.Open(context.Background(), tg, pm)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func opcuaURL(st *station.Station) string { return st.OPCUAURL() + "?security=None&allow_insecure=1" }

func layout(t *testing.T, model, name string) *point.Map {
	t.Helper()
	pm, err := plc.Layout(model, name)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// readTags reads tags and fails on a whole-read error or a reading that is not Good.
func readTags(t *testing.T, c driver.Conn, tags []string) []point.Value {
	t.Helper()
	out := make([]driver.Reading, len(tags))
	if err := c.Read(context.Background(), tags, out); err != nil {
		t.Fatal(err)
	}
	vals := make([]point.Value, len(tags))
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Fatalf("%s: %s (%v)", tags[i], r.Quality, r.Err)
		}
		vals[i] = r.Value
	}
	return vals
}

// resolution is how far a value read through a point may be from the controller's: half a
// step of a scaled integer, nothing for anything else (float32 travels exactly).
func resolution(p point.Point) float64 {
	if p.Modbus == nil || p.Modbus.Wire.Scale == 0 {
		return 0
	}
	return math.Abs(p.Modbus.Wire.Scale)/2 + 1e-9
}

// checkAgainstController compares every model tag read through pm (over Modbus or OPC UA)
// with the controller's own value.
func checkAgainstController(t *testing.T, face string, c driver.Conn, st *station.Station, pm *point.Map, tags []string) {
	t.Helper()
	got := readTags(t, c, tags)
	for i, tag := range tags {
		want, err := st.Controller.Get(tag)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := pm.Point(tag)
		tol := resolution(p)
		if face == "opcua" {
			tol = 0
		}
		switch {
		case want.Kind() == point.KindString:
			if got[i].Text() != want.Text() {
				t.Errorf("%s %s = %q, controller %q", face, tag, got[i].Text(), want.Text())
			}
		case math.Abs(got[i].Float()-want.Float()) > tol:
			t.Errorf("%s %s = %v, controller %v (tolerance %g)", face, tag, got[i], want, tol)
		}
	}
}

func modelTags(model string) []string {
	spec, _ := plant.Lookup(model)
	var out []string
	for _, t := range spec.New(spec.Defaults).Tags() {
		out = append(out, t.Name)
	}
	return out
}

// TestRandomStartOverProtocols: for every model and register layout, start=random reaches
// Modbus TCP and OPC UA clients: the plant is not where the fixed start puts it, and every
// tag reads what the controller holds (within a scaled register's resolution), which also
// checks scale, offset, bit, address_base and per-point type and byte_order end to end with
// the real server and driver. The controllers run on a virtual clock stepped by the test, so
// the values hold still while they are compared.
func TestRandomStartOverProtocols(t *testing.T) {
	for _, model := range plant.Names() {
		for _, lay := range plc.Layouts(model) {
			t.Run(model+"/"+lay, func(t *testing.T) {
				tags := modelTags(model)
				pm := layout(t, model, lay)
				state := func(c *plc.Controller) string {
					var b strings.Builder
					for _, tag := range tags {
						v, err := c.Get(tag)
						if err != nil {
							t.Fatal(err)
						}
						b.WriteString(tag + "=" + v.String() + " ")
					}
					return b.String()
				}
				v := clock.NewVirtual()
				fixed, err := plc.New(model, "", plc.Options{Seed: 21, Clock: v})
				if err != nil {
					t.Fatal(err)
				}
				fixed.Start()
				st := simtest.StartConfig(t, station.Config{Model: model, Seed: 21, Start: random, Layout: lay, Clock: v, Security: "none"})
				if err := clock.Sleep(context.Background(), v, 100*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				if a, b := state(st.Controller), state(fixed); a == b {
					t.Fatalf("start=random gave the fixed start: %s", a)
				}
				checkAgainstController(t, "modbus", dial(t, st.ModbusURL(), pm), st, pm, tags)
				checkAgainstController(t, "opcua", dial(t, opcuaURL(st), pm), st, pm, tags)
			})
		}
	}
}

// TestStateSurvivesConnections: a station's controller keeps its state across client
// connections and protocols, as a bench PLC does: a second Modbus connection and an OPC UA
// client see the first connection's writes, the random start's counters and a scan counter
// that went on counting.
func TestStateSurvivesConnections(t *testing.T) {
	v := clock.NewVirtual()
	st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 5, Start: random, Clock: v, Security: "none"})
	pm := layout(t, "tank", "")
	tags := []string{"Setpoint", "Mode", "AlarmCount", plc.TagScanCount}
	ctx := context.Background()
	step := func() {
		if err := clock.Sleep(ctx, v, 500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	step()
	first := dial(t, st.ModbusURL(), pm)
	before := readTags(t, first, tags)
	if err := first.Write(ctx, []driver.Write{{Tag: "Setpoint", Value: point.Float(62.5)}, {Tag: "Mode", Value: point.Uint(1)}}); err != nil {
		t.Fatal(err)
	}
	first.Close()
	step()
	for _, face := range []string{"modbus", "opcua"} {
		url := st.ModbusURL()
		if face == "opcua" {
			url = opcuaURL(st)
		}
		c := dial(t, url, pm)
		after := readTags(t, c, tags)
		c.Close()
		if after[0].Float() != 62.5 || after[1].Float() != 1 {
			t.Errorf("%s: Setpoint %v Mode %v on a new connection, want the 62.5 and 1 written on the first", face, after[0], after[1])
		}
		if after[2].Float() != before[2].Float() {
			t.Errorf("%s: AlarmCount %v on a new connection, %v on the first: the start state was drawn again", face, after[2], before[2])
		}
		if after[3].Float() <= before[3].Float() {
			t.Errorf("%s: ScanCount %v after %v: the controller restarted between connections", face, after[3], before[3])
		}
	}
}

// TestScanPeriodOverTheWire measures the period a station scans at from ScanCount read over
// Modbus across 10 s of the controller's virtual clock: the station's scan replaces the
// base period and the firmware's scan_factor applies on top.
func TestScanPeriodOverTheWire(t *testing.T) {
	for _, tc := range []struct {
		fw   string
		scan time.Duration
		want time.Duration
	}{
		{"baseline", 50 * time.Millisecond, 50 * time.Millisecond},
		{"scan-slow-5", 50 * time.Millisecond, 52500 * time.Microsecond},
		{"scan-slow-30", 0, 13 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.fw, tc.scan), func(t *testing.T) {
			v := clock.NewVirtual()
			st := simtest.StartConfig(t, station.Config{Model: "tank", Firmware: tc.fw, Seed: 2, Scan: tc.scan, Layout: "scaled", Clock: v, OPCUA: "-"})
			c := dial(t, st.ModbusURL(), layout(t, "tank", "scaled"))
			tags := []string{plc.TagScanCount, plc.TagScanTimeUs}
			n0 := readTags(t, c, tags)[0].Float()
			if err := clock.Sleep(context.Background(), v, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			vals := readTags(t, c, tags)
			got := time.Duration(float64(10*time.Second) / (vals[0].Float() - n0))
			if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 0.01 {
				t.Errorf("mean scan period from ScanCount %v, want %v within 1%%", got, tc.want)
			}
			// the last scan's own period: the nominal one within the firmware's 1 % jitter
			if us := vals[1].Float(); math.Abs(us-float64(tc.want.Microseconds())) > 0.05*float64(tc.want.Microseconds()) {
				t.Errorf("ScanTimeUs %v, want about %d", us, tc.want.Microseconds())
			}
		})
	}
}

// TestScanPeriodRealTime: on the wall clock, a station started with scan=20ms scans at 20 ms
// by its own counter: the mean period is the controller's scheduled time over its scans,
// and the last scan's period read over Modbus; neither is the test's own timing. The loose
// bound leaves room for a shared, loaded machine.
func TestScanPeriodRealTime(t *testing.T) {
	const want = 20 * time.Millisecond
	st := simtest.StartConfig(t, station.Config{Model: "heater", Seed: 2, Scan: want, Start: random, OPCUA: "-"})
	c := dial(t, st.ModbusURL(), layout(t, "heater", ""))
	tags := []string{plc.TagScanCount, plc.TagScanTimeUs}
	// poll the counter as a master would; there is no event to wait for across the wire
	tick := time.NewTicker(want)
	defer tick.Stop()
	var vals []point.Value
	for vals = readTags(t, c, tags); vals[0].Float() < 25; vals = readTags(t, c, tags) {
		<-tick.C
	}
	s := st.Controller.Stats()
	mean := s.Uptime / time.Duration(s.Scans-1)
	if rel := math.Abs(float64(mean-want)) / float64(want); rel > 0.2 {
		t.Errorf("mean scan period %v over %d scans (controller time %v), want %v within 20%%", mean, s.Scans, s.Uptime, want)
	}
	if us := vals[1].Float(); math.Abs(us-float64(want.Microseconds())) > 0.2*float64(want.Microseconds()) {
		t.Errorf("ScanTimeUs over Modbus %v, want about %d", us, want.Microseconds())
	}
}

// TestWritesThroughScaledMaps: every model's writable points take writes through its scaled
// map over Modbus TCP with the real driver: scaled integers arrive as engineering values and
// command bits of a status word arrive without disturbing the program's bits.
func TestWritesThroughScaledMaps(t *testing.T) {
	for _, tc := range []struct {
		model  string
		writes []driver.Write
	}{
		{"tank", []driver.Write{
			{Tag: "Setpoint", Value: point.Float(62.5)}, {Tag: "Mode", Value: point.Uint(1)},
			{Tag: "OutletValve", Value: point.Bool(true)}, {Tag: "Pump", Value: point.Bool(true)}, {Tag: "InletValve", Value: point.Bool(true)},
		}},
		{"heater", []driver.Write{
			{Tag: "Setpoint", Value: point.Float(80.5)}, {Tag: "Mode", Value: point.Uint(0)}, {Tag: "ManualOutput", Value: point.Float(37.5)},
		}},
		{"conveyor", []driver.Write{{Tag: "Stop", Value: point.Bool(true)}, {Tag: "Start", Value: point.Bool(true)}}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			v := clock.NewVirtual()
			st := simtest.StartConfig(t, station.Config{Model: tc.model, Seed: 6, Start: random, Layout: "scaled", Clock: v, OPCUA: "-"})
			pm := layout(t, tc.model, "scaled")
			// the program's bits as they were: a command write must leave them alone
			var program []string
			for _, p := range pm.Points {
				if p.Modbus.Wire.Bit >= 0 && !p.Writable {
					program = append(program, p.Tag)
				}
			}
			before := map[string]point.Value{}
			for _, tag := range program {
				before[tag], _ = st.Controller.Get(tag)
			}
			c := dial(t, st.ModbusURL(), pm)
			if err := c.Write(context.Background(), tc.writes); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.writes {
				got, _ := st.Controller.Get(w.Tag)
				if got.Float() != w.Value.Float() {
					t.Errorf("%s = %v after writing %v through the scaled map", w.Tag, got, w.Value)
				}
			}
			for _, tag := range program {
				if got, _ := st.Controller.Get(tag); got != before[tag] {
					t.Errorf("program bit %s went from %v to %v on a command write", tag, before[tag], got)
				}
			}
		})
	}
}
