package plant

import (
	"math"
	"math/rand/v2"

	"github.com/patchgate/patchgate/harness/point"
)

// Heater tag indexes, in Tags order.
const (
	heaterTemperature = iota
	heaterSetpoint
	heaterOutput
	heaterMode
	heaterManualOutput
	heaterAlarmHigh
	heaterOn
)

func init() {
	register(Spec{
		Name:        "heater",
		Description: "temperature loop: PID controller, heater output 0..100 %, three-lag thermal process, over-temperature alarm, auto/manual",
		ScanPeriod:  0.010,
		Defaults: Params{
			"ambient":      20.0,  // C, where the process settles with the heater off
			"gain":         1.8,   // C per % output at steady state: 100 % holds 200 C
			"tau_element":  1.0,   // s, lag of the heating element
			"tau_process":  4.0,   // s, lag of the heated mass
			"tau_sensor":   0.5,   // s, lag of the thermocouple in its thermowell
			"kp":           1.2,   // % per C
			"ti":           5.0,   // s, integral time (0: no integral action)
			"td":           0.3,   // s, derivative time (0: no derivative action)
			"td_filter":    10.0,  // derivative filter: the derivative is low-passed at td/td_filter
			"alarm_high":   120.0, // C over-temperature alarm
			"alarm_hyst":   2.0,   // C below the limit before the alarm clears
			"initial_temp": 50.0,  // C at power-on, with the loop in equilibrium there
			"noise":        0.05,  // C standard deviation of the temperature measurement
		},
		New: func(p Params) Model { return &heater{p: p} },
	})
}

// heater is a temperature loop. The process is three first-order lags in series (element,
// heated mass, thermocouple), which gives the S-shaped step response a PID loop overshoots
// on, and lets a too-aggressive tuning ring instead of just getting faster; the
// controller is an ISA-form PID with derivative on the measurement (no kick on a setpoint
// step), a filtered derivative (the measurement is noisy) and conditional integration as
// anti-windup (the output saturates at 0 and 100 %).
type heater struct {
	p Params

	// physical process, kept across a controller restart
	element float64 // C above ambient the element would drive the mass to
	temp    float64 // C above ambient, the heated mass
	sensor  float64 // C above ambient, the thermocouple tip

	// controller program state, lost on a restart
	integral float64 // % contributed by the integral term
	deriv    float64 // % contributed by the filtered derivative term
	lastPV   float64 // measurement of the previous scan, for the derivative
	primed   bool    // lastPV holds a real measurement
}

func (h *heater) Tags() []Tag {
	return []Tag{
		{Name: "Temperature", Type: point.TypeFloat32, Unit: "C", Description: "measured temperature", Default: point.Float(0)},
		{Name: "Setpoint", Type: point.TypeFloat32, Unit: "C", Description: "temperature setpoint in auto (retained)", Writable: true, Retained: true, Default: point.Float(50), Min: 0, Max: 250},
		{Name: "Output", Type: point.TypeFloat32, Unit: "%", Description: "heater output", Default: point.Float(0)},
		// auto by default: a heater loop runs from power-on, unlike the tank's valves an
		// operator opens by hand
		{Name: "Mode", Type: point.TypeUint16, Description: "0 manual, 1 auto (retained)", Writable: true, Retained: true, Default: point.Uint(ModeAuto), Min: 0, Max: 1},
		{Name: "ManualOutput", Type: point.TypeFloat32, Unit: "%", Description: "heater output in manual", Writable: true, Default: point.Float(0), Min: 0, Max: 100},
		{Name: "AlarmHigh", Type: point.TypeBool, Description: "over-temperature alarm", Default: point.Bool(false)},
		{Name: "HeaterOn", Type: point.TypeBool, Description: "heater energised (output above 0 %)", Default: point.Bool(false)},
	}
}

// Reset starts the process at initial_temp with the loop already holding it there (the
// output that holds it, and the integral that gives that output), so a scenario can step the
// setpoint at once instead of waiting for a warm-up from ambient. initial_temp matches the
// default Setpoint; with another value the loop simply moves to the setpoint.
func (h *heater) Reset(img *Image, rng *rand.Rand) {
	for i, tag := range img.Tags {
		img.Values[i] = tag.Default
	}
	gain := h.gain()
	u := clamp((h.p.Get("initial_temp")-h.p.Get("ambient"))/gain, 0, 100)
	h.element = gain * u
	h.temp = h.element
	h.sensor = h.temp
	h.integral = u
	h.deriv = 0
	h.primed = false
	img.SetF(heaterOutput, u)
	img.SetB(heaterOn, u > 0)
	img.SetF(heaterTemperature, float64(float32(h.p.Get("ambient")+h.sensor)))
}

// Randomize leaves the heater as another shift might have: the heated mass anywhere in
// 25..110 C (below the over-temperature alarm) with the loop holding it there, a setpoint in
// 30..110 C, auto or manual, and a manual output in 0..100 %. In auto the loop then moves to
// the setpoint; in manual the process follows the manual output.
func (h *heater) Randomize(img *Image, rng *rand.Rand) {
	temp := uniform(rng, 25, 110, 0)
	sp := uniform(rng, 30, 110, 0.5)
	mode := uint64(rng.IntN(2))
	manual := uniform(rng, 0, 100, 1)
	gain := h.gain()
	u := clamp((temp-h.p.Get("ambient"))/gain, 0, 100)
	h.element = gain * u
	h.temp = h.element
	h.sensor = h.temp
	h.integral = u
	h.deriv = 0
	h.primed = false
	out := u
	if mode == ModeManual {
		out = manual
	}
	pv := float64(float32(h.p.Get("ambient") + h.sensor))
	img.SetF(heaterSetpoint, sp)
	img.SetU(heaterMode, mode)
	img.SetF(heaterManualOutput, manual)
	img.SetF(heaterOutput, float64(float32(out)))
	img.SetB(heaterOn, out > 0)
	img.SetF(heaterTemperature, pv)
	img.SetB(heaterAlarmHigh, pv >= h.p.Get("alarm_high"))
}

// Restart drops the output to 0 and forgets the controller's internal state (integral,
// derivative filter); the heated mass keeps its temperature.
func (h *heater) Restart(img *Image, retain bool) {
	RestartDefaults(img, retain)
	img.SetF(heaterOutput, 0)
	img.SetB(heaterOn, false)
	h.integral = 0
	h.deriv = 0
	h.primed = false
}

func (h *heater) Scan(img *Image, dt float64, rng *rand.Rand) {
	p := h.p
	if dt < 0 || math.IsNaN(dt) {
		dt = 0
	}
	ambient := p.Get("ambient")
	// input: the measurement, as the analog card delivers it (float32 in the image)
	pv := float64(float32(ambient + h.sensor + noise(rng, p.Get("noise"))))
	img.SetF(heaterTemperature, pv)

	// program: PID
	kp, ti, td := p.Get("kp"), p.Get("ti"), p.Get("td")
	if !h.primed {
		h.lastPV, h.primed = pv, true // no derivative spike on the first scan after a (re)start
	}
	if td > 0 {
		tf := td / math.Max(p.Get("td_filter"), 1)
		if tf+dt > 0 {
			h.deriv = (tf*h.deriv - kp*td*(pv-h.lastPV)) / (tf + dt)
		}
	} else {
		h.deriv = 0
	}
	h.lastPV = pv
	e := img.F(heaterSetpoint) - pv
	prop := kp * e
	var out float64
	if img.U(heaterMode) == ModeAuto {
		i := h.integral
		if ti > 0 {
			// integration alone never takes the integral out of the output range (one long
			// scan would wind it up); a value outside it tracked in manual is kept, so the
			// transfer to auto stays bumpless
			i = clamp(i+kp*dt/ti*e, math.Min(h.integral, 0), math.Max(h.integral, 100))
		}
		out = prop + i + h.deriv
		// anti-windup: stop integrating while the output is saturated and the error would
		// drive it further in; otherwise the loop overshoots by the wound-up integral
		if !(out > 100 && e > 0) && !(out < 0 && e < 0) {
			h.integral = i
		}
		out = clamp(prop+h.integral+h.deriv, 0, 100)
	} else {
		out = clamp(img.F(heaterManualOutput), 0, 100)
		// bumpless transfer: track the integral so that switching to auto starts from the
		// manual output
		h.integral = out - prop - h.deriv
	}
	img.SetF(heaterOutput, float64(float32(out)))
	img.SetB(heaterOn, out > 0)

	hi, hyst := p.Get("alarm_high"), p.Get("alarm_hyst")
	alarm := img.B(heaterAlarmHigh)
	if !alarm && pv >= hi {
		alarm = true
	} else if alarm && pv < hi-hyst {
		alarm = false
	}
	img.SetB(heaterAlarmHigh, alarm)

	// process: exact discretisation of each lag, stable for any dt (a slow or stalled scan
	// must not make the simulated physics blow up)
	h.element += (h.gain()*out - h.element) * lagStep(dt, p.Get("tau_element"))
	h.temp += (h.element - h.temp) * lagStep(dt, p.Get("tau_process"))
	h.sensor += (h.temp - h.sensor) * lagStep(dt, p.Get("tau_sensor"))
}

func (h *heater) gain() float64 {
	if g := h.p.Get("gain"); g > 0 {
		return g
	}
	return 1 // a non-positive gain would make the loop run away; treat it as a misconfiguration
}

// lagStep is the fraction of the way a first-order lag of time constant tau moves toward its
// target in dt: 1 - e^(-dt/tau), and all the way when tau is not positive.
func lagStep(dt, tau float64) float64 {
	if tau <= 0 {
		return 1
	}
	return 1 - math.Exp(-dt/tau)
}

// Coast advances the physics with the element unpowered while the controller is down: the
// heated mass cools toward ambient, as it would on a real bench during a PLC restart.
func (h *heater) Coast(dt float64) {
	if dt <= 0 || math.IsNaN(dt) {
		return
	}
	p := h.p
	h.element += (0 - h.element) * lagStep(dt, p.Get("tau_element"))
	h.temp += (h.element - h.temp) * lagStep(dt, p.Get("tau_process"))
	h.sensor += (h.temp - h.sensor) * lagStep(dt, p.Get("tau_sensor"))
}
