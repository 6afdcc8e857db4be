// Package evidence assembles a validation's evidence bundle: the one file attached to a
// change request that lets anyone see, offline, what was validated and how it came out, and
// prove that nothing in it was changed since it was signed (docs/architecture.md#evidence).
// The container, its manifest, signature, keys and sign-off addendum are harness/bundle's;
// the reports harness/report's. This package decides what a bundle holds, in the
// container's order:
//
//	record.json              the verdict record (verdict.Record), indented
//	report.html              the human report: self-contained, inline CSS and SVG plots
//	report.pdf               the same essentials on paper
//	identities.json          device identities: the record's, and each run's at start and end
//	tool.json                tool version, Go version, OS and architecture
//	timing.json              timing samples per timing criterion (only when given)
//	scenario/<name>          the scenario file as run
//	pointmap/<name>          the point map as run
//	traces/before-<run>.csv  samples of each before run (harness/export CSV)
//	traces/before-<run>-events.csv
//	traces/after-<run>.csv, traces/after-<run>-events.csv
//
// followed by the manifest, its signature and the signer's key (harness/bundle).
package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"runtime"
	"strings"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/export"
	"github.com/patchgate/patchgate/harness/report"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Names of the content files with a fixed place in a bundle (harness/bundle orders them).
const (
	RecordFile     = bundle.RecordFile
	HTMLFile       = "report.html"
	PDFFile        = "report.pdf"
	IdentitiesFile = "identities.json"
	ToolFile       = "tool.json"
	TimingFile     = "timing.json"
)

// toolRuntime is what tool.json says of the Go runtime that wrote the bundle; a variable so
// that the golden-bundle test can hold it fixed across Go releases and machines.
var toolRuntime = struct{ Go, OS, Arch string }{runtime.Version(), runtime.GOOS, runtime.GOARCH}

// File is a file as it was used in the run.
type File = report.File

// Timing holds the samples of one timing criterion, in seconds; NaN or infinite values
// (a condition never seen) are counted, not plotted.
type Timing = report.Timing

// Bundle is what goes into an evidence bundle.
type Bundle struct {
	Record   verdict.Record
	Before   []*trace.Trace
	After    []*trace.Trace
	Scenario File // the scenario file as run
	PointMap File // the point map as run
	// ToolVersion is the patchgate version; empty takes Record.ToolVersion.
	ToolVersion string
	// Timing holds, per timing criterion ID, the samples behind it (from the runner's probe
	// values and the comparison), written to timing.json. The report plots the values the
	// criterion judged (compare.TimingValues of the scenario as run); these samples only
	// when the scenario cannot be read.
	Timing map[string]Timing
}

// Write writes the bundle b to w as one ZIP file signed with key, and returns the SHA-256
// of the whole file (hex). The same bundle and key give the same bytes.
func Write(w io.Writer, b Bundle, key ed25519.PrivateKey) (string, error) {
	if err := bundle.CheckKey(key); err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	entries, err := contents(b)
	if err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	sum, err := bundle.Write(w, entries, key)
	if err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	return sum, nil
}

// contents lists the content files of b (everything the manifest covers).
func contents(b Bundle) ([]bundle.Entry, error) {
	scName, err := baseName("scenario", b.Scenario.Name)
	if err != nil {
		return nil, err
	}
	pmName, err := baseName("point map", b.PointMap.Name)
	if err != nil {
		return nil, err
	}
	rec, err := json.MarshalIndent(b.Record, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	rec = append(rec, '\n')

	var traces []bundle.Entry
	for _, side := range []struct {
		name string
		trs  []*trace.Trace
	}{{"before", b.Before}, {"after", b.After}} {
		seen := map[int64]bool{}
		for i, tr := range side.trs {
			if tr == nil {
				return nil, fmt.Errorf("%s trace %d is nil", side.name, i+1)
			}
			if seen[tr.Run.ID] {
				return nil, fmt.Errorf("%s trace %d: run id %d appears twice", side.name, i+1, tr.Run.ID)
			}
			seen[tr.Run.ID] = true
			base := fmt.Sprintf("traces/%s-%d", side.name, tr.Run.ID)
			traces = append(traces,
				bundle.Entry{Name: base + ".csv", Fill: func(w io.Writer) error { return export.CSV(w, tr) }},
				bundle.Entry{Name: base + "-events.csv", Fill: func(w io.Writer) error { return export.EventsCSV(w, tr) }})
		}
	}

	tool := b.ToolVersion
	if tool == "" {
		tool = b.Record.ToolVersion
	}
	toolJSON, err := indentJSON(struct {
		Tool    string `json:"tool"`
		Version string `json:"version"`
		Go      string `json:"go"`
		OS      string `json:"os"`
		Arch    string `json:"arch"`
	}{"patchgate", tool, toolRuntime.Go, toolRuntime.OS, toolRuntime.Arch})
	if err != nil {
		return nil, err
	}
	idJSON, err := indentJSON(identitiesOf(b))
	if err != nil {
		return nil, err
	}

	m := report.New(report.Input{Record: b.Record, Before: b.Before, After: b.After,
		Scenario: b.Scenario, PointMap: b.PointMap, Timing: b.Timing})
	var html bytes.Buffer
	if err := m.HTML(&html); err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	var pdf bytes.Buffer
	if err := m.PDF(&pdf); err != nil {
		return nil, fmt.Errorf("report.pdf: %w", err)
	}

	out := []bundle.Entry{
		bundle.Bytes(RecordFile, rec),
		bundle.Bytes(HTMLFile, html.Bytes()),
		bundle.Bytes(PDFFile, pdf.Bytes()),
		bundle.Bytes(IdentitiesFile, idJSON),
		bundle.Bytes(ToolFile, toolJSON),
		bundle.Bytes("scenario/"+scName, b.Scenario.Data),
		bundle.Bytes("pointmap/"+pmName, b.PointMap.Data),
	}
	if len(b.Timing) > 0 {
		tj, err := indentJSON(timingJSON(b.Timing))
		if err != nil {
			return nil, err
		}
		out = append(out, bundle.Bytes(TimingFile, tj))
	}
	return append(out, traces...), nil
}

// baseName reduces a file name to its last element and checks that it makes a clean entry.
func baseName(what, name string) (string, error) {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "" || name == "." || name == ".." || name == "/" {
		return "", fmt.Errorf("the %s file needs a name", what)
	}
	if err := bundle.CheckPath(name); err != nil {
		return "", fmt.Errorf("%s file name: %w", what, err)
	}
	return name, nil
}

func indentJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// runIdentity is one run's identities in identities.json.
type runIdentity struct {
	Side   string          `json:"side"`
	RunID  int64           `json:"run_id"`
	Target string          `json:"target"`
	Start  driver.Identity `json:"identity_start"`
	End    driver.Identity `json:"identity_end"`
}

func identitiesOf(b Bundle) any {
	var runs []runIdentity
	for _, side := range []struct {
		name string
		trs  []*trace.Trace
	}{{"before", b.Before}, {"after", b.After}} {
		for _, tr := range side.trs {
			runs = append(runs, runIdentity{side.name, tr.Run.ID, tr.Run.Target, tr.Run.IdentityPre, tr.Run.IdentityPost})
		}
	}
	return struct {
		Before driver.Identity `json:"before"`
		After  driver.Identity `json:"after"`
		Runs   []runIdentity   `json:"runs"`
	}{b.Record.IdentityBefore, b.Record.IdentityAfter, runs}
}

// timingJSON is timing.json: finite samples, and how many were not (NaN: never seen).
func timingJSON(t map[string]Timing) any {
	type side struct {
		Seconds []float64 `json:"seconds"`
		NotSeen int       `json:"not_seen,omitempty"`
	}
	split := func(xs []float64) side {
		s := side{Seconds: []float64{}}
		for _, x := range xs {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				s.NotSeen++
			} else {
				s.Seconds = append(s.Seconds, x)
			}
		}
		return s
	}
	out := map[string]struct {
		Before side `json:"before"`
		After  side `json:"after"`
	}{}
	for id, tm := range t {
		v := out[id]
		v.Before, v.After = split(tm.Before), split(tm.After)
		out[id] = v
	}
	return out
}
