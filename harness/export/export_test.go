package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name; on a mismatch it writes got beside the golden as
// name.got for review. With -update it rewrites the golden instead.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		os.WriteFile(path+".got", got, 0o644)
		t.Errorf("%s differs from the golden; see %s.got (run with -update to accept)", path, path)
	}
}

func fixture() *trace.Trace {
	t0 := time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)
	return &trace.Trace{
		Run: trace.Run{
			ID: 7, Scenario: "tank-alarms", ScenarioFile: "scenarios/tank-alarms.yaml",
			PointMap: "tank.yaml", Target: "sim://tank?firmware=1.0.0&seed=3", Repetition: 1,
			Status: trace.Completed, Started: t0, Ended: t0.Add(2 * time.Second), TimeMode: "simulated",
			Period: 100 * time.Millisecond, Tags: []string{"level", "pump", "mode, text"},
			IdentityPre:  driver.Identity{Vendor: "Acme <sim>", Firmware: "1.0.0"},
			IdentityPost: driver.Identity{Vendor: "Acme <sim>", Firmware: "1.0.0"},
			Stats:        driver.Stats{Requests: 12, RoundTrip: 250 * time.Microsecond},
			Meta:         map[string]string{"operator": "jd"},
		},
		Samples: []trace.Sample{
			{Slot: 0, Tag: 0, T: 120_000, Late: 120_000, Quality: driver.Good, Value: 41.25},
			{Slot: 0, Tag: 1, T: 130_000, Late: 120_000, Quality: driver.Good, Value: 1},
			{Slot: 0, Tag: 2, T: 140_000, Late: 120_000, Quality: driver.Good, Value: math.NaN(), Text: "AUTO"},
			{Slot: 1, Tag: 0, T: 100_300_000, Late: 300_000, Quality: driver.Bad, Value: math.NaN()},
			{Slot: 1, Tag: 1, T: 100_310_000, Late: 300_000, Quality: driver.Good, Value: 0},
			{Slot: 1, Tag: 2, T: 100_320_000, Late: 300_000, Quality: driver.Good, Value: math.NaN(), Text: "MANUAL, \"local\"\n<2>"},
			{Slot: 3, Tag: 0, T: 300_000_000, Late: -5, Quality: driver.Missing, Value: math.NaN()},
			{Slot: 3, Tag: 1, T: 300_000_000, Late: 0, Quality: driver.Good, Value: math.Inf(1)},
			{Slot: 3, Tag: 2, T: 300_000_000, Late: 0, Quality: driver.Good, Value: math.Inf(-1)},
			{Slot: 40, Tag: 0, T: 4_000_000_001, Late: 1, Quality: driver.Good, Value: -1e-300},
			{Slot: 41, Tag: 0, T: 4_100_000_000, Late: 999_999, Quality: driver.Good, Value: 1e21},
		},
		Events: []trace.Event{
			{T: 0, Kind: trace.EvStepStart, Step: 1, Msg: "write pump = 1"},
			{T: 1_000, Kind: trace.EvWrite, Step: 1, Tag: "pump", Value: "1"},
			{T: 200_000_000, Kind: trace.EvMissed, Msg: "slot 2 not taken"},
			{T: 250_000_000, Kind: trace.EvGapStart, Msg: "read: disconnected, \"peer reset\""},
			{T: 290_000_000, Kind: trace.EvGapEnd},
			{T: 4_000_000_002, Kind: trace.EvCheck, Step: 2, Tag: "level", Value: "pass", Msg: "level < 80\nwithin 2s"},
		},
	}
}

func TestGolden(t *testing.T) {
	tr := fixture()
	for _, c := range []struct {
		file string
		fn   func(*bytes.Buffer, *trace.Trace) error
	}{
		{"trace.csv", func(b *bytes.Buffer, tr *trace.Trace) error { return CSV(b, tr) }},
		{"events.csv", func(b *bytes.Buffer, tr *trace.Trace) error { return EventsCSV(b, tr) }},
		{"trace.json", func(b *bytes.Buffer, tr *trace.Trace) error { return JSON(b, tr) }},
	} {
		t.Run(c.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.fn(&b, tr); err != nil {
				t.Fatal(err)
			}
			golden(t, c.file, b.Bytes())
		})
	}
}

// The files read back with standard readers into what the trace holds.
func TestReadBack(t *testing.T) {
	tr := fixture()
	var b bytes.Buffer
	if err := CSV(&b, tr); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(tr.Samples)+1 {
		t.Fatalf("%d CSV rows for %d samples", len(rows), len(tr.Samples))
	}
	if got := rows[6][3]; got != tr.Samples[5].Text {
		t.Errorf("string value read back as %q", got)
	}
	if got := rows[3][2]; got != "mode, text" {
		t.Errorf("tag read back as %q", got)
	}

	b.Reset()
	if err := JSON(&b, tr); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Format  string
		Version int
		Run     trace.Run
		Samples []struct {
			Slot    int64
			Tag     string
			TNs     int64 `json:"t_ns"`
			LateNs  int64 `json:"late_ns"`
			Quality string
			Value   any
			Text    string
		}
		Events []trace.Event
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if doc.Format != "patchgate.trace" || doc.Version != FormatVersion || doc.Run.ID != 7 || !doc.Run.Started.Equal(tr.Run.Started) {
		t.Errorf("header: %q %d, run %+v", doc.Format, doc.Version, doc.Run)
	}
	if len(doc.Samples) != len(tr.Samples) || len(doc.Events) != len(tr.Events) {
		t.Fatalf("%d samples and %d events read back", len(doc.Samples), len(doc.Events))
	}
	for i, s := range tr.Samples {
		d := doc.Samples[i]
		var want any = s.Value
		switch {
		case math.IsNaN(s.Value):
			want = nil
		case math.IsInf(s.Value, 1):
			want = "+Inf"
		case math.IsInf(s.Value, -1):
			want = "-Inf"
		}
		if d.Slot != s.Slot || d.Tag != tr.Run.Tags[s.Tag] || d.TNs != s.T || d.LateNs != s.Late ||
			d.Quality != s.Quality.String() || d.Value != want || d.Text != s.Text {
			t.Errorf("sample %d read back as %+v, want %+v", i, d, s)
		}
	}
	for i := range tr.Events {
		if doc.Events[i] != tr.Events[i] {
			t.Errorf("event %d read back as %+v, want %+v", i, doc.Events[i], tr.Events[i])
		}
	}
}

func TestEmptyTrace(t *testing.T) {
	tr := &trace.Trace{Run: trace.Run{Tags: []string{"a"}}}
	var b bytes.Buffer
	if err := CSV(&b, tr); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "t_s,slot,tag,value,quality,late_ms\n" {
		t.Errorf("empty CSV: %q", got)
	}
	b.Reset()
	if err := JSON(&b, tr); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b.Bytes()) || !strings.Contains(b.String(), `"samples": [],`) || !strings.HasSuffix(b.String(), "\"events\": []\n}\n") {
		t.Errorf("empty JSON:\n%s", b.String())
	}
}

func TestBadTag(t *testing.T) {
	tr := &trace.Trace{Run: trace.Run{Tags: []string{"a"}}, Samples: []trace.Sample{{Tag: 0}, {Tag: 1}}}
	var b bytes.Buffer
	if err := CSV(&b, tr); err == nil || !strings.Contains(err.Error(), "sample 1") {
		t.Errorf("CSV: %v, want an error about sample 1", err)
	}
	if err := JSON(&b, tr); err == nil || !strings.Contains(err.Error(), "sample 1") {
		t.Errorf("JSON: %v, want an error about sample 1", err)
	}
}

func TestFixed(t *testing.T) {
	for _, c := range []struct {
		v, unit int64
		digits  int
		want    string
	}{
		{0, 1e9, 9, "0.000000000"},
		{1, 1e9, 9, "0.000000001"},
		{1_500_000_000, 1e9, 9, "1.500000000"},
		{-5, 1e6, 6, "-0.000005"},
		{-1_234_567, 1e6, 6, "-1.234567"},
		{math.MaxInt64, 1e9, 9, "9223372036.854775807"},
		{math.MinInt64, 1e9, 9, "-9223372036.854775808"},
	} {
		if got := string(appendFixed(nil, c.v, c.unit, c.digits)); got != c.want {
			t.Errorf("appendFixed(%d, %d) = %s, want %s", c.v, c.unit, got, c.want)
		}
	}
}

// The ledger is the only package that speaks SQL (docs/architecture.md#dependency-rules):
// export must not pull in database/sql or the SQLite driver, so the evidence code can use it
// without cgo.
func TestNoSQL(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "database/sql" || strings.Contains(dep, "sqlite") {
			t.Errorf("export depends on %s", dep)
		}
	}
}
