package cli

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/verdict"
)

// daysAgo is the local date n days before today, as the CLI reads it.
func daysAgo(n int) string { return time.Now().AddDate(0, 0, -n).Format(time.DateOnly) }

func mustCLI(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != want {
		t.Fatalf("patchgate %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

func TestRegisterWorkflow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "register.db")
	year := time.Now().Year()
	p1 := fmt.Sprintf("P-%d-001", year)

	// add, with every field
	out := mustCLI(t, ExitOK, "register", "add", "--db", db, "--json", "--actor", "jd",
		"--supplier", "Acme Automation", "--product", "Tank PLC T100", "--from", "3.2.0", "--to", "3.2.1",
		"--type", "security", "--cve", "CVE-2026-10001,cve-2026-10002", "--cve", "CVE-2026-10003",
		"--advisory", "https://acme.example/psirt/ACME-SA-2026-04", "--sha256", strings.Repeat("ab", 32),
		"--signature-checked", "--signature-note", "jd, vendor PGP key", "--qualification", "not qualified",
		"--notes", "fixes the Modbus write overflow", "--identified", daysAgo(23))
	var added patchView
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if added.ID != p1 || added.State != register.StateIdentified || len(added.CVEs) != 3 || added.CVEs[1] != "CVE-2026-10002" ||
		added.Qualification != register.NotQualified || !added.SignatureChecked || added.Clock.DaysLeft != 12 || added.Clock.Overdue {
		t.Errorf("added %+v", added)
	}
	out = mustCLI(t, ExitOK, "register", "add", "--db", db, "--actor", "jd", "--supplier", "Acme Automation",
		"--product", "HMI Panel", "--from", "1.0", "--to", "1.1", "--type", "security", "--identified", daysAgo(38))
	if !strings.Contains(out, "OVERDUE 3 d") {
		t.Errorf("add output lacks the overdue clock:\n%s", out)
	}
	mustCLI(t, ExitOK, "register", "add", "--db", db, "--actor", "jd", "--supplier", "Acme Automation",
		"--product", "Historian", "--type", "bugfix")

	// list: the table with the clocks
	out = mustCLI(t, ExitOK, "register", "list", "--db", db)
	for _, want := range []string{"ID", "35-DAY CLOCK", p1 + "  Tank PLC T100", "3.2.0 -> 3.2.1", "12 d left", "OVERDUE 3 d", "Historian"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	var listed []patchView
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "register", "list", "--db", db, "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 || listed[1].Clock.String() != "OVERDUE 3 d" || listed[2].Clock.Applies {
		t.Errorf("list --json: %+v", listed)
	}

	// state changes, legal and not
	mustCLI(t, ExitOK, "register", "state", "--db", db, "--actor", "jd", p1, "assessed_applicable", "--note", "T100 in line 3")
	out = mustCLI(t, ExitOK, "register", "state", p1, "in-test", "--db", db, "--actor", "jd")
	if !strings.Contains(out, "assessed_applicable -> in_test") || !strings.Contains(out, "next: go, no_go, deferred, superseded") {
		t.Errorf("state output:\n%s", out)
	}
	code, _, errOut := runCLI(t, "register", "state", "--db", db, "--actor", "jd", p1, "closed")
	if code != ExitBadInput || !strings.Contains(errOut, "is in_test: it can go to go, no_go, deferred or superseded, not closed") {
		t.Errorf("illegal transition: exit %d, %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "register", "state", "--db", db, "--actor", "jd", p1, "deferred", "--plan", "firewall")
	if code != ExitBadInput || !strings.Contains(errOut, "dated mitigation plan") {
		t.Errorf("deferred without a date: exit %d, %s", code, errOut)
	}
	var deferred patchView
	review := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	out = mustCLI(t, ExitOK, "register", "state", "--db", db, "--actor", "jd", "--json", p1, "deferred",
		"--plan", "port 502 blocked at the cell firewall", "--review-date", review)
	if err := json.Unmarshal([]byte(out), &deferred); err != nil {
		t.Fatal(err)
	}
	if deferred.State != register.StateDeferred || deferred.ReviewDate.Local().Format(time.DateOnly) != review ||
		!deferred.Clock.Evaluated.Equal(deferred.Evaluated) || deferred.Clock.DaysElapsed != 23 {
		t.Errorf("deferred: %+v", deferred)
	}
	mustCLI(t, ExitOK, "register", "state", "--db", db, "--actor", "jd", p1, "in_test")

	// a validation, as `patchgate validate` records it
	l, err := ledger.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	v, err := l.RecordValidation(t.Context(), register.Validation{
		PatchID: p1,
		Record: verdict.Record{Verdict: verdict.NoGo, Reasons: []string{"alarm.high: threshold moved from 80.0 to 82.5"},
			Scenario: "tank-alarms", BeforeRuns: []int64{1, 2}, AfterRuns: []int64{3, 4}},
		Differences: []string{"bench PLC firmware 3.2.0 same as production", "I/O simulated"},
	}, "jd")
	l.Close()
	if err != nil {
		t.Fatal(err)
	}

	// sign-offs: both parties of a joint session, then the approver accepts the risk
	code, _, errOut = runCLI(t, "register", "signoff", "--db", db, "--validation", v.ID, "--name", "Ann Lee", "--role", "approver", "--decision", "accept_risk")
	if code != ExitBadInput || !strings.Contains(errOut, "accept_risk needs a rationale") {
		t.Errorf("accept_risk without rationale: exit %d, %s", code, errOut)
	}
	mustCLI(t, ExitOK, "register", "signoff", "--db", db, "--validation", v.ID, "--name", "Jane Doe", "--role", "tester", "--decision", "approve")
	mustCLI(t, ExitOK, "register", "signoff", "--db", db, "--validation", v.ID, "--name", "Hans Vogt", "--role", "oem_witness", "--decision", "approve")
	why := "shift accepted: high-high trip unchanged; vendor fix in Q3"
	var so signOffView
	out = mustCLI(t, ExitOK, "register", "signoff", "--db", db, "--json", "--validation", v.ID, "--name", "Ann Lee", "--role", "approver", "--decision", "accept_risk", "--rationale", why)
	if err := json.Unmarshal([]byte(out), &so); err != nil {
		t.Fatal(err)
	}
	if so.Decision != register.AcceptRisk || so.Rationale != why || so.Verdict != verdict.NoGo {
		t.Errorf("signoff --json: %+v", so)
	}

	// show: everything about the patch
	out = mustCLI(t, ExitOK, "register", "show", "--db", db, p1)
	for _, want := range []string{
		"patch " + p1 + ": Acme Automation Tank PLC T100 3.2.0 -> 3.2.1 (security)",
		"state           in_test", "CVE-2026-10001, CVE-2026-10002, CVE-2026-10003", "signature       checked: jd, vendor PGP key",
		"qualification   not_qualified", "35-day clock    evaluated d 23", "mitigation plan port 502 blocked at the cell firewall",
		v.ID, "verdict NO-GO (computed)", "before 1,2, after 3,4", "reason          alarm.high",
		"- bench PLC firmware 3.2.0 same as production", "- I/O simulated",
		"Jane Doe (tester): approve", "Hans Vogt (oem_witness): approve", "Ann Lee (approver): accept_risk: " + why,
		"risk accepted; the computed verdict stays NO-GO", "audit (9 rows)", "state_changed", "signed_off",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	var sv showView
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "register", "show", p1, "--db", db, "--json")), &sv); err != nil {
		t.Fatal(err)
	}
	if sv.Patch.ID != p1 || len(sv.Validations) != 1 || sv.Validations[0].Verdict != verdict.NoGo ||
		len(sv.Validations[0].SignOffs) != 3 || len(sv.Validations[0].Differences) != 2 || len(sv.Audit) != 9 {
		t.Errorf("show --json: %+v", sv)
	}

	// verify: intact, then broken by hand
	out = mustCLI(t, ExitOK, "register", "verify", "--db", db)
	if !strings.Contains(out, "audit trail intact: 11 rows") {
		t.Errorf("verify: %s", out)
	}
	var vv verifyView
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "register", "verify", "--db", db, "--json")), &vv); err != nil {
		t.Fatal(err)
	}
	if !vv.Intact || vv.Rows != 11 || vv.HeadSeq != 11 || len(vv.HeadHash) != 64 {
		t.Errorf("verify --json: %+v", vv)
	}
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER audit_no_update`, `UPDATE audit SET actor = 'mallory' WHERE seq = 5`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut = runCLI(t, "register", "verify", "--db", db)
	if code != ExitNoGo || !strings.Contains(out, "BROKEN at row 5") || !strings.Contains(errOut, "audit row 5: hash does not match its content") {
		t.Errorf("verify after tampering: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "register", "verify", "--db", db, "--json")
	if err := json.Unmarshal([]byte(out), &vv); err != nil || code != ExitNoGo || vv.Intact || vv.BrokenSeq != 5 || vv.Rows != 4 {
		t.Errorf("verify --json after tampering: exit %d, %+v, %v", code, vv, err)
	}
}

func TestRegisterBadInput(t *testing.T) {
	db := filepath.Join(t.TempDir(), "register.db")
	add := []string{"register", "add", "--db", db, "--actor", "jd", "--supplier", "Acme", "--product", "T100"}
	mustCLI(t, ExitOK, append(add, "--type", "security", "--id", "P-1")...)
	missing := filepath.Join(t.TempDir(), "none.db")
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no subcommand":       {[]string{"register"}, "expected a subcommand"},
		"unknown subcommand":  {[]string{"register", "remove"}, `unknown subcommand "remove"`},
		"unknown type":        {append(add, "--type", "hotfix"), `type "hotfix"`},
		"no type":             {add, `type ""`},
		"bad identified date": {append(add, "--type", "bugfix", "--identified", "2026-02-30"), `--identified "2026-02-30"`},
		"future identified":   {append(add, "--type", "bugfix", "--identified", time.Now().AddDate(0, 0, 2).Format(time.DateOnly)), "is in the future"},
		"bad CVE":             {append(add, "--type", "security", "--cve", "2026-1"), `CVE "2026-1"`},
		"duplicate id":        {append(add, "--type", "security", "--id", "P-1"), "already in the register"},
		"unknown state":       {[]string{"register", "state", "--db", db, "--actor", "jd", "P-1", "approved"}, `unknown state "approved"`},
		"illegal transition":  {[]string{"register", "state", "--db", db, "--actor", "jd", "P-1", "deployed"}, "it can go to assessed_not_applicable, assessed_applicable or superseded, not deployed"},
		"bad review date":     {[]string{"register", "state", "--db", db, "--actor", "jd", "P-1", "deferred", "--plan", "x", "--review-date", "next week"}, `--review-date "next week"`},
		"state without state": {[]string{"register", "state", "--db", db, "P-1"}, "expected ID NEWSTATE"},
		"unknown patch":       {[]string{"register", "show", "--db", db, "P-9"}, "patch P-9: not found"},
		"show without id":     {[]string{"register", "show", "--db", db}, "expected ID"},
		"missing db":          {[]string{"register", "list", "--db", missing}, "--db " + missing},
		"bad state filter":    {[]string{"register", "list", "--db", db, "--state", "open"}, `unknown state "open"`},
		"list argument":       {[]string{"register", "list", "--db", db, "P-1"}, `unexpected argument "P-1"`},
		"signoff no id":       {[]string{"register", "signoff", "--db", db, "--name", "x", "--role", "tester", "--decision", "approve"}, "--validation is required"},
		"signoff unknown":     {[]string{"register", "signoff", "--db", db, "--validation", "V-1", "--name", "x", "--role", "tester", "--decision", "approve"}, "not found"},
		"signoff bad role":    {[]string{"register", "signoff", "--db", db, "--validation", "V-1", "--name", "x", "--role", "boss", "--decision", "approve"}, `role "boss"`},
		"unknown flag":        {[]string{"register", "verify", "--db", db, "--fix"}, "flag provided but not defined"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != ExitBadInput || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 saying %q (stdout %q)", name, code, errOut, c.want, out)
		}
	}
	// None of it reached the audit trail: one patch, one row.
	var vv verifyView
	if err := json.Unmarshal([]byte(mustCLI(t, ExitOK, "register", "verify", "--db", db, "--json")), &vv); err != nil || vv.Rows != 1 {
		t.Errorf("after refused commands: %+v, %v", vv, err)
	}
	if code, _, _ := runCLI(t, "register", "-h"); code != ExitOK {
		t.Errorf("register -h: exit %d", code)
	}
}
