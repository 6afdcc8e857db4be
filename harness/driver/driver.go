// Package driver is the one small interface through which the runner talks to controllers,
// in the manner of database/sql/driver: a required core (Open, Read, Write, Close, all taking
// a context) and optional capabilities found by type assertion (Identifier, Subscriber,
// Pinger, Reconnector, Restarter, Statser, Clocked). Each protocol library is imported by exactly one adapter
// package (driver/modbus, driver/opcua); in-process simulated controllers register a driver
// for sim:// from outside the engine, so the engine never imports the simulators.
//
// Targets are URLs:
//
//	modbus://host[:port]?unit=N[&max_registers_per_request=N&pause_after_connect=DUR&one_request_per_point=1&timeout=DUR]
//	opc.tcp://host[:port]/path?security=None|Basic256Sha256|Aes128_Sha256_RsaOaep|Aes256_Sha256_RsaPss&mode=None|Sign|SignAndEncrypt[&allow_insecure=1&trust=DIR&timeout=DUR&cert=FILE&key=FILE]
//	    [&user=NAME[&password_file=FILE|&password_env=VAR] | &user_cert=FILE&user_key=FILE]
//	sim://MODEL?firmware=NAME&seed=N
//
// A Conn is used by one goroutine at a time.
package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/patchgate/patchgate/harness/point"
)

// Sentinel errors that callers branch on.
var (
	// ErrDisconnected: the connection is gone; the caller records a gap and calls Reconnect
	// (or opens again). Like database/sql/driver.ErrBadConn, a driver returns it only when
	// no part of the operation reached the device... or when it cannot know.
	ErrDisconnected = errors.New("disconnected")
	// ErrNotWritable: the point map says the point is not writable.
	ErrNotWritable = errors.New("point is not writable")
	// ErrUnsupported: the target cannot do this (e.g. restart a real PLC).
	ErrUnsupported = errors.New("not supported by this target")
	// ErrBadTarget: the target URL is malformed.
	ErrBadTarget = errors.New("bad target")
)

// Quality of one reading.
type Quality uint8

const (
	Good    Quality = iota
	Bad             // the device answered with an error for this point (exception, bad status)
	Missing         // no answer: timeout or disconnected
)

func (q Quality) String() string {
	return [...]string{"good", "bad", "missing"}[q%3]
}

// Reading is one point's value from one read.
type Reading struct {
	Value   point.Value
	Quality Quality
	Err     error // why, when Quality is not Good
}

// Write is one point write.
type Write struct {
	Tag   string
	Value point.Value
}

// Conn is an open connection to one controller, reading and writing through a point map.
type Conn interface {
	// Read reads the tags; out[i] is the reading of tags[i]. One unreadable point does not
	// blank the others: it gets its own Quality. The error is for the whole request failing
	// (ErrDisconnected, context done).
	Read(ctx context.Context, tags []string, out []Reading) error
	// Write writes the values in order; it stops at the first refused write.
	Write(ctx context.Context, ws []Write) error
	Close() error
}

// Driver opens connections for one URL scheme.
type Driver interface {
	Open(ctx context.Context, t Target, pm *point.Map) (Conn, error)
}

// Identity is what a device says about itself.
type Identity struct {
	Vendor   string            `json:"vendor,omitempty"`
	Product  string            `json:"product,omitempty"`
	Firmware string            `json:"firmware,omitempty"`
	Serial   string            `json:"serial,omitempty"`
	Extra    map[string]string `json:"extra,omitempty"` // e.g. resolved OPC UA node ids, security policy
}

// Identifier is implemented by connections that can read the device identity.
type Identifier interface {
	Identity(ctx context.Context) (Identity, error)
}

// Pinger checks the connection with a cheap round trip.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Reconnector re-establishes a dropped connection.
type Reconnector interface {
	Reconnect(ctx context.Context) error
}

// Restarter can restart the controller (simulated controllers only).
type Restarter interface {
	Restart(ctx context.Context) error
}

// Update is one value change delivered by a subscription.
type Update struct {
	Tag     string
	Reading Reading
	Time    time.Time // source timestamp when the device gives one
}

// Subscriber delivers value changes at a sampling interval (OPC UA subscriptions).
type Subscriber interface {
	Subscribe(ctx context.Context, tags []string, interval time.Duration, out chan<- Update) (cancel func() error, err error)
}

// Stats are protocol statistics a connection keeps.
type Stats struct {
	Requests   uint64        `json:"requests"`
	Errors     uint64        `json:"errors"`
	Timeouts   uint64        `json:"timeouts"`
	Reconnects uint64        `json:"reconnects"`
	RoundTrip  time.Duration `json:"round_trip_last_ns"`
}

// Statser reports protocol statistics.
type Statser interface {
	Stats() Stats
}

// Clocked is implemented by connections to in-process simulated controllers whose time is
// simulated: the runner must take its time from this clock (never for wire protocols).
type Clocked interface {
	Clock() Clock
}

// Clock is the time source the runner uses (satisfied by simulators/clock types).
type Clock interface {
	Now() time.Time
	SleepUntil(ctx context.Context, t time.Time) error
}

// Target is a parsed target URL.
type Target struct {
	URL    *url.URL
	Scheme string // modbus, opc.tcp, sim
}

// String is the target as records, evidence and errors show it: the password of user
// information and the values of secret-looking query parameters (password, pass, pwd,
// secret) are replaced by "xxxxx". Drivers refuse such targets; this keeps the refusal
// itself from echoing the secret.
func (t Target) String() string {
	if t.URL == nil {
		return ""
	}
	s := t.URL.Redacted()
	if t.URL.RawQuery == "" {
		return s
	}
	base, _, _ := strings.Cut(s, "?")
	parts := strings.Split(t.URL.RawQuery, "&")
	for i, kv := range parts {
		k, _, ok := strings.Cut(kv, "=")
		if ok && secretParams[strings.ToLower(k)] {
			parts[i] = k + "=xxxxx"
		}
	}
	s = base + "?" + strings.Join(parts, "&")
	if t.URL.Fragment != "" {
		s += "#" + t.URL.EscapedFragment()
	}
	return s
}

// secretParams are query parameters whose values Target.String never shows.
var secretParams = map[string]bool{"password": true, "pass": true, "pwd": true, "secret": true}

// Simulated reports whether the target is an in-process simulated controller (no arming
// needed before writes).
func (t Target) Simulated() bool { return t.Scheme == "sim" }

// Query returns a query parameter.
func (t Target) Query(k string) string { return t.URL.Query().Get(k) }

// The registered ports a target URL without a port gets.
const (
	DefaultModbusPort = "502"
	DefaultOPCUAPort  = "4840"
)

// ParseTarget parses and checks a target URL. A Modbus or OPC UA URL without a port gets the
// protocol's registered port (502, 4840).
func ParseTarget(s string) (Target, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Target{}, fmt.Errorf("%w %q: not a URL (%v); expected modbus://host:port?unit=N, opc.tcp://host:port or sim://MODEL", ErrBadTarget, s, err)
	}
	t := Target{URL: u, Scheme: strings.ToLower(u.Scheme)}
	switch t.Scheme {
	case "modbus", "modbus+tcp", "opc.tcp":
		port := DefaultModbusPort
		if t.Scheme == "opc.tcp" {
			port = DefaultOPCUAPort
		}
		if u.Hostname() == "" || strings.HasSuffix(u.Host, ":") {
			return t, fmt.Errorf("%w %q: expected a host and an optional port, e.g. %s://127.0.0.1:%s", ErrBadTarget, s, t.Scheme, port)
		}
		if u.Port() == "" { // the protocol's registered port, as every Modbus and OPC UA client does
			u.Host = net.JoinHostPort(u.Hostname(), port)
		}
	case "sim":
		if u.Host == "" && u.Opaque == "" {
			return t, fmt.Errorf("%w %q: expected sim://MODEL?firmware=NAME", ErrBadTarget, s)
		}
	case "":
		return t, fmt.Errorf("%w %q: no scheme; expected modbus://, opc.tcp:// or sim://", ErrBadTarget, s)
	default:
		return t, fmt.Errorf("%w %q: unknown scheme %q; expected modbus, opc.tcp or sim", ErrBadTarget, s, u.Scheme)
	}
	if t.Scheme == "modbus+tcp" {
		t.Scheme = "modbus"
	}
	return t, nil
}

var (
	mu      sync.RWMutex
	drivers = map[string]Driver{}
)

// Register makes a driver available for a scheme. Adapters call it from init.
func Register(scheme string, d Driver) {
	mu.Lock()
	defer mu.Unlock()
	drivers[scheme] = d
}

// Schemes lists the registered schemes.
func Schemes() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for s := range drivers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open opens a connection to the target through its scheme's driver.
func Open(ctx context.Context, t Target, pm *point.Map) (Conn, error) {
	mu.RLock()
	d, ok := drivers[t.Scheme]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s: no driver for scheme %q (built in: %v)", t, t.Scheme, Schemes())
	}
	c, err := d.Open(ctx, t, pm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return c, nil
}

// QueryParams splits a target's raw query into key, value pairs in the order written,
// refusing a parameter given twice or without a value, which url.Values would let through:
// a typo in a target must never be silently ignored. Adapters check the keys they accept.
func QueryParams(raw string) ([][2]string, error) {
	var q [][2]string
	seen := map[string]bool{}
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		var err error
		if k, err = unescape(k); err == nil {
			v, err = unescape(v)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: query %q: %v", ErrBadTarget, kv, err)
		}
		if !ok || v == "" {
			return nil, fmt.Errorf("%w: parameter %q has no value; expected %s=VALUE", ErrBadTarget, k, k)
		}
		if seen[k] {
			return nil, fmt.Errorf("%w: parameter %q given twice; expected it once", ErrBadTarget, k)
		}
		seen[k] = true
		q = append(q, [2]string{k, v})
	}
	return q, nil
}

func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// AllMissing marks every reading Missing with err: what a driver returns beside a Read that
// failed as a whole (disconnected, timed out, context done).
func AllMissing(out []Reading, err error) {
	for i := range out {
		out[i] = Reading{Quality: Missing, Err: err}
	}
}
