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

	h.selectTab("Settings")
	shot("settings")
	h.ui.Settings.theme.SetSelected(themeLight)
	h.selectTab("Validate")
	shot("validate-light")
}
