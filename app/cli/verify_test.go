package cli

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/bundle"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/evidence"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// bundleFiles writes a small signed bundle, its signer's pub.pem and another key's pub.pem.
func bundleFiles(t *testing.T) (bundlePath, pub, otherPub string) {
	t.Helper()
	dir := t.TempDir()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, ed25519.SeedSize))
	tr := func(id int64, shift float64) *trace.Trace {
		t := &trace.Trace{Run: trace.Run{ID: id, Target: "sim://tank", Status: trace.Completed, Period: 100 * time.Millisecond, Tags: []string{"Level"}}}
		for i := range int64(50) {
			t.Samples = append(t.Samples, trace.Sample{Slot: i, T: i * 1e8, Value: float64(i) + shift, Quality: driver.Good})
		}
		t.Events = []trace.Event{{T: 0, Kind: trace.EvMark, Msg: "fill"}}
		return t
	}
	b := evidence.Bundle{
		Record: verdict.Record{Verdict: verdict.NoGo, Scenario: "tank-alarm-trip", Reasons: []string{"Level (major) outside its band"},
			BeforeRuns: []int64{1}, AfterRuns: []int64{2},
			Criteria: []verdict.Criterion{{ID: "Level", Kind: verdict.KindSignal, Severity: "major", Status: verdict.Fail,
				Where: &verdict.Where{Side: "after", RunID: 2, Tag: "Level", FromNs: 1e9, ToNs: 2e9}}}},
		Before:   []*trace.Trace{tr(1, 0)},
		After:    []*trace.Trace{tr(2, 0.7)},
		Scenario: evidence.File{Name: "tank-alarm-trip.yaml", Data: []byte("version: 1\nname: tank-alarm-trip\n")},
		PointMap: evidence.File{Name: "tank.yaml", Data: []byte("version: 1\nname: tank\n")},
	}
	var buf bytes.Buffer
	if _, err := evidence.Write(&buf, b, key); err != nil {
		t.Fatal(err)
	}
	bundlePath, pub, otherPub = filepath.Join(dir, "evidence.zip"), filepath.Join(dir, "pub.pem"), filepath.Join(dir, "other.pem")
	for name, data := range map[string][]byte{
		bundlePath: buf.Bytes(),
		pub:        bundle.MarshalPublicKey(key.Public().(ed25519.PublicKey)),
		otherPub:   bundle.MarshalPublicKey(other.Public().(ed25519.PublicKey)),
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bundlePath, pub, otherPub
}

func TestVerifyCommand(t *testing.T) {
	bundlePath, pub, otherPub := bundleFiles(t)
	keys, _ := os.ReadFile(pub)
	k, _ := bundle.ParsePublicKeys(keys)
	fp := bundle.Fingerprint(k[0])
	data, _ := os.ReadFile(bundlePath)
	tampered := filepath.Join(t.TempDir(), "tampered.zip")
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x20
	os.WriteFile(tampered, bad, 0o644)
	both := filepath.Join(t.TempDir(), "both.pem")
	os.WriteFile(both, append(mustRead(t, otherPub), mustRead(t, pub)...), 0o644)

	own := t.TempDir() // a workstation whose own key signed the bundlePath
	os.WriteFile(filepath.Join(own, bundle.PubKeyFile), mustRead(t, pub), 0o644)
	okLine := "OK: 11 files, verdict NO-GO, signed by " + fp + "\ndecision: NO-GO\n" // a bundlePath without a change request: no sign-offs to list
	cases := []struct {
		name      string
		args      []string
		code      int
		stdout    string // exact when it ends in \n, else a part
		stderr    string // a part
		notStderr string
	}{
		{"intact, unknown signer", []string{bundlePath}, ExitNoGo, "", "REFUSED: signed by an unknown key " + fp, ""},
		{"intact, any signer", []string{bundlePath, "--any-signer"}, ExitOK, okLine, "--any-signer: the bundle is intact, but its signer " + fp, ""},
		{"workstation's own key", []string{bundlePath, "--key-dir", own}, ExitOK, okLine, "", "note"},
		{"any signer, trusted", []string{bundlePath, "--any-signer", "--trust", pub}, ExitOK, okLine, "", "note"},
		{"intact, trusted", []string{bundlePath, "--trust", pub}, ExitOK, okLine, "", "note"},
		{"trust before the bundle", []string{"--trust", otherPub, "--trust", pub, bundlePath}, ExitOK, okLine, "", "note"},
		{"two keys in one file", []string{bundlePath, "--trust=" + both}, ExitOK, okLine, "", ""},
		{"tampered", []string{tampered, "--trust", pub}, ExitNoGo, "", "REFUSED", ""},
		{"tampered, any signer", []string{tampered, "--any-signer"}, ExitNoGo, "", "REFUSED", ""},
		{"unknown signer", []string{bundlePath, "--trust", otherPub}, ExitNoGo, "", "signed by an unknown key " + fp, ""},
		{"not a bundle", []string{pub}, ExitNoGo, "", "not a readable ZIP file", ""},
		{"json", []string{"--json", bundlePath, "--trust", pub}, ExitOK, `"ok": true`, "", ""},
		{"json refused", []string{tampered, "--json"}, ExitNoGo, `"ok": false`, "REFUSED", ""},
		{"json unknown signer", []string{bundlePath, "--json"}, ExitNoGo, `"fingerprint": "` + fp, "REFUSED", ""},
		{"no bundle", nil, ExitBadInput, "", "want one bundle file, got 0", ""},
		{"two bundles", []string{bundlePath, bundlePath}, ExitBadInput, "", "want one bundle file, got 2", ""},
		{"missing bundle", []string{filepath.Join(t.TempDir(), "nope.zip")}, ExitBadInput, "", "no such file", ""},
		{"folder", []string{t.TempDir()}, ExitBadInput, "", "is a folder", ""},
		{"missing key file", []string{bundlePath, "--trust", "nope.pem"}, ExitBadInput, "", "--trust nope.pem", ""},
		{"key file not a key", []string{bundlePath, "--trust", bundlePath}, ExitBadInput, "", "no PEM \"PUBLIC KEY\" block", ""},
		{"unknown flag", []string{bundlePath, "--frobnicate"}, ExitBadInput, "", "flag provided but not defined", ""},
		{"help", []string{"-h"}, ExitOK, "usage:\n  patchgate verify BUNDLE", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"verify"}, tc.args...)
			if !slices.Contains(args, "--key-dir") {
				args = append(args, "--key-dir", t.TempDir()) // never the user's own key
			}
			code, out, errOut := runCLI(t, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if strings.HasSuffix(tc.stdout, "\n") && out != tc.stdout || !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q, want %q", out, tc.stdout)
			}
			if !strings.Contains(errOut, tc.stderr) || tc.notStderr != "" && strings.Contains(errOut, tc.notStderr) {
				t.Errorf("stderr %q, want it to say %q and not %q", errOut, tc.stderr, tc.notStderr)
			}
		})
	}

	_, out, _ := runCLI(t, "verify", "--json", bundlePath, "--trust", pub, "--key-dir", t.TempDir())
	var res verifyResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !res.OK || !res.Trusted || res.Verdict != "NO-GO" || res.Fingerprint != fp || res.Files != 11 || res.Scenario != "tank-alarm-trip" {
		t.Errorf("json %+v", res)
	}
	_, out, _ = runCLI(t, "verify", "--json", tampered)
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.OK || res.Error == "" {
		t.Errorf("json for a tampered bundle: %+v %v", res, err)
	}
	// the command is listed
	_, usage, _ := runCLI(t, "help")
	if !strings.Contains(usage, "verify    check an evidence bundle offline") {
		t.Errorf("verify not in the usage:\n%s", usage)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
