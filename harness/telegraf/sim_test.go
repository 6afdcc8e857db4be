package telegraf_test

import (
	"context"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	_ "github.com/patchgate/patchgate/harness/driver/modbus"
	_ "github.com/patchgate/patchgate/harness/driver/opcua"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/simtest"
	"github.com/patchgate/patchgate/simulators/station"
)

// TestImportedMapsReadTheSimulator: telegraf configurations written for the simulated tank
// (its default Modbus layout and OPC UA nodes, and its scaled layout) import to point maps
// that read every point Good from an in-process station over Modbus TCP and OPC UA on
// 127.0.0.1, through the real drivers.
func TestImportedMapsReadTheSimulator(t *testing.T) {
	cases := []struct {
		conf, layout, name string
		url                func(*station.Station) string
	}{
		{"tank.conf", "", "tank", (*station.Station).ModbusURL},
		{"tank.conf", "", "tank-opcua", func(st *station.Station) string { return st.OPCUAURL() + "?security=None&allow_insecure=1" }},
		{"tank-scaled.conf", "scaled", "tank-scaled", (*station.Station).ModbusURL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			maps, _ := convert(t, c.conf)
			var pm *point.Map
			for _, m := range maps {
				if m.Name == c.name {
					var err error
					if pm, err = point.Parse(m.Name, m.YAML); err != nil {
						t.Fatal(err)
					}
				}
			}
			if pm == nil {
				t.Fatalf("no map %s in %s", c.name, c.conf)
			}
			st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 1, Layout: c.layout})
			tg, err := driver.ParseTarget(c.url(st))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := driver.Open(context.Background(), tg, pm)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			tags := pm.Tags()
			if len(tags) != 15 {
				t.Errorf("%d tags; want the tank's 15", len(tags))
			}
			out := make([]driver.Reading, len(tags))
			if err := conn.Read(context.Background(), tags, out); err != nil {
				t.Fatal(err)
			}
			for i, r := range out {
				if r.Quality != driver.Good {
					t.Errorf("%s: %s (%v)", tags[i], r.Quality, r.Err)
				}
			}
			fw := out[indexOf(tags, "Firmware")].Value.Text()
			if fw == "" {
				t.Errorf("Firmware reads empty")
			}
			t.Logf("Firmware %q", fw)
		})
	}
}

func indexOf(tags []string, tag string) int {
	for i, x := range tags {
		if x == tag {
			return i
		}
	}
	return -1
}
