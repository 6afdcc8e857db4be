// Package opcuaserver serves a simulated controller over OPC UA with gopcua's server, so that
// an OPC UA client sees a small PLC: the point map's namespace_uri at namespace index 2
// (index 1 is the server's application URI), a folder under Objects ("Tank") organizing one
// typed variable per point ("ns=2;s=Tank.Level", browse name "Level"), values read live from
// the controller, writes checked by it, the firmware version in BuildInfo, security policy
// None and Basic256Sha256 (Sign, SignAndEncrypt) with a self-signed certificate, anonymous
// sessions. Browse paths resolve (TranslateBrowsePathsToNodeIDs), and subscriptions work:
// monitored variables are sampled every 50 ms.
//
// Every Read and Write that touches the model's namespace goes once through the controller's
// injected faults (Controller.Request): latency and stalls delay the answer, an exception
// answers the model's Value items BadDeviceFailure, a restart BadCommunicationError. All
// values of one Read come from the same scan. Writes: a variant of another type than the
// variable's is BadTypeMismatch, a read-only variable BadNotWritable, a value the controller
// refuses BadOutOfRange. Reads of more than 32 nodes (the advertised MaxNodesPerRead) are
// refused with BadTooManyOperations.
//
// gopcua's server offers no way to cut a client connection (closing it leaves the TCP
// connections open), so clients do not talk to it directly: the Server listens on the public
// address and proxies each connection to gopcua, which listens on a private loopback port and
// advertises the public URL. Drop cuts the proxied connections (sessions survive, as after a
// network drop); Suspend stops the whole stack (sessions and subscriptions are lost, as in a
// PLC restart); Resume starts a new one on the same public address. The proxy also enforces
// the configured security, which gopcua's channel layer does not (see guard).
//
// gopcua writes six lines to the standard logger each time the stack starts (nodeset import,
// "Started listening"); this package leaves the global logger alone, so a command that wants
// a clean terminal routes or discards the standard logger itself.
package opcuaserver

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/simulators/plc"
)

// Security selects the endpoints the server offers. The zero value is SecurityAll.
type Security uint8

const (
	SecurityAll     Security = iota // None, Basic256Sha256 Sign and Basic256Sha256 SignAndEncrypt
	SecurityNone                    // SecurityPolicy None only
	SecuritySign                    // Basic256Sha256 Sign only
	SecurityEncrypt                 // Basic256Sha256 SignAndEncrypt only
	SecuritySecure                  // Sign and SignAndEncrypt, no None
)

// ParseSecurity reads none, sign, encrypt, secure or all ("" is all).
func ParseSecurity(s string) (Security, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "all":
		return SecurityAll, nil
	case "none":
		return SecurityNone, nil
	case "sign":
		return SecuritySign, nil
	case "encrypt", "signandencrypt", "sign-and-encrypt":
		return SecurityEncrypt, nil
	case "secure":
		return SecuritySecure, nil
	}
	return SecurityAll, fmt.Errorf("unknown opc ua security %q; expected none, sign, encrypt, secure or all", s)
}

func (s Security) String() string {
	switch s {
	case SecurityAll:
		return "all"
	case SecurityNone:
		return "none"
	case SecuritySign:
		return "sign"
	case SecurityEncrypt:
		return "encrypt"
	case SecuritySecure:
		return "secure"
	}
	return "invalid"
}

type secMode struct {
	policy string
	mode   ua.MessageSecurityMode
}

// Secure policies the server can offer beside None, by name.
const (
	PolicyBasic256Sha256      = "Basic256Sha256"
	PolicyAes128Sha256RsaOaep = "Aes128_Sha256_RsaOaep"
	PolicyAes256Sha256RsaPss  = "Aes256_Sha256_RsaPss"
)

// AllPolicies are the secure policies the server implements, for Config.Policies.
var AllPolicies = []string{PolicyBasic256Sha256, PolicyAes128Sha256RsaOaep, PolicyAes256Sha256RsaPss}

// modes are the endpoints of s with the secure policies (nil: Basic256Sha256); insecure
// adds None whatever s says (a firmware's insecure endpoint, Config.InsecureEndpoint).
func (s Security) modes(policies []string, insecure bool) []secMode {
	if len(policies) == 0 {
		policies = []string{PolicyBasic256Sha256}
	}
	var out []secMode
	if s == SecurityAll || s == SecurityNone || insecure {
		out = append(out, secMode{"None", ua.MessageSecurityModeNone})
	}
	for _, p := range policies {
		if s == SecurityAll || s == SecuritySign || s == SecuritySecure {
			out = append(out, secMode{p, ua.MessageSecurityModeSign})
		}
		if s == SecurityAll || s == SecurityEncrypt || s == SecuritySecure {
			out = append(out, secMode{p, ua.MessageSecurityModeSignAndEncrypt})
		}
	}
	return out
}

// Config says where and how to serve.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free port; "" is 127.0.0.1:0. On an
	// unspecified host (0.0.0.0, ::) the machine's host name is advertised.
	Addr     string
	Security Security
	// Policies are the secure policies offered beside None, from AllPolicies; nil is
	// Basic256Sha256 only. Security picks the modes each is offered in.
	Policies []string
	// Users are the user names and passwords the server accepts, UserCerts the user
	// certificates (DER) it accepts, on its secure endpoints. With either set, anonymous
	// sessions are refused (BadIdentityTokenInvalid), as on a PLC with user management; a
	// wrong password or an unknown user is BadUserAccessDenied, an unknown certificate
	// BadIdentityTokenRejected, a user token signature that does not verify
	// BadUserSignatureInvalid. With neither, sessions are anonymous.
	Users     map[string]string
	UserCerts [][]byte
	// InsecureEndpoint offers the endpoint None/None beside Security's, as a firmware that
	// opens it does (docs/architecture.md, section Security posture). Without users its
	// sessions are anonymous; with users it lists their token types, as None does under
	// SecurityAll.
	InsecureEndpoint bool
	// Cert is the certificate the server makes for itself: RSA key bits, signature hash
	// ("sha1" or "sha256") and validity in days; zero fields are 2048, sha256 and 3650.
	Cert CertSpec
	// CertDir keeps the generated certificate and key (opcua-<serial>.der and .key) so that
	// clients that trust it keep trusting it across starts; "" generates them in memory.
	CertDir string
}

// Server is the OPC UA face of one controller. It implements plc.Endpoint.
type Server struct {
	c          *plc.Controller
	cfg        Config
	layout     *layout
	appURI     string
	productURI string
	cert       []byte
	key        *rsa.PrivateKey
	addr       string // host:port the public listener is bound to
	host       string // advertised host
	port       int
	url        string
	labels     context.Context // pprof labels marking every goroutine of this server
	label      string          // the labels as the goroutine profile prints them

	quit      chan struct{} // closed by Close
	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	closed bool
	gen    int          // bumped by Suspend and Resume: a pending relisten is stale
	ln     net.Listener // nil while suspended
	cur    *run         // nil while suspended
	links  map[*link]struct{}
	wg     sync.WaitGroup // every goroutine this package starts
}

// closeTimeout bounds how long Close waits for gopcua's goroutines (its channel broker
// waits up to 10 s itself).
const closeTimeout = 15 * time.Second

var servers atomic.Int64

// labelKey is the pprof label on every goroutine a server starts (gopcua's inherit it).
const labelKey = "patchgate/opcuaserver"

// Start serves c and returns once the server listens and serves; ctx bounds the start only.
// The server attaches itself to the controller, so the controller's drops and restarts
// reach it, until Close.
func Start(ctx context.Context, c *plc.Controller, cfg Config) (*Server, error) {
	if cfg.Security > SecuritySecure {
		return nil, fmt.Errorf("opc ua: unknown security %d", cfg.Security)
	}
	for _, p := range cfg.Policies {
		if !slices.Contains(AllPolicies, p) {
			return nil, fmt.Errorf("opc ua: unknown security policy %q; expected one of %s", p, strings.Join(AllPolicies, ", "))
		}
	}
	if (len(cfg.Users) > 0 || len(cfg.UserCerts) > 0) && cfg.Security == SecurityNone {
		return nil, errors.New("opc ua: users need a secure endpoint; security none offers none")
	}
	l, err := newLayout(c)
	if err != nil {
		return nil, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("opc ua listen address %q: %w", addr, err)
	}
	idt := c.Identity()
	s := &Server{
		c:          c,
		cfg:        cfg,
		layout:     l,
		appURI:     "urn:patchgate:device:" + idt.Serial,
		productURI: "urn:patchgate:simplc:" + idt.Model,
		host:       host,
		quit:       make(chan struct{}),
		links:      map[*link]struct{}{},
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		s.host = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" {
			s.host = h
		}
	}
	s.cert, s.key, err = certificate(cfg.CertDir, "opcua-"+idt.Serial, s.appURI, idt.Vendor,
		idt.Product+" "+idt.Serial, certHosts(s.host), cfg.Cert)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("opc ua listen on %s: %w", addr, err)
	}
	s.addr = ln.Addr().String()
	s.port = ln.Addr().(*net.TCPAddr).Port
	s.url = "opc.tcp://" + net.JoinHostPort(s.host, strconv.Itoa(s.port))
	n := strconv.FormatInt(servers.Add(1), 10)
	s.labels = pprof.WithLabels(context.Background(), pprof.Labels(labelKey, n))
	s.label = `"` + labelKey + `":"` + n + `"`

	r := s.newRun()
	s.wg.Add(1)
	go r.life()
	select {
	case <-r.ready:
		err = r.err
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		r.stop()
		ln.Close()
		s.wg.Wait()
		return nil, err
	}
	s.ln, s.cur = ln, r
	s.wg.Add(1)
	go s.accept(ln)
	c.Attach(s)
	return s, nil
}

// URL is the endpoint URL clients connect to ("opc.tcp://127.0.0.1:PORT").
func (s *Server) URL() string { return s.url }

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// Certificate is the DER of the server's certificate, for clients to pin or trust.
func (s *Server) Certificate() []byte { return slices.Clone(s.cert) }

// Close detaches from the controller, stops listening, cuts every connection, stops the
// OPC UA stack and waits for every goroutine it started, gopcua's included. It returns an
// error if some of gopcua's goroutines did not end within 15 s.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.c.Detach(s)
		s.mu.Lock()
		s.closed = true
		close(s.quit)
		ln, r, links := s.ln, s.cur, s.takeLinks()
		s.ln, s.cur = nil, nil
		s.mu.Unlock()
		if ln != nil {
			ln.Close()
		}
		for l := range links {
			l.cut()
		}
		if r != nil {
			r.stop()
		}
		s.wg.Wait()
		s.closeErr = waitLabeled(s.label, "", closeTimeout)
	})
	return s.closeErr
}

// Drop cuts every client connection and keeps listening. The sessions survive, as after a
// network drop: a client may reactivate its session on a new connection.
func (s *Server) Drop() {
	s.mu.Lock()
	links := s.takeLinks()
	s.mu.Unlock()
	for l := range links {
		l.cut()
	}
}

// Suspend stops answering, as a controller does while it restarts: the listener and every
// connection are closed and the OPC UA stack stops (its sessions and subscriptions are
// gone). Connections are refused until Resume.
func (s *Server) Suspend() {
	s.mu.Lock()
	s.gen++
	if s.closed || s.ln == nil {
		s.mu.Unlock()
		return
	}
	ln, r, links := s.ln, s.cur, s.takeLinks()
	s.ln, s.cur = nil, nil
	s.mu.Unlock()
	ln.Close()
	for l := range links {
		l.cut()
	}
	r.stop()
}

// Resume listens again on the same address with a new OPC UA stack. It returns once the
// address listens; the stack comes up in the background (connections accepted meanwhile
// are served as soon as it is up). If the address cannot be bound at once, it is retried
// every 50 ms until it can, or until Suspend or Close.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.ln != nil {
		return
	}
	s.gen++
	if err := s.listenLocked(); err != nil {
		s.wg.Add(1)
		go s.relisten(s.gen)
	}
}

func (s *Server) listenLocked() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	r := s.newRun()
	s.ln, s.cur = ln, r
	s.wg.Add(2)
	go r.life()
	go s.accept(ln)
	return nil
}

func (s *Server) relisten(gen int) {
	defer s.wg.Done()
	pprof.SetGoroutineLabels(s.labels)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		s.mu.Lock()
		done := s.closed || s.gen != gen || s.ln != nil || s.listenLocked() == nil
		s.mu.Unlock()
		if done {
			return
		}
	}
}

// takeLinks hands over the current connections; the caller cuts them outside the lock.
func (s *Server) takeLinks() map[*link]struct{} {
	links := s.links
	s.links = map[*link]struct{}{}
	return links
}

// link is one client connection and its proxied twin to gopcua.
type link struct {
	client net.Conn
	run    *run
	done   chan struct{} // closed by cut

	mu     sync.Mutex
	inner  net.Conn
	closed bool
}

func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	close(l.done)
	l.client.Close()
	if l.inner != nil {
		l.inner.Close()
	}
}

func (l *link) attach(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.inner = c
	return true
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	pprof.SetGoroutineLabels(s.labels)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// a transient failure such as running out of file descriptors: let it pass
			select {
			case <-s.quit:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		s.mu.Lock()
		if s.ln != ln {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		l := &link{client: conn, run: s.cur, done: make(chan struct{})}
		s.links[l] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(l)
	}
}

// serve proxies one connection once its stack is up.
func (s *Server) serve(l *link) {
	defer s.wg.Done()
	defer func() {
		l.cut()
		s.mu.Lock()
		delete(s.links, l)
		s.mu.Unlock()
	}()
	select {
	case <-l.run.ready:
	case <-l.done:
		return
	}
	if l.run.err != nil {
		return
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	inner, err := d.Dial("tcp", l.run.inner)
	if err != nil {
		return
	}
	if !l.attach(inner) {
		inner.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		pump(inner, l.client, newGuard(s.cfg.Security, s.cfg.Policies, s.cfg.InsecureEndpoint))
		l.cut()
	}()
	io.Copy(l.client, inner)
}

// waitLabeled waits until no goroutine that carries the pprof label (as the goroutine
// profile prints it) runs fn ("" for any function). gopcua starts goroutines it never
// joins; they inherit the labels of the goroutine that started the stack, which is how
// Close knows they are gone.
func waitLabeled(label, fn string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 20*time.Millisecond) {
		n := countLabeled(label, fn)
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("opc ua: %d goroutines of the OPC UA stack still running %s after close", n, timeout)
		}
		time.Sleep(delay)
	}
}

// countLabeled counts the goroutines that carry label and run fn ("" for any).
func countLabeled(label, fn string) int {
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		return 0
	}
	n := 0
	for _, g := range strings.Split(b.String(), "\n\n") {
		head, rest, _ := strings.Cut(g, "\n")
		c, _, ok := strings.Cut(head, " @ ")
		if !ok || !strings.Contains(rest, "# labels: ") || !strings.Contains(rest, label) || !strings.Contains(rest, fn) {
			continue
		}
		k, _ := strconv.Atoi(c)
		n += k
	}
	return n
}
