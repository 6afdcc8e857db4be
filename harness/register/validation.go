package register

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/verdict"
)

// Validation is one before/after validation of a patch, with its verdict record.
type Validation struct {
	ID         string  `json:"id"` // e.g. V-2026-001; RecordValidation makes one when empty
	PatchID    string  `json:"patch_id"`
	Scenario   string  `json:"scenario"`    // the record's when empty
	BeforeRuns []int64 `json:"before_runs"` // the record's when nil
	AfterRuns  []int64 `json:"after_runs"`  // the record's when nil
	// Record is the verdict record as the comparison produced it; Verdict is its computed
	// verdict, stored beside it. A sign-off may accept a risk; it never changes either.
	Record       verdict.Record  `json:"record"`
	RecordSHA256 string          `json:"record_sha256"` // of the record JSON as stored
	Verdict      verdict.Outcome `json:"verdict"`
	Bundle       string          `json:"bundle,omitempty"`
	BundleSHA256 string          `json:"bundle_sha256,omitempty"`
	// Differences are the differences between the test bench and production (CIP-010-4
	// R1.5.2), one per line: "bench PLC firmware 3.2.0 same as production; I/O simulated".
	Differences []string  `json:"differences"`
	Created     time.Time `json:"created"`
	// ScenarioFile and PointMapFile are the scenario and point map exactly as the validation
	// ran them, so its evidence bundle can be rebuilt after the files changed or went. Both
	// are empty for a validation recorded before the register kept them. The scenario's
	// bytes must have the record's ScenarioSHA256.
	ScenarioFile File `json:"-"`
	PointMapFile File `json:"-"`
	// WriteBundle, when set, writes the validation's evidence bundle once its id is known,
	// inside the transaction that records it: given the record as it will be stored (naming
	// its own validation), it returns the record as bundled (with its bundle's name and
	// SHA-256). So the bundle a validation writes carries the validation id, and a validation
	// whose bundle could not be written is not recorded without it.
	WriteBundle func(verdict.Record) (verdict.Record, error) `json:"-"`
}

// File is a text a validation ran: its file name (no folder) and its bytes.
type File struct {
	Name string
	Data []byte
}

// Normalize fills a validation from its record and refuses contradictions (a typed-in
// verdict, another patch, scenario, bundle or runs than the record's), and sets Created to
// now when zero.
func (v *Validation) Normalize() error {
	r := &v.Record
	if v.ID != "" {
		if err := CheckID("validation", v.ID); err != nil {
			return err
		}
	}
	switch r.Verdict {
	case verdict.Go, verdict.NoGo, verdict.Inconclusive:
	default:
		return Invalid("the record's verdict is %q; expected %s, %s or %s", r.Verdict, verdict.Go, verdict.NoGo, verdict.Inconclusive)
	}
	if v.Verdict != "" && v.Verdict != r.Verdict {
		return Invalid("verdict %s differs from the record's computed verdict %s; the verdict is computed, never typed in", v.Verdict, r.Verdict)
	}
	v.Verdict = r.Verdict
	if r.Patch != "" && r.Patch != v.PatchID {
		return Invalid("the record is for patch %s, not %s", r.Patch, v.PatchID)
	}
	same := func(what string, dst *string, rec string) error {
		switch {
		case *dst == "":
			*dst = rec
		case rec != "" && *dst != rec:
			return Invalid("%s %q differs from the record's %q", what, *dst, rec)
		}
		return nil
	}
	if err := errors.Join(same("scenario", &v.Scenario, r.Scenario), same("bundle", &v.Bundle, r.Bundle),
		same("bundle SHA-256", &v.BundleSHA256, r.BundleSHA256)); err != nil {
		return err
	}
	if v.Scenario == "" {
		return Invalid("no scenario")
	}
	for _, runs := range []struct {
		what     string
		dst      *[]int64
		rec      []int64
		fallback bool
	}{{"before runs", &v.BeforeRuns, r.BeforeRuns, v.BeforeRuns == nil}, {"after runs", &v.AfterRuns, r.AfterRuns, v.AfterRuns == nil}} {
		switch {
		case runs.fallback:
			*runs.dst = slices.Clone(runs.rec)
		case len(runs.rec) > 0 && !slices.Equal(*runs.dst, runs.rec):
			return Invalid("%s %v differ from the record's %v", runs.what, *runs.dst, runs.rec)
		}
		if *runs.dst == nil {
			*runs.dst = []int64{}
		}
	}
	var err error
	if v.BundleSHA256, err = CheckSHA256("bundle SHA-256", v.BundleSHA256); err != nil {
		return err
	}
	var diffs []string
	for _, d := range v.Differences {
		if d = strings.TrimSpace(d); d != "" {
			diffs = append(diffs, d)
		}
	}
	v.Differences = nonNil(diffs)
	v.Created = OrNow(v.Created)
	for _, f := range []struct {
		what string
		f    *File
	}{{"scenario", &v.ScenarioFile}, {"point map", &v.PointMapFile}} {
		f.f.Name = strings.TrimSpace(f.f.Name)
		if f.f.Data == nil && f.f.Name != "" {
			return Invalid("%s file %s without its text", f.what, f.f.Name)
		}
		if f.f.Data != nil && (f.f.Name == "" || strings.ContainsAny(f.f.Name, `/\`)) {
			return Invalid("%s text named %q; expected a file name without a folder", f.what, f.f.Name)
		}
	}
	if d := v.ScenarioFile.Data; d != nil && r.ScenarioSHA256 != "" && SHA256Hex(d) != r.ScenarioSHA256 {
		return Invalid("the scenario text has SHA-256 %s, the record's scenario %s", SHA256Hex(d), r.ScenarioSHA256)
	}
	return nil
}

// Seal finishes a normalized validation once its id is known, inside the transaction that
// stores it: the change-request record names its own validation, WriteBundle (when set)
// writes the bundle and gives the bundle's name and SHA-256, and RecordSHA256 is set. It
// returns the record JSON exactly as it is to be stored.
func (v *Validation) Seal() ([]byte, error) {
	if cr := v.Record.ChangeRequest; cr != nil && cr.Validation == "" {
		named := *cr
		named.Validation = v.ID // the change-request record names its own validation
		v.Record.ChangeRequest = &named
	}
	if v.WriteBundle != nil {
		var err error
		if v.Record, err = v.WriteBundle(v.Record); err != nil {
			return nil, err
		}
		v.Bundle, v.BundleSHA256 = v.Record.Bundle, v.Record.BundleSHA256
		if v.BundleSHA256, err = CheckSHA256("bundle SHA-256", v.BundleSHA256); err != nil {
			return nil, err
		}
	}
	record, err := json.Marshal(v.Record)
	if err != nil {
		return nil, err
	}
	v.RecordSHA256 = SHA256Hex(record)
	return record, nil
}

// Recorded is the audit detail of validation v of a patch in state patchState; the texts'
// SHA-256 are those of v's scenario and point map files (empty without them).
func (v Validation) Recorded(patchState State) ValidationRecorded {
	d := ValidationRecorded{Patch: v.PatchID, PatchState: patchState, Verdict: v.Verdict, Scenario: v.Scenario,
		BeforeRuns: v.BeforeRuns, AfterRuns: v.AfterRuns, RecordSHA256: v.RecordSHA256, Bundle: v.Bundle,
		BundleSHA256: v.BundleSHA256, Differences: v.Differences}
	if v.ScenarioFile.Data != nil {
		d.ScenarioSHA256 = SHA256Hex(v.ScenarioFile.Data)
	}
	if v.PointMapFile.Data != nil {
		d.PointMapSHA256 = SHA256Hex(v.PointMapFile.Data)
	}
	return d
}

// CheckTexts is an ErrCorrupt error when a validation read back names a text (by its
// SHA-256, sums[i] for the scenario and the point map, "" for none) that is missing or
// does not have that SHA-256.
func (v Validation) CheckTexts(sums [2]string) error {
	for i, f := range []File{v.ScenarioFile, v.PointMapFile} {
		switch {
		case sums[i] != "" && f.Data == nil:
			return corrupt("validation %s: text %s of %s is missing", v.ID, sums[i], f.Name)
		case sums[i] != "" && SHA256Hex(f.Data) != sums[i]:
			return corrupt("validation %s: the text of %s does not have its SHA-256 %s", v.ID, f.Name, sums[i])
		}
	}
	return nil
}

// ValidationRecorded is the audit detail of a validation.
type ValidationRecorded struct {
	Patch        string          `json:"patch"`
	PatchState   State           `json:"patch_state"`
	Verdict      verdict.Outcome `json:"verdict"`
	Scenario     string          `json:"scenario"`
	BeforeRuns   []int64         `json:"before_runs"`
	AfterRuns    []int64         `json:"after_runs"`
	RecordSHA256 string          `json:"record_sha256"`
	Bundle       string          `json:"bundle,omitempty"`
	BundleSHA256 string          `json:"bundle_sha256,omitempty"`
	Differences  []string        `json:"differences"`
	// the SHA-256 of the texts stored with it (the scenario's is also the record's)
	ScenarioSHA256 string `json:"scenario_sha256,omitempty"`
	PointMapSHA256 string `json:"point_map_sha256,omitempty"`
}
