package validation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/register"
	"github.com/patchgate/patchgate/harness/trace"
)

// Exporting a validation stored in the register (docs/architecture.md, "Evidence bundles"):
// the CLI's `register export` and the desktop's Register tab both come here. The bundle is
// the validation's own, byte for byte as first signed when it can be (the file the register
// recorded, or the same bytes rebuilt with the same key), with a signed addendum of every
// sign-off so far.

// ErrNotExportable: a stored validation whose bundle cannot be rebuilt from the register
// (recorded before the register kept texts, and its scenario is not one the caller can
// find, or not the file it ran).
var ErrNotExportable = errors.New("cannot rebuild the evidence bundle from the register")

// ScenarioFinder finds the scenario file a validation recorded before the register kept
// texts ran, by the name and SHA-256 its record gives; nil finds none.
type ScenarioFinder func(name, sha256 string) (*Scenario, error)

// Traces is where a validation's runs are: the local ledger, also when the register is
// shared (docs/architecture.md, "The register on PostgreSQL").
type Traces interface {
	LoadTrace(ctx context.Context, id int64) (*trace.Trace, error)
}

// Stored rebuilds the Result of validation id from the register reg and the runs in traces:
// its record, the traces of its runs, and the scenario and point map texts it ran, whatever
// became of the files since. A record from before the register kept texts takes its scenario
// from find.
func Stored(ctx context.Context, reg register.Store, traces Traces, id string, find ScenarioFinder) (*Result, error) {
	v, err := reg.Validation(ctx, id)
	if err != nil {
		return nil, err
	}
	var sc *Scenario
	switch {
	case v.ScenarioFile.Data != nil:
		sc, err = Parse(v.ScenarioFile.Name, v.ScenarioFile.Data, func(string) (string, []byte, error) {
			if v.PointMapFile.Data == nil {
				return "", nil, errors.New("the register holds no point map text")
			}
			return v.PointMapFile.Name, v.PointMapFile.Data, nil
		})
		if err != nil {
			err = fmt.Errorf("%w: the scenario as run no longer compiles: %w", ErrNotExportable, err)
		}
	case find != nil:
		sc, err = find(v.Scenario, v.Record.ScenarioSHA256)
	default:
		err = fmt.Errorf("%w: it was recorded before the register kept the scenario's text", ErrNotExportable)
	}
	if err != nil {
		return nil, fmt.Errorf("validation %s: %w", id, err)
	}
	res := &Result{Scenario: sc, Record: v.Record, Validation: v.ID}
	if res.Patch, err = reg.Patch(ctx, v.PatchID); err != nil {
		return nil, fmt.Errorf("validation %s: %w", id, err)
	}
	// the change request names the validation; a record from before change requests gets
	// one from the register (its operator unknown)
	cr := res.Record.ChangeRequest
	if cr == nil {
		cr = ChangeRequestOf(res.Patch, "", "", "", v.Differences)
	}
	c := *cr
	c.Validation = v.ID
	res.Record.ChangeRequest = &c
	for _, side := range []struct {
		name string
		ids  []int64
		out  *[]*trace.Trace
	}{{"before", v.BeforeRuns, &res.Before}, {"after", v.AfterRuns, &res.After}} {
		for _, rid := range side.ids {
			tr, err := traces.LoadTrace(ctx, rid)
			if err != nil {
				return nil, fmt.Errorf("validation %s: %s run %d: %w", id, side.name, rid, err)
			}
			*side.out = append(*side.out, tr)
		}
	}
	return res, nil
}

// Export is what ExportStored wrote.
type Export struct {
	Path   string
	SHA256 string
	// Original: the validation's bundle is the one the register recorded when it was run,
	// byte for byte (its file, or rebuilt with the same key); false when none was recorded
	// or it was signed with another key, and this export signed it anew.
	Original bool
	SignOffs int
}

// ExportInput says which stored validation to export, where, and as whom.
type ExportInput struct {
	Validation string
	Path       string
	Key        ed25519.PrivateKey // the exporting workstation's signing key
	Actor      string             // who exports, for the addendum and the audit trail
	Now        time.Time          // the export's time; zero: time.Now
	Find       ScenarioFinder     // for validations recorded before the register kept texts
}

// ExportStored writes the evidence bundle of a stored validation to in.Path, with the
// sign-off addendum (every sign-off so far, chained to the bundle's manifest, signed with
// in.Key), and records the export in the register's audit trail.
func ExportStored(ctx context.Context, reg register.Store, traces Traces, in ExportInput) (Export, error) {
	id, path, key := in.Validation, in.Path, in.Key
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	out := Export{Path: path}
	if len(key) != ed25519.PrivateKeySize {
		return out, fmt.Errorf("export of %s: no signing key", id)
	}
	v, err := reg.Validation(ctx, id)
	if err != nil {
		return out, err
	}
	original, ok := recordedBundle(v)
	if ok {
		out.Original = true
	} else {
		res, err := Stored(ctx, reg, traces, id, in.Find)
		if err != nil {
			return out, err
		}
		// the bundle as first written: the record as bundled then, under its first name
		name := path
		if res.Record.Bundle != "" {
			name = res.Record.Bundle
		}
		res.Record.BundleSHA256 = ""
		var buf bytes.Buffer
		_, sum, err := WriteBundle(&buf, res, name, key)
		if err != nil {
			return out, err
		}
		original = buf.Bytes()
		out.Original = sum == v.BundleSHA256
	}
	signoffs, err := reg.SignOffs(ctx, id)
	if err != nil {
		return out, err
	}
	_, head, err := reg.AuditHead(ctx)
	if err != nil {
		return out, err
	}
	a := bundle.Addendum{Validation: v.ID, Patch: v.PatchID, Exported: now.UTC(), ExportedBy: in.Actor, AuditHead: head}
	for _, s := range signoffs {
		a.SignOffs = append(a.SignOffs, bundle.SignOff{Name: s.Name, Role: string(s.Role), Decision: string(s.Decision), Rationale: s.Rationale, Time: s.Time.UTC()})
	}
	out.SignOffs = len(a.SignOffs)
	var buf bytes.Buffer
	if out.SHA256, err = bundle.AddSignOffs(&buf, bytes.NewReader(original), int64(len(original)), a, key); err != nil {
		return out, err
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return out, badInput("bundle %s: %v", path, err)
	}
	if err := reg.RecordBundle(ctx, id, path, out.SHA256, in.Actor, now); err != nil {
		return out, fmt.Errorf("bundle %s written, but its export is not in the register: %w", path, err)
	}
	return out, nil
}

// recordedBundle reads the bundle file the register recorded for v, when it is still there
// with the bytes recorded.
func recordedBundle(v register.Validation) ([]byte, bool) {
	if v.Bundle == "" || v.BundleSHA256 == "" {
		return nil, false
	}
	b, err := os.ReadFile(v.Bundle)
	if err != nil {
		return nil, false
	}
	h := sha256.Sum256(b)
	return b, hex.EncodeToString(h[:]) == v.BundleSHA256
}

// writeFileAtomic writes data to path through a temporary file in its folder, so a reader
// never sees half a bundle and an old bundle at path is replaced whole.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".bundle-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
