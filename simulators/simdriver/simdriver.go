// Package simdriver registers the sim:// target scheme: an in-process simulated controller,
// the embedded default that lets everything run with no hardware and no network.
//
//	sim://MODEL?firmware=NAME&seed=N&time=real|simulated&faults=latency=5ms,jitter=1ms
//
// time=simulated runs the controller and the runner on a virtual clock, as fast as the CPU
// allows (the run records it); the default is real time. The driver keeps Modbus semantics
// for what is Modbus-specific: a point whose Modbus address in the run's point map differs
// from where the firmware serves it reads as Bad (illegal data address), as it would over
// the wire. It lives outside harness/ because the engine must not import the simulators;
// the faces import it for its side effect.
package simdriver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/plc"
)

func init() { driver.Register("sim", Driver{}) }

// Driver opens in-process simulated controllers.
type Driver struct{}

var errMoved = errors.New("illegal data address: the firmware serves this point elsewhere")

// Open builds and starts a controller for the target.
func (Driver) Open(ctx context.Context, t driver.Target, pm *point.Map) (driver.Conn, error) {
	model := t.URL.Host
	if model == "" {
		model = t.URL.Opaque
	}
	q := t.URL.Query()
	for k := range q {
		switch k {
		case "firmware", "seed", "time", "faults":
		default:
			return nil, fmt.Errorf("%w: unknown parameter %q; expected firmware, seed, time or faults", driver.ErrBadTarget, k)
		}
	}
	opt := plc.Options{Seed: 1}
	if s := q.Get("seed"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: seed %q: expected a whole number", driver.ErrBadTarget, s)
		}
		opt.Seed = n
	}
	switch q.Get("time") {
	case "", "real":
	case "simulated", "fast":
		opt.Clock = clock.NewVirtual()
	default:
		return nil, fmt.Errorf("%w: time %q: expected real or simulated", driver.ErrBadTarget, q.Get("time"))
	}
	if f := q.Get("faults"); f != "" {
		if err := opt.Faults.Parse(f); err != nil {
			return nil, fmt.Errorf("%w: %v", driver.ErrBadTarget, err)
		}
	}
	c, err := plc.New(model, q.Get("firmware"), opt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", driver.ErrBadTarget, err)
	}
	conn := &Conn{c: c, tags: map[string]int{}, moved: map[string]bool{}}
	served := c.Points()
	for _, p := range pm.Points {
		i, ok := c.TagIndex(p.Tag)
		if !ok {
			continue // unknown tags read as Bad
		}
		conn.tags[p.Tag] = i
		if sp, ok := served.Point(p.Tag); ok && p.Modbus != nil && sp.Modbus != nil &&
			(p.Modbus.Address != sp.Modbus.Address || p.Modbus.Register != sp.Modbus.Register) {
			conn.moved[p.Tag] = true
		}
	}
	c.Start()
	return conn, nil
}

// Conn is a connection to an in-process controller.
type Conn struct {
	c     *plc.Controller
	tags  map[string]int
	moved map[string]bool

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
		case k.moved[t]:
			out[i] = driver.Reading{Quality: driver.Bad, Err: errMoved}
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
		if !ok || k.moved[w.Tag] {
			return fmt.Errorf("write %s: no such point in the controller", w.Tag)
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
