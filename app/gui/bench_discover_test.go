package gui

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/patchgate/patchgate/app/gui/workspace"
)

// TestBenchDiscover: the Discover button finds a target's points over OPC UA, shows the
// map, saves it into the workspace's pointmaps folder and makes the target use it; Test
// then reads every point of it. An embedded Modbus station is discovered too, but keeps its
// map; a name in use needs Replace; a sim:// target cannot be discovered.
func TestBenchDiscover(t *testing.T) {
	h := newHarnessOPCUA(t)
	h.ui.Start()
	h.selectTab("Bench")
	p := h.ui.Bench.targets
	st := h.ws.Stations()[0]
	if _, err := h.ws.AddTarget(workspace.Target{Name: "Bench PLC", URL: st.OPCUATarget(), PointMap: "tank"}); err != nil {
		t.Fatal(err)
	}
	p.reload()

	p.selectName("tank before (simulated time)")
	if !p.discover.Disabled() {
		t.Error("Discover is enabled on a sim:// target")
	}

	p.selectName("Bench PLC")
	if p.discover.Disabled() {
		t.Fatal("Discover is disabled on an OPC UA target")
	}
	test.Tap(p.discover)
	if !p.discover.Disabled() || !strings.Contains(p.result.Text, "read-only") {
		t.Errorf("while discovering: button enabled %v, result %q", !p.discover.Disabled(), p.result.Text)
	}
	h.waitFor("the discovery", time.Minute, func() bool { return !p.discovering })
	d := p.disc
	if d == nil {
		t.Fatalf("no dialog; result %q", p.result.Text)
	}
	if !strings.Contains(d.text.Text, `identifier: "Tank.Level"`) || d.name.Text != "bench-plc" || d.use.Disabled() {
		t.Errorf("dialog: name %q, use disabled %v, map:\n%s", d.name.Text, d.use.Disabled(), d.text.Text)
	}
	if *screenshots != "" {
		shotPNG(t, h, "bench-discover")
	}
	test.Tap(d.use)
	if p.disc != nil {
		t.Fatalf("dialog still open: %q", d.err.Text)
	}
	file := filepath.Join(h.ws.Dir, "pointmaps", "bench-plc.yaml")
	if data, err := os.ReadFile(file); err != nil || string(data) != d.text.Text {
		t.Fatalf("%s: %v", file, err)
	}
	cur, ok := p.current()
	if !ok || cur.Name != "Bench PLC" || cur.PointMap != "pointmaps/bench-plc.yaml" || !strings.Contains(p.result.Text, "uses it now") {
		t.Fatalf("after Save and use: %+v, result %q", cur, p.result.Text)
	}
	test.Tap(p.test)
	h.waitFor("the test", time.Minute, func() bool { return !p.testing })
	if !strings.HasPrefix(p.result.Text, "OK: Bench PLC") || !strings.Contains(p.result.Text, "points: 15 read, 0 bad") {
		t.Errorf("test with the discovered map: %q", p.result.Text)
	}

	// an embedded Modbus station: discovered at full speed, saved, not used
	p.selectName("tank before (Modbus)")
	test.Tap(p.discover)
	h.waitFor("the discovery", time.Minute, func() bool { return !p.discovering })
	d = p.disc
	if d == nil || !d.use.Disabled() || !strings.Contains(d.text.Text, "# confirm type") {
		t.Fatalf("embedded Modbus: dialog %v; result %q", d != nil, p.result.Text)
	}
	d.name.SetText("bench-plc")
	test.Tap(d.save)
	if p.disc == nil || !strings.Contains(d.err.Text, "exists") {
		t.Fatalf("a name in use: %q", d.err.Text)
	}
	d.text.SetText(strings.Replace(d.text.Text, "version: 1", "version: 7", 1))
	d.replace.SetChecked(true)
	test.Tap(d.save)
	if p.disc == nil || !strings.Contains(d.err.Text, "version 7") {
		t.Fatalf("an edited map that does not load: %q", d.err.Text)
	}
	d.text.SetText(strings.Replace(d.text.Text, "version: 7", "version: 1", 1))
	test.Tap(d.save)
	if p.disc != nil || !strings.HasPrefix(p.result.Text, "saved ") {
		t.Fatalf("replace: %q %q", d.err.Text, p.result.Text)
	}
	if data, err := os.ReadFile(file); err != nil || !strings.Contains(string(data), "modbus: {register:") {
		t.Errorf("%s was not replaced: %v", file, err)
	}
}

func shotPNG(t *testing.T, h *harness, name string) {
	t.Helper()
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(*screenshots, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, h.win.Canvas().Capture()); err != nil {
		t.Fatal(err)
	}
}
