package plant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func newConveyor(t *testing.T, over Params, seed uint64) (*conveyor, *Image, *rand.Rand) {
	t.Helper()
	spec, err := Lookup("conveyor")
	if err != nil {
		t.Fatal(err)
	}
	p := Params{}
	for k, v := range spec.Defaults {
		p[k] = v
	}
	for k, v := range over {
		if _, ok := p[k]; !ok {
			t.Fatalf("test overrides undeclared parameter %q", k)
		}
		p[k] = v
	}
	m := spec.New(p).(*conveyor)
	img := NewImage(m.Tags())
	rng := rand.New(rand.NewPCG(seed, 2))
	m.Reset(img, rng)
	return m, img, rng
}

func TestConveyorStartStopLatch(t *testing.T) {
	m, img, rng := newConveyor(t, nil, 1)
	steps := []struct {
		start, stop bool
		running     bool
	}{
		{false, false, false},
		{true, false, true},  // start latches
		{false, false, true}, // and holds
		{false, true, false}, // stop unlatches
		{true, true, false},  // both at once: stop wins
	}
	for i, s := range steps {
		img.SetB(convStart, s.start)
		img.SetB(convStop, s.stop)
		m.Scan(img, 0.010, rng)
		if img.B(convRunning) != s.running || img.B(convMotor) != s.running {
			t.Errorf("step %d: Running=%v Motor=%v, want %v", i, img.B(convRunning), img.B(convMotor), s.running)
		}
		if img.B(convStart) || img.B(convStop) {
			t.Errorf("step %d: the program must clear Start and Stop once read", i)
		}
	}
}

func TestConveyorNoPartsWhileStopped(t *testing.T) {
	m, img, rng := newConveyor(t, nil, 1)
	for i := 0; i < 3000; i++ {
		m.Scan(img, 0.010, rng)
		if img.B(convPartSensor) {
			t.Fatalf("a part reached the sensor after %d scans with the belt stopped", i)
		}
	}
	if img.F(convSpeed) > 0.01 {
		t.Errorf("Speed %v m/s with the belt stopped", img.F(convSpeed))
	}
}

func TestConveyorRejectRateAndCounts(t *testing.T) {
	m, img, rng := newConveyor(t, nil, 7)
	img.SetB(convStart, true)
	rises := 0
	last := false
	for i := 0; i < 60200; i++ { // 600 s, then 2 s to stop the belt and count the last part
		if i == 60000 {
			img.SetB(convStop, true)
		}
		m.Scan(img, 0.010, rng)
		if s := img.B(convPartSensor); s && !last {
			rises++
		}
		last = img.B(convPartSensor)
	}
	good, bad := img.U(convPartCount), img.U(convRejectCount)
	if int(good+bad) != rises {
		t.Errorf("PartCount %d + RejectCount %d = %d, want one count per part at the sensor (%d)", good, bad, good+bad, rises)
	}
	// 600 s at one part per second on average (less the ramp): about 600 parts
	if rises < 520 || rises > 680 {
		t.Errorf("%d parts in 600 s; want about 600 (part_interval 1 s)", rises)
	}
	if rate := float64(bad) / float64(rises); math.Abs(rate-0.2) > 0.05 {
		t.Errorf("reject fraction %.3f, want 0.2 +- 0.05", rate)
	}
}

func TestConveyorRestart(t *testing.T) {
	for _, retain := range []bool{true, false} {
		m, img, rng := newConveyor(t, nil, 3)
		img.SetB(convStart, true)
		for i := 0; i < 3000; i++ {
			m.Scan(img, 0.010, rng)
		}
		good, bad := img.U(convPartCount), img.U(convRejectCount)
		if good == 0 || bad == 0 {
			t.Fatalf("after 30 s: PartCount %d, RejectCount %d; want both counting", good, bad)
		}
		m.Restart(img, retain)
		if img.B(convRunning) || img.B(convMotor) || img.B(convRejectGate) {
			t.Errorf("retain=%v: after restart Running=%v Motor=%v RejectGate=%v; want all off", retain, img.B(convRunning), img.B(convMotor), img.B(convRejectGate))
		}
		wantGood, wantBad := good, bad
		if !retain {
			wantGood, wantBad = 0, 0
		}
		if img.U(convPartCount) != wantGood || img.U(convRejectCount) != wantBad {
			t.Errorf("retain=%v: counts %d/%d after restart, want %d/%d", retain, img.U(convPartCount), img.U(convRejectCount), wantGood, wantBad)
		}
		m.Scan(img, 0.010, rng)
		if img.B(convRunning) {
			t.Errorf("retain=%v: the belt restarted by itself; it needs a new Start", retain)
		}
	}
}

// TestConveyorRestartDoesNotDoubleCount stops the belt with a part on the sensor, restarts
// the controller and starts again: the part must not be counted a second time.
func TestConveyorRestartDoesNotDoubleCount(t *testing.T) {
	m, img, rng := newConveyor(t, Params{"ramp_time": 0, "reject_rate": 0}, 3)
	img.SetB(convStart, true)
	for !img.B(convPartSensor) {
		m.Scan(img, 0.010, rng)
	}
	m.Restart(img, true) // the belt stops with the part on the sensor
	for i := 0; i < 50; i++ {
		m.Scan(img, 0.010, rng)
	}
	img.SetB(convStart, true)
	for i := 0; i < 50; i++ {
		m.Scan(img, 0.010, rng)
	}
	if got := img.U(convPartCount); got != 0 {
		t.Errorf("PartCount %d: the part under the sensor was counted although its tracking was lost in the restart, or twice", got)
	}
}

func TestConveyorOddParamsAndScans(t *testing.T) {
	for name, over := range map[string]Params{
		"zero interval":  {"part_interval": 0, "part_min_gap": 0},
		"zero speed":     {"belt_speed": 0},
		"negative times": {"gate_delay": -1, "gate_open_time": -1, "reject_confirm": -1, "sensor_pulse": -1, "ramp_time": -1},
		"reject all":     {"reject_rate": 1},
		"gap > interval": {"part_min_gap": 2, "part_interval": 1},
	} {
		m, img, rng := newConveyor(t, over, 1)
		img.SetB(convStart, true)
		for _, dt := range []float64{0.010, 0, -0.010, math.NaN(), 5} {
			m.Scan(img, dt, rng)
		}
		for i := 0; i < 1000; i++ {
			m.Scan(img, 0.010, rng)
		}
		if s := img.F(convSpeed); math.IsNaN(s) || s < 0 {
			t.Errorf("%s: Speed %v", name, s)
		}
		if len(m.parts) > 1000 || len(m.tracked) > 1000 {
			t.Errorf("%s: %d parts on the sensor, %d tracked: state grows without bound", name, len(m.parts), len(m.tracked))
		}
	}
}
