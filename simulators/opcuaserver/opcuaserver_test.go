package opcuaserver

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uacp"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/plant"
	"github.com/patchgate/patchgate/simulators/plc"
)

// TestMain fails the package if any goroutine of gopcua or of this package outlives the
// tests: every server and client a test starts must be closed, and Close must wait.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := noLeaks(5 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// leaked lists the goroutines, other than the caller, running code of gopcua or of this
// package.
func leaked() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*M).Run") {
			continue // the caller and the tests
		}
		if strings.Contains(g, "github.com/gopcua/opcua") || strings.Contains(g, "simulators/opcuaserver.") {
			out = append(out, g)
		}
	}
	return out
}

// noLeaks polls until no goroutine of gopcua or this package is left, or the timeout.
func noLeaks(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		l := leaked()
		if len(l) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutines leaked:\n\n%s", len(l), strings.Join(l, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newController(t testing.TB, fw string) *plc.Controller {
	t.Helper()
	c, err := plc.New("tank", fw, plc.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

func startServer(t testing.TB, c *plc.Controller, cfg Config) *Server {
	t.Helper()
	s, err := Start(testContext(t), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func connect(t testing.TB, ctx context.Context, url string, opts ...opcua.Option) *opcua.Client {
	t.Helper()
	cl, err := dial(ctx, url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(context.Background()) })
	return cl
}

func dial(ctx context.Context, url string, opts ...opcua.Option) (*opcua.Client, error) {
	opts = append([]opcua.Option{opcua.AutoReconnect(false), opcua.RequestTimeout(10 * time.Second)}, opts...)
	cl, err := opcua.NewClient(url, opts...)
	if err != nil {
		return nil, err
	}
	if err := cl.Connect(ctx); err != nil {
		return nil, err
	}
	return cl, nil
}

// tankNodes are the node ids of the tank's point map, by tag.
func tankNodes(t testing.TB, c *plc.Controller) map[string]*ua.NodeID {
	t.Helper()
	out := map[string]*ua.NodeID{}
	for _, p := range c.Points().Points {
		if p.OPCUA == nil {
			continue
		}
		if p.OPCUA.NamespaceURI != "urn:patchgate:sim:tank" {
			t.Fatalf("%s: namespace %q", p.Tag, p.OPCUA.NamespaceURI)
		}
		out[p.Tag] = ua.MustParseNodeID("ns=2;" + p.OPCUA.Identifier)
	}
	if len(out) == 0 {
		t.Fatal("no opcua points in the tank map")
	}
	return out
}

func readValues(t testing.TB, ctx context.Context, cl *opcua.Client, ids ...*ua.NodeID) []*ua.DataValue {
	t.Helper()
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnBoth}
	for _, n := range ids {
		req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: n, AttributeID: ua.AttributeIDValue})
	}
	res, err := cl.Read(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != len(ids) {
		t.Fatalf("%d results for %d nodes", len(res.Results), len(ids))
	}
	return res.Results
}

func writeValue(t testing.TB, ctx context.Context, cl *opcua.Client, n *ua.NodeID, attr ua.AttributeID, x any) ua.StatusCode {
	t.Helper()
	v, err := ua.NewVariant(x)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID: n, AttributeID: attr, Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: v},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Results[0]
}

func browse(t testing.TB, ctx context.Context, cl *opcua.Client, n *ua.NodeID, refType uint32, mask ua.NodeClass) []*ua.ReferenceDescription {
	t.Helper()
	refs, err := cl.Node(n).References(ctx, refType, ua.BrowseDirectionForward, mask, true)
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func TestBrowseFindsEveryPoint(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	cl := connect(t, ctx, s.URL())

	idx, err := cl.FindNamespace(ctx, "urn:patchgate:sim:tank")
	if err != nil || idx != 2 {
		t.Fatalf("namespace urn:patchgate:sim:tank at %d (%v); want 2", idx, err)
	}

	var folder *ua.NodeID
	for _, r := range browse(t, ctx, cl, ua.NewNumericNodeID(0, id.ObjectsFolder), id.HierarchicalReferences, ua.NodeClassObject) {
		if r.BrowseName.Name == "Tank" && r.BrowseName.NamespaceIndex == 2 {
			folder = r.NodeID.NodeID
			if r.TypeDefinition.NodeID.IntID() != id.FolderType {
				t.Errorf("Tank type definition %s; want FolderType", r.TypeDefinition)
			}
		}
	}
	if folder == nil || folder.String() != "ns=2;s=Tank" {
		t.Fatalf("Objects has no Tank folder (got %v)", folder)
	}

	want := tankNodes(t, c)
	got := map[string]*ua.NodeID{}
	for _, r := range browse(t, ctx, cl, folder, id.HierarchicalReferences, ua.NodeClassVariable) {
		if r.NodeClass != ua.NodeClassVariable || r.TypeDefinition.NodeID.IntID() != id.BaseDataVariableType {
			t.Errorf("%s: class %s, type definition %s", r.BrowseName.Name, r.NodeClass, r.TypeDefinition)
		}
		got[r.BrowseName.Name] = r.NodeID.NodeID
	}
	if len(got) != len(want) {
		t.Errorf("browsed %d variables, point map has %d", len(got), len(want))
	}
	for tag, n := range want {
		if g := got[tag]; g == nil || g.String() != n.String() {
			t.Errorf("%s: browsed %v, want %s", tag, g, n)
		}
	}

	// the variables' attributes say their type and whether they are writable
	for _, p := range c.Points().Points {
		n := want[p.Tag]
		dvs, err := cl.Node(n).Attributes(ctx, ua.AttributeIDDataType, ua.AttributeIDAccessLevel,
			ua.AttributeIDUserAccessLevel, ua.AttributeIDValueRank, ua.AttributeIDNodeClass, ua.AttributeIDBrowseName)
		if err != nil {
			t.Fatal(err)
		}
		for i, dv := range dvs {
			if dv.Status != ua.StatusOK {
				t.Fatalf("%s attribute %d: %s", p.Tag, i, dv.Status)
			}
		}
		dt := dvs[0].Value.Value().(*ua.NodeID)
		if dt.IntID() != uint32(uaTypes[p.Type]) {
			t.Errorf("%s: DataType %s for %s", p.Tag, dt, p.Type)
		}
		wantAccess := byte(ua.AccessLevelTypeCurrentRead)
		if p.Writable {
			wantAccess |= byte(ua.AccessLevelTypeCurrentWrite)
		}
		if a := dvs[1].Value.Value().(byte); a != wantAccess {
			t.Errorf("%s: AccessLevel %#x, want %#x", p.Tag, a, wantAccess)
		}
		if a := dvs[2].Value.Value().(byte); a != wantAccess {
			t.Errorf("%s: UserAccessLevel %#x, want %#x", p.Tag, a, wantAccess)
		}
		if r := dvs[3].Value.Value().(int32); r != -1 {
			t.Errorf("%s: ValueRank %d", p.Tag, r)
		}
		if nc := dvs[4].Value.Value().(int32); ua.NodeClass(nc) != ua.NodeClassVariable {
			t.Errorf("%s: NodeClass %d", p.Tag, nc)
		}
		if bn := dvs[5].Value.Value().(*ua.QualifiedName); bn.Name != p.Tag || bn.NamespaceIndex != 2 {
			t.Errorf("%s: BrowseName %v", p.Tag, bn)
		}
	}

	// a browse path resolves too (Objects/Tank/Level)
	n, err := cl.Node(ua.NewNumericNodeID(0, id.ObjectsFolder)).TranslateBrowsePathInNamespaceToNodeID(ctx, 2, "Tank.Level")
	if err != nil || n.String() != "ns=2;s=Tank.Level" {
		t.Errorf("browse path Tank/Level: %v, %v", n, err)
	}
}

// expected is what an OPC UA read of a point must return for the controller value.
func expected(t testing.TB, typ point.Type, v point.Value) any {
	t.Helper()
	switch typ {
	case point.TypeBool:
		return v.Bool()
	case point.TypeUint16:
		u, _ := v.Uint64()
		return uint16(u)
	case point.TypeUint32:
		u, _ := v.Uint64()
		return uint32(u)
	case point.TypeFloat32:
		return float32(v.Float())
	case point.TypeString:
		return v.Text()
	}
	t.Fatalf("type %s not in the tank map", typ)
	return nil
}

func TestReadEveryPoint(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	cl := connect(t, ctx, s.URL())
	if err := c.Set("Setpoint", point.Float(61.25)); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("Pump", point.Bool(true)); err != nil {
		t.Fatal(err)
	}
	c.Close() // the image changes every scan: stop scanning so that reads and Get agree

	nodes := tankNodes(t, c)
	pts := c.Points().Points
	ids := make([]*ua.NodeID, len(pts))
	for i, p := range pts {
		ids[i] = nodes[p.Tag]
	}
	dvs := readValues(t, ctx, cl, ids...)
	for i, p := range pts {
		dv := dvs[i]
		if dv.Status != ua.StatusOK {
			t.Errorf("%s: %s", p.Tag, dv.Status)
			continue
		}
		v, err := c.Get(p.Tag)
		if err != nil {
			t.Fatal(err)
		}
		want := expected(t, p.Type, v)
		if got := dv.Value.Value(); got != want {
			t.Errorf("%s: read %v (%T), controller has %v (%T)", p.Tag, got, got, want, want)
		}
		if dv.SourceTimestamp.IsZero() || dv.ServerTimestamp.IsZero() {
			t.Errorf("%s: timestamps %v %v", p.Tag, dv.SourceTimestamp, dv.ServerTimestamp)
		}
	}
	if fw := dvs[slices.IndexFunc(pts, func(p point.Point) bool { return p.Tag == "Firmware" })].Value.Value(); fw != c.Identity().Firmware {
		t.Errorf("Firmware tag %v", fw)
	}
}

func TestWrite(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	cl := connect(t, ctx, s.URL())
	nodes := tankNodes(t, c)

	ok := []struct {
		tag  string
		x    any
		want point.Value
	}{
		{"Setpoint", float32(42.5), point.Float(42.5)},
		// the valve before Mode: in auto (1) the controller drives the valve itself, so a
		// scan between the write and the read back could undo it (it failed CI once)
		{"InletValve", true, point.Bool(true)},
		{"Mode", uint16(1), point.Uint(1)},
	}
	for _, tc := range ok {
		if st := writeValue(t, ctx, cl, nodes[tc.tag], ua.AttributeIDValue, tc.x); st != ua.StatusOK {
			t.Errorf("write %s = %v: %s", tc.tag, tc.x, st)
			continue
		}
		if got, _ := c.Get(tc.tag); !got.Equal(tc.want) {
			t.Errorf("after writing %s = %v the controller has %s", tc.tag, tc.x, got)
		}
	}

	refused := []struct {
		name string
		node *ua.NodeID
		attr ua.AttributeID
		x    any
		want ua.StatusCode
	}{
		{"double to a float", nodes["Setpoint"], ua.AttributeIDValue, 42.5, ua.StatusBadTypeMismatch},
		{"int32 to a uint16", nodes["Mode"], ua.AttributeIDValue, int32(1), ua.StatusBadTypeMismatch},
		{"string to a bool", nodes["Pump"], ua.AttributeIDValue, "true", ua.StatusBadTypeMismatch},
		{"read-only", nodes["Level"], ua.AttributeIDValue, float32(10), ua.StatusBadNotWritable},
		{"read-only bool", nodes["AlarmHigh"], ua.AttributeIDValue, true, ua.StatusBadNotWritable},
		{"out of range", nodes["Setpoint"], ua.AttributeIDValue, float32(150), ua.StatusBadOutOfRange},
		{"mode 7", nodes["Mode"], ua.AttributeIDValue, uint16(7), ua.StatusBadOutOfRange},
		{"display name", nodes["Setpoint"], ua.AttributeIDDisplayName, &ua.LocalizedText{Text: "x"}, ua.StatusBadNotWritable},
		{"the folder", ua.NewStringNodeID(2, "Tank"), ua.AttributeIDValue, int32(1), ua.StatusBadNotWritable},
		{"unknown node", ua.NewStringNodeID(2, "Tank.Nope"), ua.AttributeIDValue, int32(1), ua.StatusBadNodeIDUnknown},
		{"server status", ua.NewNumericNodeID(0, id.Server_ServerStatus_BuildInfo_SoftwareVersion), ua.AttributeIDValue, "9.9.9", ua.StatusBadNotWritable},
	}
	for _, tc := range refused {
		if st := writeValue(t, ctx, cl, tc.node, tc.attr, tc.x); st != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, st, tc.want)
		}
	}
	if got, _ := c.Get("Setpoint"); !got.Equal(point.Float(42.5)) {
		t.Errorf("refused writes changed Setpoint to %s", got)
	}
	if v := readValues(t, ctx, cl, ua.NewNumericNodeID(0, id.Server_ServerStatus_BuildInfo_SoftwareVersion))[0]; v.Value.Value() != c.Identity().Firmware {
		t.Errorf("SoftwareVersion written: %v", v.Value.Value())
	}
}

func TestBuildInfo(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "benign") // not the baseline: the version must come from the controller
	s := startServer(t, c, Config{})
	cl := connect(t, ctx, s.URL())
	idt := c.Identity()
	if idt.Firmware != "3.2.1" {
		t.Fatalf("benign tank firmware %q", idt.Firmware)
	}

	want := map[uint32]string{
		id.Server_ServerStatus_BuildInfo_SoftwareVersion:  idt.Firmware, // ns=0;i=2264
		id.Server_ServerStatus_BuildInfo_BuildNumber:      idt.Firmware,
		id.Server_ServerStatus_BuildInfo_ManufacturerName: idt.Vendor,
		id.Server_ServerStatus_BuildInfo_ProductName:      idt.Product,
	}
	for n, w := range want {
		dv := readValues(t, ctx, cl, ua.NewNumericNodeID(0, n))[0]
		if dv.Status != ua.StatusOK || dv.Value.Value() != w {
			t.Errorf("i=%d: %v (%s), want %q", n, dv.Value.Value(), dv.Status, w)
		}
	}
	for _, n := range []uint32{id.Server_ServerStatus, id.Server_ServerStatus_BuildInfo} {
		dv := readValues(t, ctx, cl, ua.NewNumericNodeID(0, n))[0]
		eo, ok := dv.Value.Value().(*ua.ExtensionObject)
		if !ok {
			t.Fatalf("i=%d: %T", n, dv.Value.Value())
		}
		var bi *ua.BuildInfo
		switch v := eo.Value.(type) {
		case *ua.ServerStatusDataType:
			bi = v.BuildInfo
			if v.State != ua.ServerStateRunning {
				t.Errorf("server state %s", v.State)
			}
		case *ua.BuildInfo:
			bi = v
		}
		if bi == nil || bi.SoftwareVersion != idt.Firmware || bi.ManufacturerName != idt.Vendor || bi.ProductName != idt.Product {
			t.Errorf("i=%d: build info %+v", n, bi)
		}
	}
}

func clientCert(t testing.TB) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	der, key, err := newCertificate("urn:patchgate:test:client", "patchgate tests", "test client", []string{"localhost"}, CertSpec{})
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func TestSecurity(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	if strings.HasSuffix(s.URL(), ":0") || !strings.HasPrefix(s.URL(), "opc.tcp://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL())
	}
	eps, err := opcua.GetEndpoints(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 3 {
		t.Errorf("%d endpoints, want None, Sign and SignAndEncrypt", len(eps))
	}
	for _, ep := range eps {
		if ep.EndpointURL != s.URL() {
			t.Errorf("endpoint advertises %s, server listens on %s", ep.EndpointURL, s.URL())
		}
		if string(ep.ServerCertificate) != string(s.Certificate()) {
			t.Errorf("endpoint %s %s: another certificate", ep.SecurityPolicyURI, ep.SecurityMode)
		}
	}
	cert, key := clientCert(t)
	for _, tc := range []struct {
		policy string
		mode   ua.MessageSecurityMode
	}{
		{ua.SecurityPolicyURINone, ua.MessageSecurityModeNone},
		{ua.SecurityPolicyURIBasic256Sha256, ua.MessageSecurityModeSign},
		{ua.SecurityPolicyURIBasic256Sha256, ua.MessageSecurityModeSignAndEncrypt},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ep, err := opcua.SelectEndpoint(eps, tc.policy, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			cl := connect(t, ctx, ep.EndpointURL,
				opcua.SecurityFromEndpoint(ep, ua.UserTokenTypeAnonymous),
				opcua.RemoteCertificate(s.Certificate()), // pinned
				opcua.Certificate(cert), opcua.PrivateKey(key))
			dv := readValues(t, ctx, cl, ua.NewStringNodeID(2, "Tank.Firmware"))[0]
			if dv.Status != ua.StatusOK || dv.Value.Value() != c.Identity().Firmware {
				t.Errorf("Firmware: %v %s", dv.Value.Value(), dv.Status)
			}
		})
	}

	// the application URI of the server is in its certificate
	x, err := x509.ParseCertificate(s.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	if len(x.URIs) != 1 || x.URIs[0].String() != s.appURI || !slices.ContainsFunc(x.IPAddresses, net.IPv4(127, 0, 0, 1).Equal) ||
		!slices.Contains(x.DNSNames, "localhost") || x.PublicKey.(*rsa.PublicKey).N.BitLen() != 2048 {
		t.Errorf("certificate URIs %v IPs %v DNS %v", x.URIs, x.IPAddresses, x.DNSNames)
	}
}

// TestSecurityEnforced: a server offers only its configured endpoints, and a client that
// opens a session any other way is refused (discovery over None always works).
func TestSecurityEnforced(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	cert, key := clientCert(t)
	modes := []struct {
		policy string
		mode   ua.MessageSecurityMode
	}{
		{ua.SecurityPolicyURINone, ua.MessageSecurityModeNone},
		{ua.SecurityPolicyURIBasic256Sha256, ua.MessageSecurityModeSign},
		{ua.SecurityPolicyURIBasic256Sha256, ua.MessageSecurityModeSignAndEncrypt},
	}
	for _, sec := range []Security{SecurityNone, SecuritySign, SecurityEncrypt} {
		t.Run(sec.String(), func(t *testing.T) {
			s := startServer(t, c, Config{Security: sec})
			eps, err := opcua.GetEndpoints(ctx, s.URL())
			if err != nil {
				t.Fatal(err)
			}
			offered := modes[int(sec)-1]
			if len(eps) != 1 || eps[0].SecurityPolicyURI != offered.policy || eps[0].SecurityMode != offered.mode {
				t.Fatalf("%d endpoints; want %s %s only", len(eps), offered.policy, offered.mode)
			}
			for _, m := range modes {
				opts := []opcua.Option{opcua.SecurityPolicy(m.policy), opcua.SecurityMode(m.mode), opcua.AuthAnonymous()}
				if m.mode != ua.MessageSecurityModeNone {
					opts = append(opts, opcua.RemoteCertificate(s.Certificate()), opcua.Certificate(cert), opcua.PrivateKey(key))
				}
				cl, err := dial(ctx, s.URL(), opts...)
				if err == nil {
					cl.Close(ctx)
				}
				if want := m == offered; (err == nil) != want {
					t.Errorf("session over %s %s: %v; want success %v", m.policy, m.mode, err, want)
				}
			}
		})
	}
}

func chunk(typ string, body ...[]byte) []byte {
	b := []byte(typ + "F\x00\x00\x00\x00")
	b = append(b, 1, 0, 0, 0) // secure channel id
	for _, p := range body {
		b = append(b, p...)
	}
	binary.LittleEndian.PutUint32(b[4:8], uint32(len(b)))
	return b
}

func uaString(s string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(s))), s...)
}

func TestGuard(t *testing.T) {
	opn := func(policy string) []byte { return chunk("OPN", uaString(policy), []byte{0xff, 0xff, 0xff, 0xff}) }
	hdr := []byte{7, 0, 0, 0, 51, 0, 0, 0, 2, 0, 0, 0} // token id, sequence number, request id
	msg := func(body ...byte) []byte { return chunk("MSG", hdr, body, make([]byte, 32)) }
	createSession := msg(0x01, 0x00, 0xcd, 0x01)                    // four-byte node id i=461
	createSessionNumeric := msg(0x02, 0x00, 0x00, 0xcd, 0x01, 0, 0) // numeric node id i=461
	getEndpoints := msg(0x01, 0x00, 0xac, 0x01)                     // i=428
	cipher := msg(0x5e, 0xa1, 0x07, 0xc3)
	none, b256 := opn(ua.SecurityPolicyURINone), opn(ua.SecurityPolicyURIBasic256Sha256)
	for _, tc := range []struct {
		name   string
		sec    Security
		chunks [][]byte
		want   bool
	}{
		{"all: none session", SecurityAll, [][]byte{none, createSession}, true},
		{"all: sign", SecurityAll, [][]byte{b256, createSession}, true},
		{"all: encrypt", SecurityAll, [][]byte{b256, cipher}, true},
		{"all: other policy", SecurityAll, [][]byte{opn(ua.SecurityPolicyURIBasic128Rsa15)}, false},
		{"encrypt: discovery over none", SecurityEncrypt, [][]byte{none, getEndpoints}, true},
		{"encrypt: session over none", SecurityEncrypt, [][]byte{none, getEndpoints, createSession}, false},
		{"encrypt: numeric session over none", SecurityEncrypt, [][]byte{none, createSessionNumeric}, false},
		{"encrypt: sign", SecurityEncrypt, [][]byte{b256, createSession}, false},
		{"encrypt: encrypt", SecurityEncrypt, [][]byte{b256, cipher, cipher}, true},
		{"sign: sign", SecuritySign, [][]byte{b256, getEndpoints, createSession}, true},
		{"sign: encrypt", SecuritySign, [][]byte{b256, cipher}, false},
		{"none: basic256sha256", SecurityNone, [][]byte{b256}, false},
		{"none: none", SecurityNone, [][]byte{none, createSession}, true},
		{"hello passes", SecurityEncrypt, [][]byte{chunk("HEL", make([]byte, 20))}, true},
		{"truncated open", SecurityAll, [][]byte{chunk("OPN", []byte{200, 0, 0, 0})}, false},
		{"all: aes256 not offered", SecurityAll, [][]byte{opn(ua.SecurityPolicyURIAes256Sha256RsaPss)}, false},
		{"all+aes: aes256 sign", SecurityAll, [][]byte{opn(ua.SecurityPolicyURIAes256Sha256RsaPss), createSession}, true},
		{"all+aes: aes128 encrypt", SecurityAll, [][]byte{opn(ua.SecurityPolicyURIAes128Sha256RsaOaep), cipher}, true},
		{"encrypt+aes: aes128 sign", SecurityEncrypt, [][]byte{opn(ua.SecurityPolicyURIAes128Sha256RsaOaep), createSession}, false},
		{"sign+aes: aes256 sign", SecuritySign, [][]byte{opn(ua.SecurityPolicyURIAes256Sha256RsaPss), getEndpoints, createSession}, true},
		{"secure: sign", SecuritySecure, [][]byte{b256, createSession}, true},
		{"secure: encrypt", SecuritySecure, [][]byte{b256, cipher}, true},
		{"secure: session over none", SecuritySecure, [][]byte{none, createSession}, false},
		{"secure+insecure: session over none", SecuritySecure, [][]byte{none, createSession}, true},
		{"sign+insecure: session over none", SecuritySign, [][]byte{none, getEndpoints, createSession}, true},
	} {
		var policies []string
		if strings.Contains(tc.name, "+aes") {
			policies = AllPolicies
		}
		insecure := strings.Contains(tc.name, "+insecure")
		g := newGuard(tc.sec, policies, insecure)
		got := true
		for _, c := range tc.chunks {
			got = got && g.allow(c)
		}
		if got != tc.want {
			t.Errorf("%s: allowed %v, want %v", tc.name, got, tc.want)
		}
		// the same through pump
		var stream, out bytes.Buffer
		for _, c := range tc.chunks {
			stream.Write(c)
		}
		err := pump(&out, &stream, newGuard(tc.sec, policies, insecure))
		if (err == io.EOF) != tc.want || (tc.want && !bytes.Equal(out.Bytes(), bytes.Join(tc.chunks, nil))) {
			t.Errorf("%s: pump %v, forwarded %d bytes", tc.name, err, out.Len())
		}
	}
}

func TestParseSecurity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Security
		err  bool
	}{
		{"", SecurityAll, false},
		{"all", SecurityAll, false},
		{"None", SecurityNone, false},
		{"sign", SecuritySign, false},
		{"encrypt", SecurityEncrypt, false},
		{"SignAndEncrypt", SecurityEncrypt, false},
		{"secure", SecuritySecure, false},
		{"basic128", 0, true},
	} {
		got, err := ParseSecurity(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseSecurity(%q) = %s, %v", tc.in, got, err)
		}
		if !tc.err {
			if back, _ := ParseSecurity(got.String()); back != got {
				t.Errorf("%s does not round-trip", got)
			}
		}
	}
}

// waitState waits for the client to report state want.
func waitState(t testing.TB, ctx context.Context, ch <-chan opcua.ConnState, want opcua.ConnState) {
	t.Helper()
	for {
		select {
		case st := <-ch:
			if st == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("client never reached state %s", want)
		}
	}
}

func TestDrop(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	states := make(chan opcua.ConnState, 16)
	cl := connect(t, ctx, s.URL(), opcua.StateChangedCh(states))
	readValues(t, ctx, cl, ua.NewStringNodeID(2, "Tank.Level"))

	c.DropConnections() // the controller tells its endpoints
	waitState(t, ctx, states, opcua.Disconnected)
	if _, err := cl.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: ua.NewStringNodeID(2, "Tank.Level")}}}); err == nil {
		t.Error("read on a dropped connection succeeded")
	}

	cl2 := connect(t, ctx, s.URL()) // still listening
	if dv := readValues(t, ctx, cl2, ua.NewStringNodeID(2, "Tank.Level"))[0]; dv.Status != ua.StatusOK {
		t.Errorf("after drop: %s", dv.Status)
	}
}

func TestDropReconnects(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	states := make(chan opcua.ConnState, 16)
	cl := connect(t, ctx, s.URL(), opcua.AutoReconnect(true), opcua.ReconnectInterval(50*time.Millisecond), opcua.StateChangedCh(states))
	s.Drop()
	waitState(t, ctx, states, opcua.Disconnected)
	waitState(t, ctx, states, opcua.Connected)
	if dv := readValues(t, ctx, cl, ua.NewStringNodeID(2, "Tank.Level"))[0]; dv.Status != ua.StatusOK {
		t.Errorf("after reconnect: %s", dv.Status)
	}
}

func refused(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return true
	}
	conn.Close()
	return false
}

func TestSuspendResume(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	states := make(chan opcua.ConnState, 16)
	cl := connect(t, ctx, s.URL(), opcua.StateChangedCh(states))

	restates := make(chan opcua.ConnState, 64)
	re := connect(t, ctx, s.URL(), opcua.AutoReconnect(true), opcua.ReconnectInterval(50*time.Millisecond), opcua.StateChangedCh(restates))

	s.Suspend()
	waitState(t, ctx, states, opcua.Disconnected)
	if !refused(s.Addr()) {
		t.Fatal("suspended server accepts connections")
	}
	if _, err := dial(ctx, s.URL()); err == nil {
		t.Fatal("client connected to a suspended server")
	}
	s.Suspend() // twice is harmless
	if _, err := cl.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: ua.NewStringNodeID(2, "Tank.Level")}}}); err == nil {
		t.Error("read on a suspended server succeeded")
	}

	s.Resume()
	cl2 := connect(t, ctx, s.URL())
	if dv := readValues(t, ctx, cl2, ua.NewStringNodeID(2, "Tank.Level"))[0]; dv.Status != ua.StatusOK {
		t.Errorf("after resume: %s", dv.Status)
	}
	s.Resume() // twice is harmless
	readValues(t, ctx, cl2, ua.NewStringNodeID(2, "Tank.Level"))

	// a client that reconnects by itself finds its session gone (a new stack) and makes a
	// new one
	waitState(t, ctx, restates, opcua.Disconnected)
	waitState(t, ctx, restates, opcua.Connected)
	if dv := readValues(t, ctx, re, ua.NewStringNodeID(2, "Tank.Level"))[0]; dv.Status != ua.StatusOK {
		t.Errorf("reconnected client: %s", dv.Status)
	}
}

func TestControllerRestart(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	c.SetFaults(fault.Set{RestartTime: 200 * time.Millisecond})
	c.Restart() // suspends the server at once
	if !refused(s.Addr()) {
		t.Fatal("server answers while the controller restarts")
	}
	// the controller resumes the server when the restart is over
	cl, err := dial(ctx, s.URL())
	for err != nil {
		if ctx.Err() != nil {
			t.Fatalf("server never came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling the controller's restart, not readiness
		cl, err = dial(ctx, s.URL())
	}
	defer cl.Close(ctx)
	if dv := readValues(t, ctx, cl, ua.NewStringNodeID(2, "Tank.ScanCount"))[0]; dv.Status != ua.StatusOK {
		t.Errorf("after restart: %s", dv.Status)
	}
}

func TestFaults(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	cl := connect(t, ctx, s.URL())
	level := ua.NewStringNodeID(2, "Tank.Level")
	version := ua.NewNumericNodeID(0, id.Server_ServerStatus_BuildInfo_SoftwareVersion)

	c.SetFaults(fault.Set{Exceptions: 1})
	dvs := readValues(t, ctx, cl, level, version)
	if dvs[0].Status != ua.StatusBadDeviceFailure {
		t.Errorf("read under exceptions: %s", dvs[0].Status)
	}
	if dvs[1].Status != ua.StatusOK {
		t.Errorf("server's own node under exceptions: %s", dvs[1].Status)
	}
	if st := writeValue(t, ctx, cl, ua.NewStringNodeID(2, "Tank.Pump"), ua.AttributeIDValue, true); st != ua.StatusBadDeviceFailure {
		t.Errorf("write under exceptions: %s", st)
	}

	c.SetFaults(fault.Set{Latency: 150 * time.Millisecond})
	start := time.Now()
	readValues(t, ctx, cl, level)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("read took %s under 150 ms latency", d)
	}
	c.SetFaults(fault.Set{})
	if dv := readValues(t, ctx, cl, level)[0]; dv.Status != ua.StatusOK {
		t.Errorf("healthy again: %s", dv.Status)
	}
}

func TestStallReleasedByClose(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s, err := Start(ctx, c, Config{})
	if err != nil {
		t.Fatal(err)
	}
	cl := connect(t, ctx, s.URL(), opcua.RequestTimeout(time.Hour))
	c.SetFaults(fault.Set{Stall: time.Hour})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: ua.NewStringNodeID(2, "Tank.Level")}}})
	}()
	waitForStack(t, "simulators/plc.(*Controller).Request") // the read is stalled in the controller
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %s with a stalled request", d)
	}
	cl.Close(ctx)
	wg.Wait()
}

// waitForStack waits until some goroutine runs fn.
func waitForStack(t testing.TB, fn string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		if strings.Contains(string(buf[:runtime.Stack(buf, true)]), fn) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine in %s", fn)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSubscription(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s := startServer(t, c, Config{})
	cl := connect(t, ctx, s.URL())
	notes := make(chan *opcua.PublishNotificationData, 16)
	sub, err := cl.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, notes)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel(ctx)
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth,
		opcua.NewMonitoredItemCreateRequestWithDefaults(ua.NewStringNodeID(2, "Tank.ScanCount"), ua.AttributeIDValue, 7))
	if err != nil || res.Results[0].StatusCode != ua.StatusOK {
		t.Fatalf("monitor: %v", err)
	}
	var last uint32
	for n := 0; n < 3; {
		select {
		case <-ctx.Done():
			t.Fatal("no data changes")
		case note := <-notes:
			if note.Error != nil {
				t.Fatal(note.Error)
			}
			dcn, ok := note.Value.(*ua.DataChangeNotification)
			if !ok {
				continue
			}
			for _, it := range dcn.MonitoredItems {
				v, ok := it.Value.Value.Value().(uint32)
				if it.ClientHandle != 7 || !ok || v <= last {
					t.Fatalf("notification %d: handle %d value %v after %d", n, it.ClientHandle, it.Value.Value.Value(), last)
				}
				last = v
				n++
			}
		}
	}
}

func TestCloseWaitsForEverything(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	s, err := Start(ctx, c, Config{})
	if err != nil {
		t.Fatal(err)
	}
	// busy: a dropped and a suspended run, a client, a subscription
	cl := connect(t, ctx, s.URL())
	s.Drop()
	s.Suspend()
	s.Resume()
	cl2 := connect(t, ctx, s.URL())
	readValues(t, ctx, cl2, ua.NewStringNodeID(2, "Tank.Level"))
	sub, err := cl2.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 50 * time.Millisecond}, make(chan *opcua.PublishNotificationData, 100))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth,
		opcua.NewMonitoredItemCreateRequestWithDefaults(ua.NewStringNodeID(2, "Tank.Level"), ua.AttributeIDValue, 1)); err != nil {
		t.Fatal(err)
	}

	// gopcua's goroutines carry the server's label: that is how Close waits for them
	for _, fn := range []string{"gopcua/opcua/server.(*Server).monitorConnections", "gopcua/opcua/server.(*Server).acceptAndRegister",
		"gopcua/opcua/server.(*channelBroker).RegisterConn", "gopcua/opcua/server.(*Subscription).run"} {
		if !strings.Contains(labeledStacks(s.label), fn) {
			t.Errorf("no goroutine labeled %s runs %s", s.label, fn)
		}
	}

	// Close and the controller's drops and restarts may race
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				s.Drop()
				s.Suspend()
				s.Resume()
			}
		}()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := s.Close(); err != nil { // twice is harmless
		t.Fatal(err)
	}
	if !refused(s.Addr()) {
		t.Error("closed server accepts connections")
	}
	if n := countLabeled(s.label, ""); n != 0 {
		t.Errorf("%d goroutines of the server still run after Close", n)
	}
	cl.Close(ctx)
	cl2.Close(ctx)
	if err := noLeaks(5 * time.Second); err != nil {
		t.Error(err)
	}
}

// labeledStacks is the goroutine profile's text of the goroutines carrying label.
func labeledStacks(label string) string {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	var out []string
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "# labels: ") && strings.Contains(g, label) {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

func TestCertDirKeepsTheCertificate(t *testing.T) {
	dir := t.TempDir()
	c := newController(t, "")
	s1 := startServer(t, c, Config{CertDir: dir})
	first := s1.Certificate()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, c, Config{CertDir: dir})
	if string(s2.Certificate()) != string(first) {
		t.Error("a second start with the same CertDir made a new certificate")
	}
}

// TestFirmwarePosture: security "secure" offers Sign and SignAndEncrypt only; the firmware's
// insecure endpoint adds None/None, on which an anonymous session works; the certificate is
// made with the key size, hash and validity asked for, and a kept one made otherwise is
// made again.
func TestFirmwarePosture(t *testing.T) {
	ctx := testContext(t)
	c := newController(t, "")
	for _, tc := range []struct {
		insecure bool
		cert     CertSpec
		bits     int
		alg      x509.SignatureAlgorithm
		days     int
	}{
		{false, CertSpec{}, 2048, x509.SHA256WithRSA, 3650},
		{true, CertSpec{Bits: 1024, Hash: "sha1", Days: 30}, 1024, x509.SHA1WithRSA, 30},
	} {
		s := startServer(t, c, Config{Security: SecuritySecure, InsecureEndpoint: tc.insecure, Cert: tc.cert})
		eps, err := opcua.GetEndpoints(ctx, s.URL())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ep := range eps {
			got = append(got, strings.TrimPrefix(ep.SecurityPolicyURI, ua.SecurityPolicyURIPrefix)+"/"+ep.SecurityMode.String())
		}
		want := []string{"Basic256Sha256/MessageSecurityModeSign", "Basic256Sha256/MessageSecurityModeSignAndEncrypt"}
		if tc.insecure {
			want = append([]string{"None/MessageSecurityModeNone"}, want...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("insecure %v: endpoints %v, want %v", tc.insecure, got, want)
		}
		cl, err := dial(ctx, s.URL(), opcua.SecurityPolicy(ua.SecurityPolicyURINone), opcua.SecurityMode(ua.MessageSecurityModeNone), opcua.AuthAnonymous())
		if err == nil {
			cl.Close(ctx)
		}
		if (err == nil) != tc.insecure {
			t.Errorf("insecure %v: anonymous session over None: %v", tc.insecure, err)
		}
		x, err := x509.ParseCertificate(s.Certificate())
		if err != nil {
			t.Fatal(err)
		}
		if b := x.PublicKey.(*rsa.PublicKey).N.BitLen(); b != tc.bits || x.SignatureAlgorithm != tc.alg ||
			x.NotAfter.Sub(x.NotBefore) != time.Hour+time.Duration(tc.days)*24*time.Hour {
			t.Errorf("certificate %d bits %s %v..%v; want %d bits %s %d days", b, x.SignatureAlgorithm, x.NotBefore, x.NotAfter, tc.bits, tc.alg, tc.days)
		}
	}
	dir := t.TempDir()
	s1 := startServer(t, c, Config{CertDir: dir})
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, c, Config{CertDir: dir, Cert: CertSpec{Bits: 1024, Hash: "sha1", Days: 30}})
	if string(s2.Certificate()) == string(s1.Certificate()) {
		t.Error("a kept RSA 2048 certificate served where RSA 1024 was asked for")
	}
	if _, err := Start(ctx, c, Config{Cert: CertSpec{Hash: "md5"}}); err == nil || !strings.Contains(err.Error(), "md5") {
		t.Errorf("hash md5: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	c := newController(t, "")
	if _, err := Start(context.Background(), c, Config{Addr: "nonsense"}); err == nil {
		t.Error("bad address accepted")
	}
	if _, err := Start(context.Background(), c, Config{Security: 9}); err == nil {
		t.Error("bad security accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Start(context.Background(), c, Config{Addr: ln.Addr().String()}); err == nil {
		t.Error("a port in use accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx, c, Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled start: %v", err)
	}
}

func TestVariants(t *testing.T) {
	for _, tc := range []struct {
		typ  point.Type
		in   point.Value
		want any
	}{
		{point.TypeBool, point.Bool(true), true},
		{point.TypeInt16, point.Int(-300), int16(-300)},
		{point.TypeUint16, point.Uint(65535), uint16(65535)},
		{point.TypeInt32, point.Int(-70000), int32(-70000)},
		{point.TypeUint32, point.Uint(4e9), uint32(4e9)},
		{point.TypeInt64, point.Int(math.MinInt64), int64(math.MinInt64)},
		{point.TypeUint64, point.Uint(math.MaxUint64), uint64(math.MaxUint64)},
		{point.TypeFloat32, point.Float(1.5), float32(1.5)},
		{point.TypeFloat64, point.Float(-2.25), -2.25},
		{point.TypeString, point.String("3.2.0"), "3.2.0"},
		{point.TypeUint16, point.Float(7), uint16(7)}, // a model may keep a count as a float
	} {
		vr, err := toVariant(tc.typ, tc.in)
		if err != nil {
			t.Errorf("%s %s: %v", tc.typ, tc.in, err)
			continue
		}
		if vr.Value() != tc.want || vr.Type() != uaTypes[tc.typ] {
			t.Errorf("%s %s: %v (%s)", tc.typ, tc.in, vr.Value(), vr.Type())
		}
		back, ok := fromVariant(tc.typ, vr)
		if !ok || back.Float() != tc.in.Float() && back.Text() != tc.in.Text() {
			t.Errorf("%s %s: back %s %v", tc.typ, tc.in, back, ok)
		}
		for other := range uaTypes {
			if _, ok := fromVariant(other, vr); ok != (other == tc.typ) {
				t.Errorf("a %s variant written to a %s point: accepted %v", tc.typ, other, ok)
			}
		}
	}
	for _, tc := range []struct {
		typ point.Type
		in  point.Value
	}{
		{point.TypeInt16, point.Int(40000)},
		{point.TypeUint16, point.Int(-1)},
		{point.TypeUint32, point.Uint(1 << 40)},
		{point.TypeUint64, point.Int(-1)},
		{point.TypeInt32, point.Float(math.NaN())},
		{point.TypeBool, point.Value{}},
	} {
		if vr, err := toVariant(tc.typ, tc.in); err == nil {
			t.Errorf("%s %s: %v; want an error", tc.typ, tc.in, vr.Value())
		}
	}
}

// TestLayoutEveryModel: every shipped model's point map compiles to an address space with
// one variable per opcua point, in a folder named after the identifiers' prefix.
func TestLayoutEveryModel(t *testing.T) {
	for _, m := range plant.Names() {
		c, err := plc.New(m, "", plc.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		l, err := newLayout(c)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if want := strings.ToUpper(m[:1]) + m[1:]; l.name != want || l.uri != "urn:patchgate:sim:"+m {
			t.Errorf("%s: folder %s, namespace %s", m, l.name, l.uri)
		}
		n := 0
		for _, p := range c.Points().Points {
			if p.OPCUA == nil {
				continue
			}
			n++
			if l.byKey["ns=2;"+p.OPCUA.Identifier] == nil {
				t.Errorf("%s: %s (%s) not served", m, p.Tag, p.OPCUA)
			}
		}
		if n != len(l.vars) {
			t.Errorf("%s: %d variables for %d points", m, len(l.vars), n)
		}
	}
}

func TestNodeIDs(t *testing.T) {
	l := &layout{uri: "urn:patchgate:sim:tank", name: "Tank"}
	for _, tc := range []struct {
		node point.OPCUANode
		want string
		name string
		bad  bool
	}{
		{point.OPCUANode{Identifier: "s=Tank.Level", NamespaceURI: "urn:patchgate:sim:tank"}, "ns=2;s=Tank.Level", "Level", false},
		{point.OPCUANode{Identifier: "i=1001", NamespaceURI: "urn:patchgate:sim:tank"}, "ns=2;i=1001", "Level", false},
		{point.OPCUANode{ID: "ns=2;s=Tank.Level"}, "ns=2;s=Tank.Level", "Level", false},
		{point.OPCUANode{ID: "nsu=urn:patchgate:sim:tank;s=Tank.Level"}, "ns=2;s=Tank.Level", "Level", false},
		{point.OPCUANode{BrowsePath: "Tank/Niveau"}, "ns=2;s=Tank.Niveau", "Niveau", false},
		{point.OPCUANode{ID: "ns=3;s=Tank.Level"}, "", "", true},
		{point.OPCUANode{ID: "nsu=urn:other;s=Tank.Level"}, "", "", true},
		{point.OPCUANode{Identifier: "s=Tank.Level", NamespaceURI: "urn:other"}, "", "", true},
		{point.OPCUANode{BrowsePath: "Other/Level"}, "", "", true},
	} {
		n := tc.node
		got, name, err := l.nodeID(point.Point{Tag: "Level", OPCUA: &n})
		if (err != nil) != tc.bad || (!tc.bad && (got.String() != tc.want || name != tc.name)) {
			t.Errorf("%s: %v %q %v", n, got, name, err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	ctx := testContext(b)
	c := newController(b, "")
	s := startServer(b, c, Config{})
	cl := connect(b, ctx, s.URL())
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnBoth}
	for _, n := range tankNodes(b, c) {
		req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: n, AttributeID: ua.AttributeIDValue})
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := cl.Read(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if res.Results[0].Status != ua.StatusOK {
			b.Fatal(res.Results[0].Status)
		}
	}
	b.ReportMetric(float64(len(req.NodesToRead)), "points/op")
}

// TestCloseJustAfterAConnectionIsAccepted closes the server right after the transport
// handshake, when gopcua has accepted the connection but may not yet have registered its
// channel. gopcua's Close waits on a WaitGroup that the registering goroutine adds to, so
// without the wait in teardown the race detector fails this test (it failed CI once, in
// TestSecurityEnforced).
func TestCloseJustAfterAConnectionIsAccepted(t *testing.T) {
	c := newController(t, "")
	for i := 0; i < 5; i++ {
		s, err := Start(testContext(t), c, Config{})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := uacp.Dial(testContext(t), s.URL())
		if err != nil {
			s.Close()
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close %d: %v", i, err)
		}
		conn.Close()
	}
}
