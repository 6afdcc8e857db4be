package modbusserver

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/simonvetter/modbus"
)

// Extra function codes. simonvetter/modbus answers every code but 1 to 6, 15 and 16 with
// exception 01 and has no hook for others, so a server with extra codes (a firmware that
// answers more of the read-only codes, Config.ExtraCodes) puts a front before it: the front
// listens on the public address, answers the extra codes itself and passes every other
// request, frame by frame, to the library's server on a private loopback port. Drop,
// Suspend and Resume act on the front, as they act on the library's listener otherwise.

// codeReportServerID is function code 17, Report Server ID: the only extra code served.
const codeReportServerID = 0x11

type front struct {
	s     *Server
	inner string // the library's private host:port

	mu     sync.Mutex
	ln     net.Listener // nil while suspended
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (f *front) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		ln.Close()
		return errors.New("server closed")
	}
	f.ln = ln
	f.wg.Add(1)
	f.mu.Unlock()
	go f.accept(ln)
	return nil
}

func (f *front) accept(ln net.Listener) {
	defer f.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-f.s.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		if !f.track(c) {
			c.Close()
			continue
		}
		f.wg.Add(1)
		go f.serve(c)
	}
}

// track records a connection to cut; false once suspended or closed.
func (f *front) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.ln == nil {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *front) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

// suspend closes the listener and cuts every connection; closed also refuses a resume.
func (f *front) suspend(closed bool) {
	f.mu.Lock()
	ln, conns := f.ln, f.conns
	f.ln, f.conns = nil, map[net.Conn]struct{}{}
	f.closed = f.closed || closed
	f.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for c := range conns {
		c.Close()
	}
	if closed {
		f.wg.Wait()
	}
}

func (f *front) up() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ln != nil || f.closed
}

// serve reads the client's frames: the extra codes are answered here, the others go to the
// library on a connection of their own, whose answers come back whole.
func (f *front) serve(c net.Conn) {
	defer f.wg.Done()
	defer f.untrack(c)
	var wmu sync.Mutex
	write := func(frame []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_, err := c.Write(frame)
		return err
	}
	var inner net.Conn
	for {
		frame, err := readFrame(c)
		if err != nil {
			return
		}
		if slices.Contains(f.s.extra, int(frame[7])) {
			if write(f.s.answerExtra(frame)) != nil {
				return
			}
			continue
		}
		if inner == nil {
			d := net.Dialer{Timeout: 5 * time.Second}
			if inner, err = d.DialContext(f.s.ctx, "tcp", f.inner); err != nil || !f.track(inner) {
				if inner != nil {
					inner.Close()
				}
				return
			}
			defer f.untrack(inner)
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				for {
					b, err := readFrame(inner)
					if err != nil || write(b) != nil {
						return
					}
				}
			}()
		}
		if _, err := inner.Write(frame); err != nil {
			return
		}
	}
}

// readFrame reads one Modbus TCP frame: the MBAP header (transaction, protocol, length,
// unit) and the PDU.
func readFrame(r io.Reader) ([]byte, error) {
	b := make([]byte, 7, 7+254)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if binary.BigEndian.Uint16(b[2:]) != 0 || n < 2 || n > 254 {
		return nil, errors.New("not a Modbus TCP frame")
	}
	b = b[:7+n-1]
	if _, err := io.ReadFull(r, b[7:]); err != nil {
		return nil, err
	}
	return b, nil
}

// answerExtra answers one request for an extra code (the whole frame in, the whole frame
// out), through the same unit check and injected faults as every other request.
func (s *Server) answerExtra(req []byte) []byte {
	fc := req[7]
	var pdu []byte
	done, err := s.begin(req[6])
	switch {
	case err != nil:
		pdu = []byte{fc | 0x80, exceptionCode(err)}
	case fc == codeReportServerID:
		idt := s.c.Identity()
		id := []byte(idt.Product + " " + idt.Firmware)
		if len(id) > 200 {
			id = id[:200]
		}
		// byte count, server id, run indicator (0xFF: running)
		pdu = append(append([]byte{fc, byte(len(id) + 1)}, id...), 0xFF)
	default:
		pdu = []byte{fc | 0x80, 0x01}
	}
	done()
	out := append([]byte(nil), req[:7]...)
	binary.BigEndian.PutUint16(out[4:], uint16(len(pdu)+1))
	return append(out, pdu...)
}

func exceptionCode(err error) byte {
	switch {
	case errors.Is(err, modbus.ErrIllegalDataAddress):
		return 0x02
	case errors.Is(err, modbus.ErrIllegalDataValue):
		return 0x03
	case errors.Is(err, modbus.ErrServerDeviceBusy):
		return 0x06
	case errors.Is(err, modbus.ErrGWTargetFailedToRespond):
		return 0x0B
	}
	return 0x04
}
