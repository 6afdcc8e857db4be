package validation

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/patchgate/patchgate/harness/evidence"
	"github.com/patchgate/patchgate/harness/report"
	"github.com/patchgate/patchgate/harness/verdict"
)

// WriteBundle writes the signed evidence bundle of res to w: its record (with Bundle set to
// name and the signer's public key), its traces, and the scenario and point map files as
// run. It returns the record as bundled and the bundle's SHA-256; the record inside cannot
// hold the bundle's own hash, the caller's copy (and the register's) can.
func WriteBundle(w io.Writer, res *Result, name string, key ed25519.PrivateKey) (verdict.Record, string, error) {
	rec := res.Record
	if len(key) != ed25519.PrivateKeySize {
		return rec, "", fmt.Errorf("evidence bundle %s: no signing key", name)
	}
	rec.Bundle = name
	rec.SignerPublicKey = hex.EncodeToString(key.Public().(ed25519.PublicKey))
	sc := res.Scenario
	sum, err := evidence.Write(w, evidence.Bundle{
		Record: rec, Before: res.Before, After: res.After,
		Scenario: evidence.File{Name: filepath.Base(sc.File), Data: sc.Data},
		PointMap: evidence.File{Name: sc.PointMap, Data: sc.PointData},
	}, key)
	if err != nil {
		return rec, "", fmt.Errorf("evidence bundle %s: %w", name, err)
	}
	return rec, sum, nil
}

// writeBundleFile writes res's bundle to the file path and sets the record's bundle fields.
func writeBundleFile(res *Result, path string, key ed25519.PrivateKey) error {
	f, err := os.Create(path)
	if err != nil {
		return badInput("bundle %s: %v", path, err)
	}
	rec, sum, err := WriteBundle(f, res, path, key)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("evidence bundle %s: %w", path, cerr)
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	rec.BundleSHA256 = sum
	res.Record = rec
	return nil
}

func writeJUnitFile(rec verdict.Record, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return badInput("JUnit %s: %v", path, err)
	}
	if err := report.JUnit(f, rec); err != nil {
		f.Close()
		return fmt.Errorf("JUnit %s: %w", path, err)
	}
	return f.Close()
}
