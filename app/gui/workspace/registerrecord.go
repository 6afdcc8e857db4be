package workspace

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/verdict"
)

// PatchRecord is everything the Register tab shows about one patch: the patch, its
// validations with their sign-offs and bundles, and its session log.
type PatchRecord struct {
	Patch       register.Patch
	Validations []ValidationEntry // oldest first
	Log         []LogEntry        // oldest first
}

// ValidationEntry is one validation with its sign-offs, where they stand, and the evidence
// bundles of it in the workspace's bundles folder.
type ValidationEntry struct {
	register.Validation
	SignOffs   []register.SignOff
	Signatures Signatures
	Bundles    []string // paths, oldest first
}

// PatchRecord reads patch id, its validations, their sign-offs and its audit rows from the
// register. It reads SQLite: call it off the UI goroutine.
func (w *Workspace) PatchRecord(ctx context.Context, id string) (PatchRecord, error) {
	var r PatchRecord
	var err error
	if r.Patch, err = w.Reg.Patch(ctx, id); err != nil {
		return r, err
	}
	vals, err := w.Reg.Validations(ctx, id)
	if err != nil {
		return r, err
	}
	for _, v := range vals {
		sos, err := w.Reg.SignOffs(ctx, v.ID)
		if err != nil {
			return r, err
		}
		r.Validations = append(r.Validations, ValidationEntry{Validation: v, SignOffs: sos,
			Signatures: SignatureStatus(sos), Bundles: w.Bundles(v.ID)})
	}
	rows, err := w.Reg.PatchAudit(ctx, id)
	if err != nil {
		return r, err
	}
	r.Log = SessionLog(rows)
	return r, nil
}

// Party is the side a sign-off role signs for in an OEM joint session.
type Party string

const (
	OEM        Party = "OEM"         // the vendor: role oem_witness
	AssetOwner Party = "asset owner" // the site: roles tester and approver
)

// PartyOf is the party role r signs for.
func PartyOf(r register.Role) Party {
	if r == register.OEMWitness {
		return OEM
	}
	return AssetOwner
}

// Signatures is where the sign-offs of one validation stand.
//
// The asset owner's approver is the accountable signature: a validation is fully signed
// when an approver approved it or accepted its risk. In an OEM joint session (any OEM
// witness signed) both parties sign the same record, so it is fully signed only when the
// OEM witness has signed too. A rejection by anyone decides: the validation does not stand.
// Testers' signatures are shown and count for the asset owner's side, but do not complete
// the record on their own.
type Signatures struct {
	OEM        []register.SignOff // oem_witness
	AssetOwner []register.SignOff // tester and approver
	Joint      bool               // an OEM witness signed: both parties sign
	Complete   bool               // fully signed (and not rejected)
	Rejected   *register.SignOff  // the first rejection
	// RiskAccepted: an accept_risk sign-off. It overrides the computed verdict as a
	// recorded, reasoned risk; the validation keeps its computed verdict.
	RiskAccepted bool
	Awaiting     []string // who still has to sign: "the OEM witness", "the asset owner's approver"
	Text         string   // one line: "fully signed: OEM witness Hans Vogt, asset owner Ann Lee"
}

// SignatureStatus says where the sign-offs sos of one validation stand.
func SignatureStatus(sos []register.SignOff) Signatures {
	var s Signatures
	var approver *register.SignOff
	for i := range sos {
		so := &sos[i]
		if PartyOf(so.Role) == OEM {
			s.OEM = append(s.OEM, *so)
			s.Joint = true
		} else {
			s.AssetOwner = append(s.AssetOwner, *so)
		}
		switch so.Decision {
		case register.Reject:
			if s.Rejected == nil {
				r := *so
				s.Rejected = &r
			}
		case register.AcceptRisk:
			s.RiskAccepted = true
		}
		if so.Role == register.Approver && so.Decision != register.Reject && approver == nil {
			approver = so
		}
	}
	if s.Joint && !hasDecision(s.OEM) {
		s.Awaiting = append(s.Awaiting, "the OEM witness")
	}
	if approver == nil {
		s.Awaiting = append(s.Awaiting, "the asset owner's approver")
	}
	switch {
	case s.Rejected != nil:
		s.Text = fmt.Sprintf("REJECTED by %s (%s): the validation does not stand", s.Rejected.Name, s.Rejected.Role)
	case len(s.Awaiting) > 0 && len(sos) == 0:
		s.Text = "unsigned: awaiting " + strings.Join(s.Awaiting, " and ")
	case len(s.Awaiting) > 0:
		s.Text = "awaiting " + strings.Join(s.Awaiting, " and ")
	case s.Joint:
		s.Complete = true
		s.Text = fmt.Sprintf("fully signed in a joint session: OEM witness %s, asset owner %s", names(s.OEM), approver.Name)
	default:
		s.Complete = true
		s.Text = fmt.Sprintf("fully signed by the asset owner (approver %s); no OEM witness", approver.Name)
	}
	if s.RiskAccepted && s.Rejected == nil {
		s.Text += "; risk accepted"
	}
	return s
}

func hasDecision(sos []register.SignOff) bool {
	for _, so := range sos {
		if so.Decision != register.Reject {
			return true
		}
	}
	return false
}

func names(sos []register.SignOff) string {
	var out []string
	for _, so := range sos {
		out = append(out, so.Name)
	}
	return strings.Join(out, ", ")
}

// SignOffText is one sign-off in a line, the accepted risk spelled out:
// "ACCEPTED RISK (overrides computed NO-GO) by Ann Lee (approver, asset owner) 2026-03-20 12:00".
// The rationale is not part of it.
func SignOffText(so register.SignOff, computed verdict.Outcome) string {
	what := strings.ToUpper(string(so.Decision))
	if so.Decision == register.AcceptRisk {
		what = "ACCEPTED RISK (overrides computed " + string(computed) + ")"
	}
	return fmt.Sprintf("%s by %s (%s, %s) %s", what, so.Name, so.Role, PartyOf(so.Role), so.Time.Local().Format("2006-01-02 15:04"))
}

// LogEntry is one line of a patch's session log: who did what and when.
type LogEntry struct {
	Seq     int64
	Time    time.Time
	Actor   string
	Action  string // the audit action
	Subject string // the patch or validation id
	Text    string // what happened, in words
	Detail  string // why, or what came with it: a rationale, a note, a mitigation plan ("" when none)
	// Risk: a sign-off that accepted a risk; Rejected: one that rejected the validation.
	Risk, Rejected bool
}

// String is the entry in one line: "2026-03-20 12:00  Ann Lee  signed V-2026-001 …: why".
func (e LogEntry) String() string {
	s := fmt.Sprintf("%s  %s  %s", e.Time.Local().Format("2006-01-02 15:04"), e.Actor, e.Text)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// SessionLog turns the audit rows of a patch (register.Store.PatchAudit) into its session log.
func SessionLog(rows []register.AuditRow) []LogEntry {
	out := make([]LogEntry, 0, len(rows))
	for _, r := range rows {
		e := LogEntry{Seq: r.Seq, Time: r.Time, Actor: r.Actor, Action: r.Action, Subject: r.Subject}
		describe(r, &e)
		out = append(out, e)
	}
	return out
}

// describe fills e.Text and e.Detail from audit row r. The detail is parsed leniently: a
// row whose detail does not parse still shows its action and subject.
func describe(r register.AuditRow, e *LogEntry) {
	e.Text = fmt.Sprintf("%s %s", strings.ReplaceAll(r.Action, "_", " "), r.Subject)
	switch r.Action {
	case register.ActionPatchAdded:
		var p register.Patch
		if json.Unmarshal(r.Detail, &p) != nil {
			return
		}
		e.Text = fmt.Sprintf("added patch %s: %s %s %s → %s (%s)", r.Subject, p.Supplier, p.Product, p.FromVersion, p.ToVersion, p.Type)
	case register.ActionStateChanged:
		var d register.StateChange
		if json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		e.Text = fmt.Sprintf("state %s → %s", d.From, d.To)
		var more []string
		switch {
		case d.MitigationPlan != "":
			more = append(more, fmt.Sprintf("mitigation plan %q, review %s", d.MitigationPlan, d.ReviewDate.Local().Format(time.DateOnly)))
		case !d.WindowStart.IsZero():
			more = append(more, fmt.Sprintf("window %s to %s", d.WindowStart.Local().Format("2006-01-02 15:04"), d.WindowEnd.Local().Format("2006-01-02 15:04")))
		case d.SupersededBy != "":
			more = append(more, "superseded by "+d.SupersededBy)
		}
		if d.Note != "" {
			more = append(more, "note: "+d.Note)
		}
		e.Detail = strings.Join(more, "; ")
	case register.ActionValidationRecorded:
		var d register.ValidationRecorded
		if json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		e.Text = fmt.Sprintf("recorded validation %s: computed %s", r.Subject, d.Verdict)
		e.Detail = fmt.Sprintf("%s, before runs %v, after runs %v", d.Scenario, d.BeforeRuns, d.AfterRuns)
	case register.ActionSignedOff:
		var d register.SignedOff
		if json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		e.Risk, e.Rejected = d.Decision == register.AcceptRisk, d.Decision == register.Reject
		what := string(d.Decision)
		if e.Risk {
			what = fmt.Sprintf("ACCEPTED RISK over the computed %s (which stays %s)", d.Verdict, d.Verdict)
		}
		e.Text = fmt.Sprintf("signed %s as %s (%s): %s", r.Subject, d.Role, PartyOf(d.Role), what)
		e.Detail = d.Rationale
	case register.ActionBundleExported:
		var d register.BundleExport
		if json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		e.Text = fmt.Sprintf("exported the evidence bundle of %s (%s)", r.Subject, d.Verdict)
		e.Detail = fmt.Sprintf("%s, sha256 %s…", filepath.Base(d.File), d.SHA256[:min(12, len(d.SHA256))])
	}
}
