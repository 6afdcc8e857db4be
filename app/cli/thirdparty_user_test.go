package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/fixtures/thirdparty"
)

// TestThirdPartyOPCUAUser: the node-opcua PLC started with --user refuses anonymous
// sessions; patchgate trusts its certificate with `trust add` after the first refusal, then
// opens sessions with user name and password over every secure policy it offers, and a
// wrong password exits 4 naming the user and node-opcua's status code, never the password.
func TestThirdPartyOPCUAUser(t *testing.T) {
	dir := thirdparty.DirOrSkip(t)
	const pw = "Plc-Op3rator!"
	t.Setenv("TANKPLC_PASSWORD", pw) // the PLC's, through its environment
	ctx, cancel := context.WithTimeout(context.Background(), thirdparty.StartTimeout)
	defer cancel()
	plc, err := thirdparty.Start(ctx, dir, "baseline", "--user", "operator")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plc.Close() })

	tmp := t.TempDir()
	trust := filepath.Join(tmp, "pki", "trusted")
	good, bad := filepath.Join(tmp, "good.pw"), filepath.Join(tmp, "bad.pw")
	os.WriteFile(good, []byte(pw+"\n"), 0o600)
	os.WriteFile(bad, []byte("wrong-guess-77\n"), 0o600)
	db := filepath.Join(tmp, "tp.db")
	points := filepath.Join("..", "..", "fixtures", "thirdparty", "tankplc-opcua.yaml")
	run := func(query string) (int, string, string) {
		t.Helper()
		return runCLI(t, "run", "--db", db, "--scenario", readScenario, "--points", points,
			"--target", plc.OPCUA+"?trust="+url.QueryEscape(trust)+"&"+query)
	}
	userQ := func(file string) string { return "user=operator&password_file=" + url.QueryEscape(file) }

	// not trusted yet: refused, and saved among the rejected
	if code, _, errOut := run(userQ(good)); code != ExitFault || !strings.Contains(errOut, "not trusted") {
		t.Fatalf("first connect: exit %d, %s", code, errOut)
	}
	var l trustListing
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "trust", "list", "--trust", trust, "--json")), &l); err != nil || len(l.Rejected) != 1 {
		t.Fatalf("trust list: %+v %v", l, err)
	}
	if !strings.Contains(l.Rejected[0].Subject, "TankPLC") && !strings.Contains(l.Rejected[0].Subject, "NodeOPCUA") {
		t.Logf("node-opcua's certificate subject: %s", l.Rejected[0].Subject)
	}
	mustCLI(t, ExitOK, "trust", "add", "--trust", trust, l.Rejected[0].SHA256[:16])

	for _, policy := range []string{"Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"} {
		start := time.Now()
		code, _, errOut := run("security=" + policy + "&" + userQ(good))
		if code != ExitOK {
			t.Errorf("%s with the right password: exit %d, %s", policy, code, errOut)
			continue
		}
		t.Logf("%s, user name token: run completed in %v", policy, time.Since(start).Round(time.Millisecond))
	}
	code, out, errOut := run(userQ(bad))
	if code != ExitFault || !strings.Contains(errOut, `user "operator"`) || !strings.Contains(errOut, "BadUserAccessDenied") {
		t.Errorf("wrong password: exit %d, %s", code, errOut)
	}
	if strings.Contains(out+errOut, "wrong-guess-77") || strings.Contains(out+errOut, pw) {
		t.Errorf("output holds a password: %s", errOut)
	}
	t.Logf("wrong password: %s", strings.TrimSpace(errOut))
	if code, _, errOut := run(""); code != ExitFault || !strings.Contains(errOut, "anonymous") {
		t.Errorf("anonymous: exit %d, %s", code, errOut)
	}
	// an X.509 user token (this PLC accepts any user certificate whose signature verifies)
	certFile, keyFile := userCertificate(t, tmp)
	if code, _, errOut := run("security=Aes256_Sha256_RsaPss&user_cert=" + url.QueryEscape(certFile) + "&user_key=" + url.QueryEscape(keyFile)); code != ExitOK {
		t.Errorf("X.509 user token: exit %d, %s", code, errOut)
	}
}

// userCertificate writes a self-signed RSA 2048 user certificate and its key (PEM) into dir.
func userCertificate(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "operator", Organization: []string{"patchgate tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "operator.pem"), filepath.Join(dir, "operator.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	return certFile, keyFile
}
