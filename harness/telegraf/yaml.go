package telegraf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/harness/point"
)

// pt is one converted point, before it is written.
type pt struct {
	line   int    // where telegraf defines it
	name   string // telegraf's field or node name
	tag    string
	typ    point.Type
	length int
	mb     *mbAddr
	ua     *uaNode
}

type mbAddr struct {
	reg   string
	addr  int
	wire  point.Type // 0: the point's type
	order string     // "" for bits
	scale float64    // 0: none
	bit   int        // -1: none
}

type uaNode struct {
	id, nsURI, idType, identifier string
}

type mapHead struct{ uri string }

func (c *converter) emitWith(t *table, name, plugin, target string, head []string, pts []pt, h mapHead) {
	y := renderWith(name, head, pts, h)
	c.check(t, name, plugin, target, pts, y)
}

func render(name string, head []string, pts []pt) []byte {
	return renderWith(name, head, pts, mapHead{})
}

// renderWith writes a point map in the layout of scenarios/pointmaps: a point per block, its
// modbus and opcua mappings in flow style, the telegraf line it came from as a comment.
func renderWith(name string, head []string, pts []pt, h mapHead) []byte {
	var b strings.Builder
	for _, l := range head {
		b.WriteString("# " + l + "\n")
	}
	fmt.Fprintf(&b, "version: 1\nname: %s\n", q(name))
	if h.uri != "" {
		fmt.Fprintf(&b, "opcua: {namespace_uri: %s}\n", q(h.uri))
	} else if len(pts) > 0 && pts[0].mb != nil {
		b.WriteString("modbus: {address_base: 0}   # telegraf addresses are protocol addresses\n")
	}
	b.WriteString("points:\n")
	for _, p := range pts {
		fmt.Fprintf(&b, "  - tag: %s   # line %d", p.tag, p.line)
		if p.tag != p.name {
			fmt.Fprintf(&b, ": %s", strconv.Quote(p.name))
		}
		fmt.Fprintf(&b, "\n    type: %s\n", p.typ)
		if p.typ == point.TypeString {
			fmt.Fprintf(&b, "    length: %d\n", p.length)
		}
		if p.tag != p.name {
			fmt.Fprintf(&b, "    description: %s\n", q("telegraf: "+p.name))
		}
		if m := p.mb; m != nil {
			fmt.Fprintf(&b, "    modbus: {register: %s, address: %d", m.reg, m.addr)
			if m.wire != 0 {
				fmt.Fprintf(&b, ", type: %s", m.wire)
			}
			if m.order != "" && m.bit < 0 && !(m.reg == "coil" || m.reg == "discrete") {
				fmt.Fprintf(&b, ", byte_order: %s", m.order)
			}
			if m.scale != 0 {
				fmt.Fprintf(&b, ", scale: %s", strconv.FormatFloat(m.scale, 'g', -1, 64))
			}
			if m.bit >= 0 {
				fmt.Fprintf(&b, ", bit: %d", m.bit)
			}
			b.WriteString("}\n")
		}
		if u := p.ua; u != nil {
			switch {
			case u.id != "":
				fmt.Fprintf(&b, "    opcua: {id: %s}\n", q(u.id))
			default:
				fmt.Fprintf(&b, "    opcua: {")
				if u.nsURI != "" {
					fmt.Fprintf(&b, "namespace_uri: %s, ", q(u.nsURI))
				}
				if u.idType != "s" {
					fmt.Fprintf(&b, "identifier_type: %s, ", u.idType)
				}
				fmt.Fprintf(&b, "identifier: %s}\n", q(u.identifier))
			}
		}
	}
	return []byte(b.String())
}

// q quotes a string for YAML: a double-quoted scalar takes Go's escapes.
func q(s string) string { return strconv.Quote(s) }
