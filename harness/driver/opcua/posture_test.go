package opcua

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
)

// Against the station's OPC UA server with every endpoint (None, Basic256Sha256 Sign and
// SignAndEncrypt, anonymous): GetEndpoints and the certificate it generates, read by the
// driver over the wire; the server's port found open, a closed one refused.
func TestPostureAgainstStation(t *testing.T) {
	s := serve(t, newTank(t, "", true), opcuaserver.SecurityAll)
	c := dial(t, s, "", tankMap(t))
	_, port, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(port)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a port just freed: refused
	p, err := c.Posture(testContext(t), driver.PostureRequest{Ports: []int{n, closed}, Rate: 100, Timeout: time.Second})
	if err != nil || len(p.Errors) > 0 {
		t.Fatalf("%v %v", err, p.Errors)
	}
	for _, ps := range p.Ports {
		if want := map[bool]string{true: driver.PortOpen, false: driver.PortClosed}[ps.Port == n]; ps.State != want {
			t.Errorf("port %d %s, want %s", ps.Port, ps.State, want)
		}
	}
	got := map[string][]string{}
	for _, e := range p.OPCUA.Endpoints {
		got[e.Policy+"/"+e.Mode] = e.Tokens
	}
	for _, k := range []string{"None/None", "Basic256Sha256/Sign", "Basic256Sha256/SignAndEncrypt"} {
		if toks, ok := got[k]; !ok || len(toks) == 0 || toks[0] != "Anonymous" {
			t.Errorf("endpoint %s: tokens %v (present %v), want Anonymous; all %+v", k, toks, ok, p.OPCUA.Endpoints)
		}
	}
	if len(got) != 3 {
		t.Errorf("endpoints %+v, want 3", p.OPCUA.Endpoints)
	}
	cf := p.OPCUA.Certificate
	if cf == nil || cf.Key != "RSA" || cf.Bits != 2048 || cf.Signature != "SHA256-RSA" || !cf.NotAfter.After(cf.NotBefore.AddDate(9, 0, 0)) {
		t.Errorf("certificate %+v, want RSA 2048 SHA256-RSA for ten years", cf)
	}
}
