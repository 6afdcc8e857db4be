// Package validation is the one validation use case: check the inputs, run a scenario on
// the controller before and after a patch (or take runs stored earlier), compare, decide
// GO / NO-GO / INCONCLUSIVE, write the signed evidence bundle and JUnit, and record the
// validation against its patch in the register. The CLI's validate, the desktop's Validate
// tab and the detection study all call Run, so they check the same things and produce the
// same record from the same inputs (docs/architecture.md).
//
// It is headless: no printing, no Fyne, no os.Exit. Progress goes to a callback and
// cancellation comes through the context. Errors say whose fault they are: ErrBadInput for
// the caller's input (checked before anything runs), ErrAborted for a cancelled context, and
// anything else is a tool or target failure.
package validation

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Errors the faces branch on. Anything else Run returns is a tool or target failure (a
// controller that does not answer, a register that cannot be written).
var (
	// ErrBadInput: the caller's input is wrong (a bad target, stored runs of another
	// scenario, a patch the register does not hold, versions that contradict it, writes to
	// a real controller without arming). Nothing has run.
	ErrBadInput = errors.New("bad validation input")
	// ErrAborted: the context was cancelled while the runs went on; the runner restored the
	// values captured before the test.
	ErrAborted = errors.New("validation aborted; the values captured before the test were restored")
)

// inputError is an error in the caller's input: errors.Is(err, ErrBadInput).
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrBadInput }

func badInput(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}

// Actor is who a face records as making a change when it is not told: the user logged in
// to the operating system, or "patchgate" when there is none (a service account without a
// name). It is the one rule for the CLI, the desktop and the register.
func Actor() string {
	if u, err := user.Current(); err == nil && strings.TrimSpace(u.Username) != "" {
		return strings.TrimSpace(u.Username)
	}
	return "patchgate"
}

// Scenario is a compiled scenario with the exact texts it was compiled from: the record
// carries the scenario's SHA-256, every run made carries it too, and the bundle holds both
// files as run.
type Scenario struct {
	*scenario.Scenario
	Data      []byte // the scenario file as compiled
	SHA256    string // of Data, lower-case hex
	PointMap  string // the point map's file name
	PointData []byte // the point map file as compiled
}

// PointsReader returns the point map file a scenario names (points:, possibly empty) as
// the name it is known by and its text.
type PointsReader func(name string) (file string, data []byte, err error)

// Parse compiles scenario text named name (errors carry name:line:column), with the point
// map read by points.
func Parse(name string, data []byte, points PointsReader) (*Scenario, error) {
	s := &Scenario{Data: data}
	sc, err := scenario.Parse(name, data, func(pm string) (*point.Map, error) {
		file, pd, err := points(pm)
		if err != nil {
			return nil, err
		}
		s.PointMap, s.PointData = filepath.Base(file), pd
		return point.Parse(file, pd)
	})
	if err != nil {
		return nil, err
	}
	s.Scenario = sc
	h := sha256.Sum256(data)
	s.SHA256 = hex.EncodeToString(h[:])
	return s, nil
}

// Load compiles the scenario file at path with the point map it names (found as
// scenario.ResolvePoints says), or the point map file pointsOverride when not empty.
func Load(path, pointsOverride string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data, func(name string) (string, []byte, error) {
		p := pointsOverride
		if p == "" {
			if name == "" {
				return "", nil, errors.New("the scenario names no point map (points:) and no --points was given")
			}
			p = scenario.ResolvePoints(path, name)
		}
		pd, err := os.ReadFile(p)
		if err != nil {
			return "", nil, fmt.Errorf("point map: %w", err)
		}
		return p, pd, nil
	})
}

// Side is one side of a validation: a target to run now, or stored runs.
type Side struct {
	Target string  // target URL, run Repeat times
	Runs   []int64 // or runs stored in the register (their ids), used instead of running
	// Armed allows the scenario's writes to a target that is not simulated (recorded in the
	// run). A face arms after a deliberate step: --arm, the arming dialog.
	Armed bool
}

// Patch is the patch validated.
type Patch struct {
	// ID is the patch in the register the validation is recorded against; empty: not
	// recorded. The register's from/to versions then apply.
	ID string
	// FromVersion and ToVersion are the firmware before and after the patch. With an ID
	// they are checked against the register's (a difference is ErrBadInput) and fill in what
	// the register leaves empty.
	FromVersion, ToVersion string
}

// Input is one validation to run.
type Input struct {
	Scenario      *Scenario
	Before, After Side
	Repeat        int  // runs per side made now; 0: the scenario's repeat
	SimulatedTime bool // sim:// targets run on simulated time; a target that is not simulated is bad input
	Patch         Patch
	// Ledger stores the runs made, holds the stored runs and the patch, and records the
	// validation. Nil: runs are kept in memory only and nothing is recorded (the study).
	Ledger *ledger.DB
	// Register, when set, is the register the patch is read from and the validation
	// recorded in (a shared one, e.g. on PostgreSQL); nil: the one in Ledger. Runs stay in
	// Ledger either way.
	Register register.Store
	// Progress, when set, is called on the goroutine that called Run.
	Progress func(Progress)
	// OperatorRestart is asked to restart a controller the harness cannot restart (a real
	// one) at a restart step: the CLI prompts or runs --restart-cmd, the desktop shows a
	// dialog. The runner then waits for the controller to come back and records who
	// confirmed (Actor when the face names no one). nil: such a step is inconclusive.
	OperatorRestart runner.OperatorRestart
	// GapLimit is how long a lost connection may stay lost, and a restarted controller take
	// to come back after the restart was confirmed, before a run faults (runner.Options;
	// 0: the runner's default).
	GapLimit time.Duration
	// Actor is who records the validation in the register; empty: Actor().
	Actor string
	// Bundle, when not empty, is the file the signed evidence bundle is written to, signed
	// with Key.
	Bundle string
	Key    ed25519.PrivateKey
	// JUnit, when not empty, is the file JUnit XML (a testcase per criterion) is written to.
	JUnit string
	// Differences between the test bench and production (NERC CIP-010-4 R1.5.2), recorded
	// with the validation; they need a Patch.ID.
	Differences []string
	// Workstation names the machine the validation runs on, for the change request;
	// empty: its host name.
	Workstation string
	// Now is the clock of the record's Decided and of the register entry; nil: time.Now.
	Now         func() time.Time
	ToolVersion string // written into the record and the bundle
}

// Stage says what a Progress reports.
type Stage int

const (
	RunStarting Stage = iota // a run is about to start
	Running                  // the runner reports (Progress.Runner)
	RunEnded                 // the run ended, completed or not
	Decided                  // all runs done, compared and decided
)

// Progress is one report while a validation goes on.
type Progress struct {
	Stage      Stage
	Side       string // "before" or "after"
	Run        int    // 1-based over the runs made now, both sides
	Runs       int    // runs made now, both sides (0 when both sides are stored runs)
	Repetition int
	// Runner is the runner's report (Stage Running). Its Latest map is the runner's own:
	// read it during the call, never keep it.
	Runner runner.Progress
}

// Result is a validation done.
type Result struct {
	Scenario   *Scenario
	Record     verdict.Record
	Before     []*trace.Trace
	After      []*trace.Trace
	Patch      ledger.Patch // from the register when Input.Patch.ID was given
	Validation string       // register id of the validation, when recorded
}

// side is one side of a checked input.
type side struct {
	name   string
	target driver.Target
	runNow bool
	armed  bool
	stored []*trace.Trace
}

// plan is a checked input.
type plan struct {
	in         Input
	n          int // runs per side made now
	sides      [2]side
	patch      ledger.Patch
	from, to   string
	actor      string
	now        func() time.Time
	runsToMake int
}

// Run validates: it checks in (nothing runs when it is wrong), runs both sides on their
// targets through the runner (or takes the stored runs), compares, decides, writes the
// bundle and JUnit, and records the validation in the register. After runs began, an error
// comes with the Result so far (the traces recorded, no verdict); a faulted run is evidence,
// not an error: the comparison makes it INCONCLUSIVE.
func Run(ctx context.Context, in Input) (*Result, error) {
	p, err := check(ctx, in)
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: in.Scenario, Patch: p.patch}
	outs := [2]*[]*trace.Trace{&res.Before, &res.After}
	run := 0
	for i, s := range p.sides {
		if !s.runNow {
			*outs[i] = s.stored
			continue
		}
		for rep := 1; rep <= p.n; rep++ {
			run++
			tr, err := p.runOnce(ctx, s, rep, run)
			if tr != nil {
				*outs[i] = append(*outs[i], tr)
			}
			if err != nil {
				return res, err
			}
		}
	}
	sc := in.Scenario
	crit := compare.Compare(sc.Scenario, res.Before, res.After, compare.Patch{FromVersion: p.from, ToVersion: p.to})
	outcome, reasons := verdict.Decide(crit, sc.MajorIsNoGo)
	res.Record = record(sc, res.Before, res.After, in.Patch.ID, outcome, reasons, crit, in.ToolVersion, p.now())
	if in.Patch.ID != "" {
		res.Record.ChangeRequest = ChangeRequestOf(p.patch, "", p.actor, workstation(in.Workstation), in.Differences)
	}
	p.report(Progress{Stage: Decided, Side: "after", Run: p.runsToMake, Runs: p.runsToMake})
	switch {
	case in.Patch.ID != "":
		v := ledger.Validation{
			PatchID: in.Patch.ID, Record: res.Record, Differences: in.Differences, Created: p.now(),
			ScenarioFile: text(filepath.Base(sc.File), sc.Data), PointMapFile: text(sc.PointMap, sc.PointData),
		}
		if in.Bundle != "" {
			// written once the register has given the validation its id, which the
			// bundle's change-request record names
			v.WriteBundle = func(rec verdict.Record) (verdict.Record, error) {
				bundled := *res
				bundled.Record = rec
				if err := writeBundleFile(&bundled, in.Bundle, in.Key); err != nil {
					return rec, err
				}
				return bundled.Record, nil
			}
		}
		v, err := in.register().RecordValidation(ctx, v, p.actor)
		if err != nil {
			if errors.Is(err, ledger.ErrInvalid) || errors.Is(err, ledger.ErrNotFound) {
				return res, inputError{err}
			}
			return res, err
		}
		res.Record, res.Validation = v.Record, v.ID
	case in.Bundle != "":
		if err := writeBundleFile(res, in.Bundle, in.Key); err != nil {
			return res, err
		}
	}
	if in.JUnit != "" {
		if err := writeJUnitFile(res.Record, in.JUnit); err != nil {
			return res, err
		}
	}
	return res, nil
}

// register is the register validations are recorded in: Register, else Ledger.
func (in Input) register() register.Store {
	if in.Register != nil {
		return in.Register
	}
	return in.Ledger
}

// ChangeRequestOf is the change-request part of a record (verdict.ChangeRequest): the patch
// as the register holds it, the validation id once recorded ("" before), who ran it on
// which workstation, and the bench's differences from production.
func ChangeRequestOf(p ledger.Patch, validationID, operator, workstation string, diffs []string) *verdict.ChangeRequest {
	return &verdict.ChangeRequest{
		Validation: validationID, Operator: operator, Workstation: workstation,
		Differences: append([]string{}, diffs...),
		Patch: verdict.PatchFacts{
			ID: p.ID, Supplier: p.Supplier, Product: p.Product, FromVersion: p.FromVersion, ToVersion: p.ToVersion,
			Type: string(p.Type), CVEs: append([]string{}, p.CVEs...), Advisory: p.Advisory, FileSHA256: p.FileSHA256,
			SignatureChecked: p.SignatureChecked, SignatureNote: p.SignatureNote, Qualification: string(p.Qualification),
		},
	}
}

// workstation is name, or this machine's host name.
func workstation(name string) string {
	if name != "" {
		return name
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "unknown"
}

// text is a file the validation ran, as the register keeps it: none when the caller
// compiled the scenario without its text (Parse always keeps both).
func text(name string, data []byte) ledger.File {
	if data == nil {
		return ledger.File{}
	}
	return ledger.File{Name: name, Data: data}
}

// record builds the verdict record: everything a reader needs to see what was compared.
func record(sc *Scenario, before, after []*trace.Trace, patchID string, outcome verdict.Outcome, reasons []string,
	crit []verdict.Criterion, tool string, decided time.Time) verdict.Record {
	rec := verdict.Record{
		Verdict: outcome, Reasons: reasons, Scenario: sc.Name, ScenarioSHA256: sc.SHA256, PointMap: sc.Points.Name,
		Patch: patchID, Criteria: crit, Calibration: compare.Calibrate(append(append([]*trace.Trace{}, before...), after...)),
		ToolVersion: tool, Decided: decided.UTC().Format(time.RFC3339),
	}
	if len(before) > 0 {
		b := before[0].Run
		rec.BeforeTarget, rec.IdentityBefore, rec.TimeMode = b.Target, b.IdentityPre, b.TimeMode
	}
	if len(after) > 0 {
		rec.AfterTarget, rec.IdentityAfter = after[0].Run.Target, after[0].Run.IdentityPre
	}
	for _, t := range before {
		rec.BeforeRuns = append(rec.BeforeRuns, t.Run.ID)
	}
	for _, t := range after {
		rec.AfterRuns = append(rec.AfterRuns, t.Run.ID)
	}
	return rec
}

func (p *plan) report(pr Progress) {
	if p.in.Progress != nil {
		p.in.Progress(pr)
	}
}

// runOnce makes repetition rep of side s, run number run of the validation.
func (p *plan) runOnce(ctx context.Context, s side, rep, run int) (*trace.Trace, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s run %d: %w", s.name, rep, ErrAborted)
	}
	base := Progress{Side: s.name, Run: run, Runs: p.runsToMake, Repetition: rep}
	opt := runner.Options{Target: s.target, Armed: s.armed, Repetition: rep, GapLimit: p.in.GapLimit}
	if ask := p.in.OperatorRestart; ask != nil {
		opt.OperatorRestart = func(ctx context.Context, req runner.RestartRequest) (runner.RestartConfirmation, error) {
			req.Side = s.name
			c, err := ask(ctx, req)
			if c.By == "" {
				c.By = p.actor
			}
			return c, err
		}
	}
	if p.in.Ledger != nil {
		opt.Recorder = recorder{ledger.Recorder{DB: p.in.Ledger}, p.in.Scenario.SHA256}
	}
	if p.in.Progress != nil {
		opt.Progress = func(r runner.Progress) {
			pr := base
			pr.Stage, pr.Runner = Running, r
			p.in.Progress(pr)
		}
		pr := base
		pr.Stage = RunStarting
		p.in.Progress(pr)
	}
	r, err := runner.Run(ctx, p.in.Scenario.Scenario, opt)
	if p.in.Progress != nil {
		pr := base
		pr.Stage = RunEnded
		p.in.Progress(pr)
	}
	if r == nil { // could not start: the target and the cause are in err
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s run %d: %w", s.name, rep, ErrAborted)
		}
		err = fmt.Errorf("%s run %d: %w", s.name, rep, err) // the driver's error names the target
		if errors.Is(err, driver.ErrBadTarget) {
			return nil, inputError{err} // a parameter only the driver knows
		}
		return nil, err
	}
	r.Trace.Run.ScenarioHash = p.in.Scenario.SHA256 // in memory too, as the recorder stores it
	if ctx.Err() != nil {
		return r.Trace, fmt.Errorf("%s run %d: %w", s.name, rep, ErrAborted)
	}
	return r.Trace, nil
}

// recorder is the ledger as the runner's Recorder, stamping each run with the SHA-256 of
// the scenario text it runs, so a stored run can be matched to its scenario later.
type recorder struct {
	ledger.Recorder
	sum string
}

func (r recorder) CreateRun(ctx context.Context, run *trace.Run) (int64, error) {
	run.ScenarioHash = r.sum
	return r.Recorder.CreateRun(ctx, run)
}

// Recorder is the ledger as the runner's Recorder for runs of sc: each run records the
// SHA-256 of the scenario text, which Run checks before it compares stored runs. A face
// that runs a scenario on its own (patchgate run) records through it.
func Recorder(db *ledger.DB, sc *Scenario) runner.Recorder {
	return recorder{ledger.Recorder{DB: db}, sc.SHA256}
}
