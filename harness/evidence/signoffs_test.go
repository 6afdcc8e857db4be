package evidence

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"github.com/patchgate/patchgate/harness/bundle"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/verdict"
)

// jointBundle is a bundle of validation V-2025-004 of patch P-2025-001, signed by the bench's
// key (1), with the sign-offs of an OEM joint session added by the patch manager's key (2).
func jointBundle(t *testing.T) (original, signed []byte, a bundle.Addendum) {
	t.Helper()
	b := fixture(t, 200)
	b.Record.Patch = "P-2025-001"
	b.Record.ChangeRequest = &verdict.ChangeRequest{Validation: "V-2025-004", Operator: "jd", Workstation: "bench-3",
		Patch: verdict.PatchFacts{ID: "P-2025-001", Supplier: "Acme"}}
	original = build(t, b, testKey(1))
	a = bundle.Addendum{Validation: "V-2025-004", Patch: "P-2025-001", Exported: t0.Add(48 * time.Hour), ExportedBy: "pm",
		AuditHead: strings.Repeat("c3", 32),
		SignOffs: []bundle.SignOff{
			{Name: "J. Doe", Role: "engineer", Decision: "approve", Time: t0.Add(24 * time.Hour)},
			{Name: "K. Vendor (Acme)", Role: "oem_witness", Decision: "approve", Rationale: "witnessed on the joint bench", Time: t0.Add(25 * time.Hour)},
		}}
	var buf bytes.Buffer
	if _, err := bundle.AddSignOffs(&buf, bytes.NewReader(original), int64(len(original)), a, testKey(2)); err != nil {
		t.Fatal(err)
	}
	return original, buf.Bytes(), a
}

// TestSignOffsTravelWithTheBundle: the addendum verifies with both signers trusted, lists
// the sign-offs of both parties, leaves every byte of the original's files as signed and is
// chained to its manifest.
func TestSignOffsTravelWithTheBundle(t *testing.T) {
	original, signed, a := jointBundle(t)
	rep, err := verify(signed, pubOf(testKey(1)), pubOf(testKey(2)))
	if err != nil {
		t.Fatal(err)
	}
	so := rep.SignOffs
	if so == nil || !so.Trusted || so.Fingerprint != bundle.Fingerprint(pubOf(testKey(2))) || rep.Fingerprint != bundle.Fingerprint(pubOf(testKey(1))) {
		t.Fatalf("report %+v, addendum %+v", rep, so)
	}
	if len(so.SignOffs) != 2 || so.SignOffs[1].Role != "oem_witness" || so.SignOffs[1].Rationale != a.SignOffs[1].Rationale ||
		so.Validation != "V-2025-004" || so.ManifestSHA256 != rep.ManifestSHA256 || so.AuditHead != a.AuditHead {
		t.Errorf("sign-offs %+v", so.Addendum)
	}
	// the original's entries, byte for byte, then the addendum's; only the directory differs
	orig, err := verify(original)
	if err != nil {
		t.Fatal(err)
	}
	if orig.ManifestSHA256 != rep.ManifestSHA256 {
		t.Errorf("manifest changed: %s, was %s", rep.ManifestSHA256, orig.ManifestSHA256)
	}
	n := bytes.Index(original, []byte{0x50, 0x4b, 0x01, 0x02}) // the original's central directory
	if n < 0 || !bytes.Equal(signed[:n], original[:n]) {
		t.Errorf("the original's files are not the first %d bytes of the bundle with sign-offs", n)
	}
	// without the addendum signer trusted, the bundle is refused and says whose it is
	if _, err := verify(signed, pubOf(testKey(1))); !errors.Is(err, bundle.ErrUnknownKey) || !strings.Contains(err.Error(), bundle.SignOffsFile) {
		t.Errorf("addendum by an untrusted key: %v", err)
	}
	// a later export replaces the addendum: one addendum, every sign-off so far
	a.SignOffs = append(a.SignOffs, bundle.SignOff{Name: "P. Manager", Role: "patch_manager", Decision: "approve", Time: t0.Add(49 * time.Hour)})
	var again bytes.Buffer
	if _, err := bundle.AddSignOffs(&again, bytes.NewReader(signed), int64(len(signed)), a, testKey(2)); err != nil {
		t.Fatal(err)
	}
	rep, err = verify(again.Bytes())
	if err != nil || rep.SignOffs == nil || len(rep.SignOffs.SignOffs) != 3 || rep.Files != orig.Files {
		t.Fatalf("second export: %v %+v", err, rep)
	}
	if c := strings.Count(string(again.Bytes()), bundle.SignOffsFile); c != 2 { // local header and directory
		t.Errorf("%s named %d times, want once in the headers and once in the directory", bundle.SignOffsFile, c)
	}
}

// TestSignOffsRefused: an addendum moved to another bundle, one of its files dropped, one
// naming another validation, or one re-signed by someone else without the original's key
// are refused.
func TestSignOffsRefused(t *testing.T) {
	_, signed, _ := jointBundle(t)
	files := unzip(t, signed)
	addendum := func(fs []zfile) []zfile {
		var out []zfile
		for _, f := range fs {
			if isAddendum(f.name) {
				out = append(out, f)
			}
		}
		return out
	}
	other := fixture(t, 100)
	other.Record.Patch = "P-2025-001"
	moved := append(unzip(t, build(t, other, testKey(1))), addendum(files)...)
	var dropped []zfile
	for _, f := range files {
		if f.name != bundle.SignOffsSignatureFile {
			dropped = append(dropped, f)
		}
	}
	forged := replace(files, bundle.SignOffsFile, bytes.Replace(find(files, bundle.SignOffsFile), []byte("approve"), []byte("reject!"), 1))
	attacker := testKey(3)
	reSigned := replace(replace(forged, bundle.SignOffsSignatureFile, ed25519.Sign(attacker, find(forged, bundle.SignOffsFile))),
		bundle.SignOffsKeyFile, bundle.MarshalPublicKey(pubOf(attacker)))
	for _, tc := range []struct {
		name  string
		files []zfile
		want  string
	}{
		{"moved to another bundle", moved, "signed for the bundle whose manifest"},
		{"signature dropped", dropped, "the sign-off addendum is incomplete"},
		{"a decision changed", forged, "the sign-offs, their signature or the key was changed"},
	} {
		_, err := verify(rezip(t, tc.files))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// re-signed by a stranger: intact, but the stranger is not trusted
	if _, err := verify(rezip(t, reSigned), pubOf(testKey(1)), pubOf(testKey(2))); !errors.Is(err, bundle.ErrUnknownKey) {
		t.Errorf("addendum re-signed by a stranger: %v", err)
	}
	// AddSignOffs refuses a bundle that does not verify, and sign-offs of another validation
	bad := bytes.Clone(signed)
	bad[100] ^= 1
	if _, err := bundle.AddSignOffs(&bytes.Buffer{}, bytes.NewReader(bad), int64(len(bad)), bundle.Addendum{Validation: "V-2025-004"}, testKey(2)); err == nil {
		t.Error("sign-offs added to a changed bundle")
	}
	if _, err := bundle.AddSignOffs(&bytes.Buffer{}, bytes.NewReader(signed), int64(len(signed)), bundle.Addendum{Validation: "V-2025-009"}, testKey(2)); err == nil ||
		!strings.Contains(err.Error(), "V-2025-004") {
		t.Errorf("sign-offs of V-2025-009 added to V-2025-004's bundle: %v", err)
	}
}

// TestTamperRandomBytesWithSignOffs: the thousand random changes of TestTamperRandomBytes on
// a bundle with a sign-off addendum, the addendum's bytes included: every one refused.
func TestTamperRandomBytesWithSignOffs(t *testing.T) {
	_, signed, _ := jointBundle(t)
	counts := tamperRandomBytes(t, signed, pubOf(testKey(1)), pubOf(testKey(2)))
	if counts["signoffs"] < 50 || counts["structure"] < 350 || counts["signature"] < 30 {
		t.Errorf("changes not spread over the bundle and its addendum: %v", counts)
	}
}
