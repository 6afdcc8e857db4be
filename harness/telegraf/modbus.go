package telegraf

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"

	"github.com/patchgate/patchgate/harness/point"
)

// dataType is a telegraf data_type (register style) or type (request style) word, as a
// point map wire type. regs is how many registers it takes (0: by the address list).
type dataType struct {
	wire   point.Type
	regs   int
	signed bool // FIXED: int by the address count; UFIXED: uint
	bit    bool // BIT: one bit of the register
}

var (
	// telegraf's plugins/inputs/modbus configuration_register.go and README: data_type
	registerTypes = map[string]dataType{
		"INT16": {wire: point.TypeInt16, regs: 1}, "UINT16": {wire: point.TypeUint16, regs: 1},
		"INT32": {wire: point.TypeInt32, regs: 2}, "UINT32": {wire: point.TypeUint32, regs: 2},
		"INT64": {wire: point.TypeInt64, regs: 4}, "UINT64": {wire: point.TypeUint64, regs: 4},
		"FLOAT32-IEEE": {wire: point.TypeFloat32, regs: 2}, "FLOAT64-IEEE": {wire: point.TypeFloat64, regs: 4},
		"FIXED": {signed: true}, "UFIXED": {}, "FLOAT32": {}, // FLOAT32 is telegraf's old alias of UFIXED here
		"BIT": {wire: point.TypeBool, regs: 1, bit: true}, "STRING": {wire: point.TypeString},
	}
	// request style: type (FLOAT32 is IEEE here)
	requestTypes = map[string]dataType{
		"INT16": {wire: point.TypeInt16, regs: 1}, "UINT16": {wire: point.TypeUint16, regs: 1},
		"INT32": {wire: point.TypeInt32, regs: 2}, "UINT32": {wire: point.TypeUint32, regs: 2},
		"INT64": {wire: point.TypeInt64, regs: 4}, "UINT64": {wire: point.TypeUint64, regs: 4},
		"FLOAT32": {wire: point.TypeFloat32, regs: 2}, "FLOAT64": {wire: point.TypeFloat64, regs: 4},
		"BIT": {wire: point.TypeBool, regs: 1, bit: true}, "STRING": {wire: point.TypeString},
	}
	// byte orders of both styles, as our four (docs/pointmap-format.md, "Byte order")
	byteOrders = map[string]string{
		"AB": "ABCD", "ABCD": "ABCD", "ABCDEFGH": "ABCD", "MSW-BE": "ABCD", "MSW": "ABCD",
		"BA": "DCBA", "DCBA": "DCBA", "HGFEDCBA": "DCBA", "LSW-LE": "DCBA", "LSW": "DCBA",
		"BADC": "BADC", "BADCFEHG": "BADC", "MSW-LE": "BADC",
		"CDAB": "CDAB", "GHEFCDAB": "CDAB", "LSW-BE": "CDAB",
	}
	noPointType = map[string]bool{"INT8L": true, "INT8H": true, "UINT8L": true, "UINT8H": true, "FLOAT16-IEEE": true, "FLOAT16": true}
)

const registerTypeWords = "INT16, UINT16, INT32, UINT32, INT64, UINT64, FLOAT32-IEEE, FLOAT64-IEEE, FIXED, UFIXED, BIT or STRING"
const requestTypeWords = "INT16, UINT16, INT32, UINT32, INT64, UINT64, FLOAT32, FLOAT64, BIT or STRING"
const byteOrderWords = "ABCD, DCBA, BADC, CDAB (or AB, BA, ABCDEFGH, HGFEDCBA, BADCFEHG, GHEFCDAB, MSW-BE, MSW-LE, LSW-BE, LSW-LE)"

func (c *converter) byteOrder(t *table) (string, bool) {
	s, line, ok := c.str(t, "byte_order")
	if !ok {
		return "ABCD", true
	}
	o, known := byteOrders[strings.ToUpper(s)]
	if !known {
		c.errorf(line, "unknown byte_order %q; expected %s", s, byteOrderWords)
		return "", false
	}
	return o, true
}

func (c *converter) dataType(t *table, key string, words map[string]dataType, list string) (dataType, string, bool) {
	s, line, ok := c.str(t, key)
	if !ok {
		if t.get(key) == nil {
			c.errorf(t.line, "missing %s; expected one of %s", key, list)
		}
		return dataType{}, "", false
	}
	w := strings.ToUpper(s)
	dt, known := words[w]
	switch {
	case known:
		return dt, w, true
	case noPointType[w]:
		c.errorf(line, "%s %q has no point map type (a point is at least one whole register); expected one of %s, e.g. UINT16 for the whole register", key, s, list)
	default:
		c.errorf(line, "unknown %s %q; expected one of %s", key, s, list)
	}
	return dataType{}, "", false
}

// scale reads a telegraf scale: absent or 1 is none.
func (c *converter) scale(t *table) (float64, bool) {
	f, line, ok := c.number(t, "scale")
	if !ok {
		return 0, t.get("scale") == nil
	}
	if f == 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		c.errorf(line, "scale %v; expected a finite number other than 0", f)
		return 0, false
	}
	if f == 1 {
		return 0, true
	}
	return f, true
}

// modicon warns about an address that looks like a 1-based documentation number: telegraf
// sends it as the protocol address, as the point map will.
func (c *converter) modicon(line int, reg string, addr int, name string) {
	prefix := map[string]int{"holding": 4, "input": 3, "discrete": 1}[reg]
	if prefix == 0 {
		return
	}
	if (addr > prefix*10000 && addr <= prefix*10000+9999) || (addr > prefix*100000 && addr <= prefix*100000+65536) {
		base := prefix * 10000
		if addr > prefix*100000 {
			base = prefix * 100000
		}
		c.warnf(line, "%s: %s address %d looks like a 1-based Modicon number, but telegraf sends addresses as they are and so does the map (address_base 0): it reads protocol address %d (0x%04X), not %d; if the device's manual numbers from %d, the address is %d",
			name, reg, addr, addr, addr, addr-base-1, base+1, addr-base-1)
	}
}

func (c *converter) modbus(t *table) {
	controller, _, _ := c.str(t, "controller")
	slave, _, _ := c.integer(t, "slave_id")
	style := "register"
	if s, line, ok := c.str(t, "configuration_type"); ok {
		style = strings.ToLower(s)
		if style != "register" && style != "request" {
			c.errorf(line, "configuration_type %q is not converted; expected register or request", s)
			return
		}
	}
	if style == "register" && t.get("request") != nil && t.get("configuration_type") == nil {
		c.errorf(t.get("request").line, "[[inputs.modbus.request]] needs configuration_type = \"request\" in its [[inputs.modbus]]")
		return
	}
	nth := len(c.maps) + 1
	name := c.mapName(t, "modbus", nth, controller)
	if style == "register" {
		pts := c.registerStyle(t)
		c.emitModbus(t, name, controller, slave, "register", pts)
		return
	}
	// request style: one map per slave_id, since a point map serves one unit
	bySlave := map[int64][]pt{}
	for _, rq := range c.tables(t, "request") {
		s, _, _ := c.integer(rq, "slave_id")
		bySlave[s] = append(bySlave[s], c.requestStyle(rq)...)
	}
	if len(bySlave) == 0 {
		c.errorf(t.line, "configuration_type \"request\" without [[inputs.modbus.request]]; expected at least one request")
		return
	}
	slaves := make([]int64, 0, len(bySlave))
	for s := range bySlave {
		slaves = append(slaves, s)
	}
	sort.Slice(slaves, func(i, j int) bool { return slaves[i] < slaves[j] })
	for i, s := range slaves {
		n := name
		if len(slaves) > 1 {
			if i == 0 {
				delete(c.names, name)
			}
			n = c.mapName(&table{m: map[string]*value{"name": {kind: kString, str: fmt.Sprintf("%s-unit%d", name, s)}}}, "modbus", nth, "")
		}
		c.emitModbus(t, n, controller, s, "request", bySlave[s])
	}
}

func (c *converter) registerStyle(t *table) []pt {
	var pts []pt
	names := tagNamer{}
	for _, l := range []struct{ key, reg string }{{"coils", "coil"}, {"discrete_inputs", "discrete"}, {"holding_registers", "holding"}, {"input_registers", "input"}} {
		for _, f := range c.tables(t, l.key) {
			if p, ok := c.registerField(f, l.key, l.reg, names); ok {
				pts = append(pts, p)
			}
		}
	}
	return pts
}

func (c *converter) addresses(f *table, name string) ([]int, int, bool) {
	v := f.get("address")
	if v == nil {
		c.errorf(f.line, "%s: missing address; expected a list of 0-based protocol addresses such as [0, 1]", name)
		return nil, f.line, false
	}
	var elems []*value
	switch v.kind {
	case kInt:
		elems = []*value{v}
	case kArray:
		elems = v.arr
	default:
		c.errorf(v.line, "%s: address is %s; expected a list of 0-based protocol addresses such as [0, 1]", name, v.kind)
		return nil, v.line, false
	}
	if len(elems) == 0 {
		c.errorf(v.line, "%s: address is empty; expected a list of 0-based protocol addresses such as [0, 1]", name)
		return nil, v.line, false
	}
	var as []int
	for _, e := range elems {
		if e.kind != kInt || e.i < 0 || e.i > 65535 {
			c.errorf(v.line, "%s: address entry %s; expected a protocol address 0 to 65535", name, show(e))
			return nil, v.line, false
		}
		as = append(as, int(e.i))
	}
	return as, v.line, true
}

func show(v *value) string {
	switch v.kind {
	case kInt:
		return fmt.Sprint(v.i)
	case kString:
		return fmt.Sprintf("%q", v.str)
	}
	return v.kind.String()
}

func (c *converter) fieldName(f *table, what string) (string, bool) {
	n, _, ok := c.str(f, "name")
	if !ok || strings.TrimSpace(n) == "" {
		if f.get("name") == nil || ok {
			c.errorf(f.line, "%s without a name; expected name = \"...\"", what)
		}
		return "", false
	}
	return n, true
}

func (c *converter) registerField(f *table, list, reg string, names tagNamer) (pt, bool) {
	name, ok := c.fieldName(f, "an entry of "+list)
	if !ok {
		return pt{}, false
	}
	as, aline, ok := c.addresses(f, name)
	if !ok {
		return pt{}, false
	}
	p := pt{line: f.line, name: name, mb: &mbAddr{reg: reg, addr: as[0], bit: -1}}
	if reg == "coil" || reg == "discrete" {
		if s, line, ok := c.str(f, "data_type"); ok && s != "" && !strings.EqualFold(s, "BOOL") && !strings.EqualFold(s, "UINT16") {
			c.errorf(line, "%s: data_type %q in %s; expected BOOL or UINT16 (a bit reads 0 or 1)", name, s, list)
			return pt{}, false
		}
		if len(as) != 1 {
			c.errorf(aline, "%s: %d addresses in %s; expected one bit address such as [3]", name, len(as), list)
			return pt{}, false
		}
		p.typ = point.TypeBool
		c.modicon(aline, reg, as[0], name)
		return c.finish(p, names), true
	}
	for i := 1; i < len(as); i++ {
		if as[i] != as[i-1]+1 {
			c.errorf(aline, "%s: address list %v is not contiguous; expected consecutive registers %d, %d, ... (a value is read from one run of registers)", name, as, as[0], as[0]+1)
			return pt{}, false
		}
	}
	dt, word, ok := c.dataType(f, "data_type", registerTypes, registerTypeWords)
	if !ok {
		return pt{}, false
	}
	order, ok := c.byteOrder(f)
	if !ok {
		return pt{}, false
	}
	scale, ok := c.scale(f)
	if !ok {
		return pt{}, false
	}
	p.mb.order = order
	switch {
	case dt.bit:
		if len(as) != 1 {
			c.errorf(aline, "%s: BIT with %d addresses; expected one register address", name, len(as))
			return pt{}, false
		}
		b, bline, _ := c.integer(f, "bit")
		if b < 0 || b > 15 {
			c.errorf(bline, "%s: bit %d; expected 0 to 15", name, b)
			return pt{}, false
		}
		p.typ, p.mb.bit = point.TypeBool, int(b)
	case dt.wire == point.TypeString:
		p.typ, p.length = point.TypeString, 2*len(as)
	case dt.regs == 0: // FIXED, UFIXED: the integer is as wide as the address list
		w, ok := map[int]point.Type{1: point.TypeUint16, 2: point.TypeUint32, 4: point.TypeUint64}[len(as)]
		if !ok {
			c.errorf(aline, "%s: %s with %d addresses; expected 1, 2 or 4 registers", name, word, len(as))
			return pt{}, false
		}
		if dt.signed {
			w = map[point.Type]point.Type{point.TypeUint16: point.TypeInt16, point.TypeUint32: point.TypeInt32, point.TypeUint64: point.TypeInt64}[w]
		}
		p.typ, p.mb.wire = w, w
	default:
		if len(as) != dt.regs {
			c.errorf(aline, "%s: %s takes %d register(s); expected an address list of %d, got %v", name, word, dt.regs, dt.regs, as)
			return pt{}, false
		}
		p.typ = dt.wire
	}
	if scale != 0 {
		if !isNumber(p.typ) {
			c.errorf(f.get("scale").line, "%s: scale on %s; expected scale only on numbers", name, word)
			return pt{}, false
		}
		p.mb.wire, p.mb.scale, p.typ = p.typ, scale, point.TypeFloat64
	}
	c.modicon(aline, reg, as[0], name)
	return c.finish(p, names), true
}

func (c *converter) requestStyle(rq *table) []pt {
	reg := "holding"
	if s, line, ok := c.str(rq, "register"); ok {
		reg = strings.ToLower(s)
		switch reg {
		case "holding", "input", "coil", "discrete":
		default:
			c.errorf(line, "unknown register %q; expected coil, discrete, holding or input", s)
			return nil
		}
	}
	order, ok := c.byteOrder(rq)
	if !ok {
		return nil
	}
	var pts []pt
	names := tagNamer{}
	for _, f := range c.tables(rq, "fields") {
		if c.boolean(f, "omit") {
			continue
		}
		name, ok := c.fieldName(f, "a field")
		if !ok {
			continue
		}
		a, aline, ok := c.integer(f, "address")
		if !ok {
			if f.get("address") == nil {
				c.errorf(f.line, "%s: missing address; expected the 0-based protocol address", name)
			}
			continue
		}
		if a < 0 || a > 65535 {
			c.errorf(aline, "%s: address %d; expected a protocol address 0 to 65535", name, a)
			continue
		}
		p := pt{line: f.line, name: name, mb: &mbAddr{reg: reg, addr: int(a), bit: -1}}
		c.modicon(aline, reg, int(a), name)
		if reg == "coil" || reg == "discrete" {
			p.typ = point.TypeBool
			pts = append(pts, c.finish(p, names))
			continue
		}
		dt, word, ok := c.dataType(f, "type", requestTypes, requestTypeWords)
		if !ok {
			continue
		}
		scale, ok := c.scale(f)
		if !ok {
			continue
		}
		p.mb.order = order
		switch {
		case dt.bit:
			b, bline, _ := c.integer(f, "bit")
			if b < 0 || b > 15 {
				c.errorf(bline, "%s: bit %d; expected 0 to 15", name, b)
				continue
			}
			p.typ, p.mb.bit = point.TypeBool, int(b)
		case dt.wire == point.TypeString:
			n, lline, ok := c.integer(f, "length")
			if !ok || n <= 0 || n > 125 {
				c.errorf(lline, "%s: STRING needs length, the number of registers (1 to 125)", name)
				continue
			}
			p.typ, p.length = point.TypeString, int(2*n)
		default:
			p.typ = dt.wire
		}
		if scale != 0 {
			if !isNumber(p.typ) {
				c.errorf(f.get("scale").line, "%s: scale on %s; expected scale only on numbers", name, word)
				continue
			}
			p.mb.wire, p.mb.scale, p.typ = p.typ, scale, point.TypeFloat64
		}
		pts = append(pts, c.finish(p, names))
	}
	return pts
}

// finish names the point's tag and remembers its type for OPC UA nodes of the same name.
func (c *converter) finish(p pt, names tagNamer) pt {
	p.tag = names.tag(p.name)
	if p.mb != nil {
		if _, seen := c.mbTypes[p.name]; !seen {
			c.mbTypes[p.name] = fieldType{t: p.typ, length: p.length}
		}
	}
	return p
}

func (c *converter) emitModbus(t *table, name, controller string, slave int64, style string, pts []pt) {
	if len(pts) == 0 {
		c.errorf(t.line, "[[inputs.modbus]] %q has no fields to convert; expected coils, discrete_inputs, holding_registers or input_registers (register style) or [[inputs.modbus.request]] fields", name)
		return
	}
	target := ""
	if u, err := url.Parse(controller); err == nil && u.Scheme == "tcp" && u.Host != "" {
		target = fmt.Sprintf("modbus://%s?unit=%d", u.Host, slave)
	}
	head := []string{
		fmt.Sprintf("Imported by patchgate import telegraf from %s:%d ([[inputs.modbus]], %s style).", c.file, t.line, style),
		"Addresses are telegraf's: 0-based protocol addresses, so address_base is 0",
		"(docs/pointmap-format.md, \"1-based documentation addresses\").",
		"Telegraf only reads: no point is writable; set writable: true where a scenario may write.",
	}
	if target != "" {
		head = append(head, "Target: "+target)
	} else if controller != "" {
		head = append(head, fmt.Sprintf("telegraf polls %s (slave_id %d)", controller, slave))
	}
	c.emit(t, name, "inputs.modbus", target, head, pts)
}

func (c *converter) emit(t *table, name, plugin, target string, head []string, pts []pt) {
	c.emitWith(t, name, plugin, target, head, pts, mapHead{})
}

// check keeps a map that point.Parse loads; anything else is a converter bug or a
// configuration the checks above let through (two fields on one register), reported at the
// plugin's line.
func (c *converter) check(t *table, name, plugin, target string, pts []pt, y []byte) {
	if _, err := point.Parse(name+".yaml", y); err != nil {
		c.errorf(t.line, "the point map of [[%s]] %q does not load: %v", plugin, name, err)
		return
	}
	c.maps = append(c.maps, Map{Name: name, Plugin: plugin, Line: t.line, Target: target, Points: len(pts), YAML: y})
}

func isNumber(t point.Type) bool { return t != point.TypeBool && t != point.TypeString }
