package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
)

// The posture probe (docs/architecture.md, section Security posture) asks the device which
// read-only function codes it serves. simonvetter/modbus has no raw PDU and no function code
// 43, so the probe frames its few requests itself (MBAP over TCP), each on its own
// short-lived connection, so that a device which ignores one request cannot confuse the
// answer to the next. It sends the requests of probeRequests and nothing else: every one
// reads, none writes, none changes a counter or a mode (no 8 diagnostics, which can restart
// communications or switch to listen-only).

// probeRequests are the only PDUs the probe may send, by function code.
var probeRequests = []struct {
	code byte
	pdu  []byte
}{
	{0x01, []byte{0x01, 0, 0, 0, 1}},    // read coils: address 0, one
	{0x02, []byte{0x02, 0, 0, 0, 1}},    // read discrete inputs: address 0, one
	{0x03, []byte{0x03, 0, 0, 0, 1}},    // read holding registers: address 0, one
	{0x04, []byte{0x04, 0, 0, 0, 1}},    // read input registers: address 0, one
	{0x07, []byte{0x07}},                // read exception status
	{0x0B, []byte{0x0B}},                // get comm event counter
	{0x0C, []byte{0x0C}},                // get comm event log
	{0x11, []byte{0x11}},                // report server id
	{0x2B, []byte{0x2B, 0x0E, 0x01, 0}}, // read device identification, basic, from object 0
}

// Names of the basic device identification objects (function code 43/14).
var deviceIDObjects = map[byte]string{0: "VendorName", 1: "ProductCode", 2: "MajorMinorRevision"}

// Posture implements driver.Posturer: a connect scan of the request's ports on the target's
// host, then the function code probe on the target's port. Only reads.
func (c *Conn) Posture(ctx context.Context, req driver.PostureRequest) (driver.Posture, error) {
	host, _, err := net.SplitHostPort(c.host)
	if err != nil {
		return driver.Posture{}, fmt.Errorf("modbus posture: %s: %w", c.host, err)
	}
	p := driver.Posture{}
	if p.Ports, err = driver.ScanPorts(ctx, host, req); err != nil {
		return p, fmt.Errorf("modbus posture: port scan of %s: %w", host, err)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = c.opt.timeout
	}
	mp, err := probeFunctionCodes(ctx, c.host, c.opt.unit, timeout)
	if err != nil {
		return p, err
	}
	p.Modbus = mp
	return p, nil
}

// probeFunctionCodes sends each request of probeRequests on its own connection to addr.
func probeFunctionCodes(ctx context.Context, addr string, unit byte, timeout time.Duration) (*driver.ModbusPosture, error) {
	mp := &driver.ModbusPosture{}
	for i, r := range probeRequests {
		resp, err := exchange(ctx, addr, unit, uint16(i+1), r.pdu, timeout)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		answer := driver.FCNoAnswer
		switch {
		case err != nil:
		case resp[0] == r.code|0x80 && len(resp) >= 2:
			answer = driver.FCException(resp[1])
		case resp[0] == r.code:
			answer = driver.FCAnswered
			if r.code == 0x2B {
				if id, err := parseDeviceID(resp); err == nil {
					mp.Identity = id
				}
			}
		}
		mp.Codes = append(mp.Codes, driver.FunctionCode{Code: int(r.code), Answer: answer})
	}
	return mp, nil
}

// exchange sends one PDU in an MBAP frame on a new connection and returns the answer's PDU.
func exchange(ctx context.Context, addr string, unit byte, tid uint16, pdu []byte, timeout time.Duration) ([]byte, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	dl := time.Now().Add(timeout)
	if t, ok := ctx.Deadline(); ok && t.Before(dl) {
		dl = t
	}
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	frame := make([]byte, 7, 7+len(pdu))
	binary.BigEndian.PutUint16(frame[0:], tid)
	binary.BigEndian.PutUint16(frame[4:], uint16(len(pdu)+1))
	frame[6] = unit
	if _, err := conn.Write(append(frame, pdu...)); err != nil {
		return nil, err
	}
	for {
		var h [7]byte
		if _, err := io.ReadFull(conn, h[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(h[4:]))
		if binary.BigEndian.Uint16(h[2:]) != 0 || n < 2 || n > 254 {
			return nil, errors.New("not a Modbus TCP answer")
		}
		body := make([]byte, n-1)
		if _, err := io.ReadFull(conn, body); err != nil {
			return nil, err
		}
		if binary.BigEndian.Uint16(h[0:]) == tid {
			return body, nil
		}
	}
}

// parseDeviceID reads the objects of a read device identification answer: 2B 0E code
// conformity more next count, then id, length, value per object.
func parseDeviceID(b []byte) (map[string]string, error) {
	if len(b) < 7 || b[0] != 0x2B || b[1] != 0x0E {
		return nil, errors.New("device identification: short or foreign answer")
	}
	out := map[string]string{}
	n, rest := int(b[6]), b[7:]
	for range n {
		if len(rest) < 2 || len(rest) < 2+int(rest[1]) {
			return nil, errors.New("device identification: object runs past the answer")
		}
		id, l := rest[0], int(rest[1])
		name, ok := deviceIDObjects[id]
		if !ok {
			name = "object " + strconv.Itoa(int(id))
		}
		out[name] = string(rest[2 : 2+l])
		rest = rest[2+l:]
	}
	return out, nil
}
