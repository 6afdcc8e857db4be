// Package modbus is the Modbus TCP driver: it reads and writes a controller through a point
// map, with simonvetter/modbus as the wire client. It is the only package under harness/ that
// imports that library; it registers itself for the modbus:// scheme.
//
// Targets:
//
//	modbus://host:port?unit=N&timeout=DUR&max_registers_per_request=N&pause_after_connect=DUR&one_request_per_point=1
//
//	unit                       unit id, 0..255 (default 1)
//	timeout                    per-request timeout (default 1s)
//	max_registers_per_request  largest read of holding/input registers, 1..125 (default 125);
//	                           coils and discrete inputs are read up to 16 times as many bits,
//	                           at most 2000 (the protocol's limits); writes of registers are
//	                           also cut to this size, at most 123
//	pause_after_connect        device quirk: wait this long after connecting before the first
//	                           request (devices that drop requests sent too soon)
//	one_request_per_point      device quirk: never merge points into one request
//
// An unknown parameter is an error, so that a typo is never silently ignored.
//
// # Request planning
//
// The requests a Read makes are planned once per distinct tag list and cached: the points are
// grouped by table, sorted by address and merged where their registers are adjacent or
// overlap, up to max_registers_per_request. Gaps are never read through: real and simulated
// controllers answer 02 Illegal Data Address for an unmapped address. If a merged request is
// answered with an exception, the driver asks again one point at a time, so one unreadable
// address gets Quality Bad and the others are still read. A timeout or a broken connection
// fails the whole Read with driver.ErrDisconnected; the connection then refuses every
// operation until Reconnect.
//
// # Contexts and timeouts
//
// The library's calls block for at most the configured timeout and cannot be interrupted.
// The context is checked before every request. When the context has a deadline that comes
// before the timeout would, the request runs on a helper goroutine and the call returns when
// the context is done; the abandoned request is waited for (and its outcome recorded) before
// the next request on the connection, or by Close, so no goroutine outlives the Conn. A
// context that is only cancelled (no deadline) is seen between requests, within one timeout.
// Connecting uses the library's fixed 5 s dial timeout under the same rule; an Open abandoned
// by its context leaves one goroutine that ends within that dial timeout and closes what it
// opened.
//
// A Conn is used by one goroutine at a time; only Stats may be called from any goroutine.
package modbus

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
)

func init() {
	driver.Register("modbus", Driver{})
}

// Driver opens Modbus TCP connections.
type Driver struct{}

// Limits of the Modbus application protocol.
const (
	maxReadRegisters  = 125
	maxWriteRegisters = 123
	maxReadBits       = 2000
)

// options are the parsed query parameters of a target.
type options struct {
	unit              uint8
	timeout           time.Duration
	maxRegisters      int // per register read, 1..125
	maxBits           int // per coil/discrete read, 16 x maxRegisters up to 2000
	pauseAfterConnect time.Duration
	onePerPoint       bool
}

func defaultOptions() options {
	return options{unit: 1, timeout: time.Second, maxRegisters: maxReadRegisters, maxBits: maxReadBits}
}

// params are the query parameters a modbus target accepts, for error messages.
const params = "unit, timeout, max_registers_per_request, pause_after_connect, one_request_per_point"

// parseTarget checks a modbus target and returns its host:port and options. Every error wraps
// driver.ErrBadTarget and names the parameter and what was expected.
func parseTarget(t driver.Target) (string, options, error) {
	o := defaultOptions()
	u := t.URL
	if u == nil {
		return "", o, fmt.Errorf("%w: no URL; expected modbus://host:port?unit=N", driver.ErrBadTarget)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return "", o, fmt.Errorf("%w: expected host and port, e.g. modbus://127.0.0.1:502", driver.ErrBadTarget)
	}
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err != nil || p == 0 {
		return "", o, fmt.Errorf("%w: port %q; expected a number 1..65535", driver.ErrBadTarget, u.Port())
	}
	if u.Path != "" && u.Path != "/" {
		return "", o, fmt.Errorf("%w: path %q; a modbus target has none, expected modbus://host:port?unit=N", driver.ErrBadTarget, u.Path)
	}
	if u.User != nil {
		return "", o, fmt.Errorf("%w: user information; Modbus TCP has no login, expected modbus://host:port", driver.ErrBadTarget)
	}
	if u.Fragment != "" {
		return "", o, fmt.Errorf("%w: fragment %q; expected none", driver.ErrBadTarget, u.Fragment)
	}
	q, err := driver.QueryParams(u.RawQuery)
	if err != nil {
		return "", o, err
	}
	for _, kv := range q {
		k, v := kv[0], kv[1]
		bad := func(expected string) error {
			return fmt.Errorf("%w: %s=%q; expected %s", driver.ErrBadTarget, k, v, expected)
		}
		switch k {
		case "unit":
			n, err := strconv.ParseUint(v, 10, 8)
			if err != nil {
				return "", o, bad("a unit id 0..255")
			}
			o.unit = uint8(n)
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return "", o, bad("a duration above zero, such as 500ms or 2s")
			}
			o.timeout = d
		case "max_registers_per_request":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxReadRegisters {
				return "", o, bad("a number of registers 1..125")
			}
			o.maxRegisters = n
			o.maxBits = min(16*n, maxReadBits)
		case "pause_after_connect":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return "", o, bad("a duration such as 100ms, or 0")
			}
			o.pauseAfterConnect = d
		case "one_request_per_point":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return "", o, bad("1 or 0 (true or false)")
			}
			o.onePerPoint = b
		default:
			return "", o, fmt.Errorf("%w: unknown parameter %q; expected one of %s", driver.ErrBadTarget, k, params)
		}
	}
	return u.Host, o, nil
}

// Exception is a Modbus exception code a device answered with. Callers branch on it with
// errors.Is (errors.Is(err, modbus.IllegalDataAddress)) without importing the wire library.
type Exception uint8

// Exception codes of the Modbus application protocol.
const (
	IllegalFunction              Exception = 0x01
	IllegalDataAddress           Exception = 0x02
	IllegalDataValue             Exception = 0x03
	ServerDeviceFailure          Exception = 0x04
	Acknowledge                  Exception = 0x05
	ServerDeviceBusy             Exception = 0x06
	MemoryParityError            Exception = 0x08
	GatewayPathUnavailable       Exception = 0x0A
	GatewayTargetFailedToRespond Exception = 0x0B
)

func (e Exception) Error() string {
	switch e {
	case IllegalFunction:
		return "illegal function"
	case IllegalDataAddress:
		return "illegal data address"
	case IllegalDataValue:
		return "illegal data value"
	case ServerDeviceFailure:
		return "server device failure"
	case Acknowledge:
		return "acknowledge"
	case ServerDeviceBusy:
		return "server device busy"
	case MemoryParityError:
		return "memory parity error"
	case GatewayPathUnavailable:
		return "gateway path unavailable"
	case GatewayTargetFailedToRespond:
		return "gateway target device failed to respond"
	}
	return fmt.Sprintf("exception code 0x%02x", uint8(e))
}

// errTimeout is what a request that got no answer within the timeout reports (wrapped
// together with driver.ErrDisconnected).
var errTimeout = errors.New("no answer within the timeout")
