package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// ErrTimeout is wrapped, beside driver.ErrDisconnected, when a device gave no answer within
// the timeout.
var ErrTimeout = errors.New("no answer within the timeout")

// errClosed is returned by every operation after Close.
var errClosed = fmt.Errorf("connection closed: %w", net.ErrClosed)

// dialTimeout is the library's fixed connect timeout.
const dialTimeout = 5 * time.Second

// Conn is an open Modbus TCP connection to one unit. It is used by one goroutine at a time;
// Stats alone may be called from any goroutine.
type Conn struct {
	host string // host:port
	opt  options
	pm   *point.Map
	mc   *mb.ModbusClient
	ping *point.Point // the first Modbus point of the map; nil if none

	plans  planCache
	op     op            // the request in flight, reused so that a request allocates nothing here
	done   chan struct{} // the helper goroutine's "op finished" (buffered 1)
	wait   bool          // an op abandoned by its context is still running on the helper goroutine
	broken error         // why the connection refuses work until Reconnect; wraps driver.ErrDisconnected
	closed bool
	buf    []uint16 // registers of an oversized point read in chunks

	requests   atomic.Uint64
	errs       atomic.Uint64
	timeouts   atomic.Uint64
	reconnects atomic.Uint64
	rtt        atomic.Int64
}

var (
	_ driver.Conn        = (*Conn)(nil)
	_ driver.Identifier  = (*Conn)(nil)
	_ driver.Pinger      = (*Conn)(nil)
	_ driver.Reconnector = (*Conn)(nil)
	_ driver.Statser     = (*Conn)(nil)
)

// Open connects to the target and returns a *Conn. The point map is copied: later changes to
// pm do not reach the connection.
func (Driver) Open(ctx context.Context, t driver.Target, pm *point.Map) (driver.Conn, error) {
	host, o, err := parseTarget(t)
	if err != nil {
		return nil, err
	}
	if pm == nil {
		return nil, errors.New("modbus: no point map")
	}
	mc, err := mb.NewClient(&mb.ClientConfiguration{
		URL:     "tcp://" + host,
		Timeout: o.timeout,
		Logger:  log.New(io.Discard, "", 0), // the library logs to stdout by default
	})
	if err != nil {
		return nil, fmt.Errorf("modbus client for %s: %w", host, err)
	}
	mc.SetUnitId(o.unit)
	c := &Conn{host: host, opt: o, pm: pm.Clone(), mc: mc, done: make(chan struct{}, 1)}
	for i := range c.pm.Points {
		if c.pm.Points[i].Modbus != nil {
			c.ping = &c.pm.Points[i]
			break
		}
	}
	if err := c.connect(ctx); err != nil {
		if c.wait {
			// the dial outlives the context: let it finish and close what it opened
			go func() {
				<-c.done
				if c.op.err == nil {
					c.mc.Close()
				}
			}()
		}
		return nil, err
	}
	return c, nil
}

// connect dials and pauses as the target says.
func (c *Conn) connect(ctx context.Context) error {
	if err := c.exec(ctx, op{kind: opOpen}); err != nil {
		if c.broken == nil {
			c.broken = fmt.Errorf("%w: not connected", driver.ErrDisconnected)
		}
		return fmt.Errorf("unit %d on %s: connect: %w", c.opt.unit, c.host, err)
	}
	c.broken = nil
	if d := c.opt.pauseAfterConnect; d > 0 {
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-ctx.Done():
			c.markBroken(errors.New("pause after connect cut short"))
			return fmt.Errorf("unit %d on %s: pause_after_connect: %w", c.opt.unit, c.host, ctx.Err())
		}
	}
	return nil
}

// Reconnect closes the connection and connects again, pausing after the connect if the
// target says so.
func (c *Conn) Reconnect(ctx context.Context) error {
	if c.closed {
		return errClosed
	}
	if err := c.settle(ctx); err != nil && !errors.Is(err, driver.ErrDisconnected) {
		return fmt.Errorf("unit %d on %s: reconnect: %w", c.opt.unit, c.host, err)
	}
	c.mc.Close()
	c.broken = fmt.Errorf("%w: reconnecting", driver.ErrDisconnected)
	if err := c.connect(ctx); err != nil {
		return err
	}
	c.reconnects.Add(1)
	return nil
}

// Close closes the connection. An abandoned request still in flight is waited for (at most
// the timeout), so no goroutine outlives the Conn.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.wait {
		<-c.done
		c.wait = false
	}
	if err := c.mc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("unit %d on %s: close: %w", c.opt.unit, c.host, err)
	}
	return nil
}

// Stats returns the protocol statistics; safe from any goroutine.
func (c *Conn) Stats() driver.Stats {
	return driver.Stats{
		Requests:   c.requests.Load(),
		Errors:     c.errs.Load(),
		Timeouts:   c.timeouts.Load(),
		Reconnects: c.reconnects.Load(),
		RoundTrip:  time.Duration(c.rtt.Load()),
	}
}

// usable says why the connection cannot be used now, or nil.
func (c *Conn) usable() error {
	switch {
	case c.closed:
		return errClosed
	case c.broken != nil:
		return fmt.Errorf("unit %d on %s: %w (reconnect first)", c.opt.unit, c.host, c.broken)
	}
	return nil
}

// Read reads the tags into out. A point whose address the device refuses gets Quality Bad; a
// timeout or broken connection fails the whole Read with driver.ErrDisconnected and every
// reading Missing.
func (c *Conn) Read(ctx context.Context, tags []string, out []driver.Reading) error {
	if len(out) < len(tags) {
		return fmt.Errorf("modbus: Read of %d tags into %d readings", len(tags), len(out))
	}
	out = out[:len(tags)]
	if err := c.usable(); err != nil {
		driver.AllMissing(out, err)
		return err
	}
	pl, err := c.plans.get(c.pm, tags, c.opt)
	if err != nil {
		err = fmt.Errorf("unit %d on %s: %w", c.opt.unit, c.host, err)
		driver.AllMissing(out, err)
		return err
	}
	for i := range pl.reqs {
		if err := c.readRequest(ctx, &pl.reqs[i], out); err != nil {
			driver.AllMissing(out, err)
			return err
		}
	}
	return nil
}

// readRequest makes one planned request and decodes its points. If the device answers with
// an exception, the points are asked for one at a time, so that only the unreadable ones get
// Quality Bad. The error is for the whole Read (disconnected, context done).
func (c *Conn) readRequest(ctx context.Context, r *request, out []driver.Reading) error {
	regs, bits, err := c.readRange(ctx, r.table, r.start, r.count)
	if err == nil {
		for i := range r.slots {
			s := &r.slots[i]
			out[s.out] = decode(&s.addr, regs, bits, s.off)
		}
		return nil
	}
	if !isException(err) {
		return err
	}
	if len(r.slots) == 1 {
		out[r.slots[0].out] = driver.Reading{Quality: driver.Bad, Err: err}
		return nil
	}
	for i := range r.slots {
		s := &r.slots[i]
		regs, bits, err := c.readRange(ctx, s.addr.Register, s.addr.Address, size(s.addr))
		switch {
		case err == nil:
			out[s.out] = decode(&s.addr, regs, bits, 0)
		case isException(err):
			out[s.out] = driver.Reading{Quality: driver.Bad, Err: err}
		default:
			return err
		}
	}
	return nil
}

// decode takes a point's value from its request's answer, at offset off.
func decode(a *point.ModbusAddr, regs []uint16, bits []bool, off int) driver.Reading {
	if a.Register.IsBit() {
		return driver.Reading{Value: point.Bool(bits[off])}
	}
	v, err := a.Wire.Decode(regs[off : off+a.Wire.Registers()])
	if err != nil {
		return driver.Reading{Quality: driver.Bad, Err: fmt.Errorf("%s: %w", a, err)}
	}
	return driver.Reading{Value: v}
}

// isException reports whether err is a device's exception answer (the connection is fine).
func isException(err error) bool {
	var e Exception
	return errors.As(err, &e)
}

// readRange reads n registers or bits of a table from start. A register range above the
// per-request limit (a single oversized point) is read in chunks into c.buf. Errors carry
// the coordinates: "unit 1 on 127.0.0.1:5020, input 40+2: illegal data address".
func (c *Conn) readRange(ctx context.Context, t point.Register, start uint16, n int) ([]uint16, []bool, error) {
	lim := c.opt.limit(t)
	if n <= lim {
		kind := opReadRegisters
		if t.IsBit() {
			kind = opReadBits
		}
		if err := c.exec(ctx, op{table: t, addr: start, n: uint16(n), kind: kind}); err != nil {
			return nil, nil, c.wrap(t, int(start), n, "", err)
		}
		return c.op.regs, c.op.bits, nil
	}
	c.buf = c.buf[:0]
	for a := 0; a < n; a += lim {
		k := min(lim, n-a)
		if err := c.exec(ctx, op{kind: opReadRegisters, table: t, addr: start + uint16(a), n: uint16(k)}); err != nil {
			return nil, nil, c.wrap(t, int(start), n, "", err)
		}
		c.buf = append(c.buf, c.op.regs...)
	}
	return c.buf, nil, nil
}

// wrap puts coordinates on a request's error.
func (c *Conn) wrap(t point.Register, start, n int, what string, err error) error {
	return fmt.Errorf("unit %d on %s, %s: %s%w", c.opt.unit, c.host, rangeString(t, start, n), what, err)
}

// opKind is what an op does.
type opKind uint8

const (
	opOpen opKind = iota
	opReadRegisters
	opReadBits
	opWriteCoil
	opWriteRegister
	opWriteRegisters
)

// op is one call of the library: its arguments and results. A Conn keeps one and reuses it.
type op struct {
	kind  opKind
	table point.Register
	addr  uint16
	n     uint16
	val   uint16
	on    bool
	vals  []uint16
	regs  []uint16
	bits  []bool
	err   error
}

func (o *op) run(mc *mb.ModbusClient) {
	switch o.kind {
	case opOpen:
		o.err = mc.Open()
	case opReadRegisters:
		rt := mb.INPUT_REGISTER
		if o.table == point.RegisterHolding {
			rt = mb.HOLDING_REGISTER
		}
		o.regs, o.err = mc.ReadRegisters(o.addr, o.n, rt)
	case opReadBits:
		if o.table == point.RegisterCoil {
			o.bits, o.err = mc.ReadCoils(o.addr, o.n)
		} else {
			o.bits, o.err = mc.ReadDiscreteInputs(o.addr, o.n)
		}
	case opWriteCoil:
		o.err = mc.WriteCoil(o.addr, o.on)
	case opWriteRegister:
		o.err = mc.WriteRegister(o.addr, o.val)
	case opWriteRegisters:
		o.err = mc.WriteRegisters(o.addr, o.vals)
	}
}

// exec runs o (as c.op) and returns its outcome as an error: an Exception, or an error wrapping
// driver.ErrDisconnected (the connection is then marked broken), or the context's error.
// The op runs inline unless the context's deadline comes before the op's own timeout; then it
// runs on a helper goroutine and is abandoned when the context is done (settle collects it).
func (c *Conn) exec(ctx context.Context, o op) error {
	if err := c.settle(ctx); err != nil {
		return err
	}
	c.op = o
	if c.op.kind != opOpen {
		switch {
		case c.closed:
			return errClosed
		case c.broken != nil:
			return c.broken
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	limit := c.opt.timeout
	if c.op.kind == opOpen {
		limit = dialTimeout
	}
	start := time.Now()
	if dl, ok := ctx.Deadline(); ok && dl.Sub(start) < limit {
		go func() {
			c.op.run(c.mc)
			c.done <- struct{}{}
		}()
		select {
		case <-c.done:
		case <-ctx.Done():
			c.wait = true
			if c.op.kind != opOpen {
				c.requests.Add(1)
				c.errs.Add(1)
			}
			return fmt.Errorf("%w (request abandoned in flight)", ctx.Err())
		}
	} else {
		c.op.run(c.mc)
	}
	if c.op.kind != opOpen {
		c.rtt.Store(int64(time.Since(start)))
		c.requests.Add(1)
	}
	return c.outcome()
}

// settle waits for an op abandoned by an earlier context and records its outcome.
func (c *Conn) settle(ctx context.Context) error {
	if !c.wait {
		return nil
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return fmt.Errorf("%w (waiting for an abandoned request)", ctx.Err())
	}
	c.wait = false
	if err := c.op.err; err != nil && !isException(exception(err)) {
		c.markBroken(err)
		return c.broken
	}
	return nil
}

// outcome classifies the finished op's error.
func (c *Conn) outcome() error {
	err := c.op.err
	if err == nil {
		return nil
	}
	if c.op.kind != opOpen {
		c.errs.Add(1)
	}
	if e := exception(err); isException(e) {
		return e
	}
	if errors.Is(err, mb.ErrUnexpectedParameters) {
		return fmt.Errorf("request refused by the client library: %w", err)
	}
	c.markBroken(err)
	return c.broken
}

// exception turns the library's exception errors into an Exception; other errors are
// returned as they are.
func exception(err error) error {
	var me mb.Error
	if errors.As(err, &me) {
		switch me {
		case mb.ErrIllegalFunction:
			return IllegalFunction
		case mb.ErrIllegalDataAddress:
			return IllegalDataAddress
		case mb.ErrIllegalDataValue:
			return IllegalDataValue
		case mb.ErrServerDeviceFailure:
			return ServerDeviceFailure
		case mb.ErrAcknowledge:
			return Acknowledge
		case mb.ErrServerDeviceBusy:
			return ServerDeviceBusy
		case mb.ErrMemoryParityError:
			return MemoryParityError
		case mb.ErrGWPathUnavailable:
			return GatewayPathUnavailable
		case mb.ErrGWTargetFailedToRespond:
			return GatewayTargetFailedToRespond
		}
		return err
	}
	// the library reports codes it does not know as "unknown exception code (N)"
	var code uint8
	if _, e := fmt.Sscanf(err.Error(), "unknown exception code (%d)", &code); e == nil {
		return Exception(code)
	}
	return err
}

// markBroken records why the connection can no longer be trusted and closes the socket, so
// that a device with few connection slots gets this one back at once.
func (c *Conn) markBroken(cause error) {
	if errors.Is(cause, mb.ErrRequestTimedOut) || os.IsTimeout(cause) {
		c.timeouts.Add(1)
		c.broken = fmt.Errorf("%w: %w (%v)", driver.ErrDisconnected, ErrTimeout, c.opt.timeout)
	} else {
		c.broken = fmt.Errorf("%w: %v", driver.ErrDisconnected, cause)
	}
	c.mc.Close()
}

// Write writes the values in order. Every write is checked first (tag known, writable in the
// point map, value encodable), so a refused write does no I/O at all; then the writes are
// made one by one, stopping at the first that fails. A bit inside a holding register is a
// read-modify-write of that register (not atomic: the device may change the other bits in
// between); a value larger than one request is written in chunks (not atomic either).
func (c *Conn) Write(ctx context.Context, ws []driver.Write) error {
	if c.closed {
		return errClosed
	}
	prep := make([]prepared, len(ws))
	for i, w := range ws {
		p, err := c.prepare(w)
		if err != nil {
			return fmt.Errorf("unit %d on %s: %w", c.opt.unit, c.host, err)
		}
		prep[i] = p
	}
	if err := c.usable(); err != nil {
		return err
	}
	for i := range prep {
		if err := c.write(ctx, &prep[i]); err != nil {
			return err
		}
	}
	return nil
}

// prepared is one checked write.
type prepared struct {
	tag  string
	addr point.ModbusAddr
	regs []uint16 // whole registers to write
	on   bool     // coil or bit value
}

func (c *Conn) prepare(w driver.Write) (prepared, error) {
	p, ok := c.pm.Point(w.Tag)
	if !ok {
		return prepared{}, fmt.Errorf("write %s: tag is not in point map %q", w.Tag, c.pm.Name)
	}
	if p.Modbus == nil {
		return prepared{}, fmt.Errorf("write %s: no Modbus address in point map %q", w.Tag, c.pm.Name)
	}
	a := *p.Modbus
	if !p.Writable || !a.Register.Writable() {
		return prepared{}, fmt.Errorf("write %s (%s): %w", w.Tag, a, driver.ErrNotWritable)
	}
	pw := prepared{tag: w.Tag, addr: a}
	if a.Register == point.RegisterCoil || (a.Wire.Type == point.TypeBool && a.Wire.Bit >= 0) {
		on, err := boolOf(w.Value)
		if err != nil {
			return prepared{}, fmt.Errorf("write %s (%s): %w", w.Tag, a, err)
		}
		pw.on = on
		return pw, nil
	}
	regs, err := a.Wire.Encode(w.Value)
	if err != nil {
		return prepared{}, fmt.Errorf("write %s = %s (%s, %s): %w", w.Tag, w.Value, a, a.Wire.Type, err)
	}
	pw.regs = regs
	return pw, nil
}

// boolOf accepts true/false and the numbers 0 and 1 for a bit.
func boolOf(v point.Value) (bool, error) {
	switch {
	case v.Kind() == point.KindBool:
		return v.Bool(), nil
	case v.IsNumber() && (v.Float() == 0 || v.Float() == 1):
		return v.Float() == 1, nil
	}
	return false, fmt.Errorf("%s for a bit; expected true, false, 0 or 1: %w", v, point.ErrRange)
}

func (c *Conn) write(ctx context.Context, p *prepared) error {
	a := &p.addr
	fail := func(err error) error {
		return c.wrap(a.Register, int(a.Address), size(*a), "write "+p.tag+": ", err)
	}
	switch {
	case a.Register == point.RegisterCoil:
		if err := c.exec(ctx, op{kind: opWriteCoil, addr: a.Address, on: p.on}); err != nil {
			return fail(err)
		}
	case p.regs == nil: // a bit of a holding register
		if err := c.exec(ctx, op{kind: opReadRegisters, table: point.RegisterHolding, addr: a.Address, n: 1}); err != nil {
			return fail(fmt.Errorf("reading the register to set bit %d: %w", a.Wire.Bit, err))
		}
		v := a.Wire.EncodeBit(c.op.regs[0], p.on)
		if err := c.exec(ctx, op{kind: opWriteRegister, addr: a.Address, val: v}); err != nil {
			return fail(err)
		}
	case len(p.regs) == 1:
		if err := c.exec(ctx, op{kind: opWriteRegister, addr: a.Address, val: p.regs[0]}); err != nil {
			return fail(err)
		}
	default:
		lim := min(c.opt.maxRegisters, maxWriteRegisters)
		for i := 0; i < len(p.regs); i += lim {
			k := min(lim, len(p.regs)-i)
			if err := c.exec(ctx, op{kind: opWriteRegisters, addr: a.Address + uint16(i), vals: p.regs[i : i+k]}); err != nil {
				return fail(err)
			}
		}
	}
	return nil
}

// Ping reads the first Modbus point of the map. An exception answer proves the device is
// there and counts as success; no answer is an error wrapping driver.ErrDisconnected.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	if c.ping == nil {
		return fmt.Errorf("unit %d on %s: ping: %w (the point map has no Modbus point)", c.opt.unit, c.host, driver.ErrUnsupported)
	}
	a := c.ping.Modbus
	if _, _, err := c.readRange(ctx, a.Register, a.Address, size(*a)); err != nil && !isException(err) {
		return err
	}
	return nil
}

// identityTags are the point map tags Identity reads, if the map has them.
var identityTags = [...]string{"Vendor", "Product", "Firmware", "Serial"}

// Identity reads the identity points the map has (tags Vendor, Product, Firmware, Serial);
// Extra always holds the unit id. A map with none of them gives an Identity with only Extra.
// A point that cannot be read is an error, returned beside what could be read.
func (c *Conn) Identity(ctx context.Context) (driver.Identity, error) {
	id := driver.Identity{Extra: map[string]string{"unit": strconv.Itoa(int(c.opt.unit))}}
	dst := map[string]*string{"Vendor": &id.Vendor, "Product": &id.Product, "Firmware": &id.Firmware, "Serial": &id.Serial}
	var tags []string
	for _, t := range identityTags {
		if p, ok := c.pm.Point(t); ok && p.Modbus != nil {
			tags = append(tags, t)
		}
	}
	if len(tags) == 0 {
		return id, nil
	}
	out := make([]driver.Reading, len(tags))
	if err := c.Read(ctx, tags, out); err != nil {
		return id, fmt.Errorf("identity: %w", err)
	}
	var errs []error
	for i, r := range out {
		if r.Quality != driver.Good {
			errs = append(errs, fmt.Errorf("identity %s: %w", tags[i], r.Err))
			continue
		}
		if r.Value.Kind() == point.KindString {
			*dst[tags[i]] = r.Value.Text()
		} else {
			*dst[tags[i]] = r.Value.String()
		}
	}
	return id, errors.Join(errs...)
}
