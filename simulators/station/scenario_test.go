package station_test

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/simtest"
	"github.com/patchgate/patchgate/simulators/station"
)

// runScaled runs the shipped tank-steady-state.yaml with the scaled point map in place of the
// one it names (--points), over real Modbus TCP against st, armed as for a bench. Its setup
// is cut to the writes that close the tank: the shipped one drains and fills to 50 % with
// wait_until, which a controller on a clock nobody advances never reaches, and these tests
// are about reading the scaled map, not about the start state.
func runScaled(t *testing.T, st *station.Station) *runner.Result {
	t.Helper()
	data, err := os.ReadFile("../../scenarios/tank-steady-state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	i, j := strings.Index(src, "setup:\n"), strings.Index(src, "steps:\n")
	if i < 0 || j < i {
		t.Fatal("tank-steady-state.yaml has no setup before its steps")
	}
	src = src[:i] + "setup:\n  - write: {Mode: 0, InletValve: false, OutletValve: false, Pump: false}\n" + src[j:]
	pm, err := point.Load("../../scenarios/pointmaps/tank-scaled.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Parse("tank-steady-state.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
	if err != nil {
		t.Fatal(err)
	}
	if sc.Points.Name != "tank-scaled" {
		t.Fatalf("the scenario runs with point map %q, want tank-scaled", sc.Points.Name)
	}
	tg, err := driver.ParseTarget(st.ModbusURL())
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), sc, runner.Options{Target: tg, Armed: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trace.Run.Status != trace.Completed {
		t.Fatalf("run %s: %s", res.Trace.Run.Status, res.Trace.Run.Fault)
	}
	for _, c := range res.Checks {
		if c.Status != "pass" {
			t.Errorf("check %s: %s %s", c.ID, c.Status, c.Reason)
		}
	}
	if len(res.Trace.Samples) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range res.Trace.Samples {
		if s.Quality != driver.Good {
			t.Fatalf("slot %d: %s reads %s", s.Slot, res.Trace.Run.Tags[s.Tag], s.Quality)
		}
	}
	return res
}

// TestSteadyStateOverScaledMap runs the shipped tank steady-state scenario through the scaled
// point map (holding registers, uint16 hundredths, a status word of bits, 1-based
// addresses) over real Modbus TCP against a simulator serving that layout. Both runs take
// the scenario's 10 s of wall time, side by side.
func TestSteadyStateOverScaledMap(t *testing.T) {
	if testing.Short() {
		t.Skip("two 10 s real-time runs")
	}
	// On a virtual clock nobody advances during the run, the controller's values hold still,
	// so every sample can be compared with what the controller holds: equal within the scale
	// resolution. The setup's writes (Mode, and the valves and pump as bits of the status
	// word) go through the driver's read-modify-write of the word; the runner puts back what
	// it found when the run ends, through the same path.
	t.Run("values equal the controller's", func(t *testing.T) {
		t.Parallel()
		v := clock.NewVirtual()
		st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 9, Start: random, Layout: "scaled", Clock: v, OPCUA: "-"})
		if err := clock.Sleep(context.Background(), v, time.Second); err != nil {
			t.Fatal(err)
		}
		written := []string{"Mode", "InletValve", "OutletValve", "Pump"}
		found := map[string]float64{}
		changes := 0
		for _, tag := range written {
			v, _ := st.Controller.Get(tag)
			found[tag] = v.Float()
			if v.Float() != 0 {
				changes++
			}
		}
		if changes < 2 {
			t.Fatalf("seed 9 starts with %v: pick a seed whose setup has something to change", found)
		}
		res := runScaled(t, st)
		last := map[string]trace.Sample{}
		for _, s := range res.Trace.Samples {
			tag := res.Trace.Run.Tags[s.Tag]
			last[tag] = s
			if tag == "InletValve" || tag == "OutletValve" {
				continue // the setup changes them and the runner restores them: see below
			}
			want, err := st.Controller.Get(tag)
			if err != nil {
				t.Fatal(err)
			}
			tol := 0.0
			if tag == "Level" {
				tol = 0.005 + 1e-9 // half of the 0.01 % step of a uint16 in hundredths
			}
			if want.Text() != s.Text || (want.Text() == "" && math.Abs(s.Value-want.Float()) > tol) {
				t.Fatalf("slot %d: %s = %v %q, controller %v", s.Slot, tag, s.Value, s.Text, want)
			}
		}
		for _, tag := range []string{"InletValve", "OutletValve"} {
			if last[tag].Value != 0 {
				t.Errorf("last sample of %s = %v, want 0 as the setup wrote it", tag, last[tag].Value)
			}
		}
		for _, tag := range written {
			if got, _ := st.Controller.Get(tag); got.Float() != found[tag] {
				t.Errorf("after the run %s = %v, want %v restored as the runner found it", tag, got, found[tag])
			}
		}
	})
	// On the wall clock the controller scans and the level carries its noise; the run must
	// still pass its checks, the counter must count, and the level must arrive in whole
	// hundredths of a percent, the resolution of the register.
	t.Run("scanning controller", func(t *testing.T) {
		t.Parallel()
		st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 9, Layout: "scaled", OPCUA: "-"})
		res := runScaled(t, st)
		var first, last float64 = math.NaN(), math.NaN()
		for _, s := range res.Trace.Samples {
			switch res.Trace.Run.Tags[s.Tag] {
			case "ScanCount":
				if math.IsNaN(first) {
					first = s.Value
				}
				last = s.Value
			case "Level":
				if h := s.Value * 100; math.Abs(h-math.Round(h)) > 1e-6 {
					t.Fatalf("slot %d: Level %v is not a whole number of hundredths", s.Slot, s.Value)
				}
				if math.Abs(s.Value-50) > 0.3 {
					t.Fatalf("slot %d: Level %v, want 50 %% within the noise (valves shut)", s.Slot, s.Value)
				}
			case "Firmware":
				if s.Text != "3.2.0" {
					t.Fatalf("slot %d: Firmware %q, want 3.2.0", s.Slot, s.Text)
				}
			}
		}
		if !(last > first) {
			t.Errorf("ScanCount went from %v to %v over the run, want it counting", first, last)
		}
	})
}
