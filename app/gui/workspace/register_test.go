package workspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/verdict"

	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

var testNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

func openTest(t *testing.T) *Workspace {
	t.Helper()
	w, err := Open(t.Context(), Config{Dir: t.TempDir(), Now: func() time.Time { return testNow }, Actor: "bench-engineer",
		ModbusOnly: true}) // no test of this helper uses OPC UA; each server costs a second of CPU to start
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestSignatureStatus(t *testing.T) {
	so := func(name string, r register.Role, d register.Decision) register.SignOff {
		return register.SignOff{Name: name, Role: r, Decision: d}
	}
	oem := so("Hans Vogt", register.OEMWitness, register.Approve)
	tester := so("Jane Doe", register.Tester, register.Approve)
	approver := so("Ann Lee", register.Approver, register.Approve)
	risk := so("Ann Lee", register.Approver, register.AcceptRisk)
	for name, c := range map[string]struct {
		sos            []register.SignOff
		complete       bool
		joint, risk    bool
		rejected       bool
		awaiting, text string
	}{
		"unsigned":            {nil, false, false, false, false, "the asset owner's approver", "unsigned: awaiting the asset owner's approver"},
		"tester only":         {[]register.SignOff{tester}, false, false, false, false, "the asset owner's approver", "awaiting the asset owner's approver"},
		"OEM first":           {[]register.SignOff{oem}, false, true, false, false, "the asset owner's approver", "awaiting the asset owner's approver"},
		"OEM and tester":      {[]register.SignOff{oem, tester}, false, true, false, false, "the asset owner's approver", "awaiting"},
		"approver alone":      {[]register.SignOff{approver}, true, false, false, false, "", "fully signed by the asset owner (approver Ann Lee); no OEM witness"},
		"joint, both signed":  {[]register.SignOff{oem, approver}, true, true, false, false, "", "fully signed in a joint session: OEM witness Hans Vogt, asset owner Ann Lee"},
		"joint, risk":         {[]register.SignOff{oem, tester, risk}, true, true, true, false, "", "fully signed in a joint session: OEM witness Hans Vogt, asset owner Ann Lee; risk accepted"},
		"OEM rejects":         {[]register.SignOff{so("Hans Vogt", register.OEMWitness, register.Reject), approver}, false, true, false, true, "the OEM witness", "REJECTED by Hans Vogt (oem_witness)"},
		"approver rejects":    {[]register.SignOff{so("Ann Lee", register.Approver, register.Reject)}, false, false, false, true, "the asset owner's approver", "REJECTED by Ann Lee (approver)"},
		"risk, no OEM":        {[]register.SignOff{risk}, true, false, true, false, "", "; risk accepted"},
		"OEM, approver later": {[]register.SignOff{approver, oem}, true, true, false, false, "", "fully signed in a joint session"},
	} {
		s := SignatureStatus(c.sos)
		if s.Complete != c.complete || s.Joint != c.joint || s.RiskAccepted != c.risk || (s.Rejected != nil) != c.rejected {
			t.Errorf("%s: complete %v joint %v risk %v rejected %v; want %v %v %v %v (%s)", name,
				s.Complete, s.Joint, s.RiskAccepted, s.Rejected != nil, c.complete, c.joint, c.risk, c.rejected, s.Text)
		}
		if got := strings.Join(s.Awaiting, " and "); !strings.Contains(got, c.awaiting) || (c.awaiting == "") != (got == "") {
			t.Errorf("%s: awaiting %q, want %q", name, got, c.awaiting)
		}
		if !strings.Contains(s.Text, c.text) {
			t.Errorf("%s: %q, want it to say %q", name, s.Text, c.text)
		}
		if len(s.OEM)+len(s.AssetOwner) != len(c.sos) {
			t.Errorf("%s: %d OEM + %d asset owner signatures of %d", name, len(s.OEM), len(s.AssetOwner), len(c.sos))
		}
	}
}

// TestRegisterRecordExportVerify runs a validation on simulated time against the demo
// patch, signs it in a joint session, exports and verifies its bundle from the register,
// and reads the patch's session log.
func TestRegisterRecordExportVerify(t *testing.T) {
	ctx := t.Context()
	w := openTest(t)
	res, err := w.Validate(ctx, Request{Scenario: "tank-alarm-trip.yaml", Patch: DemoPatchID,
		Before: "sim://tank?firmware=baseline&time=simulated", After: "sim://tank?firmware=alarm-shift&time=simulated"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Validation
	if id == "" || res.Record.Verdict != verdict.NoGo {
		t.Fatalf("validation %q, verdict %s; want a recorded NO-GO", id, res.Record.Verdict)
	}
	// OEM joint session: the OEM witness signs first, then the asset owner's approver
	// accepts the risk.
	if _, err := w.DB.SignOff(ctx, register.SignOff{ValidationID: id, Name: "Hans Vogt", Role: register.OEMWitness, Decision: register.Approve, Time: testNow.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	r, err := w.PatchRecord(ctx, DemoPatchID)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Validations) != 1 || r.Validations[0].Signatures.Complete || !strings.Contains(r.Validations[0].Signatures.Text, "awaiting the asset owner's approver") {
		t.Fatalf("after the OEM witness: %+v", r.Validations)
	}
	why := "alarm 2 % early is inside the process margin"
	if _, err := w.DB.SignOff(ctx, register.SignOff{ValidationID: id, Name: "Ann Lee", Role: register.Approver, Decision: register.AcceptRisk, Rationale: why, Time: testNow.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}

	if bs := w.Bundles(id); len(bs) != 0 {
		t.Fatalf("bundles before any export: %v", bs)
	}
	if c := w.VerifyValidation(ctx, id); c.OK || !strings.Contains(c.Text, "export one first") {
		t.Errorf("verify without a bundle: %+v", c)
	}
	path, sum, err := w.ExportValidation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if bs := w.Bundles(id); !slices.Equal(bs, []string{path}) || len(sum) != 64 {
		t.Fatalf("bundles %v, want [%s] (sha256 %q)", bs, path, sum)
	}
	c := w.VerifyValidation(ctx, id)
	if !c.OK || c.Export == nil || c.Export.Actor != "bench-engineer" || c.Report.Verdict != verdict.NoGo || !strings.Contains(c.Text, "exported by bench-engineer") {
		t.Fatalf("verify: %+v", c)
	}
	// both parties' sign-offs travel in the bundle's signed addendum, the same as `patchgate
	// register export` writes
	if so := c.Report.SignOffs; so == nil || len(so.SignOffs) != 2 || so.SignOffs[0].Role != string(ledger.OEMWitness) ||
		so.SignOffs[1].Rationale != why || so.Validation != id || !strings.Contains(c.Text, "Hans Vogt approve (oem_witness), Ann Lee accept_risk (approver)") {
		t.Errorf("sign-offs in the bundle: %+v; %s", so, c.Text)
	}
	if cr := c.Report.Record.ChangeRequest; cr == nil || cr.Validation != id || cr.Patch.ID != DemoPatchID {
		t.Errorf("change request in the bundle: %+v", cr)
	}

	r, err = w.PatchRecord(ctx, DemoPatchID)
	if err != nil {
		t.Fatal(err)
	}
	ve := r.Validations[0]
	if !ve.Signatures.Complete || !ve.Signatures.Joint || !ve.Signatures.RiskAccepted || ve.Verdict != verdict.NoGo || len(ve.Bundles) != 1 {
		t.Errorf("after both parties signed: %+v", ve.Signatures)
	}
	var got []string
	for _, e := range r.Log {
		got = append(got, e.Action+" "+e.Actor)
	}
	want := []string{
		"patch_added bench-engineer", "state_changed bench-engineer", "state_changed bench-engineer",
		"validation_recorded bench-engineer", "signed_off Hans Vogt", "signed_off Ann Lee", "bundle_exported bench-engineer",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("session log\n got %q\nwant %q", got, want)
	}
	for i, frag := range []string{
		"added patch " + DemoPatchID, "state identified → assessed_applicable", "state assessed_applicable → in_test",
		"recorded validation " + id, "signed " + id + " as oem_witness (OEM): approve",
		"ACCEPTED RISK over the computed NO-GO (which stays NO-GO): " + why, "exported the evidence bundle of " + id + " (NO-GO): " + filepath.Base(path) + ", sha256 " + sum[:12],
	} {
		if !strings.Contains(r.Log[i].String(), frag) {
			t.Errorf("log %d: %q, want it to say %q", i, r.Log[i].String(), frag)
		}
	}
	if !r.Log[5].Risk || r.Log[4].Risk {
		t.Errorf("risk flags: %v %v", r.Log[4].Risk, r.Log[5].Risk)
	}

	// A bundle of another validation under this one's name is intact, but not its record.
	other, err := w.DB.RecordValidation(ctx, register.Validation{PatchID: DemoPatchID, Record: verdict.Record{
		Verdict: verdict.Inconclusive, Scenario: "tank-alarm-trip.yaml", ScenarioSHA256: strings.Repeat("0", 64)}, Created: testNow}, "bench-engineer")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), other.ID+"-copy.zip"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if c := w.VerifyValidation(ctx, other.ID); c.OK || !strings.Contains(c.Text, "not the record of "+other.ID) {
		t.Errorf("verify a copied bundle: %s", c.Text)
	}
	// ... and it cannot be exported: the shipped scenario is not the file it names.
	if _, _, err := w.ExportValidation(ctx, other.ID); !errors.Is(err, ErrNotExportable) {
		t.Errorf("export with another scenario hash: %v", err)
	}
	// A changed byte fails.
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if c := w.VerifyValidation(ctx, id); c.OK || !strings.HasPrefix(c.Text, "verify FAILED: "+filepath.Base(path)) {
		t.Errorf("verify a changed bundle: %s", c.Text)
	}
}

func TestStoredResultRefuses(t *testing.T) {
	ctx := context.Background()
	w := openTest(t)
	v, err := w.DB.RecordValidation(ctx, register.Validation{PatchID: DemoPatchID, Record: verdict.Record{
		Verdict: verdict.NoGo, Scenario: "tank-short.yaml"}, Created: testNow}, "bench-engineer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.StoredResult(ctx, v.ID); !errors.Is(err, ErrNotExportable) || !strings.Contains(err.Error(), "not a shipped scenario") {
		t.Errorf("unshipped scenario: %v", err)
	}
	if _, err := w.StoredResult(ctx, "V-1999-999"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown validation: %v", err)
	}
	if bs := w.Bundles("../x"); bs != nil {
		t.Errorf("Bundles of a path: %v", bs)
	}
}

func TestSessionLogLenient(t *testing.T) {
	log := SessionLog([]register.AuditRow{
		{Seq: 1, Actor: "x", Action: register.ActionSignedOff, Subject: "V-1", Detail: []byte(`not json`)},
		{Seq: 2, Actor: "x", Action: "something_new", Subject: "P-1", Detail: []byte(`{}`)},
		{Seq: 3, Actor: "y", Action: register.ActionSignedOff, Subject: "V-1", Detail: []byte(`{"verdict":"NO-GO","role":"approver","decision":"reject","rationale":"wrong bench"}`)},
	})
	if len(log) != 3 || !strings.HasSuffix(log[0].String(), "  x  signed off V-1") || log[1].Text != "something new P-1" {
		t.Errorf("lenient log: %+v", log)
	}
	if !log[2].Rejected || !strings.Contains(log[2].String(), "as approver (asset owner): reject: wrong bench") || log[2].Detail != "wrong bench" {
		t.Errorf("reject entry: %+v", log[2])
	}
}
