// Package scenario reads scenario files: YAML with a format version that names its point map,
// the risks it covers, a sampling plan, a write allow-list, steps, timing probes, tolerances
// and the severity of each criterion. Every error carries file:line:column and says what was
// expected. Tags are named only through the point map, so one scenario runs over Modbus or
// OPC UA alike.
package scenario

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/yamlfile"
)

// FormatVersion is the scenario format this build reads.
const FormatVersion = 1

// Severity of a criterion.
type Severity string

const (
	Critical Severity = "critical"
	Major    Severity = "major"
	Minor    Severity = "minor"
)

// Scenario is a compiled scenario.
type Scenario struct {
	Version     int
	Name        string
	Description string
	File        string     // where it was read from
	PointsFile  string     // the point map it names, resolved against the scenario's folder
	Points      *point.Map // the point map used (the named one, or --points)
	Covers      []string   // risks covered
	Repeat      int
	Sample      Sample
	Allow       map[string]Allow
	Setup       []Step
	Steps       []Step
	Probes      []Probe
	Tolerances  map[string]Tolerance
	// LoadLimit is the most polling load a load probe may put on the controller.
	LoadLimit LoadLimit
	// Posture, when set, collects the controller's security posture once per run and
	// judges it as the posture criterion (docs/architecture.md, section Security posture).
	Posture *Posture
	// MajorIsNoGo: major failures give NO-GO (the default); a scenario may relax it.
	MajorIsNoGo bool
	// Restore lists the tags whose values are captured before the test and written back at
	// the end or on abort: every allow-listed tag.
	Restore []string
}

// LoadLimit bounds the load probes of a scenario: reads per second and how long. A
// scenario that does not raise it gets DefaultLoadLimit, which a small PLC's communication
// task carries beside its production polling.
type LoadLimit struct {
	Rate float64
	For  time.Duration
}

// Posture is what a scenario's posture key asks: the TCP ports to try, how fast, how long
// to wait for each, and the severity of the posture criterion.
type Posture struct {
	Ports    []int
	Rate     float64
	Timeout  time.Duration
	Severity Severity
}

// DefaultLoadLimit is the load limit of a scenario without load_limit.
var DefaultLoadLimit = LoadLimit{Rate: 50, For: 10 * time.Second}

// DefaultLoadErrors is the error rate a load probe's after side may add when the probe does
// not say: a read in two hundred.
const DefaultLoadErrors = 0.005

// Sample is the sampling plan.
type Sample struct {
	Period    time.Duration
	Tags      []string
	Subscribe bool // use a subscription where the target supports it
}

// Allow is one allow-listed tag with its accepted value range.
type Allow struct {
	Tag      string
	Min, Max *float64
	Values   []point.Value // when set: only these values
}

// Permits reports whether v may be written.
func (a Allow) Permits(v point.Value) bool {
	if len(a.Values) > 0 {
		for _, x := range a.Values {
			if x.Float() == v.Float() && x.Text() == v.Text() {
				return true
			}
		}
		return false
	}
	f := v.Float()
	if a.Min != nil && !(f >= *a.Min) {
		return false
	}
	if a.Max != nil && !(f <= *a.Max) {
		return false
	}
	return true
}

// StepKind is what a step does.
type StepKind string

const (
	StepWrite     StepKind = "write"
	StepPulse     StepKind = "pulse"
	StepWait      StepKind = "wait"
	StepWaitUntil StepKind = "wait_until"
	StepExpect    StepKind = "expect"
	StepRestart   StepKind = "restart"
	StepReconnect StepKind = "reconnect"
	StepMark      StepKind = "mark"
)

// Step is one step.
type Step struct {
	Index    int // 1-based position in setup+steps as the runner numbers them
	Line     int // line in the scenario file
	Kind     StepKind
	Name     string  // mark name, or a label
	Writes   []Write // write; pulse (one)
	Duration time.Duration
	// wait_until / expect
	Cond     *Condition
	Timeout  time.Duration // wait_until: how long to wait
	Within   time.Duration // expect: the condition must hold at some sample within this window
	Hold     time.Duration // expect: the condition must hold at every sample for this long
	Severity Severity      // expect and wait_until criteria
	ID       string        // criterion id
}

// Write is one allow-listed write.
type Write struct {
	Tag   string
	Value point.Value
}

// ProbeKind is a timing measurement.
type ProbeKind string

const (
	ProbeScanPeriod ProbeKind = "scan_period" // from a cycle counter
	ProbeResponse   ProbeKind = "response"    // from a mark or write to an observed condition
	ProbeRoundTrip  ProbeKind = "round_trip"  // request round trip
	ProbeLoad       ProbeKind = "load"        // read latency and errors under a polling load
)

// Probe is a timing probe; each is a criterion.
type Probe struct {
	Name      string
	Kind      ProbeKind
	Counter   string        // scan_period: the cycle counter tag
	From      string        // response: the mark that starts the clock
	Until     *Condition    // response: the condition that stops it
	Tags      []string      // load: the tags each read asks for (default: sample.tags)
	Rate      float64       // load: reads per second
	For       time.Duration // load: how long the load lasts
	Errors    float64       // load: the error rate the after side may add (fraction)
	Tolerance Tolerance
	Severity  Severity
}

// Tolerance is how far after may be from before.
type Tolerance struct {
	Absolute float64       // engineering units (timing probes: seconds)
	Relative float64       // fraction of the before value
	Shift    time.Duration // allowed time shift (lag) for signals
	Severity Severity      // for tag tolerances
}

// Load reads a scenario file and the point map it names (pointsOverride, when not empty,
// replaces it, as --points does).
func Load(path, pointsOverride string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data, func(name string) (*point.Map, error) {
		p := pointsOverride
		if p == "" {
			if name == "" {
				return nil, errors.New("the scenario names no point map (points:) and no --points was given")
			}
			p = ResolvePoints(path, name)
		}
		return point.Load(p)
	})
}

// ResolvePoints is the file a scenario at path means by points: name. A relative name is
// taken against the scenario's folder; when no such file exists there, against the folder
// above it, so that a scenario in a workspace's scenarios/ folder finds pointmaps/NAME.yaml
// beside that folder as it does beside the shipped scenarios. An absolute name stays.
func ResolvePoints(path, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	p := filepath.Join(filepath.Dir(path), name)
	if _, err := os.Stat(p); err != nil {
		if up := filepath.Join(filepath.Dir(filepath.Dir(path)), name); fileExists(up) {
			return up
		}
	}
	return p
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// PointsLoader returns the point map a scenario names.
type PointsLoader func(name string) (*point.Map, error)

// Parse compiles a scenario; name is used in errors, load fetches the point map.
func Parse(name string, data []byte, load PointsLoader) (*Scenario, error) {
	var raw rawScenario
	if err := yamlfile.Decode(name, data, &raw); err != nil {
		return nil, err
	}
	pm, err := load(raw.Points)
	if err != nil {
		var ye *yamlfile.Error
		if errors.As(err, &ye) {
			return nil, err
		}
		return nil, yamlfile.LocateBytes(name, data, yamlfile.At("$.points", "point map %q: %v", raw.Points, err))
	}
	sc, err := compile(&raw, pm)
	if err != nil {
		return nil, yamlfile.LocateBytes(name, data, err)
	}
	sc.File = name
	return sc, nil
}

type rawScenario struct {
	Version     int                     `yaml:"version"`
	Name        string                  `yaml:"name"`
	Description string                  `yaml:"description"`
	Points      string                  `yaml:"points"`
	Covers      []string                `yaml:"covers"`
	Repeat      int                     `yaml:"repeat"`
	Sample      rawSample               `yaml:"sample"`
	Allow       []rawAllow              `yaml:"allow"`
	Setup       []rawStep               `yaml:"setup"`
	Steps       []rawStep               `yaml:"steps"`
	Probes      []rawProbe              `yaml:"probes"`
	Tolerances  map[string]rawTolerance `yaml:"tolerances"`
	LoadLimit   *rawLoadLimit           `yaml:"load_limit"`
	Posture     *rawPosture             `yaml:"posture"`
	Verdict     struct {
		MajorIsNoGo *bool `yaml:"major_is_nogo"`
	} `yaml:"verdict"`
}

type rawSample struct {
	Period    string   `yaml:"period"`
	Tags      []string `yaml:"tags"`
	Subscribe bool     `yaml:"subscribe"`
}

type rawAllow struct {
	Tag    string   `yaml:"tag"`
	Min    *float64 `yaml:"min"`
	Max    *float64 `yaml:"max"`
	Values []any    `yaml:"values"`
}

type rawStep struct {
	Write     yaml.MapSlice `yaml:"write"`
	Pulse     *rawPulse     `yaml:"pulse"`
	Wait      string        `yaml:"wait"`
	WaitUntil string        `yaml:"wait_until"`
	Expect    string        `yaml:"expect"`
	Restart   *struct{}     `yaml:"restart"`
	Reconnect *struct{}     `yaml:"reconnect"`
	Mark      string        `yaml:"mark"`
	Timeout   string        `yaml:"timeout"`
	Within    string        `yaml:"within"`
	Hold      string        `yaml:"hold"`
	Severity  string        `yaml:"severity"`
	ID        string        `yaml:"id"`
}

type rawPulse struct {
	Tag   string `yaml:"tag"`
	Value any    `yaml:"value"`
	For   string `yaml:"for"`
}

type rawLoadLimit struct {
	Rate any    `yaml:"rate"`
	For  string `yaml:"for"`
}

type rawPosture struct {
	Ports    []int  `yaml:"ports"`
	Rate     any    `yaml:"rate"`
	Timeout  string `yaml:"timeout"`
	Severity string `yaml:"severity"`
}

type rawProbe struct {
	Name      string       `yaml:"name"`
	Kind      string       `yaml:"kind"`
	Counter   string       `yaml:"counter"`
	From      string       `yaml:"from"`
	Until     string       `yaml:"until"`
	Tags      []string     `yaml:"tags"`
	Rate      any          `yaml:"rate"`
	For       string       `yaml:"for"`
	Errors    string       `yaml:"errors"`
	Tolerance rawTolerance `yaml:"tolerance"`
	Severity  string       `yaml:"severity"`
}

type rawTolerance struct {
	Absolute any    `yaml:"absolute"` // a number, or a duration for timing probes
	Relative string `yaml:"relative"` // "2%" or "0.02"
	Shift    string `yaml:"shift"`
	Severity string `yaml:"severity"`
}

type compiler struct {
	pm    *point.Map
	errs  []error
	marks map[string]bool
	env   map[string]any
}

func (c *compiler) bad(path, format string, args ...any) {
	c.errs = append(c.errs, yamlfile.At(path, format, args...))
}

func compile(raw *rawScenario, pm *point.Map) (*Scenario, error) {
	c := &compiler{pm: pm, marks: map[string]bool{}, env: Env(pm)}
	sc := &Scenario{
		Version: raw.Version, Name: raw.Name, Description: raw.Description, Points: pm,
		PointsFile: raw.Points, Covers: raw.Covers, Repeat: raw.Repeat, Allow: map[string]Allow{},
		Tolerances: map[string]Tolerance{}, MajorIsNoGo: true,
	}
	if raw.Version != FormatVersion {
		c.bad("$.version", "version %d is not supported; expected version: %d", raw.Version, FormatVersion)
	}
	if raw.Name == "" {
		c.bad("$", "missing name; expected name: a short identifier of the scenario")
	}
	if sc.Repeat == 0 {
		sc.Repeat = 1
	}
	if sc.Repeat < 0 {
		c.bad("$.repeat", "repeat %d; expected a positive number of repetitions", raw.Repeat)
	}
	if raw.Verdict.MajorIsNoGo != nil {
		sc.MajorIsNoGo = *raw.Verdict.MajorIsNoGo
	}
	// sampling plan
	sc.Sample.Period = c.duration("$.sample.period", raw.Sample.Period, 100*time.Millisecond)
	if sc.Sample.Period <= 0 {
		c.bad("$.sample.period", "sample period must be positive")
	}
	sc.Sample.Subscribe = raw.Sample.Subscribe
	if len(raw.Sample.Tags) == 0 {
		c.bad("$.sample", "no tags to sample; expected sample.tags: [Tag, ...]")
	}
	for i, t := range raw.Sample.Tags {
		c.tag(fmt.Sprintf("$.sample.tags[%d]", i), t)
		sc.Sample.Tags = append(sc.Sample.Tags, t)
	}
	// allow-list
	for i, a := range raw.Allow {
		at := fmt.Sprintf("$.allow[%d]", i)
		p, ok := c.tag(at+".tag", a.Tag)
		if !ok {
			continue
		}
		if !p.Writable {
			c.bad(at+".tag", "tag %q is not writable in point map %s; expected a writable tag", a.Tag, pm.Name)
		}
		al := Allow{Tag: a.Tag, Min: a.Min, Max: a.Max}
		if len(a.Values) > 0 && (a.Min != nil || a.Max != nil) {
			// one of the two would be silently ignored; the engineer meant something
			c.bad(at+".values", "tag %q has values and min/max; expected either a list of values or a range", a.Tag)
		}
		for j, v := range a.Values {
			pv, err := toValue(v)
			if err != nil {
				c.bad(fmt.Sprintf("%s.values[%d]", at, j), "%v", err)
			}
			al.Values = append(al.Values, pv)
		}
		if _, dup := sc.Allow[a.Tag]; dup {
			c.bad(at+".tag", "tag %q is allow-listed twice", a.Tag)
		}
		sc.Allow[a.Tag] = al
		sc.Restore = append(sc.Restore, a.Tag)
	}
	// steps
	n := 0
	for i, rs := range raw.Setup {
		n++
		sc.Setup = append(sc.Setup, c.step(fmt.Sprintf("$.setup[%d]", i), n, rs, sc))
	}
	for i, rs := range raw.Steps {
		n++
		sc.Steps = append(sc.Steps, c.step(fmt.Sprintf("$.steps[%d]", i), n, rs, sc))
	}
	c.uniqueIDs(sc)
	if len(raw.Steps) == 0 {
		c.bad("$", "no steps; expected steps: a list of write, pulse, wait, wait_until, expect, restart, reconnect or mark")
	}
	// probes
	sc.LoadLimit = c.loadLimit(raw.LoadLimit)
	sc.Posture = c.posture(raw.Posture)
	seen := map[string]bool{}
	for i, rp := range raw.Probes {
		at := fmt.Sprintf("$.probes[%d]", i)
		p := Probe{Name: rp.Name, Kind: ProbeKind(rp.Kind), Counter: rp.Counter, From: rp.From}
		if p.Name == "" {
			p.Name = rp.Kind
		}
		if seen[p.Name] {
			c.bad(at+".name", "probe %q defined twice; expected unique names", p.Name)
		}
		seen[p.Name] = true
		p.Severity = c.severity(at+".severity", rp.Severity, Major)
		switch p.Kind {
		case ProbeScanPeriod:
			if pt, ok := c.tag(at+".counter", rp.Counter); ok && pt.Type == point.TypeString {
				c.bad(at+".counter", "counter %q is a string; expected an integer cycle counter", rp.Counter)
			}
			if !contains(sc.Sample.Tags, rp.Counter) {
				c.bad(at+".counter", "counter %q is not sampled; add it to sample.tags", rp.Counter)
			}
		case ProbeResponse:
			if rp.From == "" || !c.marks[rp.From] {
				c.bad(at+".from", "from %q: expected the name of a mark step", rp.From)
			}
			p.Until = c.cond(at+".until", rp.Until)
		case ProbeRoundTrip:
		case ProbeLoad:
			c.load(at, rp, &p, sc)
		default:
			c.bad(at+".kind", "probe kind %q; expected scan_period, response, round_trip or load", rp.Kind)
		}
		if p.Kind != ProbeLoad {
			for _, k := range []struct {
				key string
				set bool
			}{{"tags", rp.Tags != nil}, {"rate", rp.Rate != nil}, {"for", rp.For != ""}, {"errors", rp.Errors != ""}} {
				if k.set {
					c.bad(at+"."+k.key, "%s belongs to a load probe", k.key)
				}
			}
		}
		p.Tolerance = c.tolerance(at+".tolerance", rp.Tolerance, true)
		sc.Probes = append(sc.Probes, p)
	}
	// tolerances per tag
	keys := make([]string, 0, len(raw.Tolerances))
	for k := range raw.Tolerances {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		at := "$.tolerances." + k
		c.tag(at, k)
		if !contains(sc.Sample.Tags, k) {
			c.bad(at, "tolerance for %q, which is not sampled; add it to sample.tags", k)
		}
		sc.Tolerances[k] = c.tolerance(at, raw.Tolerances[k], false)
	}
	return sc, errors.Join(c.errs...)
}

// uniqueIDs refuses two checks with one id: each is its own criterion check:<id>, and two
// under one id would be judged as one.
func (c *compiler) uniqueIDs(sc *Scenario) {
	first := map[string]string{}
	for _, part := range []struct {
		name  string
		steps []Step
	}{{"setup", sc.Setup}, {"steps", sc.Steps}} {
		for i, st := range part.steps {
			if st.Kind != StepExpect && st.Kind != StepWaitUntil {
				continue
			}
			at := fmt.Sprintf("$.%s[%d]", part.name, i)
			if prev, dup := first[st.ID]; dup {
				c.bad(at+".id", "id %q is already the id of %s; expected an id of its own", st.ID, prev)
				continue
			}
			first[st.ID] = fmt.Sprintf("step %d", st.Index)
		}
	}
}

func (c *compiler) step(at string, n int, rs rawStep, sc *Scenario) Step {
	st := Step{Index: n, ID: rs.ID}
	var kinds []string
	if rs.Write != nil {
		kinds = append(kinds, "write")
		st.Kind = StepWrite
		if len(rs.Write) == 0 {
			c.bad(at+".write", "empty write; expected write: {Tag: value, ...}")
		}
		for _, item := range rs.Write {
			tag := fmt.Sprint(item.Key)
			st.Writes = append(st.Writes, c.write(at+".write."+tag, tag, item.Value, sc))
		}
	}
	if rs.Pulse != nil {
		kinds = append(kinds, "pulse")
		st.Kind = StepPulse
		st.Writes = append(st.Writes, c.write(at+".pulse.tag", rs.Pulse.Tag, rs.Pulse.Value, sc))
		st.Duration = c.duration(at+".pulse.for", rs.Pulse.For, 0)
		if st.Duration <= 0 {
			c.bad(at+".pulse", "pulse needs for: a positive duration such as 500ms")
		}
	}
	if rs.Wait != "" {
		kinds = append(kinds, "wait")
		st.Kind = StepWait
		st.Duration = c.duration(at+".wait", rs.Wait, 0)
	}
	if rs.WaitUntil != "" {
		kinds = append(kinds, "wait_until")
		st.Kind = StepWaitUntil
		st.Cond = c.cond(at+".wait_until", rs.WaitUntil)
		st.Timeout = c.duration(at+".timeout", rs.Timeout, 0)
		if rs.Timeout == "" {
			c.bad(at, "wait_until needs timeout: how long to wait before the step fails")
		}
	}
	if rs.Expect != "" {
		kinds = append(kinds, "expect")
		st.Kind = StepExpect
		st.Cond = c.cond(at+".expect", rs.Expect)
		st.Within = c.duration(at+".within", rs.Within, 0)
		st.Hold = c.duration(at+".hold", rs.Hold, 0)
		if rs.Within != "" && rs.Hold != "" {
			c.bad(at, "expect takes within (holds at some sample) or hold (holds at every sample), not both")
		}
	}
	if rs.Restart != nil {
		kinds = append(kinds, "restart")
		st.Kind = StepRestart
	}
	if rs.Reconnect != nil {
		kinds = append(kinds, "reconnect")
		st.Kind = StepReconnect
	}
	if rs.Mark != "" {
		kinds = append(kinds, "mark")
		st.Kind = StepMark
		st.Name = rs.Mark
		if c.marks[rs.Mark] {
			c.bad(at+".mark", "mark %q used twice; expected unique mark names", rs.Mark)
		}
		c.marks[rs.Mark] = true
	}
	switch len(kinds) {
	case 0:
		c.bad(at, "empty step; expected one of write, pulse, wait, wait_until, expect, restart, reconnect, mark")
	case 1:
	default:
		c.bad(at, "a step does one thing; this one has %s", strings.Join(kinds, " and "))
	}
	if rs.Timeout != "" && st.Kind != StepWaitUntil {
		c.bad(at+".timeout", "timeout belongs to wait_until")
	}
	if rs.Within != "" && st.Kind != StepExpect {
		c.bad(at+".within", "within belongs to expect")
	}
	if rs.Hold != "" && st.Kind != StepExpect {
		c.bad(at+".hold", "hold belongs to expect")
	}
	st.Severity = c.severity(at+".severity", rs.Severity, Major)
	if st.ID == "" && (st.Kind == StepExpect || st.Kind == StepWaitUntil) {
		st.ID = fmt.Sprintf("step%d_%s", n, st.Kind)
	}
	return st
}

func (c *compiler) write(at, tag string, v any, sc *Scenario) Write {
	w := Write{Tag: tag}
	p, ok := c.tag(at, tag)
	if !ok {
		return w
	}
	pv, err := toValue(v)
	if err != nil {
		c.bad(at, "%v", err)
		return w
	}
	if (p.Type == point.TypeString) != (pv.Kind() == point.KindString) {
		c.bad(at, "%s is %s; expected a %s value, got %s", tag, p.Type, p.Type, pv)
		return w
	}
	w.Value = pv
	al, ok := sc.Allow[tag]
	switch {
	case !ok:
		c.bad(at, "write to %q is not on the allow-list; add it under allow: with its value range", tag)
	case !al.Permits(pv):
		c.bad(at, "write %s = %s is outside the allow-list range for %s", tag, pv, tag)
	}
	return w
}

func (c *compiler) tag(at, tag string) (point.Point, bool) {
	p, ok := c.pm.Point(tag)
	if !ok {
		c.bad(at, "unknown tag %q; expected a tag of point map %s (%s)", tag, c.pm.Name, strings.Join(c.pm.Tags(), ", "))
	}
	return p, ok
}

func (c *compiler) duration(at, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		c.bad(at, "bad duration %q; expected a duration such as 500ms, 2s or 1m30s", s)
		return def
	}
	if d < 0 {
		c.bad(at, "negative duration %q; expected a duration of zero or more", s)
		return def
	}
	return d
}

func (c *compiler) severity(at, s string, def Severity) Severity {
	switch Severity(s) {
	case "":
		return def
	case Critical, Major, Minor:
		return Severity(s)
	}
	c.bad(at, "severity %q; expected critical, major or minor", s)
	return def
}

func (c *compiler) cond(at, src string) *Condition {
	if strings.TrimSpace(src) == "" {
		c.bad(at, "empty condition; expected an expression over tags, e.g. Level >= 90")
		return nil
	}
	cd, err := CompileCondition(src, c.env)
	if err != nil {
		c.bad(at, "condition %q: %v", src, err)
		return nil
	}
	return cd
}

func (c *compiler) tolerance(at string, rt rawTolerance, timing bool) Tolerance {
	t := Tolerance{Shift: c.duration(at+".shift", rt.Shift, 0), Severity: c.severity(at+".severity", rt.Severity, Major)}
	switch v := rt.Absolute.(type) {
	case nil:
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			c.bad(at+".absolute", "absolute %q; expected a number or a duration such as 2ms", v)
		}
		t.Absolute = d.Seconds()
	default:
		f, err := toValue(v)
		if err != nil || !f.IsNumber() || f.Float() < 0 {
			c.bad(at+".absolute", "absolute %v; expected a number >= 0", v)
		} else {
			t.Absolute = f.Float()
		}
	}
	if rt.Relative != "" {
		t.Relative = c.fraction(at+".relative", "relative", rt.Relative)
	}
	if timing && t.Absolute == 0 && t.Relative == 0 {
		c.bad(at, "a timing probe needs a tolerance: absolute (e.g. 2ms) and/or relative (e.g. 5%%)")
	}
	return t
}

// loadLimit reads load_limit; a limit beyond maxLoadRate reads per second or maxLoadFor is
// refused: it is no longer a probe but a stress test, which has no place on a bench PLC
// that a patch validation shares with nothing else.
func (c *compiler) loadLimit(raw *rawLoadLimit) LoadLimit {
	if raw == nil {
		return DefaultLoadLimit
	}
	l := LoadLimit{Rate: c.rate("$.load_limit.rate", raw.Rate), For: c.duration("$.load_limit.for", raw.For, 0)}
	if l.Rate > maxLoadRate {
		c.bad("$.load_limit.rate", "rate %g reads/s; expected at most %d", l.Rate, maxLoadRate)
	}
	if l.For <= 0 || l.For > maxLoadFor {
		c.bad("$.load_limit.for", "for %q; expected a duration above 0 and at most %s", raw.For, maxLoadFor)
	}
	return l
}

// posture reads the posture key: absent, no posture criterion; {} the defaults.
func (c *compiler) posture(raw *rawPosture) *Posture {
	if raw == nil {
		return nil
	}
	p := &Posture{Ports: driver.DefaultPosturePorts, Rate: driver.DefaultPostureRate, Timeout: driver.DefaultPostureTimeout,
		Severity: c.severity("$.posture.severity", raw.Severity, Critical)}
	if raw.Ports != nil {
		if len(raw.Ports) == 0 {
			c.bad("$.posture.ports", "no ports; expected a list of TCP ports, or no ports key for the default list")
		}
		seen := map[int]bool{}
		p.Ports = nil
		for i, n := range raw.Ports {
			at := fmt.Sprintf("$.posture.ports[%d]", i)
			switch {
			case n < 1 || n > 65535:
				c.bad(at, "port %d; expected a TCP port from 1 to 65535", n)
			case seen[n]:
				c.bad(at, "port %d is listed twice", n)
			default:
				seen[n] = true
				p.Ports = append(p.Ports, n)
			}
		}
	}
	if raw.Rate != nil {
		p.Rate = c.rate("$.posture.rate", raw.Rate)
		if p.Rate > driver.MaxPostureRate {
			c.bad("$.posture.rate", "rate %g connections/s; expected at most %g", p.Rate, driver.MaxPostureRate)
		}
	}
	if raw.Timeout != "" {
		p.Timeout = c.duration("$.posture.timeout", raw.Timeout, driver.DefaultPostureTimeout)
		if p.Timeout <= 0 || p.Timeout > maxPostureTimeout {
			c.bad("$.posture.timeout", "timeout %q; expected a duration above 0 and at most %s", raw.Timeout, maxPostureTimeout)
		}
	}
	return p
}

const maxPostureTimeout = 30 * time.Second

// The most a load_limit may allow.
const (
	maxLoadRate = 1000
	maxLoadFor  = 5 * time.Minute
)

// rate reads a number of reads per second above zero.
func (c *compiler) rate(at string, v any) float64 {
	f, err := toValue(v)
	if v == nil || err != nil || !f.IsNumber() || !(f.Float() > 0) || math.IsInf(f.Float(), 0) {
		c.bad(at, "rate %v; expected reads per second, a number above 0 (e.g. 200)", v)
		return 0
	}
	return f.Float()
}

// load compiles a load probe: the tags each read asks for, the rate and the duration
// (within the scenario's load_limit), and the error rate the after side may add.
func (c *compiler) load(at string, rp rawProbe, p *Probe, sc *Scenario) {
	p.Tags = sc.Sample.Tags
	if rp.Tags != nil {
		p.Tags = nil
		if len(rp.Tags) == 0 {
			c.bad(at+".tags", "no tags; expected the tags each read asks for, or no tags key for sample.tags")
		}
		for i, t := range rp.Tags {
			c.tag(fmt.Sprintf("%s.tags[%d]", at, i), t)
			p.Tags = append(p.Tags, t)
		}
	}
	p.Rate = c.rate(at+".rate", rp.Rate)
	if p.Rate > sc.LoadLimit.Rate {
		c.bad(at+".rate", "rate %g reads/s is above the scenario's load_limit of %g; expected at most %g, or raise load_limit.rate", p.Rate, sc.LoadLimit.Rate, sc.LoadLimit.Rate)
	}
	p.For = c.duration(at+".for", rp.For, 0)
	switch {
	case rp.For == "" || p.For <= 0:
		c.bad(at+".for", "a load probe needs for: how long the load lasts, e.g. 10s")
	case p.For > sc.LoadLimit.For:
		c.bad(at+".for", "for %s is above the scenario's load_limit of %s; expected at most %s, or raise load_limit.for", p.For, sc.LoadLimit.For, sc.LoadLimit.For)
	}
	p.Errors = DefaultLoadErrors
	if rp.Errors != "" {
		p.Errors = c.fraction(at+".errors", "errors", rp.Errors)
	}
}

// fraction reads "2%" or "0.02".
func (c *compiler) fraction(at, key, raw string) float64 {
	s := strings.TrimSpace(raw)
	pct := strings.HasSuffix(s, "%")
	// the whole text is the number: "2%x" or "5pct" is refused, not read as 2 or 5
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		c.bad(at, "%s %q; expected a fraction such as 0.02 or a percentage such as 2%%", key, raw)
		return 0
	}
	if pct {
		f /= 100
	}
	return f
}

func toValue(v any) (point.Value, error) {
	switch x := v.(type) {
	case nil:
		return point.Value{}, errors.New("missing value")
	case int:
		return point.Int(int64(x)), nil
	case uint64:
		return point.Uint(x), nil
	}
	return point.FromAny(v)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
