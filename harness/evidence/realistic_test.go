package evidence

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"

	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

// TestRealisticBundle runs the shipped tank alarm scenario three times on the baseline
// firmware and three times on one that shifts the alarm (simulated controller, simulated
// time), builds a bundle from the real traces and checks it: the size and build time are
// logged as the figures for a realistic run.
func TestRealisticBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	const path = "../../scenarios/tank-alarm-trip.yaml"
	sc, err := scenario.Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	run := func(firmware string, rep int, id int64) *runner.Result {
		tg, err := driver.ParseTarget("sim://tank?time=simulated&firmware=" + firmware)
		if err != nil {
			t.Fatal(err)
		}
		res, err := runner.Run(context.Background(), sc, runner.Options{Target: tg, Repetition: rep})
		if err != nil {
			t.Fatal(err)
		}
		res.Trace.Run.ID = id
		return res
	}
	b := Bundle{Timing: map[string]Timing{}}
	checks := map[string][2]string{} // id -> before, after status of the last repetition
	for rep := 1; rep <= 3; rep++ {
		for side, fw := range []string{"baseline", "alarm-shift"} {
			res := run(fw, rep, int64(side*10+rep))
			if side == 0 {
				b.Before = append(b.Before, res.Trace)
			} else {
				b.After = append(b.After, res.Trace)
			}
			for _, p := range res.Probes {
				tm := b.Timing[p.Probe]
				if side == 0 {
					tm.Before = append(tm.Before, p.Seconds)
				} else {
					tm.After = append(tm.After, p.Seconds)
				}
				b.Timing[p.Probe] = tm
			}
			for _, c := range res.Checks {
				st := checks[c.ID]
				st[side] = c.Status
				checks[c.ID] = st
			}
		}
	}
	scData, _ := os.ReadFile(path)
	pmData, _ := os.ReadFile("../../scenarios/pointmaps/tank.yaml")
	b.Scenario, b.PointMap = File{Name: path, Data: scData}, File{Name: "tank.yaml", Data: pmData}
	b.ToolVersion = "0.1.0-test"

	rec := verdict.Record{Verdict: verdict.Go, Scenario: sc.Name, PointMap: "tank", TimeMode: "simulated", ToolVersion: "0.1.0-test",
		BeforeTarget: "sim://tank?firmware=baseline", AfterTarget: "sim://tank?firmware=alarm-shift",
		IdentityBefore: b.Before[0].Run.IdentityPre, IdentityAfter: b.After[0].Run.IdentityPre}
	for _, tr := range b.Before {
		rec.BeforeRuns = append(rec.BeforeRuns, tr.Run.ID)
	}
	for _, tr := range b.After {
		rec.AfterRuns = append(rec.AfterRuns, tr.Run.ID)
	}
	for _, st := range sc.Steps {
		if st.ID == "" || checks[st.ID] == [2]string{} {
			continue
		}
		s := checks[st.ID]
		c := verdict.Criterion{ID: st.ID, Kind: verdict.KindCheck, Severity: string(st.Severity), Status: verdict.Status(s[1]),
			Before: s[0], After: s[1], Expected: "pass", Tolerance: "as written",
			Where: &verdict.Where{Side: "after", RunID: b.After[0].Run.ID, Step: st.Index}}
		if c.Status == verdict.Fail {
			c.Reason = "fails after the patch"
			rec.Reasons = append(rec.Reasons, st.ID+" failed")
			rec.Verdict = verdict.NoGo
		}
		rec.Criteria = append(rec.Criteria, c)
	}
	rec.Criteria = append(rec.Criteria, verdict.Criterion{ID: "Level", Kind: verdict.KindSignal, Severity: "major", Status: verdict.Pass,
		Tolerance: "±0.5, shift 200ms", Where: &verdict.Where{Side: "after", RunID: b.After[0].Run.ID, Tag: "Level"}})
	for _, p := range sc.Probes {
		wh := &verdict.Where{Side: "after"}
		if p.Counter != "" {
			wh.Tag = p.Counter
		}
		rec.Criteria = append(rec.Criteria, verdict.Criterion{ID: p.Name, Kind: verdict.KindTiming, Severity: string(p.Severity), Status: verdict.Pass, Where: wh})
	}
	b.Record = rec

	start := time.Now()
	var buf bytes.Buffer
	if _, err := Write(&buf, b, testKey(1)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	samples := 0
	for _, tr := range append(append([]*trace.Trace(nil), b.Before...), b.After...) {
		samples += len(tr.Samples)
	}
	files := unzip(t, buf.Bytes())
	sizes := ""
	for _, f := range files {
		if f.name == HTMLFile || f.name == PDFFile || f.name == "traces/before-1.csv" {
			sizes += fmt.Sprintf(", %s %d kB", f.name, len(f.data)/1000)
		}
	}
	t.Logf("%d runs, %d samples: bundle %d kB (%d files) built in %v%s; verdict %s",
		len(b.Before)+len(b.After), samples, buf.Len()/1000, len(files), took.Round(time.Millisecond), sizes, rec.Verdict)
	start = time.Now()
	rep, err := verify(buf.Bytes(), pubOf(testKey(1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verified in %v", time.Since(start).Round(time.Millisecond))
	if rep.Verdict != verdict.NoGo {
		t.Errorf("the alarm-shift firmware should fail a check: verdict %s, checks %v", rep.Verdict, checks)
	}
	if len(b.Timing) == 0 {
		t.Error("the runs measured no probes")
	}
}
