package bundle

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "patchgate", "keys")
	key, created, err := LoadOrCreateKey(dir)
	if err != nil || !created || len(key) != ed25519.PrivateKeySize {
		t.Fatalf("first use: created %v, %d bytes, %v", created, len(key), err)
	}
	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{PrivateKeyFile: 0o600, PubKeyFile: 0o644, ".": 0o700} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got&^want != 0 {
				t.Errorf("%s mode %v, want at most %v", name, got, want)
			}
		}
	}
	pem, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	if !bytes.HasPrefix(pem, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("key.pem is not PKCS#8 PEM: %q", pem[:min(len(pem), 40)])
	}

	again, created, err := LoadOrCreateKey(dir)
	if err != nil || created || !again.Equal(key) {
		t.Fatalf("second use: created %v, same key %v, %v", created, again.Equal(key), err)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, PubKeyFile))
	keys, err := ParsePublicKeys(pub)
	if err != nil || len(keys) != 1 || !keys[0].Equal(key.Public()) {
		t.Errorf("pub.pem does not hold the key's public half: %v", err)
	}

	// pub.pem is written again when missing, refused when it holds another key
	os.Remove(filepath.Join(dir, PubKeyFile))
	if _, _, err := LoadOrCreateKey(dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, PubKeyFile)); !bytes.Equal(b, pub) {
		t.Error("pub.pem not written again")
	}
	os.WriteFile(filepath.Join(dir, PubKeyFile), MarshalPublicKey(pubOf(testKey(7))), 0o644)
	if _, _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), "does not hold the public key") {
		t.Errorf("mismatched pub.pem: %v", err)
	}

	// a damaged key is an error, never replaced
	os.WriteFile(filepath.Join(dir, PrivateKeyFile), []byte("garbage"), 0o600)
	if _, _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), PrivateKeyFile) {
		t.Errorf("damaged key.pem: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile)); string(b) != "garbage" {
		t.Error("a damaged key was overwritten")
	}
}

func TestParsePublicKeys(t *testing.T) {
	a, b := MarshalPublicKey(pubOf(testKey(1))), MarshalPublicKey(pubOf(testKey(2)))
	cases := []struct {
		name string
		in   []byte
		n    int
		err  string
	}{
		{"one", a, 1, ""},
		{"two in one file", append(append([]byte(nil), a...), b...), 2, ""},
		{"trailing newline", append(append([]byte(nil), a...), '\n'), 1, ""},
		{"empty", nil, 0, "no PEM"},
		{"private key", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0, `"PRIVATE KEY"`},
		{"text after", append(append([]byte(nil), a...), "junk"...), 0, "text after"},
		{"bad DER", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0, "asn1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParsePublicKeys(tc.in)
			if tc.err == "" {
				if err != nil || len(keys) != tc.n {
					t.Errorf("%d keys, %v; want %d", len(keys), err, tc.n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a, b := Fingerprint(pubOf(testKey(1))), Fingerprint(pubOf(testKey(2)))
	if len(a) != 16 || strings.Trim(a, "0123456789abcdef") != "" || a == b {
		t.Errorf("fingerprints %q %q", a, b)
	}
	if a != Fingerprint(pubOf(testKey(1))) {
		t.Error("fingerprint not stable")
	}
}
