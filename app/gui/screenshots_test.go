package gui

import (
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

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
	h := newHarnessOPCUA(t)
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
	// New scenario from point map: the prompt, then the starter it writes, edited
	sv := h.ui.Scen
	test.Tap(sv.fromMap)
	sv.promptMap.SetSelected("heater.yaml")
	shot("scenarios-from-map")
	sv.prompt.Submit()
	sv.yaml.SetText(strings.Replace(sv.yaml.Text, "hold: 1m", "hold: 10m", 1))
	shot("scenarios-starter")

	v := h.ui.Validate
	v.scenario.SetSelected(DefaultScenario)
	h.runValidation("sim://tank?firmware=baseline&time=simulated", "sim://tank?firmware=alarm-shift&time=simulated", 2*time.Minute)
	test.Tap(v.export)
	h.waitFor("the bundle", 30*time.Second, func() bool { return !v.verify.Disabled() })
	test.Tap(v.verify)
	h.waitFor("the verification", 30*time.Second, func() bool { return strings.HasPrefix(v.bundle.Text, "verify ") })
	shot("validate")
	// the live view as it looks mid-run: the recorded runs replayed into it, the after run
	// cut at 9 s, step 7
	v.live.reset(v.result.Scenario)
	v.live.add(workspace.Progress{Side: "before", Run: 1, Step: 12, Live: map[string]workspace.Series{"Level": workspace.TagSeries(v.result.Before[0], "Level")}})
	after := workspace.TagSeries(v.result.After[0], "Level")
	n, _ := slices.BinarySearch(after.T, 9e9)
	v.live.add(workspace.Progress{Side: "after", Run: 2, Step: 7, Live: map[string]workspace.Series{"Level": {T: after.T[:n], V: after.V[:n]}}})
	v.lower.Objects = []fyne.CanvasObject{v.live.content}
	v.lower.Refresh()
	shot("validate-live")
	v.lower.Objects = []fyne.CanvasObject{v.compare.content}
	v.lower.Refresh()
	for range 4 {
		test.Tap(v.compare.zoomIn)
	}
	shot("validate-compare-zoom")
	test.Tap(v.compare.reset)
	// the Compare section's other views: the timing histograms with the scan period's
	// framed (selecting its criterion switches to them), and the event timeline.
	// setResult is what the Validate tab calls when a validation ends; again is harmless.
	v.compare.setResult(v.result)
	for i, c := range v.crit {
		if c.ID == "timing:scan_period" {
			v.criteria.Select(widget.TableCellID{Row: i})
		}
	}
	shot("compare-timing")
	test.Tap(v.compare.modes[modeEvents])
	shot("compare-events")
	test.Tap(v.compare.modes[modeTrace])
	v.selectCriterion()

	// an OEM joint session: the OEM witness signs, then the asset owner's approver accepts
	// the risk (the dialog first without a rationale: Sign disabled, the override spelled out)
	h.selectTab("Register")
	r := h.ui.Register
	test.Tap(r.signOff)
	r.dialog.name.SetText("Hans Vogt")
	r.dialog.role.SetSelected("oem_witness")
	test.Tap(r.dialog.sign)
	h.settle()
	test.Tap(r.signOff)
	r.dialog.name.SetText("Ada Tester")
	r.dialog.role.SetSelected("approver")
	r.dialog.decision.SetSelected("accept_risk")
	test.Tap(r.dialog.sign)
	shot("signoff-dialog")
	r.dialog.rationale.SetText("alarm 2 % early is inside the process margin; operator round until the next release")
	test.Tap(r.dialog.sign)
	h.settle()
	test.Tap(r.export)
	h.settle()
	test.Tap(r.verify)
	h.settle()
	shot("register")
	r.logList.Select(len(r.log) - 2) // the accepted risk, in full
	shot("register-session-log")
	r.logDlg.Hide()

	// the Register tab's editing: Add patch (with a validation error), Change state, audit
	test.Tap(r.addPatch)
	r.patchDlg.supplier.SetText("Acme Automation")
	test.Tap(r.patchDlg.add)
	h.settle()
	shot("add-patch-dialog")
	r.patchDlg.product.SetText("PLC-9 CPU")
	r.patchDlg.from.SetText("2.1.0")
	r.patchDlg.to.SetText("2.1.4")
	r.patchDlg.cves.SetText("CVE-2026-1234")
	test.Tap(r.patchDlg.add)
	h.settle()
	r.reloadSelecting(workspace.DemoPatchID)
	h.settle()
	test.Tap(r.changeState)
	r.stateDlg.state.SetSelected("deferred")
	shot("change-state-dialog")
	r.stateDlg.close()
	test.Tap(r.audit.verify)
	h.settle()
	shot("register-audit")

	h.selectTab("Settings")
	shot("settings")
	h.ui.Settings.theme.SetSelected(themeLight)
	h.selectTab("Validate")
	shot("validate-light")

	// Settings at scale 2 (high-DPI bench laptops), with a trust folder holding a server's
	// certificate and a file the driver passes over
	st := h.ui.Settings
	trust := filepath.Join(t.TempDir(), "pki", "trusted")
	if err := os.MkdirAll(trust, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"bench-plc-7.der": selfSigned(t, "bench-plc-7"),
		"README.txt":      []byte("trusted OPC UA server certificates"),
	} {
		if err := os.WriteFile(filepath.Join(trust, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st.onTrustDirChosen(trust)
	test.Tap(st.reload) // the key the export made
	st.theme.SetSelected(themeSystem)
	h.selectTab("Settings")
	scroll := st.content.(*container.Scroll)
	scroll.ScrollToBottom()
	shot("settings-trust")
	scroll.ScrollToTop()
	st.scale.SetSelected(scaleLabel(2))
	shot("settings-scale-2")
	st.scale.SetSelected(scaleLabel(1))

	// the Compare section for runs whose setups took different times: a setup that waits for
	// 1000 scans, 3 s longer on a 30 % slower scan; the after run drawn on the before run's
	// clock from the first step after the setup on
	scanSetupValidation(t, h)
	v.criteria.Select(widget.TableCellID{Row: critRow(t, v, "signal:Level")})
	shot("compare-setup")
}
