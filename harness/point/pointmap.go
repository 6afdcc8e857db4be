// Package point defines the point map (logical tag name to protocol address) and the one value
// codec that the Modbus driver and the simulated controllers share.
//
// A point map is YAML with a format version. Its words are those OT engineers know from
// telegraf's modbus and opcua inputs: register = holding|input|coil|discrete, byte_order =
// ABCD|DCBA|BADC|CDAB, type, scale, and for OPC UA id = "ns=2;s=Tank.Level" or namespace_uri
// plus identifier. Modbus addresses are protocol (0-based) addresses; the 1-based "40001"
// style is accepted only with an explicit address_base: 1.
package point

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
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
	Version     int           `yaml:"version"`
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Modbus      *rawMapModbus `yaml:"modbus"`
	OPCUA       *rawMapOPCUA  `yaml:"opcua"`
	Points      []rawPoint    `yaml:"points"`
}

type rawMapModbus struct {
	ByteOrder   string `yaml:"byte_order"`
	AddressBase *int   `yaml:"address_base"`
}

type rawMapOPCUA struct {
	NamespaceURI string `yaml:"namespace_uri"`
}

type rawPoint struct {
	Tag         string        `yaml:"tag"`
	Description string        `yaml:"description"`
	Type        string        `yaml:"type"`
	Length      int           `yaml:"length"`
	Unit        string        `yaml:"unit"`
	Writable    bool          `yaml:"writable"`
	Modbus      *rawModbus    `yaml:"modbus"`
	OPCUA       *rawOPCUANode `yaml:"opcua"`
}

type rawModbus struct {
	Register    string   `yaml:"register"`
	Address     *int     `yaml:"address"`
	AddressBase *int     `yaml:"address_base"`
	Type        string   `yaml:"type"`
	ByteOrder   string   `yaml:"byte_order"`
	Scale       *float64 `yaml:"scale"`
	Offset      float64  `yaml:"offset"`
	Bit         *int     `yaml:"bit"`
}

type rawOPCUANode struct {
	ID             string `yaml:"id"`
	NamespaceURI   string `yaml:"namespace_uri"`
	IdentifierType string `yaml:"identifier_type"`
	Identifier     string `yaml:"identifier"`
	BrowsePath     string `yaml:"browse_path"`
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

func compile(raw *rawMap) (*Map, error) {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, yamlfile.At(path, format, args...))
	}
	if raw.Version != FormatVersion {
		bad("$.version", "version %d is not supported; expected version: %d", raw.Version, FormatVersion)
	}
	m := &Map{Version: raw.Version, Name: raw.Name, Description: raw.Description, byTag: map[string]int{}}
	if raw.Modbus != nil {
		o, err := ParseByteOrder(raw.Modbus.ByteOrder)
		if err != nil {
			bad("$.modbus.byte_order", "%v", err)
		}
		m.Modbus.ByteOrder = o
		if raw.Modbus.AddressBase != nil {
			if b := *raw.Modbus.AddressBase; b != 0 && b != 1 {
				bad("$.modbus.address_base", "address_base %d; expected 0 (protocol addresses) or 1 (1-based, 40001 style)", b)
			}
			m.Modbus.AddressBase = *raw.Modbus.AddressBase
		}
	}
	if raw.OPCUA != nil {
		m.OPCUA.NamespaceURI = raw.OPCUA.NamespaceURI
	}
	if len(raw.Points) == 0 {
		bad("$.points", "no points; expected a list of points with tag, type and modbus and/or opcua")
	}
	for i, rp := range raw.Points {
		at := fmt.Sprintf("$.points[%d]", i)
		p, perrs := m.compilePoint(at, rp)
		errs = append(errs, perrs...)
		if p.Tag == "" {
			continue
		}
		if j, dup := m.byTag[p.Tag]; dup {
			bad(at+".tag", "tag %q is already defined by point %d", p.Tag, j+1)
			continue
		}
		m.byTag[p.Tag] = len(m.Points)
		m.Points = append(m.Points, p)
	}
	errs = append(errs, m.checkOverlaps(raw)...)
	return m, errors.Join(errs...)
}

func (m *Map) compilePoint(at string, rp rawPoint) (Point, []error) {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, yamlfile.At(path, format, args...))
	}
	p := Point{Tag: rp.Tag, Description: rp.Description, Unit: rp.Unit, Writable: rp.Writable, Length: rp.Length}
	if !tagPattern.MatchString(rp.Tag) {
		bad(at+".tag", "tag %q; expected a name of letters, digits and _ that does not start with a digit", rp.Tag)
		p.Tag = ""
	}
	t, err := ParseType(rp.Type)
	if err != nil {
		bad(at+".type", "%v", err)
	}
	p.Type = t
	if t == TypeString && rp.Length <= 0 {
		bad(at+".length", "a string point needs length: the number of characters")
	}
	if rp.Modbus == nil && rp.OPCUA == nil {
		bad(at, "point %q has neither modbus nor opcua; expected at least one", rp.Tag)
	}
	if rp.Modbus != nil {
		a, merrs := m.compileModbus(at+".modbus", p, rp.Modbus)
		errs = append(errs, merrs...)
		p.Modbus = a
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
				bad(at+".opcua.identifier_type", "identifier_type %q; expected s, i, g or b", it)
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
			bad(at+".opcua", "expected exactly one of id, identifier (with namespace_uri) or browse_path")
		case n.ID != "" && !nodeIDPattern.MatchString(n.ID):
			bad(at+".opcua.id", "node id %q; expected the form ns=2;s=Tank.Level or i=1001", n.ID)
		case n.Identifier != "" && n.NamespaceURI == "":
			bad(at+".opcua", "identifier %q needs namespace_uri here or in the map's opcua section", n.Identifier)
		}
		p.OPCUA = n
	}
	return p, errs
}

func (m *Map) compileModbus(at string, p Point, rm *rawModbus) (*ModbusAddr, []error) {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, yamlfile.At(path, format, args...))
	}
	reg, err := ParseRegister(rm.Register)
	if err != nil {
		bad(at+".register", "%v", err)
	}
	w := Wire{Type: p.Type, Order: m.Modbus.ByteOrder, Length: p.Length, Offset: rm.Offset, Bit: -1}
	if rm.Type != "" {
		wt, err := ParseType(rm.Type)
		if err != nil {
			bad(at+".type", "%v", err)
		}
		w.Type = wt
	}
	if rm.ByteOrder != "" {
		o, err := ParseByteOrder(rm.ByteOrder)
		if err != nil {
			bad(at+".byte_order", "%v", err)
		}
		w.Order = o
	}
	if rm.Scale != nil {
		if *rm.Scale == 0 {
			bad(at+".scale", "scale 0 would lose every value; expected a non-zero factor")
		}
		w.Scale = *rm.Scale
	}
	if rm.Bit != nil {
		if *rm.Bit < 0 || *rm.Bit > 15 {
			bad(at+".bit", "bit %d; expected 0 to 15", *rm.Bit)
		} else {
			w.Bit = *rm.Bit
		}
		if w.Type != TypeBool || reg.IsBit() {
			bad(at+".bit", "bit applies only to a bool point in a holding or input register")
		}
	}
	if reg.IsBit() && w.Type != TypeBool {
		bad(at+".type", "a %s holds a single bit; expected type bool, got %s", reg, w.Type)
	}
	if p.Writable && reg != RegisterInvalid && !reg.Writable() {
		bad(at+".register", "point is writable but %s registers cannot be written by a Modbus master; expected holding or coil", reg)
	}
	if w.Type == TypeString && w.Length <= 0 {
		bad(at+".type", "a string needs the point's length")
	}
	if w.scaled() && (w.Type == TypeString || w.Type == TypeBool) {
		bad(at+".scale", "scale and offset apply to numbers, not %s", w.Type)
	}
	if rm.Address == nil {
		bad(at+".address", "missing address; expected the protocol (0-based) address")
		return nil, errs
	}
	base := m.Modbus.AddressBase
	if rm.AddressBase != nil {
		base = *rm.AddressBase
		if base != 0 && base != 1 {
			bad(at+".address_base", "address_base %d; expected 0 or 1", base)
		}
	}
	addr := *rm.Address
	if base == 1 {
		addr = fromOneBased(reg, addr)
	}
	if addr < 0 || addr > 65535 {
		bad(at+".address", "address %d (protocol address %d) is outside 0..65535", *rm.Address, addr)
		return nil, errs
	}
	if addr+w.Registers() > 65536 {
		bad(at+".address", "%s at %d runs past address 65535", w.Type, addr)
	}
	return &ModbusAddr{Register: reg, Address: uint16(addr), Wire: w}, errs
}

// fromOneBased turns a 1-based address (1, or the Modicon 40001 / 400001 style) into a
// protocol address.
func fromOneBased(reg Register, a int) int {
	pfx := reg.modiconPrefix()
	switch {
	case pfx >= 0 && a > pfx*100000 && a <= pfx*100000+65536 && pfx > 0:
		return a - pfx*100000 - 1
	case pfx >= 0 && a > pfx*10000 && a <= pfx*10000+9999 && pfx > 0:
		return a - pfx*10000 - 1
	}
	return a - 1
}

// checkOverlaps refuses two points on the same registers of the same table (two bits of one
// register are fine).
func (m *Map) checkOverlaps(raw *rawMap) []error {
	type span struct {
		start, end int
		bit        int
		idx        int
	}
	tables := map[Register][]span{}
	for i, p := range m.Points {
		if p.Modbus == nil {
			continue
		}
		a := p.Modbus
		tables[a.Register] = append(tables[a.Register], span{int(a.Address), a.End(), a.Wire.Bit, i})
	}
	var errs []error
	for reg, spans := range tables {
		sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
		for i := 1; i < len(spans); i++ {
			prev, cur := spans[i-1], spans[i]
			if cur.start >= prev.end {
				continue
			}
			if prev.bit >= 0 && cur.bit >= 0 && prev.bit != cur.bit && prev.start == cur.start {
				continue
			}
			a, b := m.Points[prev.idx], m.Points[cur.idx]
			errs = append(errs, yamlfile.At(fmt.Sprintf("$.points[%d].modbus.address", m.rawIndex(raw, b.Tag)),
				"%s overlaps %s on %s registers %d..%d", b.Tag, a.Tag, reg, prev.start, prev.end-1))
		}
	}
	return errs
}

func (m *Map) rawIndex(raw *rawMap, tag string) int {
	for i, rp := range raw.Points {
		if rp.Tag == tag {
			return i
		}
	}
	return 0
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
