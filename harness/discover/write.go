package discover

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/patchgate/patchgate/harness/driver/opcua"
	"github.com/patchgate/patchgate/harness/point"
)

// ErrNoPoints: the device answered, but nothing in what was asked for can be a point.
var ErrNoPoints = errors.New("no points found")

// headNote tells the engineer what to do with a discovered map.
const headNote = "# Edit it (docs/pointmap-format.md): name the tags, check each type, set writable only\n" +
	"# where a scenario must write; then read every point once with\n" +
	"# `patchgate discover URL --check FILE` (read-only).\n"

// q quotes a string for YAML (a double-quoted scalar; Go's escapes are YAML's).
func q(s string) string { return strconv.Quote(s) }

// comment makes s safe on one comment line.
func comment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// sanitize turns a name into a tag: letters, digits and _, not starting with a digit.
func sanitize(s, fallback string) string {
	var b strings.Builder
	for _, r := range s {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_')
		}
	}
	t := strings.TrimRight(b.String(), "_")
	if t == "" {
		return fallback
	}
	if t[0] >= '0' && t[0] <= '9' {
		t = fallback + "_" + t
	}
	return t
}

// tagNamer hands out unique tags (tags are case-sensitive, but two differing only in case
// would confuse a reader: they are kept apart too).
type tagNamer map[string]bool

func (n tagNamer) take(cands ...string) string {
	for _, c := range cands {
		if c != "" && !n[strings.ToLower(c)] {
			n[strings.ToLower(c)] = true
			return c
		}
	}
	base := cands[len(cands)-1]
	for i := 2; ; i++ {
		c := base + "_" + strconv.Itoa(i)
		if !n[strings.ToLower(c)] {
			n[strings.ToLower(c)] = true
			return c
		}
	}
}

func check(name string, b *strings.Builder, r *Result) (*Result, error) {
	r.YAML = []byte(b.String())
	m, err := point.Parse(name+".yaml", r.YAML)
	if err != nil {
		return nil, fmt.Errorf("the discovered point map does not load (a bug of patchgate discover): %w", err)
	}
	r.Map = m
	return r, nil
}

// modbusMap writes the point map of a probe: a point per answered address, uint16 for a
// register (to be confirmed), bool for a bit, and the outcome of every span as comments.
func modbusMap(target string, o Options, ranges []Range, spans []Span) (*Result, error) {
	r := &Result{Protocol: "modbus"}
	var asked []string
	for _, rg := range ranges {
		asked = append(asked, rg.String())
	}
	points := 0
	for _, s := range spans {
		n := int(s.Last) - int(s.First) + 1
		unit := "register"
		if s.Table.IsBit() {
			unit = "bit"
		}
		if n > 1 {
			unit += "s"
		}
		line := fmt.Sprintf("%s %s: %s", s.Table, span(s.First, s.Last), s.Outcome)
		if s.Outcome.Answered {
			line += fmt.Sprintf(" (%d %s)", n, unit)
			points += n
			r.Found = append(r.Found, line)
		} else {
			r.Skipped = append(r.Skipped, line)
		}
	}
	if points == 0 {
		why := "nothing answered"
		if len(r.Skipped) > 0 {
			why = strings.Join(r.Skipped, "; ")
		}
		return nil, fmt.Errorf("%w: probed %s with the read function codes: %s; probe other ranges with --ranges", ErrNoPoints, strings.Join(asked, ", "), why)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Point map discovered by `patchgate discover` from %s.\n", comment(target))
	fmt.Fprintf(&b, "# Probed %s with the read function codes only (FC01-FC04); nothing was written.\n", strings.Join(asked, ", "))
	b.WriteString("# What the device answered, per table:\n")
	for _, s := range spans {
		fmt.Fprintf(&b, "#   %s %s: %s\n", s.Table, span(s.First, s.Last), s.Outcome)
	}
	b.WriteString("# Registers do not say what they hold: each is a uint16 here, marked \"confirm type\".\n" +
		"# From the device's manual, merge a float32 or int32 into one point over its two\n" +
		"# registers (and set byte_order), add scale, and delete what is not needed. Addresses\n" +
		"# are protocol (0-based) addresses. The values read are in the comments.\n")
	b.WriteString(headNote)
	b.WriteString("version: 1\n")
	fmt.Fprintf(&b, "name: %s\n", q(o.Name))
	fmt.Fprintf(&b, "description: %s\n", q("discovered from "+target))
	b.WriteString("points:\n")
	for _, s := range spans {
		if !s.Outcome.Answered {
			continue
		}
		for i := 0; i <= int(s.Last)-int(s.First); i++ {
			a := int(s.First) + i
			fmt.Fprintf(&b, "  - tag: %s_%d\n", s.Table, a)
			if s.Table.IsBit() {
				fmt.Fprintf(&b, "    type: bool # read %t\n", s.Bits[i])
			} else {
				v := s.Regs[i]
				fmt.Fprintf(&b, "    type: uint16 # confirm type; read %d (0x%04X, int16 %d)\n", v, v, int16(v))
			}
			fmt.Fprintf(&b, "    modbus: {register: %s, address: %d}\n", s.Table, a)
		}
	}
	return check(o.Name, &b, r)
}

// opcuaMap writes the point map of a browse: a point per readable scalar variable of a type
// a point carries, with the server's type, access, unit and description.
func opcuaMap(target string, o Options, nodes []opcua.Node) (*Result, error) {
	r := &Result{Protocol: "opcua"}
	// the map-wide namespace is the one most points are in
	count := map[string]int{}
	for _, n := range nodes {
		if n.Problem == "" {
			count[n.NamespaceURI]++
		}
	}
	uris := make([]string, 0, len(count))
	for u := range count {
		uris = append(uris, u)
	}
	sort.Slice(uris, func(i, j int) bool {
		if count[uris[i]] != count[uris[j]] {
			return count[uris[i]] > count[uris[j]]
		}
		return uris[i] < uris[j]
	})
	if len(uris) == 0 {
		why := "the server lists no variables there"
		if len(nodes) > 0 {
			why = fmt.Sprintf("%d variables, none a point", len(nodes))
		}
		for _, n := range nodes {
			r.Skipped = append(r.Skipped, n.BrowsePath+": "+n.Problem)
		}
		if len(r.Skipped) > 0 {
			why += ": " + strings.Join(r.Skipped, "; ")
		}
		return nil, fmt.Errorf("%w under %s: %s; browse elsewhere with --root", ErrNoPoints, rootName(o.Root), why)
	}
	def := uris[0]
	var pts strings.Builder
	names := tagNamer{}
	for _, n := range nodes {
		what := n.DataType
		if n.Array {
			what += " array"
		}
		if n.Problem != "" {
			r.Skipped = append(r.Skipped, fmt.Sprintf("%s (%s, %s): %s", n.BrowsePath, n.ID, what, n.Problem))
			continue
		}
		name := sanitize(n.Name, "node")
		tag := names.take(name, sanitize(n.Parent, "node")+"_"+name)
		access := "read-only"
		if n.Writable {
			access = "read/write"
		}
		note := fmt.Sprintf("%s (%s): %s, %s", n.BrowsePath, n.ID, what, access)
		if n.Value != "" {
			note += "; read " + n.Value
		}
		r.Found = append(r.Found, note)
		fmt.Fprintf(&pts, "  # %s\n", comment(note))
		fmt.Fprintf(&pts, "  - tag: %s\n", tag)
		fmt.Fprintf(&pts, "    type: %s\n", n.Type)
		if n.Type == point.TypeString {
			length := 32
			if s, err := strconv.Unquote(n.Value); err == nil && len(s) > length {
				length = len(s)
			}
			fmt.Fprintf(&pts, "    length: %d # confirm length: the longest text it may hold\n", length)
		}
		if n.Unit != "" {
			fmt.Fprintf(&pts, "    unit: %s\n", q(n.Unit))
		}
		if n.Description != "" {
			fmt.Fprintf(&pts, "    description: %s\n", q(n.Description))
		}
		if n.Writable {
			pts.WriteString("    writable: true # the server allows writes; scenarios still write only what they allow-list\n")
		}
		typ, ident, _ := strings.Cut(n.Identifier, "=")
		fields := []string{"identifier: " + q(ident)}
		if typ != "s" {
			fields = append(fields, "identifier_type: "+typ)
		}
		if n.NamespaceURI != def {
			fields = append([]string{"namespace_uri: " + q(n.NamespaceURI)}, fields...)
		}
		fmt.Fprintf(&pts, "    opcua: {%s}\n", strings.Join(fields, ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Point map discovered by `patchgate discover` from %s.\n", comment(target))
	fmt.Fprintf(&b, "# Browsed from %s;\n# nothing was written. Types, access, units and descriptions are the server's; each\n# point is commented with its browse path, node id and data type.\n", rootName(o.Root))
	if len(r.Skipped) > 0 {
		b.WriteString("# Variables left out, and why:\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "#   %s\n", comment(s))
		}
	}
	b.WriteString(headNote)
	b.WriteString("version: 1\n")
	fmt.Fprintf(&b, "name: %s\n", q(o.Name))
	fmt.Fprintf(&b, "description: %s\n", q("discovered from "+target))
	fmt.Fprintf(&b, "opcua: {namespace_uri: %s}\n", q(def))
	b.WriteString("points:\n")
	b.WriteString(pts.String())
	return check(o.Name, &b, r)
}

func rootName(root string) string {
	if root == "" {
		return "the Objects folder (the server's own nodes in namespace 0 left out)"
	}
	return "node " + root
}
