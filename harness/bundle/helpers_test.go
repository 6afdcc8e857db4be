package bundle

import (
	"bytes"
	"crypto/ed25519"
)

// testKey is a fixed signing key, so that bundles are the same from run to run.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
