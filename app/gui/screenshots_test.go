package gui

import (
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/patchgate/patchgate/app/gui/workspace"
)

var screenshots = flag.String("screenshots", "", "render every main screen to PNG files in this folder (make screenshots)")

// TestScreenshots renders the main screens headlessly after the demo workflow: a validation
// on simulated time, a bundle exported and verified, and a sign-off.
func TestScreenshots(t *testing.T) {
	if *screenshots == "" {
		t.Skip("-screenshots DIR not given")
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.ui.Start()
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
	h.waitFor("the first poll", 5*time.Second, func() bool { return len(h.q) == 0 })
	h.selectTab("Bench")
	shot("bench")
	h.selectTab("Scenarios")
	shot("scenarios")

	v := h.ui.Validate
	v.scenario.SetSelected(DefaultScenario)
	h.runValidation("sim://tank?firmware=baseline&time=simulated", "sim://tank?firmware=alarm-shift&time=simulated", 2*time.Minute)
	test.Tap(v.export)
	h.waitFor("the bundle", 30*time.Second, func() bool { return !v.verify.Disabled() })
	test.Tap(v.verify)
	h.waitFor("the verification", 30*time.Second, func() bool { return strings.HasPrefix(v.bundle.Text, "verify ") })
	shot("validate")
	for range 4 {
		test.Tap(v.compare.zoomIn)
	}
	shot("validate-compare-zoom")
	test.Tap(v.compare.reset)

	h.selectTab("Register")
	r := h.ui.Register
	test.Tap(r.signOff)
	r.dialog.name.SetText("Ada Tester")
	r.dialog.decision.SetSelected("accept_risk")
	test.Tap(r.dialog.sign)
	shot("signoff-dialog")
	r.dialog.rationale.SetText("alarm 2 % early is inside the process margin; operator round until the next release")
	test.Tap(r.dialog.sign)
	shot("register")

	// the Register tab's editing: Add patch (with a validation error), Change state, audit
	test.Tap(r.addPatch)
	r.patchDlg.supplier.SetText("Acme Automation")
	test.Tap(r.patchDlg.add)
	shot("add-patch-dialog")
	r.patchDlg.product.SetText("PLC-9 CPU")
	r.patchDlg.from.SetText("2.1.0")
	r.patchDlg.to.SetText("2.1.4")
	r.patchDlg.cves.SetText("CVE-2026-1234")
	test.Tap(r.patchDlg.add)
	r.reloadSelecting(workspace.DemoPatchID)
	test.Tap(r.changeState)
	r.stateDlg.state.SetSelected("deferred")
	shot("change-state-dialog")
	r.stateDlg.close()
	test.Tap(r.audit.verify)
	shot("register-audit")

	h.selectTab("Settings")
	shot("settings")
	h.ui.Settings.theme.SetSelected(themeLight)
	h.selectTab("Validate")
	shot("validate-light")
}
