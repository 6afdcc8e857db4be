package gui

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
	"github.com/patchgate/patchgate/simulators/station"

	_ "github.com/patchgate/patchgate/harness/driver/modbus"
	_ "github.com/patchgate/patchgate/harness/driver/opcua"
	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

var update = flag.Bool("update", false, "rewrite the golden markup files in testdata/")

// fixedNow is the register's "today" in tests, so that the 35-day clock renders the same.
var fixedNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

// harness is the app in a headless test window. The UI's do queue is drained by the test
// goroutine (pump), so that widgets are touched from that goroutine only, as the Fyne
// goroutine does in the app.
type harness struct {
	t      *testing.T
	ws     *workspace.Workspace
	ui     *UI
	win    fyne.Window
	q      chan func()
	golden string // runValidation checks the ready form against it
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessOf(t, true)
}

// newHarnessOPCUA is newHarness with the embedded tanks' OPC UA servers, for the tests that
// use them: the others start without (each server costs about a second of CPU to start,
// several under -race).
func newHarnessOPCUA(t *testing.T) *harness {
	t.Helper()
	return newHarnessOf(t, false)
}

func newHarnessOf(t *testing.T, modbusOnly bool) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	ws, err := workspace.Open(context.Background(), workspace.Config{Dir: t.TempDir(), Now: func() time.Time { return fixedNow }, Actor: "bench-engineer",
		ModbusOnly: modbusOnly})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ws: ws, q: make(chan func(), 4096)}
	h.win = test.NewTempWindow(t, widget.NewLabel(""))
	var ui *UI
	ui = newUI(a, h.win, ws, func(f func()) {
		select {
		case h.q <- f:
		case <-ui.ctx.Done():
		}
	})
	h.ui = ui
	h.win.SetContent(ui.Content())
	h.win.Resize(fyne.NewSize(1280, 800))
	t.Cleanup(func() {
		ui.Close()
		ws.Close()
	})
	return h
}

// waitFor runs queued UI work until cond holds, failing after timeout.
func (h *harness) waitFor(what string, timeout time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case f := <-h.q:
			f()
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("timed out after %v waiting for %s (step: %q)", timeout, what, h.ui.Validate.step.Text)
		}
	}
}

func (h *harness) selectTab(name string) {
	for _, it := range h.ui.Tabs.Items {
		if it.Text == name {
			h.ui.Tabs.Select(it)
			h.settle() // the Register tab reads the register off the UI goroutine
			return
		}
	}
	h.t.Fatalf("no tab %q", name)
}

// assertMarkup compares the window's markup with testdata/name. Hashes are masked first:
// a bundle's SHA-256 and the audit chain after it depend on the per-test signing key and
// temporary folder, and a hash's text width with it.
func (h *harness) assertMarkup(name string) {
	h.t.Helper()
	got := maskHashes(test.RenderToMarkup(h.win.Canvas()))
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		h.t.Fatal(err)
	}
	if got == string(want) {
		return
	}
	failed := filepath.Join("testdata", "failed", name)
	if err := os.MkdirAll(filepath.Dir(failed), 0o755); err == nil {
		os.WriteFile(failed, []byte(got), 0o644)
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			h.t.Errorf("%s: markup differs at line %d:\n got %s\nwant %s\n(all of it in %s)", name, i+1, strings.TrimSpace(gl[i]), strings.TrimSpace(wl[i]), failed)
			return
		}
	}
	h.t.Errorf("%s: %d lines, want %d (all of it in %s)", name, len(gl), len(wl), failed)
}

var (
	hashText = regexp.MustCompile(`\b[0-9a-f]{2,}…`)
	textSize = regexp.MustCompile(` size="[0-9.]+x[0-9.]+"`)
)

// maskHashes replaces hash prefixes ("a9f3…") and the size of the text that shows them.
func maskHashes(markup string) string {
	lines := strings.Split(markup, "\n")
	for i, l := range lines {
		if strings.Contains(l, "<text") && hashText.MatchString(l) {
			l = hashText.ReplaceAllString(l, "HASH…")
			lines[i] = textSize.ReplaceAllString(l, ` size="masked"`)
		}
	}
	return strings.Join(lines, "\n")
}

func TestEveryTabBuilds(t *testing.T) {
	h := newHarness(t)
	want := []string{"Bench", "Scenarios", "Validate", "Register", "Settings"}
	var got []string
	for _, it := range h.ui.Tabs.Items {
		got = append(got, it.Text)
		h.ui.Tabs.Select(it)
		if it.Content == nil || it.Content.MinSize().Width <= 0 {
			t.Errorf("tab %s has no content", it.Text)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("tabs %v, want %v", got, want)
	}
	h.settle()
	if n := len(h.ui.Register.patches); n != 1 || h.ui.Register.patches[0].ID != workspace.DemoPatchID {
		t.Errorf("register: %d patches, want the demo patch", n)
	}
	if got := h.ui.Validate.before.Text; got != h.ws.Stations()[0].ModbusURL() {
		t.Errorf("before target %q, want the baseline station's Modbus URL", got)
	}
}

func TestBenchPollsAndSwitchesFirmware(t *testing.T) {
	h := newHarness(t)
	h.ui.Start()
	b := h.ui.Bench
	rows, _ := b.tableSize()
	if rows == 0 {
		t.Fatal("bench table is empty")
	}
	h.waitFor("a poll", 5*time.Second, func() bool { return len(h.q) == 0 && b.rows != nil })
	b.cards[0].fault.SetChecked(true)
	if !h.ws.Stations()[0].Faulted() {
		t.Error("fault toggle did not reach the station")
	}
	b.cards[1].firmware.SetSelected("benign")
	h.waitFor("the restart", 10*time.Second, func() bool {
		return h.ws.Stations()[1].Firmware().Name == "benign" && strings.Contains(b.cards[1].info.Text, "benign")
	})
	if !strings.Contains(h.ui.Validate.after.Text, h.ws.Stations()[1].ModbusURL()) {
		t.Errorf("after target %q not updated to the restarted station", h.ui.Validate.after.Text)
	}
}

func TestScenariosShowsErrorsAndDryRun(t *testing.T) {
	h := newHarness(t)
	h.selectTab("Scenarios")
	v := h.ui.Scen
	i := slices.IndexFunc(v.files, func(s workspace.File) bool { return s.Name == DefaultScenario })
	v.list.Select(i)
	if len(v.writes) == 0 || !strings.Contains(v.status.Text, "valid") {
		t.Fatalf("dry run: %d writes, status %q", len(v.writes), v.status.Text)
	}
	h.assertMarkup("scenarios.xml")
	v.yaml.SetText(strings.Replace(v.yaml.Text, "timeout: 30s", "timeout: soon", 1))
	if !strings.Contains(v.status.Text, DefaultScenario+":") || v.status.Importance != widget.DangerImportance {
		t.Errorf("broken scenario: status %q, want an error with file:line:column", v.status.Text)
	}
}

// runValidation clicks Run on the Validate tab and waits for the verdict.
func (h *harness) runValidation(before, after string, timeout time.Duration) {
	h.t.Helper()
	v := h.ui.Validate
	h.selectTab("Validate")
	v.before.SetText(before)
	v.after.SetText(after)
	if h.golden != "" {
		h.assertMarkup(h.golden) // the form, ready to run (the result depends on the engine's wording)
	}
	test.Tap(v.run)
	if !v.run.Disabled() || v.abort.Disabled() {
		h.t.Error("while running, Run should be disabled and Abort enabled")
	}
	h.waitFor("the verdict", timeout, func() bool { return v.cancel == nil })
}

func TestMainWorkflowOnSimulatedTime(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	v.scenario.SetSelected("tank-alarm-trip.yaml")
	h.golden = "validate_ready.xml"
	h.runValidation("sim://tank?firmware=baseline&time=simulated", "sim://tank?firmware=alarm-shift&time=simulated", 2*time.Minute)
	if got := v.Verdict(); got != string(verdict.NoGo) {
		t.Fatalf("verdict %q (%s), want NO-GO", got, v.step.Text)
	}
	if !slices.ContainsFunc(v.crit, func(c verdict.Criterion) bool {
		return c.ID == "check:alarm_high_threshold" && c.Status == verdict.Fail
	}) {
		t.Errorf("criteria table lacks a failed check:alarm_high_threshold: %v", v.crit)
	}
	if v.progress.Value != 1 {
		t.Errorf("progress %v at the end, want 1", v.progress.Value)
	}

	test.Tap(v.export)
	h.waitFor("the bundle", 30*time.Second, func() bool { return !v.verify.Disabled() || strings.Contains(v.bundle.Text, "failed") })
	if _, err := os.Stat(v.result.Bundle); err != nil {
		t.Fatalf("bundle: %v (%s)", err, v.bundle.Text)
	}
	test.Tap(v.verify)
	h.waitFor("the verification", 30*time.Second, func() bool { return strings.HasPrefix(v.bundle.Text, "verify ") })
	if !strings.HasPrefix(v.bundle.Text, "verify OK") {
		t.Fatalf("verify: %s", v.bundle.Text)
	}

	// sign-off: accept_risk needs a rationale; it never changes the computed verdict
	r := h.ui.Register
	h.selectTab("Register")
	if len(r.vals) != 1 || r.Computed() != string(verdict.NoGo) {
		t.Fatalf("register shows %d validations, selected verdict %q", len(r.vals), r.Computed())
	}
	test.Tap(r.signOff)
	d := r.dialog
	if d == nil {
		t.Fatal("no sign-off dialog")
	}
	d.name.SetText("Ada Tester")
	d.role.SetSelected("approver")
	d.decision.SetSelected("accept_risk")
	test.Tap(d.sign)
	if r.dialog == nil || !strings.Contains(d.err.Text, "rationale") {
		t.Fatalf("accept_risk without rationale: dialog open %v, error %q", r.dialog != nil, d.err.Text)
	}
	d.rationale.SetText("alarm 2 % early is inside the process margin; compensating operator round until the next release")
	test.Tap(d.sign)
	h.settle()
	if r.dialog != nil {
		t.Fatalf("dialog still open: %q", d.err.Text)
	}
	row := r.vals[len(r.vals)-1]
	if len(row.signOffs) != 1 || row.signOffs[0].Decision != "accept_risk" || row.signOffs[0].Rationale == "" {
		t.Fatalf("sign-offs %+v", row.signOffs)
	}
	if r.Computed() != string(verdict.NoGo) || row.Verdict != verdict.NoGo {
		t.Errorf("computed verdict %q after accept_risk, want NO-GO", r.Computed())
	}
	h.assertMarkup("register_signed.xml")
}

func TestAbortRestores(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	v.scenario.SetSelected("tank-alarm-trip.yaml")
	v.patch.SetSelected(noPatch)
	h.selectTab("Validate")
	sts := h.ws.Stations()
	v.before.SetText(sts[0].ModbusURL())
	v.after.SetText(sts[1].ModbusURL())
	test.Tap(v.run)
	h.waitFor("the fill", 20*time.Second, func() bool {
		return strings.HasPrefix(v.step.Text, "before run 1") && strings.Contains(v.step.Text, "wait until AlarmHigh")
	})
	if got, _ := sts[0].Controller.Get("InletValve"); !got.Bool() {
		t.Error("inlet valve not open while filling")
	}
	test.Tap(v.abort)
	h.waitFor("the abort", 30*time.Second, func() bool { return v.cancel == nil })
	if v.Verdict() != "ABORTED" {
		t.Fatalf("verdict %q after abort (%s)", v.Verdict(), v.step.Text)
	}
	if got, _ := sts[0].Controller.Get("InletValve"); got.Bool() {
		t.Error("inlet valve left open after abort: the values were not restored")
	}
}

// TestRealTimeRun runs a short scenario in real time over Modbus against the embedded
// stations: whatever the verdict (timing under -race may be inconclusive), one is shown and
// recorded.
func TestRealTimeRun(t *testing.T) {
	h := newHarnessOPCUA(t)
	const short = `version: 1
name: tank-short
description: a few seconds of the tank at rest
points: pointmaps/tank.yaml
repeat: 1
sample:
  period: 100ms
  tags: [Level, AlarmHigh, ScanCount]
steps:
  - wait: 1s
  - expect: "!AlarmHigh"
    severity: critical
    id: no_alarm
`
	l, err := workspace.ParseScenario("tank-short.yaml", []byte(short))
	if err != nil {
		t.Fatal(err)
	}
	sts := h.ws.Stations()
	var got *workspace.Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		got, err = h.ws.Validate(context.Background(), workspace.Request{Loaded: l, Before: sts[0].ModbusURL(), After: sts[1].OPCUATarget(), Patch: workspace.DemoPatchID}, nil)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("real-time validation did not finish")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.Record.TimeMode != "real" || got.Validation == "" {
		t.Errorf("time mode %q, validation %q", got.Record.TimeMode, got.Validation)
	}
	h.selectTab("Register")
	if len(h.ui.Register.vals) != 1 {
		t.Errorf("register shows %d validations, want 1", len(h.ui.Register.vals))
	}
}

// TestArmingIsADeliberateDialog: a scenario that writes, aimed at a controller that is not
// one of the workspace's simulators, opens the arming dialog with the exact writes; Cancel
// writes nothing; "Arm and run" runs, and the run records that it was armed.
func TestArmingIsADeliberateDialog(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	// an outside controller: to the app it is a real PLC on the bench
	outside, err := station.Start(context.Background(), station.Config{Model: "tank", Seed: 1, Modbus: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	v.scenario.SetSelected("tank-restart-retain.yaml")
	v.patch.SetSelected(noPatch)
	h.selectTab("Validate")
	v.before.SetText(outside.ModbusURL())
	v.after.SetText(h.ws.Stations()[1].ModbusURL())

	test.Tap(v.run)
	if v.arming == nil || v.cancel != nil {
		t.Fatalf("Run started a validation (or showed nothing) instead of the arming dialog")
	}
	v.arming.Dismiss() // Cancel
	if sp, _ := outside.Controller.Get("Setpoint"); sp.Float() != 50 {
		t.Errorf("Setpoint %v written before arming", sp)
	}
	v.arming = nil
	test.Tap(v.run)
	if v.arming == nil {
		t.Fatal("no arming dialog the second time")
	}
	v.arming.Confirm()
	// the outside controller's restart step asks the operator (the embedded after station
	// the workspace restarts itself)
	h.waitFor("the armed validation", 90*time.Second, func() bool {
		h.answerRestart(map[string]*station.Station{outside.ModbusURL(): outside})
		return v.cancel == nil && v.Verdict() != ""
	})
	runs, err := h.ws.DB.Runs(context.Background(), ledger.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var armed bool
	for _, r := range runs {
		armed = armed || (r.Target == outside.ModbusURL() && r.Armed)
	}
	if !armed {
		t.Errorf("no armed run on %s in the record (verdict %s, %s)", outside.ModbusURL(), v.Verdict(), v.step.Text)
	}
	// the outside controller was restarted by the operator at the dialog, the embedded one
	// by the workspace
	for _, r := range runs {
		tr, err := h.ws.DB.LoadTrace(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		how := "(operator at the desktop dialog)"
		if r.Target != outside.ModbusURL() {
			how = "(embedded after station restarted by the workspace)"
		}
		if !slices.ContainsFunc(tr.Events, func(e trace.Event) bool { return e.Kind == trace.EvRestart && strings.HasSuffix(e.Msg, how) }) {
			t.Errorf("run %d on %s (%s): no restart confirmed %s", r.ID, r.Target, r.Status, how)
		}
	}
}
