package modbus

import (
	"context"
	"fmt"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/clock"
	"github.com/patchgate/patchgate/simulators/modbusserver"
	"github.com/patchgate/patchgate/simulators/plc"
)

// startTank runs a simulated tank on firmware fw ("" for the baseline) with its Modbus TCP
// face on a free 127.0.0.1 port. With frozen set, the controller runs on a virtual clock that
// nobody advances, so its values stay put and reads compare exactly with Get.
func startTank(tb testing.TB, fw string, frozen bool) (*plc.Controller, *modbusserver.Server) {
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
	s, err := modbusserver.Start(c, modbusserver.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		c.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Close()
		c.Close()
	})
	return c, s
}

// tankMap is the shipped (baseline) tank point map.
func tankMap(tb testing.TB) *point.Map {
	tb.Helper()
	pm, err := plc.PointMap("tank")
	if err != nil {
		tb.Fatal(err)
	}
	return pm
}

// dial opens a Conn to s through the registered driver, with extra query parameters.
func dial(tb testing.TB, s *modbusserver.Server, query string, pm *point.Map) *Conn {
	tb.Helper()
	u := s.URL()
	if query != "" {
		u += "&" + query
	}
	t, err := driver.ParseTarget(u)
	if err != nil {
		tb.Fatal(err)
	}
	dc, err := driver.Open(context.Background(), t, pm)
	if err != nil {
		tb.Fatal(err)
	}
	c, ok := dc.(*Conn)
	if !ok {
		tb.Fatalf("driver.Open gave %T, want *modbus.Conn", dc)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return c
}

// readAll reads every tag of pm and fails the test on a whole-Read error.
func readAll(tb testing.TB, c *Conn, pm *point.Map) ([]string, []driver.Reading) {
	tb.Helper()
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	if err := c.Read(context.Background(), tags, out); err != nil {
		tb.Fatalf("read: %v", err)
	}
	return tags, out
}

func mustGet(tb testing.TB, c *plc.Controller, tag string) point.Value {
	tb.Helper()
	v, err := c.Get(tag)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func qualities(tags []string, out []driver.Reading) string {
	s := ""
	for i, r := range out {
		s += fmt.Sprintf("%s=%s ", tags[i], r.Quality)
	}
	return s
}
