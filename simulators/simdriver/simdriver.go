// Package simdriver registers the sim:// target scheme: an in-process simulated controller,
// the embedded default that lets everything run with no hardware and no network.
//
//	sim://MODEL?firmware=NAME&seed=N&time=real|simulated&faults=latency=5ms,jitter=1ms
//	          &start=default|random|random:N&scan=DUR&map=default|scaled
//
// time=simulated runs the controller and the runner on a virtual clock, as fast as the CPU
// allows (the run records it); the default is real time. start=random starts the plant at a
// random valid state drawn from the seed (random:N draws it from N instead, leaving the
// process noise on seed); scan=50ms replaces the nominal scan period of the model and the
// firmware profile (1ms to 5s; the profile's scan_factor still applies, so
// scan=50ms&firmware=scan-slow-5 scans at 52.5 ms); map=scaled serves the register layout of
// pointmaps/MODEL-scaled.yaml instead of pointmaps/MODEL.yaml. See docs/architecture.md,
// "Simulated controllers".
//
// State between runs: every Open builds a new controller, and the runner opens its target
// for each run and closes it after, so nothing carries from one run to the next on a sim://
// target: each run starts from the start state again (the fixed one, or the same random one
// for the same seed and start), restarts its scan counter and forgets what the last run
// wrote. That is what lets a before and an after run on one seed start from the same plant.
// A standalone or embedded station (package station, `patchgate sim`) is the other case: its
// controller lives as long as the station and keeps its state across client connections and
// runs, as a bench PLC does.
//
// The driver keeps Modbus semantics for what is Modbus-specific: a point whose Modbus address
// (table, address, bit) in the run's point map differs from where the firmware serves it, or
// that the firmware does not serve over Modbus, reads as Bad (illegal data address), as it
// would over the wire; one at the right address but in another encoding (type, scale,
// offset, byte order) reads as Bad too, where over the wire it would read a wrong value. The
// values themselves are handed over as the controller holds them: unlike a scaled integer
// register on the wire, the driver does not round them to the point's resolution. It lives
// outside harness/ because the engine must not import the simulators; the faces import it for
// its side effect.
package simdriver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/plc"
	"github.com/patchgate/patchgate/simulators/simopt"
)

func init() { driver.Register("sim", Driver{}) }

// Driver opens in-process simulated controllers.
type Driver struct{}

var (
	errMoved    = errors.New("illegal data address: the firmware serves this point elsewhere")
	errEncoding = errors.New("the firmware serves this point at this address in another encoding (type, scale, offset or byte order)")
)

// params are the query parameters a sim target accepts, for errors.
const params = "firmware, seed, time, faults, start, scan or map"

// Open builds and starts a controller for the target. Every error wraps driver.ErrBadTarget
// and names the URL, the parameter and what was expected.
func (Driver) Open(ctx context.Context, t driver.Target, pm *point.Map) (driver.Conn, error) {
	opt, model, fw, err := options(t)
	if err != nil {
		return nil, err
	}
	c, err := plc.New(model, fw, opt)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", driver.ErrBadTarget, t.URL.Redacted(), err)
	}
	conn := &Conn{c: c, tags: map[string]int{}, bad: map[string]error{}}
	served := c.Points()
	for _, p := range pm.Points {
		i, ok := c.TagIndex(p.Tag)
		if !ok {
			continue // unknown tags read as Bad
		}
		conn.tags[p.Tag] = i
		if err := mismatch(p, served); err != nil {
			conn.bad[p.Tag] = err
		}
	}
	c.Start()
	return conn, nil
}

// options reads the target's query into controller options.
func options(t driver.Target) (plc.Options, string, string, error) {
	model := t.URL.Host
	if model == "" {
		model = t.URL.Opaque
	}
	opt := plc.Options{Seed: 1}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", driver.ErrBadTarget, t.URL.Redacted(), fmt.Sprintf(format, args...))
	}
	q := t.URL.Query()
	for k, vs := range q {
		switch k {
		case "firmware", "seed", "time", "faults", "start", "scan", "map":
		default:
			return opt, "", "", bad("unknown parameter %q; expected %s", k, params)
		}
		if len(vs) > 1 {
			return opt, "", "", bad("parameter %q given %d times; expected it once", k, len(vs))
		}
	}
	if s := q.Get("seed"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return opt, "", "", bad("seed %q: expected a whole number", s)
		}
		opt.Seed = n
	}
	switch q.Get("time") {
	case "", "real":
	case "simulated", "fast":
		opt.Clock = clock.NewVirtual()
	default:
		return opt, "", "", bad("time %q: expected real or simulated", q.Get("time"))
	}
	if f := q.Get("faults"); f != "" {
		if err := opt.Faults.Parse(f); err != nil {
			return opt, "", "", bad("faults: %v", err)
		}
	}
	if q.Has("start") {
		st, err := simopt.ParseStart(q.Get("start"))
		if err != nil {
			return opt, "", "", bad("%v", err)
		}
		opt.Start = st
	}
	if q.Has("scan") {
		d, err := simopt.ParseScan(q.Get("scan"))
		if err != nil {
			return opt, "", "", bad("%v", err)
		}
		opt.Scan = d
	}
	if q.Has("map") {
		opt.Layout = q.Get("map")
		if !slices.Contains(plc.Layouts(model), opt.Layout) {
			return opt, "", "", bad("map %q: expected one of %s (the register layouts shipped for %s)", opt.Layout, strings.Join(plc.Layouts(model), ", "), model)
		}
	}
	return opt, model, q.Get("firmware"), nil
}

// mismatch says why a point of the run's map would not read over Modbus from a firmware that
// serves the map served, or nil when it would.
func mismatch(p point.Point, served *point.Map) error {
	if p.Modbus == nil {
		return nil // not a Modbus point: nothing Modbus-specific to keep
	}
	sp, ok := served.Point(p.Tag)
	if !ok || sp.Modbus == nil {
		return errMoved
	}
	a, b := p.Modbus, sp.Modbus
	if a.Register != b.Register || a.Address != b.Address || a.Wire.Bit != b.Wire.Bit {
		return errMoved
	}
	if !sameEncoding(a.Wire, b.Wire) {
		return errEncoding
	}
	return nil
}

// sameEncoding reports whether two wires put every value in the same registers.
func sameEncoding(a, b point.Wire) bool {
	scale := func(w point.Wire) float64 {
		if w.Scale == 0 {
			return 1
		}
		return w.Scale
	}
	if a.Bit >= 0 {
		return a.Type == b.Type // one bit of a register: nothing else to agree on
	}
	if a.Type != b.Type || a.Length != b.Length || scale(a) != scale(b) || a.Offset != b.Offset {
		return false
	}
	if a.Type == point.TypeBool {
		return true // a coil, discrete input or whole register read as 0/1
	}
	return a.Order == b.Order || onlyWordsDiffer(a, b)
}

// onlyWordsDiffer: two byte orders that differ only in the order of the words are the same
// encoding for a value of one register, or for a string (whose words are never swapped).
func onlyWordsDiffer(a, b point.Wire) bool {
	bytesSwapped := func(o point.ByteOrder) bool { return o == point.DCBA || o == point.BADC }
	return bytesSwapped(a.Order) == bytesSwapped(b.Order) && (a.Registers() == 1 || a.Type == point.TypeString)
}

// Conn is a connection to an in-process controller.
type Conn struct {
	c    *plc.Controller
	tags map[string]int
	bad  map[string]error // points that would not read over Modbus, and why

	mu    sync.Mutex
	stats driver.Stats
	idx   []int
	vals  []point.Value
}

// Controller gives tests and the embedded workspace the controller behind the connection.
func (k *Conn) Controller() *plc.Controller { return k.c }

// Clock is the controller's clock (virtual for time=simulated).
func (k *Conn) Clock() driver.Clock { return k.c.Clock() }

func (k *Conn) request(ctx context.Context) error {
	k.stats.Requests++
	t0 := k.c.Clock().Now()
	err := k.c.Request(ctx)
	k.stats.RoundTrip = k.c.Clock().Now().Sub(t0)
	if err != nil {
		k.stats.Errors++
	}
	return err
}

// Read implements driver.Conn.
func (k *Conn) Read(ctx context.Context, tags []string, out []driver.Reading) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	err := k.request(ctx)
	switch {
	case errors.Is(err, plc.ErrException):
		for i := range tags {
			out[i] = driver.Reading{Quality: driver.Bad, Err: err}
		}
		return nil
	case err != nil:
		driver.AllMissing(out[:len(tags)], err)
		if errors.Is(err, plc.ErrDown) {
			return fmt.Errorf("%w: %v", driver.ErrDisconnected, err)
		}
		return err
	}
	k.idx = k.idx[:0]
	for _, t := range tags {
		k.idx = append(k.idx, k.tags[t])
	}
	if cap(k.vals) < len(tags) {
		k.vals = make([]point.Value, len(tags))
	}
	vals := k.vals[:len(tags)]
	for i, t := range tags {
		if _, ok := k.tags[t]; !ok {
			k.idx[i] = 0
		}
	}
	if err := k.c.Read(k.idx, vals); err != nil {
		driver.AllMissing(out[:len(tags)], err)
		return fmt.Errorf("%w: %v", driver.ErrDisconnected, err)
	}
	for i, t := range tags {
		switch _, known := k.tags[t]; {
		case !known:
			out[i] = driver.Reading{Quality: driver.Bad, Err: fmt.Errorf("no tag %q in the controller", t)}
		case k.bad[t] != nil:
			out[i] = driver.Reading{Quality: driver.Bad, Err: k.bad[t]}
		default:
			out[i] = driver.Reading{Value: vals[i], Quality: driver.Good}
		}
	}
	return nil
}

// Write implements driver.Conn.
func (k *Conn) Write(ctx context.Context, ws []driver.Write) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.request(ctx); err != nil {
		if errors.Is(err, plc.ErrDown) {
			return fmt.Errorf("%w: %v", driver.ErrDisconnected, err)
		}
		return err
	}
	for _, w := range ws {
		i, ok := k.tags[w.Tag]
		if !ok {
			return fmt.Errorf("write %s: no such point in the controller", w.Tag)
		}
		if err := k.bad[w.Tag]; err != nil {
			return fmt.Errorf("write %s: %w", w.Tag, err)
		}
		if err := k.c.Write([]plc.Write{{Index: i, Value: w.Value}}); err != nil {
			if errors.Is(err, plc.ErrReadOnly) {
				return fmt.Errorf("write %s: %w", w.Tag, driver.ErrNotWritable)
			}
			return fmt.Errorf("write %s = %s: %w", w.Tag, w.Value, err)
		}
	}
	return nil
}

// Close stops the controller.
func (k *Conn) Close() error {
	k.c.Close()
	return nil
}

// Identity implements driver.Identifier.
func (k *Conn) Identity(ctx context.Context) (driver.Identity, error) {
	id := k.c.Identity()
	return driver.Identity{Vendor: id.Vendor, Product: id.Product, Firmware: id.Firmware, Serial: id.Serial,
		Extra: map[string]string{"profile": id.Profile, "model": id.Model}}, nil
}

// Restart implements driver.Restarter.
func (k *Conn) Restart(ctx context.Context) error {
	k.c.Restart()
	return nil
}

// Reconnect implements driver.Reconnector: an in-process controller has no connection, so
// this only tells whether it answers again.
func (k *Conn) Reconnect(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stats.Reconnects++
	if _, err := k.c.Get(plc.TagScanCount); err != nil {
		return fmt.Errorf("%w: %v", driver.ErrDisconnected, err)
	}
	return nil
}

// Stats implements driver.Statser.
func (k *Conn) Stats() driver.Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stats
}

// Faults switches faults on the controller while a run goes on (tests, the desktop app).
func (k *Conn) Faults(f fault.Set) { k.c.SetFaults(f) }
