package plant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// newHeater builds a heater from its defaults with some parameters overridden, at power-on.
func newHeater(t *testing.T, over Params) (*heater, *Image, *rand.Rand) {
	t.Helper()
	spec, err := Lookup("heater")
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
	m := spec.New(p).(*heater)
	img := NewImage(m.Tags())
	rng := rand.New(rand.NewPCG(1, 2))
	m.Reset(img, rng)
	return m, img, rng
}

func runScans(m Model, img *Image, rng *rand.Rand, seconds float64) {
	for i := 0; i < int(math.Round(seconds/0.010)); i++ {
		m.Scan(img, 0.010, rng)
	}
}

func TestHeaterStartsInEquilibrium(t *testing.T) {
	m, img, rng := newHeater(t, nil)
	runScans(m, img, rng, 5)
	if got := img.F(heaterTemperature); math.Abs(got-50) > 0.3 {
		t.Errorf("Temperature after 5 s at power-on = %.2f C, want 50 +- 0.3 (the loop starts holding initial_temp)", got)
	}
	// (50 - 20 ambient) / 1.8 C/% = 16.7 %, plus the noise the PID passes through
	if got := img.F(heaterOutput); math.Abs(got-16.7) > 2 {
		t.Errorf("Output holding 50 C = %.1f %%, want about 16.7 %%", got)
	}
}

func TestHeaterFullOutputHolds200C(t *testing.T) {
	m, img, rng := newHeater(t, Params{"noise": 0})
	img.SetU(heaterMode, ModeManual)
	img.SetF(heaterManualOutput, 100)
	runScans(m, img, rng, 120)
	if got := img.F(heaterTemperature); math.Abs(got-200) > 0.5 {
		t.Errorf("Temperature at 100 %% for 120 s = %.2f C, want 200 (ambient 20 + 1.8 C/%% x 100 %%)", got)
	}
	if !img.B(heaterAlarmHigh) {
		t.Error("AlarmHigh not raised at 200 C (limit 120 C)")
	}
}

func TestHeaterAlarmHysteresis(t *testing.T) {
	m, img, rng := newHeater(t, Params{"noise": 0, "initial_temp": 119})
	steps := []struct {
		temp float64
		want bool
	}{
		{119, false},
		{120, true},   // at the limit: raised
		{118.5, true}, // inside the 2 C hysteresis: still raised
		{117.9, false},
		{119.9, false}, // below the limit again: stays clear
	}
	for _, s := range steps {
		m.sensor = s.temp - 20
		m.temp, m.element = m.sensor, m.sensor
		m.Scan(img, 0.010, rng)
		if got := img.B(heaterAlarmHigh); got != s.want {
			t.Errorf("at %.1f C AlarmHigh = %v, want %v", s.temp, got, s.want)
		}
	}
}

func TestHeaterManualIsBumpless(t *testing.T) {
	m, img, rng := newHeater(t, nil)
	img.SetU(heaterMode, ModeManual)
	img.SetF(heaterManualOutput, 30)
	runScans(m, img, rng, 3)
	if got := img.F(heaterOutput); got != 30 {
		t.Fatalf("Output in manual = %v, want the ManualOutput 30", got)
	}
	img.SetU(heaterMode, ModeAuto)
	m.Scan(img, 0.010, rng)
	if got := img.F(heaterOutput); math.Abs(got-30) > 1 {
		t.Errorf("first auto Output = %.2f %%, want within 1 %% of the manual 30 %% (bumpless transfer)", got)
	}
}

func TestHeaterAntiWindup(t *testing.T) {
	m, img, rng := newHeater(t, nil)
	img.SetF(heaterSetpoint, 250) // out of reach: 100 % holds 200 C
	runScans(m, img, rng, 60)
	if got := img.F(heaterOutput); got != 100 {
		t.Fatalf("Output chasing 250 C = %v, want saturated at 100", got)
	}
	if m.integral > 100 {
		t.Errorf("integral wound up to %.0f %% while saturated; anti-windup keeps it within the output range", m.integral)
	}
	img.SetF(heaterSetpoint, 80)
	runScans(m, img, rng, 0.5)
	if got := img.F(heaterOutput); got >= 100 {
		t.Errorf("Output still %v %% 0.5 s after the setpoint fell far below the temperature: the integral wound up", got)
	}
}

func TestHeaterRestart(t *testing.T) {
	for _, tc := range []struct {
		retain  bool
		wantSP  float64
		wantMod uint64
	}{
		{retain: true, wantSP: 90, wantMod: ModeManual},
		{retain: false, wantSP: 50, wantMod: ModeAuto},
	} {
		m, img, rng := newHeater(t, nil)
		img.SetF(heaterSetpoint, 90)
		img.SetU(heaterMode, ModeManual)
		img.SetF(heaterManualOutput, 60)
		runScans(m, img, rng, 10)
		temp := m.temp
		m.Restart(img, tc.retain)
		if img.F(heaterOutput) != 0 || img.B(heaterOn) {
			t.Errorf("retain=%v: after restart Output=%v HeaterOn=%v, want 0 and false (safe state)", tc.retain, img.F(heaterOutput), img.B(heaterOn))
		}
		if m.temp != temp {
			t.Errorf("retain=%v: restart changed the physical temperature %v -> %v", tc.retain, temp, m.temp)
		}
		if got := img.F(heaterSetpoint); got != tc.wantSP {
			t.Errorf("retain=%v: Setpoint %v, want %v", tc.retain, got, tc.wantSP)
		}
		if got := img.U(heaterMode); got != tc.wantMod {
			t.Errorf("retain=%v: Mode %v, want %v", tc.retain, got, tc.wantMod)
		}
		if got := img.F(heaterManualOutput); got != 0 {
			t.Errorf("retain=%v: ManualOutput %v, want 0: it is not retained", tc.retain, got)
		}
	}
}

// TestHeaterOddParamsAndScans feeds parameters a hand-edited profile might carry and scans a
// stalled or broken clock might produce: the model must neither panic nor produce NaN.
func TestHeaterOddParamsAndScans(t *testing.T) {
	for name, over := range map[string]Params{
		"no integral":        {"ti": 0},
		"no derivative":      {"td": 0, "td_filter": 0},
		"zero lags":          {"tau_element": 0, "tau_process": 0, "tau_sensor": 0},
		"negative lags":      {"tau_element": -1, "tau_process": -4, "tau_sensor": -0.5},
		"zero gain":          {"gain": 0},
		"negative ti and td": {"ti": -5, "td": -1},
		"initial above 100%": {"initial_temp": 500},
	} {
		m, img, rng := newHeater(t, over)
		for _, dt := range []float64{0.010, 0, -0.010, math.NaN(), 5, 0.010} {
			m.Scan(img, dt, rng)
		}
		runScans(m, img, rng, 5)
		out, temp := img.F(heaterOutput), img.F(heaterTemperature)
		if math.IsNaN(out) || out < 0 || out > 100 || math.IsNaN(temp) || math.IsInf(temp, 0) {
			t.Errorf("%s: Output %v, Temperature %v; want a finite temperature and an output in 0..100", name, out, temp)
		}
	}
}
