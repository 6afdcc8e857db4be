package workspace

// The folders the Settings tab shows and changes: the signing key and the OPC UA trust
// store. Both may change while the workspace is open; the workspace folder itself is fixed
// for the life of a Workspace.

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/driver/opcua"
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
	Fingerprint string // bundle.Fingerprint: what `patchgate verify` prints as "signed by"
	PubFile     string // the public key (pub.pem) to hand to whoever checks bundles
}

// InspectKey reads the signing key of dir without making one: an error wrapping ErrNoKey
// when dir holds no key.pem, another error when key.pem is not a usable ed25519 key or
// pub.pem beside it does not match. It uses the loader Export uses, so a folder it accepts
// is one Export signs with; like Export, it writes a missing pub.pem.
func InspectKey(dir string) (KeyInfo, error) {
	keyPath := filepath.Join(dir, bundle.PrivateKeyFile)
	fi, err := os.Stat(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return KeyInfo{}, fmt.Errorf("%w in %s: it holds no %s", ErrNoKey, dir, bundle.PrivateKeyFile)
	case err != nil:
		return KeyInfo{}, fmt.Errorf("signing key: %w", err)
	case fi.IsDir():
		return KeyInfo{}, fmt.Errorf("signing key: %s is a folder", keyPath)
	}
	key, _, err := bundle.LoadOrCreateKey(dir)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("signing key in %s is not usable: %w", dir, err)
	}
	return KeyInfo{
		Dir:         dir,
		Fingerprint: bundle.Fingerprint(key.Public().(ed25519.PublicKey)),
		PubFile:     filepath.Join(dir, bundle.PubKeyFile),
	}, nil
}

// Key is the signing key of KeyDir; see InspectKey. Before the first export the default
// folder holds none yet (ErrNoKey): Export makes it.
func (w *Workspace) Key() (KeyInfo, error) { return InspectKey(w.KeyDir()) }

// DefaultTrustDir is the OPC UA driver's trust folder for a target that names none with
// trust=DIR.
func DefaultTrustDir() (string, error) { return opcua.DefaultTrustDir() }

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
type TrustedCert = opcua.Trusted

// TrustedCerts lists the certificates of an OPC UA trust folder as the driver reads it (the
// driver owns that reading; see opcua.ListTrusted).
func TrustedCerts(dir string) ([]TrustedCert, error) { return opcua.ListTrusted(dir) }

// UntrustedServer is the refusal of an OPC UA server whose certificate is not trusted: its
// subject and thumbprints, and where the driver saved it.
type UntrustedServer = opcua.UntrustedError

// Untrusted returns the refusal of an untrusted OPC UA server within err, or nil.
func Untrusted(err error) *UntrustedServer {
	var ue *opcua.UntrustedError
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}

// TrustServer trusts the certificate of a refused server: it moves it from the rejected
// folder into the trust folder the driver checked, as `patchgate trust add` does.
func TrustServer(ue *UntrustedServer) (TrustedCert, error) {
	if ue.Rejected == "" {
		return TrustedCert{}, fmt.Errorf("the certificate could not be saved when it was refused; save it as %s to trust it", ue.Trust)
	}
	return opcua.TrustRejected(filepath.Dir(ue.Trust), ue.SHA256)
}
