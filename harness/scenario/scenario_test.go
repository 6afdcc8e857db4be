package scenario

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/yamlfile"
)

var update = flag.Bool("update", false, "rewrite golden files")

func tankMap(t testing.TB) *point.Map {
	t.Helper()
	pm, err := point.Load("../../scenarios/pointmaps/tank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func parse(t testing.TB, src string) (*Scenario, error) {
	pm := tankMap(t)
	return Parse("s.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
}

const header = `version: 1
name: t
points: tank.yaml
sample:
  period: 50ms
  tags: [Level, ScanCount, InletValve]
allow:
  - tag: InletValve
  - tag: Setpoint
    min: 0
    max: 100
`

func TestParseGood(t *testing.T) {
	sc, err := parse(t, header+`steps:
  - mark: go
  - write: {InletValve: true, Setpoint: 60}
  - wait_until: Level > 60
    timeout: 5s
    severity: critical
  - expect: not InletValve
    hold: 1s
  - pulse: {tag: InletValve, value: false, for: 200ms}
probes:
  - {name: sp, kind: scan_period, counter: ScanCount, tolerance: {relative: 2%}}
  - {name: rt, kind: response, from: go, until: Level > 55, tolerance: {absolute: 250ms}}
tolerances:
  Level: {absolute: 0.5, relative: "1%", shift: 200ms}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Steps) != 5 || sc.Steps[2].Kind != StepWaitUntil || sc.Steps[2].Timeout != 5*time.Second || sc.Steps[2].Severity != Critical {
		t.Errorf("steps %+v", sc.Steps)
	}
	if sc.Steps[1].Writes[1].Tag != "Setpoint" || sc.Steps[1].Writes[1].Value.Float() != 60 {
		t.Errorf("writes keep file order: %+v", sc.Steps[1].Writes)
	}
	if sc.Steps[3].Hold != time.Second {
		t.Errorf("hold %v", sc.Steps[3].Hold)
	}
	if sc.Probes[0].Tolerance.Relative != 0.02 || sc.Probes[1].Tolerance.Absolute != 0.25 {
		t.Errorf("probe tolerances %+v", sc.Probes)
	}
	if tol := sc.Tolerances["Level"]; tol.Absolute != 0.5 || tol.Relative != 0.01 || tol.Shift != 200*time.Millisecond {
		t.Errorf("Level tolerance %+v", tol)
	}
	if len(sc.Restore) != 2 || !sc.MajorIsNoGo {
		t.Errorf("restore %v, major is no-go %v", sc.Restore, sc.MajorIsNoGo)
	}
}

// TestParseErrors: each malformed scenario gets a clear error at the right line:column.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src, want string // want: "line:col: fragment"
	}{
		{"unknown tag in steps", header + "steps:\n  - write: {Levl: 1}\n", "13:19: unknown tag \"Levl\""},
		{"bad duration", header + "steps:\n  - wait: 5 seconds\n", "13:11: bad duration \"5 seconds\""},
		{"write not allow-listed", header + "steps:\n  - write: {Pump: true}\n", "13:19: write to \"Pump\" is not on the allow-list"},
		{"write outside range", header + "steps:\n  - write: {Setpoint: 150}\n", "13:23: write Setpoint = 150 is outside the allow-list range"},
		{"condition does not parse", header + "steps:\n  - wait_until: Level >\n    timeout: 1s\n", "13:17: condition \"Level >\""},
		{"condition unknown name", header + "steps:\n  - expect: Lvl > 3\n", "13:13: condition \"Lvl > 3\""},
		{"condition type mismatch", header + "steps:\n  - expect: Level && true\n", "13:13: condition"},
		{"wait_until without timeout", header + "steps:\n  - wait_until: Level > 1\n", "13:5: wait_until needs timeout"},
		{"two actions in a step", header + "steps:\n  - wait: 1s\n    mark: x\n", "13:5: a step does one thing"},
		{"empty step", header + "steps:\n  - {}\n", "13:5: empty step"},
		{"unknown key", header + "steps:\n  - wiat: 1s\n", "13:5: unknown field \"wiat\""},
		{"bad severity", header + "steps:\n  - expect: Level > 1\n    severity: high\n", "14:15: severity \"high\""},
		{"no steps", header, "1:1: no steps"},
		{"wrong version", strings.Replace(header, "version: 1", "version: 7", 1) + "steps:\n  - wait: 1s\n", "1:10: version 7 is not supported"},
		{"sample tag unknown", strings.Replace(header, "ScanCount", "ScanCnt", 1) + "steps:\n  - wait: 1s\n", "6:17: unknown tag \"ScanCnt\""},
		{"read-only tag allow-listed", header + "  - tag: Level\nsteps:\n  - wait: 1s\n", "12:10: tag \"Level\" is not writable"},
		{"probe from unknown mark", header + "steps:\n  - wait: 1s\nprobes:\n  - {name: r, kind: response, from: nope, until: Level > 1, tolerance: {absolute: 1ms}}\n", "15:37: from \"nope\""},
		{"probe without tolerance", header + "steps:\n  - wait: 1s\nprobes:\n  - {name: s, kind: scan_period, counter: ScanCount}\n", "15:5: a timing probe needs a tolerance"},
		{"probe kind unknown", header + "steps:\n  - wait: 1s\nprobes:\n  - {name: s, kind: jitter, tolerance: {absolute: 1ms}}\n", "15:21: probe kind \"jitter\""},
		{"counter not sampled", header + "steps:\n  - wait: 1s\nprobes:\n  - {name: s, kind: scan_period, counter: AlarmCount, tolerance: {relative: 1%}}\n", "15:43: counter \"AlarmCount\" is not sampled"},
		{"tolerance for unsampled tag", header + "steps:\n  - wait: 1s\ntolerances:\n  Setpoint: {absolute: 1}\n", "15:13: tolerance for \"Setpoint\""},
		{"bad relative", header + "steps:\n  - wait: 1s\ntolerances:\n  Level: {relative: lots}\n", "15:21: relative \"lots\""},
		// read as 2 (200 %) with the rest ignored, before
		{"relative with trailing text", header + "steps:\n  - wait: 1s\ntolerances:\n  Level: {relative: 2%x}\n", "15:21: relative \"2%x\""},
		{"syntax error", "version: 1\nname: [unclosed\n", "2:7:"},
		{"string to a number", header + "steps:\n  - write: {Setpoint: \"high\"}\n", "13:23: Setpoint is float32"},
		{"pulse without for", header + "steps:\n  - pulse: {tag: InletValve, value: true}\n", "13:12: pulse needs for"},
		{"duplicate mark", header + "steps:\n  - mark: a\n  - mark: a\n", "14:11: mark \"a\" used twice"},
		// two checks under one id were judged as one criterion
		{"duplicate check id", header + "steps:\n  - expect: Level > 1\n    id: full\n  - wait_until: Level > 2\n    timeout: 1s\n    id: full\n", "17:9: id \"full\" is already the id of step 1"},
		// min/max beside values were silently ignored
		{"values and a range", strings.Replace(header, "  - tag: InletValve\n", "  - tag: InletValve\n    values: [true]\n    max: 1\n", 1) + "steps:\n  - wait: 1s\n", "9:13: tag \"InletValve\" has values and min/max"},
		{"load above the default limit", header + "steps:\n  - wait: 1s\nprobes:\n  - {name: l, kind: load, rate: 200, for: 5s, tolerance: {absolute: 2ms}}\n", "15:33: rate 200 reads/s is above the scenario's load_limit of 50"},
		{"load longer than its limit", header + "load_limit: {rate: 300, for: 20s}\nsteps:\n  - wait: 1s\nprobes:\n  - {name: l, kind: load, rate: 200, for: 30s, tolerance: {absolute: 2ms}}\n", "16:43: for 30s is above the scenario's load_limit of 20s"},
		{"load without for", header + "steps:\n  - wait: 1s\nprobes:\n  - {name: l, kind: load, rate: 20, tolerance: {absolute: 2ms}}\n", "15:5: a load probe needs for"},
		{"load rate not a number", header + "steps:\n  - wait: 1s\nprobes:\n  - {name: l, kind: load, rate: fast, for: 1s, tolerance: {absolute: 2ms}}\n", "15:33: rate fast; expected reads per second"},
		{"posture port out of range", header + "posture: {ports: [502, 0]}\nsteps:\n  - wait: 1s\n", "12:24: port 0; expected a TCP port from 1 to 65535"},
		{"posture port twice", header + "posture: {ports: [502, 502]}\nsteps:\n  - wait: 1s\n", "12:24: port 502 is listed twice"},
		{"posture no ports", header + "posture: {ports: []}\nsteps:\n  - wait: 1s\n", "12:18: no ports"},
		{"posture rate too high", header + "posture: {rate: 1000}\nsteps:\n  - wait: 1s\n", "12:17: rate 1000 connections/s; expected at most 200"},
		{"posture timeout", header + "posture: {timeout: 2m}\nsteps:\n  - wait: 1s\n", "12:20: timeout \"2m\"; expected a duration above 0 and at most 30s"},
		{"posture severity", header + "posture: {severity: high}\nsteps:\n  - wait: 1s\n", "12:21: severity \"high\""},
		{"posture unknown key", header + "posture: {port: [502]}\nsteps:\n  - wait: 1s\n", "12:11:"},
		{"load limit beyond a probe", header + "load_limit: {rate: 5000, for: 1m}\nsteps:\n  - wait: 1s\n", "12:20: rate 5000 reads/s; expected at most 1000"},
		{"load tag unknown", header + "steps:\n  - wait: 1s\nprobes:\n  - {name: l, kind: load, tags: [Lvl], rate: 20, for: 1s, tolerance: {absolute: 2ms}}\n", "15:34: unknown tag \"Lvl\""},
		{"rate on a round trip probe", header + "steps:\n  - wait: 1s\nprobes:\n  - {kind: round_trip, rate: 20, tolerance: {absolute: 2ms}}\n", "15:30: rate belongs to a load probe"},
		{"negative repeat", strings.Replace(header, "name: t", "name: t\nrepeat: -2", 1) + "steps:\n  - wait: 1s\n", "3:9: repeat -2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src)
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), "s.yaml:"+tc.want) {
				t.Errorf("error:\n%v\nwant it to contain s.yaml:%s", err, tc.want)
			}
			assertPositioned(t, err)
		})
	}
}

// assertPositioned: every error is an *yamlfile.Error with a line (joined or not).
func assertPositioned(t *testing.T, err error) {
	t.Helper()
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			assertPositioned(t, e)
		}
		return
	}
	var ye *yamlfile.Error
	if !errors.As(err, &ye) || ye.File == "" {
		t.Errorf("error without a file: %v (%T)", err, err)
		return
	}
	// only a crash inside the YAML library (recovered by yamlfile; the fuzzer found one with
	// a tag on a flow key, see testdata/fuzz) has no position to give
	if ye.Line < 1 && !strings.Contains(ye.Msg, "decoder failed") {
		t.Errorf("error without a position: %v", err)
	}
}

// TestMalformedCorpus walks testdata/bad/*.yaml: each must fail with the error recorded in
// the .err file beside it (rewritten with -update). Add a case by adding a file.
func TestMalformedCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("empty corpus")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, _ := os.ReadFile(f)
			pm := tankMap(t)
			_, err := Parse(filepath.Base(f), data, func(string) (*point.Map, error) { return pm, nil })
			if err == nil {
				t.Fatal("malformed scenario accepted")
			}
			assertPositioned(t, err)
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644)
				return
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("no golden %s (run with -update): %v", golden, rerr)
			}
			if got := err.Error() + "\n"; got != string(want) {
				t.Errorf("error changed:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestShippedScenariosLoad(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	for _, f := range files {
		if _, err := Load(f, ""); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestPointsOverride(t *testing.T) {
	_, err := Load("../../scenarios/tank-alarm-trip.yaml", "../../scenarios/pointmaps/heater.yaml")
	if err == nil || !strings.Contains(err.Error(), "unknown tag \"Level\"") {
		t.Errorf("a tank scenario over the heater map: %v; want unknown tag errors", err)
	}
	_, err = Load("../../scenarios/tank-alarm-trip.yaml", "/nonexistent/map.yaml")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/map.yaml") {
		t.Errorf("missing point map: %v", err)
	}
}

func TestConditionMissingDataIsUndecided(t *testing.T) {
	c, err := CompileCondition("Level > 50 && not InletValve", Env(tankMap(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Eval(map[string]point.Value{"Level": point.Float(60)}); ok {
		t.Error("decided with InletValve missing")
	}
	if v, ok := c.Eval(map[string]point.Value{"Level": point.Float(60), "InletValve": point.Bool(false)}); !ok || !v {
		t.Errorf("Eval = %v, %v; want true", v, ok)
	}
	if _, ok := c.Eval(map[string]point.Value{"Level": point.Float(nan()), "InletValve": point.Bool(false)}); ok {
		t.Error("decided on NaN")
	}
}

func nan() float64 { var z float64; return z / z }

func FuzzParse(f *testing.F) {
	f.Add([]byte(header + "steps:\n  - wait: 1s\n"))
	f.Add([]byte(header + "steps:\n  - write: {InletValve: true}\n  - wait_until: Level > 1\n    timeout: 1s\n"))
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, fl := range files {
		data, _ := os.ReadFile(fl)
		f.Add(data)
	}
	pm := tankMap(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("f.yaml", data, func(string) (*point.Map, error) { return pm, nil })
		if err != nil {
			assertPositioned(t, err)
			return
		}
		if len(sc.Steps) == 0 || sc.Sample.Period <= 0 {
			t.Errorf("accepted a scenario without steps or period")
		}
	})
}

func TestPostureKey(t *testing.T) {
	pm, err := point.Load("../../scenarios/pointmaps/tank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	load := func(src string) *Scenario {
		t.Helper()
		sc, err := Parse("s.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	base := "version: 1\nname: p\npoints: tank.yaml\nsample: {period: 50ms, tags: [Level]}\nsteps:\n  - wait: 1s\n"
	if sc := load(base); sc.Posture != nil {
		t.Errorf("no posture key: posture %+v, want none", sc.Posture)
	}
	sc := load(base + "posture: {}\n")
	if sc.Posture == nil || sc.Posture.Severity != Critical || sc.Posture.Rate != 50 || sc.Posture.Timeout != time.Second ||
		!slices.Equal(sc.Posture.Ports, driver.DefaultPosturePorts) {
		t.Errorf("posture: {}: %+v, want the defaults, critical", sc.Posture)
	}
	sc = load(base + "posture: {ports: [2323, 502], rate: 10, timeout: 200ms, severity: minor}\n")
	if p := sc.Posture; !slices.Equal(p.Ports, []int{2323, 502}) || p.Rate != 10 || p.Timeout != 200*time.Millisecond || p.Severity != Minor {
		t.Errorf("posture: %+v", p)
	}
}
