package opcua

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
)

func TestReadEveryTankPoint(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	for tag, v := range map[string]point.Value{
		"Setpoint": point.Float(62.5), "Mode": point.Uint(1), "Pump": point.Bool(true), "OutletValve": point.Bool(true),
	} {
		if err := c.Set(tag, v); err != nil {
			t.Fatal(err)
		}
	}
	s := serve(t, c, opcuaserver.SecurityAll)
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	before := conn.Stats()
	tags := pm.Tags()
	out := readTags(t, conn, tags...)
	for i, tag := range tags {
		want := mustGet(t, c, tag)
		if out[i].Quality != driver.Good || out[i].Err != nil {
			t.Errorf("%s: quality %s, err %v", tag, out[i].Quality, out[i].Err)
			continue
		}
		if !out[i].Value.Equal(want) {
			t.Errorf("%s = %v (%s), controller has %v (%s)", tag, out[i].Value, out[i].Value.Kind(), want, want.Kind())
		}
	}
	if got := out[6].Value.Text(); tags[6] != "Firmware" || got != "3.2.0" {
		t.Errorf("Firmware read %v", out[6].Value)
	}
	// fifteen points are one ReadRequest
	if st := conn.Stats(); st.Requests != before.Requests+1 || st.Errors != 0 || st.RoundTrip <= 0 {
		t.Errorf("stats after one read: %+v (before %+v), want one more request, no errors, a round trip", st, before)
	}
}

func TestWritesReachController(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	ctx := testContext(t)
	writes := []driver.Write{
		{Tag: "Pump", Value: point.Bool(true)},
		{Tag: "InletValve", Value: point.Uint(1)}, // 0 and 1 are bits too
		{Tag: "OutletValve", Value: point.Bool(true)},
		{Tag: "Mode", Value: point.Int(1)},
		{Tag: "Setpoint", Value: point.Float(71.25)},
	}
	if err := conn.Write(ctx, writes); err != nil {
		t.Fatal(err)
	}
	want := map[string]point.Value{
		"Pump": point.Bool(true), "InletValve": point.Bool(true), "OutletValve": point.Bool(true),
		"Mode": point.Uint(1), "Setpoint": point.Float(71.25),
	}
	for tag, w := range want {
		if got := mustGet(t, c, tag); !got.Equal(w) {
			t.Errorf("controller %s = %v, want %v", tag, got, w)
		}
	}
	// and read back over OPC UA
	out := readTags(t, conn, "Mode", "Setpoint", "Pump")
	if !out[0].Value.Equal(point.Uint(1)) || !out[1].Value.Equal(point.Float(71.25)) || !out[2].Value.Equal(point.Bool(true)) {
		t.Errorf("read back %v %v %v", out[0].Value, out[1].Value, out[2].Value)
	}

	// the controller refuses Mode 2 (0 manual, 1 auto): the error names tag, node and status,
	// and the writes after it are not made
	err := conn.Write(ctx, []driver.Write{{Tag: "Mode", Value: point.Uint(2)}, {Tag: "Pump", Value: point.Bool(false)}})
	if !errors.Is(err, StatusBadOutOfRange) || !strings.Contains(err.Error(), "Mode") || !strings.Contains(err.Error(), "ns=2;s=Tank.Mode") {
		t.Errorf("write Mode=2: %v; want BadOutOfRange naming Mode and its node", err)
	}
	var st Status
	if !errors.As(err, &st) || st.Name() != "BadOutOfRange" {
		t.Errorf("status of the refused write: %v (%q)", st, st.Name())
	}
	if got := mustGet(t, c, "Pump"); !got.Equal(point.Bool(true)) {
		t.Errorf("Pump = %v after a refused write before it; the write must not have been made", got)
	}
}

func TestWriteRefusedBeforeIO(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	conn := dial(t, s, "", tankMap(t))
	ctx := testContext(t)
	before := conn.Stats().Requests
	for _, tc := range []struct {
		name string
		ws   []driver.Write
		is   error
		msg  string
	}{
		{"read-only", []driver.Write{{Tag: "Level", Value: point.Float(3)}}, driver.ErrNotWritable, "Level"},
		{"read-only after a good one", []driver.Write{{Tag: "Pump", Value: point.Bool(true)}, {Tag: "AlarmHigh", Value: point.Bool(true)}},
			driver.ErrNotWritable, "AlarmHigh"},
		{"unknown tag", []driver.Write{{Tag: "Nope", Value: point.Bool(true)}}, nil, `write Nope: tag is not in point map "tank"`},
		{"out of range", []driver.Write{{Tag: "Mode", Value: point.Int(70000)}}, point.ErrRange, "uint16"},
		{"not whole", []driver.Write{{Tag: "Mode", Value: point.Float(0.5)}}, point.ErrRange, "Mode"},
		{"bool from 2", []driver.Write{{Tag: "Pump", Value: point.Uint(2)}}, point.ErrRange, "true, false, 0 or 1"},
		{"string for a number", []driver.Write{{Tag: "Setpoint", Value: point.String("50")}}, nil, "for a float32 point"},
		{"no value", []driver.Write{{Tag: "Setpoint"}}, nil, "no value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := conn.Write(ctx, tc.ws)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%v; want an error matching %v and saying %q", err, tc.is, tc.msg)
			}
		})
	}
	if n := conn.Stats().Requests; n != before {
		t.Errorf("%d requests for refused writes; want none", n-before)
	}
	if got := mustGet(t, c, "Pump"); !got.Equal(point.Bool(false)) {
		t.Errorf("Pump = %v: a write before a refused one was made", got)
	}
}

// namesMap names the same tank variables every way a point map can, and some that do not
// exist, to test resolution against the server.
const namesMap = `
version: 1
name: names
opcua: {namespace_uri: "urn:patchgate:sim:tank"}
points:
  - {tag: ByID, type: float32, opcua: {id: "ns=2;s=Tank.Level"}}
  - {tag: ByNSU, type: float32, opcua: {id: "nsu=urn:patchgate:sim:tank;s=Tank.Level"}}
  - {tag: ByIdentifier, type: float32, opcua: {identifier: Tank.Level}}
  - {tag: ByPath, type: float32, opcua: {browse_path: Tank/Level}}
  - {tag: ByIndexedPath, type: string, length: 16, opcua: {browse_path: "/2:Tank/2:Firmware"}}
  - {tag: ServerState, type: int32, opcua: {id: "i=2259"}}
  - {tag: UnknownID, type: float32, opcua: {identifier: Tank.Nope}}
  - {tag: UnknownNamespace, type: float32, opcua: {namespace_uri: "urn:nope", identifier: Tank.Level}}
  - {tag: UnknownPath, type: float32, opcua: {browse_path: Tank/Nope}}
  - {tag: WrongType, type: string, length: 16, opcua: {identifier: Tank.Level}}
  - {tag: Pump, type: bool, writable: true, opcua: {browse_path: Tank/Pump}}
  - {tag: Lost, type: bool, writable: true, opcua: {namespace_uri: "urn:nope", identifier: Tank.Pump}}
`

func TestResolution(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	if err := c.Set("Pump", point.Bool(true)); err != nil {
		t.Fatal(err)
	}
	s := serve(t, c, opcuaserver.SecurityAll)
	pm := parseMap(t, namesMap)
	conn := dial(t, s, "", pm)
	tags := pm.Tags()
	out := readTags(t, conn, tags...)
	level := mustGet(t, c, "Level")
	got := map[string]driver.Reading{}
	for i, tag := range tags {
		got[tag] = out[i]
	}
	for _, tag := range []string{"ByID", "ByNSU", "ByIdentifier", "ByPath"} {
		if r := got[tag]; r.Quality != driver.Good || !r.Value.Equal(level) {
			t.Errorf("%s: %s %v (%v); want Level %v", tag, r.Quality, r.Value, r.Err, level)
		}
	}
	if r := got["ByIndexedPath"]; r.Quality != driver.Good || r.Value.Text() != "3.2.0" {
		t.Errorf("ByIndexedPath: %s %v (%v)", r.Quality, r.Value, r.Err)
	}
	if r := got["ServerState"]; r.Quality != driver.Good || !r.Value.Equal(point.Int(0)) { // 0 is Running
		t.Errorf("ServerState: %s %v (%v)", r.Quality, r.Value, r.Err)
	}
	if r := got["Pump"]; r.Quality != driver.Good || !r.Value.Equal(point.Bool(true)) {
		t.Errorf("Pump by browse path: %s %v (%v)", r.Quality, r.Value, r.Err)
	}
	for tag, want := range map[string]string{
		"UnknownID":        "BadNodeIDUnknown",
		"UnknownNamespace": "namespace urn:nope is not on the server",
		"UnknownPath":      "browse_path Tank/Nope from Objects: BadNoMatch",
		"WrongType":        "the server sends a Float; the point map says string",
	} {
		if r := got[tag]; r.Quality != driver.Bad || r.Err == nil || !strings.Contains(r.Err.Error(), want) {
			t.Errorf("%s: %s %v; want Bad saying %q", tag, r.Quality, r.Err, want)
		}
	}
	if !errors.Is(got["UnknownID"].Err, StatusBadNodeIDUnknown) || !errors.Is(got["UnknownPath"].Err, errUnresolved) {
		t.Errorf("unknown node errors: %v / %v", got["UnknownID"].Err, got["UnknownPath"].Err)
	}

	idt, err := conn.Identity(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"node.ByID":          "ns=2;s=Tank.Level",
		"node.ByNSU":         "ns=2;s=Tank.Level",
		"node.ByIdentifier":  "ns=2;s=Tank.Level",
		"node.ByPath":        "ns=2;s=Tank.Level",
		"node.ByIndexedPath": "ns=2;s=Tank.Firmware",
		"node.ServerState":   "i=2259",
		"node.UnknownID":     "ns=2;s=Tank.Nope",
		"node.Pump":          "ns=2;s=Tank.Pump",
	} {
		if idt.Extra[key] != want {
			t.Errorf("Extra[%s] = %q, want %q", key, idt.Extra[key], want)
		}
	}
	for _, key := range []string{"node.UnknownNamespace", "node.UnknownPath", "node.Lost"} {
		if !strings.HasPrefix(idt.Extra[key], "unresolved: ") {
			t.Errorf("Extra[%s] = %q, want the reason it is unresolved", key, idt.Extra[key])
		}
	}

	// writes go to resolved nodes only, and to browse-path nodes too
	ctx := testContext(t)
	if err := conn.Write(ctx, []driver.Write{{Tag: "Pump", Value: point.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	if v := mustGet(t, c, "Pump"); !v.Equal(point.Bool(false)) {
		t.Errorf("Pump = %v after a write through its browse path", v)
	}
	before := conn.Stats().Requests
	if err := conn.Write(ctx, []driver.Write{{Tag: "Lost", Value: point.Bool(true)}}); !errors.Is(err, errUnresolved) {
		t.Errorf("write to an unresolved node: %v", err)
	}
	if conn.Stats().Requests != before {
		t.Error("a write to an unresolved node made a request")
	}
}

func TestInjectedExceptionsAreBad(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	c.SetFaults(fault.Set{Exceptions: 1})
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	if err := conn.Read(testContext(t), tags, out); err != nil {
		t.Fatalf("read under exceptions: %v; the request itself must succeed", err)
	}
	for i, r := range out {
		if r.Quality != driver.Bad || !errors.Is(r.Err, StatusBadDeviceFailure) || !strings.Contains(r.Err.Error(), tags[i]) {
			t.Errorf("%s: %s %v; want Bad BadDeviceFailure naming the tag", tags[i], r.Quality, r.Err)
		}
	}
	err := conn.Write(testContext(t), []driver.Write{{Tag: "Pump", Value: point.Bool(true)}})
	if !errors.Is(err, StatusBadDeviceFailure) {
		t.Errorf("write under exceptions: %v", err)
	}
	c.SetFaults(fault.Set{})
	if r := readTags(t, conn, "Level")[0]; r.Quality != driver.Good {
		t.Errorf("healthy again: %s %v", r.Quality, r.Err)
	}
}

func TestDropThenReconnect(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	pm := tankMap(t)
	conn := dial(t, s, "", pm)
	ctx := testContext(t)
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	if err := conn.Read(ctx, tags, out); err != nil {
		t.Fatal(err)
	}

	c.DropConnections()
	err := conn.Read(ctx, tags, out)
	if !errors.Is(err, driver.ErrDisconnected) {
		t.Fatalf("read after a drop: %v; want ErrDisconnected", err)
	}
	for i, r := range out {
		if r.Quality != driver.Missing || !errors.Is(r.Err, driver.ErrDisconnected) {
			t.Errorf("%s: %s %v; want Missing", tags[i], r.Quality, r.Err)
		}
	}
	// refused from now on, without I/O, until Reconnect
	before := conn.Stats().Requests
	for _, err := range []error{
		conn.Read(ctx, tags, out),
		conn.Write(ctx, []driver.Write{{Tag: "Pump", Value: point.Bool(true)}}),
		conn.Ping(ctx),
	} {
		if !errors.Is(err, driver.ErrDisconnected) || !strings.Contains(err.Error(), "reconnect first") {
			t.Errorf("on a broken connection: %v", err)
		}
	}
	if _, err := conn.Identity(ctx); !errors.Is(err, driver.ErrDisconnected) {
		t.Errorf("identity on a broken connection: %v", err)
	}
	if n := conn.Stats().Requests - before; n != 0 {
		t.Errorf("%d requests on a broken connection", n)
	}

	if err := conn.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := conn.Read(ctx, tags, out); err != nil {
		t.Fatalf("read after reconnect: %v", err)
	}
	for i, r := range out {
		if r.Quality != driver.Good {
			t.Errorf("%s after reconnect: %s %v", tags[i], r.Quality, r.Err)
		}
	}
	if err := conn.Ping(ctx); err != nil {
		t.Error(err)
	}
	if st := conn.Stats(); st.Reconnects != 1 {
		t.Errorf("stats %+v; want 1 reconnect", st)
	}
}

func TestRestartGapThenReconnect(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", false)
	s := serve(t, c, opcuaserver.SecurityAll)
	conn := dial(t, s, "", tankMap(t))
	ctx := testContext(t)
	c.SetFaults(fault.Set{RestartTime: 300 * time.Millisecond})
	c.Restart() // the server stops at once: connections cut, sessions gone
	out := make([]driver.Reading, 1)
	if err := conn.Read(ctx, []string{"ScanCount"}, out); !errors.Is(err, driver.ErrDisconnected) || out[0].Quality != driver.Missing {
		t.Fatalf("read during a restart: %v, %s", err, out[0].Quality)
	}
	// reconnect until the controller is back (polling its restart, not a readiness guess)
	var err error
	for err = conn.Reconnect(ctx); err != nil; err = conn.Reconnect(ctx) {
		if !errors.Is(err, driver.ErrDisconnected) {
			t.Fatalf("reconnect while restarting: %v; want ErrDisconnected", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("never came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := readTags(t, conn, "ScanCount")[0]; r.Quality != driver.Good {
		t.Errorf("after the restart: %s %v", r.Quality, r.Err)
	}
	if conn.Stats().Reconnects != 1 {
		t.Errorf("stats %+v", conn.Stats())
	}
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	for _, fw := range []string{"", "benign"} {
		t.Run("firmware "+fw, func(t *testing.T) {
			c := newTank(t, fw, true)
			s := serve(t, c, opcuaserver.SecurityAll)
			conn := dial(t, s, "", tankMap(t))
			idt, err := conn.Identity(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			want := c.Identity()
			if idt.Firmware != want.Firmware || idt.Vendor != want.Vendor || idt.Product != want.Product {
				t.Errorf("identity %+v; controller says %+v", idt, want)
			}
			if (fw == "" && idt.Firmware != "3.2.0") || (fw == "benign" && idt.Firmware != "3.2.1") {
				t.Errorf("firmware %q for profile %q", idt.Firmware, fw)
			}
			sha1, sha256 := thumbprints(s.Certificate())
			for k, v := range map[string]string{
				"security":                  "Basic256Sha256 SignAndEncrypt",
				"endpoint":                  s.URL(),
				"node.Level":                "ns=2;s=Tank.Level",
				"build_number":              want.Firmware,
				"max_nodes_per_read":        "32",
				"application_uri":           "urn:patchgate:device:" + want.Serial,
				"server_certificate_sha1":   sha1,
				"server_certificate_sha256": sha256,
			} {
				if idt.Extra[k] != v {
					t.Errorf("Extra[%s] = %q, want %q", k, idt.Extra[k], v)
				}
			}
		})
	}
}

func TestUntrustedServerRefusedThenTrusted(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	trust := newPKIDir(t, s, false)
	ctx := testContext(t)
	target := targetURL(s, trust, "")
	_, err := open(ctx, target, tankMap(t))
	var ue *UntrustedError
	if !errors.Is(err, ErrUntrusted) || !errors.As(err, &ue) {
		t.Fatalf("open with an untrusted server: %v; want ErrUntrusted", err)
	}
	sha1, sha256 := thumbprints(s.Certificate())
	msg := err.Error()
	for _, want := range []string{sha1, sha256, "SimPLC tank", ue.Rejected, ue.Trust, "moving that file to"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not say %q:\n%s", want, msg)
		}
	}
	if filepath.Dir(ue.Trust) != trust || filepath.Dir(ue.Rejected) != filepath.Join(filepath.Dir(trust), "rejected") ||
		filepath.Base(ue.Trust) != filepath.Base(ue.Rejected) || !strings.Contains(ue.Trust, "["+sha1+"].der") {
		t.Errorf("rejected %s, trust %s", ue.Rejected, ue.Trust)
	}
	saved, err := os.ReadFile(ue.Rejected)
	if err != nil || string(saved) != string(s.Certificate()) {
		t.Fatalf("rejected certificate: %v", err)
	}

	// the user does what the message says
	if err := os.Rename(ue.Rejected, ue.Trust); err != nil {
		t.Fatal(err)
	}
	conn, err := open(ctx, target, tankMap(t))
	if err != nil {
		t.Fatalf("open after trusting: %v", err)
	}
	closeAtCleanup(t, conn)
	if r := readTags(t, conn, "Firmware")[0]; r.Quality != driver.Good || r.Value.Text() != "3.2.0" {
		t.Errorf("Firmware: %s %v %v", r.Quality, r.Value, r.Err)
	}

	// a server whose certificate changed (a patch made a new one) is refused at Reconnect,
	// and the connection stays refused until it is trusted
	other := serve(t, c, opcuaserver.SecurityAll)
	conn.opt.url, conn.target = other.URL(), other.URL()
	if err := conn.Reconnect(ctx); !errors.Is(err, ErrUntrusted) {
		t.Errorf("reconnect to a server with another certificate: %v; want ErrUntrusted", err)
	}
	if err := conn.Read(ctx, []string{"Level"}, make([]driver.Reading, 1)); !errors.Is(err, driver.ErrDisconnected) {
		t.Errorf("read after a refused reconnect: %v", err)
	}

	// a PEM copy in the trust folder is trusted as well
	trust2 := newPKIDir(t, s, false)
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate()})
	if err := os.WriteFile(filepath.Join(trust2, "server.pem"), pemCert, 0o600); err != nil {
		t.Fatal(err)
	}
	conn2, err := open(ctx, targetURL(s, trust2, ""), tankMap(t))
	if err != nil {
		t.Fatalf("open with a PEM trust file: %v", err)
	}
	closeAtCleanup(t, conn2)
}

func TestSecurityModes(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	for _, tc := range []struct {
		query, security string
	}{
		{"security=Basic256Sha256&mode=Sign", "Basic256Sha256 Sign"},
		{"security=Basic256Sha256&mode=SignAndEncrypt", "Basic256Sha256 SignAndEncrypt"},
		{"mode=sign", "Basic256Sha256 Sign"},
		{"security=None&allow_insecure=1", "None (insecure, allowed by allow_insecure=1)"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			conn := dial(t, s, tc.query, tankMap(t))
			if r := readTags(t, conn, "Firmware")[0]; r.Quality != driver.Good || r.Value.Text() != "3.2.0" {
				t.Errorf("Firmware: %s %v %v", r.Quality, r.Value, r.Err)
			}
			idt, err := conn.Identity(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			if idt.Extra["security"] != tc.security {
				t.Errorf("security %q, want %q", idt.Extra["security"], tc.security)
			}
		})
	}

	// None needs allow_insecure, and says how
	_, err := open(testContext(t), targetURL(s, t.TempDir(), "security=None"), tankMap(t))
	if !errors.Is(err, driver.ErrBadTarget) || !strings.Contains(err.Error(), "allow_insecure=1") {
		t.Errorf("None without allow_insecure: %v", err)
	}

	// a server that offers Sign only refuses SignAndEncrypt, naming what it offers
	sign := serve(t, c, opcuaserver.SecuritySign)
	_, err = open(testContext(t), targetURL(sign, newPKIDir(t, sign, true), ""), tankMap(t))
	if err == nil || !strings.Contains(err.Error(), "no endpoint with security Basic256Sha256 mode SignAndEncrypt") ||
		!strings.Contains(err.Error(), "it offers Basic256Sha256 Sign") {
		t.Errorf("SignAndEncrypt against a Sign-only server: %v", err)
	}
}

// bigMap reads the tank's variables 40 times over: more nodes than the server's
// MaxNodesPerRead (32), which it refuses in one request with BadTooManyOperations.
func bigMap(t *testing.T) *point.Map {
	var b strings.Builder
	b.WriteString("version: 1\nname: big\nopcua: {namespace_uri: \"urn:patchgate:sim:tank\"}\npoints:\n")
	for i := 0; i < 40; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "  - {tag: Level%d, type: float32, opcua: {identifier: Tank.Level}}\n", i)
		} else {
			fmt.Fprintf(&b, "  - {tag: Scan%d, type: uint32, opcua: {identifier: Tank.ScanCount}}\n", i)
		}
	}
	return parseMap(t, b.String())
}

func TestReadIsCutAtMaxNodesPerRead(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	pm := bigMap(t)
	conn := dial(t, s, "", pm)
	if conn.maxRead != 32 {
		t.Errorf("MaxNodesPerRead %d; the simulated server says 32", conn.maxRead)
	}
	tags := pm.Tags()
	before := conn.Stats().Requests
	out := readTags(t, conn, tags...)
	level, scans := mustGet(t, c, "Level"), mustGet(t, c, "ScanCount")
	for i, r := range out {
		want := level
		if i%2 == 1 {
			want = scans
		}
		if r.Quality != driver.Good || !r.Value.Equal(want) {
			t.Errorf("%s: %s %v (%v), want %v", tags[i], r.Quality, r.Value, r.Err, want)
		}
	}
	if n := conn.Stats().Requests - before; n != 2 {
		t.Errorf("%d requests for 40 nodes; want 2 (32 + 8)", n)
	}

	// a server that refuses a whole request makes its items Bad, not the connection broken
	conn.maxRead = 64
	conn.plans = planCache{}
	out = make([]driver.Reading, len(tags))
	if err := conn.Read(testContext(t), tags, out); err != nil {
		t.Fatalf("read of 40 nodes in one request: %v; want the items Bad", err)
	}
	for i, r := range out {
		if r.Quality != driver.Bad || !errors.Is(r.Err, StatusBadTooManyOperations) {
			t.Errorf("%s: %s %v; want Bad BadTooManyOperations", tags[i], r.Quality, r.Err)
		}
	}
	if err := conn.Ping(testContext(t)); err != nil {
		t.Errorf("ping after a refused request: %v", err)
	}
}

func TestReadRefusesBadTagListBeforeIO(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	conn := dial(t, s, "", parseMap(t, `
version: 1
name: mixed
points:
  - {tag: Level, type: float32, opcua: {id: "ns=2;s=Tank.Level"}}
  - {tag: Coil, type: bool, modbus: {register: coil, address: 0}}
`))
	before := conn.Stats().Requests
	ctx := testContext(t)
	for tags, want := range map[string]string{
		"Level Nope": `tag "Nope" is not in point map "mixed"`,
		"Level Coil": `tag "Coil" has no opcua address`,
	} {
		out := make([]driver.Reading, 2)
		err := conn.Read(ctx, strings.Fields(tags), out)
		if err == nil || !strings.Contains(err.Error(), want) || out[0].Quality != driver.Missing {
			t.Errorf("read %s: %v, %s", tags, err, out[0].Quality)
		}
	}
	if err := conn.Read(ctx, []string{"Level", "Level"}, make([]driver.Reading, 1)); err == nil {
		t.Error("read of 2 tags into 1 reading succeeded")
	}
	if n := conn.Stats().Requests - before; n != 0 {
		t.Errorf("%d requests for refused tag lists", n)
	}
	if r := readTags(t, conn, "Level")[0]; r.Quality != driver.Good {
		t.Errorf("Level: %s %v", r.Quality, r.Err)
	}
}

func TestContextEndsARead(t *testing.T) {
	c := newTank(t, "", false) // latency is waited on the controller's clock: a real one
	s := serve(t, c, opcuaserver.SecurityAll)
	conn := dial(t, s, "", tankMap(t))
	out := make([]driver.Reading, 1)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := conn.Read(ctx, []string{"Level"}, out); !errors.Is(err, context.Canceled) || errors.Is(err, driver.ErrDisconnected) ||
		out[0].Quality != driver.Missing {
		t.Errorf("read with a cancelled context: %v, %s", err, out[0].Quality)
	}

	// a deadline shorter than the device's latency: the read is abandoned at the deadline,
	// and the session stays usable
	c.SetFaults(fault.Set{Latency: 500 * time.Millisecond})
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := conn.Read(ctx, []string{"Level"}, out)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 400*time.Millisecond {
		t.Errorf("read past its deadline: %v after %v", err, time.Since(start))
	}
	c.SetFaults(fault.Set{})
	if r := readTags(t, conn, "Level")[0]; r.Quality != driver.Good {
		t.Errorf("after an abandoned read: %s %v", r.Quality, r.Err)
	}
	if st := conn.Stats(); st.Timeouts != 1 || st.Errors != 2 {
		t.Errorf("stats %+v; want 2 errors, 1 of them a timeout", st)
	}
}

func TestTimeoutIsDisconnected(t *testing.T) {
	c := newTank(t, "", false) // the stall is waited on the controller's clock: a real one
	s := serve(t, c, opcuaserver.SecurityAll)
	conn := dial(t, s, "timeout=300ms", tankMap(t))
	c.SetFaults(fault.Set{Stall: time.Second}) // longer than 300 ms and gopcua's 250 ms leniency
	out := make([]driver.Reading, 1)
	err := conn.Read(testContext(t), []string{"Level"}, out)
	if !errors.Is(err, driver.ErrDisconnected) || !errors.Is(err, ErrTimeout) || out[0].Quality != driver.Missing {
		t.Errorf("read of a stalled device: %v, %s; want ErrDisconnected and ErrTimeout, Missing", err, out[0].Quality)
	}
	if st := conn.Stats(); st.Timeouts != 1 {
		t.Errorf("stats %+v; want a timeout", st)
	}
	// the session survives a timeout: once the device answers again, reads work
	c.SetFaults(fault.Set{})
	ctx := testContext(t)
	var r driver.Reading
	for {
		if err := conn.Read(ctx, []string{"Level"}, out); err == nil {
			r = out[0]
			break
		} else if !errors.Is(err, ErrTimeout) {
			t.Fatalf("read after the stall: %v", err)
		}
	}
	if r.Quality != driver.Good {
		t.Errorf("after the stall: %s %v", r.Quality, r.Err)
	}
}

func TestPingAndStats(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	conn := dial(t, s, "", tankMap(t))
	ctx := testContext(t)
	before := conn.Stats()
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// a ping touches no point: it is answered even while the controller refuses
	c.SetFaults(fault.Set{Exceptions: 1})
	if err := conn.Ping(ctx); err != nil {
		t.Errorf("ping under exceptions: %v", err)
	}
	st := conn.Stats()
	if st.Requests != before.Requests+2 || st.Errors != 0 || st.RoundTrip <= 0 || st.RoundTrip > 10*time.Second {
		t.Errorf("stats %+v after two pings (before %+v)", st, before)
	}
}

func TestBrowsePathsResolvedInBatches(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	var b strings.Builder
	b.WriteString("version: 1\nname: paths\nopcua: {namespace_uri: \"urn:patchgate:sim:tank\"}\npoints:\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "  - {tag: Level%d, type: float32, opcua: {browse_path: Tank/Level}}\n", i)
	}
	pm := parseMap(t, b.String())
	conn := dial(t, s, "", pm)
	// at Open: one read of MaxNodesPerRead, then the 40 paths in requests of 32 and 8
	if n := conn.Stats().Requests; n != 3 {
		t.Errorf("%d requests to open; want 3", n)
	}
	out := readTags(t, conn, pm.Tags()...)
	for i, r := range out {
		if r.Quality != driver.Good || !r.Value.Equal(mustGet(t, c, "Level")) {
			t.Errorf("%s: %s %v %v", pm.Tags()[i], r.Quality, r.Value, r.Err)
		}
	}
}
