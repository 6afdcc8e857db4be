// Package point defines the point map (logical tag name to protocol address) and the one value
// codec that the Modbus driver and the simulated controllers share.
//
// A point map is YAML with a format version. Its words are those OT engineers know from
// telegraf's modbus and opcua inputs: register = holding|input|coil|discrete, byte_order =
// ABCD|DCBA|BADC|CDAB, type, scale, and for OPC UA id = "ns=2;s=Tank.Level" or namespace_uri
// plus identifier. Modbus addresses are protocol (0-based) addresses; the 1-based "40001"
// style is accepted only with an explicit address_base: 1. Whole numbers are read as decimal even
// with leading zeros (the coil address 000010 is ten, not octal eight), and 1.5 is refused.
package point

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/harness/yamlfile"
)

// FormatVersion is the point map format this build reads.
const FormatVersion = 1

// Map is a compiled point map.
type Map struct {
	Version     int
	Name        string
	Description string
	Modbus      MapModbus
	OPCUA       MapOPCUA
	Points      []Point
	byTag       map[string]int
}

// MapModbus holds map-wide Modbus defaults.
type MapModbus struct {
	ByteOrder   ByteOrder
	AddressBase int
}

// MapOPCUA holds map-wide OPC UA defaults.
type MapOPCUA struct {
	NamespaceURI string
}

// Point is one logical tag.
type Point struct {
	Tag         string
	Description string
	Type        Type // the value's type: what OPC UA serves and scenarios see
	Length      int  // characters, for strings
	Unit        string
	Writable    bool
	Modbus      *ModbusAddr // nil: not reachable over Modbus
	OPCUA       *OPCUANode  // nil: not reachable over OPC UA
}

// ModbusAddr is where a point lives in a Modbus device.
type ModbusAddr struct {
	Register Register
	Address  uint16 // protocol (0-based) address
	Wire     Wire
}

// End is one past the last register the point occupies.
func (a ModbusAddr) End() int { return int(a.Address) + a.Wire.Registers() }

func (a ModbusAddr) String() string {
	if a.Register.IsBit() || a.Wire.Registers() == 1 {
		return fmt.Sprintf("%s %d", a.Register, a.Address)
	}
	return fmt.Sprintf("%s %d+%d", a.Register, a.Address, a.Wire.Registers())
}

// OPCUANode names an OPC UA variable: either ID ("ns=2;s=Tank.Level"), or NamespaceURI plus
// Identifier ("s=Tank.Level"), or a BrowsePath from the Objects folder ("Tank/Level"). The
// driver resolves it at connect time.
type OPCUANode struct {
	ID           string
	NamespaceURI string
	Identifier   string
	BrowsePath   string
}

func (n OPCUANode) String() string {
	switch {
	case n.ID != "":
		return n.ID
	case n.Identifier != "":
		return "nsu=" + n.NamespaceURI + ";" + n.Identifier
	}
	return "browse:" + n.BrowsePath
}

type rawMap struct {
	Version     whole         `yaml:"version"`
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Modbus      *rawMapModbus `yaml:"modbus"`
	OPCUA       *rawMapOPCUA  `yaml:"opcua"`
	Points      []rawPoint    `yaml:"points"`
}

type rawMapModbus struct {
	ByteOrder   string `yaml:"byte_order"`
	AddressBase *whole `yaml:"address_base"`
}

type rawMapOPCUA struct {
	NamespaceURI string `yaml:"namespace_uri"`
}

type rawPoint struct {
	Tag         string        `yaml:"tag"`
	Description string        `yaml:"description"`
	Type        string        `yaml:"type"`
	Length      whole         `yaml:"length"`
	Unit        string        `yaml:"unit"`
	Writable    bool          `yaml:"writable"`
	Modbus      *rawModbus    `yaml:"modbus"`
	OPCUA       *rawOPCUANode `yaml:"opcua"`
}

type rawModbus struct {
	Register    string   `yaml:"register"`
	Address     *whole   `yaml:"address"`
	AddressBase *whole   `yaml:"address_base"`
	Type        string   `yaml:"type"`
	ByteOrder   string   `yaml:"byte_order"`
	Scale       *float64 `yaml:"scale"`
	Offset      float64  `yaml:"offset"`
	Bit         *whole   `yaml:"bit"`
}

type rawOPCUANode struct {
	ID             string `yaml:"id"`
	NamespaceURI   string `yaml:"namespace_uri"`
	IdentifierType string `yaml:"identifier_type"`
	Identifier     string `yaml:"identifier"`
	BrowsePath     string `yaml:"browse_path"`
}

// whole is a whole number in a point map, read as the engineer wrote it. The YAML decoder
// reads a leading zero as octal, so the coil address 000010 (Modicon style) would silently
// become 8, and it truncates 1.5 to 1. whole reads digits as decimal (0x, 0o and 0b are
// explicit prefixes) and keeps anything else for compile to report at its position.
type whole struct {
	n   int
	lit string // the text as written, when why is set
	why string // "is not a whole number" or "is too large"; empty when n is good
}

// UnmarshalYAML receives the node's source text from the YAML decoder. It never fails, so
// that the problem is reported by compile with the key's position and what was expected.
func (x *whole) UnmarshalYAML(b []byte) error {
	s := strings.TrimSpace(string(b))
	s = strings.TrimSpace(strings.TrimPrefix(s, "!!int"))
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	base := 10
	if d := strings.TrimLeft(s, "+-"); len(d) > 2 && d[0] == '0' && strings.ContainsRune("xXoObB", rune(d[1])) {
		base = 0
	}
	n, err := strconv.ParseInt(s, base, strconv.IntSize)
	switch {
	case errors.Is(err, strconv.ErrRange):
		*x = whole{lit: s, why: "is too large"}
	case err != nil:
		*x = whole{lit: s, why: "is not a whole number"}
	default:
		*x = whole{n: int(n)}
	}
	return nil
}

var tagPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var nodeIDPattern = regexp.MustCompile(`^(ns=\d+;|nsu=[^;]+;)?[sigb]=.+$`)

// Load reads and compiles a point map file.
func Load(path string) (*Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("point map: %w", err)
	}
	return Parse(path, data)
}

// Parse compiles a point map; name is used in error messages.
func Parse(name string, data []byte) (*Map, error) {
	var raw rawMap
	if err := yamlfile.Decode(name, data, &raw); err != nil {
		return nil, err
	}
	m, err := compile(&raw)
	if err != nil {
		return nil, yamlfile.LocateBytes(name, data, err)
	}
	return m, nil
}

// problems collects the errors of one compile, each at a YAML path.
type problems []error

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, yamlfile.At(path, format, args...))
}

// whole reports x if it is not a good whole number; it returns whether x is good.
func (ps *problems) whole(path string, x whole, expected string) bool {
	if x.why == "" {
		return true
	}
	key := path[strings.LastIndexByte(path, '.')+1:]
	ps.add(path, "%s %q %s; expected %s", key, x.lit, x.why, expected)
	return false
}

func compile(raw *rawMap) (*Map, error) {
	var ps problems
	if ps.whole("$.version", raw.Version, fmt.Sprintf("version: %d", FormatVersion)) && raw.Version.n != FormatVersion {
		ps.add("$.version", "version %d is not supported; expected version: %d", raw.Version.n, FormatVersion)
	}
	m := &Map{Version: raw.Version.n, Name: raw.Name, Description: raw.Description, byTag: map[string]int{}}
	if raw.Modbus != nil {
		o, err := ParseByteOrder(raw.Modbus.ByteOrder)
		if err != nil {
			ps.add("$.modbus.byte_order", "%v", err)
		}
		m.Modbus.ByteOrder = o
		if ab := raw.Modbus.AddressBase; ab != nil && ps.whole("$.modbus.address_base", *ab, "0 or 1") {
			if b := ab.n; b != 0 && b != 1 {
				ps.add("$.modbus.address_base", "address_base %d; expected 0 (protocol addresses) or 1 (1-based, 40001 style)", b)
			}
			m.Modbus.AddressBase = ab.n
		}
	}
	if raw.OPCUA != nil {
		m.OPCUA.NamespaceURI = raw.OPCUA.NamespaceURI
	}
	if len(raw.Points) == 0 {
		ps.add("$.points", "no points; expected a list of points with tag, type and modbus and/or opcua")
	}
	var rawAt []int // index in raw.Points of each of m.Points, for error paths
	for i, rp := range raw.Points {
		at := fmt.Sprintf("$.points[%d]", i)
		p := m.compilePoint(&ps, at, rp)
		if p.Tag == "" {
			continue
		}
		if j, dup := m.byTag[p.Tag]; dup {
			ps.add(at+".tag", "tag %q is already defined by point %d", p.Tag, rawAt[j]+1)
			continue
		}
		m.byTag[p.Tag] = len(m.Points)
		m.Points = append(m.Points, p)
		rawAt = append(rawAt, i)
	}
	m.checkOverlaps(&ps, rawAt)
	return m, errors.Join(ps...)
}

func (m *Map) compilePoint(ps *problems, at string, rp rawPoint) Point {
	p := Point{Tag: rp.Tag, Description: rp.Description, Unit: rp.Unit, Writable: rp.Writable}
	if !tagPattern.MatchString(rp.Tag) {
		ps.add(at+".tag", "tag %q; expected a name of letters, digits and _ that does not start with a digit", rp.Tag)
		p.Tag = ""
	}
	t, err := ParseType(rp.Type)
	if err != nil {
		ps.add(at+".type", "%v", err)
	}
	p.Type = t
	if ps.whole(at+".length", rp.Length, "the number of characters") {
		p.Length = rp.Length.n
		if t == TypeString && p.Length <= 0 {
			ps.add(at+".length", "a string point needs length: the number of characters")
		}
	}
	if rp.Modbus == nil && rp.OPCUA == nil {
		ps.add(at, "point %q has neither modbus nor opcua; expected at least one", rp.Tag)
	}
	if rp.Modbus != nil {
		p.Modbus = m.compileModbus(ps, at+".modbus", p, rp.Modbus)
	}
	if rp.OPCUA != nil {
		n := &OPCUANode{ID: rp.OPCUA.ID, BrowsePath: rp.OPCUA.BrowsePath, NamespaceURI: rp.OPCUA.NamespaceURI}
		if n.NamespaceURI == "" {
			n.NamespaceURI = m.OPCUA.NamespaceURI
		}
		if rp.OPCUA.Identifier != "" {
			it := rp.OPCUA.IdentifierType
			if it == "" {
				it = "s"
			}
			if !strings.Contains("sigb", it) || len(it) != 1 {
				ps.add(at+".opcua.identifier_type", "identifier_type %q; expected s, i, g or b", it)
			}
			n.Identifier = it + "=" + rp.OPCUA.Identifier
		}
		set := 0
		for _, s := range []string{n.ID, n.Identifier, n.BrowsePath} {
			if s != "" {
				set++
			}
		}
		switch {
		case set != 1:
			ps.add(at+".opcua", "expected exactly one of id, identifier (with namespace_uri) or browse_path")
		case n.ID != "" && !nodeIDPattern.MatchString(n.ID):
			ps.add(at+".opcua.id", "node id %q; expected the form ns=2;s=Tank.Level or i=1001", n.ID)
		case n.Identifier != "" && n.NamespaceURI == "":
			ps.add(at+".opcua", "identifier %q needs namespace_uri here or in the map's opcua section", n.Identifier)
		}
		p.OPCUA = n
	}
	return p
}

func (m *Map) compileModbus(ps *problems, at string, p Point, rm *rawModbus) *ModbusAddr {
	reg, err := ParseRegister(rm.Register)
	if err != nil {
		ps.add(at+".register", "%v", err)
	}
	w := Wire{Type: p.Type, Order: m.Modbus.ByteOrder, Length: p.Length, Offset: rm.Offset, Bit: -1}
	if rm.Type != "" {
		wt, err := ParseType(rm.Type)
		if err != nil {
			ps.add(at+".type", "%v", err)
		}
		w.Type = wt
		// the wire may carry a number in another number type (an int16 with scale 0.1 for a
		// float32 point), but only a string carries a string
		if err == nil && p.Type != TypeInvalid && (wt == TypeString) != (p.Type == TypeString) {
			ps.add(at+".type", "modbus type %s cannot carry a %s point; expected string for string points only", wt, p.Type)
		}
	}
	if rm.ByteOrder != "" {
		o, err := ParseByteOrder(rm.ByteOrder)
		if err != nil {
			ps.add(at+".byte_order", "%v", err)
		}
		w.Order = o
	}
	if rm.Scale != nil {
		if *rm.Scale == 0 {
			ps.add(at+".scale", "scale 0 would lose every value; expected a non-zero factor")
		}
		w.Scale = *rm.Scale
	}
	if rm.Bit != nil && ps.whole(at+".bit", *rm.Bit, "0 to 15") {
		if b := rm.Bit.n; b < 0 || b > 15 {
			ps.add(at+".bit", "bit %d; expected 0 to 15", b)
		} else {
			w.Bit = b
		}
		if w.Type != TypeBool || reg.IsBit() {
			ps.add(at+".bit", "bit applies only to a bool point in a holding or input register")
		}
	}
	if reg.IsBit() && w.Type != TypeBool {
		ps.add(at+".type", "a %s holds a single bit; expected type bool, got %s", reg, w.Type)
	}
	if p.Writable && reg != RegisterInvalid && !reg.Writable() {
		ps.add(at+".register", "point is writable but %s registers cannot be written by a Modbus master; expected holding or coil", reg)
	}
	if w.scaled() && (w.Type == TypeString || w.Type == TypeBool) {
		ps.add(at+".scale", "scale and offset apply to numbers, not %s", w.Type)
	}
	if rm.Address == nil {
		ps.add(at+".address", "missing address; expected the protocol (0-based) address")
		return nil
	}
	if !ps.whole(at+".address", *rm.Address, "the protocol (0-based) address") {
		return nil
	}
	base := m.Modbus.AddressBase
	if rm.AddressBase != nil && ps.whole(at+".address_base", *rm.AddressBase, "0 or 1") {
		base = rm.AddressBase.n
		if base != 0 && base != 1 {
			ps.add(at+".address_base", "address_base %d; expected 0 or 1", base)
		}
	}
	addr := rm.Address.n
	if base == 1 {
		addr = fromOneBased(reg, addr)
	}
	if addr < 0 || addr > 65535 {
		ps.add(at+".address", "address %d (protocol address %d) is outside 0..65535", rm.Address.n, addr)
		return nil
	}
	if addr+w.Registers() > 65536 {
		ps.add(at+".address", "%s at %d runs past address 65535", w.Type, addr)
	}
	return &ModbusAddr{Register: reg, Address: uint16(addr), Wire: w}
}

// fromOneBased turns a 1-based address (1, or the Modicon 40001 / 400001 style) into a
// protocol address.
func fromOneBased(reg Register, a int) int {
	pfx := reg.modiconPrefix()
	switch {
	case pfx > 0 && a > pfx*100000 && a <= pfx*100000+65536:
		return a - pfx*100000 - 1
	case pfx > 0 && a > pfx*10000 && a <= pfx*10000+9999:
		return a - pfx*10000 - 1
	}
	return a - 1
}

// checkOverlaps refuses two points on the same registers of the same table. Two different bits
// of one register are fine; the same bit twice is not. The error is on the point that comes
// later in the file. rawAt maps m.Points to raw.Points for the error path.
func (m *Map) checkOverlaps(ps *problems, rawAt []int) {
	type span struct {
		start, end int // registers start..end-1
		bit        int
		idx        int // in m.Points
	}
	tables := map[Register][]span{}
	for i, p := range m.Points {
		if a := p.Modbus; a != nil {
			tables[a.Register] = append(tables[a.Register], span{int(a.Address), a.End(), a.Wire.Bit, i})
		}
	}
	// in a fixed order, so that the errors are the same every time (an unknown register is
	// reported already; its points are not compared)
	for _, reg := range []Register{RegisterCoil, RegisterDiscrete, RegisterInput, RegisterHolding} {
		spans := tables[reg]
		sort.SliceStable(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
		// active holds the earlier spans that still reach the current start; a long string can
		// overlap several later points, not only its neighbour
		var active []span
		for _, cur := range spans {
			keep := active[:0]
			for _, s := range active {
				if s.end > cur.start {
					keep = append(keep, s)
				}
			}
			active = keep
			for _, prev := range active {
				if prev.bit >= 0 && cur.bit >= 0 && prev.bit != cur.bit {
					continue // two bits of one register
				}
				first, later := prev, cur
				if later.idx < first.idx {
					first, later = later, first
				}
				a, b := m.Points[first.idx], m.Points[later.idx]
				lo, hi := max(prev.start, cur.start), min(prev.end, cur.end)-1
				where := fmt.Sprintf("%s registers %d..%d", reg, lo, hi)
				if lo == hi {
					where = fmt.Sprintf("%s register %d", reg, lo)
				}
				if prev.bit >= 0 && cur.bit >= 0 {
					where += fmt.Sprintf(" bit %d", cur.bit)
				}
				ps.add(fmt.Sprintf("$.points[%d].modbus.address", rawAt[later.idx]), "%s overlaps %s on %s", b.Tag, a.Tag, where)
				break
			}
			active = append(active, cur)
		}
	}
}

// Point returns the point with this tag.
func (m *Map) Point(tag string) (Point, bool) {
	i, ok := m.byTag[tag]
	if !ok {
		return Point{}, false
	}
	return m.Points[i], true
}

// Tags lists the tags in file order.
func (m *Map) Tags() []string {
	out := make([]string, len(m.Points))
	for i, p := range m.Points {
		out[i] = p.Tag
	}
	return out
}

// Clone returns a deep copy, for callers that move points (firmware profiles do).
func (m *Map) Clone() *Map {
	c := *m
	c.Points = make([]Point, len(m.Points))
	c.byTag = make(map[string]int, len(m.byTag))
	for i, p := range m.Points {
		if p.Modbus != nil {
			a := *p.Modbus
			p.Modbus = &a
		}
		if p.OPCUA != nil {
			n := *p.OPCUA
			p.OPCUA = &n
		}
		c.Points[i] = p
		c.byTag[p.Tag] = i
	}
	return &c
}

// SetModbusAddress moves a point to another address in its table (used by firmware profiles
// that emulate a "moved register" regression).
func (m *Map) SetModbusAddress(tag string, addr uint16) error {
	i, ok := m.byTag[tag]
	if !ok || m.Points[i].Modbus == nil {
		return fmt.Errorf("no Modbus point %q", tag)
	}
	m.Points[i].Modbus.Address = addr
	return nil
}
