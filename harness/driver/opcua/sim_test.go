package opcua

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
	"github.com/patchgate/patchgate/simulators/plc"
)

// TestMain silences gopcua's server, which logs its nodeset import on every start, and
// fails the package if any goroutine of gopcua or of this package outlives the tests.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	code := m.Run()
	if code == 0 {
		if err := noLeaks(10*time.Second, false); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// clientStacks returns the goroutines, other than the tests, that run code of gopcua or of
// this package; with servers set, those of the simulated servers (they carry the label
// "patchgate/opcuaserver") are left out.
func clientStacks(servers bool) []string {
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		panic(err)
	}
	var out []string
	for i, g := range strings.Split(b.String(), "\n\n") {
		if i == 0 || strings.Contains(g, "opcua.clientStacks") || strings.Contains(g, "testing.tRunner") ||
			strings.Contains(g, "testing.(*M).Run") || strings.Contains(g, "testing.(*B).") {
			continue // the profile's header, this goroutine, the tests
		}
		if servers && strings.Contains(g, `"patchgate/opcuaserver"`) {
			continue
		}
		if strings.Contains(g, "github.com/gopcua/opcua") || strings.Contains(g, "harness/driver/opcua.") {
			out = append(out, g)
		}
	}
	return out
}

// noLeaks polls until no goroutine of gopcua or this package is left, or the timeout.
func noLeaks(timeout time.Duration, servers bool) error {
	deadline := time.Now().Add(timeout)
	for {
		l := clientStacks(servers)
		if len(l) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutine groups leaked:\n\n%s", len(l), strings.Join(l, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// newTank runs a simulated tank on firmware fw ("" for the baseline). With frozen set it
// runs on a virtual clock that nobody advances, so its values stay put and reads compare
// exactly with Get.
func newTank(tb testing.TB, fw string, frozen bool) *plc.Controller {
	tb.Helper()
	opt := plc.Options{Seed: 1}
	if frozen {
		opt.Clock = clock.NewVirtual()
	}
	c, err := plc.New("tank", fw, opt)
	if err != nil {
		tb.Fatal(err)
	}
	c.Start()
	tb.Cleanup(c.Close)
	return c
}

// serve starts the OPC UA face of c on a free 127.0.0.1 port.
func serve(tb testing.TB, c *plc.Controller, sec opcuaserver.Security) *opcuaserver.Server {
	tb.Helper()
	s, err := opcuaserver.Start(testContext(tb), c, opcuaserver.Config{Addr: "127.0.0.1:0", Security: sec})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func tankMap(tb testing.TB) *point.Map {
	tb.Helper()
	pm, err := plc.PointMap("tank")
	if err != nil {
		tb.Fatal(err)
	}
	return pm
}

func parseMap(tb testing.TB, src string) *point.Map {
	tb.Helper()
	pm, err := point.Parse("test.yaml", []byte(src))
	if err != nil {
		tb.Fatal(err)
	}
	return pm
}

var (
	ownOnce sync.Once
	ownDER  []byte
	ownKey  []byte
	ownErr  error
)

// newPKIDir makes a pki folder for one test: pki/own holds a client certificate (made once
// per test binary: RSA key generation is slow under the race detector), and pki/trusted the
// server's certificate when trust is set. It returns the trust folder.
func newPKIDir(tb testing.TB, s *opcuaserver.Server, trust bool) string {
	tb.Helper()
	ownOnce.Do(func() {
		der, key, err := newClientCertificate()
		if err != nil {
			ownErr = err
			return
		}
		pk, err := x509.MarshalPKCS8PrivateKey(key)
		ownDER, ownKey, ownErr = der, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), err
	})
	if ownErr != nil {
		tb.Fatal(ownErr)
	}
	root := filepath.Join(tb.TempDir(), "pki")
	for _, d := range []string{"own", "trusted"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	write(filepath.Join(root, "own", "cert.der"), ownDER)
	write(filepath.Join(root, "own", "key.pem"), ownKey)
	if trust && s != nil {
		write(filepath.Join(root, "trusted", "server.der"), s.Certificate())
	}
	return filepath.Join(root, "trusted")
}

// targetURL is the server's URL with the trust folder and extra query parameters.
func targetURL(s *opcuaserver.Server, trust, query string) string {
	u := s.URL() + "?trust=" + url.QueryEscape(trust)
	if query != "" {
		u += "&" + query
	}
	return u
}

// open opens a Conn through the registered driver, or returns the error.
func open(ctx context.Context, rawURL string, pm *point.Map) (*Conn, error) {
	t, err := driver.ParseTarget(rawURL)
	if err != nil {
		return nil, err
	}
	dc, err := driver.Open(ctx, t, pm)
	if err != nil {
		return nil, err
	}
	return dc.(*Conn), nil
}

// dial opens a Conn to s with a trusting pki folder and extra query parameters, closed at
// cleanup.
func dial(tb testing.TB, s *opcuaserver.Server, query string, pm *point.Map) *Conn {
	tb.Helper()
	c, err := open(testContext(tb), targetURL(s, newPKIDir(tb, s, true), query), pm)
	if err != nil {
		tb.Fatal(err)
	}
	closeAtCleanup(tb, c)
	return c
}

func closeAtCleanup(tb testing.TB, c *Conn) {
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
}

func readTags(tb testing.TB, c *Conn, tags ...string) []driver.Reading {
	tb.Helper()
	out := make([]driver.Reading, len(tags))
	if err := c.Read(testContext(tb), tags, out); err != nil {
		tb.Fatalf("read %v: %v", tags, err)
	}
	return out
}

func mustGet(tb testing.TB, c *plc.Controller, tag string) point.Value {
	tb.Helper()
	v, err := c.Get(tag)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}
