package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/evidence"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Request is one validation to run: a scenario on a before and an after target.
type Request struct {
	Scenario string  // shipped scenario file name
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
var ErrAborted = errors.New("validation aborted; the values captured before the test were restored")

// Embedded reports whether u is one of the workspace's embedded stations.
func (w *Workspace) Embedded(u string) bool {
	for _, st := range w.Stations() {
		if u == st.ModbusURL() || u == st.OPCUAURL() || strings.HasPrefix(u, st.OPCUAURL()+"?") {
			return true
		}
	}
	return false
}

// Validate runs req: the before runs, the after runs, the comparison and the verdict, and
// records the validation against req.Patch. progress (may be nil) is called from the
// calling goroutine; run Validate in a goroutine of its own. Cancelling ctx aborts.
func (w *Workspace) Validate(ctx context.Context, req Request, progress func(Progress)) (*Result, error) {
	sc := req.Loaded
	if sc == nil {
		var err error
		if sc, err = LoadScenario(req.Scenario); err != nil {
			return nil, err
		}
	}
	n := sc.Repeat
	if req.Repeat > 0 {
		n = req.Repeat
	}
	if n < 1 {
		n = 1
	}
	res := &Result{Scenario: sc}
	sides := []struct {
		name string
		url  string
		ids  []int64
		out  *[]*trace.Trace
	}{{"before", req.Before, req.BeforeRuns, &res.Before}, {"after", req.After, req.AfterRuns, &res.After}}
	targets := make([]driver.Target, 2)
	armed := make([]bool, 2)
	run := make([]bool, 2) // false: the side comes from stored runs
	toRun := 0
	for i, s := range sides {
		stored, err := w.loadRuns(ctx, sc, s.name, s.ids)
		if err != nil {
			return nil, err
		}
		if stored != nil {
			*s.out = stored
			continue
		}
		run[i] = true
		toRun++
		t, err := driver.ParseTarget(w.WithTrust(strings.TrimSpace(s.url)))
		if err != nil {
			return nil, fmt.Errorf("%s target: %w", s.name, err)
		}
		targets[i] = t
		armed[i] = req.Armed || w.Embedded(t.String())
		if runner.NeedsArming(sc.Scenario, t) && !armed[i] {
			return nil, fmt.Errorf("%s target %s: %w", s.name, t, runner.ErrNotArmed)
		}
	}
	rec := ledger.Recorder{DB: w.DB}
	total := max(toRun*n, 1)
	ran := 0
	for i, s := range sides {
		if !run[i] {
			continue
		}
		for rep := 1; rep <= n; rep++ {
			done := ran
			ran++
			feed := newLiveFeed(LiveEvery)
			var last runner.Progress
			send := func(p runner.Progress) {
				f := float64(done)
				if p.Steps > 0 {
					f += float64(p.Step) / float64(p.Steps+1)
				}
				progress(Progress{Side: s.name, Run: done + 1, Runs: total, Step: p.Step, Steps: p.Steps,
					StepText: p.StepText, Fraction: f / float64(total), Elapsed: p.Elapsed, Live: feed.take()})
			}
			report := func(p runner.Progress) {
				if progress == nil {
					return
				}
				due := feed.add(p) // p.Latest is the runner's own map: read here, on its goroutine
				p.Latest = nil
				last = p
				if due {
					send(p)
				}
			}
			if progress != nil {
				send(runner.Progress{})
			}
			r, err := runner.Run(ctx, sc.Scenario, runner.Options{Target: targets[i], Armed: armed[i], Repetition: rep, Recorder: rec, Progress: report})
			if progress != nil {
				send(last) // what the last throttled reports gathered
			}
			if r == nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("%s run %d: %w", s.name, rep, ErrAborted)
				}
				return nil, fmt.Errorf("%s run %d: %w", s.name, rep, err)
			}
			*s.out = append(*s.out, r.Trace)
			if ctx.Err() != nil {
				return res, fmt.Errorf("%s run %d: %w", s.name, rep, ErrAborted)
			}
		}
	}
	crit := compare.Compare(sc.Scenario, res.Before, res.After, compare.Patch{})
	outcome, reasons := verdict.Decide(crit, sc.MajorIsNoGo)
	all := append(append([]*trace.Trace{}, res.Before...), res.After...)
	res.Record = verdict.Record{
		Verdict: outcome, Reasons: reasons, Scenario: sc.Name, ScenarioSHA256: sc.SHA256, PointMap: sc.Points.Name,
		Patch: req.Patch, Criteria: crit, Calibration: compare.Calibrate(all), ToolVersion: Version,
		Decided: w.Now().UTC().Format(time.RFC3339),
	}
	if len(res.Before) > 0 {
		b := res.Before[0].Run
		res.Record.BeforeTarget, res.Record.IdentityBefore, res.Record.TimeMode = b.Target, b.IdentityPre, b.TimeMode
	}
	if len(res.After) > 0 {
		res.Record.AfterTarget, res.Record.IdentityAfter = res.After[0].Run.Target, res.After[0].Run.IdentityPre
	}
	for _, t := range res.Before {
		res.Record.BeforeRuns = append(res.Record.BeforeRuns, t.Run.ID)
	}
	for _, t := range res.After {
		res.Record.AfterRuns = append(res.Record.AfterRuns, t.Run.ID)
	}
	if progress != nil {
		progress(Progress{Side: "after", Run: total, Runs: total, StepText: "compared", Fraction: 1})
	}
	if req.Patch != "" {
		v, err := w.DB.RecordValidation(ctx, ledger.Validation{PatchID: req.Patch, Record: res.Record, Created: w.Now()}, w.actor)
		if err != nil {
			return res, err
		}
		res.Validation = v.ID
	}
	return res, nil
}

// loadRuns loads the stored runs ids of scenario sc from the register for side (nil for no
// ids).
func (w *Workspace) loadRuns(ctx context.Context, sc *Loaded, side string, ids []int64) ([]*trace.Trace, error) {
	var out []*trace.Trace
	for _, id := range ids {
		tr, err := w.DB.LoadTrace(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("stored %s run %d: %w", side, id, err)
		}
		if tr.Run.Scenario != sc.Name {
			return nil, fmt.Errorf("stored %s run %d is of scenario %q, not %q", side, id, tr.Run.Scenario, sc.Name)
		}
		out = append(out, tr)
	}
	return out, nil
}

// Export writes the signed evidence bundle of res into the workspace's bundles folder and
// returns its path and SHA-256.
func (w *Workspace) Export(res *Result) (string, string, error) {
	key, _, err := evidence.LoadOrCreateKey(w.KeyDir())
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
	rec := res.Record
	rec.Bundle = path
	var buf bytes.Buffer
	sum, err := evidence.Write(&buf, evidence.Bundle{
		Record: rec, Before: res.Before, After: res.After,
		Scenario:    evidence.File{Name: res.Scenario.Name, Data: res.Scenario.Data},
		PointMap:    evidence.File{Name: res.Scenario.PointMap, Data: res.Scenario.PointData},
		ToolVersion: Version,
	}, key)
	if err != nil {
		return "", "", fmt.Errorf("evidence bundle: %w", err)
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
	sc := req.Loaded
	if sc == nil {
		if sc, err = LoadScenario(req.Scenario); err != nil {
			return nil, nil, err
		}
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
