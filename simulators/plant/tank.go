package plant

import (
	"math"
	"math/rand/v2"

	"github.com/patchgate/patchgate/harness/point"
)

// Tank tag indexes, in Tags order.
const (
	tankLevel = iota
	tankInflow
	tankOutflow
	tankInletValve
	tankOutletValve
	tankPump
	tankMode
	tankSetpoint
	tankAlarmHigh
	tankAlarmLow
	tankInterlock
	tankAlarmCount
)

// Tank modes.
const (
	ModeManual = 0
	ModeAuto   = 1
)

func init() {
	register(Spec{
		Name:        "tank",
		Description: "level process: inlet and outlet valves, pump, high/low alarms, high-high interlock, auto/manual, setpoint",
		ScanPeriod:  0.010,
		Defaults: Params{
			"inflow_rate":     4.0,  // %/s with the inlet valve open
			"pump_rate":       3.0,  // %/s with outlet valve open and pump running
			"drain_rate":      1.0,  // %/s by gravity at 100 % level, outlet open, pump off
			"alarm_high":      90.0, // %
			"alarm_low":       10.0, // %
			"alarm_hyst":      1.0,  // % below/above the limit before an alarm clears
			"interlock_trip":  95.0, // % high-high: inlet forced shut
			"interlock_reset": 85.0, // % interlock releases below this
			"auto_band":       2.0,  // % on/off band around the setpoint in auto
			"initial_level":   50.0, // %
			"noise":           0.02, // % standard deviation of the level measurement
		},
		New: func(p Params) Model { return &tank{p: p} },
	})
}

type tank struct {
	p     Params
	level float64 // the physical water, %
}

func (t *tank) Tags() []Tag {
	return []Tag{
		{Name: "Level", Type: point.TypeFloat32, Unit: "%", Description: "measured level", Default: point.Float(0)},
		{Name: "Inflow", Type: point.TypeFloat32, Unit: "%/s", Description: "inflow", Default: point.Float(0)},
		{Name: "Outflow", Type: point.TypeFloat32, Unit: "%/s", Description: "outflow", Default: point.Float(0)},
		{Name: "InletValve", Type: point.TypeBool, Description: "inlet valve open (command in manual)", Writable: true, Default: point.Bool(false)},
		{Name: "OutletValve", Type: point.TypeBool, Description: "outlet valve open", Writable: true, Default: point.Bool(false)},
		{Name: "Pump", Type: point.TypeBool, Description: "outlet pump running", Writable: true, Default: point.Bool(false)},
		{Name: "Mode", Type: point.TypeUint16, Description: "0 manual, 1 auto", Writable: true, Retained: true, Default: point.Uint(ModeManual), Min: 0, Max: 1},
		{Name: "Setpoint", Type: point.TypeFloat32, Unit: "%", Description: "level setpoint in auto", Writable: true, Retained: true, Default: point.Float(50), Min: 0, Max: 100},
		{Name: "AlarmHigh", Type: point.TypeBool, Description: "high level alarm", Default: point.Bool(false)},
		{Name: "AlarmLow", Type: point.TypeBool, Description: "low level alarm", Default: point.Bool(false)},
		{Name: "Interlock", Type: point.TypeBool, Description: "high-high interlock active: inlet forced shut", Default: point.Bool(false)},
		{Name: "AlarmCount", Type: point.TypeUint32, Description: "alarms raised since commissioning", Retained: true, Default: point.Uint(0)},
	}
}

func (t *tank) Reset(img *Image, rng *rand.Rand) {
	t.level = t.p.Get("initial_level")
	for i, tag := range img.Tags {
		img.Values[i] = tag.Default
	}
	img.SetF(tankLevel, t.level)
}

func (t *tank) Restart(img *Image, retain bool) {
	RestartDefaults(img, retain)
	img.SetB(tankInletValve, false) // outputs fail safe
	img.SetB(tankOutletValve, false)
	img.SetB(tankPump, false)
	img.SetB(tankInterlock, false)
}

func (t *tank) Scan(img *Image, dt float64, rng *rand.Rand) {
	p := t.p
	// program: interlock first, it overrides everything
	interlock := img.B(tankInterlock)
	if t.level >= p.Get("interlock_trip") {
		interlock = true
	} else if t.level < p.Get("interlock_reset") {
		interlock = false
	}
	img.SetB(tankInterlock, interlock)

	inlet := img.B(tankInletValve)
	if img.U(tankMode) == ModeAuto {
		sp, band := img.F(tankSetpoint), p.Get("auto_band")
		if t.level < sp-band {
			inlet = true
		} else if t.level > sp+band {
			inlet = false
		}
	}
	if interlock {
		inlet = false
	}
	img.SetB(tankInletValve, inlet)

	hi, lo, hyst := p.Get("alarm_high"), p.Get("alarm_low"), p.Get("alarm_hyst")
	alarmHigh := img.B(tankAlarmHigh)
	if !alarmHigh && t.level >= hi {
		alarmHigh = true
		img.SetU(tankAlarmCount, img.U(tankAlarmCount)+1)
	} else if alarmHigh && t.level < hi-hyst {
		alarmHigh = false
	}
	img.SetB(tankAlarmHigh, alarmHigh)
	alarmLow := img.B(tankAlarmLow)
	if !alarmLow && t.level <= lo {
		alarmLow = true
		img.SetU(tankAlarmCount, img.U(tankAlarmCount)+1)
	} else if alarmLow && t.level > lo+hyst {
		alarmLow = false
	}
	img.SetB(tankAlarmLow, alarmLow)

	// process
	in, out := t.flows(inlet, img.B(tankOutletValve), img.B(tankPump))
	t.level = clamp(t.level+(in-out)*dt, 0, 100)
	img.SetF(tankInflow, in)
	img.SetF(tankOutflow, out)
	img.SetF(tankLevel, float64(float32(clamp(t.level+noise(rng, p.Get("noise")), 0, 100))))
}

// flows are the inflow and outflow, in %/s, at the present level with these valves.
func (t *tank) flows(inlet, outlet, pump bool) (in, out float64) {
	p := t.p
	if inlet {
		in = p.Get("inflow_rate")
	}
	if outlet {
		if pump {
			out = p.Get("pump_rate")
		} else {
			out = p.Get("drain_rate") * math.Sqrt(math.Max(t.level, 0)/100)
		}
	}
	if t.level <= 0 {
		out = math.Min(out, in)
	}
	return in, out
}

// Randomize leaves the tank as another shift might have: the level anywhere in 12..85 %
// (clear of the low alarm and its hysteresis, at or below the interlock's reset level, so no
// alarm or interlock is due), manual or auto, a setpoint in 20..80 %, valves open or shut
// (the pump runs only on an open outlet; in auto the inlet is what the program would
// command) and an alarm counter from years of service.
func (t *tank) Randomize(img *Image, rng *rand.Rand) {
	t.level = uniform(rng, 12, 85, 0)
	mode := uint64(rng.IntN(2))
	sp := uniform(rng, 20, 80, 0.5)
	inlet := rng.IntN(2) == 1
	outlet := rng.IntN(2) == 1
	pump := outlet && rng.IntN(2) == 1
	count := rng.Uint64N(10000)
	if mode == ModeAuto {
		inlet = t.level < sp
	}
	img.SetU(tankMode, mode)
	img.SetF(tankSetpoint, sp)
	img.SetB(tankInletValve, inlet)
	img.SetB(tankOutletValve, outlet)
	img.SetB(tankPump, pump)
	img.SetU(tankAlarmCount, count)
	// what the program derives from the level, with this firmware's limits
	img.SetB(tankAlarmHigh, t.level >= t.p.Get("alarm_high"))
	img.SetB(tankAlarmLow, t.level <= t.p.Get("alarm_low"))
	img.SetB(tankInterlock, t.level >= t.p.Get("interlock_trip"))
	in, out := t.flows(inlet, outlet, pump)
	img.SetF(tankInflow, in)
	img.SetF(tankOutflow, out)
	img.SetF(tankLevel, t.level)
}
