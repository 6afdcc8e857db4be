package validation_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/validation"
	"github.com/patchgate/patchgate/harness/verdict"
)

// TestStarterRunsOnEveryShippedMap: the starter scenario of every shipped point map parses
// and validates its simulator's benign patch (baseline before, benign after, simulated time):
// every run completes, its checks pass and the verdict is GO.
func TestStarterRunsOnEveryShippedMap(t *testing.T) {
	maps, _ := filepath.Glob("../../scenarios/pointmaps/*.yaml")
	if len(maps) < 6 {
		t.Fatalf("found %d shipped point maps, want at least 6", len(maps))
	}
	for _, f := range maps {
		base := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(base, func(t *testing.T) {
			m, err := point.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			// the workspace's layout: scenarios/ beside pointmaps/, and points: pointmaps/NAME.yaml
			// as in the shipped scenarios (scenario.ResolvePoints)
			dir := t.TempDir()
			for _, d := range []string{"scenarios", "pointmaps"} {
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			data, _ := os.ReadFile(f)
			if err := os.WriteFile(filepath.Join(dir, "pointmaps", base+".yaml"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "scenarios", base+"-starter.yaml")
			if err := os.WriteFile(path, scenario.Starter(m, "", "pointmaps/"+base+".yaml"), 0o644); err != nil {
				t.Fatal(err)
			}
			sc, err := validation.Load(path, "")
			if err != nil {
				t.Fatalf("%v\n%s", err, scenario.Starter(m, "", "pointmaps/"+base+".yaml"))
			}
			if len(sc.Sample.Tags) != len(m.Points) {
				t.Errorf("samples %d tags, the map has %d", len(sc.Sample.Tags), len(m.Points))
			}
			model, variant, _ := strings.Cut(base, "-")
			url := "sim://" + model + "?seed=1&time=simulated"
			if variant != "" { // tank-scaled: the simulator serves that map
				url += "&map=" + variant
			}
			res, err := validation.Run(t.Context(), validation.Input{Scenario: sc, Now: now,
				Before: validation.Side{Target: url + "&firmware=baseline"}, After: validation.Side{Target: url + "&firmware=benign"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range append(res.Before, res.After...) {
				if tr.Run.Status != "completed" {
					t.Errorf("run %s: %s", tr.Run.Status, tr.Run.Fault)
				}
			}
			for _, c := range res.Record.Criteria {
				if c.Kind == verdict.KindCheck && c.Status != verdict.Pass {
					t.Errorf("%s: %s %s", c.ID, c.Status, c.Reason)
				}
			}
			if res.Record.Verdict != verdict.Go {
				t.Errorf("verdict %s: %v", res.Record.Verdict, res.Record.Reasons)
			}
			if scenario.StarterCounter(m) != "" && !hasCriterion(res.Record, "timing:scan_period") {
				t.Errorf("the map has counter %s but no scan_period criterion", scenario.StarterCounter(m))
			}
		})
	}
}

func hasCriterion(r verdict.Record, id string) bool {
	for _, c := range r.Criteria {
		if c.ID == id {
			return true
		}
	}
	return false
}
