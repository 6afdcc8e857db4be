package gui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// press types shortcut s on the harness window, as the keyboard would.
func (h *harness) press(s fyne.Shortcut) {
	h.win.Canvas().(fyne.Shortcutable).TypedShortcut(s)
}

func TestShortcutsSwitchTabs(t *testing.T) {
	h := newHarness(t)
	for i := len(h.ui.Tabs.Items) - 1; i >= 0; i-- {
		h.press(ShortcutTab(i))
		if got := h.ui.Tabs.SelectedIndex(); got != i {
			t.Errorf("Ctrl+%d selects tab %d", i+1, got)
		}
	}
}

// TestTabReachesRunAndAbortStops drives a validation from the keyboard alone: Tab moves the
// focus through the Validate form to Run, Ctrl+R starts, Ctrl+. aborts and restores.
func TestTabReachesRunAndAbortStops(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	h.press(ShortcutTab(0)) // start elsewhere: Ctrl+R must bring Validate forward
	h.selectTab("Validate")
	c := h.win.Canvas()
	reached := false
	for i := 0; i < 60 && !reached; i++ {
		test.FocusNext(c)
		reached = c.Focused() == fyne.Focusable(v.run)
	}
	if !reached {
		t.Fatal("Tab never reaches the Run button")
	}
	h.press(ShortcutTab(0))
	v.patch.SetSelected(noPatch)
	h.press(ShortcutRun) // the embedded stations run in real time: seconds, not microseconds
	if h.ui.Tabs.Selected().Text != "Validate" || v.cancel == nil {
		t.Fatalf("Ctrl+R: tab %q, running %v (%s)", h.ui.Tabs.Selected().Text, v.cancel != nil, v.step.Text)
	}
	h.press(ShortcutTab(3))
	h.press(ShortcutAbort) // from another tab
	h.waitFor("the abort", 2*time.Minute, func() bool { return v.cancel == nil })
	if got := v.Verdict(); got != "ABORTED" {
		t.Errorf("after Ctrl+. the verdict shows %q (%s)", got, v.step.Text)
	}
	h.press(ShortcutExport) // nothing to export: must do nothing
	if v.bundle.Text != "" {
		t.Errorf("Ctrl+E without a result: %q", v.bundle.Text)
	}
}
