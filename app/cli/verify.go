package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
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

// runVerify checks an evidence bundle offline: exit 0 only if every byte is as signed (and,
// with --trust, signed by one of the given keys), 3 with the reason otherwise, 2 for bad
// arguments.
func runVerify(_ context.Context, env Env, args []string) error {
	fs := newFlags(env, "verify")
	var trust keyFiles
	fs.Var(&trust, "trust", "a trusted signer's public key (PEM, as pub.pem); repeat for several; without it any signer is accepted and only reported")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: patchgate verify BUNDLE [--trust PUBKEY.pem ...] [--json]")
		fs.PrintDefaults()
	}
	// flags may come before or after the bundle
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err}
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

	rep, verr := evidence.Verify(f, fi.Size(), trusted)
	if *asJSON {
		res := verifyResult{OK: verr == nil, Bundle: path}
		if verr != nil {
			res.Error = verr.Error()
		} else {
			res.Verdict, res.Scenario, res.Fingerprint = string(rep.Verdict), rep.Scenario, rep.Fingerprint
			res.Trusted, res.Files = rep.Trusted, rep.Files
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	if verr != nil {
		return codeError{ExitFault, fmt.Errorf("%s: REFUSED: %w", path, verr)}
	}
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "OK: %d files, verdict %s, signed by %s\n", rep.Files, rep.Verdict, rep.Fingerprint)
	}
	if !rep.Trusted {
		fmt.Fprintf(env.Stderr, "patchgate verify: note: no --trust key given; the bundle is intact, but compare the signer %s with the key you expect\n", rep.Fingerprint)
	}
	return nil
}
