// Package schematest holds what the schema tests of harness/point and harness/scenario share:
// the JSON Schemas in docs/schema are what editors check files against, the parsers are the
// authority, and these helpers keep the two in step (the "Schema" sections of
// docs/scenario-format.md and docs/pointmap-format.md).
package schematest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ModelinePrefix starts the first line of a shipped file naming its schema.
const ModelinePrefix = "# yaml-language-server: $schema="

// Doc reads the schema at rel (relative to the repository root) as plain JSON values.
func Doc(t testing.TB, root, rel string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return doc
}

// Compile compiles the schema at rel (relative to the repository root).
func Compile(t testing.TB, root, rel string) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(rel, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(rel)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return s
}

// ValidateYAML decodes YAML into plain values, as an editor sees the file, and validates them.
func ValidateYAML(s *jsonschema.Schema, data []byte) error {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// Modeline returns the repository-relative schema that the first line of file names, or ""
// when the first line is not a modeline.
func Modeline(t testing.TB, root, file string, data []byte) string {
	t.Helper()
	first, _, _ := strings.Cut(string(data), "\n")
	ref, ok := strings.CutPrefix(strings.TrimRight(first, "\r"), ModelinePrefix)
	if !ok {
		return ""
	}
	abs := filepath.Join(filepath.Dir(file), filepath.FromSlash(ref))
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(rel)
}

// Leaf decides for a parser type that is not walked into (a scalar that decodes itself, a
// mapping of tags): done is true when the walk stops there; it may report errors itself.
type Leaf func(t testing.TB, typ reflect.Type, node map[string]any, at string) (done bool)

// CheckKeys walks the yaml tags of typ and the types under it and checks that the schema node
// has exactly those keys at the same place, with additionalProperties: false (the decoders
// are strict). root is the whole schema, for "#/definitions/..." references.
func CheckKeys(t testing.TB, root, node map[string]any, typ reflect.Type, at string, leaf Leaf) {
	t.Helper()
	node = resolveRef(t, root, node, at)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Kind() == reflect.Interface || (leaf != nil && leaf(t, typ, node, at)) {
		return
	}
	switch typ.Kind() {
	case reflect.Slice:
		items, ok := node["items"].(map[string]any)
		if !ok {
			t.Errorf("%s: the parser reads a list; the schema has no items", at)
			return
		}
		CheckKeys(t, root, items, typ.Elem(), at+"[]", leaf)
	case reflect.Map:
		ap, ok := node["additionalProperties"].(map[string]any)
		if !ok {
			t.Errorf("%s: the parser reads a mapping of any keys; the schema has no additionalProperties schema", at)
			return
		}
		CheckKeys(t, root, ap, typ.Elem(), at+".*", leaf)
	case reflect.Struct:
		if node["additionalProperties"] != false {
			t.Errorf("%s: the parser is strict; expected additionalProperties: false", at)
		}
		props, _ := node["properties"].(map[string]any)
		keys := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				t.Errorf("%s: field %s has no yaml key", at, f.Name)
				continue
			}
			keys[key] = true
			sub, ok := props[key].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: the parser accepts it, the schema does not have it", at, key)
				continue
			}
			CheckKeys(t, root, sub, f.Type, at+"."+key, leaf)
		}
		var extra []string
		for k := range props {
			if !keys[k] {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		for _, k := range extra {
			t.Errorf("%s.%s: in the schema, but the parser refuses it", at, k)
		}
	}
}

// resolveRef follows a local "#/definitions/name" reference.
func resolveRef(t testing.TB, root, node map[string]any, at string) map[string]any {
	t.Helper()
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		defs, _ := root["definitions"].(map[string]any)
		def, found := defs[name].(map[string]any)
		if !ok || !found {
			t.Fatalf("%s: $ref %q does not resolve", at, ref)
		}
		node = def
	}
	t.Fatalf("%s: $ref loop", at)
	return nil
}
