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

// certificate returns the server's application instance certificate (DER) and key: loaded
// from dir when a usable pair is there, else generated (RSA 2048, self-signed, valid ten
// years) and, when dir is set, kept there for the next start so that clients that trust it
// keep trusting it. A kept pair is usable when it names appURI and covers every host.
func certificate(dir, base, appURI, org, cn string, hosts []string) ([]byte, *rsa.PrivateKey, error) {
	var certPath, keyPath string
	if dir != "" {
		certPath = filepath.Join(dir, base+".der")
		keyPath = filepath.Join(dir, base+".key")
		der, key, err := loadCertificate(certPath, keyPath)
		switch {
		case err == nil && usable(der, appURI, hosts):
			return der, key, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, nil, err
		}
	}
	der, key, err := newCertificate(appURI, org, cn, hosts)
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

func usable(der []byte, appURI string, hosts []string) bool {
	c, err := x509.ParseCertificate(der)
	if err != nil || time.Now().After(c.NotAfter) || len(c.URIs) == 0 || c.URIs[0].String() != appURI {
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

func newCertificate(appURI, org, cn string, hosts []string) ([]byte, *rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
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
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{org}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
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
