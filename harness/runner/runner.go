// Package runner executes a scenario against one controller and records everything that
// happened: samples on a schedule measured against their intended time (lateness recorded,
// missed slots recorded as missed), steps, writes, connection gaps, identities and protocol
// statistics.
//
// The runner is one loop in one goroutine: it alternates between sampling slots and step
// actions, so that with an in-process simulated controller on a virtual clock the whole run
// is deterministic and as fast as the CPU allows. Wire protocols always run in real time.
//
// Safety (docs/architecture.md#safety-with-real-controllers): only allow-listed writes exist
// (the scenario loader refuses others); a dry run performs no I/O and returns the exact
// writes; a target that is not simulated needs Armed before any write; cancelling the
// context (Ctrl-C, the Abort button, a watchdog) stops writes at once, restores the values
// captured before the test, reads them back and marks the run aborted.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
)

// Errors callers branch on.
var (
	ErrNotArmed = errors.New("writes to a real controller need arming (--arm)")
	ErrAborted  = errors.New("run aborted")
	// ErrNoOperator, returned by an OperatorRestart, says nobody can restart this target:
	// the step is recorded as inconclusive, as without an OperatorRestart.
	ErrNoOperator = errors.New("nobody can restart this controller")
)

// Recorder stores a run as it goes (the ledger implements it). Samples and events arrive
// in batches, so a crash loses at most the last batch. The slices are reused after each
// call returns: a Recorder must copy what it keeps.
type Recorder interface {
	CreateRun(ctx context.Context, r *trace.Run) (int64, error)
	AppendSamples(ctx context.Context, runID int64, s []trace.Sample) error
	AppendEvents(ctx context.Context, runID int64, e []trace.Event) error
	FinishRun(ctx context.Context, r *trace.Run) error
}

// BatchRecorder is a Recorder that can store a batch of samples and events atomically.
type BatchRecorder interface {
	Append(ctx context.Context, runID int64, s []trace.Sample, e []trace.Event) error
}

// Progress is what a face shows while a run goes on.
type Progress struct {
	Repetition int
	Step       int // 1-based; 0 before the first step
	Steps      int
	StepText   string
	Slots      int64 // sampling slots so far
	Missed     int64
	Faults     int
	Elapsed    time.Duration
	Latest     map[string]point.Value // the last sampled values
}

// Options configure one run.
type Options struct {
	Target     driver.Target
	Armed      bool // the operator armed writes to a real controller (recorded)
	Repetition int
	Recorder   Recorder // nil: keep the trace in memory only
	Progress   func(Progress)
	// OperatorRestart is asked to restart a controller the harness cannot restart itself
	// (a real one): a face prompts the operator or runs a command. nil means a restart step
	// on such a target is recorded as inconclusive.
	OperatorRestart OperatorRestart
	// Conn, when set, is used instead of opening the target (the caller keeps ownership).
	Conn driver.Conn
	// BatchEvery is how often samples are handed to the Recorder (default 500 ms of run
	// time or 4096 samples).
	BatchEvery time.Duration
	// GapLimit faults a run whose connection stays lost this long (default 30 s).
	GapLimit time.Duration
}

// RestartRequest is what a face is told when a restart step needs the operator.
type RestartRequest struct {
	Target     driver.Target
	Scenario   string
	Step       int    // the step's number in the scenario (setup and steps counted together)
	Side       string // "before" or "after", when a validation runs; empty otherwise
	Repetition int
}

// RestartConfirmation says who confirmed a restart and how it was made.
type RestartConfirmation struct {
	By     string // who: the operator, or the account a restart command ran for
	How    string // how, in a few words: "at the terminal", "command `kill -HUP 42`, exit 0"
	Output string // what a restart command printed (may be empty)
}

// OperatorRestart has a controller restarted by someone or something outside the harness
// and returns once that is done, saying who did it. An error (no answer in time, a command
// that failed) faults the run. The function is called on a goroutine of its own while the
// runner keeps sampling, and must return when ctx is done.
type OperatorRestart func(ctx context.Context, req RestartRequest) (RestartConfirmation, error)

// Result is a finished run.
type Result struct {
	Trace  *trace.Trace
	Checks []Check
	Probes []ProbeValue
	Missed int64
	Faults int
	// Writes are the writes made, in order (with a dry run: the writes that would be made).
	Writes []PlannedWrite
}

// Check is the outcome of an expect or wait_until step.
type Check struct {
	ID       string             `json:"id"`
	Step     int                `json:"step"`
	Cond     string             `json:"condition"`
	Severity scenario.Severity  `json:"severity"`
	Status   string             `json:"status"` // pass, fail, inconclusive
	At       int64              `json:"t_ns"`   // when decided, ns since run start
	Seen     map[string]float64 `json:"seen,omitempty"`
	Reason   string             `json:"reason,omitempty"`
}

// ProbeValue is one measurement of a response probe.
type ProbeValue struct {
	Probe   string  `json:"probe"`
	Seconds float64 `json:"seconds"` // NaN when the condition was never seen
	At      int64   `json:"t_ns"`
}

// PlannedWrite is one write with the step that makes it.
type PlannedWrite struct {
	Step  int    `json:"step"`
	Phase string `json:"phase"` // setup, step, pulse-end, restore
	Tag   string `json:"tag"`
	Value string `json:"value"`
}

func (w PlannedWrite) String() string {
	if w.Phase == "restore" {
		return fmt.Sprintf("restore: %s = %s", w.Tag, w.Value)
	}
	return fmt.Sprintf("step %d (%s): %s = %s", w.Step, w.Phase, w.Tag, w.Value)
}

// DryRun returns the exact writes a run would make, with no I/O.
func DryRun(sc *scenario.Scenario) []PlannedWrite {
	var out []PlannedWrite
	add := func(st scenario.Step, phase string) {
		for _, w := range st.Writes {
			out = append(out, PlannedWrite{Step: st.Index, Phase: phase, Tag: w.Tag, Value: w.Value.String()})
		}
		if st.Kind == scenario.StepPulse {
			for _, w := range st.Writes {
				out = append(out, PlannedWrite{Step: st.Index, Phase: "pulse-end", Tag: w.Tag, Value: "(value before the pulse)"})
			}
		}
	}
	for _, st := range sc.Setup {
		add(st, "setup")
	}
	for _, st := range sc.Steps {
		add(st, "step")
	}
	for _, t := range sc.Restore {
		out = append(out, PlannedWrite{Phase: "restore", Tag: t, Value: "(value captured before the test)"})
	}
	return out
}

// NeedsArming reports whether running sc on t would be refused without arming: it writes,
// and the target is not simulated.
func NeedsArming(sc *scenario.Scenario, t driver.Target) bool {
	return hasWrites(sc) && !t.Simulated()
}

func hasWrites(sc *scenario.Scenario) bool {
	for _, st := range append(append([]scenario.Step{}, sc.Setup...), sc.Steps...) {
		if len(st.Writes) > 0 {
			return true
		}
	}
	return false
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// spinWindow is how close to a sampling slot the runner stops trusting the timer and polls
// the clock: Go's timers wake up to about a millisecond late (the runtime's poller sleeps in
// whole milliseconds), which alone would use up the 1 ms lateness budget at 100 Hz. Polling
// the last stretch costs about a tenth of a core at 100 Hz.
const spinWindow = 1500 * time.Microsecond

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	if d := time.Until(t) - spinWindow; d > 0 {
		tm := time.NewTimer(d)
		select {
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		case <-tm.C:
		}
	}
	for time.Now().Before(t) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return ctx.Err()
}

// Run executes the scenario once. The returned error is for runs that could not start or
// were aborted/faulted; the Result is returned whenever a run was recorded.
func Run(ctx context.Context, sc *scenario.Scenario, opt Options) (*Result, error) {
	if NeedsArming(sc, opt.Target) && !opt.Armed {
		return nil, fmt.Errorf("%s: %w", opt.Target, ErrNotArmed)
	}
	conn := opt.Conn
	if conn == nil {
		c, err := driver.Open(ctx, opt.Target, sc.Points)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		conn = c
	}
	r := newRun(sc, opt, conn)
	return r.execute(ctx)
}

type run struct {
	sc    *scenario.Scenario
	opt   Options
	conn  driver.Conn
	clk   driver.Clock
	tr    *trace.Trace
	res   *Result
	t0    time.Time
	tags  []string
	tagIx map[string]int
	rd    []driver.Reading
	// latest good values by tag, for conditions
	latest map[string]point.Value
	// pending batches for the recorder
	pendS    []trace.Sample
	pendE    []trace.Event
	lastPush time.Time
	slot     int64
	gapSince time.Time
	inGap    bool
	restore  map[string]point.Value
	wrote    bool
	probes   map[string]time.Time // response probes started by their mark
	lastDisc map[string]point.Value
	progress Progress
	// subscription sampling: updates arrive on sub; subLast holds each tag's latest
	sub     chan driver.Update
	subLast []driver.Reading
	// fresh: the latest sample was taken after the last write or restart, so a condition
	// may be judged on it (an expect right after a wait_until sees the sample that ended it)
	fresh bool
	// postureErr says why the posture the scenario asked for was not collected (whole or
	// in part); it becomes a fault event once the run has its origin
	postureErr string
	// losses counts the connection losses (gap starts); restarting suspends the gap limit
	// and subscription sampling while an operator restarts the controller
	losses     int
	restarting bool
}

func newRun(sc *scenario.Scenario, opt Options, conn driver.Conn) *run {
	r := &run{sc: sc, opt: opt, conn: conn, latest: map[string]point.Value{}, probes: map[string]time.Time{},
		lastDisc: map[string]point.Value{}, tagIx: map[string]int{}}
	r.clk = realClock{}
	mode := "real"
	// an in-process controller on simulated time lends the runner its clock; on wall time
	// the runner keeps its own, which wakes up on time
	if c, ok := conn.(driver.Clocked); ok && opt.Target.Simulated() {
		if s, ok := c.Clock().(interface{ Simulated() bool }); ok && s.Simulated() {
			r.clk, mode = c.Clock(), "simulated"
		}
	}
	// sample the scenario's tags plus every tag a condition reads
	add := func(t string) {
		if _, ok := r.tagIx[t]; !ok {
			r.tagIx[t] = len(r.tags)
			r.tags = append(r.tags, t)
		}
	}
	for _, t := range sc.Sample.Tags {
		add(t)
	}
	for _, st := range append(append([]scenario.Step{}, sc.Setup...), sc.Steps...) {
		if st.Cond != nil {
			for _, t := range st.Cond.Tags {
				add(t)
			}
		}
	}
	for _, p := range sc.Probes {
		if p.Until != nil {
			for _, t := range p.Until.Tags {
				add(t)
			}
		}
	}
	r.rd = make([]driver.Reading, len(r.tags))
	if opt.BatchEvery <= 0 {
		r.opt.BatchEvery = 500 * time.Millisecond
	}
	if opt.GapLimit <= 0 {
		r.opt.GapLimit = 30 * time.Second
	}
	r.tr = &trace.Trace{Run: trace.Run{
		Scenario: sc.Name, ScenarioFile: sc.File, PointMap: sc.Points.Name, Target: opt.Target.String(),
		Repetition: opt.Repetition, Status: trace.Running, TimeMode: mode, Period: sc.Sample.Period,
		Tags: r.tags, Armed: opt.Armed,
	}}
	r.res = &Result{Trace: r.tr}
	r.progress = Progress{Repetition: opt.Repetition, Steps: len(sc.Setup) + len(sc.Steps)}
	return r
}

func (r *run) now() int64 { return r.clk.Now().Sub(r.t0).Nanoseconds() }

func (r *run) event(e trace.Event) {
	r.tr.Events = append(r.tr.Events, e)
	r.pendE = append(r.pendE, e)
}

// execute runs setup and steps, then restores and finishes. It owns the run's record.
func (r *run) execute(ctx context.Context) (*Result, error) {
	// the posture first: a port scan takes real time that must not fall in the sampling
	r.posture(ctx)
	r.t0 = r.clk.Now()
	r.lastPush = r.t0
	r.tr.Run.Started = r.t0
	if r.tr.Run.TimeMode == "simulated" {
		// Started is on the simulated clock; the wall clock says when the run was made
		if r.tr.Run.Meta == nil {
			r.tr.Run.Meta = map[string]string{}
		}
		r.tr.Run.Meta[trace.MetaWallStarted] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	if r.postureErr != "" {
		r.event(trace.Event{Kind: trace.EvFault, Msg: "posture: " + r.postureErr})
	}
	if id, ok := r.conn.(driver.Identifier); ok {
		if ident, err := id.Identity(ctx); err == nil {
			r.tr.Run.IdentityPre = ident
		} else {
			r.event(trace.Event{Kind: trace.EvFault, Msg: "identity at start: " + err.Error()})
		}
	}
	if r.opt.Recorder != nil {
		id, err := r.opt.Recorder.CreateRun(ctx, &r.tr.Run)
		if err != nil {
			return nil, fmt.Errorf("record run: %w", err)
		}
		r.tr.Run.ID = id
	}
	if r.opt.Armed {
		r.event(trace.Event{Kind: trace.EvArmed, Msg: "writes armed by the operator for " + r.opt.Target.String()})
	}
	// capture the values to restore, before any write
	var runErr error
	if r.sc.Sample.Subscribe {
		cancel, err := r.subscribe(ctx)
		if err != nil {
			r.event(trace.Event{Kind: trace.EvFault, Msg: "subscription refused, polling instead: " + err.Error()})
		} else {
			defer cancel()
		}
	}
	if len(r.sc.Restore) > 0 && hasWrites(r.sc) {
		runErr = r.capture(ctx)
	}
	// sampling starts with the first step, at the next slot boundary: the slots that passed
	// while the run was opened (identity, the record, capturing the values to restore) were
	// never meant to be sampled and are not missed
	if p := r.sc.Sample.Period; p > 0 {
		r.slot = int64((r.clk.Now().Sub(r.t0) + p - 1) / p)
	}
	steps := append(append([]scenario.Step{}, r.sc.Setup...), r.sc.Steps...)
	if runErr == nil {
		for i, st := range steps {
			r.progress.Step, r.progress.StepText = i+1, Describe(st)
			r.event(trace.Event{T: r.now(), Kind: trace.EvStepStart, Step: st.Index, Msg: Describe(st)})
			checks := len(r.res.Checks)
			if err := r.step(ctx, st); err != nil {
				runErr = err
				break
			}
			r.event(trace.Event{T: r.now(), Kind: trace.EvStepEnd, Step: st.Index})
			if err := r.setupReached(i, checks); err != nil {
				runErr = err
				break
			}
		}
		// one last slot so that the end of the last step is on the record
		if runErr == nil {
			runErr = r.sampleUntil(ctx, r.clk.Now(), nil)
		}
		if runErr == nil {
			runErr = r.loads(ctx)
		}
	}
	status := trace.Completed
	switch {
	case runErr == nil:
	case ctx.Err() != nil:
		status = trace.Aborted
		r.event(trace.Event{T: r.now(), Kind: trace.EvAbort, Msg: "aborted: " + context.Cause(ctx).Error()})
		runErr = fmt.Errorf("%w: %v", ErrAborted, context.Cause(ctx))
	default:
		status = trace.Faulted
		r.tr.Run.Fault = runErr.Error()
		r.event(trace.Event{T: r.now(), Kind: trace.EvFault, Msg: runErr.Error()})
	}
	// restore with a context of its own: the run's may be cancelled (that is why we restore)
	if r.wrote {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := r.restoreValues(rctx); err != nil {
			r.event(trace.Event{T: r.now(), Kind: trace.EvFault, Msg: "restore: " + err.Error()})
			if runErr == nil {
				status, runErr = trace.Faulted, fmt.Errorf("restore: %w", err)
				r.tr.Run.Fault = runErr.Error()
			}
		}
		cancel()
	}
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if id, ok := r.conn.(driver.Identifier); ok {
		if ident, err := id.Identity(fctx); err == nil {
			r.tr.Run.IdentityPost = ident
		}
	}
	if st, ok := r.conn.(driver.Statser); ok {
		r.tr.Run.Stats = st.Stats()
	}
	r.tr.Run.Status = status
	r.tr.Run.Ended = r.clk.Now()
	if err := r.flush(fctx, true); err != nil && runErr == nil {
		runErr = err
	}
	if r.opt.Recorder != nil {
		if err := r.opt.Recorder.FinishRun(fctx, &r.tr.Run); err != nil && runErr == nil {
			runErr = fmt.Errorf("record run: %w", err)
		}
	}
	return r.res, runErr
}

// ErrSetup is a setup that could not bring the plant to its start state.
var ErrSetup = errors.New("the setup did not reach the start state")

// setupReached stops a run whose setup step i (0-based in setup+steps) recorded a check that
// did not pass (checks: how many checks were recorded before it): the plant is not in its
// start state, so nothing after it could be judged (docs/architecture.md, "Setup and the
// start state"). The run faults with the step named; the comparison is then INCONCLUSIVE.
func (r *run) setupReached(i, checks int) error {
	if i >= len(r.sc.Setup) {
		return nil
	}
	for _, c := range r.res.Checks[checks:] {
		if c.Status != "pass" {
			st := r.sc.Setup[i]
			why := c.Reason
			if why == "" {
				why = c.Status
			}
			return fmt.Errorf("%w: setup step %d (%s): %s", ErrSetup, st.Index, Describe(st), why)
		}
	}
	return nil
}

// Describe is the one-line text of a step, as progress reports and the trace show it.
func Describe(st scenario.Step) string {
	switch st.Kind {
	case scenario.StepWrite, scenario.StepPulse:
		var parts []string
		for _, w := range st.Writes {
			parts = append(parts, w.Tag+"="+w.Value.String())
		}
		s := string(st.Kind) + " " + strings.Join(parts, ", ")
		if st.Kind == scenario.StepPulse {
			s += " for " + st.Duration.String()
		}
		return s
	case scenario.StepWait:
		return "wait " + st.Duration.String()
	case scenario.StepWaitUntil:
		return "wait until " + st.Cond.Source + " (timeout " + st.Timeout.String() + ")"
	case scenario.StepExpect:
		if st.Hold > 0 {
			return "expect " + st.Cond.Source + " for " + st.Hold.String()
		}
		return "expect " + st.Cond.Source + " within " + st.Within.String()
	case scenario.StepMark:
		return "mark " + st.Name
	}
	return string(st.Kind)
}

// subscribe asks the target for value changes at the sampling period. Each slot then
// records every tag's latest update instead of issuing a read.
func (r *run) subscribe(ctx context.Context) (func() error, error) {
	sub, ok := r.conn.(driver.Subscriber)
	if !ok {
		return nil, fmt.Errorf("%s does not support subscriptions", r.opt.Target)
	}
	r.sub = make(chan driver.Update, 4096)
	cancel, err := sub.Subscribe(ctx, r.tags, r.sc.Sample.Period, r.sub)
	if err != nil {
		r.sub = nil
		return nil, err
	}
	r.subLast = make([]driver.Reading, len(r.tags))
	for i := range r.subLast {
		r.subLast[i] = driver.Reading{Quality: driver.Missing, Err: errors.New("no update yet")}
	}
	if r.tr.Run.Meta == nil {
		r.tr.Run.Meta = map[string]string{}
	}
	r.tr.Run.Meta["sampling"] = "subscription"
	return cancel, nil
}

// readSubscribed fills r.rd from the updates received so far.
func (r *run) readSubscribed() {
	for {
		select {
		case u := <-r.sub:
			if i, ok := r.tagIx[u.Tag]; ok {
				r.subLast[i] = u.Reading
			}
			continue
		default:
		}
		break
	}
	copy(r.rd, r.subLast)
}

func (r *run) capture(ctx context.Context) error {
	rd := make([]driver.Reading, len(r.sc.Restore))
	if err := r.conn.Read(ctx, r.sc.Restore, rd); err != nil {
		return fmt.Errorf("capture values to restore: %w", err)
	}
	r.restore = map[string]point.Value{}
	for i, t := range r.sc.Restore {
		if rd[i].Quality != driver.Good {
			return fmt.Errorf("capture %s before the test: %v", t, rd[i].Err)
		}
		r.restore[t] = rd[i].Value
	}
	return nil
}

func (r *run) restoreValues(ctx context.Context) error {
	var ws []driver.Write
	for _, t := range r.sc.Restore {
		if v, ok := r.restore[t]; ok {
			ws = append(ws, driver.Write{Tag: t, Value: v})
		}
	}
	if len(ws) == 0 {
		return nil
	}
	var err error
	for try := 0; try < 3; try++ {
		if err = r.conn.Write(ctx, ws); err == nil {
			break
		}
		if rc, ok := r.conn.(driver.Reconnector); ok {
			rc.Reconnect(ctx)
		}
	}
	if err != nil {
		return err
	}
	for _, w := range ws {
		r.res.Writes = append(r.res.Writes, PlannedWrite{Phase: "restore", Tag: w.Tag, Value: w.Value.String()})
		r.event(trace.Event{T: r.now(), Kind: trace.EvRestore, Tag: w.Tag, Value: w.Value.String()})
	}
	// read back: the bench must be as it was found
	tags := make([]string, len(ws))
	for i, w := range ws {
		tags[i] = w.Tag
	}
	rd := make([]driver.Reading, len(tags))
	if err := r.conn.Read(ctx, tags, rd); err != nil {
		return fmt.Errorf("read back restored values: %w", err)
	}
	var bad []string
	for i, w := range ws {
		if rd[i].Quality != driver.Good || rd[i].Value.Float() != w.Value.Float() || rd[i].Value.Text() != w.Value.Text() {
			bad = append(bad, fmt.Sprintf("%s = %s, want %s", w.Tag, rd[i].Value, w.Value))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("read back after restore: %s", strings.Join(bad, "; "))
	}
	return nil
}

func (r *run) write(ctx context.Context, st scenario.Step, ws []scenario.Write, phase string) error {
	if err := ctx.Err(); err != nil {
		return err // an abort stops writes at once
	}
	dws := make([]driver.Write, len(ws))
	for i, w := range ws {
		if al, ok := r.sc.Allow[w.Tag]; !ok || !al.Permits(w.Value) {
			return fmt.Errorf("step %d: write %s = %s is not allow-listed", st.Index, w.Tag, w.Value) // the loader prevents this; never trust it alone
		}
		dws[i] = driver.Write{Tag: w.Tag, Value: w.Value}
	}
	r.wrote = true
	r.fresh = false
	if err := r.conn.Write(ctx, dws); err != nil {
		return fmt.Errorf("step %d: %w", st.Index, err)
	}
	for _, w := range ws {
		r.res.Writes = append(r.res.Writes, PlannedWrite{Step: st.Index, Phase: phase, Tag: w.Tag, Value: w.Value.String()})
		r.event(trace.Event{T: r.now(), Kind: trace.EvWrite, Step: st.Index, Tag: w.Tag, Value: w.Value.String()})
	}
	return nil
}

func (r *run) step(ctx context.Context, st scenario.Step) error {
	switch st.Kind {
	case scenario.StepWrite:
		return r.write(ctx, st, st.Writes, "step")
	case scenario.StepPulse:
		// the value before the pulse is what the pulse returns to
		tags := []string{st.Writes[0].Tag}
		rd := make([]driver.Reading, 1)
		if err := r.conn.Read(ctx, tags, rd); err != nil || rd[0].Quality != driver.Good {
			return fmt.Errorf("step %d: read %s before the pulse: %v", st.Index, tags[0], errors.Join(err, rd[0].Err))
		}
		if err := r.write(ctx, st, st.Writes, "step"); err != nil {
			return err
		}
		if err := r.sampleUntil(ctx, r.clk.Now().Add(st.Duration), nil); err != nil {
			return err
		}
		return r.write(ctx, st, []scenario.Write{{Tag: tags[0], Value: rd[0].Value}}, "pulse-end")
	case scenario.StepWait:
		return r.sampleUntil(ctx, r.clk.Now().Add(st.Duration), nil)
	case scenario.StepMark:
		r.event(trace.Event{T: r.now(), Kind: trace.EvMark, Step: st.Index, Msg: st.Name})
		for _, p := range r.sc.Probes {
			if p.Kind == scenario.ProbeResponse && p.From == st.Name {
				r.probes[p.Name] = r.clk.Now()
			}
		}
		return nil
	case scenario.StepExpect:
		if st.Hold > 0 {
			return r.hold(ctx, st)
		}
		fallthrough
	case scenario.StepWaitUntil:
		window := st.Timeout
		if st.Kind == scenario.StepExpect {
			window = st.Within
		}
		deadline := r.clk.Now().Add(window)
		if window == 0 && !r.fresh && r.sc.Sample.Period > 0 {
			// a write since the last sample: "now" is the next sample, not the one before it
			deadline = r.t0.Add(time.Duration(r.slot) * r.sc.Sample.Period)
		}
		if r.fresh {
			if ok, known := st.Cond.Eval(r.latest); known && ok {
				r.check(st, "pass", "")
				return nil
			}
		}
		var decided bool
		refused := 0 // consecutive samples where the device refused a tag of the condition
		err := r.sampleUntil(ctx, deadline, func() bool {
			ok, known := st.Cond.Eval(r.latest)
			if known && ok {
				r.check(st, "pass", "")
				decided = true
				return true
			}
			// a tag the device answers with an error (a moved register, an unknown node) will
			// not come back by waiting: stop waiting after a few samples instead of the whole
			// timeout, undecided (a setup that waits on it stops the run)
			if tag := r.refusedTag(st.Cond.Tags); tag != "" {
				if refused++; refused >= refusedSamples {
					r.check(st, "inconclusive", fmt.Sprintf("the device refuses %s (%d samples in a row): the condition cannot be seen", tag, refused))
					decided = true
					return true
				}
			} else {
				refused = 0
			}
			return false
		})
		if err != nil {
			r.check(st, "inconclusive", "run stopped: "+err.Error())
			return err
		}
		if !decided {
			// one more look at the deadline sample for a zero window
			if st.Kind == scenario.StepExpect && window == 0 {
				if ok, known := st.Cond.Eval(r.latest); known && ok {
					r.check(st, "pass", "")
					return nil
				}
			}
			_, known := st.Cond.Eval(r.latest)
			if !known {
				r.check(st, "inconclusive", "no good value of "+strings.Join(st.Cond.Tags, ", ")+" in the window")
			} else if st.Kind == scenario.StepWaitUntil {
				r.check(st, "fail", fmt.Sprintf("not seen within the %s timeout", window))
			} else {
				r.check(st, "fail", fmt.Sprintf("not seen within %s", window))
			}
		}
		return nil
	case scenario.StepRestart:
		r.fresh = false
		if rs, ok := r.conn.(driver.Restarter); ok {
			r.event(trace.Event{T: r.now(), Kind: trace.EvFault, Step: st.Index, Msg: "controller restart requested"})
			return rs.Restart(ctx)
		}
		if r.opt.OperatorRestart != nil {
			return r.operatorRestart(ctx, st)
		}
		r.noRestart(st)
		return nil
	case scenario.StepReconnect:
		if rc, ok := r.conn.(driver.Reconnector); ok {
			err := rc.Reconnect(ctx)
			r.event(trace.Event{T: r.now(), Kind: trace.EvFault, Step: st.Index, Msg: fmt.Sprintf("reconnect: %v", errOrOK(err))})
			return nil
		}
		return nil
	}
	return fmt.Errorf("step %d: unknown kind %s", st.Index, st.Kind)
}

// operatorRestart has the controller restarted from outside (the operator, a command) and
// waits for it to come back. It keeps sampling all along, so the trace shows the controller
// go down and come back: first while the face asks (however long the operator takes, the gap
// limit does not apply), then, once the restart is confirmed, until a connection loss has
// been seen and the controller answers again. A restart cannot be told from a controller
// that never went down except by its lost connection (a restart drops every connection), so
// a controller that was never seen to go away, or that is not back within the run's gap
// limit after the confirmation, faults the run: its comparison is INCONCLUSIVE, never GO.
// Who confirmed, when (wall clock, UTC) and how goes into the trace as a restart event.
func (r *run) operatorRestart(ctx context.Context, st scenario.Step) error {
	r.event(trace.Event{T: r.now(), Kind: trace.EvFault, Step: st.Index, Msg: "operator asked to restart the controller"})
	losses := r.losses
	req := RestartRequest{Target: r.opt.Target, Scenario: r.sc.Name, Step: st.Index, Repetition: r.opt.Repetition}
	type answer struct {
		c   RestartConfirmation
		err error
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan answer, 1)
	go func() {
		c, err := r.opt.OperatorRestart(actx, req)
		ch <- answer{c, err}
	}()
	r.restarting = true
	defer func() { r.restarting = false }()
	var ans answer
	got := false
	err := r.sampleUntil(ctx, r.clk.Now().Add(restartForever), func() bool {
		select {
		case ans = <-ch:
			got = true
		default:
		}
		return got
	})
	if !got {
		cancel()
		ans = <-ch // the face returns when its context is done
	}
	if err != nil {
		return err
	}
	if errors.Is(ans.err, ErrNoOperator) {
		r.noRestart(st)
		return nil
	}
	if ans.err != nil {
		return fmt.Errorf("step %d: restart: %w", st.Index, ans.err)
	}
	by := ans.c.By
	if by == "" {
		by = "unknown"
	}
	msg := fmt.Sprintf("restart confirmed by %s at %s", by, time.Now().UTC().Format(time.RFC3339))
	if ans.c.How != "" {
		msg += " (" + ans.c.How + ")"
	}
	if out := strings.TrimSpace(ans.c.Output); out != "" {
		if len(out) > maxRestartOutput {
			out = out[:maxRestartOutput] + "…"
		}
		msg += ": " + out
	}
	confirmed := r.clk.Now()
	r.event(trace.Event{T: r.now(), Kind: trace.EvRestart, Step: st.Index, Value: by, Msg: msg})
	back := false
	err = r.sampleUntil(ctx, confirmed.Add(r.opt.GapLimit), func() bool {
		back = r.losses > losses && !r.inGap
		return back
	})
	if err != nil {
		return err
	}
	switch {
	case back:
		r.event(trace.Event{T: r.now(), Kind: trace.EvRestart, Step: st.Index, Value: by,
			Msg: fmt.Sprintf("controller back %s after the restart was confirmed", r.clk.Now().Sub(confirmed).Round(time.Millisecond))})
		r.fresh = false // the sample that saw it back is the first of the restarted controller
		return nil
	case r.losses == losses:
		return fmt.Errorf("step %d: the controller was not seen to restart: its connection was never lost, up to %s after the restart was confirmed", st.Index, r.opt.GapLimit)
	}
	return fmt.Errorf("step %d: the controller did not come back within %s after the restart was confirmed", st.Index, r.opt.GapLimit)
}

// noRestart records a restart step nobody could do as the inconclusive check
// step<N>_restart (major): the comparison cannot say what a restart would have shown.
func (r *run) noRestart(st scenario.Step) {
	r.check(scenario.Step{Index: st.Index, ID: fmt.Sprintf("step%d_restart", st.Index), Kind: st.Kind, Severity: scenario.Major},
		"inconclusive", "this target cannot be restarted by the harness and no operator was asked")
}

// restartForever bounds the wait for the operator only nominally: the face has its own
// timeout (the CLI's --restart-timeout, the desktop dialog's countdown).
const restartForever = 100 * 365 * 24 * time.Hour

// maxRestartOutput is how much of a restart command's output the trace keeps.
const maxRestartOutput = 2000

// refusedSamples is how many samples in a row a tag of a wait_until's condition may read Bad
// (the device answered with an error) before the wait stops.
const refusedSamples = 5

// refusedTag is the first of tags that the last sample read Bad, or "".
func (r *run) refusedTag(tags []string) string {
	for _, t := range tags {
		if i, ok := r.tagIx[t]; ok && i < len(r.rd) && r.rd[i].Quality == driver.Bad {
			return t
		}
	}
	return ""
}

// hold checks that a condition is true at every sample for st.Hold; a sample where it cannot
// be decided (missing data) makes the check inconclusive, never a pass.
func (r *run) hold(ctx context.Context, st scenario.Step) error {
	status, reason := "pass", ""
	err := r.sampleUntil(ctx, r.clk.Now().Add(st.Hold), func() bool {
		ok, known := st.Cond.Eval(r.latest)
		switch {
		case !known:
			status, reason = "inconclusive", "no good value of "+strings.Join(st.Cond.Tags, ", ")+" at a sample"
		case !ok:
			status, reason = "fail", fmt.Sprintf("false at %s", time.Duration(r.now()).Round(time.Millisecond))
			return true
		}
		return false
	})
	if err != nil {
		r.check(st, "inconclusive", "run stopped: "+err.Error())
		return err
	}
	r.check(st, status, reason)
	return nil
}

func errOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func (r *run) check(st scenario.Step, status, reason string) {
	c := Check{ID: st.ID, Step: st.Index, Severity: st.Severity, Status: status, At: r.now(), Reason: reason}
	if st.Cond != nil {
		c.Cond = st.Cond.Source
		c.Seen = map[string]float64{}
		for _, t := range st.Cond.Tags {
			if v, ok := r.latest[t]; ok {
				c.Seen[t] = v.Float()
			}
		}
	}
	r.res.Checks = append(r.res.Checks, c)
	r.event(trace.Event{T: c.At, Kind: trace.EvCheck, Step: st.Index, Tag: st.ID, Value: status, Msg: reason})
}

// sampleUntil takes every sampling slot up to deadline; after each it calls done (if set),
// which ends the wait early by returning true.
func (r *run) sampleUntil(ctx context.Context, deadline time.Time, done func() bool) error {
	period := r.sc.Sample.Period
	for {
		next := r.t0.Add(time.Duration(r.slot) * period)
		if next.After(deadline) {
			if err := r.clk.SleepUntil(ctx, deadline); err != nil {
				return err
			}
			return nil
		}
		if err := r.clk.SleepUntil(ctx, next); err != nil {
			return err
		}
		if err := r.sample(ctx, next); err != nil {
			return err
		}
		if done != nil && done() {
			return nil
		}
	}
}

// sample reads every tag for the current slot, records lateness, missed slots, gaps.
func (r *run) sample(ctx context.Context, intended time.Time) error {
	issued := r.clk.Now()
	late := issued.Sub(intended)
	// slots whose time passed while we were busy are recorded as missed, never dropped
	period := r.sc.Sample.Period
	if skip := int64(late / period); skip > 0 {
		r.res.Missed += skip
		r.progress.Missed += skip
		r.event(trace.Event{T: intended.Sub(r.t0).Nanoseconds(), Kind: trace.EvMissed,
			Value: fmt.Sprint(skip), Msg: fmt.Sprintf("slots %d-%d missed: the harness was %s late", r.slot, r.slot+skip-1, late.Round(time.Microsecond))})
		r.slot += skip
		intended = r.t0.Add(time.Duration(r.slot) * period)
		late = issued.Sub(intended)
	}
	slot := r.slot
	r.slot++
	var err error
	if r.sub != nil && !r.restarting {
		r.readSubscribed()
	} else {
		err = r.conn.Read(ctx, r.tags, r.rd)
	}
	got := r.clk.Now()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		for i := range r.rd {
			if r.rd[i].Quality == driver.Good {
				r.rd[i] = driver.Reading{Quality: driver.Missing, Err: err}
			}
		}
		if !r.inGap {
			r.inGap, r.gapSince = true, got
			r.losses++
			r.progress.Faults++
			r.res.Faults++
			r.event(trace.Event{T: got.Sub(r.t0).Nanoseconds(), Kind: trace.EvGapStart, Msg: err.Error()})
		} else if got.Sub(r.gapSince) > r.opt.GapLimit && !r.restarting {
			return fmt.Errorf("connection lost for more than %s: %w", r.opt.GapLimit, err)
		}
		if rc, ok := r.conn.(driver.Reconnector); ok && errors.Is(err, driver.ErrDisconnected) {
			rc.Reconnect(ctx) // success shows on the next good read
		}
	} else if r.inGap {
		r.inGap = false
		r.event(trace.Event{T: got.Sub(r.t0).Nanoseconds(), Kind: trace.EvGapEnd,
			Msg: fmt.Sprintf("connection back after %s", got.Sub(r.gapSince).Round(time.Millisecond))})
	}
	tns := got.Sub(r.t0).Nanoseconds()
	for i, t := range r.tags {
		rd := r.rd[i]
		s := trace.Sample{Slot: slot, Tag: uint16(i), T: tns, Late: late.Nanoseconds(), Quality: rd.Quality, Value: math.NaN()}
		if rd.Quality == driver.Good {
			if rd.Value.Kind() == point.KindString {
				s.Text = rd.Value.Text()
			} else {
				s.Value = rd.Value.Float()
			}
			r.latest[t] = rd.Value
			if rd.Value.Kind() == point.KindBool {
				if prev, ok := r.lastDisc[t]; ok && prev.Bool() != rd.Value.Bool() {
					r.event(trace.Event{T: tns, Kind: trace.EvTransition, Tag: t, Value: rd.Value.String()})
				}
				r.lastDisc[t] = rd.Value
			}
		} else {
			delete(r.latest, t) // conditions must not decide on stale data
		}
		r.tr.Samples = append(r.tr.Samples, s)
		r.pendS = append(r.pendS, s)
	}
	// the round trip of this read is in the samples: T - (slot time + Late)
	// response probes
	for name, started := range r.probes {
		for _, p := range r.sc.Probes {
			if p.Name != name {
				continue
			}
			if ok, known := p.Until.Eval(r.latest); known && ok {
				pv := ProbeValue{Probe: name, Seconds: got.Sub(started).Seconds(), At: tns}
				r.res.Probes = append(r.res.Probes, pv)
				r.event(trace.Event{T: tns, Kind: "probe", Tag: name, Value: fmt.Sprintf("%.9f", pv.Seconds)})
				delete(r.probes, name)
			}
		}
	}
	r.fresh = true
	r.progress.Slots = r.slot
	if r.opt.Progress != nil {
		r.progress.Elapsed = got.Sub(r.t0)
		r.progress.Latest = r.latest
		r.opt.Progress(r.progress)
	}
	return r.flush(ctx, false)
}

func (r *run) flush(ctx context.Context, force bool) error {
	if r.opt.Recorder == nil {
		r.pendS, r.pendE = r.pendS[:0], r.pendE[:0]
		return nil
	}
	now := r.clk.Now()
	if !force && len(r.pendS) < 4096 && now.Sub(r.lastPush) < r.opt.BatchEvery {
		return nil
	}
	r.lastPush = now
	if b, ok := r.opt.Recorder.(BatchRecorder); ok {
		// samples and events of a batch in one transaction: a crash keeps both or neither
		if err := b.Append(ctx, r.tr.Run.ID, r.pendS, r.pendE); err != nil {
			return fmt.Errorf("record batch: %w", err)
		}
		r.pendS, r.pendE = r.pendS[:0], r.pendE[:0]
		return nil
	}
	if len(r.pendS) > 0 {
		if err := r.opt.Recorder.AppendSamples(ctx, r.tr.Run.ID, r.pendS); err != nil {
			return fmt.Errorf("record samples: %w", err)
		}
		r.pendS = r.pendS[:0]
	}
	if len(r.pendE) > 0 {
		if err := r.opt.Recorder.AppendEvents(ctx, r.tr.Run.ID, r.pendE); err != nil {
			return fmt.Errorf("record events: %w", err)
		}
		r.pendE = r.pendE[:0]
	}
	return nil
}

// posture collects the controller's security posture when the scenario asks, into
// Meta[trace.MetaPosture] as JSON (docs/architecture.md, section Security posture). A
// target that cannot, or a collection that fails, leaves Meta[trace.MetaPostureError] with
// why: compare then judges the posture inconclusive, never GO.
func (r *run) posture(ctx context.Context) {
	sp := r.sc.Posture
	if sp == nil {
		return
	}
	if r.tr.Run.Meta == nil {
		r.tr.Run.Meta = map[string]string{}
	}
	fail := func(why string) {
		r.tr.Run.Meta[trace.MetaPostureError] = why
		r.postureErr = why
	}
	p, ok := r.conn.(driver.Posturer)
	if !ok {
		fail(fmt.Sprintf("%s: %v", r.opt.Target, driver.ErrUnsupported))
		return
	}
	at := r.clk.Now()
	pos, err := p.Posture(ctx, driver.PostureRequest{Ports: sp.Ports, Rate: sp.Rate, Timeout: sp.Timeout})
	if err != nil {
		fail(err.Error())
		return
	}
	if pos.Collected.IsZero() {
		pos.Collected = at.UTC()
	}
	b, err := json.Marshal(pos)
	if err != nil {
		fail(err.Error())
		return
	}
	r.tr.Run.Meta[trace.MetaPosture] = string(b)
	if len(pos.Errors) > 0 {
		r.postureErr = strings.Join(pos.Errors, "; ")
	}
}
