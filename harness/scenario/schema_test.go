package scenario

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/patchgate/patchgate/harness/internal/schematest"

	"github.com/patchgate/patchgate/harness/point"
)

// The JSON Schema in docs/schema is what editors (yaml-language-server) check scenario files
// against; the parser here is the authority. These tests keep the two in step: every shipped
// scenario names the schema in its first line and passes it, every key the parser accepts is in
// the schema at the same place (and no other), and files the parser refuses for an unknown key
// or a bad word are refused by the schema too.

const (
	repoRoot       = "../.."
	scenarioSchema = "docs/schema/scenario.schema.json"
	pointmapSchema = "docs/schema/pointmap.schema.json"
	modelinePrefix = schematest.ModelinePrefix
)

func compileSchema(t *testing.T, rel string) *jsonschema.Schema {
	return schematest.Compile(t, repoRoot, rel)
}

var validateYAML = schematest.ValidateYAML

func modelineSchema(t *testing.T, file string, data []byte) string {
	return schematest.Modeline(t, repoRoot, file, data)
}

// shippedScenarios lists the shipped scenario files: every scenarios/*.yaml, and each
// fixtures/thirdparty/*.yaml whose modeline names the scenario schema. It fails for a file
// without a modeline naming one of the two schemas.
func shippedScenarios(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"scenarios/*.yaml", "scenarios/pointmaps/*.yaml", "fixtures/thirdparty/*.yaml"} {
		files, err := filepath.Glob(filepath.Join(repoRoot, pat))
		if err != nil || len(files) == 0 {
			t.Fatalf("no files %s (%v)", pat, err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			switch filepath.Dir(pat) {
			case "scenarios":
				want = scenarioSchema
			case "scenarios/pointmaps":
				want = pointmapSchema
			}
			got := modelineSchema(t, f, data)
			switch {
			case got != scenarioSchema && got != pointmapSchema:
				t.Errorf("%s: first line should be %s<relative path to %s or %s>", f, modelinePrefix, scenarioSchema, pointmapSchema)
			case want != "" && got != want:
				t.Errorf("%s: the modeline names %s; expected %s", f, got, want)
			case got == scenarioSchema:
				out = append(out, f)
			}
		}
	}
	return out
}

func TestShippedScenariosMatchSchema(t *testing.T) {
	s := compileSchema(t, scenarioSchema)
	files := shippedScenarios(t)
	if len(files) < 10 {
		t.Fatalf("only %d scenario files found", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Load(f, ""); err != nil {
				t.Fatalf("the parser refuses it: %v", err)
			}
			if err := validateYAML(s, data); err != nil {
				t.Errorf("the parser accepts it, the schema does not:\n%v", err)
			}
		})
	}
}

// TestSchemaKeysMatchParser walks the yaml tags of rawScenario and the types under it and
// checks the schema has exactly those keys at the same place, with additionalProperties: false
// (the decoder is strict).
func TestSchemaKeysMatchParser(t *testing.T) {
	root := schematest.Doc(t, repoRoot, scenarioSchema)
	leaf := func(t testing.TB, typ reflect.Type, node map[string]any, at string) bool {
		if typ != reflect.TypeFor[yaml.MapSlice]() {
			return false
		}
		// write: {Tag: value, ...}: keys are tags, not format words
		if _, ok := node["additionalProperties"].(map[string]any); !ok {
			t.Errorf("%s: expected a schema for the values (additionalProperties)", at)
		}
		return true
	}
	schematest.CheckKeys(t, root, root, reflect.TypeFor[rawScenario](), "$", leaf)
}

// A base scenario that both accept, and variants the parser refuses for a key or a word.
const schemaBase = `version: 1
name: schema-base
points: tank.yaml
sample: {period: 50ms, tags: [Level, ScanCount, InletValve]}
allow:
  - tag: InletValve
    values: [true, false]
  - tag: Setpoint
    min: 0
    max: 100
setup:
  - write: {InletValve: false}
steps:
  - mark: go
  - write: {InletValve: true, Setpoint: 60}
  - wait_until: Level > 60
    timeout: 5s
    severity: critical
    id: filled
  - expect: not InletValve
    within: 1s
  - pulse: {tag: InletValve, value: false, for: 200ms}
  - restart: {}
  - reconnect: {}
  - wait: 1m30s
probes:
  - {name: sp, kind: scan_period, counter: ScanCount, tolerance: {relative: 2%}, severity: minor}
  - {name: rt, kind: response, from: go, until: Level > 55, tolerance: {absolute: 250ms}}
  - {kind: round_trip, tolerance: {relative: "0.5", absolute: 0.005}}
  - {name: poll, kind: load, tags: [Level], rate: 100, for: 5s, errors: 1%, tolerance: {absolute: 2ms}}
load_limit: {rate: 100, for: 10s}
posture: {ports: [502, 4840], rate: 20, timeout: 500ms, severity: major}
tolerances:
  Level: {absolute: 0.5, relative: "1%", shift: 200ms, severity: minor}
verdict: {major_is_nogo: false}
`

func TestSchemaRefusesWhatParserRefuses(t *testing.T) {
	s := compileSchema(t, scenarioSchema)
	pm, err := point.Load(filepath.Join(repoRoot, "scenarios/pointmaps/tank.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	parseIt := func(src string) error {
		_, err := Parse("s.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
		return err
	}
	if err := parseIt(schemaBase); err != nil {
		t.Fatalf("base: the parser refuses it: %v", err)
	}
	if err := validateYAML(s, []byte(schemaBase)); err != nil {
		t.Fatalf("base: the schema refuses it: %v", err)
	}
	for _, c := range []struct{ name, old, new string }{
		{"unknown top-level key", "verdict:", "verdit:"},
		{"unknown step key", "    timeout: 5s", "    timout: 5s"},
		{"unknown sample key", "{period: 50ms,", "{perod: 50ms,"},
		{"unknown verdict key", "major_is_nogo", "major_is_no_go"},
		{"unknown tolerance key", "shift: 200ms", "lag: 200ms"},
		{"unknown pulse key", "for: 200ms}", "for: 200ms, hold: 1s}"},
		{"unknown allow key", "    min: 0", "    minimum: 0"},
		{"bad severity", "severity: critical", "severity: high"},
		{"bad probe kind", "kind: round_trip", "kind: jitter"},
		{"bad duration", "wait: 1m30s", "wait: 90"},
		{"bad relative", `relative: "1%"`, `relative: "x"`},
		{"negative absolute", "absolute: 0.5", "absolute: -1"},
		{"two kinds in one step", "  - mark: go", "  - mark: go\n    wait: 1s"},
		{"empty step", "  - reconnect: {}", "  - id: nothing"},
		{"timeout on expect", "    within: 1s", "    timeout: 1s"},
		{"within and hold", "    within: 1s", "    within: 1s\n    hold: 1s"},
		{"wait_until without timeout", "    timeout: 5s\n", ""},
		{"no steps", "steps:", "stepz:"},
		{"values and a range", "  - tag: InletValve\n", "  - tag: InletValve\n    min: 0\n"},
		{"load without for", "rate: 100, for: 5s,", "rate: 100,"},
		{"rate on another probe", "{kind: round_trip,", "{kind: round_trip, rate: 5,"},
		{"load limit beyond a probe", "load_limit: {rate: 100,", "load_limit: {rate: 2000,"},
		{"unknown load limit key", "load_limit: {rate: 100,", "load_limit: {rps: 100,"},
		{"restart with a key", "restart: {}", "restart: {hard: true}"},
		{"unknown posture key", "posture: {ports:", "posture: {port:"},
		{"posture port out of range", "ports: [502, 4840]", "ports: [502, 70000]"},
		{"posture rate too high", "rate: 20, timeout: 500ms", "rate: 500, timeout: 500ms"},
		{"posture severity", "severity: major}\ntolerances", "severity: high}\ntolerances"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(schemaBase, c.old, c.new, 1)
			if src == schemaBase {
				t.Fatalf("%q is not in the base", c.old)
			}
			if err := parseIt(src); err == nil {
				t.Fatalf("the parser accepts it")
			}
			if err := validateYAML(s, []byte(src)); err == nil {
				t.Errorf("the parser refuses it, the schema accepts it")
			}
		})
	}
}
