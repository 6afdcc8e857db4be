package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"github.com/patchgate/patchgate/harness/bundle"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenBundle is the fixture with everything the bundle's bytes depend on held fixed: the
// point map (the repository's own may change), the Go runtime named in tool.json, the key.
func goldenBundle(t *testing.T) ([]byte, []byte) {
	t.Helper()
	saved := toolRuntime
	toolRuntime.Go, toolRuntime.OS, toolRuntime.Arch = "go1.26.0", "linux", "amd64"
	defer func() { toolRuntime = saved }()
	b := fixture(t, 120)
	b.PointMap.Data = []byte("name: tank\npoints:\n  Level: {address: \"hr:0\", type: float32}\n")
	var plain bytes.Buffer
	if _, err := Write(&plain, b, testKey(1)); err != nil {
		t.Fatal(err)
	}
	a := bundle.Addendum{
		Validation: "", Patch: b.Record.Patch, ExportedBy: "golden test",
		Exported: time.Date(2025, 3, 15, 8, 0, 0, 0, time.UTC), AuditHead: "ab12",
		SignOffs: []bundle.SignOff{{Name: "R. Engineer", Role: "process engineer", Decision: "approve",
			Rationale: "alarm shift understood", Time: time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC)}},
	}
	var signed bytes.Buffer
	if _, err := bundle.AddSignOffs(&signed, bytes.NewReader(plain.Bytes()), int64(plain.Len()), a, testKey(3)); err != nil {
		t.Fatal(err)
	}
	return plain.Bytes(), signed.Bytes()
}

// goldenSums lists the SHA-256 of the whole bundle, of the bundle with its sign-off addendum,
// and of every file in the bundle (to name the file that changed).
func goldenSums(t *testing.T, plain, signed []byte) string {
	var b strings.Builder
	sum := func(d []byte) string { s := sha256.Sum256(d); return hex.EncodeToString(s[:]) }
	fmt.Fprintf(&b, "%s  bundle\n%s  bundle+signoffs\n", sum(plain), sum(signed))
	for _, f := range unzip(t, signed) {
		fmt.Fprintf(&b, "%s  %s\n", sum(f.data), f.name)
	}
	return b.String()
}

// TestGoldenBundle: a bundle written today is byte for byte the one the format has always
// written for the same inputs and key (testdata/golden-bundle.sha256, recorded before the
// format, the rendering and the assembly became separate packages), and so is the bundle
// with a sign-off addendum added.
func TestGoldenBundle(t *testing.T) {
	plain, signed := goldenBundle(t)
	got := goldenSums(t, plain, signed)
	const golden = "testdata/golden-bundle.sha256"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the bundle's bytes changed:\n got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := verify(signed, pubOf(testKey(1)), pubOf(testKey(3))); err != nil {
		t.Errorf("golden bundle with sign-offs: %v", err)
	}
}
