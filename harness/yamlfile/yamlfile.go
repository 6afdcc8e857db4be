// Package yamlfile decodes the human-written YAML files of patchgate (point maps, scenarios,
// firmware profiles) so that every error an engineer sees carries file:line:column and says
// what was expected.
//
// Decoding is strict: an unknown key is an error, not a silently ignored typo (every unknown key
// is reported, in file order, with the keys allowed there), and so is a second document in the
// file. A UTF-8 byte order mark at the start is skipped. Semantic checks that run after
// decoding report a YAML path ("$.points[3].modbus.register"); Decode resolves that path back
// to the line and column of the offending node.
package yamlfile

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Error is a problem at a place in a file. Line and Col are 1-based; 0 means unknown.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// PathError is returned by validation code that knows where in the document the problem is
// but not the file position. Decode turns it into an *Error.
type PathError struct {
	Path string // YAML path, e.g. "$.points[2].modbus.type"
	Msg  string
}

func (e *PathError) Error() string { return e.Path + ": " + e.Msg }

// At builds a PathError.
func At(path, format string, args ...any) error {
	return &PathError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// bom is the UTF-8 byte order mark that Windows editors put at the start of a file. YAML allows
// it there; go-yaml would read it as part of the first key ("\ufeffversion").
var bom = []byte("\xef\xbb\xbf")

// Validator is implemented by documents that check themselves after decoding.
type Validator interface {
	Validate() error
}

// Decode parses data (named name in errors) into v strictly, then runs v.Validate if v
// implements Validator. Every returned error is an *Error, or an errors.Join of them.
func Decode(name string, data []byte, v any) error {
	data = bytes.TrimPrefix(data, bom)
	if len(bytes.TrimSpace(data)) == 0 {
		return &Error{File: name, Line: 1, Col: 1, Msg: "file is empty; expected a YAML document"}
	}
	file, err := parse(data)
	if err != nil {
		return fromYAML(name, err)
	}
	if err := check(name, file, v); err != nil {
		return err
	}
	if err := unmarshal(data, v); err != nil {
		return fromYAML(name, err)
	}
	val, ok := v.(Validator)
	if !ok {
		return nil
	}
	return Locate(name, file, val.Validate())
}

// check reports what go-yaml would ignore, report at random, or crash on: a second document, a
// tag without a value, and unknown keys (its strict mode names one of several, picked at
// random; check names all of them, in file order, with the keys that are allowed).
func check(name string, file *ast.File, v any) error {
	if len(file.Docs) == 0 || file.Docs[0] == nil {
		return nil
	}
	for _, d := range file.Docs[1:] {
		if d == nil || d.Body == nil {
			continue
		}
		pos := nodePos(d.Body)
		if d.Start != nil && d.Start.Position != nil {
			pos = d.Start.Position
		}
		line, col := 1, 1
		if pos != nil {
			line, col = pos.Line, pos.Column
		}
		return &Error{File: name, Line: line, Col: col, Msg: "a second YAML document; expected one document per file"}
	}
	var tags emptyTags
	ast.Walk(&tags, file.Docs[0])
	if tags.at != nil {
		return &Error{File: name, Line: tags.at.Line, Col: tags.at.Column, Msg: "a tag without a value; expected a value after the tag"}
	}
	var errs []error
	if v != nil {
		unknownKeys(name, file.Docs[0].Body, reflect.TypeOf(v), &errs)
	}
	return errors.Join(errs...)
}

// parse and unmarshal turn a panic of go-yaml on a malformed file into an error: a bad file
// must not stop the harness.
func parse(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this file (%v); expected plain YAML", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

func unmarshal(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this file (%v); expected plain YAML", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, yaml.Strict())
}

// emptyTags finds the first tag with no value ("key: !"): go-yaml v1.19 panics decoding one
// into a list.
type emptyTags struct{ at *token.Position }

func (e *emptyTags) Visit(n ast.Node) ast.Visitor {
	if e.at != nil {
		return nil
	}
	t, ok := n.(*ast.TagNode)
	if !ok {
		return e
	}
	if _, null := t.Value.(*ast.NullNode); (t.Value == nil || null) && (t.Start == nil || t.Start.Value != "!!null") {
		e.at = &token.Position{Line: 1, Column: 1}
		if t.Start != nil && t.Start.Position != nil {
			e.at = t.Start.Position
		}
		return nil
	}
	return e
}

// Locate rewrites PathErrors inside err (possibly joined) to *Error with positions from file.
func Locate(name string, file *ast.File, err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Locate(name, file, e))
		}
		return errors.Join(out...)
	}
	var pe *PathError
	if !errors.As(err, &pe) {
		var ye *Error
		if errors.As(err, &ye) {
			return err
		}
		return &Error{File: name, Msg: err.Error()}
	}
	line, col := position(file, pe.Path)
	// keep what wrapped the PathError ("unit 1: $.x: msg" becomes "unit 1: msg")
	msg := strings.Replace(err.Error(), pe.Error(), pe.Msg, 1)
	return &Error{File: name, Line: line, Col: col, Msg: msg}
}

// position finds the node at path, walking up to the nearest existing parent when the path
// names a key that is missing (so "missing field" errors point at the enclosing mapping).
//
// The position of a block mapping is that of its first key (go-yaml gives the ':' after it),
// and the position of a null value is that of its key (go-yaml gives the place after the ':').
func position(file *ast.File, path string) (int, int) {
	if file == nil || len(file.Docs) == 0 || file.Docs[0] == nil || file.Docs[0].Body == nil {
		return 1, 1
	}
	node := file.Docs[0].Body
	pos := nodePos(node)
	for _, seg := range splitPath(path) {
		next, key := child(node, seg)
		if next == nil {
			break
		}
		node = next
		if _, null := unwrap(next).(*ast.NullNode); null && key != nil {
			pos = key
		} else if p := nodePos(next); p != nil {
			pos = p
		}
	}
	if pos == nil {
		return 1, 1
	}
	return pos.Line, pos.Column
}

// splitPath splits "$.a.b[1].c" into "a", "b", "[1]", "c".
func splitPath(path string) []string {
	p := strings.TrimPrefix(path, "$")
	var segs []string
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
			continue
		case '[':
			i := strings.IndexByte(p, ']')
			if i < 0 {
				return append(segs, p)
			}
			segs, p = append(segs, p[:i+1]), p[i+1:]
			continue
		}
		i := strings.IndexAny(p, ".[")
		if i < 0 {
			i = len(p)
		}
		segs, p = append(segs, p[:i]), p[i:]
	}
	return segs
}

// child returns the node that seg ("key" or "[n]") names inside n, and for a key the position
// of the key itself; nil when there is none.
func child(n ast.Node, seg string) (ast.Node, *token.Position) {
	n = unwrap(n)
	if strings.HasPrefix(seg, "[") {
		i, err := strconv.Atoi(strings.Trim(seg, "[]"))
		sq, ok := n.(*ast.SequenceNode)
		if err != nil || !ok || i < 0 || i >= len(sq.Values) {
			return nil, nil
		}
		return sq.Values[i], nil
	}
	for _, mv := range pairs(n) {
		if key, tk := keyOf(mv); tk != nil && key == seg {
			return mv.Value, tk.Position
		}
	}
	return nil, nil
}

// unwrap looks through anchors and tags to the node they decorate.
func unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		default:
			return n
		}
	}
}

// nodePos is where an engineer would look for n: the first key of a block mapping.
func nodePos(n ast.Node) *token.Position {
	switch m := n.(type) {
	case nil:
		return nil
	case *ast.MappingNode:
		if !m.IsFlowStyle && len(m.Values) > 0 {
			return nodePos(m.Values[0])
		}
	case *ast.MappingValueNode:
		if !m.IsFlowStyle && m.Key != nil {
			if tk := m.Key.GetToken(); tk != nil {
				return tk.Position
			}
		}
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Position
	}
	return nil
}

// fromYAML converts a go-yaml error into an *Error with its position.
func fromYAML(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		tk := ye.GetToken()
		msg := ye.GetMessage()
		// go-yaml's type errors name Go types and struct fields ("cannot unmarshal string into
		// Go struct field rawMap.Points of type int"); say what the file should have held
		var te *yaml.TypeError
		var oe *yaml.OverflowError
		switch {
		case errors.As(err, &te):
			msg = "expected " + describe(te.DstType) + ", got " + describe(te.SrcType)
			if tk != nil && isScalar(te.SrcType) {
				msg += " " + strconv.Quote(tk.Value)
			}
		case errors.As(err, &oe):
			msg = fmt.Sprintf("%s is out of range; expected %s that fits %s", oe.SrcNum, describe(oe.DstType), oe.DstType)
		}
		if tk != nil && tk.Position != nil {
			return &Error{File: name, Line: tk.Position.Line, Col: tk.Position.Column, Msg: msg}
		}
		return &Error{File: name, Msg: msg}
	}
	return &Error{File: name, Msg: err.Error()}
}

// unknownKeys appends an *Error for each key of n that the Go type t has no field for, walking
// into the values the way the decoder will. It stops at types that decode themselves and at
// aliases (the strict decoder still checks those).
func unknownKeys(name string, n ast.Node, t reflect.Type, errs *[]error) {
	n = unwrap(n)
	if n == nil || t == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		if decodesItself(t) {
			return
		}
		t = t.Elem()
	}
	if decodesItself(reflect.PointerTo(t)) {
		return
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if sq, ok := n.(*ast.SequenceNode); ok {
			for _, e := range sq.Values {
				unknownKeys(name, e, t.Elem(), errs)
			}
		}
	case reflect.Map:
		for _, mv := range pairs(n) {
			unknownKeys(name, mv.Value, t.Elem(), errs)
		}
	case reflect.Struct:
		fields := map[string]reflect.Type{}
		var names []string
		structKeys(t, fields, &names)
		for _, mv := range pairs(n) {
			key, tk := keyOf(mv)
			if key == "<<" || tk == nil {
				continue // a merge key
			}
			ft, ok := fields[key]
			if !ok {
				line, col := 0, 0
				if tk.Position != nil {
					line, col = tk.Position.Line, tk.Position.Column
				}
				*errs = append(*errs, &Error{File: name, Line: line, Col: col,
					Msg: fmt.Sprintf("unknown field %q; expected one of %s", key, strings.Join(names, ", "))})
				continue
			}
			unknownKeys(name, mv.Value, ft, errs)
		}
	}
}

// structKeys collects the YAML keys of struct type t as the decoder names them: the yaml (or
// json) tag, else the lower-cased field name; inline fields add their own keys.
func structKeys(t reflect.Type, fields map[string]reflect.Type, names *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" {
			tag = f.Tag.Get("json")
		}
		if (f.PkgPath != "" && !f.Anonymous) || tag == "-" {
			continue
		}
		opts := strings.Split(tag, ",")
		if slices.Contains(opts[1:], "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structKeys(ft, fields, names)
			}
			continue
		}
		key := opts[0]
		if key == "" {
			key = strings.ToLower(f.Name)
		}
		fields[key] = f.Type
		*names = append(*names, key)
	}
}

var selfDecoders = []reflect.Type{
	reflect.TypeFor[yaml.BytesUnmarshaler](),
	reflect.TypeFor[yaml.BytesUnmarshalerContext](),
	reflect.TypeFor[yaml.InterfaceUnmarshaler](),
	reflect.TypeFor[yaml.InterfaceUnmarshalerContext](),
	reflect.TypeFor[yaml.NodeUnmarshaler](),
	reflect.TypeFor[yaml.NodeUnmarshalerContext](),
	reflect.TypeFor[encoding.TextUnmarshaler](),
}

// decodesItself reports whether values of t unmarshal themselves.
func decodesItself(t reflect.Type) bool {
	for _, i := range selfDecoders {
		if t.Implements(i) {
			return true
		}
	}
	return false
}

// pairs lists the key: value pairs of a mapping node (none for other nodes).
func pairs(n ast.Node) []*ast.MappingValueNode {
	switch m := unwrap(n).(type) {
	case *ast.MappingNode:
		return m.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}
	}
	return nil
}

// keyOf returns the text and token of a pair's key.
func keyOf(mv *ast.MappingValueNode) (string, *token.Token) {
	if mv == nil || mv.Key == nil {
		return "", nil
	}
	var k ast.Node = mv.Key
	if mk, ok := k.(*ast.MappingKeyNode); ok && mk.Value != nil {
		k = mk.Value
	}
	tk := k.GetToken()
	if tk == nil {
		return "", nil
	}
	return tk.Value, tk
}

// describe names a Go type in the words of a YAML file.
func describe(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number of 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping of key: value"
	}
	return "a value"
}

func isScalar(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct, reflect.Interface:
		return false
	}
	return true
}

// LocateBytes is Locate for callers that hold the source bytes rather than a parsed file.
func LocateBytes(name string, data []byte, err error) error {
	file, perr := parse(bytes.TrimPrefix(data, bom))
	if perr != nil {
		return err
	}
	return Locate(name, file, err)
}
