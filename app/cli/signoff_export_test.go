package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/bundle"
)

// TestRegisterExportJointSignOff: an OEM joint session. The bench engineer validates a patch
// with a bundle; the tester and the vendor's witness sign it off; the patch manager, on a
// workstation with a key of its own, exports the bundle with the sign-offs. verify lists the
// patch, operator, workstation, differences, signer and both sign-offs; the bundle's files
// are the first bundle's byte for byte; an untrusted addendum signer is refused.
func TestRegisterExportJointSignOff(t *testing.T) {
	dir := t.TempDir()
	db, bench, desk := filepath.Join(dir, "register.db"), filepath.Join(dir, "bench-keys"), filepath.Join(dir, "desk-keys")
	patch := fmt.Sprintf("P-%d-001", time.Now().Year())
	mustCLI(t, ExitOK, "register", "add", "--db", db, "--actor", "jd", "--supplier", "Acme Automation", "--product", "Tank PLC T100",
		"--from", "3.2.0", "--to", "3.2.1", "--type", "security", "--cve", "CVE-2026-10001", "--advisory", "ACME-SA-2026-04")
	first := filepath.Join(dir, "first.zip")
	code, _, errOut := runCLI(t, "validate", "--db", db, "--patch", patch, "--actor", "jd", "--workstation", "bench-laptop-3",
		"--scenario", "../../scenarios/tank-alarm-trip.yaml", "--before", "sim://tank?firmware=baseline",
		"--after", "sim://tank?firmware=benign", "--fast", "--bundle", first, "--key-dir", bench,
		"--difference", "I/O simulated on the bench")
	if code != ExitOK {
		t.Fatalf("validate: exit %d: %s", code, errOut)
	}
	id := fmt.Sprintf("V-%d-001", time.Now().Year())
	mustCLI(t, ExitOK, "register", "signoff", "--db", db, "--validation", id, "--name", "J. Doe", "--role", "tester", "--decision", "approve")
	mustCLI(t, ExitOK, "register", "signoff", "--db", db, "--validation", id, "--name", "K. Vendor (Acme)", "--role", "oem_witness",
		"--decision", "approve")

	exported := filepath.Join(dir, "for-the-board.zip")
	var ex exportView
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "register", "export", "--db", db, "--validation", id, "-o", exported,
		"--key-dir", desk, "--actor", "pm", "--json")), &ex); err != nil {
		t.Fatal(err)
	}
	if !ex.Original || ex.SignOffs != 2 || ex.Bundle != exported {
		t.Errorf("export %+v; want the first bundle with 2 sign-offs", ex)
	}
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(exported)
	if n := bytes.Index(a, []byte("PK\x01\x02")); n <= 0 || !bytes.Equal(a[:n], b[:n]) {
		t.Errorf("the exported bundle does not begin with the first bundle's files byte for byte")
	}

	out := mustCLI(t, ExitOK, "verify", exported, "--key-dir", bench, "--trust", filepath.Join(desk, bundle.PubKeyFile))
	benchKey, _ := os.ReadFile(filepath.Join(bench, bundle.PubKeyFile))
	keys, err := bundle.ParsePublicKeys(benchKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verdict GO, signed by " + bundle.Fingerprint(keys[0]), "decision: GO",
		"validation " + id + " of patch " + patch + ": Acme Automation Tank PLC T100 3.2.0 → 3.2.1 (CVE-2026-10001)",
		"run by jd on bench-laptop-3", "bench vs production: I/O simulated on the bench",
		"sign-offs of " + id + " (patch " + patch + "), exported by pm", "tester       approve     J. Doe",
		"oem_witness  approve     K. Vendor (Acme)"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	var vr verifyResult
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "verify", exported, "--json", "--key-dir", bench, "--trust", filepath.Join(desk, bundle.PubKeyFile))), &vr); err != nil {
		t.Fatal(err)
	}
	if vr.SignOffs == nil || len(vr.SignOffs.SignOffs) != 2 || !vr.SignOffs.Trusted {
		t.Errorf("verify --json sign-offs: %+v", vr.SignOffs)
	}
	// the patch manager's key not trusted: refused, naming the addendum
	code, _, errOut = runCLI(t, "verify", exported, "--key-dir", bench)
	if code != ExitNoGo || !strings.Contains(errOut, "sign-off addendum signed by an unknown key") {
		t.Errorf("addendum by an untrusted key: exit %d: %s", code, errOut)
	}
	// the export is in the audit trail, and the chain holds
	show := mustCLI(t, ExitOK, "register", "show", "--db", db, patch)
	if !strings.Contains(show, "bundle_exported") {
		t.Errorf("register show lacks the export:\n%s", show)
	}
	mustCLI(t, ExitOK, "register", "verify", "--db", db)

	// bad input: no such validation, no -o
	if code, _, errOut := runCLI(t, "register", "export", "--db", db, "--validation", "V-1999-999", "-o", exported, "--key-dir", desk); code != ExitBadInput {
		t.Errorf("unknown validation: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "register", "export", "--db", db, "--validation", id); code != ExitBadInput || !strings.Contains(errOut, "-o FILE") {
		t.Errorf("no -o: exit %d: %s", code, errOut)
	}
}
