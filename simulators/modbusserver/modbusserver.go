// Package modbusserver serves a simulated controller over Modbus TCP with simonvetter/modbus's
// server, through the controller's point map and the shared point codec, so a Modbus master
// sees exactly the addresses, types and byte orders the point map documents.
//
// A holding register may pack bits of several points (a status or command word, bit: N in the
// point map). A write to such a word sets its writable bits and leaves the others as they
// are: they belong to the program, as status bits a PLC program rewrites every scan do, and
// the driver's read-modify-write of one command bit writes them back unchanged anyway. A word
// with no writable bit refuses the write like any read-only register.
//
// Exception codes: an address no point covers, or a write that touches a read-only point,
// gets 02 Illegal Data Address; a value the controller refuses (out of range, not 0/1 for a
// bool) gets 03 Illegal Data Value; an injected exception fault gets 06 Server Device Busy;
// a request for another unit id gets 0B Gateway Target Device Failed To Respond, which is
// what a Modbus TCP device answers for a unit behind it that does not exist.
package modbusserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/plc"
)

// Config says where and as which unit to serve.
type Config struct {
	Addr   string // host:port; port 0 picks a free port
	UnitID uint8  // 0 means 1
	// IdleTimeout closes a client connection idle this long (default 120 s, as the library).
	IdleTimeout time.Duration
	// ExtraCodes are read-only function codes answered beside 1 to 6, 15 and 16, as a
	// firmware that answers more does (firmware.Profile.ExtraCodes); only 17 (Report Server
	// ID: the product and firmware version, run indicator on) is implemented. Any other code
	// gets exception 01 Illegal Function.
	ExtraCodes []int
}

// Server is one Modbus TCP face of a controller.
type Server struct {
	c      *plc.Controller
	unit   uint8
	addr   string // resolved host:port
	idle   time.Duration
	tables map[point.Register]map[uint16][]int // address -> indexes into pts
	pts    []mapped
	extra  []int  // Config.ExtraCodes
	front  *front // before the library when extra is set

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex // guards srv and closed
	srv     *modbus.ModbusServer
	closed  bool
	running sync.WaitGroup // handler calls in flight
}

type mapped struct {
	p   point.Point
	tag int // controller tag index
}

// Start serves c on cfg.Addr and returns once it listens.
func Start(c *plc.Controller, cfg Config) (*Server, error) {
	s := &Server{c: c, unit: cfg.UnitID, idle: cfg.IdleTimeout, tables: map[point.Register]map[uint16][]int{}}
	if s.unit == 0 {
		s.unit = 1
	}
	for _, fc := range cfg.ExtraCodes {
		if fc != codeReportServerID {
			return nil, fmt.Errorf("modbus: extra function code %d; only 17 (Report Server ID) is implemented", fc)
		}
	}
	s.extra = slices.Clone(cfg.ExtraCodes)
	for _, p := range c.Points().Points {
		if p.Modbus == nil {
			continue
		}
		ti, ok := c.TagIndex(p.Tag)
		if !ok {
			return nil, fmt.Errorf("modbus: point %s has no tag in the controller", p.Tag)
		}
		k := len(s.pts)
		s.pts = append(s.pts, mapped{p: p, tag: ti})
		t := s.tables[p.Modbus.Register]
		if t == nil {
			t = map[uint16][]int{}
			s.tables[p.Modbus.Register] = t
		}
		n := p.Modbus.Wire.Registers()
		if p.Modbus.Register.IsBit() {
			n = 1
		}
		for a := 0; a < n; a++ {
			addr := p.Modbus.Address + uint16(a)
			t[addr] = append(t[addr], k)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if len(s.extra) > 0 {
		if err := s.startFront(cfg.Addr); err != nil {
			return nil, err
		}
		c.Attach(s)
		return s, nil
	}
	addr, err := s.listen(cfg.Addr)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.addr = addr
	c.Attach(s)
	return s, nil
}

// startFront starts the library on a private loopback port and the front on addr.
func (s *Server) startFront(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		s.cancel()
		return fmt.Errorf("modbus listen address %q: %w", addr, err)
	}
	inner, err := s.listen("127.0.0.1:0")
	if err != nil {
		s.cancel()
		return err
	}
	s.front = &front{s: s, inner: inner, conns: map[net.Conn]struct{}{}}
	if err := s.front.listen(addr); err != nil {
		s.Close()
		return fmt.Errorf("modbus listen on %s: %w", addr, err)
	}
	s.addr = s.front.ln.Addr().String()
	return nil
}

// listen starts the library server. The library binds inside Start and does not tell which
// port it got, so port 0 is resolved first by binding and releasing a free port; a lost race
// for that port is retried.
func (s *Server) listen(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("modbus listen address %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		p := port
		if p == "0" || p == "" {
			l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				return "", fmt.Errorf("modbus listen on %s: %w", addr, err)
			}
			p = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
			l.Close()
		}
		hp := net.JoinHostPort(host, p)
		err := s.startAt(hp)
		if err == nil {
			return hp, nil
		}
		if (port != "0" && port != "") || try >= 5 {
			return "", fmt.Errorf("modbus listen on %s: %w", hp, err)
		}
	}
}

func (s *Server) startAt(hostport string) error {
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL:        "tcp://" + hostport,
		Timeout:    s.idle,
		MaxClients: 16,
		Logger:     log.New(io.Discard, "", 0),
	}, s)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		srv.Stop()
		return errors.New("server closed")
	}
	s.srv = srv
	return nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// URL is the patchgate target URL of this server.
func (s *Server) URL() string { return fmt.Sprintf("modbus://%s?unit=%d", s.addr, s.unit) }

// UnitID is the unit the server answers.
func (s *Server) UnitID() uint8 { return s.unit }

// Close stops the server and waits for requests in flight (a stalled one is released).
func (s *Server) Close() error {
	s.c.Detach(s)
	s.mu.Lock()
	s.closed = true
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	s.cancel()
	if s.front != nil {
		s.front.suspend(true) // after cancel: a request stalled by a fault lets go
	}
	var err error
	if srv != nil {
		err = srv.Stop()
	}
	s.running.Wait()
	return err
}

// Drop cuts every connection and listens again at once.
func (s *Server) Drop() {
	s.Suspend()
	s.Resume()
}

// Suspend closes the listener and every connection.
func (s *Server) Suspend() {
	if s.front != nil {
		s.front.suspend(false)
		return
	}
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// Resume listens again on the same address.
func (s *Server) Resume() {
	start := s.startAt
	if s.front != nil {
		if s.front.up() {
			return
		}
		start = s.front.listen
	} else {
		s.mu.Lock()
		up := s.srv != nil || s.closed
		s.mu.Unlock()
		if up {
			return
		}
	}
	// the port was ours a moment ago; retry briefly in case the OS has not released it
	for i := 0; i < 50; i++ {
		if err := start(s.addr); err == nil || s.ctx.Err() != nil {
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// begin is called by every handler: unit check, in-flight accounting, injected faults.
func (s *Server) begin(unit uint8) (func(), error) {
	if unit != s.unit {
		return func() {}, modbus.ErrGWTargetFailedToRespond
	}
	s.running.Add(1)
	if err := s.c.Request(s.ctx); err != nil {
		return s.running.Done, mapErr(err)
	}
	return s.running.Done, nil
}

func mapErr(err error) error {
	switch {
	case errors.Is(err, plc.ErrException):
		return modbus.ErrServerDeviceBusy
	case errors.Is(err, plc.ErrReadOnly), errors.Is(err, plc.ErrNoTag):
		return modbus.ErrIllegalDataAddress
	case errors.Is(err, plc.ErrBadValue), errors.Is(err, plc.ErrBadType), errors.Is(err, point.ErrRange):
		return modbus.ErrIllegalDataValue
	}
	return modbus.ErrServerDeviceFailure
}

// covering returns the mapped points (indexes into s.pts) that cover addr..addr+n-1, or an
// error if any address in the range is not covered.
func (s *Server) covering(reg point.Register, addr, n uint16) ([]int, error) {
	t := s.tables[reg]
	var out []int
	seen := map[int]bool{}
	for a := uint32(addr); a < uint32(addr)+uint32(n); a++ {
		ks, ok := t[uint16(a)]
		if !ok {
			return nil, modbus.ErrIllegalDataAddress
		}
		for _, k := range ks {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out, nil
}

func (s *Server) readValues(ks []int) ([]point.Value, error) {
	idx := make([]int, len(ks))
	for i, k := range ks {
		idx[i] = s.pts[k].tag
	}
	vals := make([]point.Value, len(ks))
	if err := s.c.Read(idx, vals); err != nil {
		return nil, mapErr(err)
	}
	return vals, nil
}

// registers encodes the points ks (with values vals) into the register range addr..addr+n-1.
func (s *Server) registers(ks []int, vals []point.Value, addr, n uint16) ([]uint16, error) {
	out := make([]uint16, n)
	for i, k := range ks {
		m := s.pts[k].p.Modbus
		var regs []uint16
		if isBit(m) {
			regs = []uint16{m.Wire.EncodeBit(0, vals[i].Bool())}
		} else {
			r, err := m.Wire.Encode(vals[i])
			if err != nil {
				return nil, modbus.ErrServerDeviceFailure
			}
			regs = r
		}
		for j, r := range regs {
			a := int(m.Address) + j - int(addr)
			if a >= 0 && a < int(n) {
				out[a] |= r
			}
		}
	}
	return out, nil
}

func (s *Server) readRegisters(reg point.Register, addr, n uint16) ([]uint16, error) {
	ks, err := s.covering(reg, addr, n)
	if err != nil {
		return nil, err
	}
	vals, err := s.readValues(ks)
	if err != nil {
		return nil, err
	}
	return s.registers(ks, vals, addr, n)
}

func (s *Server) readBits(reg point.Register, addr, n uint16) ([]bool, error) {
	ks, err := s.covering(reg, addr, n)
	if err != nil {
		return nil, err
	}
	vals, err := s.readValues(ks)
	if err != nil {
		return nil, err
	}
	out := make([]bool, n)
	for i, k := range ks {
		out[s.pts[k].p.Modbus.Address-addr] = vals[i].Bool()
	}
	return out, nil
}

// HandleCoils implements modbus.RequestHandler.
func (s *Server) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	done, err := s.begin(req.UnitId)
	defer done()
	if err != nil {
		return nil, err
	}
	if !req.IsWrite {
		return s.readBits(point.RegisterCoil, req.Addr, req.Quantity)
	}
	ks, err := s.covering(point.RegisterCoil, req.Addr, req.Quantity)
	if err != nil {
		return nil, err
	}
	ws := make([]plc.Write, 0, len(ks))
	for _, k := range ks {
		m := s.pts[k]
		ws = append(ws, plc.Write{Index: m.tag, Value: point.Bool(req.Args[m.p.Modbus.Address-req.Addr])})
	}
	return nil, s.write(ws)
}

// HandleDiscreteInputs implements modbus.RequestHandler.
func (s *Server) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	done, err := s.begin(req.UnitId)
	defer done()
	if err != nil {
		return nil, err
	}
	return s.readBits(point.RegisterDiscrete, req.Addr, req.Quantity)
}

// HandleInputRegisters implements modbus.RequestHandler.
func (s *Server) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	done, err := s.begin(req.UnitId)
	defer done()
	if err != nil {
		return nil, err
	}
	return s.readRegisters(point.RegisterInput, req.Addr, req.Quantity)
}

// HandleHoldingRegisters implements modbus.RequestHandler. A write may cover part of a
// multi-register point (one word of a float32): the written words are laid over the point's
// current registers and the result decoded, as a PLC's memory would behave.
func (s *Server) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	done, err := s.begin(req.UnitId)
	defer done()
	if err != nil {
		return nil, err
	}
	if !req.IsWrite {
		return s.readRegisters(point.RegisterHolding, req.Addr, req.Quantity)
	}
	ks, err := s.covering(point.RegisterHolding, req.Addr, req.Quantity)
	if err != nil {
		return nil, err
	}
	// a word of bits takes the write when one of its bits is writable (see the package doc)
	commandWord := map[uint16]bool{}
	for _, k := range ks {
		if m := s.pts[k].p; m.Writable && isBit(m.Modbus) {
			commandWord[m.Modbus.Address] = true
		}
	}
	for _, k := range ks {
		m := s.pts[k].p
		if !m.Writable && !(isBit(m.Modbus) && commandWord[m.Modbus.Address]) {
			return nil, modbus.ErrIllegalDataAddress
		}
	}
	vals, err := s.readValues(ks)
	if err != nil {
		return nil, err
	}
	ws := make([]plc.Write, 0, len(ks))
	for i, k := range ks {
		m := s.pts[k].p.Modbus
		var cur []uint16
		if isBit(m) {
			if !s.pts[k].p.Writable {
				continue // the program's bit in a command word
			}
			word := req.Args[m.Address-req.Addr]
			ws = append(ws, plc.Write{Index: s.pts[k].tag, Value: point.Bool(word&(1<<uint(m.Wire.Bit)) != 0)})
			continue
		}
		cur, err = m.Wire.Encode(vals[i])
		if err != nil {
			return nil, modbus.ErrServerDeviceFailure
		}
		for j := range cur {
			a := int(m.Address) + j - int(req.Addr)
			if a >= 0 && a < len(req.Args) {
				cur[j] = req.Args[a]
			}
		}
		v, err := m.Wire.Decode(cur)
		if err != nil {
			return nil, modbus.ErrIllegalDataValue
		}
		ws = append(ws, plc.Write{Index: s.pts[k].tag, Value: v})
	}
	return nil, s.write(ws)
}

// isBit reports whether a point is one bit of a holding or input register.
func isBit(a *point.ModbusAddr) bool { return a.Wire.Type == point.TypeBool && a.Wire.Bit >= 0 }

func (s *Server) write(ws []plc.Write) error {
	if err := s.c.Write(ws); err != nil {
		return mapErr(err)
	}
	return nil
}
