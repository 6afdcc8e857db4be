// Package bundle is the evidence bundle's container: a canonical ZIP of content files, a
// manifest of their SHA-256 hashes, its ed25519 signature and the signer's public key, and
// the sign-off addendum that may follow them (docs/architecture.md#evidence). It writes and
// checks that container and manages the signing keys; what the files say (the record, the
// reports, the traces) is harness/evidence's business, and their rendering harness/report's.
// Of the contents it knows only their names' fixed order and that record.json is listed.
//
// A bundle is a ZIP file holding, in this order:
//
//	record.json, report.html, report.pdf, identities.json, tool.json, timing.json
//	                         the files with a fixed place, those present
//	scenario/<name>          then the files under scenario/, pointmap/,
//	pointmap/<name>
//	...                      and every other content file, by name
//	manifest.json            path, SHA-256 and size of every file above, sorted by path
//	manifest.sig             ed25519 signature of the exact bytes of manifest.json (64 bytes)
//	pubkey.pem               the signer's public key (PEM "PUBLIC KEY", PKIX)
//	signoffs.json, signoffs.sig, signoffs.pem
//	                         the sign-off addendum (signoffs.go), when there is one
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
package bundle

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Names of the files the container itself needs.
const (
	RecordFile    = "record.json" // the one content file every bundle must list
	ManifestFile  = "manifest.json"
	SignatureFile = "manifest.sig"
	PublicKeyFile = "pubkey.pem"
)

// Format and FormatVersion name the manifest layout.
const (
	Format        = "patchgate.evidence"
	FormatVersion = 1
)

// leading are the content files with a fixed place, in that order; dirs the folders whose
// files follow them, in that order; every other content file comes after, by name.
var (
	leading = []string{RecordFile, "report.html", "report.pdf", "identities.json", "tool.json", "timing.json"}
	dirs    = []string{"scenario/", "pointmap/"}
)

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

// Entry is one content file of a bundle: its path in the bundle and what writes its bytes.
type Entry struct {
	Name string
	Fill func(io.Writer) error
}

// Bytes is an entry holding data.
func Bytes(name string, data []byte) Entry { return Entry{name, bytesFill(data)} }

// CheckKey refuses a signing key that is not an ed25519 private key.
func CheckKey(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("signing key has %d bytes, want an ed25519 private key (%d)", len(key), ed25519.PrivateKeySize)
	}
	return nil
}

// Write writes entries to w as one bundle signed with key, in the bundle's order whatever
// their order here, and returns the SHA-256 of the whole file (hex). The same entries and
// key give the same bytes.
func Write(w io.Writer, entries []Entry, key ed25519.PrivateKey) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	entries = append([]Entry(nil), entries...)
	sort.SliceStable(entries, func(i, j int) bool { return entryLess(entries[i].Name, entries[j].Name) })
	for i, e := range entries {
		if err := CheckPath(e.Name); err != nil {
			return "", err
		}
		if isControl(e.Name) || isAddendum(e.Name) || (i > 0 && entries[i-1].Name == e.Name) {
			return "", fmt.Errorf("%s: not a content file name, or given twice", e.Name)
		}
	}

	sum := sha256.New()
	z := &zipWriter{w: io.MultiWriter(w, sum)}
	m := manifest{Format: Format, Version: FormatVersion}
	for _, e := range entries {
		h := sha256.New()
		n, err := z.entry(e.Name, h, e.Fill)
		if err != nil {
			return "", err
		}
		m.Files = append(m.Files, manifestFile{Path: e.Name, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n})
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
			return "", err
		}
	}
	if err := z.close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// entryRank orders a bundle's files: the leading content files first, then the folders, the
// other content files, the manifest, its signature and the key, then the sign-off addendum.
func entryRank(name string) int {
	for i, n := range leading {
		if name == n {
			return i
		}
	}
	for i, n := range []string{ManifestFile, SignatureFile, PublicKeyFile, SignOffsFile, SignOffsSignatureFile, SignOffsKeyFile} {
		if name == n {
			return 10 + i
		}
	}
	for i, d := range dirs {
		if strings.HasPrefix(name, d) {
			return len(leading) + i
		}
	}
	return len(leading) + len(dirs)
}

func entryLess(a, b string) bool {
	if ra, rb := entryRank(a), entryRank(b); ra != rb {
		return ra < rb
	}
	return a < b
}

// CheckPath refuses entry names that are not clean relative slash paths.
func CheckPath(name string) error {
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
