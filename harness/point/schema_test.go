package point

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

// The JSON Schema in docs/schema is what editors (yaml-language-server) check point maps
// against; the parser here is the authority. These tests keep the two in step: every shipped
// point map names the schema in its first line and passes it, every key the parser accepts is
// in the schema at the same place (and no other), and maps the parser refuses for an unknown key
// or a bad word are refused by the schema too.

const (
	repoRoot       = "../.."
	pointmapSchema = "docs/schema/pointmap.schema.json"
	modelinePrefix = "# yaml-language-server: $schema="
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, pointmapSchema))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(pointmapSchema, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(pointmapSchema)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validateYAML decodes YAML into plain values, as an editor sees the file, and validates them.
func validateYAML(s *jsonschema.Schema, data []byte) error {
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

// shippedPointMaps lists scenarios/pointmaps/*.yaml, which must name the point map schema in
// their first line, and each fixtures/thirdparty/*.yaml whose first line names it.
func shippedPointMaps(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"scenarios/pointmaps/*.yaml", "fixtures/thirdparty/*.yaml"} {
		files, err := filepath.Glob(filepath.Join(repoRoot, pat))
		if err != nil || len(files) == 0 {
			t.Fatalf("no files %s (%v)", pat, err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			ref, ok := strings.CutPrefix(strings.TrimRight(first, "\r"), modelinePrefix)
			rel, _ := filepath.Rel(repoRoot, filepath.Join(filepath.Dir(f), filepath.FromSlash(ref)))
			names := ok && filepath.ToSlash(rel) == pointmapSchema
			switch {
			case names:
				out = append(out, f)
			case strings.HasPrefix(pat, "scenarios/"):
				t.Errorf("%s: first line should be %s%s", f, modelinePrefix, filepath.ToSlash(must(filepath.Rel(filepath.Dir(f), filepath.Join(repoRoot, pointmapSchema)))))
			}
		}
	}
	return out
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestShippedMapsMatchSchema(t *testing.T) {
	s := compileSchema(t)
	files := shippedPointMaps(t)
	if len(files) < 8 {
		t.Fatalf("only %d point maps name the schema", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(f, data); err != nil {
				t.Fatalf("the parser refuses it: %v", err)
			}
			if err := validateYAML(s, data); err != nil {
				t.Errorf("the parser accepts it, the schema does not:\n%v", err)
			}
		})
	}
}

// TestSchemaKeysMatchParser walks the yaml tags of rawMap and the types under it and checks the
// schema has exactly those keys at the same place, with additionalProperties: false (the
// decoder is strict).
func TestSchemaKeysMatchParser(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, pointmapSchema))
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	checkSchemaKeys(t, root, root, reflect.TypeFor[rawMap](), "$")
}

func checkSchemaKeys(t *testing.T, root, node map[string]any, typ reflect.Type, at string) {
	t.Helper()
	node = resolveRef(t, root, node, at)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == reflect.TypeFor[whole]() || typ.Kind() == reflect.Interface {
		return // a scalar that decodes itself
	}
	switch typ.Kind() {
	case reflect.Slice:
		items, ok := node["items"].(map[string]any)
		if !ok {
			t.Errorf("%s: the parser reads a list; the schema has no items", at)
			return
		}
		checkSchemaKeys(t, root, items, typ.Elem(), at+"[]")
	case reflect.Map:
		ap, ok := node["additionalProperties"].(map[string]any)
		if !ok {
			t.Errorf("%s: the parser reads a mapping of any keys; the schema has no additionalProperties schema", at)
			return
		}
		checkSchemaKeys(t, root, ap, typ.Elem(), at+".*")
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
			checkSchemaKeys(t, root, sub, f.Type, at+"."+key)
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
func resolveRef(t *testing.T, root, node map[string]any, at string) map[string]any {
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

// A base map that both accept, and variants the parser refuses for a key or a word.
const schemaBaseMap = `version: 1
name: schema-base
description: every key once
modbus: {byte_order: CDAB, address_base: 0}
opcua: {namespace_uri: "urn:x"}
points:
  - tag: Level
    description: tank level
    type: float32
    unit: "%"
    modbus: {register: input, address: 0, type: uint16, scale: 0.01, offset: 0, byte_order: ABCD}
    opcua: {identifier: Tank.Level}
  - tag: Alarm
    type: bool
    modbus: {register: holding, address: 40002, address_base: 1, bit: 3}
    opcua: {id: "ns=2;s=Tank.Alarm"}
  - tag: Mode
    type: uint16
    writable: true
    modbus: {register: holding, address: 000010}
    opcua: {identifier: "1001", identifier_type: i, namespace_uri: "urn:y"}
  - tag: Serial
    type: string
    length: 10
    opcua: {browse_path: "Tank/Serial"}
`

func TestSchemaRefusesWhatParserRefuses(t *testing.T) {
	s := compileSchema(t)
	if _, err := Parse("m.yaml", []byte(schemaBaseMap)); err != nil {
		t.Fatalf("base: the parser refuses it: %v", err)
	}
	if err := validateYAML(s, []byte(schemaBaseMap)); err != nil {
		t.Fatalf("base: the schema refuses it: %v", err)
	}
	for _, c := range []struct{ name, old, new string }{
		{"unknown top-level key", "description: every", "descr: every"},
		{"unknown point key", "    unit: \"%\"", "    units: \"%\""},
		{"unknown modbus key", "offset: 0,", "ofset: 0,"},
		{"unknown map modbus key", "address_base: 0}", "base: 0}"},
		{"unknown opcua key", "{identifier: Tank.Level}", "{ident: Tank.Level}"},
		{"bad type", "type: float32", "type: real"},
		{"bad register", "register: input", "register: memory"},
		{"bad byte order", "byte_order: CDAB", "byte_order: XYZW"},
		{"bad address base", "address_base: 0}", "address_base: 2}"},
		{"bad identifier_type", "identifier_type: i", "identifier_type: x"},
		{"bad node id", `id: "ns=2;s=Tank.Alarm"`, `id: "Tank.Alarm"`},
		{"bit out of range", "bit: 3", "bit: 16"},
		{"fractional address", "address: 0,", "address: 1.5,"},
		{"bad tag", "tag: Level", "tag: 1Level"},
		{"string without length", "    length: 10\n", ""},
		{"no protocol", "    opcua: {browse_path: \"Tank/Serial\"}\n", ""},
		{"two node forms", "{identifier: Tank.Level}", "{identifier: Tank.Level, browse_path: Tank/Level}"},
		{"scale 0", "scale: 0.01", "scale: 0"},
		{"version 2", "version: 1", "version: 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(schemaBaseMap, c.old, c.new, 1)
			if src == schemaBaseMap {
				t.Fatalf("%q is not in the base", c.old)
			}
			if _, err := Parse("m.yaml", []byte(src)); err == nil {
				t.Fatalf("the parser accepts it")
			}
			if err := validateYAML(s, []byte(src)); err == nil {
				t.Errorf("the parser refuses it, the schema accepts it")
			}
		})
	}
}
