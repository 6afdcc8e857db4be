package opcuaserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CertSpec is how the server makes its certificate: RSA key bits, signature hash ("sha1" or
// "sha256") and validity in days. Zero fields take the defaults, RSA 2048, SHA-256 and 3650
// days, what a firmware that does not say makes (firmware.DefaultCert).
type CertSpec struct {
	Bits int
	Hash string
	Days int
}

func (c CertSpec) withDefaults() CertSpec {
	if c.Bits == 0 {
		c.Bits = 2048
	}
	if c.Hash == "" {
		c.Hash = "sha256"
	}
	if c.Days == 0 {
		c.Days = 3650
	}
	return c
}

func (c CertSpec) algorithm() (x509.SignatureAlgorithm, error) {
	switch c.Hash {
	case "sha256":
		return x509.SHA256WithRSA, nil
	case "sha1":
		return x509.SHA1WithRSA, nil
	}
	return 0, fmt.Errorf("opc ua certificate: hash %q; expected sha1 or sha256", c.Hash)
}

// certificate returns the server's application instance certificate (DER) and key: loaded
// from dir when a usable pair is there, else generated (self-signed, as spec says: by
// default RSA 2048, SHA-256, valid 3650 days from an hour ago) and, when dir is set, kept
// there for the next start so that clients that trust it keep trusting it. A kept pair is
// usable when it names appURI, covers every host and was made as spec says.
func certificate(dir, base, appURI, org, cn string, hosts []string, spec CertSpec) ([]byte, *rsa.PrivateKey, error) {
	spec = spec.withDefaults()
	if _, err := spec.algorithm(); err != nil {
		return nil, nil, err
	}
	if spec.Bits < 1024 || spec.Bits > 8192 || spec.Days < 1 {
		return nil, nil, fmt.Errorf("opc ua certificate: %d bits, %d days; expected 1024..8192 bits and at least a day", spec.Bits, spec.Days)
	}
	var certPath, keyPath string
	if dir != "" {
		certPath = filepath.Join(dir, base+".der")
		keyPath = filepath.Join(dir, base+".key")
		der, key, err := loadCertificate(certPath, keyPath)
		switch {
		case err == nil && usable(der, appURI, hosts, spec):
			return der, key, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, nil, err
		}
	}
	der, key, err := newCertificate(appURI, org, cn, hosts, spec)
	if err != nil {
		return nil, nil, err
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("opc ua certificate: %w", err)
		}
		pk, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
			return nil, nil, fmt.Errorf("opc ua certificate: %w", err)
		}
		if err := os.WriteFile(certPath, der, 0o644); err != nil {
			return nil, nil, fmt.Errorf("opc ua certificate: %w", err)
		}
	}
	return der, key, nil
}

func loadCertificate(certPath, keyPath string) ([]byte, *rsa.PrivateKey, error) {
	der, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, nil, fmt.Errorf("opc ua certificate: %s: no PEM block", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("opc ua certificate: %s: %w", keyPath, err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("opc ua certificate: %s: not an RSA key", keyPath)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("opc ua certificate: %s: %w", certPath, err)
	}
	if pub, ok := c.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, fmt.Errorf("opc ua certificate: %s does not belong to %s", keyPath, certPath)
	}
	return der, key, nil
}

func usable(der []byte, appURI string, hosts []string, spec CertSpec) bool {
	c, err := x509.ParseCertificate(der)
	if err != nil || time.Now().After(c.NotAfter) || len(c.URIs) == 0 || c.URIs[0].String() != appURI {
		return false
	}
	alg, _ := spec.withDefaults().algorithm()
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	// a pair kept before the validity was counted in days (ten calendar years) still serves
	if d := c.NotAfter.Sub(c.NotBefore) - validity(spec); !ok || pub.N.BitLen() != spec.Bits ||
		c.SignatureAlgorithm != alg || d < -72*time.Hour || d > 72*time.Hour {
		return false
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(c.DNSNames, h) {
			return false
		}
	}
	return true
}

// validity is how long a certificate made as spec says is valid: from an hour before it was
// made (a client whose clock is a little behind accepts it) to spec's days after.
func validity(spec CertSpec) time.Duration {
	return time.Hour + time.Duration(spec.withDefaults().Days)*24*time.Hour
}

func newCertificate(appURI, org, cn string, hosts []string, spec CertSpec) ([]byte, *rsa.PrivateKey, error) {
	spec = spec.withDefaults()
	alg, err := spec.algorithm()
	if err != nil {
		return nil, nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, spec.Bits)
	if err != nil {
		return nil, nil, err
	}
	uri, err := url.Parse(appURI)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	nb := time.Now().Add(-time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		SignatureAlgorithm: alg,
		Subject:            pkix.Name{CommonName: cn, Organization: []string{org}},
		NotBefore:          nb,
		NotAfter:           nb.Add(validity(spec)),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment |
			x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return der, key, nil
}

// certHosts are the names the certificate covers: loopback always, and the advertised host.
func certHosts(host string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if host != "" && !slices.ContainsFunc(hosts, func(h string) bool { return strings.EqualFold(h, host) }) {
		hosts = append(hosts, host)
	}
	return hosts
}
