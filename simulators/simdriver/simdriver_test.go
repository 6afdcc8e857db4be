package simdriver

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/plc"
)

func pointMap(t *testing.T, model, layout string) *point.Map {
	t.Helper()
	pm, err := plc.Layout(model, layout)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// open opens a sim:// URL through the registered driver, as the runner does.
func open(t *testing.T, url string, pm *point.Map) *Conn {
	t.Helper()
	tg, err := driver.ParseTarget(url)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := driver.Open(context.Background(), tg, pm)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { dc.Close() })
	return dc.(*Conn)
}

func read(t *testing.T, c *Conn, tags ...string) []driver.Reading {
	t.Helper()
	out := make([]driver.Reading, len(tags))
	if err := c.Read(context.Background(), tags, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTargetErrors: every refused sim:// URL is named in the error, with the parameter and
// what was expected.
func TestTargetErrors(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"sim://tank?scan=0s", []string{"sim://tank?scan=0s", `scan "0s"`, "expected a scan period from 1ms to 5s"}},
		{"sim://tank?scan=10", []string{"sim://tank?scan=10", `scan "10"`, "expected a scan period"}},
		{"sim://tank?scan=6s", []string{`scan "6s"`, "expected a scan period from 1ms to 5s"}},
		{"sim://tank?scan=-5ms", []string{`scan "-5ms"`, "expected"}},
		{"sim://tank?start=fresh", []string{"sim://tank?start=fresh", `start "fresh"`, "expected default, random or random:N"}},
		{"sim://tank?start=random:x", []string{`start "random:x"`, "expected default, random or random:N"}},
		{"sim://tank?map=siemens", []string{"sim://tank?map=siemens", `map "siemens"`, "expected one of default, scaled"}},
		{"sim://boiler?map=scaled", []string{"sim://boiler?map=scaled", "expected one of default"}},
		{"sim://tank?scna=50ms", []string{"sim://tank?scna=50ms", `unknown parameter "scna"`, "expected firmware, seed, time, faults, start, scan or map"}},
		{"sim://tank?scan=50ms&scan=10ms", []string{`parameter "scan" given 2 times; expected it once`}},
		{"sim://tank?seed=x", []string{"sim://tank?seed=x", `seed "x": expected a whole number`}},
		{"sim://tank?time=later", []string{`time "later": expected real or simulated`}},
		{"sim://tank?firmware=nope", []string{"sim://tank?firmware=nope", `model tank has no firmware "nope"`}},
		{"sim://boiler", []string{"sim://boiler", `unknown model "boiler"`}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			tg, err := driver.ParseTarget(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			c, err := driver.Open(context.Background(), tg, pointMap(t, "tank", ""))
			if err == nil {
				c.Close()
				t.Fatal("accepted")
			}
			if !errors.Is(err, driver.ErrBadTarget) {
				t.Errorf("error %q does not wrap ErrBadTarget", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestStartRandomInProcess: start=random reaches the in-process controller; every run (every
// Open) starts from the same state for the same seed, whatever the run before wrote, and
// another seed starts elsewhere.
func TestStartRandomInProcess(t *testing.T) {
	pm := pointMap(t, "tank", "")
	tags := []string{"Level", "Setpoint", "Mode", "AlarmCount", "InletValve", "OutletValve", "Pump"}
	state := func(url string, write bool) string {
		c := open(t, url, pm)
		var b strings.Builder
		for i, r := range read(t, c, tags...) {
			if r.Quality != driver.Good {
				t.Fatalf("%s: %s is %s: %v", url, tags[i], r.Quality, r.Err)
			}
			b.WriteString(tags[i] + "=" + r.Value.String() + " ")
		}
		if write {
			if err := c.Write(context.Background(), []driver.Write{{Tag: "Setpoint", Value: point.Float(33)}, {Tag: "Mode", Value: point.Uint(1)}}); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		return b.String()
	}
	fixed := state("sim://tank?time=simulated&seed=3", false)
	first := state("sim://tank?time=simulated&seed=3&start=random", true)
	again := state("sim://tank?time=simulated&seed=3&start=random", false)
	other := state("sim://tank?time=simulated&seed=4&start=random", false)
	if first == fixed {
		t.Errorf("start=random gave the fixed start: %s", first)
	}
	if again != first {
		t.Errorf("a second run on the same seed started elsewhere (state carried over?):\nfirst  %s\nsecond %s", first, again)
	}
	if other == first {
		t.Errorf("seeds 3 and 4 start alike: %s", first)
	}
	if explicit := state("sim://tank?time=simulated&seed=3&start=default", false); explicit != fixed {
		t.Errorf("start=default differs from no start:\n%s\n%s", explicit, fixed)
	}
}

// TestScanFromURL measures the scan period from ScanCount over 10 s of the connection's own
// simulated clock: scan= replaces the base period and the firmware's scan_factor applies.
func TestScanFromURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want time.Duration
	}{
		{"sim://tank?time=simulated", 10 * time.Millisecond},
		{"sim://tank?time=simulated&scan=50ms", 50 * time.Millisecond},
		{"sim://tank?time=simulated&scan=50ms&firmware=scan-slow-5", 52500 * time.Microsecond},
		{"sim://heater?time=simulated&scan=20ms", 20 * time.Millisecond},
		{"sim://conveyor?time=simulated&scan=5ms&map=scaled", 5 * time.Millisecond},
	} {
		t.Run(tc.url, func(t *testing.T) {
			model := strings.TrimPrefix(tc.url[:strings.IndexByte(tc.url, '?')], "sim://")
			layout := ""
			if strings.Contains(tc.url, "map=scaled") {
				layout = "scaled"
			}
			c := open(t, tc.url, pointMap(t, model, layout))
			count := func() uint64 {
				r := read(t, c, plc.TagScanCount)[0]
				n, _ := r.Value.Uint64()
				return n
			}
			clk := c.Clock()
			n0 := count()
			if err := clk.SleepUntil(context.Background(), clk.Now().Add(10*time.Second)); err != nil {
				t.Fatal(err)
			}
			got := 10 * time.Second / time.Duration(count()-n0)
			if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 0.01 {
				t.Errorf("mean scan period from ScanCount %v, want %v within 1%%", got, tc.want)
			}
		})
	}
}

// TestScaledMapInProcess: with map=scaled the in-process controller serves the scaled layout:
// the scaled point map reads every point Good and writes commands through the status word's
// bits; the default map, whose addresses the firmware no longer serves, reads Bad and
// cannot write.
func TestScaledMapInProcess(t *testing.T) {
	const url = "sim://tank?time=simulated&map=scaled&start=random&seed=8"
	scaled := pointMap(t, "tank", "scaled")
	c := open(t, url, scaled)
	ctx := context.Background()
	if err := c.Write(ctx, []driver.Write{
		{Tag: "Mode", Value: point.Uint(0)}, {Tag: "Setpoint", Value: point.Float(62.5)},
		{Tag: "InletValve", Value: point.Bool(false)}, {Tag: "OutletValve", Value: point.Bool(true)}, {Tag: "Pump", Value: point.Bool(true)},
	}); err != nil {
		t.Fatal(err)
	}
	tags := scaled.Tags()
	for i, r := range read(t, c, tags...) {
		if r.Quality != driver.Good {
			t.Errorf("%s over the scaled map: %s %v", tags[i], r.Quality, r.Err)
		}
	}
	got := read(t, c, "Setpoint", "OutletValve", "Pump", "InletValve")
	if got[0].Value.Float() != 62.5 || !got[1].Value.Bool() || !got[2].Value.Bool() || got[3].Value.Bool() {
		t.Errorf("after writes: Setpoint %v OutletValve %v Pump %v InletValve %v; want 62.5 true true false", got[0].Value, got[1].Value, got[2].Value, got[3].Value)
	}

	def := pointMap(t, "tank", "")
	d := open(t, url, def)
	for i, r := range read(t, d, def.Tags()...) {
		if r.Quality != driver.Bad || !errors.Is(r.Err, errMoved) {
			t.Errorf("%s over the default map on a scaled controller: %s %v; want Bad, %v", def.Tags()[i], r.Quality, r.Err, errMoved)
		}
	}
	if err := d.Write(ctx, []driver.Write{{Tag: "Pump", Value: point.Bool(true)}}); err == nil || !strings.Contains(err.Error(), "write Pump") {
		t.Errorf("write through the default map on a scaled controller: %v; want refused, naming Pump", err)
	}
}

// TestEncodingMismatchReadsBad: a point at the address the firmware serves, but read in
// another encoding, reads Bad rather than a value the wire would have garbled; one that
// differs only in the word order of a one-register value reads Good.
func TestEncodingMismatchReadsBad(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       error // nil: Good
	}{
		{"other scale", "modbus: {address_base: 1}\npoints:\n  - {tag: Level, type: float32, modbus: {register: holding, address: 40001, type: uint16, scale: 0.1}}\n", errEncoding},
		{"float on a scaled integer", "points:\n  - {tag: Level, type: float32, modbus: {register: holding, address: 0}}\n", errEncoding},
		{"other bit", "points:\n  - {tag: Pump, type: bool, modbus: {register: holding, address: 5, bit: 3}}\n", errMoved},
		{"byte-swapped word", "points:\n  - {tag: Mode, type: uint16, modbus: {register: holding, address: 4, byte_order: BADC}}\n", errEncoding},
		{"word order of one register", "points:\n  - {tag: Mode, type: uint16, modbus: {register: holding, address: 4, byte_order: ABCD}}\n", nil},
		{"same as served", "modbus: {address_base: 1}\npoints:\n  - {tag: Level, type: float32, modbus: {register: holding, address: 40001, type: uint16, scale: 0.01}}\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pm, err := point.Parse(tc.name, []byte("version: 1\nname: x\n"+tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			c := open(t, "sim://tank?time=simulated&map=scaled", pm)
			tag := pm.Tags()[0]
			r := read(t, c, tag)[0]
			if (tc.want == nil) != (r.Quality == driver.Good) || (tc.want != nil && !errors.Is(r.Err, tc.want)) {
				t.Errorf("%s reads %s (%v), want %v (nil: Good)", tag, r.Quality, r.Err, tc.want)
			}
		})
	}
}

// FuzzTargetOptions: whatever the query of a sim:// URL, reading it never panics, and a
// refusal names the URL and says what was expected.
func FuzzTargetOptions(f *testing.F) {
	for _, q := range []string{"", "start=random", "start=random:7&scan=50ms", "scan=0s", "map=scaled", "map=x&seed=1",
		"firmware=scan-slow-5&scan=50ms", "time=simulated&faults=latency=5ms", "scan=50ms&scan=1s", "seed=-1", "start=random:"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		tg, err := driver.ParseTarget("sim://tank?" + q)
		if err != nil {
			return
		}
		_, _, _, err = options(tg)
		if err == nil {
			return
		}
		if !errors.Is(err, driver.ErrBadTarget) || !strings.Contains(err.Error(), tg.URL.Redacted()) || !strings.Contains(err.Error(), "expected") {
			t.Fatalf("error %q: want ErrBadTarget, the URL %q and what was expected", err, tg.URL.Redacted())
		}
	})
}
