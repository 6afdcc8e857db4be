package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
		keys, err := evidence.ParsePublicKeys(data)
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
		rep.Trusted = slices.ContainsFunc(trusted, func(k ed25519.PublicKey) bool { return k.Equal(rep.Key) })
		if !rep.Trusted && !*anySigner {
			verr = fmt.Errorf("%w %s: trust it with --trust SIGNER.pub.pem once you know whose it is, or check integrity only with --any-signer", evidence.ErrUnknownKey, rep.Fingerprint)
		}
	}
	if *asJSON {
		res := verifyResult{OK: verr == nil, Bundle: path}
		if rep != nil {
			res.Verdict, res.Scenario, res.Fingerprint = string(rep.Verdict), rep.Scenario, rep.Fingerprint
			res.Trusted, res.Files = rep.Trusted, rep.Files
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
	}
	if !rep.Trusted {
		fmt.Fprintf(env.Stderr, "patchgate verify: note: --any-signer: the bundle is intact, but its signer %s is not a trusted key; compare it with the key you expect\n", rep.Fingerprint)
	}
	return nil
}

// workstationKeys returns this workstation's public key from keyDir (default: the default
// key folder), none when there is no key yet. It never creates one.
func workstationKeys(keyDir string) ([]ed25519.PublicKey, error) {
	if keyDir == "" {
		d, err := evidence.DefaultKeyDir()
		if err != nil {
			return nil, nil // no config dir: no workstation key
		}
		keyDir = d
	}
	data, err := os.ReadFile(filepath.Join(keyDir, evidence.PubKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("workstation key: %w", err)
	}
	keys, err := evidence.ParsePublicKeys(data)
	if err != nil {
		return nil, badInput("workstation key %s: %v", filepath.Join(keyDir, evidence.PubKeyFile), err)
	}
	return keys, nil
}
