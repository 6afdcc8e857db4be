package opcua

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
)

// next waits for the next update of tag (others are passed over), failing at ctx's end.
func next(t *testing.T, ctx context.Context, ch <-chan driver.Update, tag string) driver.Update {
	t.Helper()
	for {
		select {
		case u := <-ch:
			if u.Tag == tag {
				return u
			}
		case <-ctx.Done():
			t.Fatalf("no update of %s", tag)
		}
	}
}

// firsts collects the first update of each of tags, in whatever order they come.
func firsts(t *testing.T, ctx context.Context, ch <-chan driver.Update, tags ...string) map[string]driver.Update {
	t.Helper()
	got := map[string]driver.Update{}
	for len(got) < len(tags) {
		select {
		case u := <-ch:
			if _, seen := got[u.Tag]; !seen && slices.Contains(tags, u.Tag) {
				got[u.Tag] = u
			}
		case <-ctx.Done():
			t.Fatalf("updates of %v: only %d came", tags, len(got))
		}
	}
	return got
}

// TestSubscribe runs a subscription against the simulated server, which samples monitored
// variables every 50 ms and publishes changes: the scan counter of a running controller
// changes every scan.
func TestSubscribe(t *testing.T) {
	c := newTank(t, "", false)
	s := serve(t, c, opcuaserver.SecurityAll)
	pm := parseMap(t, tankMapPlus)
	conn := dial(t, s, "", pm)
	ctx := testContext(t)
	ch := make(chan driver.Update, 64)
	start := time.Now()
	cancel, err := conn.Subscribe(ctx, []string{"ScanCount", "Firmware", "Nowhere", "Unknown"}, 100*time.Millisecond, ch)
	if err != nil {
		t.Fatal(err)
	}

	first := firsts(t, ctx, ch, "Nowhere", "Unknown", "Firmware")
	// a tag without a node is delivered once, Bad, with the reason
	if u := first["Nowhere"]; u.Reading.Quality != driver.Bad || !errors.Is(u.Reading.Err, errUnresolved) {
		t.Errorf("Nowhere: %s %v", u.Reading.Quality, u.Reading.Err)
	}
	// a node the server does not have is delivered Bad with the server's status
	if u := first["Unknown"]; u.Reading.Quality != driver.Bad || !errors.Is(u.Reading.Err, StatusBadNodeIDUnknown) {
		t.Errorf("Unknown: %s %v", u.Reading.Quality, u.Reading.Err)
	}
	if u := first["Firmware"]; u.Reading.Quality != driver.Good || u.Reading.Value.Text() != "3.2.0" {
		t.Errorf("Firmware: %s %v %v", u.Reading.Quality, u.Reading.Value, u.Reading.Err)
	}
	var last uint64
	for i := 0; i < 3; i++ {
		u := next(t, ctx, ch, "ScanCount")
		n, ok := u.Reading.Value.Uint64()
		if u.Reading.Quality != driver.Good || !ok || n <= last || u.Reading.Value.Kind() != point.KindUint {
			t.Fatalf("ScanCount update %d: %s %v (%v) after %d", i, u.Reading.Quality, u.Reading.Value, u.Reading.Err, last)
		}
		if u.Time.Before(start.Add(-time.Second)) || u.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("update time %v; want the source timestamp, about now", u.Time)
		}
		last = n
	}

	// a lost connection is one Missing update per tag, then Reconnect resumes the updates
	c.DropConnections()
	for _, tag := range []string{"ScanCount", "Firmware", "Nowhere", "Unknown"} {
		for {
			u := next(t, ctx, ch, tag)
			if u.Reading.Quality == driver.Missing {
				if !errors.Is(u.Reading.Err, driver.ErrDisconnected) {
					t.Errorf("%s: %v", tag, u.Reading.Err)
				}
				break
			}
		}
	}
	if err := conn.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if u := next(t, ctx, ch, "ScanCount"); u.Reading.Quality != driver.Good {
		t.Errorf("after reconnect: %s %v", u.Reading.Quality, u.Reading.Err)
	}

	// cancel deletes the subscription and stops its goroutine; twice is harmless
	if err := cancel(); err != nil {
		t.Fatal(err)
	}
	if err := cancel(); err != nil {
		t.Fatal(err)
	}
	// the goroutine has closed its done channel when cancel returns; give it the moment it
	// takes to return
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		running := ""
		for _, g := range clientStacks(true) {
			if strings.Contains(g, "(*subscription).forward") {
				running = g
			}
		}
		if running == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the subscription's goroutine runs after cancel:\n%s", running)
		}
	}
	for len(ch) > 0 {
		<-ch
	}
	// the session is fine without it
	if r := readTags(t, conn, "ScanCount")[0]; r.Quality != driver.Good {
		t.Errorf("read after cancel: %s %v", r.Quality, r.Err)
	}
}

// tankMapPlus is the tank map with a point the server does not have.
const tankMapPlus = `
version: 1
name: tank-plus
opcua: {namespace_uri: "urn:patchgate:sim:tank"}
points:
  - {tag: ScanCount, type: uint32, opcua: {identifier: Tank.ScanCount}}
  - {tag: Firmware, type: string, length: 16, opcua: {identifier: Tank.Firmware}}
  - {tag: Level, type: float32, opcua: {identifier: Tank.Level}}
  - {tag: Nowhere, type: float32, opcua: {browse_path: Tank/Nowhere}}
  - {tag: Unknown, type: float32, opcua: {identifier: Tank.Unknown}}
`

func TestSubscribeRefusals(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	conn := dial(t, s, "", parseMap(t, tankMapPlus))
	ctx := testContext(t)
	ch := make(chan driver.Update, 1)
	for _, tc := range []struct {
		tags     []string
		interval time.Duration
		ch       chan driver.Update
		want     string
	}{
		{[]string{"Nope"}, time.Second, ch, `tag "Nope" is not in point map`},
		{[]string{"Level"}, 0, ch, "interval 0s"},
		{[]string{"Level"}, time.Second, nil, "nil channel"},
		{nil, time.Second, ch, "no tags"},
	} {
		if _, err := conn.Subscribe(ctx, tc.tags, tc.interval, tc.ch); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Subscribe(%v, %v): %v; want %q", tc.tags, tc.interval, err, tc.want)
		}
	}
}

// TestCloseEndsSubscriptions: Close stops a subscription whose consumer is not reading,
// and no goroutine of gopcua's client or of the driver is left when it returns.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	c := newTank(t, "", false)
	s := serve(t, c, opcuaserver.SecurityAll)
	for _, query := range []string{"", "security=None&allow_insecure=1"} {
		conn, err := open(testContext(t), targetURL(s, newPKIDir(t, s, true), query), tankMap(t))
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan driver.Update) // never read: the delivery blocks
		cancel, err := conn.Subscribe(testContext(t), []string{"ScanCount", "Level"}, 50*time.Millisecond, ch)
		if err != nil {
			t.Fatal(err)
		}
		readTags(t, conn, "Level")
		if len(clientStacks(true)) == 0 {
			t.Fatal("no client goroutines while connected: the check below would prove nothing")
		}
		if err := conn.Close(); err != nil {
			t.Fatal(err)
		}
		if l := clientStacks(true); len(l) != 0 {
			t.Errorf("%s: %d goroutine groups still run after Close:\n%s", query, len(l), strings.Join(l, "\n\n"))
		}
		if err := cancel(); err != nil {
			t.Errorf("cancel after Close: %v", err)
		}
		if err := conn.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := conn.Read(context.Background(), []string{"Level"}, make([]driver.Reading, 1)); err == nil {
			t.Error("read after Close succeeded")
		}
	}
}

// TestServiceFaultStopsSubscriptions pins a behaviour of gopcua's client: any ServiceFault
// answer ends its monitor and with it the publish loop of every subscription, though the
// session still serves reads. The driver tells the subscriber (Missing, ErrDisconnected)
// rather than going silent, refuses new subscriptions, and Reconnect brings them back.
func TestServiceFaultStopsSubscriptions(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", false)
	s := serve(t, c, opcuaserver.SecurityAll)
	pm := bigMap(t)
	conn := dial(t, s, "", pm)
	ctx := testContext(t)
	ch := make(chan driver.Update, 64)
	cancel, err := conn.Subscribe(ctx, []string{"Scan1"}, 50*time.Millisecond, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if u := next(t, ctx, ch, "Scan1"); u.Reading.Quality != driver.Good {
		t.Fatalf("first update: %s %v", u.Reading.Quality, u.Reading.Err)
	}

	// 40 nodes in one request: the server answers with a ServiceFault (BadTooManyOperations)
	conn.maxRead = 64
	conn.plans = planCache{}
	out := make([]driver.Reading, len(pm.Points))
	if err := conn.Read(ctx, pm.Tags(), out); err != nil || !errors.Is(out[0].Err, StatusBadTooManyOperations) {
		t.Fatalf("oversized read: %v, %v", err, out[0].Err)
	}
	for {
		u := next(t, ctx, ch, "Scan1")
		if u.Reading.Quality == driver.Missing {
			if !errors.Is(u.Reading.Err, driver.ErrDisconnected) || !strings.Contains(u.Reading.Err.Error(), "reconnect to resume") {
				t.Errorf("Missing update: %v", u.Reading.Err)
			}
			break
		}
	}
	if _, err := conn.Subscribe(ctx, []string{"Scan1"}, 50*time.Millisecond, ch); !errors.Is(err, driver.ErrDisconnected) {
		t.Errorf("subscribe on a client that stopped publishing: %v", err)
	}
	if r := readTags(t, conn, "Scan1")[0]; r.Quality != driver.Good {
		t.Errorf("reads go on: %s %v", r.Quality, r.Err)
	}

	if err := conn.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	for len(ch) > 0 {
		<-ch
	}
	if u := next(t, ctx, ch, "Scan1"); u.Reading.Quality != driver.Good {
		t.Errorf("after reconnect: %s %v", u.Reading.Quality, u.Reading.Err)
	}
	if conn.maxRead != 32 {
		t.Errorf("Reconnect did not read MaxNodesPerRead again: %d", conn.maxRead)
	}
}
