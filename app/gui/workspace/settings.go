package workspace

// The folders the Settings tab shows and changes: the signing key and the OPC UA trust
// store. Both may change while the workspace is open; the workspace folder itself is fixed
// for the life of a Workspace.

import (
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/harness/evidence"
)

// KeyDir is the folder of the workstation signing key: Config.KeyDir, by default Dir/keys,
// or what SetKeyDir last set.
func (w *Workspace) KeyDir() string {
	w.folders.Lock()
	defer w.folders.Unlock()
	if w.keyDir == "" {
		return filepath.Join(w.Dir, "keys")
	}
	return w.keyDir
}

// SetKeyDir makes dir the signing key folder of the next export; "" is the default,
// Dir/keys. It does not check dir: Key does (Settings checks before it sets).
func (w *Workspace) SetKeyDir(dir string) {
	w.folders.Lock()
	defer w.folders.Unlock()
	w.keyDir = dir
}

// ErrNoKey is a key folder without a signing key (no key.pem in it).
var ErrNoKey = errors.New("no signing key")

// KeyInfo is the signing key of a key folder, as people compare it.
type KeyInfo struct {
	Dir         string
	Fingerprint string // evidence.Fingerprint: what `patchgate verify` prints as "signed by"
	PubFile     string // the public key (pub.pem) to hand to whoever checks bundles
}

// InspectKey reads the signing key of dir without making one: an error wrapping ErrNoKey
// when dir holds no key.pem, another error when key.pem is not a usable ed25519 key or
// pub.pem beside it does not match. It uses the loader Export uses, so a folder it accepts
// is one Export signs with; like Export, it writes a missing pub.pem.
func InspectKey(dir string) (KeyInfo, error) {
	keyPath := filepath.Join(dir, evidence.PrivateKeyFile)
	fi, err := os.Stat(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return KeyInfo{}, fmt.Errorf("%w in %s: it holds no %s", ErrNoKey, dir, evidence.PrivateKeyFile)
	case err != nil:
		return KeyInfo{}, fmt.Errorf("signing key: %w", err)
	case fi.IsDir():
		return KeyInfo{}, fmt.Errorf("signing key: %s is a folder", keyPath)
	}
	key, _, err := evidence.LoadOrCreateKey(dir)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("signing key in %s is not usable: %w", dir, err)
	}
	return KeyInfo{
		Dir:         dir,
		Fingerprint: evidence.Fingerprint(key.Public().(ed25519.PublicKey)),
		PubFile:     filepath.Join(dir, evidence.PubKeyFile),
	}, nil
}

// Key is the signing key of KeyDir; see InspectKey. Before the first export the default
// folder holds none yet (ErrNoKey): Export makes it.
func (w *Workspace) Key() (KeyInfo, error) { return InspectKey(w.KeyDir()) }

// DefaultTrustDir is the OPC UA driver's trust folder for a target that names none with
// trust=DIR: <user config dir>/patchgate/pki/trusted (see package harness/driver/opcua).
func DefaultTrustDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "patchgate", "pki", "trusted"), nil
}

// TrustDir is the folder of trusted OPC UA server certificates: Config.TrustDir or what
// SetTrustDir last set, else the driver's default (DefaultTrustDir). custom reports that it
// is not the default, and so that WithTrust names it in targets.
func (w *Workspace) TrustDir() (dir string, custom bool, err error) {
	w.folders.Lock()
	dir = w.trustDir
	w.folders.Unlock()
	if dir != "" {
		return dir, true, nil
	}
	dir, err = DefaultTrustDir()
	return dir, false, err
}

// SetTrustDir makes dir the trust folder of OPC UA targets that name none; "" is the
// driver's default.
func (w *Workspace) SetTrustDir(dir string) {
	w.folders.Lock()
	defer w.folders.Unlock()
	w.trustDir = dir
}

// WithTrust returns target with trust=DIR added when the workspace has a trust folder other
// than the driver's default and target is a secure opc.tcp target that names none. Other
// targets (Modbus, simulated, security=None such as the embedded stations, or one with its
// own trust=) come back as they are.
func (w *Workspace) WithTrust(target string) string {
	w.folders.Lock()
	dir := w.trustDir
	w.folders.Unlock()
	return withTrust(target, dir)
}

func withTrust(target, dir string) string {
	t := strings.TrimSpace(target)
	scheme, _, ok := strings.Cut(t, "://")
	if dir == "" || !ok || !strings.EqualFold(scheme, "opc.tcp") || strings.Contains(t, "#") {
		return target // the driver refuses a fragment: leave that error to it
	}
	_, query, hasQuery := strings.Cut(t, "?")
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "trust":
			return target
		case k == "security" && strings.EqualFold(v, "none"):
			return target // the trust folder is not read without security
		}
	}
	switch {
	case !hasQuery:
		t += "?"
	case query != "" && !strings.HasSuffix(query, "&"):
		t += "&"
	}
	return t + "trust=" + url.QueryEscape(dir)
}

// TrustedCert is one certificate in the trust folder, or one file there the driver passes
// over (Err says why).
type TrustedCert struct {
	File    string // file name in the folder
	Subject string // "CN=...,O=..."
	SHA1    string // thumbprints of the DER, lower-case hex, as the driver's refusal names them
	SHA256  string
	Err     string // "not a DER or PEM certificate", ...; the other fields but File are empty
}

// TrustedCerts lists the certificates of an OPC UA trust folder as the driver reads it:
// every file that is not a folder, each PEM CERTIFICATE block or DER certificate in it, by
// file name. A folder that does not exist yet is an empty list: the driver makes it on the
// first secure connect.
func TrustedCerts(dir string) ([]TrustedCert, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trust folder: %w", err)
	}
	var out []TrustedCert
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			out = append(out, TrustedCert{File: e.Name(), Err: err.Error()})
			continue
		}
		ders := certificates(data)
		if len(ders) == 0 {
			out = append(out, TrustedCert{File: e.Name(), Err: "not a DER or PEM certificate: the driver passes over it"})
			continue
		}
		for _, der := range ders {
			tc := TrustedCert{File: e.Name()}
			s1, s256 := sha1.Sum(der), sha256.Sum256(der)
			tc.SHA1, tc.SHA256 = hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:])
			if c, err := x509.ParseCertificate(der); err == nil {
				tc.Subject = c.Subject.String()
			} else {
				tc.Err = "certificate does not parse: " + err.Error()
			}
			out = append(out, tc)
		}
	}
	slices.SortStableFunc(out, func(a, b TrustedCert) int { return strings.Compare(a.File, b.File) })
	return out, nil
}

// certificates returns the DER certificates of a PEM file (every CERTIFICATE block) or of a
// DER file (one or more concatenated), as the OPC UA driver reads its trust folder.
func certificates(data []byte) [][]byte {
	var out [][]byte
	rest := data
	for {
		blk, r := pem.Decode(rest)
		if blk == nil {
			break
		}
		rest = r
		if blk.Type == "CERTIFICATE" {
			out = append(out, blk.Bytes)
		}
	}
	if out != nil {
		return out
	}
	cs, err := x509.ParseCertificates(data)
	if err != nil {
		return nil
	}
	for _, c := range cs {
		out = append(out, c.Raw)
	}
	return out
}
