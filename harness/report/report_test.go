package report

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
)

func TestHTMLReport(t *testing.T) {
	b := fixture(t, 400)
	files := unzip(t, build(t, b, testKey(1)))
	page := string(find(files, HTMLFile))
	for _, bad := range []string{"http://", "https://", "<script", "src=", "<link", "@import", "url("} {
		if strings.Contains(page, bad) {
			i := strings.Index(page, bad)
			t.Errorf("report.html holds %q: …%s…", bad, page[max(i-60, 0):min(i+60, len(page))])
		}
	}
	for _, want := range []string{"<svg", `class="verdict nogo">NO-GO<`, "Content-Security-Policy",
		"tolerance: ±0.5, shift 200ms", // the band from the scenario as run
		"event timeline of run 1", "event timeline of run 11", `class="gap"`, `class="ev check-fail"`,
		"Level 90.8 at the alarm", "FW 2.4.1 hotfix", "security_policy", "16.7 µs",
		"the values the criterion judged", `class="setup"`, "time on the before run&#39;s clock (s)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, c := range b.Record.Criteria {
		if !strings.Contains(page, ">"+c.ID+"<") {
			t.Errorf("criterion %s not in the table", c.ID)
		}
	}
	// one overlay per signal criterion, one histogram per timing criterion, two timelines
	if n := strings.Count(page, "<svg"); n != 2+3+2 {
		t.Errorf("%d plots, want 7", n)
	}
	if strings.Contains(page, "NaN") {
		t.Error("a NaN reached the page")
	}

	// without a scenario to compute them from, the timing plots show the samples given
	b.Scenario.Data = []byte("version: [")
	page = string(find(unzip(t, build(t, b, testKey(1))), HTMLFile))
	for _, want := range []string{"samples as given to the bundle (timing.json)", "the runs are not aligned as the comparison aligns them"} {
		if !strings.Contains(page, want) {
			t.Errorf("with an unreadable scenario, report.html lacks %q", want)
		}
	}
}

func TestPDFReport(t *testing.T) {
	files := unzip(t, build(t, fixture(t, 400), testKey(1)))
	pdf := find(files, PDFFile)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf[len(pdf)-32:], []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…", pdf[:min(len(pdf), 16)])
	}
	if len(pdf) < 8000 {
		t.Errorf("PDF has %d bytes; a report with a plot has more", len(pdf))
	}
	if !bytes.Contains(pdf, []byte("/CreationDate (D:20250314100000")) {
		t.Error("PDF creation date is not the decision time")
	}
}

func TestDecimateKeepsExtremes(t *testing.T) {
	tr := synthTrace(1, "before", 100_000, time.Millisecond, 0, 0)
	// one spike among 100 000 readings must survive decimation
	tr.Samples[3*50_000].Value = 1e6
	s := decimate(tr, "Level", 0, lastT(tr, "Level"), 200, nil)
	top, n := 0.0, 0
	for _, c := range s.cols {
		top = max(top, c.Max)
		n += c.N
	}
	if top != 1e6 {
		t.Errorf("spike lost: max %v", top)
	}
	if want := 100_000 - 2_000; n != want { // the gap's readings are missing
		t.Errorf("%d readings in the columns, want %d", n, want)
	}
	if path := linePath(s, frame{w: 300, h: 100, x0: 0, x1: 1, y0: 0, y1: 1e6}).svg(); strings.Count(path, "M") != 2 {
		t.Errorf("the gap should break the line once: %d pieces", strings.Count(path, "M"))
	}
}

func TestTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 10, 5, []float64{0, 2, 4, 6, 8, 10}},
		{-0.3, 0.7, 5, []float64{-0.2, 0, 0.2, 0.4, 0.6}},
		{5, 5, 5, nil},
	}
	for _, tc := range cases {
		got := ticks(tc.lo, tc.hi, tc.n)
		if len(got) != len(tc.want) {
			t.Errorf("ticks(%v,%v) = %v, want %v", tc.lo, tc.hi, got, tc.want)
			continue
		}
		for i := range got {
			if fmt.Sprintf("%.6g", got[i]) != fmt.Sprintf("%.6g", tc.want[i]) {
				t.Errorf("ticks(%v,%v) = %v, want %v", tc.lo, tc.hi, got, tc.want)
				break
			}
		}
	}
}

// TestOverlayBand: the band is the envelope of every before run widened by
// max(absolute, relative·|x|), and by the shift in time.
func TestOverlayBand(t *testing.T) {
	run := func(id int64, v func(i int64) float64) *trace.Trace {
		tr := &trace.Trace{Run: trace.Run{ID: id, Period: 10 * time.Millisecond, Tags: []string{"x"}}}
		for i := range int64(1000) {
			tr.Samples = append(tr.Samples, trace.Sample{Slot: i, T: i * 1e7, Value: v(i)})
		}
		return tr
	}
	b1 := run(1, func(int64) float64 { return 10 })
	b2 := run(2, func(i int64) float64 { // 12, and 20 from slot 500 (5 s) on
		if i >= 500 {
			return 20
		}
		return 12
	})
	a := run(3, func(int64) float64 { return 11 })
	tol := &scenario.Tolerance{Absolute: 0.5, Relative: 0.1, Shift: time.Second}
	o := newOverlay(nil, "x", b1, a, []*trace.Trace{b1, b2}, tol, nil, nil, 100) // 0.1 s per column
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	if !near(o.hi[10], 12+1.2) || !near(o.lo[10], 10-1.0) {
		t.Errorf("band at 1 s [%v, %v], want [9, 13.2]", o.lo[10], o.hi[10])
	}
	// the step at 5 s reaches back by the 1 s shift: at 4.2 s the band already covers 20
	if !near(o.hi[42], 20+2) || !near(o.hi[38], 12+1.2) {
		t.Errorf("band top at 3.8 s %v, at 4.2 s %v; want 13.2 and 22", o.hi[38], o.hi[42])
	}
	if o.ymin > 9 || o.ymax < 22 {
		t.Errorf("y range [%v, %v] does not hold the band", o.ymin, o.ymax)
	}
	if o := newOverlay(nil, "x", b1, a, []*trace.Trace{b1}, nil, nil, nil, 100); o.band || !strings.Contains(o.bandNote, "no tolerance") {
		t.Errorf("no tolerance: band %v, note %q", o.band, o.bandNote)
	}
	if got := toleranceText(*tol); got != "±max(0.5, 10 % of before), shift 1s" {
		t.Errorf("tolerance text %q", got)
	}
}
