package evidence

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/patchgate/patchgate/harness/internal/evidencetest"
)

// testKey is a fixed signing key, so that bundles are the same from run to run.
func testKey(seed byte) ed25519.PrivateKey { return evidencetest.Key(seed) }

var (
	synthTrace = evidencetest.SynthTrace
	t0         = evidencetest.T0
)

// fixture is a bundle with criteria of every kind, each pointing into the traces.
func fixture(t testing.TB, samples int) Bundle {
	f := evidencetest.Fixture(t, samples)
	b := Bundle{Record: f.Record, Before: f.Before, After: f.After, ToolVersion: f.ToolVersion,
		Scenario: File(f.Scenario), PointMap: File(f.PointMap), Timing: map[string]Timing{}}
	for id, tm := range f.Timing {
		b.Timing[id] = Timing(tm)
	}
	return b
}

// build writes a bundle and returns its bytes.
func build(t testing.TB, b Bundle, key ed25519.PrivateKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Write(&buf, b, key); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testManifest is manifest.json as harness/bundle writes it, for tests that forge one.
type testManifest struct {
	Format  string             `json:"format"`
	Version int                `json:"version"`
	Files   []testManifestFile `json:"files"`
}

type testManifestFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}
