package opcua

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ClientApplicationURI is the application URI of the certificate the driver makes for itself.
const ClientApplicationURI = "urn:patchgate:client"

// UntrustedError is the refusal of a server whose certificate is not in the trust folder. It
// says what the certificate is and how to trust it; errors.Is(err, ErrUntrusted) matches it.
// Its message leaves the endpoint to the caller's wrapping (driver.Open names the target).
type UntrustedError struct {
	Endpoint string // the target URL
	Subject  string // the certificate's subject, "CN=...,O=..."
	SHA1     string // thumbprints, lower-case hex
	SHA256   string
	Rejected string // where the certificate was saved ("" if it could not be)
	Trust    string // the file to move it to, to trust it
	DER      []byte // the certificate
	saveErr  error  // why it could not be saved in the rejected folder
}

func (e *UntrustedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: subject %q, SHA-1 thumbprint %s, SHA-256 thumbprint %s. ", ErrUntrusted, e.Subject, e.SHA1, e.SHA256)
	if e.Rejected != "" {
		fmt.Fprintf(&b, "It was saved as %s; after checking the thumbprint with the device's owner, trust it by moving that file to %s "+
			"(patchgate trust add %s%s does that)", e.Rejected, e.Trust, e.SHA256[:min(16, len(e.SHA256))], e.trustFlag())
	} else {
		fmt.Fprintf(&b, "It could not be saved in the rejected folder (%v); after checking the thumbprint with the device's owner, trust it by saving the server's certificate (DER or PEM) as %s", e.saveErr, e.Trust)
	}
	return b.String()
}

func (e *UntrustedError) Unwrap() error { return ErrUntrusted }

// trustFlag is the --trust flag `patchgate trust add` needs for the folder the refusal used:
// none for the default folder.
func (e *UntrustedError) trustFlag() string {
	dir := filepath.Dir(e.Trust)
	if def, err := DefaultTrustDir(); err == nil && def == dir {
		return ""
	}
	if strings.ContainsAny(dir, " '\"$`") {
		return " --trust '" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
	}
	return " --trust " + dir
}

// pki is the driver's certificate folders: trusted server certificates, and beside them the
// client's own certificate and the rejected server certificates.
type pki struct {
	trusted  string
	own      string
	rejected string
}

func newPKI(trust string) (pki, error) {
	if trust == "" {
		d, err := DefaultTrustDir()
		if err != nil {
			return pki{}, err
		}
		trust = d
	}
	abs, err := filepath.Abs(trust)
	if err != nil {
		return pki{}, fmt.Errorf("trust folder %s: %w", trust, err)
	}
	parent := filepath.Dir(abs)
	return pki{trusted: abs, own: filepath.Join(parent, "own"), rejected: filepath.Join(parent, "rejected")}, nil
}

// trusts reports whether the trust folder holds the certificate (compared byte for byte).
// Files that are not certificates are passed over; a missing folder is created, so the user
// sees where trusted certificates go.
func (p pki) trusts(der []byte) (bool, error) {
	if err := os.MkdirAll(p.trusted, 0o700); err != nil {
		return false, fmt.Errorf("trust folder: %w", err)
	}
	entries, err := os.ReadDir(p.trusted)
	if err != nil {
		return false, fmt.Errorf("trust folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(p.trusted, e.Name()))
		if err != nil {
			continue
		}
		for _, c := range certificates(data) {
			if bytes.Equal(c, der) {
				return true, nil
			}
		}
	}
	return false, nil
}

// certificates returns the DER certificates of a PEM file (every CERTIFICATE block) or of a
// DER file (one or more concatenated certificates).
func certificates(data []byte) [][]byte {
	var out [][]byte
	rest := data
	for {
		blk, r := pem.Decode(rest)
		if blk == nil {
			break
		}
		rest = r
		if blk.Type == "CERTIFICATE" {
			out = append(out, blk.Bytes)
		}
	}
	if out != nil {
		return out
	}
	cs, err := x509.ParseCertificates(data)
	if err != nil {
		return nil
	}
	for _, c := range cs {
		out = append(out, c.Raw)
	}
	return out
}

// leaf is the first certificate of what a server sends (a certificate or a chain).
func leaf(chain []byte) (*x509.Certificate, error) {
	cs, err := x509.ParseCertificates(chain)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	if len(cs) == 0 {
		return nil, errors.New("server certificate: none in the endpoint")
	}
	return cs[0], nil
}

// thumbprints are the SHA-1 and SHA-256 of a certificate's DER, lower-case hex.
func thumbprints(der []byte) (string, string) {
	s1 := sha1.Sum(der)
	s256 := sha256.Sum256(der)
	return hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:])
}

// reject builds the refusal of an untrusted certificate and saves the certificate in the
// rejected folder, named as UaExpert names them: "<common name> [<sha1>].der".
func (p pki) reject(endpoint string, c *x509.Certificate) *UntrustedError {
	s1, s256 := thumbprints(c.Raw)
	name := fileName(c.Subject.CommonName) + " [" + s1 + "].der"
	e := &UntrustedError{
		Endpoint: endpoint,
		Subject:  c.Subject.String(),
		SHA1:     s1,
		SHA256:   s256,
		Trust:    filepath.Join(p.trusted, name),
		DER:      c.Raw,
	}
	path := filepath.Join(p.rejected, name)
	if err := os.MkdirAll(p.rejected, 0o700); err != nil {
		e.saveErr = err
		return e
	}
	if err := writeFile(path, c.Raw, 0o644); err != nil {
		e.saveErr = err
		return e
	}
	e.Rejected = path
	return e
}

// fileName makes a certificate's common name safe as a file name on every system.
func fileName(cn string) string {
	var b strings.Builder
	for _, r := range cn {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" -_.()", r):
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	s := strings.TrimSpace(b.String())
	if s == "" || strings.Trim(s, ".") == "" {
		return "server"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// writeFile writes through a temporary file and a rename, so a reader never sees half a
// certificate or key.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ownCertificate returns the client's certificate and key: from cert= and key= when the
// target names them, else from own/cert.der and own/key.pem beside the trust folder, made
// there on first use.
func ownCertificate(o options, p pki) ([]byte, *rsa.PrivateKey, error) {
	if o.certFile != "" {
		return loadPair("client", o.certFile, o.keyFile)
	}
	certPath := filepath.Join(p.own, "cert.der")
	keyPath := filepath.Join(p.own, "key.pem")
	der, key, err := loadPair("client", certPath, keyPath)
	switch {
	case err == nil:
		return der, key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, nil, err
	}
	_, errCert := os.Stat(certPath)
	_, errKey := os.Stat(keyPath)
	if errors.Is(errCert, fs.ErrNotExist) != errors.Is(errKey, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("client certificate: %s and %s go together and one of them is missing; remove the other to have a new pair made", certPath, keyPath)
	}
	der, key, err = newClientCertificate()
	if err != nil {
		return nil, nil, fmt.Errorf("client certificate: %w", err)
	}
	if err := os.MkdirAll(p.own, 0o700); err != nil {
		return nil, nil, fmt.Errorf("client certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("client certificate: %w", err)
	}
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return nil, nil, fmt.Errorf("client certificate: %w", err)
	}
	if err := writeFile(certPath, der, 0o644); err != nil {
		return nil, nil, fmt.Errorf("client certificate: %w", err)
	}
	return der, key, nil
}

// loadPair reads a certificate (DER or PEM) and its RSA key (PEM or DER, PKCS#1 or PKCS#8);
// whose ("client", "user") names them in errors.
func loadPair(whose, certPath, keyPath string) ([]byte, *rsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%s certificate: %w", whose, err)
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%s key: %w", whose, err)
	}
	certs := certificates(cb)
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("%s certificate %s: not a DER or PEM certificate", whose, certPath)
	}
	c, err := x509.ParseCertificate(certs[0])
	if err != nil {
		return nil, nil, fmt.Errorf("%s certificate %s: %w", whose, certPath, err)
	}
	key, err := parseKey(kb)
	if err != nil {
		return nil, nil, fmt.Errorf("%s key %s: %w", whose, keyPath, err)
	}
	if pub, ok := c.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, fmt.Errorf("%s key %s does not belong to certificate %s", whose, keyPath, certPath)
	}
	return certs[0], key, nil
}

func parseKey(b []byte) (*rsa.PrivateKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, errors.New("not an RSA private key in PEM or DER, PKCS#1 or PKCS#8")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key; OPC UA security needs RSA", k)
	}
	return rk, nil
}

// newClientCertificate makes the client's application instance certificate: RSA 2048,
// self-signed, valid ten years, naming urn:patchgate:client and this host.
func newClientCertificate() ([]byte, *rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	uri, err := url.Parse(ClientApplicationURI)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "patchgate@" + host, Organization: []string{"patchgate"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment |
			x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
		DNSNames:              []string{host},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return der, key, nil
}

// Trusted is one certificate in a certificate folder (trusted or rejected), or one file
// there the driver passes over (Err says why).
type Trusted struct {
	File      string    `json:"file"`    // file name in the folder
	Subject   string    `json:"subject"` // "CN=...,O=..."
	SHA1      string    `json:"sha1"`    // thumbprints of the DER, lower-case hex, as the driver's refusal names them
	SHA256    string    `json:"sha256"`
	NotBefore time.Time `json:"not_before,omitzero"` // validity
	NotAfter  time.Time `json:"not_after,omitzero"`
	Err       string    `json:"error,omitempty"` // "not a DER or PEM certificate", ...; the other fields but File are empty
}

// ListTrusted lists the certificates of a trust folder as trusts reads it:
// every file that is not a folder, each PEM CERTIFICATE block or DER certificate in it, by
// file name. A folder that does not exist yet is an empty list: the driver makes it on the
// first secure connect.
func ListTrusted(dir string) ([]Trusted, error) {
	return listCerts(dir, "trust folder")
}

// RejectedDir is the folder where the driver saves the certificates of servers it refused,
// beside the trust folder dir ("" for the default one).
func RejectedDir(dir string) (string, error) {
	p, err := newPKI(dir)
	if err != nil {
		return "", err
	}
	return p.rejected, nil
}

// ListRejected lists the certificates the driver refused and saved beside the trust folder
// dir ("" for the default one), as ListTrusted lists the trusted ones.
func ListRejected(dir string) ([]Trusted, error) {
	rej, err := RejectedDir(dir)
	if err != nil {
		return nil, err
	}
	return listCerts(rej, "rejected folder")
}

func listCerts(dir, what string) ([]Trusted, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var out []Trusted
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			out = append(out, Trusted{File: e.Name(), Err: err.Error()})
			continue
		}
		ders := certificates(data)
		if len(ders) == 0 {
			out = append(out, Trusted{File: e.Name(), Err: "not a DER or PEM certificate: the driver passes over it"})
			continue
		}
		for _, der := range ders {
			tc := Trusted{File: e.Name()}
			tc.SHA1, tc.SHA256 = thumbprints(der)
			if c, err := x509.ParseCertificate(der); err == nil {
				tc.Subject, tc.NotBefore, tc.NotAfter = c.Subject.String(), c.NotBefore.UTC(), c.NotAfter.UTC()
			} else {
				tc.Err = "certificate does not parse: " + err.Error()
			}
			out = append(out, tc)
		}
	}
	slices.SortStableFunc(out, func(a, b Trusted) int { return strings.Compare(a.File, b.File) })
	return out, nil
}

// ErrNoCertificate is matched when no certificate has the thumbprint asked for, or more than
// one has, or the thumbprint is not one.
var ErrNoCertificate = errors.New("no such certificate")

// minThumbprint is the shortest thumbprint prefix accepted: a shorter one picks a
// certificate too easily by mistake.
const minThumbprint = 6

// find picks the one certificate in certs whose SHA-1 or SHA-256 thumbprint starts with
// prefix (hex, any case; colons and spaces as UaExpert shows them are ignored).
func find(certs []Trusted, prefix, folder string) (Trusted, error) {
	p := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(prefix))
	if len(p) < minThumbprint || strings.Trim(p, "0123456789abcdef") != "" {
		return Trusted{}, fmt.Errorf("%w: thumbprint %q; expected at least %d hex digits of a SHA-1 or SHA-256 thumbprint", ErrNoCertificate, prefix, minThumbprint)
	}
	var hits []Trusted
	for _, c := range certs {
		if c.Err == "" && (strings.HasPrefix(c.SHA1, p) || strings.HasPrefix(c.SHA256, p)) {
			hits = append(hits, c)
		}
	}
	switch len(hits) {
	case 0:
		return Trusted{}, fmt.Errorf("%w: none in %s has a thumbprint starting with %s", ErrNoCertificate, folder, p)
	case 1:
		return hits[0], nil
	}
	var names []string
	for _, h := range hits {
		names = append(names, h.File+" (SHA-1 "+h.SHA1+")")
	}
	return Trusted{}, fmt.Errorf("%w: %d certificates in %s have a thumbprint starting with %s: %s; give more digits",
		ErrNoCertificate, len(hits), folder, p, strings.Join(names, ", "))
}

// TrustRejected trusts a certificate the driver refused: the one in the rejected folder
// beside the trust folder dir ("" for the default) whose thumbprint starts with prefix
// moves into the trust folder, under the same file name. It returns the certificate as it
// now is in the trust folder. No match, or more than one, is ErrNoCertificate.
func TrustRejected(dir, prefix string) (Trusted, error) {
	p, err := newPKI(dir)
	if err != nil {
		return Trusted{}, err
	}
	certs, err := listCerts(p.rejected, "rejected folder")
	if err != nil {
		return Trusted{}, err
	}
	c, err := find(certs, prefix, p.rejected)
	if err != nil {
		return Trusted{}, err
	}
	src := filepath.Join(p.rejected, c.File)
	data, err := os.ReadFile(src)
	if err != nil {
		return Trusted{}, fmt.Errorf("rejected certificate: %w", err)
	}
	if err := os.MkdirAll(p.trusted, 0o700); err != nil {
		return Trusted{}, fmt.Errorf("trust folder: %w", err)
	}
	dst := filepath.Join(p.trusted, c.File)
	if _, err := os.Stat(dst); err == nil {
		return Trusted{}, fmt.Errorf("trust folder: %s exists already; remove or rename it first", dst)
	}
	// write, then remove: a rename would fail across file systems
	if err := writeFile(dst, data, 0o644); err != nil {
		return Trusted{}, fmt.Errorf("trust folder: %w", err)
	}
	if err := os.Remove(src); err != nil {
		return c, fmt.Errorf("trusted as %s, but the rejected copy stays: %w", dst, err)
	}
	return c, nil
}

// RemoveTrusted stops trusting a certificate: the file in the trust folder dir ("" for the
// default) holding the certificate whose thumbprint starts with prefix is removed. A file
// holding other certificates too is left alone (an error says so). No match, or more than
// one, is ErrNoCertificate.
func RemoveTrusted(dir, prefix string) (Trusted, error) {
	p, err := newPKI(dir)
	if err != nil {
		return Trusted{}, err
	}
	certs, err := listCerts(p.trusted, "trust folder")
	if err != nil {
		return Trusted{}, err
	}
	c, err := find(certs, prefix, p.trusted)
	if err != nil {
		return Trusted{}, err
	}
	n := 0
	for _, o := range certs {
		if o.File == c.File {
			n++
		}
	}
	path := filepath.Join(p.trusted, c.File)
	if n > 1 {
		return Trusted{}, fmt.Errorf("%s holds %d certificates; remove this one from it with an editor", path, n)
	}
	if err := os.Remove(path); err != nil {
		return Trusted{}, fmt.Errorf("trust folder: %w", err)
	}
	return c, nil
}
