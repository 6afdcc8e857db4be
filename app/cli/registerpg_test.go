package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/register/pgstore/pgtest"
)

// TestRegisterOnPostgres: the register commands on a shared register in PostgreSQL
// (skipped without PATCHGATE_PG; `make test-pg` starts a throwaway server).
func TestRegisterOnPostgres(t *testing.T) {
	app, owner := pgtest.Fresh(t)
	year := time.Now().Year()
	p1 := fmt.Sprintf("P-%d-001", year)
	// setup again as the owner only renews the grants; as the app role it is refused
	out := mustCLI(t, ExitOK, "register", "setup", "--register", owner, "--app-role", pgtest.App)
	if !strings.Contains(out, "register ready") {
		t.Errorf("setup: %s", out)
	}
	mustCLI(t, ExitBadInput, "register", "setup", "--register", app, "--app-role", pgtest.App)
	mustCLI(t, ExitBadInput, "register", "setup", "--register", owner)
	out = mustCLI(t, ExitOK, "register", "add", "--register", app, "--actor", "jd", "--supplier", "Acme",
		"--product", "Tank PLC", "--from", "3.2.0", "--to", "3.2.1", "--type", "security")
	if !strings.Contains(out, p1) {
		t.Errorf("add: %s", out)
	}
	mustCLI(t, ExitOK, "register", "state", p1, "assessed_applicable", "--register", app, "--actor", "jd")
	mustCLI(t, ExitBadInput, "register", "state", p1, "go", "--register", app, "--actor", "jd")
	out = mustCLI(t, ExitOK, "register", "list", "--register", app)
	if !strings.Contains(out, "assessed_applicable") {
		t.Errorf("list: %s", out)
	}
	mustCLI(t, ExitOK, "register", "state", p1, "in_test", "--register", app, "--actor", "jd")
	// validate: the runs go to the local file, the validation to the shared register
	db := filepath.Join(t.TempDir(), "bench.db")
	_, out, errOut := runCLI(t, "validate", "--fast", "--json", "--db", db, "--register", app, "--scenario", "../../scenarios/tank-alarm-trip.yaml",
		"--before", "sim://tank", "--after", "sim://tank?firmware=alarm-shift", "--patch", p1)
	var rec struct{ Verdict, Validation string }
	if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.Verdict != "NO-GO" || rec.Validation != fmt.Sprintf("V-%d-001", year) {
		t.Fatalf("validate --register: %+v %v\n%s\n%s", rec, err, out, errOut)
	}
	out = mustCLI(t, ExitOK, "register", "show", p1, "--register", app)
	if !strings.Contains(out, rec.Validation) {
		t.Errorf("show on the shared register lacks %s:\n%s", rec.Validation, out)
	}
	if out := mustCLI(t, ExitOK, "register", "list", "--db", db); strings.Contains(out, p1) {
		t.Errorf("the patch landed in the local file:\n%s", out)
	}
	out = mustCLI(t, ExitOK, "register", "verify", "--register", app)
	if !strings.Contains(out, "audit trail intact: 4 rows") {
		t.Errorf("verify: %s", out)
	}
	// a URL that is not PostgreSQL is bad input; a server that does not answer, a tool error
	mustCLI(t, ExitBadInput, "register", "list", "--register", "mysql://x@127.0.0.1/r")
	_, _, errOut = runCLI(t, "register", "list", "--register", "postgres://nobody:secret@127.0.0.1:1/r?connect_timeout=2")
	if strings.Contains(errOut, "secret") {
		t.Errorf("the password is in the message: %s", errOut)
	}
	mustCLI(t, ExitFault, "register", "list", "--register", "postgres://nobody@127.0.0.1:1/r?connect_timeout=2")

	// push: the bench's own register into the shared one, twice changes nothing
	local := filepath.Join(t.TempDir(), "own.db")
	mustCLI(t, ExitOK, "register", "add", "--db", local, "--actor", "jd", "--supplier", "Beta", "--product", "RTU",
		"--type", "bugfix", "--id", "P-BETA-1")
	out = mustCLI(t, ExitOK, "register", "push", "--db", local, "--to", app, "--actor", "lead")
	if !strings.Contains(out, "1 patches") || !strings.Contains(out, "1 audit rows") {
		t.Errorf("push: %s", out)
	}
	if out := mustCLI(t, ExitOK, "register", "push", "--db", local, "--to", app, "--actor", "lead"); !strings.Contains(out, "nothing new") {
		t.Errorf("second push: %s", out)
	}
	out = mustCLI(t, ExitOK, "register", "verify", "--register", app)
	if !strings.Contains(out, "audit trail intact: 6 rows") {
		t.Errorf("verify after push: %s", out)
	}
	mustCLI(t, ExitBadInput, "register", "push", "--db", local)

	// a joint session on a laptop off the network: its own P-…-001 and V-…-001, signed by
	// both parties, while the shared register already gave those ids to others
	laptop := filepath.Join(t.TempDir(), "laptop.db")
	mustCLI(t, ExitOK, "register", "add", "--db", laptop, "--actor", "oem", "--supplier", "Acme", "--product", "HMI panel",
		"--from", "3.2.0", "--to", "3.2.1", "--type", "security")
	mustCLI(t, ExitOK, "register", "state", p1, "assessed_applicable", "--db", laptop, "--actor", "oem")
	mustCLI(t, ExitOK, "register", "state", p1, "in_test", "--db", laptop, "--actor", "oem")
	code, _, errOut := runCLI(t, "validate", "--fast", "--db", laptop, "--scenario", "../../scenarios/tank-alarm-trip.yaml",
		"--before", "sim://tank", "--after", "sim://tank?firmware=benign", "--patch", p1)
	if code != ExitOK {
		t.Fatalf("validate on the laptop: exit %d: %s", code, errOut)
	}
	v1 := fmt.Sprintf("V-%d-001", year)
	mustCLI(t, ExitOK, "register", "signoff", "--db", laptop, "--validation", v1, "--name", "K. Vendor", "--role", "oem_witness", "--decision", "approve")
	mustCLI(t, ExitOK, "register", "signoff", "--db", laptop, "--validation", v1, "--name", "A. Owner", "--role", "approver", "--decision", "approve")
	p2, v2 := fmt.Sprintf("P-%d-002", year), fmt.Sprintf("V-%d-002", year)
	out = mustCLI(t, ExitOK, "register", "push", "--db", laptop, "--to", app, "--actor", "lead")
	for _, want := range []string{"1 patches", "1 validations", "2 sign-offs", "renumbered " + p1 + " → " + p2, "renumbered " + v1 + " → " + v2} {
		if !strings.Contains(out, want) {
			t.Errorf("push of the laptop lacks %q:\n%s", want, out)
		}
	}
	out = mustCLI(t, ExitOK, "register", "show", p2, "--register", app)
	for _, want := range []string{"HMI panel", v2, "K. Vendor", "A. Owner"} {
		if !strings.Contains(out, want) {
			t.Errorf("the laptop's patch as %s lacks %q:\n%s", p2, want, out)
		}
	}
	if out := mustCLI(t, ExitOK, "register", "push", "--db", laptop, "--to", app, "--actor", "lead"); !strings.Contains(out, "nothing new") {
		t.Errorf("pushing the laptop again: %s", out)
	}
	mustCLI(t, ExitOK, "register", "verify", "--register", app)
}
