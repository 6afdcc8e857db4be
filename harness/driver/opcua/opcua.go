// Package opcua is the OPC UA driver: it reads, writes and subscribes to a controller's
// variables through a point map, with gopcua as the wire client. It is the only package under
// harness/ that imports gopcua; it registers itself for the opc.tcp:// scheme.
//
// Targets:
//
//	opc.tcp://host:port/path?security=POLICY&mode=None|Sign|SignAndEncrypt&trust=DIR&allow_insecure=1&timeout=DUR&cert=FILE&key=FILE
//	    [&user=NAME[&password_file=FILE|&password_env=VAR] | &user_cert=FILE&user_key=FILE]
//
//	security        security policy: None, Basic256Sha256 (default), Aes128_Sha256_RsaOaep
//	                or Aes256_Sha256_RsaPss
//	mode            message security mode (default SignAndEncrypt; None with security=None)
//	allow_insecure  1 to accept security=None, which neither signs nor encrypts and lets
//	                anyone on the network pose as the controller; refused without it
//	trust           folder of trusted server certificates, DER or PEM (default
//	                <user config dir>/patchgate/pki/trusted, where the user config dir is
//	                $XDG_CONFIG_HOME, ~/.config, ~/Library/Application Support or %AppData%)
//	timeout         per-request timeout, also for the TCP connect (default 5s)
//	cert, key       the client's application instance certificate (DER or PEM) and RSA key
//	                (PEM or DER, PKCS#1 or PKCS#8); both or neither
//	user            activate the session with a user name token for NAME; its password
//	                comes from password_file (the file's text, one trailing line end
//	                dropped) or the environment variable password_env (default
//	                PATCHGATE_OPCUA_PASSWORD), never from the target itself
//	user_cert,      activate the session with an X.509 user token: the user's certificate
//	user_key        (DER or PEM) and RSA key, both or neither
//
// A user identity needs a secure policy (the server must be authenticated before it gets a
// password), and the endpoint must offer a user token policy of that kind. The run record
// and Identity name the user (user, or the user certificate's subject and thumbprint),
// never the password; a target holding a password (user:pw@host, password=) is refused
// without echoing it.
//
// An unknown parameter is an error, so that a typo is never silently ignored.
//
// # Certificates
//
// With a secure policy the driver asks the server for its endpoints (GetEndpoints, over
// None, as discovery is), takes the one with the target's policy and mode, and refuses a
// server whose certificate is not in the trust folder: the error (an *UntrustedError, which
// matches ErrUntrusted) names the certificate's subject and SHA-1 and SHA-256 thumbprints,
// saves it in the "rejected" folder beside the trust folder and says which file to move
// where to trust it, as UaExpert-style clients do. The client's own certificate (RSA 2048,
// self-signed, application URI urn:patchgate:client) is made on first use and kept beside
// the trust folder in own/cert.der and own/key.pem, unless cert= and key= name one. Sessions
// are anonymous unless user= or user_cert= say otherwise. `patchgate trust` lists, trusts and
// removes certificates in the folders (ListTrusted, ListRejected, TrustRejected, RemoveTrusted).
//
// # Nodes
//
// Every point of the map is resolved when the connection opens (and again on Reconnect): an
// id is used as written ("ns=2;s=Tank.Level", or "nsu=URI;s=..." through the server's
// namespace array), namespace_uri plus identifier through the namespace array, and a
// browse_path ("Tank/Level", each element "Name" in the point's namespace_uri or "N:Name" in
// namespace N) through TranslateBrowsePathsToNodeIDs from the Objects folder. A point that
// cannot be resolved does not fail Open: every read of it has Quality Bad with the reason.
// Identity reports the resolution of every point in Extra ("node.Level").
//
// # Reads, writes and errors
//
// A Read is one ReadRequest (cut into batches of the server's MaxNodesPerRead, read at
// connect; 32 when the server does not say), prepared once per distinct tag list. A value
// comes back as the point map's kind (an Int32 for a uint32 point is converted when exact);
// a bad or uncertain item status is Quality Bad with a Status error. A broken connection or
// a session the server no longer knows fails the whole Read with an error wrapping
// driver.ErrDisconnected and every reading Missing, and the connection then refuses every
// operation until Reconnect. No answer within the timeout is also driver.ErrDisconnected
// (with ErrTimeout) and Missing, but the session stays usable: gopcua drops a late answer to
// an abandoned request, so the next Read may succeed. The caller's context ending is its own
// error, the readings Missing, the session usable. A service fault that leaves the session
// usable (BadTooManyOperations) makes the items of that request Bad.
//
// A Write sends one WriteRequest per value, in order, stopping at the first the server
// refuses: the order of writes to a controller can matter. Every write is checked first
// (known tag, writable in the point map, resolved node, value fits the point's type), so a
// refused write does no I/O at all.
//
// # Subscriptions
//
// Subscribe makes an OPC UA subscription with a monitored item per tag, sampled at the
// interval, and delivers each change as a driver.Update with the source timestamp.
// Reconnect makes live subscriptions again on the new session. gopcua's client stops the
// publish loop of every subscription when anything comes back on its channel's error path:
// a lost connection, but also any ServiceFault answer to any request. The driver then
// delivers every subscribed tag once as Missing (driver.ErrDisconnected), refuses new
// subscriptions, and Reconnect brings them back; reads and writes go on meanwhile.
//
// The driver connects to the host and port of the target whatever host the server
// advertises in its endpoints (a PLC often advertises a name the bench laptop cannot
// resolve); Identity records the advertised one when it differs.
//
// # Goroutines
//
// gopcua starts goroutines of its own for every client (its channel reader, token renewal,
// connection and publish monitors) and does not wait for them when it closes. The driver
// starts every client under a pprof label of its own and Close waits until no goroutine
// carries that label, so no goroutine outlives the Conn. A subscription runs one goroutine
// of the driver, stopped by its cancel func, by Reconnect or by Close.
//
// A Conn is used by one goroutine at a time; Stats and the cancel func of a subscription
// may be called from any goroutine.
package opcua

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
)

func init() {
	driver.Register("opc.tcp", Driver{})
}

// Driver opens OPC UA connections.
type Driver struct{}

// Security policies and modes as a target names them.
const (
	PolicyNone                = "None"
	PolicyBasic256Sha256      = "Basic256Sha256"
	PolicyAes128Sha256RsaOaep = "Aes128_Sha256_RsaOaep"
	PolicyAes256Sha256RsaPss  = "Aes256_Sha256_RsaPss"

	ModeNone           = "None"
	ModeSign           = "Sign"
	ModeSignAndEncrypt = "SignAndEncrypt"
)

// defaultTimeout is the per-request timeout when the target does not set one. Opening a
// secure session costs a few RSA operations on both sides, which a small PLC may take a
// second or two for.
const defaultTimeout = 5 * time.Second

// options are the parsed target.
type options struct {
	url           string // opc.tcp://host:port/path, without the query
	policy        string // PolicyNone or PolicyBasic256Sha256
	mode          string // ModeNone, ModeSign or ModeSignAndEncrypt
	allowInsecure bool
	trust         string // trust folder; "" for the default (resolved only when needed)
	timeout       time.Duration
	certFile      string
	keyFile       string

	// the user identity of the session: anonymous when user and userCert are empty
	user         string // user name of a UserName token
	passwordFile string // where its password is; "" for passwordEnv
	passwordEnv  string // the environment variable holding it (default PasswordEnv)
	userCert     string // certificate (DER or PEM) of an X.509 user token
	userKey      string // its RSA key
}

// PasswordEnv is the environment variable the password of user=NAME comes from when the
// target names neither password_file nor password_env.
const PasswordEnv = "PATCHGATE_OPCUA_PASSWORD"

// policies are the security policies a target may name, by their lower-case names.
var policies = map[string]string{
	"none":                  PolicyNone,
	"basic256sha256":        PolicyBasic256Sha256,
	"aes128_sha256_rsaoaep": PolicyAes128Sha256RsaOaep,
	"aes256_sha256_rsapss":  PolicyAes256Sha256RsaPss,
}

// tokenType is the kind of user identity token the session is activated with.
func (o options) tokenType() ua.UserTokenType {
	switch {
	case o.user != "":
		return ua.UserTokenTypeUserName
	case o.userCert != "":
		return ua.UserTokenTypeCertificate
	}
	return ua.UserTokenTypeAnonymous
}

func (o options) secure() bool { return o.policy != PolicyNone }

func (o options) policyURI() string { return ua.FormatSecurityPolicyURI(o.policy) }

func (o options) uaMode() ua.MessageSecurityMode { return ua.MessageSecurityModeFromString(o.mode) }

// security is how the run record names the channel's security: "Basic256Sha256 SignAndEncrypt".
func (o options) security() string {
	if !o.secure() {
		return "None (insecure, allowed by allow_insecure=1)"
	}
	return o.policy + " " + o.mode
}

// params are the query parameters an opc.tcp target accepts, for error messages.
const params = "security, mode, allow_insecure, trust, timeout, cert, key, user, password_file, password_env, user_cert, user_key"

// parseTarget checks an opc.tcp target. Every error wraps driver.ErrBadTarget and names the
// parameter and what was expected.
func parseTarget(t driver.Target) (options, error) {
	o := options{policy: PolicyBasic256Sha256, timeout: defaultTimeout}
	u := t.URL
	if u == nil {
		return o, fmt.Errorf("%w: no URL; expected opc.tcp://host:port", driver.ErrBadTarget)
	}
	if !strings.EqualFold(u.Scheme, "opc.tcp") {
		return o, fmt.Errorf("%w: scheme %q; expected opc.tcp://host:port", driver.ErrBadTarget, u.Scheme)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return o, fmt.Errorf("%w: expected host and port, e.g. opc.tcp://127.0.0.1:4840", driver.ErrBadTarget)
	}
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err != nil || p == 0 {
		return o, fmt.Errorf("%w: port %q; expected a number 1..65535", driver.ErrBadTarget, u.Port())
	}
	if u.User != nil {
		// never echo it: a password there would land in the run record and the evidence
		return o, fmt.Errorf("%w: user information before the host; a password in the target would land in the run record: "+
			"expected opc.tcp://host:port?user=NAME&password_file=FILE (or password_env=VAR)", driver.ErrBadTarget)
	}
	if u.Fragment != "" {
		return o, fmt.Errorf("%w: fragment %q; expected none", driver.ErrBadTarget, u.Fragment)
	}
	q, err := driver.QueryParams(u.RawQuery)
	if err != nil {
		return o, err
	}
	mode := ""
	for _, kv := range q {
		k, v := kv[0], kv[1]
		bad := func(expected string) error {
			return fmt.Errorf("%w: %s=%q; expected %s", driver.ErrBadTarget, k, v, expected)
		}
		switch k {
		case "security":
			p, ok := policies[strings.ToLower(v)]
			if !ok {
				return o, bad("None, Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss")
			}
			o.policy = p
		case "mode":
			switch strings.ToLower(v) {
			case "none":
				mode = ModeNone
			case "sign":
				mode = ModeSign
			case "signandencrypt":
				mode = ModeSignAndEncrypt
			default:
				return o, bad("None, Sign or SignAndEncrypt")
			}
		case "allow_insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, bad("1 or 0 (true or false)")
			}
			o.allowInsecure = b
		case "trust":
			o.trust = filepath.Clean(v)
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return o, bad("a duration above zero, such as 500ms or 5s")
			}
			o.timeout = d
		case "cert":
			o.certFile = v
		case "key":
			o.keyFile = v
		case "user":
			o.user = v
		case "password_file":
			o.passwordFile = v
		case "password_env":
			if !validEnvName(v) {
				return o, bad("the name of an environment variable (letters, digits, _)")
			}
			o.passwordEnv = v
		case "password", "pass", "pwd":
			// never echo the value
			return o, fmt.Errorf("%w: parameter %q: a password never goes in the target, which lands in the run record and the evidence; "+
				"expected password_file=FILE or password_env=VAR (default %s) beside user=NAME", driver.ErrBadTarget, k, PasswordEnv)
		case "user_cert":
			o.userCert = v
		case "user_key":
			o.userKey = v
		default:
			return o, fmt.Errorf("%w: unknown parameter %q; expected one of %s", driver.ErrBadTarget, k, params)
		}
	}
	switch {
	case mode == "" && o.policy == PolicyNone:
		o.mode = ModeNone
	case mode == "":
		o.mode = ModeSignAndEncrypt
	default:
		o.mode = mode
	}
	switch {
	case o.policy == PolicyNone && o.mode != ModeNone:
		return o, fmt.Errorf("%w: security=None with mode=%s; security None has mode None only", driver.ErrBadTarget, o.mode)
	case o.policy != PolicyNone && o.mode == ModeNone:
		return o, fmt.Errorf("%w: security=%s with mode=None; expected mode=Sign or mode=SignAndEncrypt (or security=None&allow_insecure=1)", driver.ErrBadTarget, o.policy)
	case o.policy == PolicyNone && !o.allowInsecure:
		return o, fmt.Errorf("%w: security=None neither signs nor encrypts, and anyone on the network can pose as the controller; "+
			"add allow_insecure=1 to the target to accept that (the run record then says so), or use security=Basic256Sha256", driver.ErrBadTarget)
	case (o.certFile == "") != (o.keyFile == ""):
		return o, fmt.Errorf("%w: cert and key go together; expected both cert=FILE and key=FILE, or neither", driver.ErrBadTarget)
	case (o.userCert == "") != (o.userKey == ""):
		return o, fmt.Errorf("%w: user_cert and user_key go together; expected both user_cert=FILE and user_key=FILE, or neither", driver.ErrBadTarget)
	case o.user != "" && o.userCert != "":
		return o, fmt.Errorf("%w: user and user_cert both given; a session has one user identity: expected user=NAME (with its password) or user_cert=FILE&user_key=FILE", driver.ErrBadTarget)
	case o.user == "" && (o.passwordFile != "" || o.passwordEnv != ""):
		return o, fmt.Errorf("%w: password_file or password_env without user; expected user=NAME beside it", driver.ErrBadTarget)
	case o.passwordFile != "" && o.passwordEnv != "":
		return o, fmt.Errorf("%w: password_file and password_env both given; expected one of them", driver.ErrBadTarget)
	case o.tokenType() != ua.UserTokenTypeAnonymous && o.policy == PolicyNone:
		return o, fmt.Errorf("%w: a user identity (user= or user_cert=) with security=None; the server would be unauthenticated, "+
			"so the identity goes only over a secure channel: expected security=Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss", driver.ErrBadTarget)
	}
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	o.url = "opc.tcp://" + u.Host + path
	return o, nil
}

func validEnvName(s string) bool {
	for i, r := range s {
		if r != '_' && !(r >= 'A' && r <= 'Z') && !(r >= 'a' && r <= 'z') && !(i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// password reads the password of user=NAME: from password_file (one trailing line end
// dropped), else from the environment variable password_env or PasswordEnv. Its errors
// name where the password was looked for, never the password.
func (o options) password() (string, error) {
	if o.passwordFile != "" {
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return "", fmt.Errorf("%w: password_file of user %q: %w", driver.ErrBadTarget, o.user, err)
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if s == "" {
			return "", fmt.Errorf("%w: password_file %s of user %q is empty", driver.ErrBadTarget, o.passwordFile, o.user)
		}
		return s, nil
	}
	env := o.passwordEnv
	if env == "" {
		env = PasswordEnv
	}
	s, ok := os.LookupEnv(env)
	if !ok || s == "" {
		return "", fmt.Errorf("%w: user %q has no password: the environment variable %s is not set; "+
			"set it, or name password_file=FILE or password_env=VAR in the target", driver.ErrBadTarget, o.user, env)
	}
	return s, nil
}

// DefaultTrustDir is the trust folder of a target that names none with trust=DIR:
// <user config dir>/patchgate/pki/trusted.
func DefaultTrustDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no trust folder: %w; name one with trust=DIR", err)
	}
	return filepath.Join(dir, "patchgate", "pki", "trusted"), nil
}

// Status is an OPC UA status code a server answered with, for one item or a whole request.
// Callers branch on it with errors.As or errors.Is (errors.Is(err, opcua.StatusBadNodeIDUnknown))
// without importing the wire library.
type Status uint32

// Status codes callers commonly branch on (their values are those of Part 6, Annex A).
const (
	StatusBadNodeIDUnknown      = Status(0x80340000)
	StatusBadNotWritable        = Status(0x803B0000)
	StatusBadTypeMismatch       = Status(0x80740000)
	StatusBadOutOfRange         = Status(0x803C0000)
	StatusBadDeviceFailure      = Status(0x808B0000)
	StatusBadCommunicationError = Status(0x80050000)
	StatusBadTooManyOperations  = Status(0x80100000)
)

// Name is the status code's symbolic name without the "Status" prefix ("BadNodeIdUnknown").
func (s Status) Name() string {
	if d, ok := ua.StatusCodes[ua.StatusCode(s)]; ok {
		return strings.TrimPrefix(d.Name, "Status")
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

func (s Status) Error() string {
	return fmt.Sprintf("%s (0x%08X)", s.Name(), uint32(s))
}

// Good reports whether the status is Good (severity bits 00).
func (s Status) Good() bool { return s&0xC0000000 == 0 }

// ErrTimeout is wrapped, beside driver.ErrDisconnected, when a request got no answer within
// the timeout.
var ErrTimeout = errors.New("no answer within the timeout")

// ErrUntrusted is matched by the *UntrustedError of a server whose certificate is not in the
// trust folder.
var ErrUntrusted = errors.New("server certificate is not trusted")
