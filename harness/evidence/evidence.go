// Package evidence writes and checks evidence bundles: the one file attached to a change
// request that lets anyone see, offline, what was validated and how it came out, and prove
// that nothing in it was changed since it was signed (docs/architecture.md#evidence).
//
// A bundle is a ZIP file holding, in this order:
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
//	manifest.json            path, SHA-256 and size of every file above, sorted by path
//	manifest.sig             ed25519 signature of the exact bytes of manifest.json (64 bytes)
//	pubkey.pem               the signer's public key (PEM "PUBLIC KEY", PKIX)
//
// Every file is stored uncompressed, with fixed timestamps and fixed header fields, so the
// same inputs give the same bytes, and Verify can demand that every byte of the container is
// the one Write would have produced: a change anywhere (content, header, directory, comment,
// bytes added or removed) is refused. Contents are covered by their hashes in the manifest,
// the manifest by the signature.
//
// The signature proves integrity, and authorship only against keys the checker already
// trusts: anyone can re-sign a changed bundle with a key of their own and put that key in
// pubkey.pem. Verify with trusted keys (patchgate verify --trust) refuses such a bundle; without
// them it reports the signer's fingerprint for a human to compare.
//
// Without patchgate, the signature can be checked with OpenSSL 3:
//
//	openssl pkeyutl -verify -pubin -inkey pubkey.pem -rawin -in manifest.json -sigfile manifest.sig
//
// and the hashes with sha256sum against manifest.json.
package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/export"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Names of the files with a fixed place in a bundle.
const (
	RecordFile     = "record.json"
	HTMLFile       = "report.html"
	PDFFile        = "report.pdf"
	IdentitiesFile = "identities.json"
	ToolFile       = "tool.json"
	TimingFile     = "timing.json"
	ManifestFile   = "manifest.json"
	SignatureFile  = "manifest.sig"
	PublicKeyFile  = "pubkey.pem"
)

// Format and FormatVersion name the manifest layout.
const (
	Format        = "patchgate.evidence"
	FormatVersion = 1
)

// fixedTime is the time written wherever a format wants one (the PDF's dates when the
// record has no decision time); the ZIP headers hold 1980-01-01, the earliest they can.
var fixedTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// toolRuntime is what tool.json says of the Go runtime that wrote the bundle; a variable so
// that the golden-bundle test can hold it fixed across Go releases and machines.
var toolRuntime = struct{ Go, OS, Arch string }{runtime.Version(), runtime.GOOS, runtime.GOARCH}

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

// manifest is manifest.json.
type manifest struct {
	Format  string         `json:"format"`
	Version int            `json:"version"`
	Files   []manifestFile `json:"files"`
}

type manifestFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// entry is one content file of a bundle before it is written.
type entry struct {
	name string
	fill func(io.Writer) error
}

// Write writes the bundle b to w as one ZIP file signed with key, and returns the SHA-256
// of the whole file (hex). The same bundle and key give the same bytes.
func Write(w io.Writer, b Bundle, key ed25519.PrivateKey) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("evidence: signing key has %d bytes, want an ed25519 private key (%d)", len(key), ed25519.PrivateKeySize)
	}
	entries, err := contents(b)
	if err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	sort.SliceStable(entries, func(i, j int) bool { return entryLess(entries[i].name, entries[j].name) })

	sum := sha256.New()
	z := &zipWriter{w: io.MultiWriter(w, sum)}
	m := manifest{Format: Format, Version: FormatVersion}
	for _, e := range entries {
		h := sha256.New()
		n, err := z.entry(e.name, h, e.fill)
		if err != nil {
			return "", fmt.Errorf("evidence: %w", err)
		}
		m.Files = append(m.Files, manifestFile{Path: e.name, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n})
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	mb = append(mb, '\n')
	sig := ed25519.Sign(key, mb)
	pub := MarshalPublicKey(key.Public().(ed25519.PublicKey))
	for _, f := range []struct {
		name string
		data []byte
	}{{ManifestFile, mb}, {SignatureFile, sig}, {PublicKeyFile, pub}} {
		if _, err := z.entry(f.name, nil, bytesFill(f.data)); err != nil {
			return "", fmt.Errorf("evidence: %w", err)
		}
	}
	if err := z.close(); err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// contents lists the content files of b (everything the manifest covers).
func contents(b Bundle) ([]entry, error) {
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

	var traces []entry
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
				entry{base + ".csv", func(w io.Writer) error { return export.CSV(w, tr) }},
				entry{base + "-events.csv", func(w io.Writer) error { return export.EventsCSV(w, tr) }})
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

	m := newModel(b)
	var html bytes.Buffer
	if err := writeHTML(&html, m); err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	var pdf bytes.Buffer
	if err := writePDF(&pdf, m); err != nil {
		return nil, fmt.Errorf("report.pdf: %w", err)
	}

	out := []entry{
		{RecordFile, bytesFill(rec)},
		{HTMLFile, bytesFill(html.Bytes())},
		{PDFFile, bytesFill(pdf.Bytes())},
		{IdentitiesFile, bytesFill(idJSON)},
		{ToolFile, bytesFill(toolJSON)},
		{"scenario/" + scName, bytesFill(b.Scenario.Data)},
		{"pointmap/" + pmName, bytesFill(b.PointMap.Data)},
	}
	if len(b.Timing) > 0 {
		tj, err := indentJSON(timingJSON(b.Timing))
		if err != nil {
			return nil, err
		}
		out = append(out, entry{TimingFile, bytesFill(tj)})
	}
	return append(out, traces...), nil
}

// entryRank orders a bundle's files: the record and the reports first, the raw data after,
// the manifest, its signature and the key, then the sign-off addendum, last.
func entryRank(name string) int {
	switch name {
	case RecordFile:
		return 0
	case HTMLFile:
		return 1
	case PDFFile:
		return 2
	case IdentitiesFile:
		return 3
	case ToolFile:
		return 4
	case TimingFile:
		return 5
	case ManifestFile:
		return 10
	case SignatureFile:
		return 11
	case PublicKeyFile:
		return 12
	case SignOffsFile: // the sign-off addendum (signoffs.go) after the signed bundle
		return 13
	case SignOffsSignatureFile:
		return 14
	case SignOffsKeyFile:
		return 15
	}
	switch {
	case strings.HasPrefix(name, "scenario/"):
		return 6
	case strings.HasPrefix(name, "pointmap/"):
		return 7
	}
	return 8
}

func entryLess(a, b string) bool {
	if ra, rb := entryRank(a), entryRank(b); ra != rb {
		return ra < rb
	}
	return a < b
}

// baseName reduces a file name to its last element and checks that it makes a clean entry.
func baseName(what, name string) (string, error) {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "" || name == "." || name == ".." || name == "/" {
		return "", fmt.Errorf("the %s file needs a name", what)
	}
	if err := checkPath(name); err != nil {
		return "", fmt.Errorf("%s file name: %w", what, err)
	}
	return name, nil
}

// checkPath refuses entry names that are not clean relative slash paths.
func checkPath(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':'):
		return fmt.Errorf("%q is an absolute path", name)
	case strings.Contains(name, `\`):
		return fmt.Errorf("%q holds a backslash; bundle paths use slashes", name)
	case path.Clean(name) != name:
		return fmt.Errorf("%q is not a clean path", name)
	case name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("%q points outside the bundle", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q holds a control character", name)
		}
	}
	return nil
}

func bytesFill(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
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
