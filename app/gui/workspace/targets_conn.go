package workspace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// TestTimeout bounds Test: connecting, identity, ping and one read.
const TestTimeout = 20 * time.Second

// Session is a read-only connection to a target, for the Bench tab: it reads the device
// identity and the points, and pings. It has no way to write (safety first with real
// controllers). Like a driver.Conn, it is used by one goroutine at a time.
type Session struct {
	Target Target
	URL    string // the target URL as shown (credentials redacted)
	conn   driver.Conn
	pm     *point.Map
	tags   []string
	out    []driver.Reading
	broken bool   // the last read lost the connection: reconnect before the next
	addr   string // host:port
}

// Connect opens t read-only: it checks the URL, loads the point map and opens the
// connection through the target's driver. Errors name the target's URL and the cause.
func (w *Workspace) Connect(ctx context.Context, t Target) (*Session, error) {
	if !t.Embedded { // the embedded targets' names are reserved: Check refuses them
		var err error
		if t, err = t.Check(); err != nil {
			return nil, fmt.Errorf("target %s (%s): %w", t.Name, t.URL, err)
		}
	}
	// the Settings tab's trust folder, as Validate and Discover use it
	pt, err := driver.ParseTarget(w.WithTrust(t.URL))
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	pm, err := w.PointMap(t)
	if err != nil {
		return nil, fmt.Errorf("target %s (%s): %w", t.Name, pt, err)
	}
	c, err := driver.Open(ctx, pt, pm)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	s := &Session{Target: t, URL: pt.String(), conn: c, pm: pm, tags: pm.Tags(), addr: pt.URL.Host}
	s.out = make([]driver.Reading, len(s.tags))
	return s, nil
}

// Identity reads what the device says about itself; driver.ErrUnsupported when its driver
// cannot.
func (s *Session) Identity(ctx context.Context) (driver.Identity, error) {
	idr, ok := s.conn.(driver.Identifier)
	if !ok {
		return driver.Identity{}, s.wrap("identity", driver.ErrUnsupported)
	}
	id, err := idr.Identity(ctx)
	if err != nil {
		return id, s.wrap("identity", err)
	}
	return id, nil
}

// Ping checks the connection with a cheap round trip and says how long it took;
// driver.ErrUnsupported when the driver has no ping.
func (s *Session) Ping(ctx context.Context) (time.Duration, error) {
	p, ok := s.conn.(driver.Pinger)
	if !ok {
		return 0, s.wrap("ping", driver.ErrUnsupported)
	}
	t0 := time.Now()
	if err := p.Ping(ctx); err != nil {
		return 0, s.wrap("ping", err)
	}
	return time.Since(t0), nil
}

// Read reads every point of the map once, in the map's order. A point the device refuses
// reads "bad: why"; a read that fails as a whole gives every point "missing" and the error,
// and the next Read reconnects first.
func (s *Session) Read(ctx context.Context) ([]Reading, error) {
	if s.broken {
		if r, ok := s.conn.(driver.Reconnector); ok {
			if err := r.Reconnect(ctx); err != nil {
				driver.AllMissing(s.out, err)
				return s.readings(), s.wrap("reconnect", err)
			}
		}
		s.broken = false
	}
	if err := s.conn.Read(ctx, s.tags, s.out); err != nil {
		s.broken = errors.Is(err, driver.ErrDisconnected)
		driver.AllMissing(s.out, err)
		return s.readings(), s.wrap("read", err)
	}
	return s.readings(), nil
}

// wrap names the target's URL in err, unless the driver's message names its address
// already.
func (s *Session) wrap(what string, err error) error {
	if s.addr != "" && strings.Contains(err.Error(), s.addr) {
		return err
	}
	return fmt.Errorf("%s: %s: %w", s.URL, what, err)
}

func (s *Session) readings() []Reading {
	out := make([]Reading, len(s.tags))
	for i, tag := range s.tags {
		p, _ := s.pm.Point(tag)
		out[i] = Reading{Tag: tag, Unit: p.Unit, Value: FormatReading(s.out[i])}
	}
	return out
}

// Close closes the connection.
func (s *Session) Close() error { return s.conn.Close() }

// FormatReading is a reading as the Bench tab shows it: the value, or "bad: why" or
// "missing".
func FormatReading(r driver.Reading) string {
	switch r.Quality {
	case driver.Good:
		return formatValue(r.Value)
	case driver.Bad:
		if r.Err != nil {
			return "bad: " + r.Err.Error()
		}
		return "bad"
	}
	return "missing"
}

func formatValue(v point.Value) string {
	switch v.Kind() {
	case point.KindFloat:
		return fmt.Sprintf("%.2f", v.Float())
	case point.KindString:
		return v.Text()
	}
	return v.String()
}

// TestResult is what Test found on a target.
type TestResult struct {
	Target      Target
	URL         string
	Identity    driver.Identity
	IdentityErr error         // the identity could not be read (a warning: the points may still read)
	RoundTrip   time.Duration // of the ping
	PingErr     error
	ReadErr     error // the read failed as a whole
	Readings    []Reading
	Bad         int // points read as bad or missing
}

// OK reports whether the ping and the read succeeded.
func (r *TestResult) OK() bool { return r.PingErr == nil && r.ReadErr == nil }

// Test opens t read-only (it never writes), reads the device identity, pings and reads
// every point once, then closes. The error is nil only when the ping and the read
// succeeded; it names the URL and the cause. The result is nil when t could not be opened.
func (w *Workspace) Test(ctx context.Context, t Target) (*TestResult, error) {
	ctx, cancel := context.WithTimeout(ctx, TestTimeout)
	defer cancel()
	s, err := w.Connect(ctx, t)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	r := &TestResult{Target: s.Target, URL: s.URL}
	r.Identity, r.IdentityErr = s.Identity(ctx)
	if errors.Is(r.IdentityErr, driver.ErrUnsupported) {
		r.IdentityErr = nil
	}
	r.RoundTrip, r.PingErr = s.Ping(ctx)
	if errors.Is(r.PingErr, driver.ErrUnsupported) {
		r.PingErr = nil
	}
	r.Readings, r.ReadErr = s.Read(ctx)
	for i := range s.out {
		if s.out[i].Quality != driver.Good {
			r.Bad++
		}
	}
	return r, errors.Join(r.PingErr, r.ReadErr)
}

// Summary is the result in a few lines for the Bench tab.
func (r *TestResult) Summary() string {
	var b strings.Builder
	status := "OK"
	if !r.OK() {
		status = "FAILED"
	}
	fmt.Fprintf(&b, "%s: %s (%s)\n", status, r.Target.Name, r.URL)
	fmt.Fprintf(&b, "identity: %s\n", FormatIdentity(r.Identity))
	if r.IdentityErr != nil {
		fmt.Fprintf(&b, "identity warning: %v\n", r.IdentityErr)
	}
	if r.PingErr != nil {
		fmt.Fprintf(&b, "ping failed: %v\n", r.PingErr)
	} else {
		fmt.Fprintf(&b, "ping: %s\n", r.RoundTrip.Round(10*time.Microsecond))
	}
	if r.ReadErr != nil {
		fmt.Fprintf(&b, "read failed: %v\n", r.ReadErr)
	} else {
		fmt.Fprintf(&b, "points: %d read, %d bad\n", len(r.Readings), r.Bad)
		shown := 0
		for _, x := range r.Readings {
			if strings.HasPrefix(x.Value, "bad") || x.Value == "missing" {
				if shown++; shown > 5 {
					fmt.Fprintf(&b, "  … and %d more\n", r.Bad-5)
					break
				}
				fmt.Fprintf(&b, "  %s: %s\n", x.Tag, x.Value)
			}
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// FormatIdentity is an identity in one line: vendor, product, firmware, serial.
func FormatIdentity(id driver.Identity) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	add("vendor", id.Vendor)
	add("product", id.Product)
	add("firmware", id.Firmware)
	add("serial", id.Serial)
	if len(parts) == 0 {
		return "not reported by the device"
	}
	return strings.Join(parts, ", ")
}
