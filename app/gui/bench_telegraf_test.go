package gui

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

// TestBenchImportTelegraf: Import telegraf on the Bench tab turns the configuration that
// polls the embedded station into a point map and a target, which Test then reads over
// Modbus, every point Good; importing it again is refused in the dialog.
func TestBenchImportTelegraf(t *testing.T) {
	h := newHarness(t)
	h.ui.Start()
	h.selectTab("Bench")
	p := h.ui.Bench.targets
	u, err := url.Parse(h.ws.Stations()[0].ModbusURL())
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile("../../harness/telegraf/testdata/tank.conf")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(conf), "tcp://127.0.0.1:5020", "tcp://"+u.Host, 1)
	text = strings.Replace(text, `name = "tank"`, `name = "line2"`, 1)
	file := filepath.Join(t.TempDir(), "telegraf.conf")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	test.Tap(p.telegraf)
	d := p.tele
	if d == nil {
		t.Fatal("no import dialog")
	}
	d.file.SetText(file)
	d.onImport() // the Import button
	if p.tele != nil || !strings.Contains(p.result.Text, "pointmaps/line2.yaml") || !strings.Contains(p.result.Text, "target line2 (modbus://"+u.Host) {
		t.Fatalf("after Import: dialog open %v, result %q, error %q", p.tele != nil, p.result.Text, d.err.Text)
	}
	if !p.selectName("line2") {
		t.Fatal("the imported target is not listed")
	}
	test.Tap(p.test)
	h.waitFor("the test of the imported target", 30*time.Second, func() bool { return strings.Contains(p.result.Text, "points") && !p.testing })
	if !strings.Contains(p.result.Text, "OK: line2") || !strings.Contains(p.result.Text, " read, 0 bad") {
		t.Errorf("the imported target's test: %s", p.result.Text)
	}

	test.Tap(p.telegraf)
	p.tele.file.SetText(file)
	p.tele.onImport()
	if p.tele == nil {
		t.Fatal("a second import closed the dialog; want it refused")
	}
	if !strings.Contains(p.tele.err.Text, "already named line2") {
		t.Errorf("a second import: %q; want it refused", p.tele.err.Text)
	}
}
