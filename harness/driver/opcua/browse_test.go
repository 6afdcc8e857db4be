package opcua

import (
	"errors"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/opcuaserver"
)

// TestBrowse: Browse connects as Open does (here Basic256Sha256 SignAndEncrypt with a trust
// folder) and finds every variable of the tank with its node, type, access, description and
// value; a root by namespace URI finds the same, a root in namespace 0 lists the server's own
// nodes (arrays with their problem), an untrusted server is refused as by Open.
func TestBrowse(t *testing.T) {
	t.Parallel()
	c := newTank(t, "", true)
	s := serve(t, c, opcuaserver.SecurityAll)
	ctx := testContext(t)
	target := func(raw string) driver.Target {
		tg, err := driver.ParseTarget(raw)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	secure := target(targetURL(s, newPKIDir(t, s, true), ""))
	nodes, err := Browse(ctx, secure, "")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Node{}
	for _, n := range nodes {
		byName[n.Name] = n
	}
	pm := tankMap(t)
	for _, p := range pm.Points {
		n, ok := byName[p.Tag]
		switch {
		case !ok:
			t.Errorf("%s not found", p.Tag)
		case n.ID != "ns=2;s=Tank."+p.Tag || n.Identifier != "s=Tank."+p.Tag || n.NamespaceURI != "urn:patchgate:sim:tank" || n.BrowsePath != "2:Tank/2:"+p.Tag || n.Parent != "Tank":
			t.Errorf("%s: %+v", p.Tag, n)
		case n.Type != p.Type || n.Writable != p.Writable || !n.Readable || n.Array || n.Problem != "":
			t.Errorf("%s: type %s writable %t readable %t problem %q; the map says %s %t", p.Tag, n.Type, n.Writable, n.Readable, n.Problem, p.Type, p.Writable)
		case n.Description == "" || n.Value == "" || n.DataType == "":
			t.Errorf("%s: description %q value %q data type %q", p.Tag, n.Description, n.Value, n.DataType)
		}
	}
	if len(nodes) != len(pm.Points) {
		t.Errorf("%d variables under Objects (namespace 0 left out); the tank has %d", len(nodes), len(pm.Points))
	}

	byURI, err := Browse(ctx, secure, "nsu=urn:patchgate:sim:tank;s=Tank")
	if err != nil || len(byURI) != len(nodes) || byURI[0].BrowsePath != "2:"+nodes[0].Name {
		t.Errorf("root by namespace URI: %d nodes, %v", len(byURI), err)
	}
	server, err := Browse(ctx, secure, "i=2253")
	if err != nil {
		t.Fatal(err)
	}
	// properties (NamespaceArray) describe their parent and are not listed; an enumeration
	// takes the type of the value it sends; a DateTime carries no point type
	seen := map[string]Node{}
	for _, n := range server {
		seen[n.BrowsePath] = n
	}
	if n, ok := seen["0:NamespaceArray"]; ok {
		t.Errorf("a property is listed: %+v", n)
	}
	if n := seen["0:ServerStatus/0:State"]; n.Type != point.TypeInt32 || n.Problem != "" {
		t.Errorf("ServerStatus/State (an enumeration): %+v", n)
	}
	if n := seen["0:ServerStatus/0:StartTime"]; n.Problem == "" || !strings.Contains(n.Problem, "no point type") {
		t.Errorf("ServerStatus/StartTime (a DateTime): %+v", n)
	}
	if n := seen["0:ServerStatus/0:BuildInfo/0:ProductName"]; n.Type != point.TypeString || n.Value != `"SimPLC tank"` {
		t.Errorf("BuildInfo/ProductName: %+v", n)
	}

	if _, err := Browse(ctx, target(targetURL(s, newPKIDir(t, s, false), "")), ""); !errors.Is(err, ErrUntrusted) {
		t.Errorf("untrusted server: %v; want ErrUntrusted", err)
	}
	for _, root := range []string{"ns=x;i=1", "nsu=urn:nope;s=X", "ns=2;s=Nope"} {
		if _, err := Browse(ctx, secure, root); !errors.Is(err, driver.ErrBadTarget) {
			t.Errorf("root %s: %v; want ErrBadTarget", root, err)
		}
	}
}
