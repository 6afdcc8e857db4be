package workspace

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/driver"
)

func TestKeyDirFromConfig(t *testing.T) {
	dir, keys := t.TempDir(), t.TempDir()
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"default", Config{Dir: dir}, filepath.Join(dir, "keys")},
		{"configured", Config{Dir: dir, KeyDir: keys}, keys},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := Open(context.Background(), c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if got := w.KeyDir(); got != c.want {
				t.Errorf("KeyDir() = %q, want %q", got, c.want)
			}
			w.SetKeyDir("")
			if got, want := w.KeyDir(), filepath.Join(dir, "keys"); got != want {
				t.Errorf("after SetKeyDir(\"\"): KeyDir() = %q, want the default %q", got, want)
			}
		})
	}
}

func TestInspectKey(t *testing.T) {
	t.Run("no key", func(t *testing.T) {
		dir := t.TempDir()
		_, err := InspectKey(dir)
		if !errors.Is(err, ErrNoKey) {
			t.Fatalf("InspectKey(empty folder) = %v, want ErrNoKey", err)
		}
		if _, err := os.Stat(filepath.Join(dir, bundle.PrivateKeyFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("InspectKey made a key: %v", err)
		}
	})
	t.Run("missing folder", func(t *testing.T) {
		if _, err := InspectKey(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, ErrNoKey) {
			t.Fatalf("InspectKey(missing folder) = %v, want ErrNoKey", err)
		}
	})
	t.Run("key", func(t *testing.T) {
		dir := t.TempDir()
		key, _, err := bundle.LoadOrCreateKey(dir)
		if err != nil {
			t.Fatal(err)
		}
		k, err := InspectKey(dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := bundle.Fingerprint(key.Public().(ed25519.PublicKey)); k.Fingerprint != want {
			t.Errorf("fingerprint %s, want %s", k.Fingerprint, want)
		}
		if k.PubFile != filepath.Join(dir, bundle.PubKeyFile) {
			t.Errorf("pub file %s", k.PubFile)
		}
	})
	t.Run("not a key", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, bundle.PrivateKeyFile), []byte("hello"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := InspectKey(dir)
		if err == nil || errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "not usable") {
			t.Fatalf("InspectKey(garbage key.pem) = %v, want a not-usable error", err)
		}
	})
	t.Run("pub.pem of another key", func(t *testing.T) {
		dir, other := t.TempDir(), t.TempDir()
		for _, d := range []string{dir, other} {
			if _, _, err := bundle.LoadOrCreateKey(d); err != nil {
				t.Fatal(err)
			}
		}
		pub, _ := os.ReadFile(filepath.Join(other, bundle.PubKeyFile))
		if err := os.WriteFile(filepath.Join(dir, bundle.PubKeyFile), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := InspectKey(dir); err == nil {
			t.Fatal("InspectKey accepted a pub.pem of another key")
		}
	})
}

// testCert makes a self-signed certificate named cn (ed25519: fast).
func testCert(t *testing.T, cn string) []byte {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"bench"}},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func sha1Hex(der []byte) string {
	s := sha1.Sum(der)
	return hex.EncodeToString(s[:])
}

func TestTrustedCerts(t *testing.T) {
	if certs, err := TrustedCerts(filepath.Join(t.TempDir(), "trusted")); err != nil || certs != nil {
		t.Fatalf("missing folder: %v, %v; want no certificates and no error", certs, err)
	}
	dir := t.TempDir()
	plc, scada, hmi := testCert(t, "plc-1"), testCert(t, "scada"), testCert(t, "hmi")
	pemPair := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: scada}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hmi})...)
	files := map[string][]byte{
		"plc-1 [" + sha1Hex(plc) + "].der": plc,
		"pair.pem":                         pemPair,
		"README.txt":                       []byte("move trusted certificates here"),
	}
	for n, data := range files {
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	certs, err := TrustedCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ file, subject, sha1, err string }
	var got []row
	for _, c := range certs {
		r := row{c.File, c.Subject, c.SHA1, ""}
		if c.Err != "" {
			r.err = "err"
		}
		got = append(got, r)
	}
	want := []row{
		{"README.txt", "", "", "err"},
		{"pair.pem", "CN=scada,O=bench", sha1Hex(scada), ""},
		{"pair.pem", "CN=hmi,O=bench", sha1Hex(hmi), ""},
		{"plc-1 [" + sha1Hex(plc) + "].der", "CN=plc-1,O=bench", sha1Hex(plc), ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %v, want %v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestWithTrust(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki dir", "trusted")
	for _, c := range []struct{ target, want string }{
		{"opc.tcp://10.0.0.5:4840", "opc.tcp://10.0.0.5:4840?trust=DIR"},
		{"opc.tcp://10.0.0.5:4840/ua?security=Basic256Sha256&mode=Sign", "opc.tcp://10.0.0.5:4840/ua?security=Basic256Sha256&mode=Sign&trust=DIR"},
		{"opc.tcp://10.0.0.5:4840?", "opc.tcp://10.0.0.5:4840?trust=DIR"},
		// unchanged: its own trust folder, no security, not OPC UA
		{"opc.tcp://10.0.0.5:4840?trust=/etc/pki", ""},
		{"opc.tcp://127.0.0.1:4840?security=None&mode=None&allow_insecure=1", ""},
		{"modbus://10.0.0.5:502?unit=1", ""},
		{"sim://tank?firmware=baseline", ""},
	} {
		want := strings.ReplaceAll(c.want, "DIR", strings.ReplaceAll(strings.ReplaceAll(dir, "/", "%2F"), " ", "+"))
		if c.want == "" {
			want = c.target
		}
		if got := withTrust(c.target, dir); got != want {
			t.Errorf("withTrust(%q) = %q, want %q", c.target, got, want)
		}
		if got := withTrust(c.target, ""); got != c.target {
			t.Errorf("withTrust(%q, no folder) = %q, want it unchanged", c.target, got)
		}
	}
	// the driver reads the folder back from the target
	tg, err := driver.ParseTarget(withTrust("opc.tcp://10.0.0.5:4840", dir))
	if err != nil {
		t.Fatal(err)
	}
	q, err := driver.QueryParams(tg.URL.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0] != [2]string{"trust", dir} {
		t.Errorf("query reads back as %q, want trust=%q", q, dir)
	}
}
