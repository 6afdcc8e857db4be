// Package verdict decides GO / NO-GO / INCONCLUSIVE from the findings of a comparison, and
// defines the verdict record that the register stores, the evidence bundle carries and
// `patchgate validate --json` prints. It is pure: no I/O, no clock, no globals.
//
// Rules (docs/architecture.md#verdict-semantics): a failed critical criterion gives NO-GO; a
// failed major one gives NO-GO unless the scenario relaxed it (verdict: major_is_nogo:
// false); minor failures are listed, never hidden. An inconclusive critical or major
// criterion (missing data, a faulted run, too few samples, harness timing noise larger than
// the tolerance) gives INCONCLUSIVE, never GO (a major one only while major failures give
// NO-GO: where a major failure would not block, neither does an open major question). NO-GO
// takes precedence over INCONCLUSIVE: a definite failure stays a failure whatever else is
// missing. Decide applies these rules.
package verdict

import (
	"strings"

	"github.com/patchgate/patchgate/harness/driver"
)

// Outcome is the decision.
type Outcome string

const (
	Go           Outcome = "GO"
	NoGo         Outcome = "NO-GO"
	Inconclusive Outcome = "INCONCLUSIVE"
)

// Status of one criterion.
type Status string

const (
	Pass            Status = "pass"
	Fail            Status = "fail"
	StatusUndecided Status = "inconclusive"
)

// Kind of criterion.
type Kind string

const (
	KindData     Kind = "data"     // runs complete, no gaps, enough samples
	KindCheck    Kind = "check"    // a scenario expect / wait_until
	KindSignal   Kind = "signal"   // an analog tag within its tolerance band
	KindSequence Kind = "sequence" // discrete events: missing, extra, reordered, timing
	KindTiming   Kind = "timing"   // a timing probe compared as distributions
	KindIdentity Kind = "identity" // firmware changed as the patch says; nothing else changed
	KindPosture  Kind = "posture"  // security posture: ports, OPC UA endpoints and certificate, Modbus function codes
)

// Where points into the traces: which run, which time window (ns since run start), which tag.
type Where struct {
	Side   string `json:"side"` // before or after
	RunID  int64  `json:"run_id,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Step   int    `json:"step,omitempty"`
	FromNs int64  `json:"from_ns"`
	ToNs   int64  `json:"to_ns"`
}

// Criterion is one finding: what was expected, what was seen before and after, the
// tolerance, the outcome and why, and where in the trace to look.
type Criterion struct {
	ID        string             `json:"id"`
	Kind      Kind               `json:"kind"`
	Severity  string             `json:"severity"` // critical, major, minor
	Status    Status             `json:"status"`
	Expected  string             `json:"expected"`
	Before    string             `json:"before"`
	After     string             `json:"after"`
	Tolerance string             `json:"tolerance"`
	Reason    string             `json:"reason"`
	Where     *Where             `json:"where,omitempty"`
	Numbers   map[string]float64 `json:"numbers,omitempty"` // statistics behind the finding
	// Needed, for a criterion inconclusive for too few samples: how many would do.
	Needed int `json:"needed,omitempty"`
}

// Calibration is the harness's own measured timing noise, part of every record.
type Calibration struct {
	LatenessP50Us  float64 `json:"lateness_p50_us"`
	LatenessP99Us  float64 `json:"lateness_p99_us"`
	JitterUs       float64 `json:"jitter_us"` // p99 - p50 of the sampling lateness
	RoundTripP50Us float64 `json:"round_trip_p50_us"`
	RoundTripP99Us float64 `json:"round_trip_p99_us"`
}

// Record is the machine record of one validation.
type Record struct {
	Verdict        Outcome         `json:"verdict"`
	Reasons        []string        `json:"reasons"` // one line per criterion that decided
	Scenario       string          `json:"scenario"`
	ScenarioSHA256 string          `json:"scenario_sha256,omitempty"`
	PointMap       string          `json:"point_map"`
	Patch          string          `json:"patch,omitempty"`
	BeforeTarget   string          `json:"before_target"`
	AfterTarget    string          `json:"after_target"`
	BeforeRuns     []int64         `json:"before_runs"`
	AfterRuns      []int64         `json:"after_runs"`
	IdentityBefore driver.Identity `json:"identity_before"`
	IdentityAfter  driver.Identity `json:"identity_after"`
	Criteria       []Criterion     `json:"criteria"`
	Calibration    Calibration     `json:"calibration"`
	TimeMode       string          `json:"time_mode"`
	ToolVersion    string          `json:"tool_version"`
	Decided        string          `json:"decided,omitempty"` // RFC 3339, set by the caller (verdict has no clock)
	Bundle         string          `json:"bundle,omitempty"`
	// SignerPublicKey is the hex ed25519 public key of the workstation that signed the
	// bundle: inside the signed bundle, and in the register with the record.
	SignerPublicKey string `json:"signer_public_key,omitempty"`
	BundleSHA256    string `json:"bundle_sha256,omitempty"`
	// ChangeRequest is what a change board reads first: the patch, who validated it where,
	// and how the bench differs from production. Nil for a validation not recorded against
	// a patch (the study) and for records written before it existed.
	ChangeRequest *ChangeRequest `json:"change_request,omitempty"`
}

// ChangeRequest is the part of a record that a change request cites (docs/architecture.md,
// "Evidence"): the patch as the register holds it, the validation's id once recorded, who
// ran it on which workstation, and the differences between the test bench and production
// (NERC CIP-010-4 R1.5.2).
type ChangeRequest struct {
	Validation  string     `json:"validation,omitempty"` // V-..., once the register holds it
	Patch       PatchFacts `json:"patch"`
	Operator    string     `json:"operator"`
	Workstation string     `json:"workstation"`
	Differences []string   `json:"differences"` // empty: none recorded
}

// PatchFacts describe the patch validated, as the register holds them.
type PatchFacts struct {
	ID               string   `json:"id"`
	Supplier         string   `json:"supplier"`
	Product          string   `json:"product"`
	FromVersion      string   `json:"from_version"`
	ToVersion        string   `json:"to_version"`
	Type             string   `json:"type"`
	CVEs             []string `json:"cves"`
	Advisory         string   `json:"advisory,omitempty"`
	FileSHA256       string   `json:"file_sha256,omitempty"`
	SignatureChecked bool     `json:"signature_checked"`
	SignatureNote    string   `json:"signature_note,omitempty"` // by whom and how
	Qualification    string   `json:"qualification"`            // the vendor's
}

// Decision is the record's verdict in one line with the criteria that made it, as a change
// request cites it: "NO-GO: timing:polling_load (major), signal:Level (major)". It reads
// the deciding lines of Decide's reasons ("NO-GO: ID (severity): why"), leaving the listed
// ones and the whys to the reasons.
func (r Record) Decision() string {
	prefix := string(r.Verdict) + ": "
	var made []string
	for _, reason := range r.Reasons {
		rest, ok := strings.CutPrefix(reason, prefix)
		if !ok {
			continue
		}
		if i := strings.Index(rest, "): "); i > 0 && r.Verdict != Go {
			rest = rest[:i+1]
		}
		made = append(made, rest)
	}
	if len(made) == 0 {
		return string(r.Verdict)
	}
	return prefix + strings.Join(made, ", ")
}
