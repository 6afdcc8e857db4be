package report

import (
	"bytes"
	"testing"
)

// BenchmarkPDF renders report.pdf of the fixture (4 runs of 2000 slots, every kind of
// criterion); the model is built once, as Write builds it once for both reports.
func BenchmarkPDF(b *testing.B) {
	m := newModel(fixture(b, 2000))
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := writePDF(&buf, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1e3, "kB")
}

// BenchmarkHTML renders report.html of the same fixture, for comparison.
func BenchmarkHTML(b *testing.B) {
	m := newModel(fixture(b, 2000))
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := writeHTML(&buf, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1e3, "kB")
}
