package opcua

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
)

// userIdentity is who a session is activated as: anonymous, a user name with its password,
// or an X.509 user certificate with its key. It is read once at Open, so a Reconnect needs
// neither the file nor the environment again. The password is never formatted: errors and
// Identity name the user and where its password came from.
type userIdentity struct {
	kind     ua.UserTokenType
	name     string // user name, or the certificate's subject
	password string
	source   string // where the password came from: "password_file /etc/pg/op.pw", "environment variable X"
	der      []byte // user certificate
	key      *rsa.PrivateKey
	sha1     string // thumbprint of the user certificate
}

// loadUser reads the target's user identity: the password or the user certificate and key.
func loadUser(o options) (userIdentity, error) {
	u := userIdentity{kind: o.tokenType()}
	switch u.kind {
	case ua.UserTokenTypeUserName:
		pw, err := o.password()
		if err != nil {
			return u, err
		}
		u.name, u.password = o.user, pw
		switch {
		case o.passwordFile != "":
			u.source = "password_file " + o.passwordFile
		case o.passwordEnv != "":
			u.source = "environment variable " + o.passwordEnv
		default:
			u.source = "environment variable " + PasswordEnv
		}
	case ua.UserTokenTypeCertificate:
		der, key, err := loadPair("user", o.userCert, o.userKey)
		if err != nil {
			return u, fmt.Errorf("%w: %w", driver.ErrBadTarget, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return u, fmt.Errorf("%w: user certificate %s: %w", driver.ErrBadTarget, o.userCert, err)
		}
		u.der, u.key, u.name = der, key, c.Subject.String()
		u.sha1, _ = thumbprints(der)
	}
	return u, nil
}

// tokenNames name user token types as errors and Identity say them.
var tokenNames = map[ua.UserTokenType]string{
	ua.UserTokenTypeAnonymous:   "anonymous",
	ua.UserTokenTypeUserName:    "user name",
	ua.UserTokenTypeCertificate: "certificate",
	ua.UserTokenTypeIssuedToken: "issued token",
}

// options are gopcua's options for the identity on endpoint ep, which must offer a user token
// policy of its kind (gopcua's SecurityFromEndpoint takes the policy id from it).
func (u userIdentity) options(ep *ua.EndpointDescription) ([]gopcua.Option, error) {
	var kinds []string
	found := false
	for _, t := range ep.UserIdentityTokens {
		if t == nil {
			continue
		}
		found = found || t.TokenType == u.kind
		kinds = append(kinds, tokenNames[t.TokenType])
	}
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	switch {
	case !found && u.kind == ua.UserTokenTypeAnonymous && len(kinds) > 0:
		return nil, fmt.Errorf("the endpoint accepts no anonymous sessions; it accepts %s tokens: "+
			"name the user with user=NAME (and password_file=FILE or password_env=VAR) or user_cert=FILE&user_key=FILE", strings.Join(kinds, ", "))
	case !found && u.kind != ua.UserTokenTypeAnonymous:
		offered := "no user tokens at all"
		if len(kinds) > 0 {
			offered = strings.Join(kinds, ", ") + " tokens"
		}
		return nil, fmt.Errorf("the endpoint accepts no %s tokens (for %s); it accepts %s", tokenNames[u.kind], u.who(), offered)
	}
	switch u.kind {
	case ua.UserTokenTypeUserName:
		return []gopcua.Option{gopcua.AuthUsername(u.name, u.password)}, nil
	case ua.UserTokenTypeCertificate:
		return []gopcua.Option{gopcua.AuthCertificate(u.der), gopcua.AuthPrivateKey(u.key)}, nil
	}
	return []gopcua.Option{gopcua.AuthAnonymous()}, nil
}

// who names the identity in errors: `user "op"` or `user certificate "CN=op" (SHA-1 ...)`.
func (u userIdentity) who() string {
	switch u.kind {
	case ua.UserTokenTypeUserName:
		return fmt.Sprintf("user %q", u.name)
	case ua.UserTokenTypeCertificate:
		return fmt.Sprintf("user certificate %q (SHA-1 thumbprint %s)", u.name, u.sha1)
	}
	return "anonymous"
}

// userRefusals are the service results of an ActivateSession that refuses the identity.
var userRefusals = map[ua.StatusCode]bool{
	ua.StatusBadUserAccessDenied:       true,
	ua.StatusBadIdentityTokenInvalid:   true,
	ua.StatusBadIdentityTokenRejected:  true,
	ua.StatusBadUserSignatureInvalid:   true,
	ua.StatusBadCertificateUntrusted:   true,
	ua.StatusBadCertificateInvalid:     true,
	ua.StatusBadSecurityPolicyRejected: true,
}

// ErrUserRefused is matched by the error of a server that refused the session's user
// identity (a wrong password, an unknown user, an untrusted user certificate).
var ErrUserRefused = errors.New("the server refused the user identity")

// refused returns the error of a connect that the server refused for the user identity, or
// nil. It names the user, the status code and where the password came from; never the
// password.
func (u userIdentity) refused(err error) error {
	var st ua.StatusCode
	if u.kind == ua.UserTokenTypeAnonymous || !errors.As(err, &st) || !userRefusals[st] {
		return nil
	}
	hint := ""
	switch u.kind {
	case ua.UserTokenTypeUserName:
		hint = "check the user name and the password in the " + u.source
	case ua.UserTokenTypeCertificate:
		hint = "the server must trust the user certificate; check it with the device's owner"
	}
	return fmt.Errorf("%w: %s: %w; %s", ErrUserRefused, u.who(), Status(st), hint)
}

// identity adds the user identity of a non-anonymous session to Identity's Extra: the token
// kind and the user (the name, or the certificate's subject and thumbprint), never the
// password. An anonymous session adds nothing, so its identity reads as it always did.
func (u userIdentity) identity(extra map[string]string) {
	if u.kind == ua.UserTokenTypeAnonymous {
		return
	}
	extra["user_token"] = tokenNames[u.kind]
	switch u.kind {
	case ua.UserTokenTypeUserName:
		extra["user"] = u.name
	case ua.UserTokenTypeCertificate:
		extra["user"] = u.name
		extra["user_certificate_sha1"] = u.sha1
	}
}
