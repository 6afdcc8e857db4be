package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/evidence"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// validation is everything one validate produced, for the record, the bundle and the register.
type validation struct {
	sc     *scenario.Scenario
	rec    verdict.Record
	before []*trace.Trace
	after  []*trace.Trace
}

func runValidate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "validate")
	scFile := fs.String("scenario", "", "scenario file (required)")
	points := fs.String("points", "", "point map file, instead of the one the scenario names")
	before := fs.String("before", "", "baseline target URL (the controller before the patch)")
	after := fs.String("after", "", "candidate target URL (the controller after the patch)")
	beforeRuns := fs.String("before-run", "", "compare stored runs instead of running: baseline run ids (comma-separated)")
	afterRuns := fs.String("after-run", "", "stored candidate run ids (comma-separated)")
	repeat := fs.Int("repeat", 0, "repetitions per side (default: the scenario's repeat)")
	patchID := fs.String("patch", "", "patch id in the register: records the validation against it")
	fromV := fs.String("from-version", "", "firmware version before the patch (checked against the device)")
	toV := fs.String("to-version", "", "firmware version the patch installs (checked against the device)")
	db := fs.String("db", "patchgate.db", "SQLite file for traces and the register")
	bundle := fs.String("bundle", "", "write the signed evidence bundle (zip) here")
	keyDir := fs.String("key-dir", "", "folder of the workstation signing key (default: user config dir/patchgate/keys)")
	junit := fs.String("junit", "", "write JUnit XML (a testcase per criterion) here")
	var diffs multiFlag
	fs.Var(&diffs, "difference", "a difference between the test bench and production (NERC CIP-010), repeatable; recorded with --patch")
	asJSON := fs.Bool("json", false, "print the verdict record as JSON on stdout")
	arm := fs.Bool("arm", false, "allow the scenario's writes to real (non-simulated) controllers; recorded")
	fast := fs.Bool("fast", false, "sim:// targets: run on simulated time (recorded)")
	if err := parseFlags(fs, args); err != nil {
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
	sc, err := scenario.Load(*scFile, *points)
	if err != nil {
		return usageError{err}
	}
	n := sc.Repeat
	if *repeat > 0 {
		n = *repeat
	}
	var bt, at driver.Target
	if !stored {
		if bt, err = parseTarget(*before, *fast); err != nil {
			return err
		}
		if at, err = parseTarget(*after, *fast); err != nil {
			return err
		}
		for _, t := range []driver.Target{bt, at} {
			if runner.NeedsArming(sc, t) && !*arm {
				return usageError{fmt.Errorf("%s: %w; --dry-run on patchgate run shows the writes", t, runner.ErrNotArmed)}
			}
		}
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()

	v := &validation{sc: sc}
	if stored {
		if v.before, err = loadRuns(ctx, st, *beforeRuns); err != nil {
			return err
		}
		if v.after, err = loadRuns(ctx, st, *afterRuns); err != nil {
			return err
		}
	} else {
		for _, side := range []struct {
			t   driver.Target
			out *[]*trace.Trace
		}{{bt, &v.before}, {at, &v.after}} {
			for rep := 1; rep <= n; rep++ {
				bar := newProgressBar(env)
				res, err := runner.Run(ctx, sc, runner.Options{Target: side.t, Armed: *arm, Repetition: rep, Recorder: st, Progress: bar.update})
				bar.done()
				if res == nil {
					return err // could not start: the target URL and the cause are in err
				}
				*side.out = append(*side.out, res.Trace)
				if ctx.Err() != nil {
					return codeError{ExitFault, fmt.Errorf("aborted: %w", ctx.Err())}
				}
				// a faulted run is evidence too: the comparison makes it INCONCLUSIVE
			}
		}
	}
	v.rec = decide(v, compare.Patch{FromVersion: *fromV, ToVersion: *toV}, *patchID, *scFile)
	if *bundle != "" {
		if err := writeBundle(v, *bundle, *keyDir, *scFile); err != nil {
			return err
		}
	}
	if *patchID != "" {
		if err := recordValidation(ctx, st, v, diffs); err != nil {
			return err
		}
	}
	if *junit != "" {
		if err := writeJUnit(v, *junit); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(v.rec)
	} else {
		printVerdict(env.Stdout, v.rec)
	}
	switch v.rec.Verdict {
	case verdict.Go:
		return nil
	case verdict.NoGo:
		return codeError{ExitNoGo, silent{}}
	}
	return codeError{ExitFault, silent{}}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, "; ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// silent is an error already reported on stdout: Main prints nothing more for it.
type silent struct{}

func (silent) Error() string { return "" }

func parseTarget(s string, fast bool) (driver.Target, error) {
	t, err := driver.ParseTarget(s)
	if err != nil {
		return t, usageError{err}
	}
	if fast {
		if !t.Simulated() {
			return t, badInput("--fast applies to sim:// targets only; %s runs in real time", t)
		}
		q := t.URL.Query()
		q.Set("time", "simulated")
		t.URL.RawQuery = q.Encode()
	}
	return t, nil
}

func loadRuns(ctx context.Context, st *store, ids string) ([]*trace.Trace, error) {
	var out []*trace.Trace
	for _, f := range strings.Split(ids, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || id <= 0 {
			return nil, badInput("run id %q: expected a positive number (patchgate runs lists them)", f)
		}
		tr, err := st.db.LoadTrace(ctx, id)
		if err != nil {
			return nil, usageError{fmt.Errorf("run %d: %w", id, err)}
		}
		out = append(out, tr)
	}
	return out, nil
}

// decide compares and decides; the record carries everything a reader needs.
func decide(v *validation, patch compare.Patch, patchID, scFile string) verdict.Record {
	crit := compare.Compare(v.sc, v.before, v.after, patch)
	outcome, reasons := verdict.Decide(crit, v.sc.MajorIsNoGo)
	rec := verdict.Record{
		Verdict: outcome, Reasons: reasons, Scenario: v.sc.Name, PointMap: v.sc.Points.Name, Patch: patchID,
		Criteria: crit, Calibration: compare.Calibrate(append(append([]*trace.Trace{}, v.before...), v.after...)),
		ToolVersion: Version, Decided: time.Now().UTC().Format(time.RFC3339),
	}
	if data, err := os.ReadFile(scFile); err == nil {
		h := sha256.Sum256(data)
		rec.ScenarioSHA256 = hex.EncodeToString(h[:])
	}
	if len(v.before) > 0 {
		rec.BeforeTarget, rec.IdentityBefore, rec.TimeMode = v.before[0].Run.Target, v.before[0].Run.IdentityPre, v.before[0].Run.TimeMode
	}
	if len(v.after) > 0 {
		rec.AfterTarget, rec.IdentityAfter = v.after[0].Run.Target, v.after[0].Run.IdentityPre
	}
	for _, t := range v.before {
		rec.BeforeRuns = append(rec.BeforeRuns, t.Run.ID)
	}
	for _, t := range v.after {
		rec.AfterRuns = append(rec.AfterRuns, t.Run.ID)
	}
	return rec
}

func printVerdict(w io.Writer, rec verdict.Record) {
	fmt.Fprintf(w, "%s  %s  (%s -> %s)\n", rec.Verdict, rec.Scenario, rec.IdentityBefore.Firmware, rec.IdentityAfter.Firmware)
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

// writeBundle signs and writes the evidence bundle with the workstation key.
func writeBundle(v *validation, path, keyDir, scFile string) error {
	if keyDir == "" {
		d, err := evidence.DefaultKeyDir()
		if err != nil {
			return err
		}
		keyDir = d
	}
	key, _, err := evidence.LoadOrCreateKey(keyDir)
	if err != nil {
		return fmt.Errorf("signing key in %s: %w", keyDir, err)
	}
	scData, err := os.ReadFile(scFile)
	if err != nil {
		return err
	}
	pmName := v.sc.PointsFile
	if pmName != "" && !filepath.IsAbs(pmName) {
		pmName = filepath.Join(filepath.Dir(scFile), pmName)
	}
	pmData, _ := os.ReadFile(pmName) // a --points override or an embedded map: recorded by name
	v.rec.Bundle = path
	v.rec.SignerPublicKey = hex.EncodeToString(key.Public().(ed25519.PublicKey))
	f, err := os.Create(path)
	if err != nil {
		return badInput("--bundle %s: %v", path, err)
	}
	sum, err := evidence.Write(f, evidence.Bundle{
		Record: v.rec, Before: v.before, After: v.after,
		Scenario:    evidence.File{Name: filepath.Base(scFile), Data: scData},
		PointMap:    evidence.File{Name: filepath.Base(pmName), Data: pmData},
		ToolVersion: Version,
	}, key)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("evidence bundle %s: %w", path, err)
	}
	// the record inside the bundle cannot hold the bundle's own hash; the register's does
	v.rec.BundleSHA256 = sum
	return nil
}

// recordValidation stores the validation against its patch in the register.
func recordValidation(ctx context.Context, st *store, v *validation, diffs []string) error {
	_, err := st.db.RecordValidation(ctx, ledger.Validation{
		PatchID: v.rec.Patch, Record: v.rec, Verdict: v.rec.Verdict,
		Bundle: v.rec.Bundle, BundleSHA256: v.rec.BundleSHA256, Differences: diffs,
	}, actor())
	if err != nil {
		return usageError{err}
	}
	return nil
}

func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "patchgate"
}

func writeJUnit(v *validation, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return badInput("--junit %s: %v", path, err)
	}
	if err := evidence.JUnit(f, v.rec); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
