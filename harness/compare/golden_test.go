package compare_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Golden cases: testdata/<case>/ holds scenario.yaml, before.json and after.json (the
// traces) and want.json (the criteria and the verdict). The test compares what Compare and
// Decide make of the stored traces with want.json; on a mismatch it writes got.json beside
// it for review. `go test -run TestGolden -update` records the traces again (from the
// simulators, on simulated time, or from the synthetic builders) and rewrites want.json.

var update = flag.Bool("update", false, "record the golden traces again and rewrite want.json")

type goldenCase struct {
	name     string
	scenario string
	patch    compare.Patch
	record   func(t *testing.T, dir string) (before, after []*trace.Trace)
}

// tankSteady is a reduced steady-state scenario: few tags, so the stored traces stay small.
const tankSteady = `version: 1
name: tank-steady-golden
description: the tank at rest for 10 s; scan period and level noise
points: pointmaps/tank.yaml
sample:
  period: 20ms
  tags: [Level, ScanCount]
steps:
  - mark: steady
  - wait: 10s
probes:
  - name: scan_period
    kind: scan_period
    counter: ScanCount
    tolerance: {relative: 2%}
    severity: critical
tolerances:
  Level: {absolute: 0.3}
`

// conveyorShort is a short sequence run: one bad part or more within 4 s.
const conveyorShort = `version: 1
name: conveyor-sequence-golden
description: start the belt, let parts pass for 4 s, stop; compare the event sequence
points: pointmaps/conveyor.yaml
sample:
  period: 10ms
  tags: [PartSensor, RejectGate, RejectCount]
allow:
  - tag: Start
  - tag: Stop
steps:
  - pulse: {tag: Start, value: true, for: 100ms}
  - wait: 4s
  - pulse: {tag: Stop, value: true, for: 100ms}
tolerances:
  RejectGate: {absolute: 0, shift: 50ms}
`

func simCase(model, fw string, seed int) func(t *testing.T, dir string) ([]*trace.Trace, []*trace.Trace) {
	return func(t *testing.T, dir string) ([]*trace.Trace, []*trace.Trace) {
		sc := loadGoldenScenario(t, dir)
		return traces(simRun(t, sc, model, "baseline", seed)), traces(simRun(t, sc, model, fw, seed))
	}
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"tank-scan-slow-5", tankSteady, compare.Patch{FromVersion: "3.2.0", ToVersion: "3.3.0"}, simCase("tank", "scan-slow-5", 3)},
		{"tank-benign", tankSteady, compare.Patch{FromVersion: "3.2.0", ToVersion: "3.2.1"}, simCase("tank", "benign", 3)},
		{"tank-register-moved", tankSteady, compare.Patch{ToVersion: "3.4.0"}, simCase("tank", "register-moved", 3)},
		{"tank-patch-not-applied", tankSteady, compare.Patch{ToVersion: "3.2.1"}, simCase("tank", "baseline", 4)},
		{"conveyor-event-order", conveyorShort, compare.Patch{}, func(t *testing.T, dir string) ([]*trace.Trace, []*trace.Trace) {
			sc := loadGoldenScenario(t, dir)
			// the first seed whose baseline rejects a part within the window
			for seed := 1; seed < 100; seed++ {
				b := simRun(t, sc, "conveyor", "baseline", seed)
				if s, ok := tagMax(b, "RejectCount"); ok && s > 0 {
					return traces(b), traces(simRun(t, sc, "conveyor", "event-order", seed))
				}
			}
			t.Fatal("no seed rejects a part in 4 s")
			return nil, nil
		}},
		{"synthetic-gap", synthScenario, compare.Patch{}, func(*testing.T, string) ([]*trace.Trace, []*trace.Trace) {
			a := synth{id: 12, slots: 300, alarmAt: 150, fw: "1.1"}.build()
			a.ev(trace.Event{T: ms(2000), Kind: trace.EvGapStart, Msg: "i/o timeout"}, trace.Event{T: ms(2250), Kind: trace.EvGapEnd, Msg: "connection back after 250ms"})
			for k := 200; k < 225; k++ {
				for j := range 4 {
					a.tr.Samples[4*k+j].Quality, a.tr.Samples[4*k+j].Value = driver.Missing, math.NaN()
				}
			}
			return reps(1, 1, synth{slots: 300, alarmAt: 150}), traces(a.done())
		}},
		{"synthetic-check-fails-both", synthScenario, compare.Patch{}, func(*testing.T, string) ([]*trace.Trace, []*trace.Trace) {
			failing := func(s synth) *trace.Trace {
				tr := s.trace()
				for i, e := range tr.Events {
					if e.Kind == trace.EvCheck && e.Tag == "alarm_threshold" {
						tr.Events[i].Value, tr.Events[i].Msg = "fail", "not seen within 100ms"
					}
				}
				return tr
			}
			var b, a []*trace.Trace
			for i := range 2 {
				b = append(b, failing(synth{id: int64(1 + i), slots: 300, alarmAt: 150}))
				a = append(a, failing(synth{id: int64(11 + i), slots: 300, alarmAt: 150, fw: "1.1"}))
			}
			return b, a
		}},
		{"synthetic-one-run-each", synthScenario, compare.Patch{FromVersion: "1.0", ToVersion: "1.1"}, func(*testing.T, string) ([]*trace.Trace, []*trace.Trace) {
			return reps(1, 1, synth{slots: 300, alarmAt: 150}), reps(1, 11, synth{slots: 300, alarmAt: 150, fw: "1.1"})
		}},
		{"synthetic-faulted-after-run", synthScenario, compare.Patch{}, func(*testing.T, string) ([]*trace.Trace, []*trace.Trace) {
			a := synth{id: 11, slots: 100, alarmAt: 150, fw: "1.1"}.build().status(trace.Faulted, "step 2: write InletValve = true: connection reset by peer")
			a.tr.Events = a.tr.Events[:3]
			a.ev(trace.Event{T: ms(990), Kind: trace.EvFault, Msg: "step 2: write InletValve = true: connection reset by peer"})
			return reps(1, 1, synth{slots: 300, alarmAt: 150}), traces(a.done())
		}},
	}
}

func tagMax(tr *trace.Trace, tag string) (float64, bool) {
	for i, t := range tr.Run.Tags {
		if t != tag {
			continue
		}
		m, ok := math.Inf(-1), false
		for _, s := range tr.Samples {
			if int(s.Tag) == i && s.Quality == driver.Good {
				m, ok = math.Max(m, s.Value), true
			}
		}
		return m, ok
	}
	return 0, false
}

func loadGoldenScenario(t *testing.T, dir string) *scenario.Scenario {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return parseScenario(t, string(data))
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", gc.name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "scenario.yaml"), []byte(gc.scenario), 0o644); err != nil {
					t.Fatal(err)
				}
				b, a := gc.record(t, dir)
				writeTraces(t, filepath.Join(dir, "before.json"), b)
				writeTraces(t, filepath.Join(dir, "after.json"), a)
			}
			sc := loadGoldenScenario(t, dir)
			before := readTraces(t, filepath.Join(dir, "before.json"))
			after := readTraces(t, filepath.Join(dir, "after.json"))
			cs := compare.Compare(sc, before, after, gc.patch)
			outcome, reasons := verdict.Decide(cs, sc.MajorIsNoGo)
			got := goldenJSON(t, gc.patch, outcome, reasons, cs)
			wantFile, gotFile := filepath.Join(dir, "want.json"), filepath.Join(dir, "got.json")
			if *update {
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				os.Remove(gotFile)
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (record it with go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				if err := os.WriteFile(gotFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Errorf("criteria differ from %s; see %s (-update to accept)", wantFile, gotFile)
				return
			}
			os.Remove(gotFile)
		})
	}
}

// TestGoldenVerdicts pins what each golden case is about, beyond the recorded text: a
// wrong want.json accepted with -update must still fail here.
func TestGoldenVerdicts(t *testing.T) {
	want := map[string]struct {
		outcome verdict.Outcome
		id      string
		status  verdict.Status
	}{
		"tank-scan-slow-5":            {verdict.NoGo, "timing:scan_period", verdict.Fail},
		"tank-benign":                 {verdict.Go, "timing:scan_period", verdict.Pass},
		"tank-register-moved":         {verdict.NoGo, "identity:points", verdict.Fail},
		"tank-patch-not-applied":      {verdict.NoGo, "identity:firmware", verdict.Fail},
		"conveyor-event-order":        {verdict.NoGo, "sequence", verdict.Fail},
		"synthetic-gap":               {verdict.Inconclusive, "signal:Level", verdict.StatusUndecided}, // a 250 ms gap, longer than the 20 ms shift
		"synthetic-check-fails-both":  {verdict.NoGo, "check:alarm_threshold", verdict.Fail},
		"synthetic-one-run-each":      {verdict.Inconclusive, "timing:alarm_response", verdict.StatusUndecided},
		"synthetic-faulted-after-run": {verdict.Inconclusive, "data", verdict.StatusUndecided},
	}
	for _, gc := range goldenCases() {
		w, ok := want[gc.name]
		if !ok {
			t.Errorf("golden case %s has no expectation here", gc.name)
			continue
		}
		var g struct {
			Verdict  verdict.Outcome     `json:"verdict"`
			Criteria []verdict.Criterion `json:"criteria"`
		}
		data, err := os.ReadFile(filepath.Join("testdata", gc.name, "want.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &g); err != nil {
			t.Fatal(err)
		}
		if c := byID(t, g.Criteria, w.id); g.Verdict != w.outcome || c.Status != w.status {
			t.Errorf("%s: verdict %s, %s %s; want %s, %s %s", gc.name, g.Verdict, w.id, c.Status, w.outcome, w.id, w.status)
		}
	}
}

func goldenJSON(t *testing.T, patch compare.Patch, outcome verdict.Outcome, reasons []string, cs []verdict.Criterion) []byte {
	t.Helper()
	for i := range cs {
		for k, v := range cs[i].Numbers {
			cs[i].Numbers[k] = roundSig(v, 9) // last bits differ between platforms (fused multiply-add)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(struct {
		Patch    compare.Patch       `json:"patch"`
		Verdict  verdict.Outcome     `json:"verdict"`
		Reasons  []string            `json:"reasons"`
		Criteria []verdict.Criterion `json:"criteria"`
	}{patch, outcome, reasons, cs})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func roundSig(v float64, digits int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', digits, 64), 64)
	return f
}

// Trace files: the run and its events as JSON, the samples one per line as
// [slot, tag, t_ns, late_ns, quality, value (null when NaN), text].

type traceFile struct {
	Run     trace.Run         `json:"run"`
	Events  []trace.Event     `json:"events"`
	Samples []json.RawMessage `json:"samples"`
}

func writeTraces(t *testing.T, path string, trs []*trace.Trace) {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, tr := range trs {
		head, err := json.MarshalIndent(struct {
			Run    trace.Run     `json:"run"`
			Events []trace.Event `json:"events"`
		}{tr.Run, tr.Events}, " ", " ")
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString(" ")
		buf.Write(bytes.TrimRight(bytes.TrimSuffix(head, []byte("}")), " \n")) // reopen the object for the samples
		buf.WriteString(",\n  \"samples\": [")
		for j, s := range tr.Samples {
			if j > 0 {
				buf.WriteString(",")
			}
			v := "null"
			if !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
				v = strconv.FormatFloat(s.Value, 'g', -1, 64)
			}
			fmt.Fprintf(&buf, "\n   [%d,%d,%d,%d,%d,%s", s.Slot, s.Tag, s.T, s.Late, s.Quality, v)
			if s.Text != "" {
				q, _ := json.Marshal(s.Text)
				buf.WriteString("," + string(q))
			}
			buf.WriteString("]")
		}
		buf.WriteString("\n  ]\n }")
		if i < len(trs)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("]\n")
	var check []traceFile
	if err := json.Unmarshal(buf.Bytes(), &check); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTraces(t *testing.T, path string) []*trace.Trace {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (record it with go test -run TestGolden -update)", err)
	}
	var files []traceFile
	if err := json.Unmarshal(data, &files); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []*trace.Trace
	for _, f := range files {
		tr := &trace.Trace{Run: f.Run, Events: f.Events}
		for i, raw := range f.Samples {
			var row []json.RawMessage
			if err := json.Unmarshal(raw, &row); err != nil || len(row) < 6 {
				t.Fatalf("%s: sample %d: %s", path, i, raw)
			}
			var s trace.Sample
			var q uint8
			var v *float64
			for k, dst := range []any{&s.Slot, &s.Tag, &s.T, &s.Late, &q, &v} {
				if err := json.Unmarshal(row[k], dst); err != nil {
					t.Fatalf("%s: sample %d field %d: %v", path, i, k, err)
				}
			}
			s.Quality, s.Value = driver.Quality(q), math.NaN()
			if v != nil {
				s.Value = *v
			}
			if len(row) > 6 {
				if err := json.Unmarshal(row[6], &s.Text); err != nil {
					t.Fatalf("%s: sample %d text: %v", path, i, err)
				}
			}
			tr.Samples = append(tr.Samples, s)
		}
		out = append(out, tr)
	}
	return out
}

// TestTraceFilesRoundTrip: what writeTraces writes, readTraces reads back unchanged.
func TestTraceFilesRoundTrip(t *testing.T) {
	tr := synth{id: 7, slots: 5}.build().ev(trace.Event{T: 3, Kind: trace.EvGapStart, Msg: `he said "no"`}).done()
	tr.Samples[0].Quality, tr.Samples[0].Value = driver.Missing, math.NaN()
	tr.Samples[1].Text, tr.Samples[1].Value = "3.2.0", math.NaN()
	tr.Samples[2].Late = 1234
	tr.Run.Started = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	path := filepath.Join(t.TempDir(), "t.json")
	writeTraces(t, path, traces(tr, tr))
	got := readTraces(t, path)
	if len(got) != 2 || len(got[1].Samples) != len(tr.Samples) || len(got[1].Events) != len(tr.Events) {
		t.Fatalf("read %d traces", len(got))
	}
	for i, s := range got[1].Samples {
		w := tr.Samples[i]
		if s.Slot != w.Slot || s.Tag != w.Tag || s.T != w.T || s.Late != w.Late || s.Quality != w.Quality || s.Text != w.Text ||
			!(s.Value == w.Value || math.IsNaN(s.Value) && math.IsNaN(w.Value)) {
			t.Errorf("sample %d: %+v, want %+v", i, s, w)
		}
	}
	if !got[0].Run.Started.Equal(tr.Run.Started) || got[0].Events[len(tr.Events)-1].Msg != `he said "no"` {
		t.Errorf("run %+v", got[0].Run)
	}
}
