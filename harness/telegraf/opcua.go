package telegraf

import (
	"fmt"
	"strings"

	"github.com/patchgate/patchgate/harness/point"
)

// node is an OPC UA node as telegraf's opcua input names it: id, or namespace (an index) or
// namespace_uri with identifier_type and identifier; a [[inputs.opcua.group]] gives defaults.
type nodeDefaults struct {
	namespace, namespaceURI, identifierType string
}

func (c *converter) opcua(t *table) {
	endpoint, _, _ := c.str(t, "endpoint")
	name := c.mapName(t, "opcua", len(c.maps)+1, endpoint)
	names := tagNamer{}
	var pts []pt
	var guessed []string
	add := func(n *table, d nodeDefaults) {
		p, ok := c.opcuaNode(n, d, names)
		if !ok {
			return
		}
		if ft, ok := c.mbTypes[p.name]; ok {
			p.typ, p.length = ft.t, ft.length
		} else {
			p.typ = point.TypeFloat64
			guessed = append(guessed, p.tag)
		}
		pts = append(pts, p)
	}
	for _, n := range c.tables(t, "nodes") {
		add(n, nodeDefaults{})
	}
	for _, g := range c.tables(t, "group") {
		var d nodeDefaults
		d.namespace = c.namespace(g)
		d.namespaceURI, _, _ = c.str(g, "namespace_uri")
		d.identifierType, _, _ = c.str(g, "identifier_type")
		for _, n := range c.tables(g, "nodes") {
			add(n, d)
		}
	}
	if len(pts) == 0 {
		c.errorf(t.line, "[[inputs.opcua]] %q has no nodes; expected nodes = [...] or [[inputs.opcua.group]] with nodes", name)
		return
	}
	if len(guessed) > 0 {
		c.warnf(t.line, "%s: telegraf's opcua input does not say a node's type, so %d point(s) are float64 (%s); set type (bool, string with length, ...) where the server sends another",
			name, len(guessed), strings.Join(guessed, ", "))
	}
	// one namespace_uri shared by every node goes to the map's opcua section
	uri := ""
	for i, p := range pts {
		if p.ua.nsURI == "" || (i > 0 && p.ua.nsURI != uri) {
			uri = ""
			break
		}
		uri = p.ua.nsURI
	}
	if uri != "" {
		for i := range pts {
			pts[i].ua.nsURI = ""
		}
	}
	head := []string{
		fmt.Sprintf("Imported by patchgate import telegraf from %s:%d ([[inputs.opcua]]).", c.file, t.line),
		"Telegraf does not say node types: a type comes from a Modbus field of the same name, else float64.",
		"Telegraf only reads: no point is writable; set writable: true where a scenario may write.",
	}
	if endpoint != "" {
		head = append(head, "Target: "+endpoint)
	}
	m := mapHead{uri: uri}
	c.emitWith(t, name, "inputs.opcua", endpoint, head, pts, m)
}

// namespace reads telegraf's namespace, written as a string ("2") or a number.
func (c *converter) namespace(t *table) string {
	v := t.get("namespace")
	if v == nil {
		return ""
	}
	switch v.kind {
	case kString:
		return v.str
	case kInt:
		return fmt.Sprint(v.i)
	}
	c.errorf(v.line, "namespace is %s; expected a namespace index such as \"2\"", v.kind)
	return ""
}

func (c *converter) opcuaNode(n *table, d nodeDefaults, names tagNamer) (pt, bool) {
	name, ok := c.fieldName(n, "a node")
	if !ok {
		return pt{}, false
	}
	p := pt{line: n.line, name: name, ua: &uaNode{}}
	if id, _, ok := c.str(n, "id"); ok && id != "" {
		p.ua.id = id
		p.tag = names.tag(name)
		return p, true
	}
	ident, line, ok := c.str(n, "identifier")
	if !ok || ident == "" {
		if n.get("identifier") == nil {
			c.errorf(n.line, "node %s: missing identifier; expected id = \"ns=2;s=...\" or namespace_uri (or namespace), identifier_type and identifier", name)
		}
		return pt{}, false
	}
	it, itLine, ok := c.str(n, "identifier_type")
	if !ok {
		it, itLine = d.identifierType, line
	}
	if it == "" {
		it = "s"
	}
	if len(it) != 1 || !strings.Contains("sigb", it) {
		c.errorf(itLine, "node %s: identifier_type %q; expected s, i, g or b", name, it)
		return pt{}, false
	}
	ns := c.namespace(n)
	uri, _, _ := c.str(n, "namespace_uri")
	if ns == "" && uri == "" {
		ns, uri = d.namespace, d.namespaceURI
	}
	switch {
	case uri != "":
		p.ua.nsURI, p.ua.identifier, p.ua.idType = uri, ident, it
	case ns != "":
		p.ua.id = fmt.Sprintf("ns=%s;%s=%s", ns, it, ident)
	default:
		c.errorf(n.line, "node %s: identifier %q without namespace or namespace_uri; expected one on the node or its group", name, ident)
		return pt{}, false
	}
	p.tag = names.tag(name)
	return p, true
}
