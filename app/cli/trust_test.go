package cli

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver/opcua"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
	"github.com/patchgate/patchgate/simulators/plc"
)

const readScenario = "testdata/scenarios/opcua-read.yaml"

// opcuaTank serves a simulated tank over OPC UA on 127.0.0.1 with cfg.
func opcuaTank(t *testing.T, cfg opcuaserver.Config) *opcuaserver.Server {
	t.Helper()
	c, err := plc.New("tank", "", plc.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg.Addr = "127.0.0.1:0"
	s, err := opcuaserver.Start(ctx, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTrustRoundTrip: a server not yet trusted is refused (exit 4) and its certificate
// lands in the rejected folder; trust add moves it to the trust folder and the same run
// works; trust remove takes it out and the run is refused again.
func TestTrustRoundTrip(t *testing.T) {
	s := opcuaTank(t, opcuaserver.Config{})
	dir := filepath.Join(t.TempDir(), "pki", "trusted")
	db := filepath.Join(t.TempDir(), "t.db")
	target := s.URL() + "?trust=" + url.QueryEscape(dir)
	run := func() (int, string) {
		code, _, errOut := runCLI(t, "run", "--db", db, "--scenario", readScenario, "--target", target)
		return code, errOut
	}
	list := func() trustListing {
		var l trustListing
		if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "trust", "list", "--trust", dir, "--json")), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}

	code, errOut := run()
	if code != ExitFault || !strings.Contains(errOut, "server certificate is not trusted") {
		t.Fatalf("untrusted server: exit %d, %s", code, errOut)
	}
	l := list()
	if len(l.Trusted) != 0 || len(l.Rejected) != 1 || l.RejectedDir != filepath.Join(filepath.Dir(dir), "rejected") {
		t.Fatalf("after the refusal: %+v", l)
	}
	rej := l.Rejected[0]
	sum1, sum256 := thumbs(s.Certificate())
	if rej.SHA1 != sum1 || rej.SHA256 != sum256 || !strings.Contains(rej.Subject, "CN=") || rej.NotAfter.Before(time.Now()) ||
		!strings.Contains(errOut, sum1) {
		t.Errorf("rejected %+v; the server's thumbprints %s %s; the refusal said %s", rej, sum1, sum256, errOut)
	}
	text := mustCLI(t, ExitOK, "trust", "list", "--trust", dir)
	for _, w := range []string{"trusted (" + dir + "): 0", "rejected (", "SHA-1    " + sum1, "SHA-256  " + sum256, rej.File} {
		if !strings.Contains(text, w) {
			t.Errorf("trust list does not say %q:\n%s", w, text)
		}
	}

	// thumbprints that pick nothing, or are no thumbprints, are bad input
	for _, bad := range []string{"zz12345", "12", "0000000000"} {
		if code, _, errOut := runCLI(t, "trust", "add", "--trust", dir, bad); code != ExitBadInput || !strings.Contains(errOut, "no such certificate") {
			t.Errorf("trust add %s: exit %d, %s", bad, code, errOut)
		}
	}
	if code, _, _ := runCLI(t, "trust", "frob"); code != ExitBadInput {
		t.Errorf("trust frob: exit %d", code)
	}

	// trust it by a SHA-256 prefix written the UaExpert way
	colons := strings.ToUpper(sum256[0:2] + ":" + sum256[2:4] + ":" + sum256[4:8])
	var added opcua.Trusted
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "trust", "add", colons, "--trust", dir, "--json")), &added); err != nil || added.SHA1 != sum1 {
		t.Fatalf("trust add: %+v %v", added, err)
	}
	if l := list(); len(l.Trusted) != 1 || len(l.Rejected) != 0 || l.Trusted[0].SHA1 != sum1 {
		t.Errorf("after trust add: %+v", l)
	}
	if code, errOut := run(); code != ExitOK {
		t.Fatalf("trusted server: exit %d, %s", code, errOut)
	}

	// remove it by a SHA-1 prefix: refused again
	if out := mustCLI(t, ExitOK, "trust", "remove", "--trust", dir, sum1[:10]); !strings.Contains(out, "no longer trusted") || !strings.Contains(out, sum1) {
		t.Errorf("trust remove: %s", out)
	}
	if l := list(); len(l.Trusted) != 0 || len(l.Rejected) != 0 {
		t.Errorf("after trust remove: %+v", l)
	}
	if code, errOut := run(); code != ExitFault || !strings.Contains(errOut, "not trusted") {
		t.Errorf("after trust remove: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "trust", "remove", "--trust", dir, sum1[:10]); code != ExitBadInput || !strings.Contains(errOut, "none in") {
		t.Errorf("trust remove of what is not trusted: exit %d, %s", code, errOut)
	}
}

// TestOPCUAUserPassword: a run with user= and password_file= against a server with users
// works, and a wrong password exits 4 naming the user and the server's status, not the
// password.
func TestOPCUAUserPassword(t *testing.T) {
	const pw = "Tank-0perator!"
	s := opcuaTank(t, opcuaserver.Config{Security: opcuaserver.SecurityEncrypt, Policies: opcuaserver.AllPolicies,
		Users: map[string]string{"operator": pw}})
	dir := filepath.Join(t.TempDir(), "pki", "trusted")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sim.der"), s.Certificate(), 0o600); err != nil {
		t.Fatal(err)
	}
	good, bad := filepath.Join(t.TempDir(), "good.pw"), filepath.Join(t.TempDir(), "bad.pw")
	os.WriteFile(good, []byte(pw+"\n"), 0o600)
	os.WriteFile(bad, []byte("guess-1234\n"), 0o600)
	db := filepath.Join(t.TempDir(), "u.db")
	target := func(file string) string {
		return s.URL() + "?security=Aes256_Sha256_RsaPss&trust=" + url.QueryEscape(dir) + "&user=operator&password_file=" + url.QueryEscape(file)
	}
	code, out, errOut := runCLI(t, "run", "--json", "--db", db, "--scenario", readScenario, "--target", target(good))
	if code != ExitOK {
		t.Fatalf("right password: exit %d, %s", code, errOut)
	}
	if strings.Contains(out, pw) || strings.Contains(errOut, pw) {
		t.Errorf("the run's output holds the password")
	}
	code, out, errOut = runCLI(t, "run", "--db", db, "--scenario", readScenario, "--target", target(bad))
	if code != ExitFault || !strings.Contains(errOut, `user "operator"`) || !strings.Contains(errOut, "BadUserAccessDenied") {
		t.Errorf("wrong password: exit %d, %s", code, errOut)
	}
	if strings.Contains(out+errOut, "guess-1234") {
		t.Errorf("the refusal holds the password: %s", errOut)
	}
	// a password in the target is refused without echoing it
	code, _, errOut = runCLI(t, "run", "--db", db, "--scenario", readScenario, "--target", s.URL()+"?user=operator&password=guess-1234")
	if code != ExitBadInput || strings.Contains(errOut, "guess-1234") || !strings.Contains(errOut, "password_file") {
		t.Errorf("password in the target: exit %d, %s", code, errOut)
	}
}

func thumbs(der []byte) (string, string) {
	a, b := sha1.Sum(der), sha256.Sum256(der)
	return hex.EncodeToString(a[:]), hex.EncodeToString(b[:])
}
