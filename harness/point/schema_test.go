package point

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/patchgate/patchgate/harness/internal/schematest"
)

// The JSON Schema in docs/schema is what editors (yaml-language-server) check point maps
// against; the parser here is the authority. These tests keep the two in step: every shipped
// point map names the schema in its first line and passes it, every key the parser accepts is
// in the schema at the same place (and no other), and maps the parser refuses for an unknown key
// or a bad word are refused by the schema too.

const (
	repoRoot       = "../.."
	pointmapSchema = "docs/schema/pointmap.schema.json"
	modelinePrefix = schematest.ModelinePrefix
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	return schematest.Compile(t, repoRoot, pointmapSchema)
}

var validateYAML = schematest.ValidateYAML

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
			names := schematest.Modeline(t, repoRoot, f, data) == pointmapSchema
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
	root := schematest.Doc(t, repoRoot, pointmapSchema)
	// whole decodes itself from a scalar
	leaf := func(_ testing.TB, typ reflect.Type, _ map[string]any, _ string) bool {
		return typ == reflect.TypeFor[whole]()
	}
	schematest.CheckKeys(t, root, root, reflect.TypeFor[rawMap](), "$", leaf)
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
