package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/evidence"
)

// keyFiles is a repeatable flag of PEM files.
type keyFiles []string

func (k *keyFiles) String() string { return strings.Join(*k, ",") }
func (k *keyFiles) Set(s string) error {
	*k = append(*k, s)
	return nil
}

// verifyResult is what --json prints.
type verifyResult struct {
	OK          bool   `json:"ok"`
	Bundle      string `json:"bundle"`
	Error       string `json:"error,omitempty"`
	Verdict     string `json:"verdict,omitempty"`
	Scenario    string `json:"scenario,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Trusted     bool   `json:"trusted"`
	Files       int    `json:"files,omitempty"`
	// SignOffs is the bundle's sign-off addendum: who signed, in which role, what they
	// decided, and the key that signed the addendum.
	SignOffs *bundle.SignOffsReport `json:"signoffs,omitempty"`
}

// runVerify checks an evidence bundle offline. It is strict: exit 0 only if every byte is as
// signed and the signer is trusted (this workstation's own key, or a --trust key); 1 with
// the reason (and the signer's fingerprint) when the bundle is refused; 2 for bad arguments.
// --any-signer is the explicit opt-out of the signer check.
func runVerify(_ context.Context, env Env, args []string) error {
	fs := newFlags(env, "verify")
	var trust keyFiles
	fs.Var(&trust, "trust", "a trusted signer's public key (PEM, as pub.pem); repeat for several; this workstation's own key is always trusted")
	anySigner := fs.Bool("any-signer", false, "accept a bundle signed by any key (its fingerprint is still printed): checks integrity only")
	keyDir := fs.String("key-dir", "", "folder of this workstation's key, trusted (default: user config dir/patchgate/keys)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	// flags may come before or after the bundle
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return flagError(fs, env, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return badInput("want one bundle file, got %d: patchgate verify BUNDLE [--trust PUBKEY.pem ...] [--json]", len(pos))
	}
	path := pos[0]
	var trusted []ed25519.PublicKey
	for _, p := range trust {
		data, err := os.ReadFile(p)
		if err != nil {
			return badInput("--trust %s: %v", p, err)
		}
		keys, err := bundle.ParsePublicKeys(data)
		if err != nil {
			return badInput("--trust %s: %v", p, err)
		}
		trusted = append(trusted, keys...)
	}
	own, err := workstationKeys(*keyDir)
	if err != nil {
		return err
	}
	trusted = append(trusted, own...)
	f, err := os.Open(path)
	if err != nil {
		return badInput("%v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return badInput("%v", err)
	}
	if fi.IsDir() {
		return badInput("%s is a folder, not a bundle file", path)
	}

	// every byte first, whoever signed; then the signer
	rep, verr := evidence.Verify(f, fi.Size(), nil)
	if verr == nil {
		isTrusted := func(k ed25519.PublicKey) bool {
			return slices.ContainsFunc(trusted, func(t ed25519.PublicKey) bool { return t.Equal(k) })
		}
		rep.Trusted = isTrusted(rep.Key)
		if so := rep.SignOffs; so != nil {
			so.Trusted = isTrusted(so.Key)
		}
		switch {
		case *anySigner:
		case !rep.Trusted:
			verr = fmt.Errorf("%w %s: trust it with --trust SIGNER.pub.pem once you know whose it is, or check integrity only with --any-signer", bundle.ErrUnknownKey, rep.Fingerprint)
		case rep.SignOffs != nil && !rep.SignOffs.Trusted:
			verr = fmt.Errorf("sign-off addendum %w %s: trust it with --trust EXPORTER.pub.pem once you know whose it is, or check integrity only with --any-signer", bundle.ErrUnknownKey, rep.SignOffs.Fingerprint)
		}
	}
	if *asJSON {
		res := verifyResult{OK: verr == nil, Bundle: path}
		if rep != nil {
			res.Verdict, res.Scenario, res.Fingerprint = string(rep.Verdict), rep.Scenario, rep.Fingerprint
			res.Trusted, res.Files, res.SignOffs = rep.Trusted, rep.Files, rep.SignOffs
		}
		if verr != nil {
			res.Error = verr.Error()
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	if verr != nil {
		return codeError{ExitNoGo, fmt.Errorf("%s: REFUSED: %w", path, verr)}
	}
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "OK: %d files, verdict %s, signed by %s\n", rep.Files, rep.Verdict, rep.Fingerprint)
		printChangeRequest(env.Stdout, rep)
		printSignOffs(env.Stdout, rep)
	}
	if !rep.Trusted {
		fmt.Fprintf(env.Stderr, "patchgate verify: note: --any-signer: the bundle is intact, but its signer %s is not a trusted key; compare it with the key you expect\n", rep.Fingerprint)
	}
	if so := rep.SignOffs; so != nil && !so.Trusted {
		fmt.Fprintf(env.Stderr, "patchgate verify: note: --any-signer: the sign-off addendum is intact, but its signer %s is not a trusted key\n", so.Fingerprint)
	}
	return nil
}

// printChangeRequest says what the bundle's record says a change board needs first.
func printChangeRequest(w io.Writer, rep *evidence.Report) {
	fmt.Fprintf(w, "decision: %s\n", rep.Record.Decision())
	cr := rep.Record.ChangeRequest
	if cr == nil {
		return
	}
	p := cr.Patch
	fmt.Fprintf(w, "validation %s of patch %s: %s %s %s → %s", orNone(cr.Validation), orNone(p.ID), p.Supplier, p.Product, orNone(p.FromVersion), orNone(p.ToVersion))
	if len(p.CVEs) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(p.CVEs, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "run by %s on %s\n", orNone(cr.Operator), orNone(cr.Workstation))
	for _, d := range cr.Differences {
		fmt.Fprintf(w, "bench vs production: %s\n", d)
	}
}

// printSignOffs lists the bundle's sign-offs, or says it has none.
func printSignOffs(w io.Writer, rep *evidence.Report) {
	so := rep.SignOffs
	if so == nil {
		if rep.Record.ChangeRequest != nil { // a validation of a patch in a register
			fmt.Fprintln(w, "sign-offs: none in the bundle (patchgate register export --validation ID writes them in)")
		}
		return
	}
	fmt.Fprintf(w, "sign-offs of %s (patch %s), exported by %s on %s, addendum signed by %s:\n",
		so.Validation, orNone(so.Patch), so.ExportedBy, so.Exported.Local().Format("2006-01-02 15:04"), so.Fingerprint)
	if len(so.SignOffs) == 0 {
		fmt.Fprintln(w, "  none yet")
	}
	for _, s := range so.SignOffs {
		fmt.Fprintf(w, "  %s  %-12s %-11s %s", s.Time.Local().Format("2006-01-02 15:04"), s.Role, s.Decision, s.Name)
		if s.Rationale != "" {
			fmt.Fprintf(w, ": %s", s.Rationale)
		}
		fmt.Fprintln(w)
	}
}

// workstationKeys returns this workstation's public key from keyDir (default: the default
// key folder), none when there is no key yet. It never creates one.
func workstationKeys(keyDir string) ([]ed25519.PublicKey, error) {
	if keyDir == "" {
		d, err := bundle.DefaultKeyDir()
		if err != nil {
			return nil, nil // no config dir: no workstation key
		}
		keyDir = d
	}
	data, err := os.ReadFile(filepath.Join(keyDir, bundle.PubKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("workstation key: %w", err)
	}
	keys, err := bundle.ParsePublicKeys(data)
	if err != nil {
		return nil, badInput("workstation key %s: %v", filepath.Join(keyDir, bundle.PubKeyFile), err)
	}
	return keys, nil
}
