package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files of a workstation key folder.
const (
	PrivateKeyFile = "key.pem" // PKCS#8, PEM "PRIVATE KEY", mode 0600
	PubKeyFile     = "pub.pem" // PKIX, PEM "PUBLIC KEY": hand this to whoever checks bundles
)

// DefaultKeyDir is where a workstation keeps its signing key unless told otherwise:
// <user config dir>/patchgate/keys.
func DefaultKeyDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "patchgate", "keys"), nil
}

// LoadOrCreateKey returns the workstation's signing key from dir, creating dir (mode 0700),
// a new key.pem (mode 0600) and pub.pem on first use; created reports that. An existing key
// that cannot be read is an error, never silently replaced.
func LoadOrCreateKey(dir string) (key ed25519.PrivateKey, created bool, err error) {
	keyPath := filepath.Join(dir, PrivateKeyFile)
	if data, err := os.ReadFile(keyPath); err == nil {
		key, err := parsePrivateKey(data)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", keyPath, err)
		}
		return key, false, ensurePub(dir, key)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, err
	}
	// O_EXCL: of two processes creating the key at once, one wins and the other loads it
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(dir)
	}
	if err != nil {
		return nil, false, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(keyPath)
		return nil, false, fmt.Errorf("%s: %w", keyPath, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(keyPath)
		return nil, false, fmt.Errorf("%s: %w", keyPath, err)
	}
	return key, true, ensurePub(dir, key)
}

// ensurePub writes pub.pem when missing and checks it matches the key when present.
func ensurePub(dir string, key ed25519.PrivateKey) error {
	pubPath := filepath.Join(dir, PubKeyFile)
	want := MarshalPublicKey(key.Public().(ed25519.PublicKey))
	data, err := os.ReadFile(pubPath)
	if errors.Is(err, fs.ErrNotExist) {
		return os.WriteFile(pubPath, want, 0o644)
	}
	if err != nil {
		return err
	}
	keys, err := ParsePublicKeys(data)
	if err != nil || len(keys) != 1 || !keys[0].Equal(key.Public()) {
		return fmt.Errorf("%s does not hold the public key of %s; remove it and it is written again", pubPath, PrivateKeyFile)
	}
	return nil
}

func parsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New(`no PEM "PRIVATE KEY" block`)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want an ed25519 key", k)
	}
	return key, nil
}

// MarshalPublicKey encodes pub as PEM "PUBLIC KEY" (PKIX), as pubkey.pem and pub.pem hold it.
func MarshalPublicKey(pub ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // an ed25519 key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKeys reads every PEM "PUBLIC KEY" block of data (PKIX ed25519 keys); a file of
// trusted keys may hold several.
func ParsePublicKeys(data []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("PEM block %q, want \"PUBLIC KEY\"", block.Type)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("a %T public key, want ed25519", k)
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, errors.New(`no PEM "PUBLIC KEY" block`)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("text after the last PEM block")
	}
	return keys, nil
}

// Fingerprint names a public key for people: the first 16 hex digits of the SHA-256 of its
// 32 raw bytes. Trust is decided on the whole key, never on the fingerprint.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}
