package report

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/patchgate/patchgate/harness/internal/evidencetest"
)

// The reports' names in a bundle; the tests render them as a bundle holds them.
const (
	HTMLFile = "report.html"
	PDFFile  = "report.pdf"
)

// Bundle is the reports' input under the name the tests grew up with.
type Bundle = Input

func testKey(seed byte) ed25519.PrivateKey { return evidencetest.Key(seed) }

var (
	synthTrace = evidencetest.SynthTrace
	t0         = evidencetest.T0
)

// fixture is an input with criteria of every kind, each pointing into the traces.
func fixture(t testing.TB, samples int) Input {
	f := evidencetest.Fixture(t, samples)
	in := Input{Record: f.Record, Before: f.Before, After: f.After,
		Scenario: File(f.Scenario), PointMap: File(f.PointMap), Timing: map[string]Timing{}}
	for id, tm := range f.Timing {
		in.Timing[id] = Timing(tm)
	}
	return in
}

type zfile struct {
	name string
	data []byte
}

// build renders in's reports as a bundle holds them (the key signs nothing here).
func build(t testing.TB, in Input, _ ed25519.PrivateKey) []zfile {
	t.Helper()
	r := New(in)
	var html, pdf bytes.Buffer
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := r.PDF(&pdf); err != nil {
		t.Fatal(err)
	}
	return []zfile{{HTMLFile, html.Bytes()}, {PDFFile, pdf.Bytes()}}
}

func unzip(_ testing.TB, files []zfile) []zfile { return files }

func find(files []zfile, name string) []byte {
	for _, f := range files {
		if f.name == name {
			return f.data
		}
	}
	return nil
}
