package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/harness/verdict"
	"github.com/patchgate/patchgate/simulators/firmware"
)

// studyScenarios maps what a regression breaks to the shipped scenario that exercises it.
func studyScenarios(p firmware.Profile) []string {
	m := p.Model
	switch p.Breaks {
	case "alarm":
		if m == "tank" {
			return []string{"tank-alarm-trip.yaml"}
		}
		return []string{"heater-overtemp-alarm.yaml"}
	case "loop_response":
		return []string{"heater-step-response.yaml"}
	case "event_order":
		return []string{"conveyor-sequence.yaml"}
	case "retained":
		return []string{m + "-restart-retain.yaml"}
	case "scan_period":
		if p.ScanGrowth > 0 {
			return []string{m + "-soak.yaml"}
		}
		return []string{m + "-steady-state.yaml"}
	case "identity":
		return []string{m + "-steady-state.yaml"}
	}
	// the benign patch is validated with every scenario the model's regressions use
	seen := map[string]bool{}
	var out []string
	for _, q := range firmware.ForModel(m) {
		if q.Kind != firmware.Regression {
			continue
		}
		for _, s := range studyScenarios(q) {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// rightCriterion reports whether a failed criterion is the one the profile breaks.
func rightCriterion(p firmware.Profile, c verdict.Criterion) bool {
	if c.Status != verdict.Fail {
		return false
	}
	switch p.Breaks {
	case "scan_period":
		return c.ID == "timing:scan_period"
	case "alarm":
		return strings.HasPrefix(c.ID, "check:") && strings.Contains(c.ID, "alarm")
	case "loop_response":
		return c.ID == "check:overshoot_limit" || c.ID == "signal:Temperature"
	case "event_order":
		return c.ID == "sequence"
	case "identity":
		return c.ID == "identity:points"
	case "retained":
		return strings.HasPrefix(c.ID, "check:retained_")
	}
	return false
}

type studyRow struct {
	Profile  firmware.Profile
	Scenario string
	Seeds    int
	Right    int // regression: NO-GO naming the right criterion; benign: GO
	NoGo     int
	Go       int
	Incon    int
	Example  string // one reason line, for the table
}

// studyOne validates one profile with one scenario for one seed, in simulated time: one run
// a side, the patch going from the model's baseline version to the profile's, nothing
// recorded.
func studyOne(ctx context.Context, dir string, p firmware.Profile, scFile string, seed int) (verdict.Outcome, []verdict.Criterion, []string, error) {
	sc, err := validation.Load(dir+"/"+scFile, "")
	if err != nil {
		return "", nil, nil, err
	}
	target := func(fw string) validation.Side {
		return validation.Side{Target: fmt.Sprintf("sim://%s?time=simulated&firmware=%s&seed=%d", p.Model, fw, seed)}
	}
	base, _ := firmware.Lookup(p.Model, "")
	res, err := validation.Run(ctx, validation.Input{
		Scenario: sc, Before: target("baseline"), After: target(p.Name), Repeat: 1,
		Patch: validation.Patch{FromVersion: base.Version, ToVersion: p.Version}, ToolVersion: Version,
	})
	if err != nil {
		return "", nil, nil, err
	}
	return res.Record.Verdict, res.Record.Criteria, res.Record.Reasons, nil
}

// Study validates every non-baseline firmware profile against its model's baseline over
// seeds, in simulated time, and tallies the verdicts.
func Study(ctx context.Context, dir string, seeds int, only string) ([]studyRow, error) {
	var rows []*studyRow
	for _, p := range firmware.All() {
		if p.Kind == firmware.Baseline || (only != "" && p.Model+"/"+p.Name != only && p.Model != only) {
			continue
		}
		for _, s := range studyScenarios(p) {
			rows = append(rows, &studyRow{Profile: p, Scenario: s})
		}
	}
	type job struct {
		row  *studyRow
		seed int
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				out, crit, reasons, err := studyOne(ctx, dir, j.row.Profile, j.row.Scenario, j.seed)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s/%s with %s, seed %d: %w", j.row.Profile.Model, j.row.Profile.Name, j.row.Scenario, j.seed, err)
				}
				r := j.row
				r.Seeds++
				switch out {
				case verdict.Go:
					r.Go++
				case verdict.NoGo:
					r.NoGo++
				default:
					r.Incon++
				}
				right := false
				if r.Profile.Kind == firmware.Benign {
					right = out == verdict.Go
				} else if out == verdict.NoGo {
					for _, c := range crit {
						right = right || rightCriterion(r.Profile, c)
					}
				}
				if right {
					r.Right++
				}
				if r.Example == "" && len(reasons) > 0 && (out != verdict.Go || r.Profile.Kind == firmware.Benign) {
					r.Example = reasons[0]
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range rows {
		for s := 1; s <= seeds; s++ {
			jobs <- job{r, s}
		}
	}
	close(jobs)
	wg.Wait()
	out := make([]studyRow, len(rows))
	for i, r := range rows {
		out[i] = *r
	}
	return out, firstErr
}

func writeStudy(w io.Writer, rows []studyRow, seeds int, took time.Duration) {
	fmt.Fprintf(w, "# Detection quality on the simulators\n\n")
	fmt.Fprintf(w, "Every firmware profile validated against its model's baseline with the shipped scenario that\n")
	fmt.Fprintf(w, "exercises what it breaks, over %d seeds per row (before and after on the same seed), in\n", seeds)
	fmt.Fprintf(w, "**simulated time** (`sim://...?time=simulated`: the controllers and the runner share a virtual\n")
	fmt.Fprintf(w, "clock, as fast as the CPU allows). The real-time spot check over Modbus TCP and OPC UA is\n")
	fmt.Fprintf(w, "`TestEveryProfileOverBothProtocols` (every profile, both protocols) and `TestStudyAgreesInRealTime`.\n\n")
	fmt.Fprintf(w, "Produced by `patchgate study --seeds %d --out docs/detection.md` in %s on 2 vCPU AMD EPYC.\n\n", seeds, took.Round(time.Second))
	fmt.Fprintf(w, "Right = NO-GO naming the criterion the profile breaks (regressions), GO (benign). Target: at least 99 %%.\n\n")
	fmt.Fprintf(w, "| model | profile | kind | breaks | scenario | seeds | right | NO-GO | GO | INCONCLUSIVE | example reason |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | **%.0f %%** | %d | %d | %d | %s |\n",
			r.Profile.Model, r.Profile.Name, r.Profile.Kind, r.Profile.Breaks, strings.TrimSuffix(r.Scenario, ".yaml"),
			r.Seeds, 100*float64(r.Right)/float64(max(r.Seeds, 1)), r.NoGo, r.Go, r.Incon, strings.ReplaceAll(r.Example, "|", "/"))
	}
}

func runStudy(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "study")
	seeds := fs.Int("seeds", 100, "seeds per profile and scenario")
	dir := fs.String("scenarios", "scenarios", "folder of the shipped scenarios")
	out := fs.String("out", "-", "write the Markdown table here (- for stdout)")
	only := fs.String("only", "", "one model, or model/profile")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *seeds < 1 {
		return badInput("--seeds %d: expected at least 1", *seeds)
	}
	t0 := time.Now()
	rows, err := Study(ctx, *dir, *seeds, *only)
	if err != nil {
		return err
	}
	w := env.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return badInput("--out %s: %v", *out, err)
		}
		defer f.Close()
		w = f
	}
	writeStudy(w, rows, *seeds, time.Since(t0))
	for _, r := range rows {
		if r.Right*100 < r.Seeds*99 {
			return codeError{ExitNoGo, fmt.Errorf("%s/%s with %s: right in %d of %d seeds, below 99 %%", r.Profile.Model, r.Profile.Name, r.Scenario, r.Right, r.Seeds)}
		}
	}
	return nil
}
