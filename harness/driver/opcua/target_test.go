package opcua

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

func mustTarget(t *testing.T, s string) driver.Target {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return driver.Target{URL: u, Scheme: "opc.tcp"}
}

func TestTargetOptions(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   options
	}{
		{"opc.tcp://127.0.0.1:4840", options{url: "opc.tcp://127.0.0.1:4840", policy: "Basic256Sha256", mode: "SignAndEncrypt", timeout: 5 * time.Second}},
		{"opc.tcp://plc.local:4840/", options{url: "opc.tcp://plc.local:4840", policy: "Basic256Sha256", mode: "SignAndEncrypt", timeout: 5 * time.Second}},
		{"opc.tcp://10.0.0.5:4840/UA/Server?mode=Sign&timeout=250ms",
			options{url: "opc.tcp://10.0.0.5:4840/UA/Server", policy: "Basic256Sha256", mode: "Sign", timeout: 250 * time.Millisecond}},
		{"opc.tcp://[::1]:4840?security=none&allow_insecure=true",
			options{url: "opc.tcp://[::1]:4840", policy: "None", mode: "None", allowInsecure: true, timeout: 5 * time.Second}},
		{"opc.tcp://h:1?security=Basic256Sha256&mode=signandencrypt&trust=/etc/pg/../pg/trusted&cert=c.der&key=k.pem&allow_insecure=0",
			options{url: "opc.tcp://h:1", policy: "Basic256Sha256", mode: "SignAndEncrypt", trust: filepath.Clean("/etc/pg/trusted"),
				certFile: "c.der", keyFile: "k.pem", timeout: 5 * time.Second}},
		{"opc.tcp://h:1?security=aes128_sha256_rsaoaep&mode=Sign&user=operator&password_file=%2Fetc%2Fpg%2Fop.pw",
			options{url: "opc.tcp://h:1", policy: "Aes128_Sha256_RsaOaep", mode: "Sign", user: "operator", passwordFile: "/etc/pg/op.pw", timeout: 5 * time.Second}},
		{"opc.tcp://h:1?security=Aes256_Sha256_RsaPss&user=op%20one&password_env=PLC_PW",
			options{url: "opc.tcp://h:1", policy: "Aes256_Sha256_RsaPss", mode: "SignAndEncrypt", user: "op one", passwordEnv: "PLC_PW", timeout: 5 * time.Second}},
		{"opc.tcp://h:1?user=op", options{url: "opc.tcp://h:1", policy: "Basic256Sha256", mode: "SignAndEncrypt", user: "op", timeout: 5 * time.Second}},
		{"opc.tcp://h:1?user_cert=u.pem&user_key=u.key", options{url: "opc.tcp://h:1", policy: "Basic256Sha256", mode: "SignAndEncrypt",
			userCert: "u.pem", userKey: "u.key", timeout: 5 * time.Second}},
		{"opc.tcp://h:1?trust=C%3A%5Cpki%5Ctrusted", options{url: "opc.tcp://h:1", policy: "Basic256Sha256", mode: "SignAndEncrypt",
			trust: filepath.Clean(`C:\pki\trusted`), timeout: 5 * time.Second}},
	} {
		got, err := parseTarget(mustTarget(t, tc.target))
		if err != nil {
			t.Errorf("%s: %v", tc.target, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.target, got, tc.want)
		}
	}
}

// badTargets are targets refused before any I/O, with what the error must say; they seed
// FuzzParseTarget.
var badTargets = []struct {
	target, want string
}{
	{"opc.tcp://h:4840?sekurity=None", `unknown parameter "sekurity"; expected one of security, mode`},
	{"opc.tcp://h:4840?security=Basic128Rsa15", `security="Basic128Rsa15"; expected None, Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss`},
	{"opc.tcp://h:4840?security=Aes256_Sha256", `security="Aes256_Sha256"; expected None, Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss`},
	{"opc.tcp://h:4840?user=op&password=hunter2", `parameter "password": a password never goes in the target`},
	{"opc.tcp://h:4840?user=op&pass=hunter2", `parameter "pass": a password never goes in the target`},
	{"opc.tcp://h:4840?user=", `"user" has no value`},
	{"opc.tcp://h:4840?user=op&password_env=1X", `password_env="1X"; expected the name of an environment variable`},
	{"opc.tcp://h:4840?user=op&password_env=A-B", `password_env="A-B"; expected the name of an environment variable`},
	{"opc.tcp://h:4840?password_file=pw", "password_file or password_env without user; expected user=NAME"},
	{"opc.tcp://h:4840?password_env=PW", "password_file or password_env without user; expected user=NAME"},
	{"opc.tcp://h:4840?user=op&password_file=pw&password_env=PW", "password_file and password_env both given; expected one of them"},
	{"opc.tcp://h:4840?user_cert=u.pem", "user_cert and user_key go together"},
	{"opc.tcp://h:4840?user_key=u.key", "user_cert and user_key go together"},
	{"opc.tcp://h:4840?user=op&user_cert=u.pem&user_key=u.key", "user and user_cert both given"},
	{"opc.tcp://h:4840?security=None&allow_insecure=1&user=op", "a user identity (user= or user_cert=) with security=None"},
	{"opc.tcp://h:4840?security=None&allow_insecure=1&user_cert=u&user_key=k", "a user identity (user= or user_cert=) with security=None"},
	{"opc.tcp://h:4840?mode=Encrypt", `mode="Encrypt"; expected None, Sign or SignAndEncrypt`},
	{"opc.tcp://h:4840?security=None", "add allow_insecure=1 to the target"},
	{"opc.tcp://h:4840?security=None&mode=Sign&allow_insecure=1", "security None has mode None only"},
	{"opc.tcp://h:4840?mode=None", "expected mode=Sign or mode=SignAndEncrypt"},
	{"opc.tcp://h:4840?allow_insecure=yes", `allow_insecure="yes"; expected 1 or 0`},
	{"opc.tcp://h:4840?timeout=0s", "a duration above zero"},
	{"opc.tcp://h:4840?timeout=5", "a duration above zero"},
	{"opc.tcp://h:4840?cert=c.der", "cert and key go together"},
	{"opc.tcp://h:4840?key=k.pem", "cert and key go together"},
	{"opc.tcp://h:4840?mode=Sign&mode=Sign", `"mode" given twice`},
	{"opc.tcp://h:4840?trust=", `"trust" has no value`},
	{"opc.tcp://h:4840?trust", `"trust" has no value`},
	{"opc.tcp://h:4840?trust=%zz", "query"},
	{"opc.tcp://user:pw@h:4840", "expected opc.tcp://host:port?user=NAME&password_file=FILE"},
	{"opc.tcp://h:4840#frag", `fragment "frag"`},
	{"opc.tcp://h:0", `port "0"`},
	{"opc.tcp://h:99999", `port "99999"`},
	{"opc.tcp://h", "expected host and port"},
	{"modbus://h:502", `scheme "modbus"`},
}

func TestBadTargets(t *testing.T) {
	for _, tc := range badTargets {
		_, err := parseTarget(mustTarget(t, tc.target))
		if !errors.Is(err, driver.ErrBadTarget) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrBadTarget saying %q", tc.target, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), ":pw@")) {
			t.Errorf("%s: %v: the error echoes the password", tc.target, err)
		}
	}
	// through the registry too, before any I/O
	tg, err := driver.ParseTarget("opc.tcp://127.0.0.1:1?security=None")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := driver.Open(context.Background(), tg, tankMap(t)); !errors.Is(err, driver.ErrBadTarget) {
		t.Errorf("driver.Open: %v", err)
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(driver.Schemes(), "opc.tcp") {
		t.Errorf("schemes %v; want opc.tcp registered", driver.Schemes())
	}
}

func TestUnreachable(t *testing.T) {
	// a port nothing listens on: connection refused, as ErrDisconnected
	ln := freePort(t)
	ctx := testContext(t)
	_, err := open(ctx, "opc.tcp://"+ln+"?trust="+url.QueryEscape(t.TempDir()), tankMap(t))
	if !errors.Is(err, driver.ErrDisconnected) || !strings.Contains(err.Error(), "get endpoints") {
		t.Errorf("open of a closed port: %v", err)
	}
	if _, err := (Driver{}).Open(ctx, mustTarget(t, "opc.tcp://"+ln), nil); err == nil || !strings.Contains(err.Error(), "no point map") {
		t.Errorf("open without a point map: %v", err)
	}
}

func TestStatusCodes(t *testing.T) {
	for st, code := range map[Status]ua.StatusCode{
		StatusBadNodeIDUnknown: ua.StatusBadNodeIDUnknown, StatusBadNotWritable: ua.StatusBadNotWritable,
		StatusBadTypeMismatch: ua.StatusBadTypeMismatch, StatusBadOutOfRange: ua.StatusBadOutOfRange,
		StatusBadDeviceFailure: ua.StatusBadDeviceFailure, StatusBadCommunicationError: ua.StatusBadCommunicationError,
		StatusBadTooManyOperations: ua.StatusBadTooManyOperations,
	} {
		if uint32(st) != uint32(code) {
			t.Errorf("%s is 0x%08X, gopcua says 0x%08X", st.Name(), uint32(st), uint32(code))
		}
	}
	if got := StatusBadDeviceFailure.Error(); got != "BadDeviceFailure (0x808B0000)" {
		t.Errorf("Error() = %q", got)
	}
	if Status(0x12345).Good() != true || StatusBadDeviceFailure.Good() || Status(0x40000000).Good() {
		t.Error("Good() wrong")
	}
	if got := Status(0x80FF0000).Name(); got != "0x80FF0000" {
		t.Errorf("unknown status name %q", got)
	}
}

func variantOf(t *testing.T, x any) *ua.Variant {
	t.Helper()
	v, err := ua.NewVariant(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValueFromVariant(t *testing.T) {
	for _, tc := range []struct {
		typ  point.Type
		x    any
		want point.Value
		err  string
	}{
		{point.TypeBool, true, point.Bool(true), ""},
		{point.TypeInt16, int16(-5), point.Int(-5), ""},
		{point.TypeInt32, int8(-7), point.Int(-7), ""},
		{point.TypeInt64, int64(math.MinInt64), point.Int(math.MinInt64), ""},
		{point.TypeUint16, uint16(65535), point.Uint(65535), ""},
		{point.TypeUint32, byte(200), point.Uint(200), ""},
		{point.TypeUint64, uint64(math.MaxUint64), point.Uint(math.MaxUint64), ""},
		{point.TypeFloat32, float32(62.5), point.Float(62.5), ""},
		{point.TypeFloat64, 0.1, point.Float(0.1), ""},
		{point.TypeString, "3.2.0", point.String("3.2.0"), ""},
		// numbers become the point's kind when exact
		{point.TypeUint32, int32(7), point.Uint(7), ""},
		{point.TypeInt32, uint32(7), point.Int(7), ""},
		{point.TypeFloat32, int16(3), point.Float(3), ""},
		{point.TypeUint16, float64(4), point.Uint(4), ""},
		{point.TypeUint32, int32(-1), point.Int(-1), "the server sends Int32 -1, which is not exactly a uint32"},
		{point.TypeInt64, 2.5, point.Float(2.5), "the server sends Double 2.5, which is not exactly a int64"},
		{point.TypeInt64, uint64(math.MaxUint64), point.Uint(math.MaxUint64), "not exactly a int64"},
		// other families are refused
		{point.TypeString, float32(1), point.Float(1), "the server sends a Float; the point map says string"},
		{point.TypeBool, uint16(1), point.Uint(1), "the server sends a UInt16; the point map says bool"},
		{point.TypeFloat32, "x", point.String("x"), "the server sends a String; the point map says float32"},
		{point.TypeFloat32, []float32{1, 2}, point.Value{}, "array of Float"},
		{point.TypeFloat32, time.Unix(0, 0), point.Value{}, "the server sends a DateTime"},
	} {
		got, err := value(tc.typ, variantOf(t, tc.x))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s from %T %v: error %v, want %q", tc.typ, tc.x, tc.x, err, tc.err)
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s from %T %v = %v (%s), want %v (%s)", tc.typ, tc.x, tc.x, got, got.Kind(), tc.want, tc.want.Kind())
		}
	}
}

func TestReadingOfDataValue(t *testing.T) {
	good := &ua.DataValue{EncodingMask: ua.DataValueValue, Value: variantOf(t, float32(1.5))}
	if r := reading(point.TypeFloat32, "L", good); r.Quality != driver.Good || !r.Value.Equal(point.Float(1.5)) || r.Err != nil {
		t.Errorf("good: %+v", r)
	}
	bad := &ua.DataValue{EncodingMask: ua.DataValueStatusCode, Status: ua.StatusBadDeviceFailure}
	if r := reading(point.TypeFloat32, "L (ns=2;s=L)", bad); r.Quality != driver.Bad || !errors.Is(r.Err, StatusBadDeviceFailure) ||
		r.Err.Error() != "L (ns=2;s=L): BadDeviceFailure (0x808B0000)" {
		t.Errorf("bad: %+v", r)
	}
	uncertain := &ua.DataValue{EncodingMask: ua.DataValueValue | ua.DataValueStatusCode, Status: ua.StatusUncertain, Value: variantOf(t, float32(2))}
	if r := reading(point.TypeFloat32, "L", uncertain); r.Quality != driver.Bad || !r.Value.Equal(point.Float(2)) {
		t.Errorf("uncertain: %+v; want Bad, with the value kept", r)
	}
	for _, dv := range []*ua.DataValue{nil, {}} {
		if r := reading(point.TypeFloat32, "L", dv); r.Quality != driver.Bad || !errors.Is(r.Err, errNoValue) {
			t.Errorf("no value: %+v", r)
		}
	}
}

func TestVariantOfValue(t *testing.T) {
	for _, tc := range []struct {
		typ    point.Type
		length int
		v      point.Value
		want   any
		err    string
	}{
		{point.TypeBool, 0, point.Bool(true), true, ""},
		{point.TypeBool, 0, point.Int(0), false, ""},
		{point.TypeBool, 0, point.Float(1), true, ""},
		{point.TypeBool, 0, point.Int(2), nil, "expected true, false, 0 or 1"},
		{point.TypeInt16, 0, point.Int(-32768), int16(-32768), ""},
		{point.TypeInt16, 0, point.Int(32768), nil, "32768 as int16"},
		{point.TypeUint16, 0, point.Float(7), uint16(7), ""},
		{point.TypeUint16, 0, point.Int(-1), nil, "-1 as uint16"},
		{point.TypeUint16, 0, point.Float(1.5), nil, "1.5 as uint16"},
		{point.TypeInt32, 0, point.Uint(math.MaxInt32), int32(math.MaxInt32), ""},
		{point.TypeUint32, 0, point.Uint(math.MaxUint32 + 1), nil, "as uint32"},
		{point.TypeInt64, 0, point.Int(math.MinInt64), int64(math.MinInt64), ""},
		{point.TypeInt64, 0, point.Uint(math.MaxUint64), nil, "as int64"},
		{point.TypeUint64, 0, point.Uint(math.MaxUint64), uint64(math.MaxUint64), ""},
		{point.TypeUint64, 0, point.Int(-1), nil, "as uint64"},
		{point.TypeFloat32, 0, point.Float(62.5), float32(62.5), ""},
		{point.TypeFloat32, 0, point.Int(3), float32(3), ""},
		{point.TypeFloat32, 0, point.Float(1e39), nil, "as float32"},
		{point.TypeFloat32, 0, point.Float(math.Inf(1)), float32(math.Inf(1)), ""},
		{point.TypeFloat64, 0, point.Float(1e300), 1e300, ""},
		{point.TypeString, 5, point.String("3.2.0"), "3.2.0", ""},
		{point.TypeString, 4, point.String("3.2.0"), nil, "longer than 4"},
		{point.TypeString, 0, point.Int(1), nil, "for a string point"},
		{point.TypeFloat32, 0, point.String("1"), nil, "for a float32 point"},
		{point.TypeFloat32, 0, point.Value{}, nil, "no value"},
	} {
		vr, err := variant(tc.typ, tc.length, tc.v)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s from %v: %v, want an error saying %q", tc.typ, tc.v, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s from %v: %v", tc.typ, tc.v, err)
			continue
		}
		if vr.Value() != tc.want {
			t.Errorf("%s from %v = %T %v, want %T %v", tc.typ, tc.v, vr.Value(), vr.Value(), tc.want, tc.want)
		}
		// and back
		if back, err := value(tc.typ, vr); err != nil || (tc.v.Kind() == tc.typ.Kind() && !back.Equal(tc.v)) {
			t.Errorf("%s round trip of %v: %v, %v", tc.typ, tc.v, back, err)
		}
	}
	// range errors are point.ErrRange
	if _, err := variant(point.TypeUint16, 0, point.Int(-1)); !errors.Is(err, point.ErrRange) {
		t.Errorf("range error %v", err)
	}
}

func TestOwnCertificate(t *testing.T) {
	p, err := newPKI(filepath.Join(t.TempDir(), "pki", "trusted"))
	if err != nil {
		t.Fatal(err)
	}
	o := options{}
	der, key, err := ownCertificate(o, p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.URIs) != 1 || c.URIs[0].String() != "urn:patchgate:client" || key.N.BitLen() != 2048 ||
		c.Subject.String() != c.Issuer.String() || c.NotAfter.Before(time.Now().AddDate(9, 0, 0)) {
		t.Errorf("certificate URIs %v, key %d bits, subject %s issuer %s, until %v", c.URIs, key.N.BitLen(), c.Subject, c.Issuer, c.NotAfter)
	}
	for _, f := range []string{"cert.der", "key.pem"} {
		fi, err := os.Stat(filepath.Join(filepath.Dir(p.trusted), "own", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "key.pem" && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("key file mode %v; want it private", fi.Mode())
		}
	}
	// made once: the second use loads the same pair
	der2, key2, err := ownCertificate(o, p)
	if err != nil || !bytes.Equal(der, der2) || !key.Equal(key2) {
		t.Errorf("second use: %v; a new pair was made", err)
	}
	// one of the pair missing is an error, not a silent new pair
	if err := os.Remove(filepath.Join(p.own, "key.pem")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ownCertificate(o, p); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("key missing: %v", err)
	}

	// cert= and key= name the pair: PEM certificate and PKCS#1 key here
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	der3, key3, err := ownCertificate(options{certFile: certFile, keyFile: keyFile}, p)
	if err != nil || !bytes.Equal(der3, der) || !key3.Equal(key) {
		t.Errorf("cert= and key=: %v", err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keyFile, x509.MarshalPKCS1PrivateKey(other), 0o600)
	if _, _, err := ownCertificate(options{certFile: certFile, keyFile: keyFile}, p); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("a key of another certificate: %v", err)
	}
	if _, _, err := ownCertificate(options{certFile: filepath.Join(dir, "none"), keyFile: keyFile}, p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing cert file: %v", err)
	}
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"SimPLC tank SIM-tank-00000001": "SimPLC tank SIM-tank-00000001",
		"a/b\\c:d*e":                    "a_b_c_d_e",
		"":                              "server",
		"..":                            "server",
		strings.Repeat("x", 100):        strings.Repeat("x", 64),
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// freePort is a 127.0.0.1 address nothing listens on (it did a moment ago).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// FuzzParseTarget: any URL either is refused with driver.ErrBadTarget or gives consistent
// options; nothing panics.
func FuzzParseTarget(f *testing.F) {
	for _, tc := range badTargets {
		f.Add(tc.target)
	}
	f.Add("opc.tcp://127.0.0.1:4840/UA/Server?mode=Sign&timeout=250ms&trust=%2Ftmp%2Ft")
	f.Add("opc.tcp://[::1]:4840?security=none&allow_insecure=1")
	f.Add("opc.tcp://h:1?security=Aes256_Sha256_RsaPss&mode=Sign&user=op&password_env=PW")
	f.Add("opc.tcp://h:1?security=Aes128_Sha256_RsaOaep&user_cert=u.pem&user_key=u.key")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		o, err := parseTarget(driver.Target{URL: u, Scheme: strings.ToLower(u.Scheme)})
		if err != nil {
			if !errors.Is(err, driver.ErrBadTarget) {
				t.Fatalf("%q: error %v does not wrap ErrBadTarget", s, err)
			}
			return
		}
		switch {
		case !strings.HasPrefix(o.url, "opc.tcp://") || strings.ContainsAny(o.url, "?#"):
			t.Fatalf("%q: url %q", s, o.url)
		case o.timeout <= 0:
			t.Fatalf("%q: timeout %v", s, o.timeout)
		case o.policy == PolicyNone && (o.mode != ModeNone || !o.allowInsecure):
			t.Fatalf("%q: None with mode %s, allow_insecure %v", s, o.mode, o.allowInsecure)
		case o.policy != PolicyNone && o.mode != ModeSign && o.mode != ModeSignAndEncrypt:
			t.Fatalf("%q: %s with mode %s", s, o.policy, o.mode)
		case o.policy != PolicyNone && o.policy != PolicyBasic256Sha256 && o.policy != PolicyAes128Sha256RsaOaep && o.policy != PolicyAes256Sha256RsaPss:
			t.Fatalf("%q: policy %q", s, o.policy)
		case o.tokenType() != ua.UserTokenTypeAnonymous && o.policy == PolicyNone:
			t.Fatalf("%q: a user identity over None", s)
		case o.user != "" && o.userCert != "", (o.userCert == "") != (o.userKey == ""):
			t.Fatalf("%q: user %q user_cert %q user_key %q", s, o.user, o.userCert, o.userKey)
		case (o.certFile == "") != (o.keyFile == ""):
			t.Fatalf("%q: cert %q key %q", s, o.certFile, o.keyFile)
		}
	})
}

// browsePaths seed FuzzRelativePath: a path, the namespace_uri, and the target names the
// translation must ask for ("" when the path is refused).
var browsePaths = []struct {
	path, uri, want string
}{
	{"Tank/Level", "urn:a", "2:Tank/2:Level"},
	{"/Tank/Level", "urn:a", "2:Tank/2:Level"},
	{"2:Tank/0:Level", "", "2:Tank/0:Level"},
	{"Server/ServerStatus", "", "0:Server/0:ServerStatus"},
	{"a:b/c", "urn:a", "2:a:b/2:c"},
	{"Tank/Level", "urn:nope", ""},
	{"3:Tank/Level", "urn:nope", ""},
	{"3:Tank/3:Level", "urn:nope", "3:Tank/3:Level"},
	{"", "urn:a", ""},
	{"/", "urn:a", ""},
	{"Tank//Level", "urn:a", ""},
	{"Tank/2:", "urn:a", ""},
}

func testNSIndex(uri string) (uint16, error) {
	if uri == "urn:a" {
		return 2, nil
	}
	return 0, errors.New("namespace " + uri + " is not on the server")
}

func relativePathString(rp *ua.RelativePath) string {
	var parts []string
	for _, el := range rp.Elements {
		parts = append(parts, strconv.Itoa(int(el.TargetName.NamespaceIndex))+":"+el.TargetName.Name)
	}
	return strings.Join(parts, "/")
}

func TestRelativePath(t *testing.T) {
	for _, tc := range browsePaths {
		rp, err := relativePath(tc.path, tc.uri, testNSIndex)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q in %q: %s; want an error", tc.path, tc.uri, relativePathString(rp))
		case tc.want != "" && err != nil:
			t.Errorf("%q in %q: %v", tc.path, tc.uri, err)
		case tc.want != "" && relativePathString(rp) != tc.want:
			t.Errorf("%q in %q: %s, want %s", tc.path, tc.uri, relativePathString(rp), tc.want)
		}
	}
}

func FuzzRelativePath(f *testing.F) {
	for _, tc := range browsePaths {
		f.Add(tc.path, tc.uri)
	}
	f.Fuzz(func(t *testing.T, path, uri string) {
		rp, err := relativePath(path, uri, testNSIndex)
		if err != nil {
			return
		}
		if len(rp.Elements) == 0 {
			t.Fatalf("%q: no elements and no error", path)
		}
		for _, el := range rp.Elements {
			if el.TargetName == nil || el.TargetName.Name == "" || !el.IncludeSubtypes || el.IsInverse {
				t.Fatalf("%q: element %+v", path, el)
			}
		}
	})
}

func TestDefaultTrustFolder(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // where os.UserConfigDir looks on Linux and BSDs
	cfg, err := os.UserConfigDir()
	if err != nil {
		t.Skipf("no user config dir here: %v", err)
	}
	p, err := newPKI("")
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(cfg, "patchgate", "pki")
	if p.trusted != filepath.Join(base, "trusted") || p.own != filepath.Join(base, "own") || p.rejected != filepath.Join(base, "rejected") {
		t.Errorf("pki %+v; want the folders under %s", p, base)
	}
}
