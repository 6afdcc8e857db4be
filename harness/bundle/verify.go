package bundle

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// ErrUnknownKey: the bundle is intact but was signed by none of the trusted keys.
var ErrUnknownKey = errors.New("signed by an unknown key")

// Report is what Verify found in a bundle in which every byte is as signed.
type Report struct {
	Fingerprint string `json:"fingerprint"` // of the signer's key (see Fingerprint)
	// Trusted: the signer is one of the trusted keys. False when no trusted keys were given:
	// the bundle is intact, but anyone could have signed it.
	Trusted bool `json:"trusted"`
	Files   int  `json:"files"` // files covered by the signed manifest
	// ManifestSHA256 is the SHA-256 of manifest.json, which a sign-off addendum names.
	ManifestSHA256 string            `json:"manifest_sha256"`
	Key            ed25519.PublicKey `json:"-"`
	// RecordJSON is record.json as signed; harness/evidence reads it.
	RecordJSON []byte `json:"-"`
	// SignOffs is the sign-off addendum (signoffs.go), nil when the bundle has none. With
	// trusted keys given, its signer must be one of them too.
	SignOffs *SignOffsReport `json:"signoffs,omitempty"`
}

// Size limits for the small files read whole before they are trusted.
const (
	maxManifest = 16 << 20
	maxKeyPEM   = 4 << 10
	maxRecord   = 256 << 20
)

// Verify checks a bundle of size bytes read from r: the manifest's signature with the key in
// pubkey.pem, which must be one of trusted when trusted is not empty; every listed file
// present with its size and SHA-256; no file that is not listed; clean, unique names; and
// every byte of the ZIP container as Write lays it out. The error names the file and what is
// wrong with it.
func Verify(r io.ReaderAt, size int64, trusted []ed25519.PublicKey) (*Report, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		return nil, fmt.Errorf("not a readable ZIP file: %w", err)
	}
	byName := map[string]*zip.File{}
	for i, f := range zr.File {
		if err := CheckPath(f.Name); err != nil {
			return nil, fmt.Errorf("ZIP entry %d: %w", i+1, err)
		}
		if byName[f.Name] != nil {
			return nil, fmt.Errorf("%s: appears twice in the ZIP", f.Name)
		}
		byName[f.Name] = f
		if f.Method != zip.Store {
			return nil, fmt.Errorf("%s: compressed (method %d); a bundle stores every file as is", f.Name, f.Method)
		}
		if f.CompressedSize64 != f.UncompressedSize64 {
			return nil, fmt.Errorf("%s: stored size %d and size %d differ", f.Name, f.CompressedSize64, f.UncompressedSize64)
		}
		if i > 0 && !entryLess(zr.File[i-1].Name, f.Name) {
			return nil, fmt.Errorf("%s: out of order (after %s); a bundle's files have a fixed order", f.Name, zr.File[i-1].Name)
		}
	}

	// the signature, over the exact bytes of manifest.json
	mb, sig, pubPEM, pub, err := readSigned(byName, signedFile{ManifestFile, SignatureFile, PublicKeyFile, maxManifest, "the manifest, the signature"})
	if err != nil {
		return nil, err
	}
	fp := Fingerprint(pub)
	ms := sha256.Sum256(mb)
	rep := &Report{Fingerprint: fp, Key: pub, ManifestSHA256: hex.EncodeToString(ms[:])}
	if len(trusted) > 0 {
		if rep.Trusted = isTrusted(trusted, pub); !rep.Trusted {
			return nil, fmt.Errorf("%w %s", ErrUnknownKey, fp)
		}
	}

	// the manifest, now known to be as signed
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	if m.Format != Format || m.Version != FormatVersion {
		return nil, fmt.Errorf("%s: format %q version %d; this patchgate reads %q version %d", ManifestFile, m.Format, m.Version, Format, FormatVersion)
	}
	listed := map[string]manifestFile{}
	for i, mf := range m.Files {
		if err := CheckPath(mf.Path); err != nil {
			return nil, fmt.Errorf("%s: file %d: %w", ManifestFile, i+1, err)
		}
		if i > 0 && m.Files[i-1].Path >= mf.Path {
			return nil, fmt.Errorf("%s: %s is not in sorted order or listed twice", ManifestFile, mf.Path)
		}
		if isControl(mf.Path) {
			return nil, fmt.Errorf("%s: lists %s, which the signature covers otherwise", ManifestFile, mf.Path)
		}
		listed[mf.Path] = mf
	}
	if _, ok := listed[RecordFile]; !ok {
		return nil, fmt.Errorf("%s: does not list %s", ManifestFile, RecordFile)
	}

	// every file against the manifest
	crcs := map[string]uint32{}
	var record []byte
	for _, f := range zr.File {
		if isControl(f.Name) || isAddendum(f.Name) {
			continue
		}
		mf, ok := listed[f.Name]
		if !ok {
			return nil, fmt.Errorf("%s: in the bundle but not in the signed manifest", f.Name)
		}
		if int64(f.CompressedSize64) != mf.Size {
			return nil, fmt.Errorf("%s: %d bytes, the signed manifest says %d", f.Name, f.CompressedSize64, mf.Size)
		}
		rc, err := f.OpenRaw()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		h, c := sha256.New(), crc32.NewIEEE()
		var w io.Writer = io.MultiWriter(h, c)
		var buf bytes.Buffer
		if f.Name == RecordFile && mf.Size <= maxRecord {
			w = io.MultiWriter(h, c, &buf)
		}
		n, err := io.Copy(w, rc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); n != mf.Size || got != mf.SHA256 {
			return nil, fmt.Errorf("%s: content changed: SHA-256 %s, the signed manifest says %s", f.Name, got, mf.SHA256)
		}
		crcs[f.Name] = c.Sum32()
		if f.Name == RecordFile {
			record = buf.Bytes()
		}
	}
	for _, mf := range m.Files {
		if byName[mf.Path] == nil {
			return nil, fmt.Errorf("%s: listed in the signed manifest but missing from the bundle", mf.Path)
		}
	}
	if record == nil {
		return nil, fmt.Errorf("%s: larger than %d bytes", RecordFile, maxRecord)
	}
	rep.RecordJSON = record
	subj, err := subjectOf(record)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RecordFile, err)
	}
	so, addendum, err := verifyAddendum(byName, rep.ManifestSHA256, subj)
	if err != nil {
		return nil, err
	}
	if so != nil && len(trusted) > 0 {
		if so.Trusted = isTrusted(trusted, so.Key); !so.Trusted {
			return nil, fmt.Errorf("%s: %w %s", SignOffsFile, ErrUnknownKey, so.Fingerprint)
		}
	}
	rep.SignOffs = so
	for name, data := range map[string][]byte{ManifestFile: mb, SignatureFile: sig, PublicKeyFile: pubPEM} {
		crcs[name] = crc32.ChecksumIEEE(data)
	}
	for name, data := range addendum {
		crcs[name] = crc32.ChecksumIEEE(data)
	}
	if err := checkContainer(r, size, zr, crcs); err != nil {
		return nil, err
	}
	rep.Files = len(m.Files)
	return rep, nil
}

// subject is what the sign-off addendum must agree with in record.json: the validation it
// belongs to and the patch.
type subject struct {
	Patch         string `json:"patch"`
	ChangeRequest *struct {
		Validation string `json:"validation"`
	} `json:"change_request"`
}

func (s subject) validation() string {
	if s.ChangeRequest != nil {
		return s.ChangeRequest.Validation
	}
	return ""
}

func subjectOf(record []byte) (subject, error) {
	var s subject
	err := json.Unmarshal(record, &s)
	return s, err
}

func isTrusted(trusted []ed25519.PublicKey, k ed25519.PublicKey) bool {
	return slices.ContainsFunc(trusted, func(t ed25519.PublicKey) bool { return t.Equal(k) })
}

func isControl(name string) bool {
	return name == ManifestFile || name == SignatureFile || name == PublicKeyFile
}

// signedFile names a file of a bundle signed on its own (the manifest, the sign-off
// addendum), its signature and its key.
type signedFile struct {
	data, sig, key string
	max            int64  // the data file's largest size
	what           string // what a signature that does not match says may have changed
}

// readSigned reads a signed file, its signature and its key (one, in the canonical PEM
// form), and checks the signature.
func readSigned(byName map[string]*zip.File, s signedFile) (data, sig, pubPEM []byte, pub ed25519.PublicKey, err error) {
	if data, err = readSmall(byName, s.data, s.max); err != nil {
		return
	}
	if sig, err = readSmall(byName, s.sig, ed25519.SignatureSize); err != nil {
		return
	}
	if pubPEM, err = readSmall(byName, s.key, maxKeyPEM); err != nil {
		return
	}
	keys, err := ParsePublicKeys(pubPEM)
	if err == nil && (len(keys) != 1 || !bytes.Equal(MarshalPublicKey(keys[0]), pubPEM)) {
		err = errors.New("not exactly one key in the canonical PEM form")
	}
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%s: %w", s.key, err)
	}
	pub = keys[0]
	if len(sig) != ed25519.SignatureSize {
		return nil, nil, nil, nil, fmt.Errorf("%s: %d bytes, an ed25519 signature has %d", s.sig, len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, data, sig) {
		return nil, nil, nil, nil, fmt.Errorf("%s: the signature does not match %s and key %s: %s or the key was changed", s.sig, s.data, Fingerprint(pub), s.what)
	}
	return data, sig, pubPEM, pub, nil
}

// readSmall reads a whole control file of at most max bytes.
func readSmall(byName map[string]*zip.File, name string, max int64) ([]byte, error) {
	f := byName[name]
	if f == nil {
		return nil, fmt.Errorf("%s: missing; this is not a signed evidence bundle", name)
	}
	if f.CompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d it can have", name, f.CompressedSize64, max)
	}
	rc, err := f.OpenRaw()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// checkContainer demands that every byte outside the files' data is the one Write puts
// there: local headers, descriptors, central directory and end record rebuilt from the
// names, sizes and CRCs, with nothing before, between or after.
func checkContainer(r io.ReaderAt, size int64, zr *zip.Reader, crcs map[string]uint32) error {
	var off int64
	var dir []byte
	for _, f := range zr.File {
		start := off
		lh := localHeader(f.Name)
		if at, ok := sameAt(r, off, lh); !ok {
			return fmt.Errorf("%s: its ZIP header differs from the canonical one at byte %d", f.Name, at)
		}
		off += int64(len(lh))
		if d, err := f.DataOffset(); err != nil || d != off {
			return fmt.Errorf("%s: its data is not where the ZIP header puts it", f.Name)
		}
		off += int64(f.CompressedSize64)
		crc := crcs[f.Name]
		if at, ok := sameAt(r, off, descriptor(crc, uint32(f.CompressedSize64))); !ok {
			return fmt.Errorf("%s: its ZIP data descriptor (CRC-32, sizes) differs from the canonical one at byte %d", f.Name, at)
		}
		off += descriptorLen
		dir = append(dir, centralHeader(f.Name, crc, uint32(f.CompressedSize64), uint32(start))...)
	}
	if at, ok := sameAt(r, off, dir); !ok {
		return fmt.Errorf("the ZIP central directory differs from the canonical one at byte %d", at)
	}
	end := endRecord(len(zr.File), uint32(len(dir)), uint32(off))
	off += int64(len(dir))
	if at, ok := sameAt(r, off, end); !ok {
		return fmt.Errorf("the ZIP end record differs from the canonical one at byte %d", at)
	}
	if off += int64(len(end)); off != size {
		return fmt.Errorf("the file has %d bytes, the bundle's ZIP structure ends at %d", size, off)
	}
	return nil
}

// sameAt reports whether r holds want at off, and else the offset of the first difference.
func sameAt(r io.ReaderAt, off int64, want []byte) (int64, bool) {
	got := make([]byte, len(want))
	n, _ := r.ReadAt(got, off)
	for i := range want {
		if i >= n || got[i] != want[i] {
			return off + int64(i), false
		}
	}
	return 0, true
}
