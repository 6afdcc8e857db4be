package bundle

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The sign-off addendum (docs/architecture.md, "Evidence bundles"): the people who signed a
// validation off sign after the bundle was written, often on another workstation, so their
// sign-offs travel in an addendum appended to the bundle. The bundle's own files, manifest,
// signature and key stay byte for byte as signed; the addendum names the SHA-256 of that
// manifest (the chain) and is signed on its own, by whoever exported it. An export writes one
// addendum with every sign-off so far; a later export replaces it.

// Names of the addendum's files, after the bundle's own.
const (
	SignOffsFile          = "signoffs.json"
	SignOffsSignatureFile = "signoffs.sig"
	SignOffsKeyFile       = "signoffs.pem"
)

// SignOffsFormat and SignOffsVersion name the addendum's layout.
const (
	SignOffsFormat  = "patchgate.signoffs"
	SignOffsVersion = 1
)

// maxSignOffs bounds the addendum read whole before it is trusted.
const maxSignOffs = 4 << 20

// SignOff is one person's signature on the validation, as the register holds it.
type SignOff struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Decision  string    `json:"decision"`
	Rationale string    `json:"rationale,omitempty"`
	Time      time.Time `json:"time"`
}

// Addendum is signoffs.json.
type Addendum struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// ManifestSHA256 chains the addendum to the bundle: the SHA-256 of its manifest.json.
	ManifestSHA256 string    `json:"manifest_sha256"`
	Validation     string    `json:"validation"`
	Patch          string    `json:"patch,omitempty"`
	Exported       time.Time `json:"exported"`
	ExportedBy     string    `json:"exported_by"`
	SignOffs       []SignOff `json:"signoffs"`
	// AuditHead is the hash of the register's audit chain when the addendum was written:
	// the sign-offs are entries before it.
	AuditHead string `json:"audit_head,omitempty"`
}

// SignOffsReport is what Verify found in a bundle's addendum.
type SignOffsReport struct {
	Addendum
	Fingerprint string            `json:"fingerprint"` // of the addendum signer's key
	Trusted     bool              `json:"trusted"`
	Key         ed25519.PublicKey `json:"-"`
}

func isAddendum(name string) bool {
	return name == SignOffsFile || name == SignOffsSignatureFile || name == SignOffsKeyFile
}

// AddSignOffs writes to w the bundle read from r (size bytes) with the addendum a signed by
// key, and returns the new file's SHA-256. The bundle must verify (its signer need not be
// key's owner); an addendum it already has is replaced. a.Format, a.Version and
// a.ManifestSHA256 are filled in here.
func AddSignOffs(w io.Writer, r io.ReaderAt, size int64, a Addendum, key ed25519.PrivateKey) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("sign-off addendum: signing key has %d bytes, want an ed25519 private key (%d)", len(key), ed25519.PrivateKeySize)
	}
	rep, err := Verify(r, size, nil)
	if err != nil {
		return "", fmt.Errorf("sign-off addendum: the bundle does not verify: %w", err)
	}
	subj, err := subjectOf(rep.RecordJSON)
	if err != nil {
		return "", fmt.Errorf("sign-off addendum: %s: %w", RecordFile, err)
	}
	if v := subj.validation(); v != "" && a.Validation != v {
		return "", fmt.Errorf("sign-off addendum: the bundle is validation %s's, not %s's", v, a.Validation)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return "", fmt.Errorf("sign-off addendum: %w", err)
	}
	a.Format, a.Version, a.ManifestSHA256 = SignOffsFormat, SignOffsVersion, rep.ManifestSHA256
	if a.SignOffs == nil {
		a.SignOffs = []SignOff{}
	}
	ab, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return "", err
	}
	ab = append(ab, '\n')
	sum := sha256.New()
	z := &zipWriter{w: io.MultiWriter(w, sum)}
	for _, f := range zr.File {
		if isAddendum(f.Name) {
			continue
		}
		rc, err := f.OpenRaw()
		if err != nil {
			return "", fmt.Errorf("sign-off addendum: %s: %w", f.Name, err)
		}
		if _, err := z.entry(f.Name, nil, func(w io.Writer) error {
			_, err := io.Copy(w, rc)
			return err
		}); err != nil {
			return "", fmt.Errorf("sign-off addendum: %w", err)
		}
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{SignOffsFile, ab}, {SignOffsSignatureFile, ed25519.Sign(key, ab)}, {SignOffsKeyFile, MarshalPublicKey(key.Public().(ed25519.PublicKey))}} {
		if _, err := z.entry(f.name, nil, bytesFill(f.data)); err != nil {
			return "", fmt.Errorf("sign-off addendum: %w", err)
		}
	}
	if err := z.close(); err != nil {
		return "", fmt.Errorf("sign-off addendum: %w", err)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// verifyAddendum checks the addendum's files, when the bundle has them: all three or none,
// the signature with its key, the layout, and the chain to the bundle's manifest.
func verifyAddendum(byName map[string]*zip.File, manifestSum string, subj subject) (*SignOffsReport, map[string][]byte, error) {
	present := 0
	for _, n := range []string{SignOffsFile, SignOffsSignatureFile, SignOffsKeyFile} {
		if byName[n] != nil {
			present++
		}
	}
	switch present {
	case 0:
		return nil, nil, nil
	case 3:
	default:
		return nil, nil, fmt.Errorf("%s: the sign-off addendum is incomplete: it needs %s, %s and %s", SignOffsFile, SignOffsFile, SignOffsSignatureFile, SignOffsKeyFile)
	}
	ab, sig, pubPEM, pub, err := readSigned(byName, signedFile{SignOffsFile, SignOffsSignatureFile, SignOffsKeyFile, maxSignOffs, "the sign-offs, their signature"})
	if err != nil {
		return nil, nil, err
	}
	rep := &SignOffsReport{Fingerprint: Fingerprint(pub), Key: pub}
	dec := json.NewDecoder(bytes.NewReader(ab))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep.Addendum); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", SignOffsFile, err)
	}
	a := rep.Addendum
	if a.Format != SignOffsFormat || a.Version != SignOffsVersion {
		return nil, nil, fmt.Errorf("%s: format %q version %d; this patchgate reads %q version %d", SignOffsFile, a.Format, a.Version, SignOffsFormat, SignOffsVersion)
	}
	if a.ManifestSHA256 != manifestSum {
		return nil, nil, fmt.Errorf("%s: signed for the bundle whose manifest has SHA-256 %s, not this one (%s)", SignOffsFile, a.ManifestSHA256, manifestSum)
	}
	if v, p := subj.validation(), subj.Patch; (v != "" && a.Validation != v) || (p != "" && a.Patch != p) {
		return nil, nil, fmt.Errorf("%s: sign-offs of validation %s (patch %s), but the record is validation %s of patch %s", SignOffsFile, a.Validation, a.Patch, v, p)
	}
	return rep, map[string][]byte{SignOffsFile: ab, SignOffsSignatureFile: sig, SignOffsKeyFile: pubPEM}, nil
}
