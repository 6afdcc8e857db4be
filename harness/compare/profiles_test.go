package compare_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
	"github.com/patchgate/patchgate/simulators/firmware"
	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

// The firmware profiles are the ground truth: every benign patch must be judged GO on every
// shipped scenario of its model, every regression NO-GO naming the criterion its profile
// says it breaks. Runs use simulated time; repetition i of both sides has seed i, so a
// before run and an after run see the same process (the same parts on the conveyor).

func loadShipped(t testing.TB, name string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(filepath.Join("../../scenarios", name), "")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func simRun(t testing.TB, sc *scenario.Scenario, model, fw string, seed int) *trace.Trace {
	t.Helper()
	tr, err := simTrace(sc, model, fw, seed)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// simTrace runs sc on a simulated controller on simulated time (safe from any goroutine).
func simTrace(sc *scenario.Scenario, model, fw string, seed int) (*trace.Trace, error) {
	u := fmt.Sprintf("sim://%s?time=simulated&firmware=%s&seed=%d", model, fw, seed)
	tg, err := driver.ParseTarget(u)
	if err != nil {
		return nil, err
	}
	res, err := runner.Run(context.Background(), sc, runner.Options{Target: tg})
	if res == nil {
		return nil, fmt.Errorf("%s: %v", u, err)
	}
	return res.Trace, nil
}

// repetitions: a response probe compares one value per run, so scenarios with one run as
// many repetitions as a distribution needs.
func repetitions(sc *scenario.Scenario) int {
	for _, p := range sc.Probes {
		if p.Kind == scenario.ProbeResponse {
			return 5
		}
	}
	return 1
}

// breaksCriterion: does a criterion id name what the profile breaks?
func breaksCriterion(breaks, id string) bool {
	switch breaks {
	case "scan_period":
		return id == "timing:scan_period"
	case "alarm":
		return strings.HasPrefix(id, "check:") && strings.Contains(id, "alarm")
	case "loop_response":
		return id == "check:overshoot_limit" || id == "signal:Temperature"
	case "event_order":
		return id == "sequence"
	case "identity":
		return id == "identity:points"
	case "retained":
		return strings.HasPrefix(id, "check:retained_")
	case "load":
		return id == "timing:polling_load"
	case "posture":
		return id == "posture"
	}
	return false
}

// scenariosFor lists the shipped scenarios a profile is judged on.
func scenariosFor(t testing.TB, p firmware.Profile) []string {
	steady := p.Model + "-steady-state.yaml"
	switch p.Breaks {
	case "scan_period":
		if p.ScanGrowth > 0 {
			return []string{p.Model + "-soak.yaml"} // a leak shows only over minutes
		}
		return []string{steady}
	case "alarm":
		if p.Model == "heater" {
			return []string{"heater-overtemp-alarm.yaml"}
		}
		return []string{p.Model + "-alarm-trip.yaml"}
	case "loop_response":
		return []string{"heater-step-response.yaml"}
	case "event_order":
		return []string{"conveyor-sequence.yaml"}
	case "identity":
		return []string{steady}
	case "retained":
		return []string{p.Model + "-restart-retain.yaml"}
	case "load":
		return []string{p.Model + "-load.yaml"}
	case "posture":
		return []string{p.Model + "-posture.yaml"}
	}
	// benign: every shipped scenario of the model
	files, err := filepath.Glob("../../scenarios/" + p.Model + "-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scenarios for %s", p.Model)
	}
	var out []string
	for _, f := range files {
		out = append(out, filepath.Base(f))
	}
	return out
}

func TestFirmwareProfilesAreJudgedAsTheySay(t *testing.T) {
	for _, p := range firmware.All() {
		if p.Kind == firmware.Baseline {
			continue
		}
		base, err := firmware.Lookup(p.Model, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range scenariosFor(t, p) {
			t.Run(p.Model+"/"+p.Name+"/"+strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
				t.Parallel()
				sc := loadShipped(t, file)
				var before, after []*trace.Trace
				for seed := 1; seed <= repetitions(sc); seed++ {
					before = append(before, simRun(t, sc, p.Model, base.Name, seed))
					after = append(after, simRun(t, sc, p.Model, p.Name, seed))
				}
				cs := compare.Compare(sc, before, after, compare.Patch{FromVersion: base.Version, ToVersion: p.Version})
				got, reasons := verdict.Decide(cs, sc.MajorIsNoGo)
				if fw := byID(t, cs, "identity:firmware"); fw.Status != verdict.Pass {
					t.Errorf("identity:firmware %s: %s", fw.Status, fw.Reason)
				}
				switch p.Kind {
				case firmware.Benign:
					if got != verdict.Go {
						t.Errorf("benign patch judged %s:\n%s", got, strings.Join(reasons, "\n"))
					}
				case firmware.Regression:
					named := false
					for _, c := range cs {
						if c.Status == verdict.Fail && breaksCriterion(p.Breaks, c.ID) {
							named = true
						}
					}
					if got != verdict.NoGo || !named {
						t.Errorf("regression (breaks %s) judged %s without a failed criterion for it:\n%s", p.Breaks, got, strings.Join(reasons, "\n"))
					}
				}
			})
		}
	}
}

// TestScanPeriodRule is the statistical study behind the scan-period rule: on the shipped
// 10 s steady-state scenario (10 ms scan, 1 % scan jitter, 2 % tolerance), with independent
// seeds before and after, a +5 % regression is detected and the benign patch (same period,
// other noise) passes in at least 99 % of seeds.
func TestScanPeriodRule(t *testing.T) {
	seeds := 100
	if raceEnabled || testing.Short() {
		seeds = 20
	}
	sc := loadShipped(t, "tank-steady-state.yaml")
	type tally struct {
		mu                   sync.Mutex
		pass, fail, undecide int
		last                 string
	}
	study := func(fw string) *tally {
		var tl tally
		var wg sync.WaitGroup
		sem := make(chan struct{}, 2)
		for s := 1; s <= seeds; s++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				b, err1 := simTrace(sc, "tank", "baseline", s)
				a, err2 := simTrace(sc, "tank", fw, 1000+s)
				var c verdict.Criterion
				if err1 == nil && err2 == nil {
					for _, x := range compare.Compare(sc, traces(b), traces(a), compare.Patch{}) {
						if x.ID == "timing:scan_period" {
							c = x
						}
					}
				} else {
					c.Reason = fmt.Sprint(err1, err2)
				}
				tl.mu.Lock()
				defer tl.mu.Unlock()
				switch c.Status {
				case verdict.Pass:
					tl.pass++
				case verdict.Fail:
					tl.fail++
				default:
					tl.undecide++
				}
				if c.Status != verdict.Pass {
					tl.last = fmt.Sprintf("seed %d: %s: %s", s, c.Status, c.Reason)
				}
			}()
		}
		wg.Wait()
		return &tl
	}
	need := (seeds*99 + 99) / 100 // at least 99 %
	if tl := study("benign"); tl.pass < need {
		t.Errorf("benign: %d of %d seeds pass, want at least %d; e.g. %s", tl.pass, seeds, need, tl.last)
	} else {
		t.Logf("benign: %d of %d seeds pass", tl.pass, seeds)
	}
	if tl := study("scan-slow-5"); tl.fail < need {
		t.Errorf("scan-slow-5: detected in %d of %d seeds, want at least %d", tl.fail, seeds, need)
	} else {
		t.Logf("scan-slow-5: detected in %d of %d seeds", tl.fail, seeds)
	}
}
