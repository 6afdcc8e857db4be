package register

import (
	"context"
	"fmt"
)

// ActionRegisterPushed is the audit action of a push: a bench's own register copied into
// a shared one (pgstore.Push).
const ActionRegisterPushed = "register_pushed"

// Snapshot is everything a register holds, read through Store: what `register push`
// copies into a shared register.
type Snapshot struct {
	Assets      []Asset
	Patches     []Patch                 // in entry order
	Validations map[string][]Validation // by patch id, oldest first, with their texts
	SignOffs    map[string][]SignOff    // by validation id
	Audit       []AuditRow              // the whole trail, from row 1
}

// Source names the register a snapshot was read from: the hash of its audit row 1, which
// no other register's chain starts with ("" for an empty trail).
func (s Snapshot) Source() string {
	if len(s.Audit) == 0 {
		return ""
	}
	return s.Audit[0].Hash
}

// ReadSnapshot reads a whole register, after verifying its audit chain: a broken chain
// is not copied anywhere.
func ReadSnapshot(ctx context.Context, st Store) (Snapshot, error) {
	if _, err := st.VerifyAudit(ctx); err != nil {
		return Snapshot{}, fmt.Errorf("the register to push: %w", err)
	}
	s := Snapshot{Validations: map[string][]Validation{}, SignOffs: map[string][]SignOff{}}
	var err error
	if s.Assets, err = st.Assets(ctx); err != nil {
		return s, err
	}
	if s.Patches, err = st.Patches(ctx); err != nil {
		return s, err
	}
	for _, p := range s.Patches {
		vs, err := st.Validations(ctx, p.ID)
		if err != nil {
			return s, err
		}
		s.Validations[p.ID] = vs
		for _, v := range vs {
			if s.SignOffs[v.ID], err = st.SignOffs(ctx, v.ID); err != nil {
				return s, err
			}
		}
	}
	if s.Audit, err = st.Audit(ctx, 0); err != nil {
		return s, err
	}
	return s, nil
}

// SamePatch reports whether a and b are one patch entered once (same id, supplier,
// product, versions, type and entry time), whatever their states: the test push uses
// before it merges a patch's state.
func SamePatch(a, b Patch) bool {
	return a.ID == b.ID && a.Supplier == b.Supplier && a.Product == b.Product && a.FromVersion == b.FromVersion &&
		a.ToVersion == b.ToVersion && a.Type == b.Type && a.Created.Equal(b.Created)
}

// RegisterPushed is the audit detail of a push.
type RegisterPushed struct {
	Source     string `json:"source"`      // the pushed register's audit row 1 hash
	SourceHead int64  `json:"source_head"` // its last audit row copied
	SourceHash string `json:"source_hash"` // and that row's hash
	Rows       int    `json:"rows"`        // audit rows copied by this push
	Patches    int    `json:"patches"`     // patches added
	States     int    `json:"states"`      // patch states taken from the pushed register
	Validation int    `json:"validations"` // validations added
	SignOffs   int    `json:"signoffs"`    // sign-offs added
	Assets     int    `json:"assets"`      // assets added
	// Kept lists the patches whose state both registers changed, where the shared
	// register's later change was kept: "P-2026-001: kept go (2026-03-02T…), not in_test (…)".
	Kept []string `json:"kept,omitempty"`
	// Renumbered lists the patches and validations whose ids another patch or validation
	// had here, with the ids they were given: "V-2026-001 → V-2026-051". Their records and
	// bundles keep the bench's id; this row is the link.
	Renumbered []string `json:"renumbered,omitempty"`
}
