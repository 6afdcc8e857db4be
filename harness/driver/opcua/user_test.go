package opcua

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
)

// serveCfg starts the OPC UA face of the frozen tank with cfg on a free 127.0.0.1 port.
func serveCfg(tb testing.TB, cfg opcuaserver.Config) *opcuaserver.Server {
	tb.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := opcuaserver.Start(testContext(tb), newTank(tb, "", true), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// userPair writes a new user certificate (PEM) and key (PEM) into dir.
func userPair(tb testing.TB, dir string) (der []byte, certFile, keyFile string) {
	tb.Helper()
	der, key, err := newClientCertificate()
	if err != nil {
		tb.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "user.pem"), filepath.Join(dir, "user.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return der, certFile, keyFile
}

const testPassword = "c0rrect horse&battery=staple"

// TestPoliciesAndUserTokens opens a real session with every secure policy, in both modes
// anonymously and with each user token kind, and reads through it.
func TestPoliciesAndUserTokens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	der, certFile, keyFile := userPair(t, dir)
	pwFile := filepath.Join(dir, "operator.pw")
	if err := os.WriteFile(pwFile, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	anon := serveCfg(t, opcuaserver.Config{Policies: opcuaserver.AllPolicies})
	users := serveCfg(t, opcuaserver.Config{Policies: opcuaserver.AllPolicies, Security: opcuaserver.SecurityEncrypt,
		Users: map[string]string{"operator": testPassword}, UserCerts: [][]byte{der}})
	userQ := "user=operator&password_file=" + url.QueryEscape(pwFile)
	certQ := "user_cert=" + url.QueryEscape(certFile) + "&user_key=" + url.QueryEscape(keyFile)
	for _, policy := range []string{PolicyBasic256Sha256, PolicyAes128Sha256RsaOaep, PolicyAes256Sha256RsaPss} {
		for _, tc := range []struct {
			name  string
			s     *opcuaserver.Server
			query string
			mode  string
			user  string
		}{
			{"anonymous sign", anon, "", ModeSign, ""},
			{"anonymous encrypt", anon, "", ModeSignAndEncrypt, ""},
			{"user name", users, userQ, ModeSignAndEncrypt, "operator"},
			{"certificate", users, certQ, ModeSignAndEncrypt, "CN=patchgate@"},
		} {
			t.Run(policy+"/"+tc.name, func(t *testing.T) {
				q := "security=" + policy + "&mode=" + tc.mode
				if tc.query != "" {
					q += "&" + tc.query
				}
				conn := dial(t, tc.s, q, tankMap(t))
				if r := readTags(t, conn, "Firmware")[0]; r.Quality != driver.Good || r.Value.Text() != "3.2.0" {
					t.Errorf("Firmware: %s %v %v", r.Quality, r.Value, r.Err)
				}
				idt, err := conn.Identity(testContext(t))
				if err != nil {
					t.Fatal(err)
				}
				if want := policy + " " + tc.mode; idt.Extra["security"] != want {
					t.Errorf("security %q, want %q", idt.Extra["security"], want)
				}
				if !strings.HasPrefix(idt.Extra["user"], tc.user) || (tc.user == "") != (idt.Extra["user_token"] == "") {
					t.Errorf("identity names user %q (token %q); want %q", idt.Extra["user"], idt.Extra["user_token"], tc.user)
				}
				for k, v := range idt.Extra {
					if strings.Contains(v, testPassword) {
						t.Errorf("identity %s holds the password", k)
					}
				}
				// a reconnect activates a new session with the same identity
				if err := conn.Reconnect(testContext(t)); err != nil {
					t.Fatalf("reconnect: %v", err)
				}
				readTags(t, conn, "Level")
			})
		}
	}
}

// TestUserRefused: a wrong password, an unknown user, an untrusted user certificate and an
// anonymous session are refused by a server with users, each with an error that names the
// user and the server's status, and never the password.
func TestUserRefused(t *testing.T) {
	dir := t.TempDir()
	der, _, _ := userPair(t, dir)
	other := t.TempDir()
	_, otherCert, otherKey := userPair(t, other)
	s := serveCfg(t, opcuaserver.Config{Users: map[string]string{"operator": testPassword}, UserCerts: [][]byte{der}})
	trust := newPKIDir(t, s, true)
	wrong := filepath.Join(dir, "wrong.pw")
	if err := os.WriteFile(wrong, []byte("not-the-password"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PG_TEST_OP_PW", testPassword)
	t.Setenv(PasswordEnv, "env-wrong-password")
	for _, tc := range []struct {
		name, query string
		want        []string
		status      Status
	}{
		{"wrong password", "user=operator&password_file=" + url.QueryEscape(wrong),
			[]string{`user "operator"`, "BadUserAccessDenied (0x801F0000)", "password_file " + wrong}, Status(0x801F0000)},
		{"wrong password from the default variable", "user=operator",
			[]string{`user "operator"`, "BadUserAccessDenied", "environment variable " + PasswordEnv}, Status(0x801F0000)},
		{"unknown user", "user=nobody&password_env=PG_TEST_OP_PW",
			[]string{`user "nobody"`, "BadUserAccessDenied", "environment variable PG_TEST_OP_PW"}, Status(0x801F0000)},
		{"untrusted user certificate", "user_cert=" + url.QueryEscape(otherCert) + "&user_key=" + url.QueryEscape(otherKey),
			[]string{"user certificate", "SHA-1 thumbprint", "BadIdentityTokenRejected"}, Status(0x80210000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(testContext(t), targetURL(s, trust, tc.query), tankMap(t))
			if !errors.Is(err, ErrUserRefused) || !errors.Is(err, tc.status) {
				t.Fatalf("%v; want ErrUserRefused with %v", err, tc.status)
			}
			if errors.Is(err, driver.ErrBadTarget) {
				t.Errorf("%v: a refusal is the server's answer, not a bad target", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v; want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), "not-the-password") ||
				strings.Contains(err.Error(), "env-wrong-password") {
				t.Errorf("%v: the error holds a password", err)
			}
		})
	}
	// the right password from a named variable works
	conn := dial(t, s, "user=operator&password_env=PG_TEST_OP_PW", tankMap(t))
	readTags(t, conn, "Level")

	// anonymous: the endpoint says which tokens it takes
	_, err := open(testContext(t), targetURL(s, trust, ""), tankMap(t))
	if err == nil || !strings.Contains(err.Error(), "accepts no anonymous sessions; it accepts certificate, user name tokens") {
		t.Errorf("anonymous on a server with users: %v", err)
	}
	// a server without user certificates says so before any session
	pwOnly := serveCfg(t, opcuaserver.Config{Users: map[string]string{"operator": testPassword}})
	_, err = open(testContext(t), targetURL(pwOnly, newPKIDir(t, pwOnly, true), "user_cert="+url.QueryEscape(otherCert)+"&user_key="+url.QueryEscape(otherKey)), tankMap(t))
	if err == nil || !strings.Contains(err.Error(), "accepts no certificate tokens") || !strings.Contains(err.Error(), "it accepts user name tokens") {
		t.Errorf("certificate on a password-only server: %v", err)
	}
	// no password anywhere: named before any I/O
	t.Setenv(PasswordEnv, "")
	_, err = open(testContext(t), targetURL(s, trust, "user=operator"), tankMap(t))
	if !errors.Is(err, driver.ErrBadTarget) || !strings.Contains(err.Error(), PasswordEnv+" is not set") {
		t.Errorf("user without a password: %v", err)
	}
}

func TestUntrustedErrorNamesTheTrustCommand(t *testing.T) {
	def, err := DefaultTrustDir()
	if err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct{ trust, want string }{
		{filepath.Join(def, "x.der"), "(patchgate trust add 0123456789abcdef does that)"},
		{"/srv/pki/trusted/x.der", "(patchgate trust add 0123456789abcdef --trust /srv/pki/trusted does that)"},
		{"/srv/my pki/trusted/x.der", "(patchgate trust add 0123456789abcdef --trust '/srv/my pki/trusted' does that)"},
	} {
		e := &UntrustedError{SHA256: strings.Repeat("0123456789abcdef", 4), Rejected: "r.der", Trust: tc.trust}
		if !strings.Contains(e.Error(), tc.want) {
			t.Errorf("%s", e.Error())
		}
	}
}
