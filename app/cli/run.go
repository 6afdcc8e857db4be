package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/validation"
)

// runSummary is what `run --json` prints, one object per run.
type runSummary struct {
	RunID       int64                 `json:"run_id"`
	Status      trace.Status          `json:"status"`
	Scenario    string                `json:"scenario"`
	Target      string                `json:"target"`
	Repetition  int                   `json:"repetition"`
	TimeMode    string                `json:"time_mode"`
	Samples     int                   `json:"samples"`
	MissedSlots int64                 `json:"missed_slots"`
	Faults      int                   `json:"faults"`
	Checks      []runner.Check        `json:"checks"`
	Identity    driver.Identity       `json:"identity"`
	IdentityEnd driver.Identity       `json:"identity_end"`
	Fault       string                `json:"fault,omitempty"`
	Writes      []runner.PlannedWrite `json:"writes,omitempty"`
}

func runRun(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "run")
	scFile := fs.String("scenario", "", "scenario file (required)")
	points := fs.String("points", "", "point map file, instead of the one the scenario names")
	tgt := fs.String("target", "", "target URL: modbus://host:port?unit=N, opc.tcp://host:port, sim://MODEL?firmware=NAME (required)")
	db := fs.String("db", "patchgate.db", "SQLite file for traces and the register")
	repeat := fs.Int("repeat", 0, "repetitions (default: the scenario's repeat)")
	asJSON := fs.Bool("json", false, "print the run summary as JSON on stdout")
	dry := fs.Bool("dry-run", false, "print the exact writes and do nothing")
	arm := fs.Bool("arm", false, "allow writes to a real (non-simulated) controller; recorded in the run")
	fast := fs.Bool("fast", false, "sim:// targets: run on simulated time, as fast as the CPU allows (recorded)")
	rf := addRestartFlags(fs)
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	sc, target, err := loadScenarioAndTarget(*scFile, *points, *tgt, *fast)
	if err != nil {
		return err
	}
	if *repeat < 0 {
		return badInput("--repeat %d: expected a positive number", *repeat)
	}
	n := sc.Repeat
	if *repeat > 0 {
		n = *repeat
	}
	if *dry {
		ws := runner.DryRun(sc.Scenario)
		if *asJSON {
			return json.NewEncoder(env.Stdout).Encode(map[string]any{"scenario": sc.Name, "target": target.String(), "writes": ws})
		}
		fmt.Fprintf(env.Stdout, "dry run of %s on %s: %d writes, nothing sent\n", sc.Name, target, len(ws))
		for _, w := range ws {
			fmt.Fprintln(env.Stdout, " ", w)
		}
		return nil
	}
	if runner.NeedsArming(sc.Scenario, target) && !*arm {
		return usageError{fmt.Errorf("%s: %w; --dry-run shows the writes", target, runner.ErrNotArmed)}
	}
	store, err := ledger.Open(ctx, *db)
	if err != nil {
		return fmt.Errorf("open %s: %w", *db, err)
	}
	defer store.Close()
	rec := validation.Recorder(store, sc) // the runs carry the scenario's SHA-256, for validate --before-run
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	op := rf.operator(env, validation.Actor(), abort)
	var failed error
	for rep := 1; rep <= n; rep++ {
		bar := newProgressBar(env)
		bar.hold = op.busy
		res, err := runner.Run(ctx, sc.Scenario, runner.Options{Target: target, Armed: *arm, Repetition: rep, Recorder: rec,
			Progress: bar.update, OperatorRestart: op.restart(), GapLimit: *rf.gap})
		bar.done()
		if res == nil {
			return err // exitCode classes it: a bad target 2, a refused connection 4
		}
		sum := summarize(sc, res)
		if *asJSON {
			b, _ := json.Marshal(sum)
			fmt.Fprintln(env.Stdout, string(b))
		} else {
			printSummary(env.Stdout, sum, *db)
		}
		if err != nil {
			failed = err
			if ctx.Err() != nil {
				break
			}
		}
	}
	return failed // aborted 3, faulted 4
}

func loadScenarioAndTarget(scFile, points, tgt string, fast bool) (*validation.Scenario, driver.Target, error) {
	if scFile == "" {
		return nil, driver.Target{}, badInput("--scenario is required")
	}
	if tgt == "" {
		return nil, driver.Target{}, badInput("--target is required (e.g. sim://tank, modbus://127.0.0.1:5020?unit=1, opc.tcp://127.0.0.1:4840)")
	}
	sc, err := validation.Load(scFile, points)
	if err != nil {
		return nil, driver.Target{}, usageError{err}
	}
	target, err := driver.ParseTarget(tgt)
	if err != nil {
		return nil, driver.Target{}, usageError{err}
	}
	if fast {
		if !target.Simulated() {
			return nil, driver.Target{}, badInput("--fast applies to sim:// targets only; %s runs in real time", target)
		}
		q := target.URL.Query()
		q.Set("time", "simulated")
		target.URL.RawQuery = q.Encode()
	}
	return sc, target, nil
}

func summarize(sc *validation.Scenario, res *runner.Result) runSummary {
	r := res.Trace.Run
	return runSummary{
		RunID: r.ID, Status: r.Status, Scenario: sc.Name, Target: r.Target, Repetition: r.Repetition,
		TimeMode: r.TimeMode, Samples: len(res.Trace.Samples), MissedSlots: res.Missed, Faults: res.Faults,
		Checks: res.Checks, Identity: r.IdentityPre, IdentityEnd: r.IdentityPost, Fault: r.Fault, Writes: res.Writes,
	}
}

func printSummary(w io.Writer, s runSummary, db string) {
	fmt.Fprintf(w, "run %d (%s, repetition %d) on %s: %s\n", s.RunID, s.Scenario, s.Repetition, s.Target, strings.ToUpper(string(s.Status)))
	fmt.Fprintf(w, "  %d samples, %d missed slots, %d faults, %s time; firmware %s\n", s.Samples, s.MissedSlots, s.Faults, s.TimeMode, s.Identity.Firmware)
	for _, c := range s.Checks {
		line := fmt.Sprintf("  %-13s %-8s %s", strings.ToUpper(c.Status), c.Severity, c.ID)
		if c.Reason != "" {
			line += ": " + c.Reason
		}
		fmt.Fprintln(w, line)
	}
	if s.Fault != "" {
		fmt.Fprintf(w, "  fault: %s\n", s.Fault)
	}
	fmt.Fprintf(w, "  trace stored in %s (patchgate export --db %s --run %d)\n", db, db, s.RunID)
}

// progressBar shows a run's progress on stderr: on a terminal, one line redrawn in place
// with the time left; otherwise (CI, tee, a file) a plain line each time a step starts.
type progressBar struct {
	env  Env
	hold func() bool // while it holds (the operator is asked), the bar keeps off the terminal
	last time.Time
	used bool
	step int // the last step printed, not on a terminal
}

func newProgressBar(env Env) *progressBar { return &progressBar{env: env} }

func (b *progressBar) update(p runner.Progress) {
	if b.hold != nil && b.hold() {
		return
	}
	if !b.env.Interactive {
		if p.Step != b.step && p.Step > 0 {
			b.step = p.Step
			fmt.Fprintf(b.env.Stderr, "repetition %d step %d/%d: %s\n", p.Repetition, p.Step, p.Steps, p.StepText)
		}
		return
	}
	if time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last, b.used = time.Now(), true
	const width = 24
	fill := 0
	if p.Steps > 0 {
		fill = min(width, width*p.Step/p.Steps)
	}
	text := p.StepText
	if len(text) > 40 {
		text = text[:39] + "…"
	}
	fmt.Fprintf(b.env.Stderr, "\r[%s%s] step %d/%d %-40s %s, %s\x1b[K",
		strings.Repeat("#", fill), strings.Repeat(".", width-fill), p.Step, p.Steps, text, p.Elapsed.Round(time.Second), timeLeft(p))
}

// timeLeft estimates the time left from the steps done so far: a guess, since steps differ
// in length, but one that shrinks as the run goes on.
func timeLeft(p runner.Progress) string {
	done := p.Step - 1 // the current step has only begun
	if done < 1 || p.Steps <= 0 {
		return "time left unknown"
	}
	left := time.Duration(float64(p.Elapsed) * float64(p.Steps-done) / float64(done))
	return "about " + left.Round(time.Second).String() + " left"
}

func (b *progressBar) done() {
	if b.used {
		fmt.Fprint(b.env.Stderr, "\r\x1b[K")
	}
}
