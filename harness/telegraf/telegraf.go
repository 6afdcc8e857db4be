// Package telegraf converts a telegraf configuration into point maps (docs/pointmap-format.md,
// "From a telegraf configuration"): one map per [[inputs.modbus]] or [[inputs.opcua]] plugin
// instance. What cannot be converted is an *Error at file:line; what converts but may not mean
// what the engineer thinks (a 40001-style address, an OPC UA node whose type telegraf does not
// say) is a Warning returned beside the maps.
package telegraf

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/patchgate/patchgate/harness/point"
)

// Map is the point map of one input plugin instance.
type Map struct {
	Name   string // file-name safe and unique in the result: the CLI writes Name+".yaml"
	Plugin string // "inputs.modbus" or "inputs.opcua"
	Line   int    // the line of the plugin's [[header]]
	Target string // where telegraf polls it ("modbus://host:502?unit=1", "opc.tcp://..."), if it says
	Points int
	YAML   []byte // loads with point.Parse
}

// Error is a part of the configuration that cannot be converted.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Warning is a part that converted but deserves a look.
type Warning struct {
	File string
	Line int
	Msg  string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// Convert reads a telegraf configuration and returns a point map per modbus and opcua input.
// file names the configuration in messages. The error joins every *Error found; with an
// error there are no maps.
func Convert(file string, data []byte) ([]Map, []Warning, error) {
	root, err := parse(file, data)
	if err != nil {
		return nil, nil, err
	}
	c := &converter{file: file, names: map[string]bool{}, mbTypes: map[string]fieldType{}}
	inputs := root.get("inputs")
	if inputs == nil || inputs.kind != kTable {
		return nil, nil, &Error{File: file, Line: 1, Msg: "no [[inputs.modbus]] or [[inputs.opcua]]; expected a telegraf configuration with at least one"}
	}
	mb, ua := c.instances(inputs.tab, "modbus"), c.instances(inputs.tab, "opcua")
	if len(mb)+len(ua) == 0 {
		return nil, nil, &Error{File: file, Line: inputs.line, Msg: "no [[inputs.modbus]] or [[inputs.opcua]]; expected a telegraf configuration with at least one"}
	}
	for _, t := range mb {
		c.modbus(t)
	}
	// OPC UA nodes take their type from a Modbus field of the same name, so modbus first
	for _, t := range ua {
		c.opcua(t)
	}
	if len(c.probs) > 0 {
		return nil, c.warns, errors.Join(c.probs...)
	}
	return c.maps, c.warns, nil
}

type converter struct {
	file    string
	maps    []Map
	warns   []Warning
	probs   []error
	names   map[string]bool
	mbTypes map[string]fieldType // Modbus field name -> its point type, for OPC UA nodes
}

type fieldType struct {
	t      point.Type
	length int
}

func (c *converter) errorf(line int, format string, args ...any) {
	c.probs = append(c.probs, &Error{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (c *converter) warnf(line int, format string, args ...any) {
	c.warns = append(c.warns, Warning{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (c *converter) instances(inputs *table, plugin string) []*table {
	v := inputs.get(plugin)
	if v == nil {
		return nil
	}
	if v.kind == kTable { // [inputs.modbus]: one instance
		return []*table{v.tab}
	}
	var ts []*table
	if v.kind == kArray {
		for _, e := range v.arr {
			if e.kind == kTable {
				ts = append(ts, e.tab)
				continue
			}
			c.errorf(e.line, "inputs.%s holds %s; expected [[inputs.%s]] tables", plugin, e.kind, plugin)
		}
		return ts
	}
	c.errorf(v.line, "inputs.%s is %s; expected [[inputs.%s]] tables", plugin, v.kind, plugin)
	return nil
}

// Typed getters: each reports a value of the wrong kind at its line and returns ok=false.

func (c *converter) str(t *table, key string) (string, int, bool) {
	v := t.get(key)
	if v == nil {
		return "", t.line, false
	}
	if v.kind != kString {
		c.errorf(v.line, "%s is %s; expected a string", key, v.kind)
		return "", v.line, false
	}
	return v.str, v.line, true
}

func (c *converter) integer(t *table, key string) (int64, int, bool) {
	v := t.get(key)
	if v == nil {
		return 0, t.line, false
	}
	if v.kind != kInt {
		c.errorf(v.line, "%s is %s; expected a whole number", key, v.kind)
		return 0, v.line, false
	}
	return v.i, v.line, true
}

func (c *converter) number(t *table, key string) (float64, int, bool) {
	v := t.get(key)
	if v == nil {
		return 0, t.line, false
	}
	switch v.kind {
	case kFloat:
		return v.f, v.line, true
	case kInt:
		return float64(v.i), v.line, true
	}
	c.errorf(v.line, "%s is %s; expected a number", key, v.kind)
	return 0, v.line, false
}

func (c *converter) boolean(t *table, key string) bool {
	v := t.get(key)
	if v == nil {
		return false
	}
	if v.kind != kBool {
		c.errorf(v.line, "%s is %s; expected true or false", key, v.kind)
		return false
	}
	return v.b
}

// tables returns the tables of an array of (inline or [[bracketed]]) tables.
func (c *converter) tables(t *table, key string) []*table {
	v := t.get(key)
	if v == nil {
		return nil
	}
	if v.kind != kArray {
		c.errorf(v.line, "%s is %s; expected a list of tables", key, v.kind)
		return nil
	}
	var ts []*table
	for _, e := range v.arr {
		if e.kind != kTable {
			c.errorf(e.line, "an entry of %s is %s; expected a table such as { name = \"x\", ... }", key, e.kind)
			continue
		}
		ts = append(ts, e.tab)
	}
	return ts
}

// mapName is the plugin's name_override or name, else the host it polls, else the plugin
// and its place; made file-name safe and unique.
func (c *converter) mapName(t *table, plugin string, nth int, addr string) string {
	name := ""
	for _, k := range []string{"name_override", "name"} {
		if s, _, ok := c.str(t, k); ok && strings.TrimSpace(s) != "" {
			name = s
			break
		}
	}
	if name == "" && addr != "" {
		if u, err := url.Parse(addr); err == nil && u.Hostname() != "" {
			name = u.Hostname()
		}
	}
	if name == "" {
		name = fmt.Sprintf("%s-%d", plugin, nth)
	}
	name = strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if name == "" {
		name = fmt.Sprintf("%s-%d", plugin, nth)
	}
	base := name
	for i := 2; c.names[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	c.names[name] = true
	return name
}

var (
	unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
	tagUnsafe  = regexp.MustCompile(`[^A-Za-z0-9_]+`)
)

// tagNamer turns telegraf field names into point map tags: letters, digits and _, not
// starting with a digit, unique within the map.
type tagNamer map[string]bool

func (n tagNamer) tag(name string) string {
	t := strings.Trim(tagUnsafe.ReplaceAllString(name, "_"), "_")
	if t == "" {
		t = "point"
	}
	if t[0] >= '0' && t[0] <= '9' {
		t = "p" + t
	}
	base := t
	for i := 2; n[t]; i++ {
		t = fmt.Sprintf("%s_%d", base, i)
	}
	n[t] = true
	return t
}
