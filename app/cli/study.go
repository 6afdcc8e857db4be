package cli

import (
	"cmp"
	"context"
	"errors"
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
	case "load":
		return []string{m + "-load.yaml"}
	case "posture":
		return []string{m + "-posture.yaml"}
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
	case "load":
		return c.ID == "timing:polling_load"
	case "posture":
		return c.ID == "posture"
	}
	return false
}

// studyBench is how the simulated bench differs from our default simulators in a study row:
// a bench we did not build starts wherever it was left, scans at its own period and serves
// another integrator's register map (docs/architecture.md, "Simulators").
type studyBench struct {
	Name string // "" for the default bench; the table's bench column
	// Query returns extra target options for the before or after controller of a seed.
	Query func(seed int, after bool) string
	// Points overrides the scenario's point map (a file under the scenarios folder).
	Points string
	// Scenario, when set, replaces the scenario of every row (a scan period needs a run
	// long enough for its counter to bound it).
	Scenario string
}

// studyBenches are the benches of the study, by name.
func studyBenches() []studyBench {
	out := []studyBench{
		{Name: ""},
		// before and after start where the bench was left, never the same state twice
		{Name: "starts differ", Query: func(seed int, after bool) string {
			n := 2 * seed
			if after {
				n++
			}
			return fmt.Sprintf("&start=random:%d", n)
		}},
		// another integrator's map: holding registers, scaled integers, a status word of
		// bits, 1-based addresses, word-swapped counters
		{Name: "scaled map", Points: "pointmaps/{model}-scaled.yaml", Query: func(int, bool) string { return "&map=scaled" }},
	}
	for _, scan := range []string{"10ms", "50ms", "100ms", "250ms"} {
		out = append(out, studyBench{Name: "scan " + scan, Scenario: "{model}-scan-period.yaml",
			Query: func(int, bool) string { return "&scan=" + scan }})
	}
	return out
}

// benchRows says which profiles a bench is studied with: every profile on the default,
// start and map benches; the scan-period profiles and the benign patch on the scan benches.
func (b studyBench) covers(p firmware.Profile) bool {
	if b.Scenario == "" {
		return true
	}
	return p.Kind == firmware.Benign || (p.Breaks == "scan_period" && p.ScanGrowth == 0)
}

func (b studyBench) fill(s string, p firmware.Profile) string {
	return strings.ReplaceAll(s, "{model}", p.Model)
}

type studyRow struct {
	Profile  firmware.Profile
	Bench    studyBench
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
func studyOne(ctx context.Context, dir string, p firmware.Profile, b studyBench, scFile string, seed int) (verdict.Outcome, []verdict.Criterion, []string, error) {
	points := ""
	if b.Points != "" {
		points = dir + "/" + b.fill(b.Points, p)
	}
	sc, err := validation.Load(dir+"/"+scFile, points)
	if err != nil {
		return "", nil, nil, err
	}
	target := func(fw string) validation.Side {
		q := ""
		if b.Query != nil {
			q = b.Query(seed, fw != "baseline")
		}
		return validation.Side{Target: fmt.Sprintf("sim://%s?time=simulated&firmware=%s&seed=%d%s", p.Model, fw, seed, q)}
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
// seeds, in simulated time, on every bench (bench: one bench by name, "" all), and tallies
// the verdicts.
func Study(ctx context.Context, dir string, seeds int, only, bench string) ([]studyRow, error) {
	var rows []*studyRow
	found := bench == ""
	for _, b := range studyBenches() {
		if bench != "" && b.Name != bench && !(bench == "default" && b.Name == "") {
			continue
		}
		found = true
		for _, p := range firmware.All() {
			if p.Kind == firmware.Baseline || (only != "" && p.Model+"/"+p.Name != only && p.Model != only) || !b.covers(p) {
				continue
			}
			if b.Scenario != "" {
				if p.Model == "tank" { // the scan benches: the tank's one-minute scan-period check
					rows = append(rows, &studyRow{Profile: p, Bench: b, Scenario: b.fill(b.Scenario, p)})
				}
				continue
			}
			for _, s := range studyScenarios(p) {
				rows = append(rows, &studyRow{Profile: p, Bench: b, Scenario: s})
			}
		}
	}
	if !found {
		var names []string
		for _, b := range studyBenches() {
			names = append(names, cmp.Or(b.Name, "default"))
		}
		return nil, badInput("--bench %q: expected one of %s", bench, strings.Join(names, ", "))
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
				out, crit, reasons, err := studyOne(ctx, dir, j.row.Profile, j.row.Bench, j.row.Scenario, j.seed)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s/%s with %s (%s), seed %d: %w", j.row.Profile.Model, j.row.Profile.Name, j.row.Scenario, cmp.Or(j.row.Bench.Name, "default bench"), j.seed, err)
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
	fmt.Fprintf(w, "exercises what it breaks, over %d seeds per row, one run a side, in\n", seeds)
	fmt.Fprintf(w, "**simulated time** (`sim://...?time=simulated`: the controllers and the runner share a virtual\n")
	fmt.Fprintf(w, "clock, as fast as the CPU allows). The real-time spot checks over Modbus TCP and OPC UA are\n")
	fmt.Fprintf(w, "`TestEveryProfileOverBothProtocols` (every profile, both protocols), `TestStudyAgreesInRealTime`,\n")
	fmt.Fprintf(w, "`TestBenchesWeDidNotBuildInRealTime` (random starts on each side, a 50 ms scan, both protocols)\n")
	fmt.Fprintf(w, "and the rows on the third-party controller at the end of this page.\n\n")
	fmt.Fprintf(w, "Produced by `patchgate study --seeds %d --out docs/detection.md` in %s on 2 vCPU AMD EPYC.\n\n", seeds, took.Round(time.Second))
	fmt.Fprintf(w, "Benches (the bench column): the default simulators start in one state, scan at 10 ms and\n")
	fmt.Fprintf(w, "serve our own point maps. *starts differ*: before and after start in different random valid\n")
	fmt.Fprintf(w, "states (`start=random:N`), so every scenario's setup must bring the plant to its start state.\n")
	fmt.Fprintf(w, "*scaled map*: the controllers serve another integrator's map (`map=scaled`: holding registers,\n")
	fmt.Fprintf(w, "scaled integers, a status word of bits, 1-based addresses) and the scenarios read it with\n")
	fmt.Fprintf(w, "`--points pointmaps/MODEL-scaled.yaml`. *scan X*: the controllers scan at X (`scan=X`; a\n")
	fmt.Fprintf(w, "profile's factor on top), judged from one run a side of the one-minute `tank-scan-period`.\n\n")
	fmt.Fprintf(w, "Right = NO-GO naming the criterion the profile breaks (regressions), GO (benign). Targets: at\n")
	fmt.Fprintf(w, "least 99 %% right per row; a benign patch at most 1 %% NO-GO and at most 2 %% INCONCLUSIVE.\n\n")
	fmt.Fprintf(w, "| bench | model | profile | kind | breaks | scenario | seeds | right | NO-GO | GO | INCONCLUSIVE | example reason |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %d | **%.0f %%** | %d | %d | %d | %s |\n",
			cmp.Or(r.Bench.Name, "default"), r.Profile.Model, r.Profile.Name, r.Profile.Kind, r.Profile.Breaks, strings.TrimSuffix(r.Scenario, ".yaml"),
			r.Seeds, 100*float64(r.Right)/float64(max(r.Seeds, 1)), r.NoGo, r.Go, r.Incon, strings.ReplaceAll(r.Example, "|", "/"))
	}
}

// The real-time rows on the third-party controller are measured by a test (make
// thirdparty-study), not by the study: they need node and minutes of real time. The study
// keeps their section, between these markers, when it writes detection.md again.
const (
	realTimeBegin = "<!-- real-time rows: make thirdparty-study -->"
	realTimeEnd   = "<!-- end of real-time rows -->"
)

// realTimeSection returns the real-time section of a detection.md ("" when it has none).
func realTimeSection(doc string) string {
	i, j := strings.Index(doc, realTimeBegin), strings.Index(doc, realTimeEnd)
	if i < 0 || j < i {
		return ""
	}
	return doc[i : j+len(realTimeEnd)]
}

// replaceRealTime puts section in place of doc's real-time section, or at its end.
func replaceRealTime(doc, section string) (string, error) {
	old := realTimeSection(doc)
	if old == "" {
		return strings.TrimRight(doc, "\n") + "\n\n" + section + "\n", nil
	}
	return strings.Replace(doc, old, section, 1), nil
}

// studyShort says how a row falls short of its targets ("" when it meets them).
func studyShort(r studyRow) string {
	switch {
	case r.Right*100 < r.Seeds*99:
		return fmt.Sprintf("right in %d of %d seeds, below 99 %%", r.Right, r.Seeds)
	case r.Profile.Kind == firmware.Benign && r.NoGo*100 > r.Seeds:
		return fmt.Sprintf("a benign patch NO-GO in %d of %d seeds, above 1 %%", r.NoGo, r.Seeds)
	case r.Profile.Kind == firmware.Benign && r.Incon*100 > 2*r.Seeds:
		return fmt.Sprintf("a benign patch INCONCLUSIVE in %d of %d seeds, above 2 %%", r.Incon, r.Seeds)
	}
	return ""
}

func runStudy(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "study")
	seeds := fs.Int("seeds", 100, "seeds per profile and scenario")
	dir := fs.String("scenarios", "scenarios", "folder of the shipped scenarios")
	out := fs.String("out", "-", "write the Markdown table here (- for stdout)")
	only := fs.String("only", "", "one model, or model/profile")
	bench := fs.String("bench", "", "one bench: default, starts differ, scaled map, scan 10ms, scan 50ms, scan 100ms, scan 250ms (all when empty)")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if *seeds < 1 {
		return badInput("--seeds %d: expected at least 1", *seeds)
	}
	t0 := time.Now()
	rows, err := Study(ctx, *dir, *seeds, *only, *bench)
	if err != nil {
		return err
	}
	w := env.Stdout
	keep := ""
	if *out != "-" {
		if old, err := os.ReadFile(*out); err == nil {
			keep = realTimeSection(string(old))
		}
		f, err := os.Create(*out)
		if err != nil {
			return badInput("--out %s: %v", *out, err)
		}
		defer f.Close()
		w = f
	}
	writeStudy(w, rows, *seeds, time.Since(t0))
	if keep != "" {
		fmt.Fprintf(w, "\n%s\n", keep)
	}
	var short []string
	for _, r := range rows {
		if why := studyShort(r); why != "" {
			short = append(short, fmt.Sprintf("%s/%s with %s (%s): %s", r.Profile.Model, r.Profile.Name, r.Scenario, cmp.Or(r.Bench.Name, "default bench"), why))
		}
	}
	if len(short) > 0 {
		return codeError{ExitNoGo, errors.New(strings.Join(short, "\n"))}
	}
	return nil
}
