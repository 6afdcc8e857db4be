package gui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image/png"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
	"github.com/patchgate/patchgate/simulators/plc"
)

// refusedURL is a Modbus target on 127.0.0.1 where nothing listens: a listener's port,
// closed again.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "modbus://" + l.Addr().String() + "?unit=1"
}

// TestBenchTargets adds a target through the dialog (a bad URL first), tests it while
// nothing listens and again once it points at a running controller, connects it into the
// live table, disconnects it and removes it.
func TestBenchTargets(t *testing.T) {
	h := newHarness(t)
	h.ui.Start()
	h.selectTab("Bench")
	b := h.ui.Bench
	p := b.targets
	// the embedded ones first: each tank's Modbus face and sim:// on simulated time (this
	// harness starts the tanks without OPC UA; newHarnessOPCUA lists their OPC UA faces too)
	if n := len(p.targets); n != 4 || !p.targets[0].Embedded || !p.targets[3].Embedded {
		t.Fatalf("%d targets listed, want the 4 embedded ones first", n)
	}
	p.list.Select(0)
	if !p.edit.Disabled() || !p.remove.Disabled() || p.test.Disabled() || p.connect.Disabled() {
		t.Error("an embedded target: Edit and Remove should be disabled, Test and Connect enabled")
	}

	// Add, with a malformed URL first: the dialog stays and says what is wrong
	test.Tap(p.add)
	d := p.dlg
	if d == nil {
		t.Fatal("no Add target dialog")
	}
	d.name.SetText("Bench PLC")
	d.url.SetText("modbus://:502?unit=1")
	d.pointMap.SetText("tank")
	test.Tap(d.save)
	if p.dlg == nil || !strings.Contains(d.err.Text, "modbus://:502?unit=1") || !strings.Contains(d.err.Text, "expected a host") {
		t.Fatalf("bad URL: dialog open %v, error %q", p.dlg != nil, d.err.Text)
	}
	refused := refusedURL(t)
	d.url.SetText(refused + "&map=tank")
	d.pointMap.SetText("")
	test.Tap(d.save)
	if p.dlg != nil {
		t.Fatalf("dialog still open: %q", d.err.Text)
	}
	cur, ok := p.current()
	if !ok || cur.Name != "Bench PLC" || cur.URL != refused || cur.PointMap != "tank" {
		t.Fatalf("selected after Add: %+v", cur)
	}
	if data, err := os.ReadFile(filepath.Join(h.ws.Dir, workspace.TargetsFile)); err != nil || !strings.Contains(string(data), refused) {
		t.Fatalf("%s: %v\n%s", workspace.TargetsFile, err, data)
	}

	// Test while nothing listens: the error names the URL and the cause
	test.Tap(p.test)
	h.waitFor("the failed test", 30*time.Second, func() bool { return !p.testing })
	if !strings.HasPrefix(p.result.Text, "FAILED") || !strings.Contains(p.result.Text, refused) || !strings.Contains(p.result.Text, "refused") {
		t.Errorf("test result %q; want FAILED naming %s and the refusal", p.result.Text, refused)
	}

	// Edit it to point at a running controller (the before station, as if a PLC)
	st := h.ws.Stations()[0]
	test.Tap(p.edit)
	d = p.dlg
	if d == nil || d.name.Text != "Bench PLC" || d.pointMap.Text != "tank" {
		t.Fatal("Edit target dialog missing or not filled in")
	}
	d.url.SetText(st.ModbusURL())
	test.Tap(d.save)
	if p.dlg != nil {
		t.Fatalf("edit: %q", d.err.Text)
	}
	test.Tap(p.test)
	h.waitFor("the test", 30*time.Second, func() bool { return !p.testing })
	if !strings.HasPrefix(p.result.Text, "OK: Bench PLC") || !strings.Contains(p.result.Text, "firmware "+st.Firmware().Version) {
		t.Errorf("test result %q; want OK with the firmware %s", p.result.Text, st.Firmware().Version)
	}

	// Connect: a column of its own in the live table, filled by reads over Modbus
	_, cols := b.tableSize()
	test.Tap(p.connect)
	if p.connect.Text != "Disconnect" {
		t.Errorf("connect button says %q while connected", p.connect.Text)
	}
	h.waitFor("the connected target's values", 30*time.Second, func() bool {
		c := b.connection("Bench PLC")
		return c != nil && len(c.rows) > 0 && c.err == "" && !strings.HasPrefix(c.rows[0].Value, "missing")
	})
	if _, n := b.tableSize(); n != cols+1 || b.heads[len(b.heads)-1] != "Bench PLC" {
		t.Errorf("table columns %d (%v), want %d with Bench PLC last", n, b.heads, cols+1)
	}
	if !strings.Contains(p.result.Text, "connected (read-only)") {
		t.Errorf("result after connect: %q", p.result.Text)
	}
	test.Tap(p.connect) // Disconnect
	if _, n := b.tableSize(); n != cols || b.connection("Bench PLC") != nil {
		t.Errorf("after Disconnect: %d columns, want %d", n, cols)
	}

	// Remove, confirmed
	test.Tap(p.remove)
	if p.confirm == nil {
		t.Fatal("no confirmation before Remove")
	}
	p.confirm.Confirm()
	if slices.ContainsFunc(p.targets, func(x workspace.Target) bool { return x.Name == "Bench PLC" }) {
		t.Error("Bench PLC still listed after Remove")
	}
	if ts, err := h.ws.SavedTargets(); err != nil || len(ts) != 0 {
		t.Errorf("saved targets after Remove: %+v, %v", ts, err)
	}
}

// TestBenchBrokenTargetsFile: a targets.yaml that does not load shows its file:line:col
// error; the embedded targets stay usable, and Add refuses to overwrite the file.
func TestBenchBrokenTargetsFile(t *testing.T) {
	h := newHarness(t)
	f := filepath.Join(h.ws.Dir, workspace.TargetsFile)
	if err := os.WriteFile(f, []byte("version: 1\ntargets:\n  - name: A\n    url: modbus://h:502\n    map: tank\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := h.ui.Bench.targets
	p.reload()
	if p.status.Hidden || !strings.Contains(p.status.Text, f+":5:5:") || !strings.Contains(p.status.Text, `unknown field "map"`) {
		t.Errorf("status %q (hidden %v); want the file:line:col error", p.status.Text, p.status.Hidden)
	}
	if len(p.targets) != 4 {
		t.Errorf("%d targets listed, want the 4 embedded ones (no OPC UA in this harness)", len(p.targets))
	}
	test.Tap(p.add)
	p.dlg.name.SetText("B")
	p.dlg.url.SetText("modbus://127.0.0.1:502")
	p.dlg.pointMap.SetText("tank")
	test.Tap(p.dlg.save)
	if p.dlg == nil || !strings.Contains(p.dlg.err.Text, "not overwritten") {
		t.Errorf("Add over a broken file: %q", p.dlg.err.Text)
	}
}

// TestBenchStopStartAndFaults stops the before station while the Bench reads it over
// Modbus, starts it again, and switches fault kinds.
func TestBenchStopStartAndFaults(t *testing.T) {
	h := newHarness(t)
	h.ui.Start()
	b := h.ui.Bench
	p := b.targets
	url := h.ws.Stations()[0].ModbusURL()
	if !p.selectName("tank before (Modbus)") {
		t.Fatal("the before station's Modbus target is not listed")
	}
	test.Tap(p.connect)
	c := b.connection("tank before (Modbus)")
	h.waitFor("values over Modbus", 30*time.Second, func() bool { return len(c.rows) > 0 && c.err == "" })

	test.Tap(b.cards[0].run) // Stop
	h.waitFor("the stop", 30*time.Second, func() bool { return !h.ws.Stations()[0].Running() && !b.cards[0].busy })
	if !strings.HasPrefix(b.cards[0].info.Text, "STOPPED") || b.cards[0].run.Text != "Start" || b.heads[0] != "before (stopped)" {
		t.Errorf("stopped station: info %q, button %q, header %q", b.cards[0].info.Text, b.cards[0].run.Text, b.heads[0])
	}
	h.waitFor("the read error", 30*time.Second, func() bool { return c.err != "" && !b.live.Hidden })
	if !strings.Contains(b.live.Text, "tank before (Modbus)") || !strings.Contains(b.live.Text, "127.0.0.1") {
		t.Errorf("live error %q; want the target and its address", b.live.Text)
	}

	test.Tap(b.cards[0].run) // Start
	h.waitFor("the start", 30*time.Second, func() bool { return h.ws.Stations()[0].Running() && !b.cards[0].busy })
	if b.cards[0].run.Text != "Stop" || strings.HasPrefix(b.cards[0].info.Text, "STOPPED") {
		t.Errorf("started station: info %q, button %q", b.cards[0].info.Text, b.cards[0].run.Text)
	}
	if h.ws.Stations()[0].ModbusURL() == url { // same port again: the connection comes back
		h.waitFor("the reconnect", 30*time.Second, func() bool { return c.err == "" && b.live.Hidden })
	}

	b.cards[1].faults[2].SetChecked(true) // 5 % exceptions
	b.cards[1].faults[1].SetChecked(true) // jitter
	if f := h.ws.Stations()[1].Faults(); f.Exceptions != 0.05 || f.Jitter == 0 || f.Latency != 0 || !h.ws.Stations()[1].Faulted() {
		t.Errorf("faults %s after switching exceptions and jitter on", f)
	}
	b.cards[1].faults[2].SetChecked(false)
	b.cards[1].faults[1].SetChecked(false)
	if h.ws.Stations()[1].Faulted() {
		t.Errorf("faults %s after switching them off", h.ws.Stations()[1].Faults())
	}
}

// TestBenchScreenshot renders the Bench tab with a saved target tested and connected, to
// PNG in the -screenshots folder.
func TestBenchScreenshot(t *testing.T) {
	if *screenshots == "" {
		t.Skip("-screenshots DIR not given")
	}
	h := newHarnessOPCUA(t)
	h.ui.Start()
	h.selectTab("Bench")
	p := h.ui.Bench.targets
	if _, err := h.ws.AddTarget(workspace.Target{Name: "Bench PLC (line 2)", URL: h.ws.Stations()[1].OPCUATarget(), PointMap: "tank"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ws.AddTarget(workspace.Target{Name: "Packaging PLC", URL: refusedURL(t), PointMap: "conveyor"}); err != nil {
		t.Fatal(err)
	}
	p.reload()
	p.selectName("Bench PLC (line 2)")
	test.Tap(p.connect)
	c := h.ui.Bench.connection("Bench PLC (line 2)")
	h.waitFor("values over OPC UA", 30*time.Second, func() bool { return len(c.rows) > 0 && c.err == "" })
	test.Tap(p.test)
	h.waitFor("the test", 30*time.Second, func() bool { return !p.testing })
	h.ui.Bench.cards[1].fault.SetChecked(true)
	h.waitFor("a poll", 5*time.Second, func() bool { return len(h.q) == 0 })
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		f, err := os.Create(filepath.Join(*screenshots, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, h.win.Canvas().Capture()); err != nil {
			t.Fatal(err)
		}
	}
	shot("bench-targets")
	test.Tap(p.add)
	p.dlg.name.SetText("Line 3 PLC")
	p.dlg.url.SetText("modbus://192.168.10.30?unit=1")
	p.dlg.pointMap.SetText("tank")
	test.Tap(p.dlg.save)
	shot("bench-add-target")
}

// TestBenchTrustUntrustedServer: connecting a secure OPC UA target whose certificate is not
// trusted yet offers Trust with the certificate's subject and thumbprints; Trust moves it
// into the trust folder (as `patchgate trust add`) and connects. With -screenshots it
// renders the offer to bench-untrusted.png.
func TestBenchTrustUntrustedServer(t *testing.T) {
	c, err := plc.New("tank", "", plc.Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := opcuaserver.Start(ctx, c, opcuaserver.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	sum := sha256.Sum256(srv.Certificate())
	sha := hex.EncodeToString(sum[:])

	h := newHarness(t)
	h.ui.Start()
	h.selectTab("Bench")
	p := h.ui.Bench.targets
	trust := filepath.Join(t.TempDir(), "pki", "trusted")
	target := workspace.Target{Name: "Line 2 PLC", URL: srv.URL() + "?trust=" + url.QueryEscape(trust), PointMap: "tank"}
	if _, err := h.ws.AddTarget(target); err != nil {
		t.Fatal(err)
	}
	p.reload()
	if !p.selectName(target.Name) {
		t.Fatal("target not listed")
	}
	if p.trustBox.Visible() {
		t.Fatal("Trust offered before any refusal")
	}
	test.Tap(p.connect)
	h.waitFor("the refusal", 30*time.Second, func() bool { return p.trustBox.Visible() })
	if !strings.Contains(p.result.Text, "Line 2 PLC: the server's certificate is not trusted") || !strings.Contains(p.result.Text, "SHA-256  "+sha) ||
		!strings.Contains(p.result.Text, "subject  CN=") || !strings.Contains(p.result.Text, trust) {
		t.Errorf("refusal %q; want the target, the subject, SHA-256 %s and the folder", p.result.Text, sha)
	}
	if h.ui.Bench.connection(target.Name) != nil {
		t.Error("still listed as connected after the refusal")
	}
	if *screenshots != "" {
		if err := os.MkdirAll(*screenshots, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(*screenshots, "bench-untrusted.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, h.win.Canvas().Capture()); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}

	test.Tap(p.trust)
	if certs, err := workspace.TrustedCerts(trust); err != nil || len(certs) != 1 || certs[0].SHA256 != sha {
		t.Fatalf("trust folder after Trust: %+v, %v", certs, err)
	}
	h.waitFor("values over OPC UA", 30*time.Second, func() bool {
		c := h.ui.Bench.connection(target.Name)
		return c != nil && len(c.rows) > 0 && c.err == "" && !strings.HasPrefix(c.rows[0].Value, "missing")
	})
	if p.trustBox.Visible() || !strings.Contains(p.result.Text, "connected (read-only)") {
		t.Errorf("after Trust: offer visible %v, result %q", p.trustBox.Visible(), p.result.Text)
	}
}
