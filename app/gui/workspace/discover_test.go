package workspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
	"github.com/patchgate/patchgate/simulators/plc"
)

// TestDiscoverSaveUse: discover an embedded station over both protocols, save each map into
// the workspace's pointmaps folder, make a saved target use it, and Test the target: every
// point reads Good. A name in use is refused unless replaced; sim:// cannot be discovered.
func TestDiscoverSaveUse(t *testing.T) {
	w, err := Open(context.Background(), Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// the embedded before station's two faces (probed at full speed), saved into pointmaps/
	// and used by saved targets of the same controller
	embedded := w.EmbeddedTargets()[:2]
	for i, saved := range []Target{{Name: "Bench PLC (Modbus)", URL: embedded[0].URL, PointMap: "tank"},
		{Name: "Bench PLC / OPC UA", URL: embedded[1].URL, PointMap: "tank"}} {
		if _, err := w.AddTarget(saved); err != nil {
			t.Fatal(err)
		}
		var calls int
		res, err := w.Discover(ctx, embedded[i], func(done, total int) { calls++ })
		if err != nil {
			t.Fatal(err)
		}
		if res.Map.Name != DiscoveredName(embedded[i]) || (res.Protocol == "modbus") != (calls > 0) {
			t.Errorf("%s: map named %q, %d progress calls", embedded[i].Name, res.Map.Name, calls)
		}
		tg := saved
		name := DiscoveredName(tg)
		if name != "bench-plc-modbus" && name != "bench-plc-opc-ua" {
			t.Errorf("name %q", name)
		}
		rel, err := w.SavePointMap(name, res.YAML, false)
		if err != nil || rel != "pointmaps/"+name+".yaml" {
			t.Fatalf("save: %q %v", rel, err)
		}
		if _, err := w.SavePointMap(name, res.YAML, false); !errors.Is(err, ErrPointMapExists) {
			t.Errorf("save again: %v; expected ErrPointMapExists", err)
		}
		if _, err := w.SavePointMap(name, res.YAML, true); err != nil {
			t.Errorf("replace: %v", err)
		}
		used, err := w.UsePointMap(tg.Name, rel)
		if err != nil || used.PointMap != rel {
			t.Fatalf("use: %+v %v", used, err)
		}
		pm, err := w.PointMap(used)
		if err != nil || len(pm.Points) != len(res.Map.Points) {
			t.Fatalf("the target's map: %v", err)
		}
		r, err := w.Test(ctx, used)
		if err != nil || r.Bad != 0 || len(r.Readings) != len(pm.Points) {
			t.Errorf("%s with its discovered map: %v, %d bad of %d", tg.Name, err, r.Bad, len(r.Readings))
		}
	}
	if data, err := os.ReadFile(filepath.Join(w.Dir, TargetsFile)); err != nil || !strings.Contains(string(data), "point_map: pointmaps/bench-plc-opc-ua.yaml") {
		t.Errorf("%s: %v\n%s", TargetsFile, err, data)
	}
	if _, err := w.Discover(ctx, Target{Name: "s", URL: "sim://tank"}, nil); !errors.Is(err, driver.ErrBadTarget) {
		t.Errorf("sim://: %v", err)
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := w.SavePointMap(bad, []byte("version: 1\npoints: [{tag: A, type: bool, modbus: {register: coil, address: 0}}]\n"), false); err == nil {
			t.Errorf("name %q saved", bad)
		}
	}
	if _, err := w.SavePointMap("broken", []byte("version: 1\n"), false); err == nil || !strings.Contains(err.Error(), "pointmaps/broken.yaml") {
		t.Errorf("a map that does not load: %v", err)
	}
	if _, err := w.UsePointMap("tank before (Modbus)", "pointmaps/x.yaml"); !errors.Is(err, ErrNoTarget) {
		t.Errorf("use on an embedded target: %v", err)
	}
}

// A controller new to the bench is added without a point map (refused before, so nothing
// new could be discovered); reading it says what to do.
func TestTargetWithoutPointMapSaysDiscover(t *testing.T) {
	w := openTest(t)
	tg, err := w.AddTarget(Target{Name: "New PLC", URL: "modbus://127.0.0.1:1?unit=1"})
	if err != nil {
		t.Fatal(err)
	}
	if !CanDiscover(tg) {
		t.Errorf("a Modbus target cannot be discovered")
	}
	if _, err := w.PointMap(tg); err == nil || !strings.Contains(err.Error(), "New PLC has no point map yet; Discover finds its points") {
		t.Errorf("point map of a target without one: %v", err)
	}
}

// Connect (the Bench's Connect and Test) used the driver's default trust folder even when
// the Settings tab had set another; Validate and Discover used the Settings one.
func TestConnectUsesTheSettingsTrustFolder(t *testing.T) {
	c, err := plc.New("tank", "", plc.Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv, err := opcuaserver.Start(ctx, c, opcuaserver.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	w := openTest(t)
	trust := filepath.Join(t.TempDir(), "pki", "trusted")
	w.SetTrustDir(trust)
	_, err = w.Connect(ctx, Target{Name: "Secure PLC", URL: srv.URL(), PointMap: "tank"})
	ue := Untrusted(err)
	if ue == nil || filepath.Dir(ue.Trust) != trust {
		t.Fatalf("connect: %v; want a refusal naming the Settings folder %s", err, trust)
	}
}
