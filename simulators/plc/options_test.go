package plc

// Tests of the options that make a controller look like a bench we did not build: a random
// start state, a scan period from the URL or the profile, and another register layout.

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/firmware"
	"github.com/patchgate/patchgate/simulators/plant"
	"github.com/patchgate/patchgate/simulators/simopt"
)

// modelTags reads every model tag (not the system tags) of c as one string.
func modelTags(t *testing.T, c *Controller) string {
	t.Helper()
	spec, _ := plant.Lookup(c.Identity().Model)
	var b strings.Builder
	for _, tag := range spec.New(spec.Defaults).Tags() {
		b.WriteString(tag.Name + "=" + get(t, c, tag.Name).String() + " ")
	}
	return b.String()
}

func newVirtual(t *testing.T, model, fw string, opt Options) (*Controller, *clock.Virtual) {
	t.Helper()
	v := clock.NewVirtual()
	opt.Clock = v
	c, err := New(model, fw, opt)
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	return c, v
}

// TestRandomStartPerModel: for every model, start=random gives a state other than the fixed
// start, different across seeds, the same for the same seed, and random:N the same as
// random on seed N. The fixed start does not depend on the seed.
func TestRandomStartPerModel(t *testing.T) {
	random := simopt.Start{Random: true}
	for _, model := range plant.Names() {
		t.Run(model, func(t *testing.T) {
			start := func(seed uint64, st simopt.Start) string {
				c, _ := newVirtual(t, model, "", Options{Seed: seed, Start: st})
				return modelTags(t, c)
			}
			fixed := start(1, simopt.Start{})
			if other := start(2, simopt.Start{}); other != fixed {
				t.Errorf("the fixed start depends on the seed:\n%s\n%s", fixed, other)
			}
			seen := map[string]bool{}
			for seed := uint64(1); seed <= 8; seed++ {
				s := start(seed, random)
				if s == fixed {
					t.Errorf("seed %d: start=random gave the fixed start %s", seed, s)
				}
				if again := start(seed, random); again != s {
					t.Errorf("seed %d twice:\n%s\n%s", seed, s, again)
				}
				seen[s] = true
			}
			if len(seen) != 8 {
				t.Errorf("8 seeds gave %d distinct random starts", len(seen))
			}
			if a, b := start(1, simopt.Start{Random: true, Seed: 5, SeedSet: true}), start(5, random); a != b {
				t.Errorf("random:5 on seed 1 and random on seed 5 differ:\n%s\n%s", a, b)
			}
		})
	}
}

// TestRandomStartKeepsProcessNoise: the start state is drawn on a stream of its own, so a
// random start changes where the plant is, not the noise the process draws on the seed.
func TestRandomStartKeepsProcessNoise(t *testing.T) {
	noiseOf := func(st simopt.Start) []float64 {
		c, v := newVirtual(t, "tank", "", Options{Seed: 4, Start: st})
		// hold the valves shut so the level only moves by its noise
		for _, tag := range []string{"InletValve", "OutletValve", "Pump"} {
			writeTag(t, c, tag, point.Bool(false))
		}
		writeTag(t, c, "Mode", point.Uint(0))
		var out []float64
		base := math.NaN()
		for i := 0; i < 20; i++ {
			runFor(t, v, 10*time.Millisecond)
			l := get(t, c, "Level").Float()
			if math.IsNaN(base) {
				base = l
			}
			out = append(out, math.Round((l-base)*1e3))
		}
		return out
	}
	a, b := noiseOf(simopt.Start{}), noiseOf(simopt.Start{Random: true})
	if !slices.Equal(a, b) {
		t.Errorf("level noise differs between the fixed and a random start:\n%v\n%v", a, b)
	}
}

// scanProfile parses one tank profile from text, as profiles.yaml would hold it.
func scanProfile(t *testing.T, fields string) firmware.Profile {
	t.Helper()
	ps, err := firmware.Parse("test.yaml", []byte("version: 1\nprofiles:\n  - model: tank\n    name: test\n    kind: benign\n    version: \"9.9\"\n    description: test profile\n"+fields))
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

// TestScanPeriodFromOptionsAndProfile measures the mean scan period from ScanCount over 20 s
// of simulated time: Options.Scan (the URL's scan=) replaces the model's and the profile's
// base period, and scan_factor still applies on top.
func TestScanPeriodFromOptionsAndProfile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile string // extra profile fields; empty: a shipped profile
		fw      string
		scan    time.Duration
		want    time.Duration
	}{
		{name: "model base", fw: "baseline", want: 10 * time.Millisecond},
		{name: "url 50ms", fw: "baseline", scan: 50 * time.Millisecond, want: 50 * time.Millisecond},
		{name: "url 50ms on scan-slow-5", fw: "scan-slow-5", scan: 50 * time.Millisecond, want: 52500 * time.Microsecond},
		{name: "url 2ms on scan-slow-30", fw: "scan-slow-30", scan: 2 * time.Millisecond, want: 2600 * time.Microsecond},
		{name: "profile scan 50ms", profile: "    scan: 50ms\n", want: 50 * time.Millisecond},
		{name: "profile scan 50ms, factor 1.05", profile: "    scan: 50ms\n    scan_factor: 1.05\n", want: 52500 * time.Microsecond},
		{name: "url overrides profile scan", profile: "    scan: 50ms\n    scan_factor: 1.05\n", scan: 20 * time.Millisecond, want: 21 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := clock.NewVirtual()
			opt := Options{Seed: 3, Clock: v, Scan: tc.scan}
			var c *Controller
			var err error
			if tc.profile != "" {
				c, err = newController(scanProfile(t, tc.profile), opt)
			} else {
				c, err = New("tank", tc.fw, opt)
			}
			if err != nil {
				t.Fatal(err)
			}
			c.Start()
			if c.Period() != tc.want {
				t.Errorf("nominal period %v, want %v", c.Period(), tc.want)
			}
			got := scanPeriod(t, c, v, 20*time.Second)
			if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 0.01 {
				t.Errorf("mean scan period from ScanCount %v, want %v within 1%%", got, tc.want)
			}
		})
	}
}

// TestScanLeakGrowsFromTheURLPeriod: scan_growth is a fraction of the nominal period in force,
// so a 50 ms controller leaks 2 % of 50 ms per minute, not 2 % of the model's 10 ms.
func TestScanLeakGrowsFromTheURLPeriod(t *testing.T) {
	c, v := newVirtual(t, "tank", "scan-leak", Options{Seed: 3, Scan: 50 * time.Millisecond})
	first := scanPeriod(t, c, v, 20*time.Second)
	runFor(t, v, 5*time.Minute)
	later := scanPeriod(t, c, v, 20*time.Second)
	if growth := float64(later-first) / float64(first); growth < 0.08 || growth > 0.13 {
		t.Errorf("scan period %v then %v five minutes later: growth %.1f%%, want about 10%%", first, later, 100*growth)
	}
}

// TestScanErrors: a scan period out of range is refused with what was expected, from the
// options and from a profile built by hand; profiles.yaml refuses one at its line.
func TestScanErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		prof firmware.Profile
		scan time.Duration
		want []string
	}{
		{"options below 1ms", firmware.Profile{Model: "tank", Name: "x", ScanFactor: 1}, 500 * time.Microsecond, []string{"scan 500µs", "expected a scan period from 1ms to 5s"}},
		{"options above 5s", firmware.Profile{Model: "tank", Name: "x", ScanFactor: 1}, 6 * time.Second, []string{"scan 6s", "expected a scan period from 1ms to 5s"}},
		{"options negative", firmware.Profile{Model: "tank", Name: "x", ScanFactor: 1}, -time.Second, []string{"scan -1s", "expected"}},
		{"profile by hand", firmware.Profile{Model: "tank", Name: "odd", ScanFactor: 1, Scan: "fast"}, 0, []string{"firmware tank/odd", `scan "fast"`, "expected a scan period"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newController(tc.prof, Options{Clock: clock.NewVirtual(), Scan: tc.scan})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	_, err := firmware.Parse("profiles.yaml", []byte("version: 1\nprofiles:\n  - model: tank\n    name: test\n    kind: benign\n    version: \"9.9\"\n    description: d\n    scan: 0ms\n"))
	if err == nil || !strings.Contains(err.Error(), "profiles.yaml:8") || !strings.Contains(err.Error(), `scan "0ms": expected a scan period from 1ms to 5s`) {
		t.Errorf("profile with scan: 0ms: %v; want the file, line 8 and what was expected", err)
	}
	_, err = firmware.Parse("profiles.yaml", []byte("version: 1\nprofiles:\n  - model: tank\n    name: test\n    kind: benign\n    version: \"9.9\"\n    description: d\n    extra_codes: [17, 43]\n"))
	if err == nil || !strings.Contains(err.Error(), "profiles.yaml:8") || !strings.Contains(err.Error(), "function code 43; expected 17 (Report Server ID)") {
		t.Errorf("profile with extra_codes 43: %v; want the file, line 8 and what was expected", err)
	}
}

// TestLayouts: every model ships a scaled layout next to its default one, and an unknown
// layout is refused naming the model, the layout and the ones there are.
func TestLayouts(t *testing.T) {
	for _, model := range plant.Names() {
		if got := Layouts(model); !slices.Equal(got, []string{"default", "scaled"}) {
			t.Errorf("Layouts(%s) = %v, want [default scaled]", model, got)
		}
	}
	_, err := New("tank", "", Options{Clock: clock.NewVirtual(), Layout: "siemens"})
	if err == nil || !strings.Contains(err.Error(), `model tank has no register layout "siemens"; expected one of default, scaled`) {
		t.Errorf("unknown layout: %v", err)
	}
	if _, err := Layout("boiler", "scaled"); err == nil || !strings.Contains(err.Error(), `unknown model "boiler"`) {
		t.Errorf("layout of an unknown model: %v", err)
	}
}

// TestScaledLayoutServesEveryTag: a scaled layout serves every tag of its model over Modbus
// and OPC UA at the default layout's nodes, with the same types, so any scenario of the
// model runs over it with --points.
func TestScaledLayoutServesEveryTag(t *testing.T) {
	for _, model := range plant.Names() {
		t.Run(model, func(t *testing.T) {
			def, err := Layout(model, "")
			if err != nil {
				t.Fatal(err)
			}
			c, _ := newVirtual(t, model, "", Options{Layout: "scaled"})
			sc := c.Points()
			for _, p := range def.Points {
				q, ok := sc.Point(p.Tag)
				switch {
				case !ok:
					t.Errorf("%s is not in the scaled layout", p.Tag)
				case q.Modbus == nil || q.Modbus.Register != point.RegisterHolding:
					t.Errorf("%s: scaled layout serves it at %v, want a holding register", p.Tag, q.Modbus)
				case q.OPCUA == nil || q.OPCUA.String() != p.OPCUA.String():
					t.Errorf("%s: OPC UA node %v, want %v as in the default layout", p.Tag, q.OPCUA, p.OPCUA)
				case q.Type != p.Type || q.Writable != p.Writable:
					t.Errorf("%s: %s writable %v, want %s writable %v as in the default layout", p.Tag, q.Type, q.Writable, p.Type, p.Writable)
				}
			}
			if len(sc.Points) != len(def.Points) {
				t.Errorf("scaled layout has %d points, default %d", len(sc.Points), len(def.Points))
			}
		})
	}
}

// TestRegisterMovedOnScaledLayout: a firmware that moves a register moves it in whatever
// layout it serves.
func TestRegisterMovedOnScaledLayout(t *testing.T) {
	c, _ := newVirtual(t, "tank", "register-moved", Options{Layout: "scaled"})
	p, _ := c.Points().Point("Level")
	if p.Modbus.String() != "holding 40" {
		t.Errorf("Level on register-moved, scaled layout: %s, want holding 40", p.Modbus)
	}
}
