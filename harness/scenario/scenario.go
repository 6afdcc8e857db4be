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
	// MajorIsNoGo: major failures give NO-GO (the default); a scenario may relax it.
	MajorIsNoGo bool
	// Restore lists the tags whose values are captured before the test and written back at
	// the end or on abort: every allow-listed tag.
	Restore []string
}

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
)

// Probe is a timing probe; each is a criterion.
type Probe struct {
	Name      string
	Kind      ProbeKind
	Counter   string     // scan_period: the cycle counter tag
	From      string     // response: the mark that starts the clock
	Until     *Condition // response: the condition that stops it
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

type rawProbe struct {
	Name      string       `yaml:"name"`
	Kind      string       `yaml:"kind"`
	Counter   string       `yaml:"counter"`
	From      string       `yaml:"from"`
	Until     string       `yaml:"until"`
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
	if len(raw.Steps) == 0 {
		c.bad("$", "no steps; expected steps: a list of write, pulse, wait, wait_until, expect, restart, reconnect or mark")
	}
	// probes
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
		default:
			c.bad(at+".kind", "probe kind %q; expected scan_period, response or round_trip", rp.Kind)
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
		s := strings.TrimSpace(rt.Relative)
		pct := strings.HasSuffix(s, "%")
		// the whole text is the number: "2%x" or "5pct" is refused, not read as 2 or 5
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			c.bad(at+".relative", "relative %q; expected a fraction such as 0.02 or a percentage such as 2%%", rt.Relative)
		}
		if pct {
			f /= 100
		}
		t.Relative = f
	}
	if timing && t.Absolute == 0 && t.Relative == 0 {
		c.bad(at, "a timing probe needs a tolerance: absolute (e.g. 2ms) and/or relative (e.g. 5%%)")
	}
	return t
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
