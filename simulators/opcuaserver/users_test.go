package opcuaserver

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uapolicy"
)

func TestConfigRefusesUnknownPoliciesAndInsecureUsers(t *testing.T) {
	c := newController(t, "")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Policies: []string{"Basic128Rsa15"}}, `unknown security policy "Basic128Rsa15"; expected one of Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss`},
		{Config{Security: SecurityNone, Users: map[string]string{"op": "pw"}}, "users need a secure endpoint"},
	} {
		if _, err := Start(testContext(t), c, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestUserTokensWithGopcua: a server with users checks the tokens gopcua's client sends over
// each policy: the right password and the trusted certificate open sessions, anything else
// is refused with the status a PLC answers.
func TestUserTokensWithGopcua(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	cert, key := clientCert(t)
	userDER, userKey := clientCert(t)
	otherDER, otherKey := clientCert(t)
	s := startServer(t, c, Config{Security: SecurityEncrypt, Policies: AllPolicies,
		Users: map[string]string{"operator": "s3cret"}, UserCerts: [][]byte{userDER}})
	eps, err := opcua.GetEndpoints(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 3 {
		t.Fatalf("%d endpoints; want the three policies in SignAndEncrypt", len(eps))
	}
	for _, ep := range eps {
		var kinds []ua.UserTokenType
		for _, tok := range ep.UserIdentityTokens {
			kinds = append(kinds, tok.TokenType)
			if tok.SecurityPolicyURI != ep.SecurityPolicyURI {
				t.Errorf("%s: token policy %s over %s", ep.SecurityPolicyURI, tok.PolicyID, tok.SecurityPolicyURI)
			}
		}
		if len(kinds) != 2 || kinds[0] != ua.UserTokenTypeUserName || kinds[1] != ua.UserTokenTypeCertificate {
			t.Errorf("%s offers tokens %v; want user name and certificate, no anonymous", ep.SecurityPolicyURI, kinds)
		}
	}
	for _, ep := range eps {
		policy := strings.TrimPrefix(ep.SecurityPolicyURI, ua.SecurityPolicyURIPrefix)
		for _, tc := range []struct {
			name string
			kind ua.UserTokenType
			auth []opcua.Option
			want error // nil: the session opens
		}{
			{"right password", ua.UserTokenTypeUserName, []opcua.Option{opcua.AuthUsername("operator", "s3cret")}, nil},
			{"wrong password", ua.UserTokenTypeUserName, []opcua.Option{opcua.AuthUsername("operator", "s3cret!")}, ua.StatusBadUserAccessDenied},
			{"unknown user", ua.UserTokenTypeUserName, []opcua.Option{opcua.AuthUsername("admin", "s3cret")}, ua.StatusBadUserAccessDenied},
			{"trusted certificate", ua.UserTokenTypeCertificate, []opcua.Option{opcua.AuthCertificate(userDER), opcua.AuthPrivateKey(userKey)}, nil},
			{"unknown certificate", ua.UserTokenTypeCertificate, []opcua.Option{opcua.AuthCertificate(otherDER), opcua.AuthPrivateKey(otherKey)}, ua.StatusBadIdentityTokenRejected},
			{"certificate signed by another key", ua.UserTokenTypeCertificate, []opcua.Option{opcua.AuthCertificate(userDER), opcua.AuthPrivateKey(otherKey)}, ua.StatusBadUserSignatureInvalid},
			{"anonymous", ua.UserTokenTypeAnonymous, []opcua.Option{opcua.AuthAnonymous()}, ua.StatusBadIdentityTokenInvalid},
		} {
			t.Run(policy+"/"+tc.name, func(t *testing.T) {
				opts := append([]opcua.Option{opcua.SecurityFromEndpoint(ep, tc.kind), opcua.Certificate(cert), opcua.PrivateKey(key)}, tc.auth...)
				cl, err := dial(ctx, s.URL(), opts...)
				if err == nil {
					cl.Close(ctx)
				}
				if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Errorf("%v; want %v", err, tc.want)
				}
			})
		}
	}
}

// FuzzPasswordSecret: the decoder of a user name token's encrypted secret takes what any
// client sends; it never panics and returns a password only for a secret that carries the
// session's nonce.
func FuzzPasswordSecret(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	u := &users{key: key}
	nonce := bytes.Repeat([]byte{7}, 32)
	uri := ua.SecurityPolicyURIBasic256Sha256
	enc, err := uapolicy.Asymmetric(uri, nil, &key.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	seal := func(n uint32, body []byte) []byte {
		b, err := enc.Encrypt(append(binary.LittleEndian.AppendUint32(nil, n), body...))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	good := append([]byte("s3cret"), nonce...)
	f.Add(seal(uint32(len(good)), good))
	f.Add(seal(5, good))                                                          // shorter than the nonce
	f.Add(seal(1<<31, good))                                                      // longer than the secret
	f.Add(seal(uint32(len(good)), append([]byte("s3cret"), make([]byte, 32)...))) // another nonce
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 256))
	f.Fuzz(func(t *testing.T, secret []byte) {
		pw, err := u.password(uri, secret, nonce)
		if err == nil && pw != "s3cret" {
			t.Fatalf("password %q from a secret that is not the seed's", pw)
		}
	})
}
