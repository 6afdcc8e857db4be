// Package yamlfile decodes the human-written YAML files of patchgate (point maps, scenarios,
// firmware profiles) so that every error an engineer sees carries file:line:column and says
// what was expected.
//
// Decoding is strict: an unknown key is an error, not a silently ignored typo. Semantic checks
// that run after decoding report a YAML path ("$.points[3].modbus.register"); Decode resolves
// that path back to the line and column of the offending node.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
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

// Validator is implemented by documents that check themselves after decoding.
type Validator interface {
	Validate() error
}

// Decode parses data (named name in errors) into v strictly, then runs v.Validate if v
// implements Validator. Every returned error is an *Error, or an errors.Join of them.
func Decode(name string, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &Error{File: name, Line: 1, Col: 1, Msg: "file is empty; expected a YAML document"}
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return fromYAML(name, err)
	}
	if err := yaml.UnmarshalWithOptions(data, v, yaml.Strict()); err != nil {
		return fromYAML(name, err)
	}
	val, ok := v.(Validator)
	if !ok {
		return nil
	}
	return Locate(name, file, val.Validate())
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
	return &Error{File: name, Line: line, Col: col, Msg: pe.Msg}
}

// position finds the node at path, walking up to the nearest existing parent when the path
// names a key that is missing (so "missing field" errors point at the enclosing mapping).
func position(file *ast.File, path string) (int, int) {
	for p := path; p != ""; p = parent(p) {
		yp, err := yaml.PathString(p)
		if err != nil {
			continue
		}
		n, err := yp.FilterFile(file)
		if err != nil || n == nil {
			continue
		}
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return tk.Position.Line, tk.Position.Column
		}
	}
	return 1, 1
}

func parent(p string) string {
	if p == "$" {
		return ""
	}
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return "$"
	}
	return p[:i]
}

// fromYAML converts a go-yaml error into an *Error with its position.
func fromYAML(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		tk := ye.GetToken()
		msg := ye.GetMessage()
		if tk != nil && tk.Position != nil {
			return &Error{File: name, Line: tk.Position.Line, Col: tk.Position.Column, Msg: msg}
		}
		return &Error{File: name, Msg: msg}
	}
	return &Error{File: name, Msg: err.Error()}
}

// LocateBytes is Locate for callers that hold the source bytes rather than a parsed file.
func LocateBytes(name string, data []byte, err error) error {
	file, perr := parser.ParseBytes(data, 0)
	if perr != nil {
		return err
	}
	return Locate(name, file, err)
}
