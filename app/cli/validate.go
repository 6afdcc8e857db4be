package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/harness/verdict"
)

// runValidate is the CLI face of harness/validation: flags in, the verdict out, and the exit
// code (0 GO, 1 NO-GO, 2 bad input, 3 INCONCLUSIVE or interrupted, 4 a tool or target error).
func runValidate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "validate")
	scFile := fs.String("scenario", "", "scenario file (required)")
	points := fs.String("points", "", "point map file, instead of the one the scenario names")
	before := fs.String("before", "", "baseline target URL (the controller before the patch)")
	after := fs.String("after", "", "candidate target URL (the controller after the patch)")
	beforeRuns := fs.String("before-run", "", "compare stored runs instead of running: baseline run ids (comma-separated)")
	afterRuns := fs.String("after-run", "", "stored candidate run ids (comma-separated)")
	repeat := fs.Int("repeat", 0, "repetitions per side (default: the scenario's repeat)")
	patchID := fs.String("patch", "", "patch id in the register: records the validation against it, with its from/to firmware versions")
	fromV := fs.String("from-version", "", "firmware version before the patch (checked against the device; with --patch, must agree with the register)")
	toV := fs.String("to-version", "", "firmware version the patch installs (checked against the device; with --patch, must agree with the register)")
	db := fs.String("db", "patchgate.db", "SQLite file for traces and the register")
	reg := registerFlag(fs)
	bundle := fs.String("bundle", "", "write the signed evidence bundle (zip) here")
	keyDir := fs.String("key-dir", "", "folder of the workstation signing key (default: user config dir/patchgate/keys)")
	junit := fs.String("junit", "", "write JUnit XML (a testcase per criterion) here")
	actor := fs.String("actor", "", "who records the validation, for the audit trail (default: the user logged in)")
	workstation := fs.String("workstation", "", "the workstation the validation ran on, for the change request (default: this machine's host name)")
	var diffs multiFlag
	fs.Var(&diffs, "difference", "a difference between the test bench and production (NERC CIP-010), repeatable; recorded with --patch")
	asJSON := fs.Bool("json", false, "print the verdict record as JSON on stdout")
	arm := fs.Bool("arm", false, "allow the scenario's writes to real (non-simulated) controllers; recorded")
	fast := fs.Bool("fast", false, "sim:// targets: run on simulated time (recorded)")
	rf := addRestartFlags(fs)
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	stored := *beforeRuns != "" || *afterRuns != ""
	switch {
	case *scFile == "":
		return badInput("--scenario is required")
	case stored && (*before != "" || *after != ""):
		return badInput("give either --before/--after targets or --before-run/--after-run ids, not both")
	case stored && (*beforeRuns == "" || *afterRuns == ""):
		return badInput("--before-run and --after-run go together")
	case !stored && (*before == "" || *after == ""):
		return badInput("--before and --after targets are required (or --before-run and --after-run)")
	}
	in := validation.Input{
		Before: validation.Side{Target: *before, Armed: *arm}, After: validation.Side{Target: *after, Armed: *arm},
		Repeat: *repeat, SimulatedTime: *fast,
		Patch: validation.Patch{ID: *patchID, FromVersion: *fromV, ToVersion: *toV},
		Actor: *actor, Workstation: *workstation, Bundle: *bundle, JUnit: *junit, Differences: diffs, Now: env.Now, ToolVersion: Version,
	}
	var err error
	if in.Scenario, err = validation.Load(*scFile, *points); err != nil {
		return usageError{err}
	}
	if stored {
		if in.Before.Runs, err = runIDs(*beforeRuns); err != nil {
			return err
		}
		if in.After.Runs, err = runIDs(*afterRuns); err != nil {
			return err
		}
	}
	if err := in.Check(); err != nil { // before the register file is made
		return cliError(err)
	}
	if *bundle != "" {
		if in.Key, err = signingKey(*keyDir); err != nil {
			return err
		}
	}
	if in.Ledger, err = ledger.Open(ctx, *db); err != nil {
		return fmt.Errorf("open %s: %w", *db, err)
	}
	defer in.Ledger.Close()
	if u := sharedURL(*reg); u != "" {
		if in.Register, err = openShared(ctx, u); err != nil {
			return err
		}
		defer in.Register.Close()
	}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	op := rf.operator(env, *actor, abort)
	in.OperatorRestart, in.GapLimit = op.restart(), *rf.gap
	var bar *progressBar
	in.Progress = func(p validation.Progress) {
		switch p.Stage {
		case validation.RunStarting:
			bar = newProgressBar(env)
			bar.hold = op.busy
		case validation.Running:
			bar.update(p.Runner)
		case validation.RunEnded:
			bar.done()
		}
	}
	res, err := validation.Run(ctx, in)
	if err != nil {
		return cliError(err)
	}
	rec := res.Record
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(validateOutput{rec, res.Validation})
	} else {
		printVerdict(env.Stdout, rec, res.Validation)
	}
	switch rec.Verdict {
	case verdict.Go:
		return nil
	case verdict.NoGo:
		return codeError{ExitNoGo, silent{}}
	}
	return codeError{ExitInconclusive, silent{}}
}

// validateOutput is what validate --json prints: the verdict record and, when it was recorded
// against a patch, the validation's id in the register.
type validateOutput struct {
	verdict.Record
	Validation string `json:"validation,omitempty"`
}

// cliError adds a hint to a validation error; exitCode classes it (ErrBadInput 2,
// ErrAborted 3, anything else 4).
func cliError(err error) error {
	if errors.Is(err, runner.ErrNotArmed) {
		return usageError{fmt.Errorf("%w; --dry-run on patchgate run shows the writes", err)}
	}
	return err
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, "; ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// silent is an error already reported on stdout: Main prints nothing more for it.
type silent struct{}

func (silent) Error() string { return "" }

// runIDs parses comma-separated run ids.
func runIDs(ids string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(ids, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || id <= 0 {
			return nil, badInput("run id %q: expected a positive number (patchgate runs lists them)", f)
		}
		out = append(out, id)
	}
	return out, nil
}

// signingKey loads (creating on first use) the workstation key in keyDir, or the default
// folder.
func signingKey(keyDir string) ([]byte, error) {
	if keyDir == "" {
		d, err := bundle.DefaultKeyDir()
		if err != nil {
			return nil, err
		}
		keyDir = d
	}
	key, _, err := bundle.LoadOrCreateKey(keyDir)
	if err != nil {
		return nil, fmt.Errorf("signing key in %s: %w", keyDir, err)
	}
	return key, nil
}

func printVerdict(w io.Writer, rec verdict.Record, validationID string) {
	fmt.Fprintf(w, "%s  %s  (%s -> %s)\n", rec.Verdict, rec.Scenario, rec.IdentityBefore.Firmware, rec.IdentityAfter.Firmware)
	if validationID != "" {
		fmt.Fprintf(w, "  validation %s recorded against patch %s\n", validationID, rec.Patch)
	}
	for _, r := range rec.Reasons {
		fmt.Fprintln(w, "  "+r)
	}
	fmt.Fprintln(w)
	for _, c := range rec.Criteria {
		fmt.Fprintf(w, "  %-12s %-8s %-28s %s\n", strings.ToUpper(string(c.Status)), c.Severity, c.ID, c.Reason)
	}
	fmt.Fprintf(w, "\n  runs: before %v, after %v; harness jitter %.0f us p99 lateness %.0f us\n",
		rec.BeforeRuns, rec.AfterRuns, rec.Calibration.JitterUs, rec.Calibration.LatenessP99Us)
	if rec.Bundle != "" {
		fmt.Fprintf(w, "  evidence: %s (sha256 %s)\n", rec.Bundle, rec.BundleSHA256)
	}
}
