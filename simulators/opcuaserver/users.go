package opcuaserver

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uapolicy"
	"github.com/gopcua/opcua/uasc"
)

// users checks the user identity of every session when Config names users, as a PLC with
// user management does. gopcua's server advertises user token policies but activates every
// session whatever its token says, so the server wraps gopcua's CreateSession and
// ActivateSession: CreateSession records the session's server nonce (a user token proves
// itself over it) and answers with the public endpoints; ActivateSession checks the token
// before gopcua activates the session, and records the next nonce.
//
// Token policies: on every secure endpoint, "username_<policy>" (the password encrypted
// with the endpoint's policy) when Users is set and "certificate_<policy>" (the user
// token signed with the endpoint's policy) when UserCerts is set. The None endpoint offers
// the tokens of the first secure policy, as servers that keep passwords off None do.
type users struct {
	cfg     Config
	key     *rsa.PrivateKey // the server's, to decrypt passwords
	cert    []byte          // the server's, which user token signatures cover
	gopcua  *server.SessionService
	policy  map[string]string // token policy id → security policy URI
	mu      sync.Mutex
	session map[string][]byte // server nonce of each session's last Create/ActivateSession, by authentication token
}

// enabled reports whether the server checks user tokens.
func (c Config) usersEnabled() bool { return len(c.Users) > 0 || len(c.UserCerts) > 0 }

func newUsers(srv *server.Server, cfg Config, cert []byte, key *rsa.PrivateKey) (*users, error) {
	ss, err := sessionService(srv)
	if err != nil {
		return nil, err
	}
	u := &users{cfg: cfg, key: key, cert: cert, gopcua: ss, policy: map[string]string{}, session: map[string][]byte{}}
	for _, p := range u.policies() {
		uri := ua.FormatSecurityPolicyURI(p)
		u.policy["username_"+strings.ToLower(p)] = uri
		u.policy["certificate_"+strings.ToLower(p)] = uri
	}
	return u, nil
}

func (u *users) policies() []string {
	if len(u.cfg.Policies) == 0 {
		return []string{PolicyBasic256Sha256}
	}
	return u.cfg.Policies
}

// sessionService is gopcua's session service of srv. gopcua makes it only inside Start and
// offers no way to reach it, and its one field is unexported; reflect finds that field by
// type, so a gopcua that changes the struct fails here, loudly, rather than misbehaving.
func sessionService(srv *server.Server) (*server.SessionService, error) {
	ss := &server.SessionService{}
	v := reflect.ValueOf(ss).Elem()
	if v.NumField() != 1 || v.Field(0).Type() != reflect.TypeOf(srv) {
		return nil, errors.New("opc ua: gopcua's SessionService is not as this package knows it; user checks are not possible")
	}
	f := v.Field(0)
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(srv))
	return ss, nil
}

// tokens are the user token policies of an endpoint with the given security policy URI.
func (u *users) tokens(policyURI string) []*ua.UserTokenPolicy {
	if policyURI == ua.SecurityPolicyURINone {
		policyURI = ua.FormatSecurityPolicyURI(u.policies()[0])
	}
	name := strings.ToLower(strings.TrimPrefix(policyURI, ua.SecurityPolicyURIPrefix))
	var out []*ua.UserTokenPolicy
	if len(u.cfg.Users) > 0 {
		out = append(out, &ua.UserTokenPolicy{PolicyID: "username_" + name, TokenType: ua.UserTokenTypeUserName, SecurityPolicyURI: policyURI})
	}
	if len(u.cfg.UserCerts) > 0 {
		out = append(out, &ua.UserTokenPolicy{PolicyID: "certificate_" + name, TokenType: ua.UserTokenTypeCertificate, SecurityPolicyURI: policyURI})
	}
	return out
}

// createSession is gopcua's, answering with the public endpoints and recording the nonce.
func (u *users) createSession(r *run) server.Handler {
	return func(sc *uasc.SecureChannel, req ua.Request, id uint32) (ua.Response, error) {
		resp, err := u.gopcua.CreateSession(sc, req, id)
		if cr, ok := resp.(*ua.CreateSessionResponse); ok && err == nil {
			cr.ServerEndpoints = r.endpoints()
			u.mu.Lock()
			u.session[cr.AuthenticationToken.String()] = cr.ServerNonce
			u.mu.Unlock()
		}
		return resp, err
	}
}

// activateSession checks the user token, then lets gopcua activate the session (it checks
// the client's signature) and records the next nonce.
func (u *users) activateSession(sc *uasc.SecureChannel, req ua.Request, id uint32) (ua.Response, error) {
	ar, ok := req.(*ua.ActivateSessionRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	key := ""
	if ar.RequestHeader != nil && ar.RequestHeader.AuthenticationToken != nil {
		key = ar.RequestHeader.AuthenticationToken.String()
	}
	u.mu.Lock()
	nonce, known := u.session[key]
	u.mu.Unlock()
	if !known {
		return nil, ua.StatusBadSessionIDInvalid
	}
	if st := u.check(ar, nonce); st != ua.StatusOK {
		return nil, st
	}
	resp, err := u.gopcua.ActivateSession(sc, req, id)
	if res, ok := resp.(*ua.ActivateSessionResponse); ok && err == nil {
		u.mu.Lock()
		u.session[key] = res.ServerNonce
		u.mu.Unlock()
	}
	return resp, err
}

// closeSession is gopcua's, forgetting the session's nonce.
func (u *users) closeSession(sc *uasc.SecureChannel, req ua.Request, id uint32) (ua.Response, error) {
	if cr, ok := req.(*ua.CloseSessionRequest); ok && cr.RequestHeader != nil && cr.RequestHeader.AuthenticationToken != nil {
		u.mu.Lock()
		delete(u.session, cr.RequestHeader.AuthenticationToken.String())
		u.mu.Unlock()
	}
	return u.gopcua.CloseSession(sc, req, id)
}

// check judges the user identity token of an ActivateSession against the session's nonce.
func (u *users) check(ar *ua.ActivateSessionRequest, nonce []byte) ua.StatusCode {
	if ar.UserIdentityToken == nil {
		return ua.StatusBadIdentityTokenInvalid
	}
	switch tok := ar.UserIdentityToken.Value.(type) {
	case *ua.UserNameIdentityToken:
		uri, ok := u.policy[tok.PolicyID]
		if !ok || !strings.HasPrefix(tok.PolicyID, "username_") || len(u.cfg.Users) == 0 {
			return ua.StatusBadIdentityTokenInvalid
		}
		pw, err := u.password(uri, tok.Password, nonce)
		if err != nil {
			return ua.StatusBadIdentityTokenInvalid
		}
		want, ok := u.cfg.Users[tok.UserName]
		if !ok || want != pw {
			return ua.StatusBadUserAccessDenied
		}
		return ua.StatusOK
	case *ua.X509IdentityToken:
		uri, ok := u.policy[tok.PolicyID]
		if !ok || !strings.HasPrefix(tok.PolicyID, "certificate_") || len(u.cfg.UserCerts) == 0 {
			return ua.StatusBadIdentityTokenInvalid
		}
		trusted := false
		for _, c := range u.cfg.UserCerts {
			trusted = trusted || bytes.Equal(c, tok.CertificateData)
		}
		if !trusted {
			return ua.StatusBadIdentityTokenRejected
		}
		c, err := x509.ParseCertificate(tok.CertificateData)
		if err != nil {
			return ua.StatusBadIdentityTokenInvalid
		}
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok || ar.UserTokenSignature == nil {
			return ua.StatusBadUserSignatureInvalid
		}
		alg, err := uapolicy.Asymmetric(uri, nil, pub)
		if err != nil || alg.VerifySignature(append(bytes.Clone(u.cert), nonce...), ar.UserTokenSignature.Signature) != nil {
			return ua.StatusBadUserSignatureInvalid
		}
		return ua.StatusOK
	}
	return ua.StatusBadIdentityTokenInvalid // anonymous, issued tokens
}

// password decrypts a UserName token's secret (Part 4, 7.41.2.2: length, password, server
// nonce) and checks that it ends with the session's nonce.
func (u *users) password(policyURI string, secret, nonce []byte) (string, error) {
	alg, err := uapolicy.Asymmetric(policyURI, u.key, nil)
	if err != nil {
		return "", err
	}
	plain, err := alg.Decrypt(secret)
	if err != nil {
		return "", err
	}
	if len(plain) < 4 {
		return "", errors.New("short secret")
	}
	n := int(binary.LittleEndian.Uint32(plain))
	if n < len(nonce) || 4+n > len(plain) {
		return "", fmt.Errorf("secret length %d", n)
	}
	body := plain[4 : 4+n]
	if !bytes.Equal(body[n-len(nonce):], nonce) {
		return "", errors.New("secret without the session's nonce")
	}
	return string(body[:n-len(nonce)]), nil
}
