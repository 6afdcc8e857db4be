package ledger

import "github.com/patchgate/patchgate/harness/register"

// The register's rules and types live in harness/register; these aliases keep older
// callers compiling. New code names the register package.
type (
	PatchType          = register.PatchType
	Qualification      = register.Qualification
	State              = register.State
	TransitionError    = register.TransitionError
	Patch              = register.Patch
	Clock              = register.Clock
	StateDetail        = register.StateDetail
	AssetRole          = register.AssetRole
	Asset              = register.Asset
	Validation         = register.Validation
	File               = register.File
	Role               = register.Role
	Decision           = register.Decision
	SignOff            = register.SignOff
	AuditRow           = register.AuditRow
	AuditError         = register.AuditError
	BundleExport       = register.BundleExport
	ValidationRecorded = register.ValidationRecorded
	SignedOff          = register.SignedOff
	StateChange        = register.StateChange
)

const (
	Security             = register.Security
	Bugfix               = register.Bugfix
	Reliability          = register.Reliability
	Feature              = register.Feature
	Qualified            = register.Qualified
	NotQualified         = register.NotQualified
	QualificationUnknown = register.QualificationUnknown
	StateIdentified      = register.StateIdentified
	StateNotApplicable   = register.StateNotApplicable
	StateApplicable      = register.StateApplicable
	StateInTest          = register.StateInTest
	StateGo              = register.StateGo
	StateNoGo            = register.StateNoGo
	StateDeferred        = register.StateDeferred
	StateScheduled       = register.StateScheduled
	StateDeployed        = register.StateDeployed
	StateVerified        = register.StateVerified
	StateClosed          = register.StateClosed
	StateSuperseded      = register.StateSuperseded
	StateRolledBack      = register.StateRolledBack
	EvaluationDays       = register.EvaluationDays
	Bench                = register.Bench
	Production           = register.Production
	Tester               = register.Tester
	OEMWitness           = register.OEMWitness
	Approver             = register.Approver
	Approve              = register.Approve
	Reject               = register.Reject
	AcceptRisk           = register.AcceptRisk

	ActionPatchAdded         = register.ActionPatchAdded
	ActionStateChanged       = register.ActionStateChanged
	ActionAssetAdded         = register.ActionAssetAdded
	ActionValidationRecorded = register.ActionValidationRecorded
	ActionSignedOff          = register.ActionSignedOff
	ActionBundleExported     = register.ActionBundleExported
)

var (
	ErrInvalid           = register.ErrInvalid
	ErrIllegalTransition = register.ErrIllegalTransition
	ErrExists            = register.ErrExists
	ErrAuditBroken       = register.ErrAuditBroken

	PatchTypes     = register.PatchTypes
	Qualifications = register.Qualifications
	States         = register.States
	Next           = register.Next
	ParseState     = register.ParseState
	Roles          = register.Roles
	Decisions      = register.Decisions
)

// *DB is a register store.
var _ register.Store = (*DB)(nil)
