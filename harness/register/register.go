// Package register holds the rules of the patch register, apart from any SQL: the patch
// states and the transitions between them, the 35-day evaluation clock, the checks on every
// input (patches, assets, validations, sign-offs), the audit details each write records and
// the hash chain that links the audit rows. A store (the SQLite ledger, or pgstore on
// PostgreSQL) keeps the rows and calls these rules for every decision; Store is the
// interface both implement, so the CLI, the desktop and the validation harness work with
// either. See docs/architecture.md, "The patch register".
package register

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Errors callers branch on.
var (
	// ErrInvalid: a field is missing or malformed (unknown type or state, no rationale for a
	// rejection, no mitigation plan for a deferral, …). The message says which and why.
	ErrInvalid = errors.New("invalid register input")
	// ErrIllegalTransition: the state machine does not allow the change; errors.As gives the
	// *TransitionError with the states that are allowed.
	ErrIllegalTransition = errors.New("illegal state transition")
	// ErrExists: the id (or the sign-off) is already in the register.
	ErrExists = errors.New("already in the register")
	// ErrNotFound: no such patch, validation, asset or run.
	ErrNotFound = errors.New("not found")
	// ErrCorrupt: a stored value does not decode or does not match its checksum.
	ErrCorrupt = errors.New("ledger data corrupt")
)

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// Invalid makes an error that errors.Is(err, ErrInvalid) recognises, with the message given.
func Invalid(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	cvePattern = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)
	hexPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// CheckID checks a patch or validation id given by hand.
func CheckID(what, id string) error {
	if !idPattern.MatchString(id) {
		return Invalid("%s id %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", what, id)
	}
	return nil
}

// CheckSHA256 trims and lower-cases a SHA-256 and refuses one that is not 64 hex digits
// (empty is allowed: no checksum).
func CheckSHA256(what, s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s != "" && !hexPattern.MatchString(s) {
		return "", Invalid("%s %q: expected 64 hexadecimal digits", what, s)
	}
	return s, nil
}

// CheckActor refuses a write without someone to record in the audit trail.
func CheckActor(actor string) error {
	if strings.TrimSpace(actor) == "" {
		return Invalid("no actor: the audit trail records who made every change")
	}
	return nil
}

// OrNow is t, or time.Now when t is zero: every write takes its time from the value it is
// given, so tests inject the clock.
func OrNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// UTC is t in UTC, the zero time left zero.
func UTC(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// SHA256Hex is the lower-case hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Id prefixes of the ids the register makes: P-YEAR-NNN and V-YEAR-NNN.
const (
	PatchPrefix      = "P"
	ValidationPrefix = "V"
)

// IDPrefix is the part of a made id before its number: "V-2026-".
func IDPrefix(prefix string, year int) string { return fmt.Sprintf("%s-%d-", prefix, year) }

// IDNumber is the number of a made id with the given IDPrefix, false when id is not one.
func IDNumber(pre, id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, pre)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

// MakeID is the id after the highest number in use under the prefix: P-2026-001, …
func MakeID(prefix string, year, last int) string {
	return fmt.Sprintf("%s%03d", IDPrefix(prefix, year), last+1)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func join[S ~string](ss []S, conj string) string {
	var b strings.Builder
	for i, s := range ss {
		switch {
		case i == 0:
		case i == len(ss)-1:
			b.WriteString(" " + conj + " ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(s))
	}
	return b.String()
}

// Store is a patch register: the SQLite ledger (harness/ledger) or a shared PostgreSQL
// one (harness/register/pgstore). Every write checks its input with this package's rules
// and appends its audit row in the same transaction.
type Store interface {
	// AddPatch enters a patch in state identified and returns it as stored (its id made as
	// P-YEAR-NNN when empty).
	AddPatch(ctx context.Context, p Patch, actor string) (Patch, error)
	Patch(ctx context.Context, id string) (Patch, error)
	// Patches lists the patches in the given states (all when none), in entry order.
	Patches(ctx context.Context, states ...State) ([]Patch, error)
	// SetState moves a patch to another state if the state machine allows it.
	SetState(ctx context.Context, id string, to State, actor string, d StateDetail) (Patch, error)
	AddAsset(ctx context.Context, a Asset, actor string) (Asset, error)
	Assets(ctx context.Context) ([]Asset, error)
	// RecordValidation stores a validation (its id made as V-YEAR-NNN when empty), calling
	// v.WriteBundle inside the transaction once the id is known.
	RecordValidation(ctx context.Context, v Validation, actor string) (Validation, error)
	Validation(ctx context.Context, id string) (Validation, error)
	Validations(ctx context.Context, patchID string) ([]Validation, error)
	SignOff(ctx context.Context, s SignOff) (SignOff, error)
	SignOffs(ctx context.Context, validationID string) ([]SignOff, error)
	// RecordBundle records in the audit trail that an evidence bundle was exported.
	RecordBundle(ctx context.Context, validationID, file, sum, actor string, at time.Time) error
	// Audit returns the last limit audit rows (all when limit <= 0), oldest first.
	Audit(ctx context.Context, limit int) ([]AuditRow, error)
	// PatchAudit returns the audit rows of a patch, its validations and their sign-offs.
	PatchAudit(ctx context.Context, patchID string) ([]AuditRow, error)
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	// VerifyAudit recomputes the chain (Verifier) and returns how many rows verified.
	VerifyAudit(ctx context.Context) (int, error)
	Close() error
}

type corruptError struct{ msg string }

func (e *corruptError) Error() string        { return ErrCorrupt.Error() + ": " + e.msg }
func (e *corruptError) Is(target error) bool { return target == ErrCorrupt }

func corrupt(format string, args ...any) error {
	return &corruptError{fmt.Sprintf(format, args...)}
}

// Corrupt is an ErrCorrupt error saying which stored value is wrong.
func Corrupt(format string, args ...any) error { return corrupt(format, args...) }
