package register

import (
	"slices"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/verdict"
)

// Role is the capacity in which someone signs a validation.
type Role string

const (
	Tester     Role = "tester"
	OEMWitness Role = "oem_witness" // the vendor's engineer in a joint validation session
	Approver   Role = "approver"
)

// Roles lists the sign-off roles.
func Roles() []Role { return []Role{Tester, OEMWitness, Approver} }

// Decision is what a sign-off says about a validation.
type Decision string

const (
	// Approve: the validation and its computed verdict stand as recorded.
	Approve Decision = "approve"
	// Reject: the validation does not stand (wrong setup, wrong scenario…); needs a rationale.
	Reject Decision = "reject"
	// AcceptRisk: go ahead despite a NO-GO or INCONCLUSIVE verdict; needs a rationale. It is
	// the only way to override the computed verdict, and it never replaces it: the
	// validation keeps its verdict and the sign-off records the accepted risk.
	AcceptRisk Decision = "accept_risk"
)

// Decisions lists the sign-off decisions.
func Decisions() []Decision { return []Decision{Approve, Reject, AcceptRisk} }

// SignOff is one person's signature on a validation. In an OEM joint session both parties
// sign the same validation, each in their role.
type SignOff struct {
	ID           int64     `json:"id"`
	ValidationID string    `json:"validation_id"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	Decision     Decision  `json:"decision"`
	Rationale    string    `json:"rationale,omitempty"`
	Time         time.Time `json:"time"`
}

// Normalize trims a new sign-off, checks its role and decision, refuses a reject or
// accept_risk without a rationale, and sets Time to now when zero.
func (s *SignOff) Normalize() error {
	s.Name, s.Rationale = strings.TrimSpace(s.Name), strings.TrimSpace(s.Rationale)
	switch {
	case s.Name == "":
		return Invalid("no name: who signs?")
	case !slices.Contains(Roles(), s.Role):
		return Invalid("role %q: expected %s", s.Role, join(Roles(), "or"))
	case !slices.Contains(Decisions(), s.Decision):
		return Invalid("decision %q: expected %s", s.Decision, join(Decisions(), "or"))
	case s.Decision != Approve && s.Rationale == "":
		return Invalid("%s needs a rationale: why", s.Decision)
	}
	s.Time = OrNow(s.Time)
	return nil
}

// CheckSignOff refuses sign-off s on a validation of the given computed verdict:
// accept_risk on GO (there is no risk to accept beyond what GO says: approve it), and a
// second signature by the same person in the same role (signed lists the validation's
// sign-offs so far). It returns the audit detail of the sign-off.
func CheckSignOff(s SignOff, patch string, v verdict.Outcome, signed []SignOff) (SignedOff, error) {
	if s.Decision == AcceptRisk && v == verdict.Go {
		return SignedOff{}, Invalid("the computed verdict is GO: there is no risk to accept beyond it; approve instead")
	}
	for _, o := range signed {
		if o.Name == s.Name && o.Role == s.Role {
			return SignedOff{}, AlreadySigned(s)
		}
	}
	return SignedOff{Patch: patch, Verdict: v, Role: s.Role, Decision: s.Decision, Rationale: s.Rationale}, nil
}

// AlreadySigned is the ErrExists error of a second signature by the same person in the
// same role.
func AlreadySigned(s SignOff) error {
	return &existsError{s.Name + " already signed it as " + string(s.Role)}
}

type existsError struct{ what string }

func (e *existsError) Error() string        { return ErrExists.Error() + ": " + e.what }
func (e *existsError) Is(target error) bool { return target == ErrExists }

// Exists is the ErrExists error of a patch, validation or asset already in the register.
func Exists(what string) error { return &existsError{what} }

// SignedOff is the audit detail of a sign-off.
type SignedOff struct {
	Patch     string          `json:"patch"`
	Verdict   verdict.Outcome `json:"verdict"` // the computed verdict, as it stays
	Role      Role            `json:"role"`
	Decision  Decision        `json:"decision"`
	Rationale string          `json:"rationale,omitempty"`
}
