package telegraf

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// The configuration is read with go-toml's unstable parser (a kept library; it is the one
// that gives every value its place in the file) into a small tree of tables and values, each
// with its line, so every error and warning can name file:line. This is not a TOML parser:
// the syntax is go-toml's; tree.go only builds the tables the expressions describe.

type kind uint8

const (
	kString kind = iota + 1
	kInt
	kFloat
	kBool
	kArray
	kTable
	kOther // dates and times: no telegraf key of ours takes one
)

func (k kind) String() string {
	return [...]string{"", "a string", "an integer", "a float", "a boolean", "an array", "a table", "a date"}[k]
}

type value struct {
	line int
	kind kind
	str  string
	i    int64
	f    float64
	b    bool
	arr  []*value
	tab  *table
}

type table struct {
	line   int
	keys   []string // in file order
	m      map[string]*value
	header bool // defined by a [header], so a second [header] is a duplicate
}

func newTable(line int) *table { return &table{line: line, m: map[string]*value{}} }

func (t *table) get(k string) *value { return t.m[k] }

func (t *table) set(k string, v *value) bool {
	if _, dup := t.m[k]; dup {
		return false
	}
	t.keys = append(t.keys, k)
	t.m[k] = v
	return true
}

type reader struct {
	file  string
	p     unstable.Parser
	nl    []int // offsets of '\n'
	probs []error
}

func (r *reader) lineOf(off int) int { return sort.SearchInts(r.nl, off) + 1 }

func (r *reader) lineOfRange(rg unstable.Range) int { return r.lineOf(int(rg.Offset)) }

func (r *reader) errorf(line int, format string, args ...any) {
	r.probs = append(r.probs, &Error{File: r.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// parse reads a TOML document into its root table.
func parse(file string, data []byte) (*table, error) {
	r := &reader{file: file}
	for i, c := range data {
		if c == '\n' {
			r.nl = append(r.nl, i)
		}
	}
	r.p.Reset(data)
	root := newTable(1)
	cur := root
	for r.p.NextExpression() {
		e := r.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			keys, line := r.keyOf(e.Key())
			if t := r.header(root, keys, line, e.Kind == unstable.ArrayTable); t != nil {
				cur = t
			} else {
				cur = newTable(line) // keep reading into a table nobody sees
			}
		case unstable.KeyValue:
			r.keyValue(cur, e)
		}
	}
	if err := r.p.Error(); err != nil {
		var pe *unstable.ParserError
		line := len(r.nl) + 1
		if errors.As(err, &pe) && len(pe.Highlight) > 0 {
			line = r.lineOfRange(r.p.Range(pe.Highlight))
			return nil, &Error{File: file, Line: line, Msg: "not TOML: " + pe.Message}
		}
		return nil, &Error{File: file, Line: line, Msg: "not TOML: " + err.Error()}
	}
	if len(r.probs) > 0 {
		return nil, errors.Join(r.probs...)
	}
	return root, nil
}

func (r *reader) keyOf(it unstable.Iterator) ([]string, int) {
	var keys []string
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = r.lineOfRange(n.Raw)
		}
		keys = append(keys, string(n.Data))
	}
	return keys, line
}

// descend walks from t through keys, creating implicit tables; into an array of tables it
// goes to the last element, as TOML says.
func (r *reader) descend(t *table, keys []string, line int) *table {
	for _, k := range keys {
		v := t.get(k)
		switch {
		case v == nil:
			v = &value{line: line, kind: kTable, tab: newTable(line)}
			t.set(k, v)
		case v.kind == kArray && len(v.arr) > 0 && v.arr[len(v.arr)-1].kind == kTable:
			t = v.arr[len(v.arr)-1].tab
			continue
		case v.kind != kTable:
			r.errorf(line, "key %q is already %s (line %d); expected a table", k, v.kind, v.line)
			return nil
		}
		t = v.tab
	}
	return t
}

func (r *reader) header(root *table, keys []string, line int, array bool) *table {
	parent := r.descend(root, keys[:len(keys)-1], line)
	if parent == nil {
		return nil
	}
	last := keys[len(keys)-1]
	v := parent.get(last)
	if array {
		if v == nil {
			v = &value{line: line, kind: kArray}
			parent.set(last, v)
		} else if v.kind != kArray {
			r.errorf(line, "[[%s]]: key %q is already %s (line %d)", strings.Join(keys, "."), last, v.kind, v.line)
			return nil
		}
		t := newTable(line)
		v.arr = append(v.arr, &value{line: line, kind: kTable, tab: t})
		return t
	}
	switch {
	case v == nil:
		t := newTable(line)
		t.header = true
		parent.set(last, &value{line: line, kind: kTable, tab: t})
		return t
	case v.kind == kTable && !v.tab.header:
		v.tab.header = true
		return v.tab
	}
	r.errorf(line, "[%s] is already defined at line %d", strings.Join(keys, "."), v.line)
	return nil
}

func (r *reader) keyValue(t *table, e *unstable.Node) {
	keys, line := r.keyOf(e.Key())
	parent := r.descend(t, keys[:len(keys)-1], line)
	if parent == nil {
		return
	}
	v := r.value(e.Value(), line)
	if !parent.set(keys[len(keys)-1], v) {
		r.errorf(line, "key %q is already defined at line %d", strings.Join(keys, "."), parent.get(keys[len(keys)-1]).line)
	}
}

func (r *reader) value(n *unstable.Node, line int) *value {
	if n.Raw.Length > 0 || n.Raw.Offset > 0 {
		line = r.lineOfRange(n.Raw)
	}
	v := &value{line: line}
	switch n.Kind {
	case unstable.String:
		v.kind, v.str = kString, string(n.Data)
	case unstable.Bool:
		v.kind, v.b = kBool, string(n.Data) == "true"
	case unstable.Integer:
		i, err := strconv.ParseInt(strings.ReplaceAll(string(n.Data), "_", ""), 0, 64)
		if err != nil {
			r.errorf(line, "integer %s: %v", n.Data, err)
		}
		v.kind, v.i = kInt, i
	case unstable.Float:
		s := strings.ReplaceAll(string(n.Data), "_", "")
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			switch strings.TrimLeft(s, "+-") {
			case "inf":
				f = math.Inf(1)
				if strings.HasPrefix(s, "-") {
					f = math.Inf(-1)
				}
			case "nan":
				f = math.NaN()
			default:
				r.errorf(line, "float %s: %v", n.Data, err)
			}
		}
		v.kind, v.f = kFloat, f
	case unstable.Array:
		v.kind = kArray
		it := n.Children()
		for it.Next() {
			v.arr = append(v.arr, r.value(it.Node(), line))
		}
	case unstable.InlineTable:
		v.kind, v.tab = kTable, newTable(line)
		it := n.Children()
		for it.Next() {
			r.keyValue(v.tab, it.Node())
		}
	default:
		v.kind = kOther
	}
	return v
}
