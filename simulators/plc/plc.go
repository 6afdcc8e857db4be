// Package plc is a simulated controller: one plant model running on a fixed, drift-corrected
// scan cycle under a firmware profile, with faults that can be switched while it runs. The
// Modbus and OPC UA servers (packages modbusserver and opcuaserver) serve the same Controller
// at the same time, through its point map.
//
// Time comes from an injectable clock. With clock.Real the controller scans in its own
// goroutine (Start); with a *clock.Virtual it scans whenever the clock is advanced, as fast
// as the CPU allows, and is deterministic given its seed.
package plc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/scenarios"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/firmware"
	"github.com/patchgate/patchgate/simulators/plant"
	"github.com/patchgate/patchgate/simulators/simopt"
)

// Errors a server maps to protocol answers.
var (
	ErrDown      = errors.New("controller restarting")            // no answer at all
	ErrException = errors.New("injected fault: device busy")      // exception / bad status
	ErrReadOnly  = errors.New("point is read-only")               // write refused
	ErrBadValue  = errors.New("value outside the accepted range") // write refused
	ErrBadType   = errors.New("value of the wrong type")          // write refused
	ErrNoTag     = errors.New("no such tag")
)

// System tags every controller adds to its model's tags.
const (
	TagScanCount  = "ScanCount"  // uint32, +1 per scan, reset by a restart
	TagScanTimeUs = "ScanTimeUs" // uint32, period of the last scan in microseconds
	TagFirmware   = "Firmware"   // string(16), the firmware version
)

// Endpoint is a protocol server attached to a controller; it is told when the controller
// cuts connections or goes down for a restart.
type Endpoint interface {
	Drop()    // cut every client connection; keep listening
	Suspend() // stop answering: close connections and the listener
	Resume()  // listen again on the same address
}

// Identity is what the controller says about itself.
type Identity struct {
	Vendor   string `json:"vendor"`
	Product  string `json:"product"`
	Model    string `json:"model"`
	Firmware string `json:"firmware"`
	Profile  string `json:"profile"`
	Serial   string `json:"serial"`
}

// Options configure a controller.
type Options struct {
	Seed   uint64
	Clock  clock.Clock // nil: clock.Real
	Faults fault.Set
	// Start is where the plant begins: the model's fixed start (the zero value) or a random
	// valid state drawn from the seed (simopt.Start.SeedFor), on a random stream of its own so
	// that the process noise is the same as on the fixed start.
	Start simopt.Start
	// Scan, when not 0, replaces the nominal scan period of the model and the firmware
	// profile; the profile's scan_factor, jitter and growth still apply on top.
	Scan time.Duration
	// Layout names the register layout served: "" or "default" is pointmaps/MODEL.yaml,
	// another name pointmaps/MODEL-NAME.yaml (see Layouts).
	Layout string
}

// Controller is one simulated PLC.
type Controller struct {
	spec    plant.Spec
	profile firmware.Profile
	model   plant.Model
	clk     clock.Clock
	seed    uint64
	points  *point.Map

	base   time.Duration // nominal scan period before scan_factor (model, profile or Options.Scan)
	period time.Duration // nominal scan period of this firmware (base x scan_factor)

	mu          sync.Mutex
	img         *plant.Image
	rng         *rand.Rand // the process: sensor noise, part arrivals
	frng        *rand.Rand // faults, kept apart so faults never change the process
	jrng        *rand.Rand // scan jitter, kept apart so a slower scan sees the same process
	start       time.Time  // time of the first scan
	next        time.Time  // when the next scan is due
	last        time.Time  // when the last scan ran (scheduled time)
	scans       uint64
	overruns    uint64
	downUntil   time.Time
	downAt      time.Time
	down        bool
	faults      fault.Set
	nextDrop    time.Time
	nextRestart time.Time
	endpoints   []Endpoint
	// the communication task's token bucket (firmware comm_capacity): tokens left at commAt;
	// below zero, the requests queued ahead
	commTokens float64
	commAt     time.Time
	sys        struct{ count, scanUs, fw int }

	stop func()
	done chan struct{}
}

// New builds a controller for model running firmware (empty: the baseline).
func New(model, fw string, opt Options) (*Controller, error) {
	prof, err := firmware.Lookup(model, fw)
	if err != nil {
		if _, merr := plant.Lookup(model); merr != nil {
			return nil, merr
		}
		return nil, err
	}
	return newController(prof, opt)
}

// newController builds a controller for a profile (shipped or, in tests, parsed from text).
func newController(prof firmware.Profile, opt Options) (*Controller, error) {
	model := prof.Model
	spec, err := plant.Lookup(model)
	if err != nil {
		return nil, err
	}
	base, err := scanBase(spec, prof, opt.Scan)
	if err != nil {
		return nil, err
	}
	params := plant.Params{}
	for k, v := range spec.Defaults {
		params[k] = v
	}
	for k, v := range prof.Params {
		if _, ok := params[k]; !ok {
			return nil, fmt.Errorf("firmware %s/%s sets unknown parameter %q", model, prof.Name, k)
		}
		params[k] = v
	}
	pm, err := Layout(model, opt.Layout)
	if err != nil {
		return nil, err
	}
	pm = pm.Clone()
	for tag, addr := range prof.Moved {
		if err := pm.SetModbusAddress(tag, uint16(addr)); err != nil {
			return nil, fmt.Errorf("firmware %s/%s: %w", model, prof.Name, err)
		}
	}
	clk := opt.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	c := &Controller{
		spec:    spec,
		profile: prof,
		model:   spec.New(params),
		clk:     clk,
		seed:    opt.Seed,
		points:  pm,
		base:    base,
		period:  time.Duration(base.Seconds() * prof.ScanFactor * float64(time.Second)),
		rng:     rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15)),
		frng:    rand.New(rand.NewPCG(opt.Seed, 0xfa17)),
		jrng:    rand.New(rand.NewPCG(opt.Seed, 0x5ca7)),
	}
	tags := append(c.model.Tags(),
		plant.Tag{Name: TagScanCount, Type: point.TypeUint32, Description: "scan cycles since start", Default: point.Uint(0)},
		plant.Tag{Name: TagScanTimeUs, Type: point.TypeUint32, Unit: "us", Description: "period of the last scan", Default: point.Uint(0)},
		plant.Tag{Name: TagFirmware, Type: point.TypeString, Length: 16, Description: "firmware version", Default: point.String(prof.Version)},
	)
	c.img = plant.NewImage(tags)
	c.sys.count, _ = c.img.Index(TagScanCount)
	c.sys.scanUs, _ = c.img.Index(TagScanTimeUs)
	c.sys.fw, _ = c.img.Index(TagFirmware)
	for _, p := range pm.Points {
		if _, ok := c.img.Index(p.Tag); !ok {
			return nil, fmt.Errorf("point map %s names tag %q that model %s does not have", model, p.Tag, model)
		}
	}
	c.model.Reset(c.img, c.rng)
	if opt.Start.Random {
		c.model.Randomize(c.img, rand.New(rand.NewPCG(opt.Start.SeedFor(opt.Seed), 0x57a27)))
	}
	c.img.SetS(c.sys.fw, prof.Version)
	now := clk.Now()
	c.start, c.next, c.last = now, now, now
	c.SetFaults(opt.Faults)
	return c, nil
}

// scanBase is the nominal scan period before scan_factor: the URL's or flag's scan when set,
// else the profile's, else the model's.
func scanBase(spec plant.Spec, prof firmware.Profile, override time.Duration) (time.Duration, error) {
	if override != 0 {
		if err := simopt.CheckScan(override); err != nil {
			return 0, err
		}
		return override, nil
	}
	d, err := prof.ScanPeriod()
	if err != nil || d != 0 {
		return d, err
	}
	// as the model states it, in seconds: the same float arithmetic as before profiles could
	// set a scan, so that the baseline's period (and every golden trace) is unchanged
	return time.Duration(spec.ScanPeriod * float64(time.Second)), nil
}

// PointMap returns the shipped point map of a model (as the baseline firmware serves it).
func PointMap(model string) (*point.Map, error) {
	return Layout(model, "")
}

// DefaultLayout is the layout of pointmaps/MODEL.yaml, the maps the scenarios name.
const DefaultLayout = "default"

// Layout returns the shipped point map of a model in a register layout: "" or "default" is
// pointmaps/MODEL.yaml; another name is pointmaps/MODEL-NAME.yaml, a layout as another
// integrator would have built the same plant (scaled integers in holding registers, a status
// word of bits, 1-based addresses). The layouts are data: a new file is a new layout.
func Layout(model, layout string) (*point.Map, error) {
	if _, err := plant.Lookup(model); err != nil {
		return nil, err
	}
	name := "pointmaps/" + model + ".yaml"
	if layout != "" && layout != DefaultLayout {
		name = "pointmaps/" + model + "-" + layout + ".yaml"
	}
	data, err := scenarios.FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("model %s has no register layout %q; expected one of %s", model, layout, strings.Join(Layouts(model), ", "))
	}
	return point.Parse("scenarios/"+name, data)
}

// Layouts lists the register layouts shipped for a model, "default" first.
func Layouts(model string) []string {
	out := []string{DefaultLayout}
	names, _ := fs.Glob(scenarios.FS, "pointmaps/"+model+"-*.yaml")
	for _, n := range names {
		l := strings.TrimSuffix(strings.TrimPrefix(path.Base(n), model+"-"), ".yaml")
		if l != "" && l != DefaultLayout {
			out = append(out, l)
		}
	}
	return out
}

// Start begins scanning. With a virtual clock the controller attaches to it and scans as the
// clock advances; otherwise it scans in its own goroutine until Close.
func (c *Controller) Start() {
	if v, ok := c.clk.(*clock.Virtual); ok {
		v.Attach(c)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		for {
			c.mu.Lock()
			next := c.nextEventLocked()
			c.mu.Unlock()
			if err := c.clk.SleepUntil(ctx, next); err != nil {
				return
			}
			c.RunUntil(c.clk.Now())
		}
	}()
}

// Close stops the scan goroutine and waits for it.
func (c *Controller) Close() {
	if c.stop != nil {
		c.stop()
		<-c.done
		c.stop = nil
	}
}

// Attach registers a protocol server to be told of drops and restarts.
func (c *Controller) Attach(e Endpoint) {
	c.mu.Lock()
	c.endpoints = append(c.endpoints, e)
	c.mu.Unlock()
}

// Detach removes a protocol server.
func (c *Controller) Detach(e Endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.endpoints {
		if x == e {
			c.endpoints = append(c.endpoints[:i], c.endpoints[i+1:]...)
			return
		}
	}
}

// maxCatchUp is how late a real-time scan may be before the schedule is re-anchored (and
// an overrun counted) instead of replaying the missed scans. The controller shares its CPU
// with the harness, unlike a real PLC: a host stall of a few hundred milliseconds (a burst
// of TLS handshakes, a GC) must not look like the firmware scanning slower, so the missed
// scans are replayed; only a longer stall re-anchors.
const maxCatchUp = time.Second

// RunUntil runs every scan due up to t, and the periodic faults. It implements
// clock.Stepper.
func (c *Controller) RunUntil(t time.Time) {
	var actions []func()
	c.mu.Lock()
	for {
		ev := c.nextEventLocked()
		if ev.After(t) {
			break
		}
		switch {
		case !c.nextDrop.IsZero() && ev.Equal(c.nextDrop):
			c.nextDrop = c.nextDrop.Add(c.faults.DropEvery)
			actions = append(actions, c.dropLocked())
		case !c.nextRestart.IsZero() && ev.Equal(c.nextRestart):
			c.nextRestart = c.nextRestart.Add(c.faults.RestartEvery)
			actions = append(actions, c.restartLocked(ev))
		case c.down:
			c.down = false
			if co, ok := c.model.(plant.Coaster); ok {
				co.Coast(ev.Sub(c.downAt).Seconds())
			}
			// the first scan after boot is a normal one: its period is the nominal one
			c.next, c.last = ev, ev.Add(-c.period)
			eps := append([]Endpoint(nil), c.endpoints...)
			actions = append(actions, func() {
				for _, e := range eps {
					e.Resume()
				}
			})
		default:
			if _, real := c.clk.(clock.Real); real && t.Sub(c.next) > maxCatchUp {
				c.overruns++
				c.next = t
			}
			c.scanLocked()
		}
	}
	c.mu.Unlock()
	for _, a := range actions {
		a()
	}
}

// nextEventLocked is the time of the next thing the controller does: a scan, the end of a
// restart, or a periodic fault.
func (c *Controller) nextEventLocked() time.Time {
	ev := c.next
	if c.down {
		ev = c.downUntil
	}
	if !c.nextDrop.IsZero() && c.nextDrop.Before(ev) {
		ev = c.nextDrop
	}
	if !c.nextRestart.IsZero() && c.nextRestart.Before(ev) {
		ev = c.nextRestart
	}
	return ev
}

// scanLocked runs one scan at c.next and schedules the following one.
func (c *Controller) scanLocked() {
	now := c.next
	dt := now.Sub(c.last)
	if c.scans == 0 {
		dt = c.period
	}
	c.model.Scan(c.img, dt.Seconds(), c.rng)
	c.scans++
	c.img.SetU(c.sys.count, uint64(uint32(c.img.U(c.sys.count)+1)))
	c.img.SetU(c.sys.scanUs, uint64(dt/time.Microsecond))
	c.last = now
	c.next = now.Add(c.nextPeriod(now))
}

// nextPeriod is the firmware's scan period at this uptime, with its jitter.
func (c *Controller) nextPeriod(now time.Time) time.Duration {
	p := float64(c.period)
	if g := c.profile.ScanGrowth; g > 0 {
		p += float64(c.base) * g * now.Sub(c.start).Minutes()
	}
	if j := c.profile.ScanJitter; j > 0 {
		p *= 1 + j*c.jrng.NormFloat64()
	}
	return time.Duration(math.Max(p, float64(c.period)/10))
}

func (c *Controller) dropLocked() func() {
	eps := append([]Endpoint(nil), c.endpoints...)
	return func() {
		for _, e := range eps {
			e.Drop()
		}
	}
}

func (c *Controller) restartLocked(at time.Time) func() {
	if c.down {
		return func() {}
	}
	c.down = true
	c.downAt = at
	d := c.faults.RestartTime
	if d <= 0 {
		d = 2 * time.Second
	}
	c.downUntil = at.Add(d)
	c.model.Restart(c.img, !c.profile.LosesRetain)
	c.img.SetU(c.sys.count, 0)
	c.img.SetU(c.sys.scanUs, 0)
	eps := append([]Endpoint(nil), c.endpoints...)
	return func() {
		for _, e := range eps {
			e.Suspend()
		}
	}
}

// Restart restarts the controller now: it stops answering for the restart time (faults'
// RestartTime, default 2 s), restarts its program (retained values kept unless the firmware
// loses them) and comes back.
func (c *Controller) Restart() {
	c.mu.Lock()
	a := c.restartLocked(c.clk.Now())
	c.mu.Unlock()
	a()
}

// DropConnections cuts every client connection now.
func (c *Controller) DropConnections() {
	c.mu.Lock()
	a := c.dropLocked()
	c.mu.Unlock()
	a()
}

// SetFaults switches faults while running.
func (c *Controller) SetFaults(f fault.Set) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clk.Now()
	c.faults = f
	c.nextDrop, c.nextRestart = time.Time{}, time.Time{}
	if f.DropEvery > 0 {
		c.nextDrop = now.Add(f.DropEvery)
	}
	if f.RestartEvery > 0 {
		c.nextRestart = now.Add(f.RestartEvery)
	}
}

// Faults returns the faults in force.
func (c *Controller) Faults() fault.Set {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faults
}

// Request applies the faults to one protocol request: it waits the latency, jitter or stall
// on the controller's clock and may answer ErrException; ErrDown while restarting. Servers
// call it once per request before touching tags.
func (c *Controller) Request(ctx context.Context) error {
	c.mu.Lock()
	f := c.faults
	down := c.down
	var extra time.Duration
	if f.Jitter > 0 {
		extra = time.Duration(c.frng.Int64N(int64(f.Jitter) + 1))
	}
	exc := f.Exceptions > 0 && c.frng.Float64() < f.Exceptions
	extra += c.queue()
	c.mu.Unlock()
	if down {
		return ErrDown
	}
	if d := f.Latency + extra + f.Stall; d > 0 {
		if err := clock.Sleep(ctx, c.clk, d); err != nil {
			return err
		}
	}
	if exc {
		return ErrException
	}
	return nil
}

// queue is how long a request waits for the communication task of a firmware with a
// comm_capacity: a token bucket refilled at the capacity, holding a fifth of a second's
// worth; a request without a token waits for the ones queued ahead of it. Called with c.mu.
func (c *Controller) queue() time.Duration {
	capacity := c.profile.CommCapacity
	if capacity <= 0 {
		return 0
	}
	now := c.clk.Now()
	burst := max(5, capacity/5)
	if c.commAt.IsZero() {
		c.commTokens, c.commAt = burst, now
	}
	c.commTokens = min(burst, c.commTokens+now.Sub(c.commAt).Seconds()*capacity)
	c.commAt = now
	c.commTokens--
	if c.commTokens >= 0 {
		return 0
	}
	return time.Duration(-c.commTokens / capacity * float64(time.Second))
}

// Tags lists the process image tags (model tags then system tags).
func (c *Controller) Tags() []plant.Tag { return c.img.Tags }

// TagIndex finds a tag.
func (c *Controller) TagIndex(name string) (int, bool) { return c.img.Index(name) }

// Points is the point map this firmware serves (a moved register is moved here).
func (c *Controller) Points() *point.Map { return c.points }

// Read copies the values of the tags at idx into out, all from the same scan.
func (c *Controller) Read(idx []int, out []point.Value) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrDown
	}
	for i, j := range idx {
		out[i] = c.img.Values[j]
	}
	return nil
}

// Get reads one tag by name.
func (c *Controller) Get(name string) (point.Value, error) {
	i, ok := c.img.Index(name)
	if !ok {
		return point.Value{}, fmt.Errorf("%w: %q", ErrNoTag, name)
	}
	out := make([]point.Value, 1)
	err := c.Read([]int{i}, out)
	return out[0], err
}

// Write is one tag write.
type Write struct {
	Index int
	Value point.Value
}

// Write applies writes atomically: all are checked first, then all are applied, so a
// refused write leaves the image as it was.
func (c *Controller) Write(ws []Write) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrDown
	}
	conv := make([]point.Value, len(ws))
	for k, w := range ws {
		if w.Index < 0 || w.Index >= len(c.img.Tags) {
			return ErrNoTag
		}
		v, err := checkWrite(c.img.Tags[w.Index], w.Value)
		if err != nil {
			return err
		}
		conv[k] = v
	}
	for k, w := range ws {
		c.img.Values[w.Index] = conv[k]
	}
	return nil
}

// Set writes one tag by name.
func (c *Controller) Set(name string, v point.Value) error {
	i, ok := c.img.Index(name)
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoTag, name)
	}
	return c.Write([]Write{{Index: i, Value: v}})
}

// checkWrite validates a write against the tag and converts it to the tag's own kind.
func checkWrite(t plant.Tag, v point.Value) (point.Value, error) {
	if !t.Writable {
		return v, fmt.Errorf("%s: %w", t.Name, ErrReadOnly)
	}
	if !v.Valid() {
		return v, fmt.Errorf("%s: %w", t.Name, ErrBadType)
	}
	want := t.Type.Kind()
	if (want == point.KindString) != (v.Kind() == point.KindString) {
		return v, fmt.Errorf("%s wants %s, got %s: %w", t.Name, t.Type, v.Kind(), ErrBadType)
	}
	if want == point.KindBool {
		if v.Kind() != point.KindBool {
			f := v.Float()
			if f != 0 && f != 1 {
				return v, fmt.Errorf("%s is a bool, got %s: %w", t.Name, v, ErrBadValue)
			}
		}
		return point.Bool(v.Bool()), nil
	}
	if want == point.KindString {
		if len(v.Text()) > t.Length {
			return v, fmt.Errorf("%s takes %d characters: %w", t.Name, t.Length, ErrBadValue)
		}
		return v, nil
	}
	f := v.Float()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return v, fmt.Errorf("%s: %s: %w", t.Name, v, ErrBadValue)
	}
	if (t.Min != 0 || t.Max != 0) && (f < t.Min || f > t.Max) {
		return v, fmt.Errorf("%s accepts %g..%g, got %s: %w", t.Name, t.Min, t.Max, v, ErrBadValue)
	}
	switch want {
	case point.KindFloat:
		if t.Type == point.TypeFloat32 {
			return point.Float(float64(float32(f))), nil
		}
		return point.Float(f), nil
	case point.KindUint:
		u, ok := v.Uint64()
		if !ok {
			return v, fmt.Errorf("%s wants a whole number >= 0, got %s: %w", t.Name, v, ErrBadValue)
		}
		return point.Uint(u), nil
	default:
		i, ok := v.Int64()
		if !ok {
			return v, fmt.Errorf("%s wants a whole number, got %s: %w", t.Name, v, ErrBadValue)
		}
		return point.Int(i), nil
	}
}

// Identity says who the controller is.
func (c *Controller) Identity() Identity {
	return Identity{
		Vendor:   "patchgate simulators",
		Product:  "SimPLC " + c.spec.Name,
		Model:    c.spec.Name,
		Firmware: c.profile.Version,
		Profile:  c.profile.Name,
		Serial:   fmt.Sprintf("SIM-%s-%08x", c.spec.Name, uint32(c.seed)),
	}
}

// Profile is the firmware profile running.
func (c *Controller) Profile() firmware.Profile { return c.profile }

// Period is the firmware's nominal scan period.
func (c *Controller) Period() time.Duration { return c.period }

// Clock is the controller's clock.
func (c *Controller) Clock() clock.Clock { return c.clk }

// Stats are the controller's scan statistics.
type Stats struct {
	Scans    uint64
	Overruns uint64
	Uptime   time.Duration // from the first scan to the last
}

// Stats returns the scan statistics.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Scans: c.scans, Overruns: c.overruns, Uptime: c.last.Sub(c.start)}
}
