package evidence

import (
	"archive/zip"
	"bytes"
	"github.com/patchgate/patchgate/harness/bundle"
	"slices"
	"testing"
)

// TestTamperEveryStructureByte changes, one at a time, every byte that is not a content
// file's data (headers, descriptors, directory, end record, the manifest, the signature and
// the key), each to two other values: all are refused.
func TestTamperEveryStructureByte(t *testing.T) {
	t.Parallel()
	key := testKey(1)
	b := fixture(t, 5)
	b.Timing = nil
	data := build(t, b, key)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	content := make([]bool, len(data))
	for _, f := range zr.File {
		if isControl(f.Name) {
			continue
		}
		off, _ := f.DataOffset()
		for i := off; i < off+int64(f.CompressedSize64); i++ {
			content[i] = true
		}
	}
	n := 0
	for off := range data {
		if content[off] {
			continue
		}
		for _, x := range []byte{0x01, 0xff} {
			bad := slices.Clone(data)
			bad[off] ^= x
			if _, err := verify(bad, pubOf(key)); err == nil {
				t.Fatalf("byte %d ^ %#x accepted", off, x)
			}
			n++
		}
	}
	t.Logf("refused %d single-byte changes outside the files' data", n)
	if n < 2000 {
		t.Errorf("only %d changes tried", n)
	}
}

// FuzzVerify: whatever the input, Verify does not panic, and the only bundle it accepts is
// the one that was signed, byte for byte.
func FuzzVerify(f *testing.F) {
	b := fixture(f, 3)
	b.Timing = nil
	good := build(f, b, testKey(1))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(append(slices.Clone(good), good...))
	flipped := slices.Clone(good)
	flipped[len(flipped)/3] ^= 0x40
	f.Add(flipped)
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	// the same bundle with a sign-off addendum, and one with a byte of the addendum changed
	var signed bytes.Buffer
	if _, err := bundle.AddSignOffs(&signed, bytes.NewReader(good), int64(len(good)), bundle.Addendum{Validation: "V-2025-004", ExportedBy: "pm",
		SignOffs: []bundle.SignOff{{Name: "J. Doe", Role: "tester", Decision: "approve", Time: t0}}}, testKey(2)); err != nil {
		f.Fatal(err)
	}
	withSignOffs := signed.Bytes()
	f.Add(withSignOffs)
	flipped = slices.Clone(withSignOffs)
	flipped[len(good)+40] ^= 0x01
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := verify(data)
		if err == nil && !bytes.Equal(data, good) && !bytes.Equal(data, withSignOffs) {
			t.Fatalf("accepted a bundle that is not one of the signed ones (verdict %s, key %s)", rep.Verdict, rep.Fingerprint)
		}
	})
}
