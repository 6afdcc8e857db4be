package plc

// Integration tests of the heater and conveyor models under their shipped firmware
// profiles, on a virtual clock: each profile must show the behaviour its description
// promises, and a benign profile nothing more than its noise.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/firmware"
)

func startModel(t *testing.T, model, fw string, seed uint64) (*Controller, *clock.Virtual) {
	t.Helper()
	v := clock.NewVirtual()
	c, err := New(model, fw, Options{Seed: seed, Clock: v})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	return c, v
}

func runFor(t *testing.T, v *clock.Virtual, d time.Duration) {
	t.Helper()
	if err := clock.Sleep(context.Background(), v, d); err != nil {
		t.Fatal(err)
	}
}

func readTag(t *testing.T, c *Controller, tag string) point.Value {
	t.Helper()
	val, err := c.Get(tag)
	if err != nil {
		t.Fatalf("read %s: %v", tag, err)
	}
	return val
}

func writeTag(t *testing.T, c *Controller, tag string, val point.Value) {
	t.Helper()
	if err := c.Set(tag, val); err != nil {
		t.Fatalf("write %s = %v: %v", tag, val, err)
	}
}

// stepResponse is what a loop_response criterion looks at in a setpoint step.
type stepResponse struct {
	overshoot float64   // % of the step size beyond the new setpoint
	settling  float64   // s from the step until the measurement stays within 2 % of the step
	trace     []float64 // measured temperature, one sample per 10 ms
}

// heaterStep lets the heater hold its 50 C power-on setpoint for 2 s, steps the setpoint to
// 80 C and samples Temperature every 10 ms for 40 s of simulated time.
func heaterStep(t *testing.T, fw string, seed uint64) stepResponse {
	t.Helper()
	const from, to = 50.0, 80.0
	c, v := startModel(t, "heater", fw, seed)
	runFor(t, v, 2*time.Second)
	writeTag(t, c, "Setpoint", point.Float(to))
	var r stepResponse
	peak := math.Inf(-1)
	band := 0.02 * (to - from)
	for i := 1; i <= 4000; i++ {
		runFor(t, v, 10*time.Millisecond)
		temp := readTag(t, c, "Temperature").Float()
		r.trace = append(r.trace, temp)
		peak = math.Max(peak, temp)
		if math.Abs(temp-to) > band {
			r.settling = float64(i) * 0.010
		}
	}
	r.overshoot = (peak - to) / (to - from) * 100
	return r
}

func TestHeaterStepResponse(t *testing.T) {
	// bounds for a loop tuned for modest overshoot; a slower or faster scan must not change
	// the loop (the PID integrates over the measured scan time)
	bounded := map[string]bool{"baseline": true, "benign": true, "scan-slow-30": true}
	for _, seed := range []uint64{1, 2, 3} {
		results := map[string]stepResponse{}
		for _, fw := range []string{"baseline", "benign", "scan-slow-30", "loop-retuned"} {
			r := heaterStep(t, fw, seed)
			results[fw] = r
			t.Logf("seed %d %-13s overshoot %5.1f %%  settling %5.2f s", seed, fw, r.overshoot, r.settling)
			if bounded[fw] {
				if r.overshoot < 3 || r.overshoot > 10 {
					t.Errorf("seed %d %s: overshoot %.1f %%, want 3..10 %%", seed, fw, r.overshoot)
				}
				if r.settling < 5 || r.settling > 15 {
					t.Errorf("seed %d %s: settling %.2f s, want 5..15 s", seed, fw, r.settling)
				}
			}
		}
		base, ret := results["baseline"], results["loop-retuned"]
		if ret.overshoot < base.overshoot+15 {
			t.Errorf("seed %d loop-retuned: overshoot %.1f %% vs baseline %.1f %%; want at least 15 points more", seed, ret.overshoot, base.overshoot)
		}
		if ret.settling < 1.3*base.settling {
			t.Errorf("seed %d loop-retuned: settling %.2f s vs baseline %.2f s; want at least 30 %% slower", seed, ret.settling, base.settling)
		}
	}
}

// TestHeaterBenignWithinNoise pairs baseline and benign runs on one seed: the benign patch
// only raises the measurement noise from 0.05 to 0.06 C, so the two traces may differ by
// little more than that noise, and the benign steady state scatters by about 0.06 C.
func TestHeaterBenignWithinNoise(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		base, ben := heaterStep(t, "baseline", seed), heaterStep(t, "benign", seed)
		var maxDiff, sumSq float64
		for i := range base.trace {
			d := ben.trace[i] - base.trace[i]
			maxDiff = math.Max(maxDiff, math.Abs(d))
			sumSq += d * d
		}
		rms := math.Sqrt(sumSq / float64(len(base.trace)))
		// steady state: the last 20 s, long after settling
		tail := ben.trace[len(ben.trace)-2000:]
		var mean, sd float64
		for _, x := range tail {
			mean += x
		}
		mean /= float64(len(tail))
		for _, x := range tail {
			sd += (x - mean) * (x - mean)
		}
		sd = math.Sqrt(sd / float64(len(tail)-1))
		t.Logf("seed %d: benign - baseline max %.3f C, rms %.3f C; benign steady state %.3f +- %.3f C", seed, maxDiff, rms, mean, sd)
		if maxDiff > 0.2 || rms > 0.05 {
			t.Errorf("seed %d: benign differs from baseline by max %.3f C, rms %.3f C; want within 0.2 / 0.05 C (noise sd 0.05 -> 0.06)", seed, maxDiff, rms)
		}
		if math.Abs(mean-80) > 0.05 || sd < 0.04 || sd > 0.09 {
			t.Errorf("seed %d: benign steady state %.3f +- %.3f C; want 80 +- 0.05 with sd about 0.06", seed, mean, sd)
		}
		if d := math.Abs(ben.overshoot - base.overshoot); d > 0.5 {
			t.Errorf("seed %d: benign overshoot %.2f %% vs baseline %.2f %%", seed, ben.overshoot, base.overshoot)
		}
	}
}

// TestHeaterAlarmThreshold holds the heater in manual at a fixed output, so the temperature
// creeps up to 20 C + 1.8 C/% x output without overshoot, just either side of the alarm.
func TestHeaterAlarmThreshold(t *testing.T) {
	for _, tc := range []struct {
		fw        string
		settle    float64 // C the manual output holds
		wantAlarm bool
	}{
		{"baseline", 118, false},
		{"baseline", 122, true},
		{"alarm-shift", 122, false}, // the shifted alarm (125 C) stays quiet
		{"alarm-shift", 127, true},
	} {
		t.Run(fmt.Sprintf("%s/%g", tc.fw, tc.settle), func(t *testing.T) {
			c, v := startModel(t, "heater", tc.fw, 4)
			writeTag(t, c, "Mode", point.Uint(0))
			writeTag(t, c, "ManualOutput", point.Float((tc.settle-20)/1.8))
			raised := false
			var temp float64
			for i := 0; i < 600 && !raised; i++ { // 60 s
				runFor(t, v, 100*time.Millisecond)
				raised = readTag(t, c, "AlarmHigh").Bool()
				temp = readTag(t, c, "Temperature").Float()
			}
			if raised != tc.wantAlarm {
				t.Errorf("heading for %g C (last %.2f C): AlarmHigh raised = %v, want %v", tc.settle, temp, raised, tc.wantAlarm)
			}
		})
	}
}

func TestRegisterMovedProfiles(t *testing.T) {
	for _, tc := range []struct {
		model, tag string
		from, to   uint16
	}{
		{"heater", "Temperature", 0, 40},
		{"conveyor", "PartCount", 0, 40},
	} {
		t.Run(tc.model, func(t *testing.T) {
			for fw, want := range map[string]uint16{"baseline": tc.from, "register-moved": tc.to} {
				c, _ := startModel(t, tc.model, fw, 1)
				p, ok := c.Points().Point(tc.tag)
				if !ok || p.Modbus == nil {
					t.Fatalf("%s: no Modbus point %s", fw, tc.tag)
				}
				if p.Modbus.Register != point.RegisterInput || p.Modbus.Address != want {
					t.Errorf("%s: %s at %s, want input %d", fw, tc.tag, p.Modbus, want)
				}
				// the moved register must land on free registers, or the map is simply broken
				// rather than changed
				for _, q := range c.Points().Points {
					if q.Tag == tc.tag || q.Modbus == nil || q.Modbus.Register != p.Modbus.Register {
						continue
					}
					if int(p.Modbus.Address) < q.Modbus.End() && int(q.Modbus.Address) < p.Modbus.End() {
						t.Errorf("%s: %s at %s overlaps %s at %s", fw, tc.tag, p.Modbus, q.Tag, q.Modbus)
					}
				}
			}
		})
	}
}

// TestHeaterTemperatureIsScaledInt pins the one scaled point of the shipped maps: Temperature
// travels over Modbus as an int16 in tenths of a degree.
func TestHeaterTemperatureIsScaledInt(t *testing.T) {
	c, v := startModel(t, "heater", "", 1)
	runFor(t, v, time.Second)
	p, _ := c.Points().Point("Temperature")
	if p.Type != point.TypeFloat32 || p.Modbus.Wire.Type != point.TypeInt16 || p.Modbus.Wire.Scale != 0.1 {
		t.Fatalf("Temperature: point %s on the wire as %s scale %g; want float32 as int16 scale 0.1", p.Type, p.Modbus.Wire.Type, p.Modbus.Wire.Scale)
	}
	temp := readTag(t, c, "Temperature")
	regs, err := p.Modbus.Wire.Encode(temp)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint16(int16(math.Round(temp.Float() * 10))); regs[0] != want {
		t.Errorf("%v C encodes to raw %d, want %d", temp, regs[0], want)
	}
	back, err := p.Modbus.Wire.Decode(regs)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(back.Float() - temp.Float()); d > 0.05+1e-9 {
		t.Errorf("%v C comes back as %v: off by %g, want at most half a tenth", temp, back, d)
	}
}

// convSample is one read of the conveyor's sequence tags, all from the same scan.
type convSample struct {
	at             time.Duration
	sensor, gate   bool
	parts, rejects uint64
	running, motor bool
}

var convTags = []string{"PartSensor", "RejectGate", "PartCount", "RejectCount", "Running", "Motor"}

// conveyorTrace starts the belt and samples it every 5 ms (twice per scan, so every scan is
// seen) for d of simulated time.
func conveyorTrace(t *testing.T, fw string, seed uint64, d time.Duration) []convSample {
	t.Helper()
	c, v := startModel(t, "conveyor", fw, seed)
	idx := make([]int, len(convTags))
	for i, tag := range convTags {
		j, ok := c.TagIndex(tag)
		if !ok {
			t.Fatalf("conveyor has no tag %s", tag)
		}
		idx[i] = j
	}
	writeTag(t, c, "Start", point.Bool(true))
	vals := make([]point.Value, len(idx))
	var out []convSample
	for at := time.Duration(0); at < d; {
		runFor(t, v, 5*time.Millisecond)
		at += 5 * time.Millisecond
		if err := c.Read(idx, vals); err != nil {
			t.Fatal(err)
		}
		parts, _ := vals[2].Uint64()
		rejects, _ := vals[3].Uint64()
		out = append(out, convSample{at: at, sensor: vals[0].Bool(), gate: vals[1].Bool(), parts: parts, rejects: rejects, running: vals[4].Bool(), motor: vals[5].Bool()})
	}
	return out
}

// partSequences cuts a trace into one event sequence per part, each starting at a rising
// PartSensor; events seen in the same scan are joined with "&". The last, possibly
// unfinished, sequence is dropped.
func partSequences(tr []convSample) (seqs []string, edges []time.Duration) {
	var cur []string
	for i := 1; i < len(tr); i++ {
		a, b := tr[i-1], tr[i]
		var ev []string
		edge := func(name string, was, is bool) {
			if !was && is {
				ev = append(ev, name+"+")
			} else if was && !is {
				ev = append(ev, name+"-")
			}
		}
		edge("PartSensor", a.sensor, b.sensor)
		edge("RejectGate", a.gate, b.gate)
		if b.parts != a.parts {
			ev = append(ev, fmt.Sprintf("PartCount+%d", b.parts-a.parts))
		}
		if b.rejects != a.rejects {
			ev = append(ev, fmt.Sprintf("RejectCount+%d", b.rejects-a.rejects))
		}
		if len(ev) == 0 {
			continue
		}
		if ev[0] == "PartSensor+" {
			if cur != nil {
				seqs = append(seqs, strings.Join(cur, " > "))
			}
			cur = nil
			edges = append(edges, b.at)
		}
		cur = append(cur, strings.Join(ev, "&"))
	}
	return seqs, edges
}

const (
	goodSeq     = "PartSensor+ > PartSensor- > PartCount+1"
	badSeq      = "PartSensor+ > RejectGate+ > PartSensor- > RejectCount+1 > RejectGate-"
	countedSeq  = "PartSensor+&RejectCount+1 > RejectGate+ > PartSensor- > RejectGate-"
	gatelessSeq = "PartSensor+ > PartSensor- > RejectCount+1"
)

func TestConveyorEventOrder(t *testing.T) {
	for _, tc := range []struct {
		fw   string
		want []string // every part's sequence is one of these, and each is seen
	}{
		{"baseline", []string{goodSeq, badSeq}},
		{"benign", []string{goodSeq, badSeq}},
		{"scan-slow-30", []string{goodSeq, badSeq}}, // slower, but in the same order
		{"event-order", []string{goodSeq, countedSeq}},
		{"event-missing", []string{goodSeq, gatelessSeq}},
	} {
		t.Run(tc.fw, func(t *testing.T) {
			seqs, _ := partSequences(conveyorTrace(t, tc.fw, 21, 120*time.Second))
			seen := map[string]int{}
			for _, s := range seqs {
				seen[s]++
			}
			t.Logf("%d parts: %v", len(seqs), seen)
			for s, n := range seen {
				if !slices.Contains(tc.want, s) {
					t.Errorf("%d parts went %q; want only %q", n, s, tc.want)
				}
			}
			for _, s := range tc.want {
				if seen[s] < 5 {
					t.Errorf("%q seen %d times in 120 s; want at least 5", s, seen[s])
				}
			}
		})
	}
}

func TestConveyorDeterminism(t *testing.T) {
	const d = 30 * time.Second
	a, b := conveyorTrace(t, "baseline", 5, d), conveyorTrace(t, "baseline", 5, d)
	if !slices.Equal(a, b) {
		t.Fatal("two runs with seed 5 gave different traces")
	}
	_, edgesA := partSequences(a)
	_, edgesOther := partSequences(conveyorTrace(t, "baseline", 6, d))
	if len(edgesA) < 10 {
		t.Fatalf("only %d parts in %v", len(edgesA), d)
	}
	if slices.Equal(edgesA, edgesOther) {
		t.Error("seeds 5 and 6 gave the same part arrivals")
	}
	// the benign patch draws the same random numbers (only its speed noise is larger), so a
	// before/after pair on one seed sees the very same parts
	_, edgesBenign := partSequences(conveyorTrace(t, "benign", 5, d))
	if !slices.Equal(edgesA, edgesBenign) {
		t.Errorf("benign saw other part arrivals than baseline on the same seed:\n%v\n%v", edgesA, edgesBenign)
	}
}

func TestModelRestartRetainedValues(t *testing.T) {
	for _, tc := range []struct {
		model, fw string
		keeps     bool
	}{
		{"heater", "baseline", true},
		{"heater", "retain-lost", false},
		{"conveyor", "baseline", true},
		{"conveyor", "retain-lost", false},
	} {
		t.Run(tc.model+"/"+tc.fw, func(t *testing.T) {
			c, v := startModel(t, tc.model, tc.fw, 9)
			var retained []string
			switch tc.model {
			case "heater":
				writeTag(t, c, "Setpoint", point.Float(70))
				writeTag(t, c, "Mode", point.Uint(0))
				writeTag(t, c, "ManualOutput", point.Float(40))
				retained = []string{"Setpoint", "Mode"}
			case "conveyor":
				writeTag(t, c, "Start", point.Bool(true))
				retained = []string{"PartCount", "RejectCount"}
			}
			runFor(t, v, 20*time.Second)
			before := map[string]point.Value{}
			for _, tag := range retained {
				before[tag] = readTag(t, c, tag)
			}
			var tempBefore float64
			if tc.model == "heater" {
				tempBefore = readTag(t, c, "Temperature").Float()
			}
			c.Restart()
			if _, err := c.Get(retained[0]); !errors.Is(err, ErrDown) {
				t.Errorf("read during restart: %v, want ErrDown", err)
			}
			runFor(t, v, 2*time.Second+20*time.Millisecond) // default restart time, plus two scans
			for _, tag := range retained {
				got := readTag(t, c, tag)
				def := tagDefault(t, c, tag)
				if before[tag].Equal(def) {
					t.Fatalf("%s still at its default %v before the restart: the test shows nothing", tag, def)
				}
				if kept := got.Equal(before[tag]); kept != tc.keeps {
					t.Errorf("%s after restart = %v (before %v, default %v); kept = %v, want %v", tag, got, before[tag], def, kept, tc.keeps)
				} else if !tc.keeps && !got.Equal(def) {
					t.Errorf("%s after restart = %v; want its default %v", tag, got, def)
				}
			}
			switch tc.model {
			case "heater":
				// the restart does not reset the process: the heated mass cooled while the
				// element was off for the 2 s downtime, but kept most of its heat
				temp := readTag(t, c, "Temperature").Float()
				if kept := (temp - 20) / (tempBefore - 20); kept < 0.3 || kept > 0.95 {
					t.Errorf("Temperature %.2f C before the restart, %.2f C after: kept %.0f%% of its heat above ambient, want 30-95%%", tempBefore, temp, 100*kept)
				}
				if got := readTag(t, c, "ManualOutput").Float(); got != 0 {
					t.Errorf("ManualOutput %v after restart; it is not retained, want 0", got)
				}
			case "conveyor":
				if readTag(t, c, "Running").Bool() || readTag(t, c, "Motor").Bool() {
					t.Error("the belt runs after a restart; it must wait for a new Start")
				}
			}
		})
	}
}

func tagDefault(t *testing.T, c *Controller, tag string) point.Value {
	t.Helper()
	i, ok := c.TagIndex(tag)
	if !ok {
		t.Fatalf("no tag %s", tag)
	}
	return c.Tags()[i].Default
}

// TestNewModelProfiles checks the shipped heater and conveyor profiles as data: the set the
// validation studies rely on is complete, and every regression names a known criterion.
func TestNewModelProfiles(t *testing.T) {
	criteria := []string{"scan_period", "alarm", "loop_response", "event_order", "identity", "retained", "load"}
	want := map[string][]string{
		"heater":   {"baseline", "benign", "scan-slow-5", "scan-slow-30", "scan-leak", "register-moved", "retain-lost", "loop-retuned", "alarm-shift"},
		"conveyor": {"baseline", "benign", "scan-slow-5", "scan-slow-30", "scan-leak", "register-moved", "retain-lost", "event-order", "event-missing"},
	}
	for model, names := range want {
		versions := map[string]string{}
		for _, name := range names {
			p, err := firmware.Lookup(model, name)
			if err != nil {
				t.Errorf("%s: %v", model, err)
				continue
			}
			if prev, dup := versions[p.Version]; dup {
				t.Errorf("%s/%s: version %s already used by %s; a patch must change the version", model, name, p.Version, prev)
			}
			versions[p.Version] = name
			if p.ScanJitter != 0.01 {
				t.Errorf("%s/%s: scan_jitter %g, want 0.01 like every profile", model, name, p.ScanJitter)
			}
			switch p.Kind {
			case firmware.Regression:
				if !slices.Contains(criteria, p.Breaks) {
					t.Errorf("%s/%s: breaks %q; want one of %v", model, name, p.Breaks, criteria)
				}
			default:
				if p.Breaks != "" {
					t.Errorf("%s/%s is %s but breaks %q", model, name, p.Kind, p.Breaks)
				}
			}
			c, _ := startModel(t, model, name, 1)
			if fw := readTag(t, c, TagFirmware).Text(); fw != p.Version {
				t.Errorf("%s/%s: Firmware tag %q, want %q", model, name, fw, p.Version)
			}
		}
	}
}
