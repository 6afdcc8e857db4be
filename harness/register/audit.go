package register

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/verdict"
)

// The audit trail records every write to the register (patch added, state changed, asset
// added, validation recorded, sign-off, evidence bundle exported) in the same transaction
// as the write itself. It is append-only (the stores refuse UPDATE and DELETE on it) and
// each row is hash-chained to the one before it:
//
//	hash = hex(SHA-256(prev_hash || seq || time_ns || actor || action || subject || detail))
//
// where prev_hash is the previous row's hash as 64 ASCII hex characters (64 '0' for row 1),
// seq and time_ns are int64 big-endian, and actor, action, subject and detail are each a
// uint32 big-endian byte length followed by the UTF-8 bytes (detail is the JSON text
// exactly as stored). Verifier recomputes the chain; anyone can recompute it from the
// table with the same rule.
//
// The chain shows any changed, inserted or removed row except removing rows at the end.
// To pin the end too, keep the head (AuditHead) somewhere else, e.g. in an evidence bundle.

// ErrAuditBroken: the audit chain does not verify; errors.As gives the *AuditError.
var ErrAuditBroken = errors.New("audit trail broken")

// AuditError names the first audit row that does not verify.
type AuditError struct {
	Seq    int64
	Reason string // "hash does not match its content", "prev_hash does not match row 16", …
}

func (e *AuditError) Error() string { return fmt.Sprintf("audit row %d: %s", e.Seq, e.Reason) }

// Unwrap makes errors.Is(err, ErrAuditBroken) true.
func (e *AuditError) Unwrap() error { return ErrAuditBroken }

// AuditRow is one entry of the audit trail.
type AuditRow struct {
	Seq      int64           `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Subject  string          `json:"subject"`
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Audit actions.
const (
	ActionPatchAdded         = "patch_added"
	ActionStateChanged       = "state_changed"
	ActionAssetAdded         = "asset_added"
	ActionValidationRecorded = "validation_recorded"
	ActionSignedOff          = "signed_off"
	ActionBundleExported     = "bundle_exported"
)

// Genesis is the prev_hash of the first row: 64 '0'.
var Genesis = strings.Repeat("0", 64)

// ComputeHash computes the row's hash from its content and PrevHash.
func (r *AuditRow) ComputeHash() string {
	h := sha256.New()
	h.Write([]byte(r.PrevHash))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(r.Seq))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(r.Time.UnixNano()))
	h.Write(b[:])
	for _, s := range []string{r.Actor, r.Action, r.Subject, string(r.Detail)} {
		binary.BigEndian.PutUint32(b[:4], uint32(len(s)))
		h.Write(b[:4])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NextAuditRow is the row that continues a chain whose last row is (headSeq, headHash)
// (0 and Genesis for an empty trail): detail marshalled to JSON, the next seq, the hash.
func NextAuditRow(headSeq int64, headHash string, at time.Time, actor, action, subject string, detail any) (AuditRow, error) {
	d, err := json.Marshal(detail)
	if err != nil {
		return AuditRow{}, fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	r := AuditRow{Seq: headSeq + 1, Time: at, Actor: actor, Action: action, Subject: subject, Detail: d, PrevHash: headHash}
	r.Hash = r.ComputeHash()
	return r, nil
}

// Verifier checks an audit trail row by row, from row 1 in order: Next returns, at the
// first row that does not verify, an *AuditError (wrapping ErrAuditBroken) naming it: a
// gap in the sequence, a prev_hash that is not the previous row's hash, or a hash that
// does not match the row's content. N is how many rows verified.
type Verifier struct {
	prev AuditRow
	N    int
}

// Next checks the next row of the trail.
func (v *Verifier) Next(r AuditRow) error {
	prev := v.prev
	if prev.Seq == 0 {
		prev.Hash = Genesis
	}
	switch {
	case r.Seq != prev.Seq+1 && prev.Seq == 0:
		return &AuditError{r.Seq, fmt.Sprintf("the trail starts at row %d, not row 1", r.Seq)}
	case r.Seq == prev.Seq+2:
		return &AuditError{r.Seq, fmt.Sprintf("follows row %d: row %d is missing", prev.Seq, prev.Seq+1)}
	case r.Seq != prev.Seq+1:
		return &AuditError{r.Seq, fmt.Sprintf("follows row %d: rows %d to %d are missing", prev.Seq, prev.Seq+1, r.Seq-1)}
	case r.PrevHash != prev.Hash && prev.Seq == 0:
		return &AuditError{r.Seq, "prev_hash is not the genesis value (64 zeros)"}
	case r.PrevHash != prev.Hash:
		return &AuditError{r.Seq, fmt.Sprintf("prev_hash does not match row %d", prev.Seq)}
	case r.ComputeHash() != r.Hash:
		return &AuditError{r.Seq, "hash does not match its content"}
	}
	v.prev = r
	v.N++
	return nil
}

// BundleExport is the audit detail of an exported evidence bundle.
type BundleExport struct {
	Patch   string          `json:"patch"`
	Verdict verdict.Outcome `json:"verdict"` // the computed verdict the bundle carries
	File    string          `json:"file"`    // where the bundle was written
	SHA256  string          `json:"sha256"`  // of the bundle file
}

// CheckBundle checks what RecordBundle is given and returns the bundle's SHA-256
// normalized and the time (now when zero).
func CheckBundle(file, sum, actor string, at time.Time) (string, time.Time, error) {
	sum, err := CheckSHA256("bundle SHA-256", sum)
	switch {
	case err != nil:
		return "", at, err
	case sum == "":
		return "", at, Invalid("no bundle SHA-256")
	case strings.TrimSpace(file) == "":
		return "", at, Invalid("no bundle file")
	}
	if err := CheckActor(actor); err != nil {
		return "", at, err
	}
	return sum, OrNow(at), nil
}
