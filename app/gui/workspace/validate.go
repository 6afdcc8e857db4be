package workspace

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/evidence"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Request is one validation to run: a scenario on a before and an after target.
type Request struct {
	Scenario string  // scenario file name in the workspace's scenarios folder
	Loaded   *Loaded // or a compiled scenario (from ParseScenario), used instead
	Before   string  // target URL
	After    string
	Repeat   int    // repetitions per side; 0: the scenario's
	Patch    string // patch id to record the validation against; empty: not recorded
	// BeforeRuns, when not empty, are stored runs (register run ids) used as the before
	// side instead of running it: a baseline recorded hours ago against a new candidate.
	// AfterRuns does the same for the after side (a candidate recorded earlier); with both,
	// Validate only compares.
	BeforeRuns []int64
	AfterRuns  []int64
	// Armed allows the scenario's writes to controllers that are not simulated. The
	// workspace's own embedded stations are armed without it (they are simulators).
	Armed bool
	// OperatorRestart is asked to restart a real controller at a restart step (the desktop
	// shows a dialog); nil: such a step is inconclusive. The workspace restarts its embedded
	// stations itself.
	OperatorRestart runner.OperatorRestart
}

// Progress is what the Validate tab shows while a validation runs.
type Progress struct {
	Side     string // before or after
	Run      int    // 1-based, over both sides
	Runs     int    // total runs
	Step     int
	Steps    int
	StepText string
	Fraction float64 // 0..1 over the whole validation
	Elapsed  time.Duration
	// Live holds, per numeric tag, what this run sampled since the previous Progress (run
	// time, ns since the run started); a slot without a good value is simply absent.
	Live map[string]Series
}

// Result is a finished validation.
type Result struct {
	Scenario   *Loaded
	Record     verdict.Record
	Before     []*trace.Trace
	After      []*trace.Trace
	Validation string // register id when recorded
	Bundle     string // path once exported
}

// ErrAborted is a validation stopped by its context (the Abort button): the runner restored
// the values captured before the test.
var ErrAborted = validation.ErrAborted

// Embedded reports whether u is one of the workspace's embedded stations.
func (w *Workspace) Embedded(u string) bool { return w.embedded(u) != nil }

// embedded is the embedded station u reaches, or nil.
func (w *Workspace) embedded(u string) *Station {
	for _, st := range w.Stations() {
		if u == st.ModbusURL() || u == st.OPCUAURL() || strings.HasPrefix(u, st.OPCUAURL()+"?") {
			return st
		}
	}
	return nil
}

// RequestScenario is the scenario req runs: req.Loaded, or the workspace's file
// req.Scenario, compiled with the point map of the targets when the engineer's target (on
// the Bench tab) names one (TargetPointMap); the file's own point map otherwise.
func (w *Workspace) RequestScenario(req Request) (*Loaded, error) {
	sc := req.Loaded
	if sc == nil {
		f, err := w.ReadScenario(req.Scenario)
		if err != nil {
			return nil, err
		}
		if sc, err = w.ParseScenario(f.Name, f.Data); err != nil {
			return nil, err
		}
	}
	var urls []string
	if len(req.BeforeRuns) == 0 {
		urls = append(urls, req.Before)
	}
	if len(req.AfterRuns) == 0 {
		urls = append(urls, req.After)
	}
	name, data, err := w.TargetPointMap(urls...)
	if err != nil || data == nil {
		return sc, err
	}
	return validation.Parse(sc.File, sc.Data, func(string) (string, []byte, error) { return name, data, nil })
}

// Validate runs req through harness/validation, the use case the CLI runs too: the before
// runs, the after runs, the comparison against the patch's firmware versions from the
// register, the verdict, and the validation recorded against req.Patch by this
// workspace's actor. progress (may be nil) is called from the calling goroutine; run
// Validate in a goroutine of its own. Cancelling ctx aborts (ErrAborted).
func (w *Workspace) Validate(ctx context.Context, req Request, progress func(Progress)) (*Result, error) {
	sc, err := w.RequestScenario(req)
	if err != nil {
		return nil, err
	}
	side := func(url string, runs []int64) validation.Side {
		if len(runs) > 0 {
			return validation.Side{Runs: runs}
		}
		s := validation.Side{Target: w.WithTrust(strings.TrimSpace(url)), Armed: req.Armed}
		if t, err := driver.ParseTarget(s.Target); err == nil && w.Embedded(t.String()) {
			s.Armed = true // the embedded stations are simulators; a bad URL is validation's to refuse
		}
		return s
	}
	in := validation.Input{
		Scenario: sc, Before: side(req.Before, req.BeforeRuns), After: side(req.After, req.AfterRuns),
		Repeat: req.Repeat, Patch: validation.Patch{ID: req.Patch}, Ledger: w.DB, Register: w.Reg,
		OperatorRestart: w.restarter(req.OperatorRestart), Actor: w.actor, Now: w.Now, ToolVersion: Version,
	}
	if progress != nil {
		in.Progress = progressTo(progress)
	}
	vr, err := validation.Run(ctx, in)
	if vr == nil {
		return nil, err
	}
	res := &Result{Scenario: sc, Record: vr.Record, Before: vr.Before, After: vr.After, Validation: vr.Validation}
	return res, err
}

// restarter does a restart step: the workspace restarts its own embedded stations (they
// are simulators it owns, as a sim:// target restarts in process) and asks ask about any
// other controller.
func (w *Workspace) restarter(ask runner.OperatorRestart) runner.OperatorRestart {
	return func(ctx context.Context, req runner.RestartRequest) (runner.RestartConfirmation, error) {
		if st := w.embedded(req.Target.String()); st != nil {
			st.Controller.Restart()
			return runner.RestartConfirmation{How: "embedded " + st.Role + " station restarted by the workspace"}, nil
		}
		if ask == nil {
			return runner.RestartConfirmation{}, runner.ErrNoOperator
		}
		return ask(ctx, req)
	}
}

// progressTo turns the use case's reports into the Validate tab's: a report as each run
// starts and ends, the runner's throttled to LiveEvery with every sample it saw, and one when
// the verdict is in.
func progressTo(progress func(Progress)) func(validation.Progress) {
	var feed *liveFeed
	var last runner.Progress
	send := func(vp validation.Progress, p runner.Progress) {
		total := max(vp.Runs, 1)
		f := float64(vp.Run - 1)
		if p.Steps > 0 {
			f += float64(p.Step) / float64(p.Steps+1)
		}
		progress(Progress{Side: vp.Side, Run: vp.Run, Runs: total, Step: p.Step, Steps: p.Steps,
			StepText: p.StepText, Fraction: f / float64(total), Elapsed: p.Elapsed, Live: feed.take()})
	}
	return func(vp validation.Progress) {
		switch vp.Stage {
		case validation.RunStarting:
			feed, last = newLiveFeed(LiveEvery), runner.Progress{}
			send(vp, last)
		case validation.Running:
			p := vp.Runner
			due := feed.add(p) // p.Latest is the runner's own map: read here, on its goroutine
			p.Latest = nil
			last = p
			if due {
				send(vp, p)
			}
		case validation.RunEnded:
			send(vp, last) // what the last throttled reports gathered
		case validation.Decided:
			total := max(vp.Runs, 1)
			progress(Progress{Side: "after", Run: total, Runs: total, StepText: "compared", Fraction: 1})
		}
	}
}

// Export writes the signed evidence bundle of res into the workspace's bundles folder and
// returns its path and SHA-256.
func (w *Workspace) Export(res *Result) (string, string, error) {
	key, _, err := bundle.LoadOrCreateKey(w.KeyDir())
	if err != nil {
		return "", "", fmt.Errorf("signing key in %s: %w", w.KeyDir(), err)
	}
	dir := filepath.Join(w.Dir, "bundles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	name := fmt.Sprintf("%s-%s.zip", strings.TrimSuffix(res.Scenario.Name, ".yaml"), w.Now().UTC().Format("20060102-150405"))
	if res.Validation != "" {
		name = res.Validation + "-" + name
	}
	path := filepath.Join(dir, name)
	var buf bytes.Buffer
	_, sum, err := validation.WriteBundle(&buf, &validation.Result{Scenario: res.Scenario, Record: res.Record, Before: res.Before, After: res.After}, path, key)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", "", err
	}
	res.Bundle = path
	return path, sum, nil
}

// Verify checks a bundle offline against the workstation's own key.
func (w *Workspace) Verify(path string) (*evidence.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return evidence.Verify(f, fi.Size(), nil)
}

// Arming says what arming req would allow: the targets that are not simulated (and not this
// workspace's embedded stations) and the exact writes the scenario makes. Empty targets: no
// arming needed. The app shows it in a deliberate dialog before any write.
func (w *Workspace) Arming(req Request) (targets []string, writes []runner.PlannedWrite, err error) {
	sc, err := w.RequestScenario(req)
	if err != nil {
		return nil, nil, err
	}
	var urls []string
	if len(req.BeforeRuns) == 0 {
		urls = append(urls, req.Before)
	}
	if len(req.AfterRuns) == 0 {
		urls = append(urls, req.After)
	}
	for _, u := range urls {
		t, err := driver.ParseTarget(w.WithTrust(strings.TrimSpace(u)))
		if err != nil {
			return nil, nil, err
		}
		if runner.NeedsArming(sc.Scenario, t) && !w.Embedded(t.String()) {
			targets = append(targets, t.String())
		}
	}
	if len(targets) > 0 {
		writes = runner.DryRun(sc.Scenario)
	}
	return targets, writes, nil
}
