// Package report renders a validation's reports: report.html (self-contained, inline CSS
// and SVG plots), report.pdf (the same on A4, via go-pdf/fpdf with the Go fonts), both from
// plots drawn once on a canvas (canvas.go: SVG, or PDF vector lines), and the JUnit XML of a
// record. It neither signs nor packs: harness/evidence puts the reports in the bundle
// (docs/architecture.md#evidence). Plot data is decimated and ticked by harness/plotdata,
// as the desktop's plots are.
package report

import (
	"cmp"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// File is a file as it was used in the run.
type File struct {
	Name string // base name; a path is reduced to its last element
	Data []byte
}

// Timing holds the samples of one timing criterion, in seconds; NaN or infinite values
// (a condition never seen) are counted, not plotted.
type Timing struct {
	Before []float64
	After  []float64
}

// Input is what the reports are made of.
type Input struct {
	Record   verdict.Record
	Before   []*trace.Trace
	After    []*trace.Trace
	Scenario File // the scenario file as run
	PointMap File // the point map as run
	// Timing holds, per timing criterion ID, samples behind it; the report plots the values
	// the criterion judged (compare.TimingValues of the scenario as run), these samples only
	// when the scenario cannot be read.
	Timing map[string]Timing
}

// Report is what both reports show, worked out once from an Input.
type Report struct{ m *model }

// New works out the reports of in.
func New(in Input) *Report { return &Report{newModel(in)} }

// HTML writes report.html.
func (r *Report) HTML(w io.Writer) error { return writeHTML(w, r.m) }

// PDF writes report.pdf; the same Input gives the same bytes.
func (r *Report) PDF(w io.Writer) error { return writePDF(w, r.m) }

// model is what both reports show, worked out once.
type model struct {
	rec           *verdict.Record
	before, after []*trace.Trace
	desc          string
	sc            *scenario.Scenario // the scenario as run; nil when it could not be read
	tol           map[string]scenario.Tolerance
	timing        map[string]Timing
	notes         []string // what the reports cannot show, and why
}

func newModel(b Input) *model {
	m := &model{rec: &b.Record, before: b.Before, after: b.After, timing: b.Timing}
	sc, err := scenario.Parse(b.Scenario.Name, b.Scenario.Data, func(string) (*point.Map, error) {
		return point.Parse(b.PointMap.Name, b.PointMap.Data)
	})
	if err != nil {
		line, _, _ := strings.Cut(err.Error(), "\n")
		m.notes = append(m.notes, "tolerance bands are not drawn, the runs are not aligned as the comparison aligns them, "+
			"and the timing plots show only the samples given to the bundle: the scenario as run could not be read: "+line)
	} else {
		m.sc, m.tol, m.desc = sc, sc.Tolerances, sc.Description
	}
	return m
}

// runsFor picks the runs to plot for a criterion: the one its Where names on its side, the
// first run on the other.
func (m *model) runsFor(c verdict.Criterion) (before, after *trace.Trace) {
	pick := func(trs []*trace.Trace, side string) *trace.Trace {
		if len(trs) == 0 {
			return nil
		}
		if wh := c.Where; wh != nil && wh.Side == side && wh.RunID != 0 {
			for _, tr := range trs {
				if tr.Run.ID == wh.RunID {
					return tr
				}
			}
		}
		return trs[0]
	}
	return pick(m.before, "before"), pick(m.after, "after")
}

// overlayFor is a signal criterion's plot data; ok is false when the criterion names no tag.
func (m *model) overlayFor(c verdict.Criterion, cols int) (o overlay, b, a *trace.Trace, ok bool) {
	if c.Where == nil || c.Where.Tag == "" {
		return overlay{}, nil, nil, false
	}
	b, a = m.runsFor(c)
	var tol *scenario.Tolerance
	if t, found := m.tol[c.Where.Tag]; found {
		tol = &t
	}
	var worst *worstMark
	if len(m.before) > 0 && b == m.before[0] { // its time is on the first before run's clock
		worst = worstOf(c)
	}
	return newOverlay(m.sc, c.Where.Tag, b, a, m.before, tol, c.Where, worst, cols), b, a, true
}

// timingFor is the values behind timing criterion c, and what one of them is: the values the
// criterion judged (compare.TimingValues of the scenario as run, the runs and the record's
// calibration: one source, the criterion's own code); without the scenario, the samples
// given to the bundle.
func (m *model) timingFor(c verdict.Criterion) (t Timing, unit, note string) {
	if m.sc != nil {
		for _, p := range m.sc.Probes {
			if c.ID != "timing:"+p.Name {
				continue
			}
			ts, err := compare.TimingValues(m.sc, p, m.before, m.after, m.rec.Calibration)
			if err != nil {
				return Timing{}, "", err.Error()
			}
			t = Timing{Before: ts.Before, After: ts.After}
			for range ts.NoResponse[0] {
				t.Before = append(t.Before, math.NaN()) // counted as not seen
			}
			for range ts.NoResponse[1] {
				t.After = append(t.After, math.NaN())
			}
			note = "the values the criterion judged, from the first step after the setup"
			if ts.Segment > 0 {
				note += fmt.Sprintf(": one per %s s of continuous good %s samples", num(ts.Segment), p.Counter)
			}
			return t, ts.Unit, note
		}
	}
	if t, ok := m.timing[c.ID]; ok {
		return t, "", "samples as given to the bundle (timing.json)"
	}
	return Timing{}, "", "no timing samples in the bundle for this criterion"
}

// overlayNote says what a signal plot shows.
func overlayNote(o overlay, aligned bool) string {
	s := "the after run on the before run's clock, as the comparison aligns them (from the first step after the setup, through the step starts); "
	if !aligned {
		s = "both runs by time since their start; "
	}
	s += "shaded: the tolerance band (" + o.bandNote + ") around the envelope of all before runs"
	if o.setup > o.t0 {
		s += "; grey: the setup, recorded but not compared"
	}
	if o.look[1] > o.look[0] {
		s += "; highlighted: where the criterion points"
	}
	if o.worst != nil {
		s += "; marked: the worst after value, with the before envelope and tolerance there"
	}
	return s
}

func verdictClass(v verdict.Outcome) string {
	switch v {
	case verdict.Go:
		return "go"
	case verdict.NoGo:
		return "nogo"
	}
	return "inconclusive"
}

type htmlRow struct {
	verdict.Criterion
	WhereText string
	Numbers   string
	Anchor    string // the id of its plot, if it has one
}

type htmlPlot struct {
	ID, Title, Note string
	SVG             template.HTML
	// what the plot is drawn from, for either report
	overlay overlay      // a signal's
	timing  Timing       // a timing criterion's values
	unit    string       // what one timing value is
	trace   *trace.Trace // a timeline's run
	t1      int64        // a timeline's end
}

type htmlIdentity struct {
	Field, Before, After string
	Changed              bool
}

type htmlRun struct {
	Side                       string
	ID                         int64
	Repetition                 int
	Status                     trace.Status
	Target, Started, Firmware  string
	Samples, Events            int
	Fault                      string
	SamplesFile, EventsFile    string
	IdentityChanged            bool
	FirmwareStart, FirmwareEnd string
}

type htmlData struct {
	Rec          *verdict.Record
	VerdictClass string
	Description  string
	Notes        []string
	Change       [][2]string // the change request's rows (changeRows)
	Rows         []htmlRow
	Signals      []htmlPlot
	Timings      []htmlPlot
	Timelines    []htmlPlot
	Identities   []htmlIdentity
	Runs         []htmlRun
	BeforeRuns   string
	AfterRuns    string
	// texts both reports print
	EventsIntro, CalibrationIntro, BundleText string
}

// Texts that both reports print.
const (
	eventsIntro = "steps, marks, checks (green pass, red fail), transitions of discrete tags, connection gaps and missed slots, " +
		"faults; in report.html, hover over a mark for its details"
	calibrationIntro = "the harness's own timing noise, measured with the runs; timing differences smaller than this are not findings"
	bundleText       = "record.json is the machine record; traces/ holds every sample and event as CSV; scenario/ and pointmap/ " +
		"the files as run; manifest.json lists the SHA-256 of every file and manifest.sig signs it with the key in pubkey.pem. " +
		"patchgate verify BUNDLE --trust KEY.pem checks all of it offline."
)

// changeRows are what a change request cites, first in both reports: the decision with the
// criteria that made it, the validation, the patch, who ran it where, the tool, the signer
// and the bench's differences from production (verdict.ChangeRequest).
func changeRows(rec *verdict.Record) [][2]string {
	rows := [][2]string{{"decision", rec.Decision()}}
	add := func(k, v string) {
		if v != "" {
			rows = append(rows, [2]string{k, v})
		}
	}
	cr := rec.ChangeRequest
	if cr == nil {
		add("patch", cmp.Or(rec.Patch, "not recorded against a patch in the register"))
	} else {
		p := cr.Patch
		add("validation", cmp.Or(cr.Validation, "not recorded yet (the register gives the id; export from the register to have it here)"))
		add("patch", p.ID)
		add("supplier, product", strings.TrimSpace(p.Supplier+" "+p.Product))
		add("versions", p.FromVersion+" → "+p.ToVersion)
		add("type", p.Type)
		add("CVEs", cmp.Or(strings.Join(p.CVEs, ", "), "none"))
		add("advisory", p.Advisory)
		add("patch file SHA-256", p.FileSHA256)
		sig := "not checked"
		if p.SignatureChecked {
			sig = strings.TrimSpace("checked " + p.SignatureNote)
		}
		add("patch signature", sig)
		add("vendor qualification", strings.ReplaceAll(p.Qualification, "_", " "))
		add("run by", cmp.Or(cr.Operator, "not recorded")+" on "+cmp.Or(cr.Workstation, "an unrecorded workstation"))
		diffs := "none recorded"
		if len(cr.Differences) > 0 {
			diffs = strings.Join(cr.Differences, "; ")
		}
		add("bench vs production", diffs)
	}
	add("tool version", rec.ToolVersion)
	if k, err := hex.DecodeString(rec.SignerPublicKey); err == nil && len(k) == ed25519.PublicKeySize {
		add("signer fingerprint", bundle.Fingerprint(ed25519.PublicKey(k)))
	}
	return rows
}

// Plot heights in plot units (plotW wide).
const (
	histogramH = 240.0
	timelineH  = 36 + 20*6 // a margin and six lanes
)

// newReportData is what both reports show, in report.html's order; the plots are described
// by their data (signal plots decimated to cols columns), each report draws them.
func newReportData(m *model, cols int) htmlData {
	d := htmlData{Rec: m.rec, Change: changeRows(m.rec), VerdictClass: verdictClass(m.rec.Verdict), Description: m.desc, Notes: m.notes,
		BeforeRuns: runList(m.rec.BeforeRuns), AfterRuns: runList(m.rec.AfterRuns),
		EventsIntro: eventsIntro, CalibrationIntro: calibrationIntro, BundleText: bundleText}
	for i, c := range m.rec.Criteria {
		row := htmlRow{Criterion: c, Numbers: numbersText(c.Numbers)}
		if c.Where != nil {
			row.WhereText = whereText(c.Where)
		}
		anchor := fmt.Sprintf("plot-%d", i+1)
		switch c.Kind {
		case verdict.KindSignal:
			o, b, a, ok := m.overlayFor(c, cols)
			if !ok {
				break
			}
			row.Anchor = anchor
			d.Signals = append(d.Signals, htmlPlot{ID: anchor,
				Title:   fmt.Sprintf("%s: %s, %s against %s", c.ID, o.tag, runName(b, "before"), runName(a, "after")),
				Note:    overlayNote(o, m.sc != nil),
				overlay: o})
		case verdict.KindTiming:
			t, unit, note := m.timingFor(c)
			row.Anchor = anchor
			d.Timings = append(d.Timings, htmlPlot{ID: anchor, Title: c.ID, Note: note, timing: t, unit: unit})
		}
		d.Rows = append(d.Rows, row)
	}
	var t1 int64
	var timeline []*trace.Trace
	for _, trs := range [][]*trace.Trace{m.before, m.after} {
		if len(trs) > 0 {
			timeline = append(timeline, trs[0])
			t1 = max(t1, runEnd(trs[0]))
		}
	}
	for i, tr := range timeline {
		side := []string{"before", "after"}[i]
		if len(m.before) == 0 {
			side = "after"
		}
		d.Timelines = append(d.Timelines, htmlPlot{ID: "timeline-" + side, Title: runName(tr, side), trace: tr, t1: t1})
	}
	d.Identities = identityRows(m.rec.IdentityBefore, m.rec.IdentityAfter)
	for _, side := range []struct {
		name string
		trs  []*trace.Trace
	}{{"before", m.before}, {"after", m.after}} {
		for _, tr := range side.trs {
			r := tr.Run
			base := fmt.Sprintf("traces/%s-%d", side.name, r.ID)
			d.Runs = append(d.Runs, htmlRun{Side: side.name, ID: r.ID, Repetition: r.Repetition, Status: r.Status,
				Target: r.Target, Started: r.Started.UTC().Format(time.RFC3339), Samples: len(tr.Samples), Events: len(tr.Events),
				Fault: r.Fault, SamplesFile: base + ".csv", EventsFile: base + "-events.csv",
				FirmwareStart: r.IdentityPre.Firmware, FirmwareEnd: r.IdentityPost.Firmware,
				IdentityChanged: !sameIdentity(r.IdentityPre, r.IdentityPost)})
		}
	}
	return d
}

// writeHTML writes report.html: one self-contained page, no scripts, nothing fetched.
func writeHTML(w io.Writer, m *model) error {
	d := newReportData(m, int(plotW-plotLeft-16))
	for i := range d.Signals {
		d.Signals[i].SVG = template.HTML(overlaySVG(d.Signals[i].overlay))
	}
	for i, t := range d.Timings {
		d.Timings[i].SVG = template.HTML(histogramSVG(t.Title, t.timing, t.unit))
	}
	for i, t := range d.Timelines {
		d.Timelines[i].SVG = template.HTML(timelineSVG(t.trace, t.t1))
	}
	return htmlTemplate.Execute(w, d)
}

func runEnd(tr *trace.Trace) int64 {
	var t int64
	if n := len(tr.Samples); n > 0 {
		t = tr.Samples[n-1].T
	}
	if n := len(tr.Events); n > 0 {
		t = max(t, tr.Events[n-1].T)
	}
	return t
}

func runName(tr *trace.Trace, side string) string {
	if tr == nil {
		return "no " + side + " run"
	}
	return fmt.Sprintf("%s run %d", side, tr.Run.ID)
}

func runList(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

func numbersText(n map[string]float64) string {
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + num(n[k])
	}
	return strings.Join(parts, "; ")
}

func identityRows(b, a driver.Identity) []htmlIdentity {
	rows := []htmlIdentity{
		{Field: "vendor", Before: b.Vendor, After: a.Vendor},
		{Field: "product", Before: b.Product, After: a.Product},
		{Field: "firmware", Before: b.Firmware, After: a.Firmware},
		{Field: "serial", Before: b.Serial, After: a.Serial},
	}
	keys := map[string]bool{}
	for k := range b.Extra {
		keys[k] = true
	}
	for k := range a.Extra {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		rows = append(rows, htmlIdentity{Field: k, Before: b.Extra[k], After: a.Extra[k]})
	}
	for i := range rows {
		rows[i].Changed = rows[i].Before != rows[i].After
	}
	return rows
}

func sameIdentity(a, b driver.Identity) bool {
	if a.Vendor != b.Vendor || a.Product != b.Product || a.Firmware != b.Firmware || a.Serial != b.Serial || len(a.Extra) != len(b.Extra) {
		return false
	}
	for k, v := range a.Extra {
		if b.Extra[k] != v {
			return false
		}
	}
	return true
}

// The page: no scripts, no external resources, and a content security policy that forbids
// fetching any even if a value in the record looks like a URL.
var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Rec.Verdict}}: {{.Rec.Scenario}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:20px 0 4px}
.verdict{font-size:64px;font-weight:800;letter-spacing:1px;margin:12px 0 4px;padding:8px 20px;border-radius:8px;display:inline-block;color:#fff}
.verdict.go{background:#1e7d32}.verdict.nogo{background:#b3261e}.verdict.inconclusive{background:#a15c00}
ul.reasons{font-size:16px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right}
table.kv th{width:180px}
.status{font-weight:700;text-transform:uppercase;font-size:12px}
.pass{color:#1e7d32}.fail{color:#b3261e}.inconclusive{color:#a15c00}
tr.changed td{background:#fff4e5}
.small{font-size:12px;color:#555}.note{background:#fff4e5;padding:6px 10px;border-left:4px solid #a15c00}
svg{display:block;max-width:100%;height:auto;background:#fff}
svg text{font:11px system-ui,sans-serif;fill:#444}
svg .yt{text-anchor:end}svg .xt,svg .xl{text-anchor:middle}svg .yl{text-anchor:middle}
svg .plotbg{fill:#fafafa;stroke:#bbb}svg .grid{stroke:#e6e6e6}
svg .before{fill:none;stroke:#1f5fbf;stroke-width:2.6}svg .after{fill:none;stroke:#e0631a;stroke-width:1.3}
svg rect.before{fill:#1f5fbf}svg rect.after{fill:#e0631a}
svg .band,svg .bandkey{fill:#1f5fbf;fill-opacity:.15;stroke:none}svg .none{fill:none}
svg .where{fill:#ffd54f;fill-opacity:.25}svg .setup{fill:#000;fill-opacity:.07}svg .sl{fill:#777}
svg .worst .allowed{fill:none;stroke:#b3261e;stroke-width:1.5}svg .worst .envelope{stroke:#b3261e;stroke-width:4}
svg .worst .value{fill:none;stroke:#b3261e;stroke-width:2}svg .worst .wl{fill:#b3261e;font-weight:600;stroke:#fff;stroke-width:3px;paint-order:stroke}svg .worstkey{fill:#b3261e}
svg .beforebar{fill:#1f5fbf;fill-opacity:.45}svg .afterbar{fill:#e0631a;fill-opacity:.45}
svg .median{stroke-dasharray:4 3;stroke-width:1.5}
svg .ev{fill:#666}svg .mark{fill:#6a1b9a}svg .check-pass{fill:#1e7d32}svg .check-fail{fill:#b3261e}svg .check-inconclusive{fill:#a15c00}
svg .transition{fill:#888}svg .missed{fill:#a15c00}svg .fault,svg .abort{fill:#b3261e}svg .gap{fill:#b3261e;fill-opacity:.3}
svg .step_start{fill:#333}svg .step_end{fill:#aaa}svg .mk{fill:#6a1b9a}
@media print{body{max-width:none}.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
</style>
</head>
<body>
<h1>Patch validation: {{.Rec.Scenario}}</h1>
<div class="small">{{if .Rec.Patch}}patch {{.Rec.Patch}} · {{end}}{{.Rec.BeforeTarget}} → {{.Rec.AfterTarget}}{{if .Rec.Decided}} · decided {{.Rec.Decided}}{{end}}</div>
<div class="verdict {{.VerdictClass}}">{{.Rec.Verdict}}</div>
{{if .Rec.Reasons}}<ul class="reasons">{{range .Rec.Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Notes}}<p class="note">{{.}}</p>{{end}}

<h2>Change request</h2>
<table class="kv">
{{range .Change}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>

<h2>Summary</h2>
<table class="kv">
<tr><th>scenario</th><td>{{.Rec.Scenario}}{{if .Description}}: {{.Description}}{{end}}</td></tr>
{{if .Rec.ScenarioSHA256}}<tr><th>scenario SHA-256</th><td><code>{{.Rec.ScenarioSHA256}}</code></td></tr>{{end}}
<tr><th>point map</th><td>{{.Rec.PointMap}}</td></tr>
<tr><th>before target</th><td>{{.Rec.BeforeTarget}} (runs {{.BeforeRuns}})</td></tr>
<tr><th>after target</th><td>{{.Rec.AfterTarget}} (runs {{.AfterRuns}})</td></tr>
<tr><th>time mode</th><td>{{.Rec.TimeMode}}</td></tr>
</table>

<h2>Criteria</h2>
<table>
<tr><th>criterion</th><th>kind</th><th>severity</th><th>status</th><th>expected</th><th>before</th><th>after</th><th>tolerance</th><th>reason</th></tr>
{{range .Rows}}<tr>
<td>{{if .Anchor}}<a href="#{{.Anchor}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td><td>{{.Kind}}</td><td>{{.Severity}}</td>
<td class="status {{.Status}}">{{.Status}}</td><td>{{.Expected}}</td><td>{{.Before}}</td><td>{{.After}}</td><td>{{.Tolerance}}</td>
<td>{{.Reason}}{{if .Needed}}<div class="small">needs {{.Needed}} samples</div>{{end}}{{if .WhereText}}<div class="small">where: {{.WhereText}}</div>{{end}}{{if .Numbers}}<div class="small">{{.Numbers}}</div>{{end}}</td>
</tr>
{{end}}</table>

{{if .Signals}}<h2>Signals</h2>
{{range .Signals}}<h3 id="{{.ID}}">{{.Title}}</h3>{{.SVG}}<div class="small">{{.Note}}</div>
{{end}}{{end}}
{{if .Timings}}<h2>Timing</h2>
{{range .Timings}}<h3 id="{{.ID}}">{{.Title}}</h3>{{if .SVG}}{{.SVG}}{{end}}<div class="small">{{.Note}}</div>
{{end}}{{end}}
{{if .Timelines}}<h2>Events</h2>
<div class="small">{{.EventsIntro}}</div>
{{range .Timelines}}<h3 id="{{.ID}}">{{.Title}}</h3>{{.SVG}}
{{end}}{{end}}

<h2>Identities</h2>
<table>
<tr><th>field</th><th>before</th><th>after</th></tr>
{{range .Identities}}<tr{{if .Changed}} class="changed"{{end}}><td>{{.Field}}</td><td>{{.Before}}</td><td>{{.After}}</td></tr>
{{end}}</table>

<h2>Runs</h2>
<table>
<tr><th>side</th><th>run</th><th>repetition</th><th>status</th><th>target</th><th>started</th><th>firmware</th><th>samples</th><th>events</th><th>files</th></tr>
{{range .Runs}}<tr><td>{{.Side}}</td><td class="num">{{.ID}}</td><td class="num">{{.Repetition}}</td><td>{{.Status}}{{if .Fault}}: {{.Fault}}{{end}}</td><td>{{.Target}}</td><td>{{.Started}}</td>
<td>{{.FirmwareStart}}{{if .IdentityChanged}} → {{.FirmwareEnd}} (identity changed during the run){{end}}</td><td class="num">{{.Samples}}</td><td class="num">{{.Events}}</td>
<td><code>{{.SamplesFile}}</code><br><code>{{.EventsFile}}</code></td></tr>
{{end}}</table>

<h2>Calibration</h2>
<div class="small">{{.CalibrationIntro}}</div>
<table class="kv">
<tr><th>sampling lateness p50</th><td>{{printf "%.1f" .Rec.Calibration.LatenessP50Us}} µs</td></tr>
<tr><th>sampling lateness p99</th><td>{{printf "%.1f" .Rec.Calibration.LatenessP99Us}} µs</td></tr>
<tr><th>jitter (p99 − p50)</th><td>{{printf "%.1f" .Rec.Calibration.JitterUs}} µs</td></tr>
<tr><th>round trip p50</th><td>{{printf "%.1f" .Rec.Calibration.RoundTripP50Us}} µs</td></tr>
<tr><th>round trip p99</th><td>{{printf "%.1f" .Rec.Calibration.RoundTripP99Us}} µs</td></tr>
</table>

<h2>This bundle</h2>
<p class="small">{{.BundleText}}</p>
</body>
</html>
`))
