package plant

import (
	"math"
	"math/rand/v2"

	"github.com/patchgate/patchgate/harness/point"
)

// Conveyor tag indexes, in Tags order.
const (
	convStart = iota
	convStop
	convRunning
	convMotor
	convSpeed
	convPartSensor
	convRejectGate
	convPartCount
	convRejectCount
)

func init() {
	register(Spec{
		Name:        "conveyor",
		Description: "discrete sequence: start/stop latch, belt motor, part sensor with inspection, reject gate, part and reject counters",
		ScanPeriod:  0.010,
		Defaults: Params{
			"belt_speed":        0.5,   // m/s at full speed
			"ramp_time":         0.5,   // s from standstill to full speed (0: at once)
			"part_interval":     1.0,   // s, mean time between parts at full speed
			"part_min_gap":      0.5,   // s, parts never arrive closer than this: one reject cycle must end before the next part
			"reject_rate":       0.2,   // probability that a part is bad
			"sensor_pulse":      0.08,  // s a part takes to pass the sensor at full speed
			"gate_delay":        0.05,  // s from the sensor's rising edge to the gate opening (the gate is downstream)
			"gate_open_time":    0.3,   // s the gate stays open
			"reject_confirm":    0.15,  // s after the gate opens that a part is counted (a bad one has dropped through, a good one gone by)
			"count_before_gate": 0,     // 1: count a reject at the sensor edge, before the gate opens
			"gate_enabled":      1,     // 0: the gate output is never energised (rejects still counted)
			"noise":             0.002, // m/s standard deviation of the belt speed measurement
		},
		New: func(p Params) Model { return &conveyor{p: p} },
	})
}

// conveyor is a discrete sequence whose event order is what a patch can break. The physical
// side is the belt and the parts on it; the program latches start/stop, drives the motor,
// reads the inspection result at the part sensor, rejects bad parts through a timed gate
// and counts every part once it is past the gate. Baseline order for a bad part: PartSensor
// rises, RejectGate opens, RejectCount increments, RejectGate closes; for a good part:
// PartSensor rises, PartCount increments. With the baseline timings (params, several scans
// long) each event falls in a scan of its own, so a sampler can order them.
type conveyor struct {
	p Params

	// physical process, kept across a controller restart
	speed    float64 // m/s
	untilArr float64 // belt-seconds until the next part reaches the sensor
	parts    []part  // parts on the sensor (at most one with part_min_gap > sensor_pulse)
	// parts draws arrivals and inspection results from a stream of its own, seeded from the
	// controller's at reset, so that a firmware that scans slower (and so draws noise fewer
	// times) still sees the same parts in the same order as the baseline on the same seed
	arrivals *rand.Rand

	// controller program state, lost on a restart
	lastSensor bool      // edge memory of the part sensor
	tracked    []tracked // parts between the sensor and the gate, with their inspection result
}

// part is a part on the belt, at pos belt-seconds past the leading edge of the sensor.
type part struct {
	pos float64
	bad bool
}

// tracked is a part the program follows from the sensor edge by a timer (age: controller
// time since the edge), as a shift register of a real conveyor program does.
type tracked struct {
	age     float64
	bad     bool
	counted bool
}

func (c *conveyor) Tags() []Tag {
	return []Tag{
		{Name: "Start", Type: point.TypeBool, Description: "start command; the program latches Running and clears it", Writable: true, Default: point.Bool(false)},
		{Name: "Stop", Type: point.TypeBool, Description: "stop command; the program clears Running and it (stop wins over start)", Writable: true, Default: point.Bool(false)},
		{Name: "Running", Type: point.TypeBool, Description: "sequence running (latched)", Default: point.Bool(false)},
		{Name: "Motor", Type: point.TypeBool, Description: "belt motor energised", Default: point.Bool(false)},
		{Name: "Speed", Type: point.TypeFloat32, Unit: "m/s", Description: "belt speed", Default: point.Float(0)},
		{Name: "PartSensor", Type: point.TypeBool, Description: "part present at the sensor", Default: point.Bool(false)},
		{Name: "RejectGate", Type: point.TypeBool, Description: "reject gate open", Default: point.Bool(false)},
		{Name: "PartCount", Type: point.TypeUint32, Description: "good parts counted (retained)", Retained: true, Default: point.Uint(0)},
		{Name: "RejectCount", Type: point.TypeUint32, Description: "bad parts rejected (retained)", Retained: true, Default: point.Uint(0)},
	}
}

func (c *conveyor) Reset(img *Image, rng *rand.Rand) {
	for i, tag := range img.Tags {
		img.Values[i] = tag.Default
	}
	c.speed = 0
	c.parts = nil
	c.arrivals = rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	c.untilArr = c.nextArrival(c.arrivals)
	c.lastSensor = false
	c.tracked = nil
}

// Randomize leaves the line as another shift might have: counters from a long production
// run (rejects at most a quarter of the good parts) and the belt either stopped or running
// at full speed. The parts still arrive as on the fixed start: their stream was seeded by
// Reset from the process seed, not from this one.
func (c *conveyor) Randomize(img *Image, rng *rand.Rand) {
	parts := rng.Uint64N(1_000_000)
	rejects := rng.Uint64N(parts/4 + 1)
	running := rng.IntN(2) == 1
	c.speed = 0
	if running {
		c.speed = nonNeg(c.p.Get("belt_speed"))
	}
	img.SetU(convPartCount, parts)
	img.SetU(convRejectCount, rejects)
	img.SetB(convRunning, running)
	img.SetB(convMotor, running)
	img.SetF(convSpeed, float64(float32(c.speed)))
}

// Restart stops the belt and forgets the parts the program was tracking (a part between
// the sensor and the gate is then never counted, as on a real line); the parts themselves
// stay where they are on the belt.
func (c *conveyor) Restart(img *Image, retain bool) {
	RestartDefaults(img, retain)
	img.SetB(convRunning, false) // outputs fail safe
	img.SetB(convMotor, false)
	img.SetB(convRejectGate, false)
	c.tracked = nil
	// prime the edge memory with what the sensor sees, so a part that stopped on the sensor
	// is not counted a second time when the belt starts again
	c.lastSensor = c.sensor()
}

func (c *conveyor) Scan(img *Image, dt float64, rng *rand.Rand) {
	p := c.p
	if dt < 0 || math.IsNaN(dt) {
		dt = 0
	}
	// input: the part sensor, and the inspection result of the part on it
	sensor := c.sensor()
	bad := sensor && c.parts[0].bad
	img.SetB(convPartSensor, sensor)

	// program: start/stop latch; the commands are pulses the program consumes
	running := img.B(convRunning)
	if img.B(convStop) {
		running = false
	} else if img.B(convStart) {
		running = true
	}
	img.SetB(convStart, false)
	img.SetB(convStop, false)
	img.SetB(convRunning, running)
	img.SetB(convMotor, running)

	if sensor && !c.lastSensor {
		c.tracked = append(c.tracked, tracked{bad: bad})
	}
	c.lastSensor = sensor

	// every part is counted once it is past the gate position (gate_delay + reject_confirm
	// after the edge): a bad part has dropped through the open gate, a good one has gone by
	// it. Counting downstream of the sensor keeps each event of the sequence in its own scan.
	delay, open := nonNeg(p.Get("gate_delay")), nonNeg(p.Get("gate_open_time"))
	countAt := delay + math.Min(nonNeg(p.Get("reject_confirm")), open)
	rejectAt := countAt
	if p.Get("count_before_gate") >= 0.5 {
		rejectAt = 0
	}
	gate := false
	kept := c.tracked[:0]
	for _, t := range c.tracked {
		switch {
		case t.counted:
		case !t.bad && t.age >= countAt:
			t.counted = true
			img.SetU(convPartCount, uint64(uint32(img.U(convPartCount)+1)))
		case t.bad && t.age >= rejectAt:
			t.counted = true
			img.SetU(convRejectCount, uint64(uint32(img.U(convRejectCount)+1)))
		}
		if t.bad && t.age >= delay && t.age < delay+open {
			gate = true
		}
		t.age += dt
		if !t.counted || (t.bad && t.age < delay+open) {
			kept = append(kept, t)
		}
	}
	c.tracked = kept
	img.SetB(convRejectGate, gate && p.Get("gate_enabled") >= 0.5)

	// process: the belt ramps to speed, parts arrive in belt time (a slower belt brings
	// them further apart) and move past the sensor
	full := nonNeg(p.Get("belt_speed"))
	target := 0.0
	if running {
		target = full
	}
	if ramp := p.Get("ramp_time"); ramp > 0 && full > 0 {
		step := full / ramp * dt
		c.speed = clamp(target, c.speed-step, c.speed+step)
	} else {
		c.speed = target
	}
	// drawn every scan, moving or not, so that a profile with other noise still sees the same
	// part arrivals for the same seed
	img.SetF(convSpeed, float64(float32(math.Max(0, c.speed+noise(rng, p.Get("noise"))))))
	if full == 0 {
		return
	}
	move := dt * c.speed / full
	pulse := nonNeg(p.Get("sensor_pulse"))
	ps := c.parts[:0]
	for _, pt := range c.parts {
		pt.pos += move
		if pt.pos < pulse {
			ps = append(ps, pt)
		}
	}
	c.parts = ps
	c.untilArr -= move
	for n := 0; c.untilArr <= 0 && move > 0; n++ {
		if n == maxArrivalsPerScan {
			// a scan of minutes (a stalled controller): skip the parts it could never see
			c.untilArr = c.nextArrival(c.arrivals)
			break
		}
		// a part arrives part way through the scan, -untilArr belt-seconds ago; one that has
		// already passed the sensor goes by unseen, as it would past a real PLC scanning
		// slower than the sensor pulse
		bad := c.arrivals.Float64() < p.Get("reject_rate")
		if pos := -c.untilArr; pos < pulse {
			c.parts = append(c.parts, part{pos: pos, bad: bad})
		}
		c.untilArr += c.nextArrival(c.arrivals)
	}
}

// maxArrivalsPerScan bounds the work of one scan however long it was.
const maxArrivalsPerScan = 100

// sensor reports whether a part is in front of the part sensor.
func (c *conveyor) sensor() bool { return len(c.parts) > 0 }

// nextArrival draws the belt time to the next part: part_min_gap plus an exponential, so
// the mean is part_interval.
func (c *conveyor) nextArrival(rng *rand.Rand) float64 {
	gap := nonNeg(c.p.Get("part_min_gap"))
	mean := c.p.Get("part_interval")
	// the floor keeps a misconfigured 0 interval from spawning parts forever in one scan
	gap = math.Max(gap, 0.001)
	if mean <= gap {
		return gap
	}
	return gap + rng.ExpFloat64()*(mean-gap)
}

func nonNeg(x float64) float64 {
	if x > 0 {
		return x
	}
	return 0
}
