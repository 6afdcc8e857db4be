package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/patchgate/patchgate/harness/bundle"
	"io"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/verdict"
)

// zfile is one entry of a bundle, for tests that take bundles apart and put them together.
type zfile struct {
	name string
	data []byte
}

func unzip(t testing.TB, data []byte) []zfile {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zfile
	for _, f := range zr.File {
		rc, err := f.Open() // checks the CRC-32 and the data descriptor, as any unzip does
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out = append(out, zfile{f.Name, b})
	}
	return out
}

// rezip lays files out exactly as Write does (so only the signature and the hashes can
// catch what a test changed).
func rezip(t testing.TB, files []zfile) []byte {
	t.Helper()
	var buf bytes.Buffer
	var entries []bundle.Entry
	for _, f := range files {
		entries = append(entries, bundle.Bytes(f.name, f.data))
	}
	if err := bundle.WriteContainer(&buf, entries); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// resign does what an attacker with a key of their own would: a new manifest over the
// content files, signed, with their public key in pubkey.pem.
func resign(t testing.TB, files []zfile, key ed25519.PrivateKey) []zfile {
	t.Helper()
	m := testManifest{Format: bundle.Format, Version: bundle.FormatVersion}
	var out []zfile
	for _, f := range files {
		if isControl(f.name) {
			continue
		}
		sum := sha256.Sum256(f.data)
		m.Files = append(m.Files, testManifestFile{f.name, hex.EncodeToString(sum[:]), int64(len(f.data))})
		out = append(out, f)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	mb = append(mb, '\n')
	return append(out,
		zfile{bundle.ManifestFile, mb},
		zfile{bundle.SignatureFile, ed25519.Sign(key, mb)},
		zfile{bundle.PublicKeyFile, bundle.MarshalPublicKey(key.Public().(ed25519.PublicKey))})
}

func isControl(name string) bool {
	return name == bundle.ManifestFile || name == bundle.SignatureFile || name == bundle.PublicKeyFile
}

func isAddendum(name string) bool {
	return name == bundle.SignOffsFile || name == bundle.SignOffsSignatureFile || name == bundle.SignOffsKeyFile
}

func replace(files []zfile, name string, data []byte) []zfile {
	out := slices.Clone(files)
	for i := range out {
		if out[i].name == name {
			out[i].data = data
		}
	}
	return out
}

func find(files []zfile, name string) []byte {
	for _, f := range files {
		if f.name == name {
			return f.data
		}
	}
	return nil
}

func verify(data []byte, trusted ...ed25519.PublicKey) (*Report, error) {
	return Verify(bytes.NewReader(data), int64(len(data)), trusted)
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func TestWriteVerify(t *testing.T) {
	key := testKey(1)
	b := fixture(t, 600)
	var buf bytes.Buffer
	sum, err := Write(&buf, b, key)
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
		t.Errorf("Write returned SHA-256 %s, the bytes have %x", sum, got)
	}
	var names []string
	for _, f := range unzip(t, data) {
		names = append(names, f.name)
	}
	want := []string{"record.json", "report.html", "report.pdf", "identities.json", "tool.json", "timing.json",
		"scenario/tank-alarm-trip.yaml", "pointmap/tank.yaml",
		"traces/after-11-events.csv", "traces/after-11.csv", "traces/after-12-events.csv", "traces/after-12.csv",
		"traces/before-1-events.csv", "traces/before-1.csv", "traces/before-2-events.csv", "traces/before-2.csv",
		"manifest.json", "manifest.sig", "pubkey.pem"}
	if !slices.Equal(names, want) {
		t.Errorf("entries\n%q\nwant\n%q", names, want)
	}
	for _, trusted := range [][]ed25519.PublicKey{nil, {pubOf(testKey(9)), pubOf(key)}} {
		rep, err := verify(data, trusted...)
		if err != nil {
			t.Fatalf("trusted %d keys: %v", len(trusted), err)
		}
		if rep.Verdict != verdict.NoGo || rep.Scenario != "tank-alarm-trip" || rep.Files != len(want)-3 ||
			rep.Fingerprint != bundle.Fingerprint(pubOf(key)) || len(rep.Fingerprint) != 16 || rep.Trusted != (trusted != nil) {
			t.Errorf("report %+v", rep)
		}
		if len(rep.Record.Criteria) != len(b.Record.Criteria) {
			t.Errorf("record has %d criteria, want %d", len(rep.Record.Criteria), len(b.Record.Criteria))
		}
	}

	files := unzip(t, data)
	if got := string(find(files, "scenario/tank-alarm-trip.yaml")); got != string(b.Scenario.Data) {
		t.Error("the scenario is not stored as run")
	}
	var rec verdict.Record
	if err := json.Unmarshal(find(files, RecordFile), &rec); err != nil || rec.Verdict != verdict.NoGo || !strings.Contains(string(find(files, RecordFile)), "\n  \"verdict\"") {
		t.Errorf("record.json not the indented record: %v", err)
	}
	csv := string(find(files, "traces/before-1.csv"))
	if !strings.HasPrefix(csv, "t_s,slot,tag,value,quality,late_ms\n") || strings.Count(csv, "\n") != 1+3*600 {
		t.Errorf("before-1.csv: %d lines, header %q", strings.Count(csv, "\n"), csv[:min(len(csv), 40)])
	}
	var tool map[string]string
	if err := json.Unmarshal(find(files, ToolFile), &tool); err != nil || tool["version"] != "0.1.0-test" || tool["go"] == "" || tool["os"] == "" || tool["arch"] == "" {
		t.Errorf("tool.json %v %v", tool, err)
	}
	var ids struct {
		Before, After struct{ Firmware string }
		Runs          []struct{ Side string }
	}
	if err := json.Unmarshal(find(files, IdentitiesFile), &ids); err != nil || ids.Before.Firmware != "1.0.0" || ids.After.Firmware != "1.0.1" || len(ids.Runs) != 4 {
		t.Errorf("identities.json %+v %v", ids, err)
	}
	var m testManifest
	if err := json.Unmarshal(find(files, bundle.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	if !sort.SliceIsSorted(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path }) || len(m.Files) != len(want)-3 {
		t.Errorf("manifest not sorted or incomplete: %+v", m.Files)
	}
	for _, mf := range m.Files {
		sum := sha256.Sum256(find(files, mf.Path))
		if hex.EncodeToString(sum[:]) != mf.SHA256 || int64(len(find(files, mf.Path))) != mf.Size {
			t.Errorf("manifest entry %s does not match the file", mf.Path)
		}
	}
	keys, err := bundle.ParsePublicKeys(find(files, bundle.PublicKeyFile))
	if err != nil || !keys[0].Equal(pubOf(key)) {
		t.Errorf("pubkey.pem: %v", err)
	}
}

func TestDeterministic(t *testing.T) {
	b := fixture(t, 300)
	var one, two bytes.Buffer
	s1, err := Write(&one, b, testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Write(&two, fixture(t, 300), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if s1 != s2 || !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Fatalf("the same inputs gave different bundles (%s, %s)", s1, s2)
	}
	// and the inputs do matter
	b.Record.Reasons = append(b.Record.Reasons, "one more")
	var three bytes.Buffer
	if s3, _ := Write(&three, b, testKey(1)); s3 == s1 {
		t.Error("a changed record gave the same bundle")
	}
}

// TestTamperRandomBytes changes one byte anywhere in the bundle, a thousand times: every
// change is refused, a change in a file's data by its hash, a change in the manifest by the
// signature.
func TestTamperRandomBytes(t *testing.T) {
	key := testKey(1)
	counts := tamperRandomBytes(t, build(t, fixture(t, 200), key), pubOf(key))
	if counts["content"] < 100 || counts["structure"] < 350 || counts["signature"] < 50 || counts["key"] == 0 {
		t.Errorf("changes not spread over the bundle: %v", counts)
	}
}

// tamperRandomBytes changes one byte of data at a time, a thousand times, half anywhere and
// half in the ZIP structure, and demands that Verify refuse each for the right reason. It
// returns how many changes fell where.
func tamperRandomBytes(t *testing.T, data []byte, trusted ...ed25519.PublicKey) map[string]int {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	type region struct {
		name       string
		start, end int64
	}
	var regions []region
	for _, f := range zr.File {
		off, _ := f.DataOffset()
		regions = append(regions, region{f.Name, off, off + int64(f.CompressedSize64)})
	}
	in := func(off int64) string {
		for _, r := range regions {
			if off >= r.start && off < r.end {
				return r.name
			}
		}
		return ""
	}
	// the small signed files (the manifest, its signature and key, and a sign-off addendum's
	// files), which a change anywhere seldom hits
	var small []region
	for _, r := range regions {
		if isControl(r.name) || isAddendum(r.name) {
			small = append(small, r)
		}
	}
	rng := rand.New(rand.NewSource(20250314))
	counts := map[string]int{}
	for i := range 1000 {
		// 40 % anywhere, 40 % inside the ZIP structure (headers, directory) which is small,
		// 20 % in the small signed files
		var off int64
		switch i % 5 {
		case 0, 1:
			off = rng.Int63n(int64(len(data)))
		case 2, 3:
			for off = rng.Int63n(int64(len(data))); in(off) != ""; off = rng.Int63n(int64(len(data))) {
			}
		default:
			r := small[rng.Intn(len(small))]
			off = r.start + rng.Int63n(r.end-r.start)
		}
		bad := slices.Clone(data)
		bad[off] ^= byte(1 + rng.Intn(255))
		_, err := verify(bad, trusted...)
		if err == nil {
			t.Fatalf("byte %d (%s) changed: accepted", off, in(off))
		}
		msg := err.Error()
		switch name := in(off); {
		case name == bundle.ManifestFile || name == bundle.SignatureFile:
			counts["signature"]++
			if !strings.Contains(msg, "signature does not match") {
				t.Errorf("byte %d of %s changed: %v; want the signature to catch it", off, name, err)
			}
		case name == bundle.PublicKeyFile:
			counts["key"]++
			if !strings.Contains(msg, bundle.PublicKeyFile) && !strings.Contains(msg, "signature does not match") {
				t.Errorf("byte %d of pubkey.pem changed: %v", off, err)
			}
		case isAddendum(name):
			counts["signoffs"]++
			if !strings.Contains(msg, bundle.SignOffsKeyFile) && !strings.Contains(msg, "the sign-offs, their signature or the key was changed") {
				t.Errorf("byte %d of %s changed: %v; want the addendum's signature to catch it", off, name, err)
			}
		case name != "":
			counts["content"]++
			if !strings.Contains(msg, name+": content changed: SHA-256") {
				t.Errorf("byte %d of %s changed: %v; want the hash to catch it", off, name, err)
			}
		default:
			counts["structure"]++
		}
	}
	t.Logf("refused 1000 of 1000 changed bytes: %v", counts)
	return counts
}

func TestTamperFiles(t *testing.T) {
	key, attacker := testKey(1), testKey(2)
	data := build(t, fixture(t, 100), key)
	files := unzip(t, data)
	record := find(files, RecordFile)
	goRecord := bytes.Replace(record, []byte(`"verdict": "NO-GO"`), []byte(`"verdict": "GO"`), 1)
	if bytes.Equal(goRecord, record) {
		t.Fatal("fixture record has no NO-GO verdict to change")
	}
	sameSize := bytes.Replace(record, []byte("Level 90.8 at the alarm"), []byte("Level 90.4 at the alarm"), 1)
	without := func(name string) []zfile {
		return slices.DeleteFunc(slices.Clone(files), func(f zfile) bool { return f.name == name })
	}
	zipped := func(method uint16) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range files {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: method})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(f.data)
		}
		zw.Close()
		return buf.Bytes()
	}
	extra := slices.Clone(files)
	extra = slices.Insert(extra, 8, zfile{"notes.txt", []byte("nothing to see")})
	swapped := replace(replace(files, "traces/before-1.csv", find(files, "traces/before-2.csv")),
		"traces/before-2.csv", find(files, "traces/before-1.csv"))
	// a manifest edited to match a changed record: the signature no longer fits
	var m testManifest
	json.Unmarshal(find(files, bundle.ManifestFile), &m)
	for i := range m.Files {
		if m.Files[i].Path == RecordFile {
			sum := sha256.Sum256(goRecord)
			m.Files[i].SHA256, m.Files[i].Size = hex.EncodeToString(sum[:]), int64(len(goRecord))
		}
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	editedManifest := replace(replace(files, RecordFile, goRecord), bundle.ManifestFile, append(mb, '\n'))
	sigByOther := replace(files, bundle.SignatureFile, ed25519.Sign(attacker, find(files, bundle.ManifestFile)))

	cases := []struct {
		name    string
		bundle  []byte
		trusted []ed25519.PublicKey
		want    string
	}{
		{"record changed", rezip(t, replace(files, RecordFile, sameSize)), nil, "record.json: content changed: SHA-256"},
		{"record changed in size", rezip(t, replace(files, RecordFile, goRecord)), nil,
			fmt.Sprintf("record.json: %d bytes, the signed manifest says %d", len(goRecord), len(record))},
		{"trace changed", rezip(t, replace(files, "traces/after-11.csv", []byte("t_s,slot,tag,value,quality,late_ms\n"))), nil, "traces/after-11.csv: 35 bytes, the signed manifest says"},
		{"manifest edited to match", rezip(t, editedManifest), nil, "manifest.sig: the signature does not match"},
		{"signed by another key, original key left", rezip(t, sigByOther), nil, "manifest.sig: the signature does not match"},
		{"trace removed", rezip(t, without("traces/after-11.csv")), nil, "traces/after-11.csv: listed in the signed manifest but missing"},
		{"report removed", rezip(t, without(HTMLFile)), nil, "report.html: listed in the signed manifest but missing"},
		{"signature removed", rezip(t, without(bundle.SignatureFile)), nil, "manifest.sig: missing"},
		{"manifest removed", rezip(t, without(bundle.ManifestFile)), nil, "manifest.json: missing"},
		{"key removed", rezip(t, without(bundle.PublicKeyFile)), nil, "pubkey.pem: missing"},
		{"contents swapped", rezip(t, swapped), nil, "traces/before-1.csv: "},
		{"file added", rezip(t, extra), nil, "notes.txt: in the bundle but not in the signed manifest"},
		{"file added out of order", rezip(t, append(slices.Clone(files), zfile{"zz.txt", nil})), nil, "zz.txt: out of order"},
		{"duplicate name", rezip(t, slices.Insert(slices.Clone(files), 1, files[0])), nil, "record.json: appears twice"},
		{"parent path", rezip(t, append(slices.Clone(files[:1]), zfile{"../evil", []byte("x")})), nil, "points outside the bundle"},
		{"absolute path", rezip(t, append(slices.Clone(files[:1]), zfile{"/etc/evil", []byte("x")})), nil, "is an absolute path"},
		{"dot path", rezip(t, append(slices.Clone(files[:1]), zfile{"traces/./x.csv", []byte("x")})), nil, "is not a clean path"},
		{"backslash path", rezip(t, append(slices.Clone(files[:1]), zfile{`traces\..\x`, []byte("x")})), nil, "holds a backslash"},
		{"changed and re-signed by another key", rezip(t, resign(t, replace(files, RecordFile, goRecord), attacker)),
			[]ed25519.PublicKey{pubOf(key)}, "signed by an unknown key " + bundle.Fingerprint(pubOf(attacker))},
		{"re-signed by another key", rezip(t, resign(t, files, attacker)),
			[]ed25519.PublicKey{pubOf(key)}, "signed by an unknown key " + bundle.Fingerprint(pubOf(attacker))},
		{"re-zipped, compressed", zipped(zip.Deflate), nil, "record.json: compressed"},
		{"re-zipped, stored", zipped(zip.Store), nil, "record.json: its ZIP header differs from the canonical one at byte"},
		{"bytes appended", append(slices.Clone(data), 0), nil, "the bundle's ZIP structure ends at"},
		{"bytes prepended", append([]byte{0}, data...), nil, "its ZIP header differs from the canonical one at byte 0"},
		{"truncated", data[:len(data)-1], nil, "not a readable ZIP file"},
		{"empty", nil, nil, "not a readable ZIP file"},
		{"not a zip", []byte("%PDF-1.4 not a bundle"), nil, "not a readable ZIP file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(tc.bundle, tc.trusted...)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to say %q", err, tc.want)
			}
			if strings.Contains(tc.want, "unknown key") && !errors.Is(err, bundle.ErrUnknownKey) {
				t.Errorf("%v is not ErrUnknownKey", err)
			}
		})
	}

	// the limit of a signature without trusted keys: a re-signed bundle is intact, and only
	// the fingerprint tells who signed it
	forged := rezip(t, resign(t, replace(files, RecordFile, goRecord), attacker))
	rep, err := verify(forged)
	if err != nil {
		t.Fatalf("a consistently re-signed bundle without trusted keys: %v", err)
	}
	if rep.Trusted || rep.Fingerprint == bundle.Fingerprint(pubOf(key)) || rep.Verdict != verdict.Go {
		t.Errorf("re-signed bundle reported as %+v", rep)
	}
	if rep, err := verify(forged, pubOf(key), pubOf(attacker)); err != nil || !rep.Trusted {
		t.Errorf("trusting the attacker's key too: %v", err)
	}
	// rezip itself changes nothing: the untouched files laid out again are the same bundle
	if again := rezip(t, files); !bytes.Equal(again, data) {
		t.Error("rezip does not reproduce Write's layout; the cases above prove less than they say")
	}
}

func TestWriteRefuses(t *testing.T) {
	good := fixture(t, 10)
	cases := []struct {
		name string
		edit func(*Bundle)
		key  ed25519.PrivateKey
		want string
	}{
		{"no key", func(*Bundle) {}, nil, "signing key has 0 bytes"},
		{"scenario without a name", func(b *Bundle) { b.Scenario.Name = "" }, testKey(1), "the scenario file needs a name"},
		{"point map named ..", func(b *Bundle) { b.PointMap.Name = "a/.." }, testKey(1), "the point map file needs a name"},
		{"run id twice", func(b *Bundle) { b.After[1].Run.ID = b.After[0].Run.ID }, testKey(1), "after trace 2: run id 11 appears twice"},
		{"nil trace", func(b *Bundle) { b.Before[0] = nil }, testKey(1), "before trace 1 is nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := good
			b.Before, b.After = slices.Clone(good.Before), slices.Clone(good.After)
			a1 := *good.After[1]
			b.After[1] = &a1
			tc.edit(&b)
			_, err := Write(io.Discard, b, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestLargeTrace: a million-sample trace makes a small report (plots are decimated) and a
// bundle that verifies.
func TestLargeTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("large trace")
	}
	t.Parallel()
	b := fixture(t, 10)
	const n = 1_000_000 / 3 // three tags: a million samples per run
	b.Before = b.Before[:1]
	b.After = b.After[:1]
	b.Before[0] = synthTrace(1, "before", n+1, 10*time.Millisecond, 0, 0)
	b.After[0] = synthTrace(11, "after", n+1, 10*time.Millisecond, 0.8, 0)
	if len(b.Before[0].Samples) < 1_000_000 {
		t.Fatalf("only %d samples", len(b.Before[0].Samples))
	}
	start := time.Now()
	var buf bytes.Buffer
	if _, err := Write(&buf, b, testKey(1)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	files := unzip(t, buf.Bytes())
	html := find(files, HTMLFile)
	t.Logf("2 runs of %d samples: bundle %.1f MB in %v, report.html %d kB, report.pdf %d kB",
		len(b.Before[0].Samples), float64(buf.Len())/1e6, took.Round(time.Millisecond), len(html)/1000, len(find(files, PDFFile))/1000)
	if len(html) > 2<<20 {
		t.Errorf("report.html has %d bytes with a 1M-sample trace; plots are not decimated", len(html))
	}
	start = time.Now()
	if _, err := verify(buf.Bytes(), pubOf(testKey(1))); err != nil {
		t.Fatal(err)
	}
	t.Logf("verified in %v", time.Since(start).Round(time.Millisecond))
}
