package scenario

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/harness/point"
)

// A starter scenario is the first draft of a scenario for a point map: it reads every tag,
// writes nothing, and holds the plant at rest for a minute. The CLI's "new scenario" and the
// desktop's "New scenario from point map" both write it; the engineer edits it from there.

// StarterSoak is how long a starter scenario samples the plant at rest.
const StarterSoak = "1m"

// counterPattern matches the tag of a controller's cycle counter (ScanCount, cycle_counter,
// PLC_CYCLES): a name that speaks of scans or cycles and counts them.
var counterPattern = regexp.MustCompile(`(?i)(scan|cycle).*(count|cnt|cycles)|^cycles$`)

// alarmPattern matches a bool tag that is true when something is wrong: an alarm, a fault,
// a trip, an interlock, an error.
var alarmPattern = regexp.MustCompile(`(?i)alarm|fault|trip|interlock|error|warn`)

// StarterCounter returns the tag of m that a scan_period probe can use: an integer point
// named as a scan or cycle counter ("" when there is none).
func StarterCounter(m *point.Map) string {
	for _, p := range m.Points {
		k := p.Type.Kind()
		if (k == point.KindInt || k == point.KindUint) && !p.Writable && counterPattern.MatchString(p.Tag) {
			return p.Tag
		}
	}
	return ""
}

// Starter writes a starter scenario named name (empty: the map's name and "-starter") for
// point map m, which the scenario names as points (a path relative to the folder the
// scenario will be written to). It samples every tag of
// the map, writes nothing, holds a condition over the map's alarm-like bool tags (none on:
// AlarmHigh, Fault, Trip…) for StarterSoak, measures the scan period when the map has a
// cycle counter (StarterCounter) and the read round trip. The text parses with Parse given
// the same map.
func Starter(m *point.Map, name, points string) []byte {
	env := Env(m)
	var tags, alarms []string
	for _, p := range m.Points {
		tags = append(tags, p.Tag)
		if p.Type == point.TypeBool && !p.Writable && alarmPattern.MatchString(p.Tag) {
			if _, err := CompileCondition("not "+p.Tag, env); err == nil {
				alarms = append(alarms, p.Tag)
			}
		}
	}
	counter := StarterCounter(m)
	mapName := strings.TrimSpace(m.Name)
	if mapName == "" {
		mapName = "pointmap"
	}
	if name = strings.TrimSpace(name); name == "" {
		name = mapName + "-starter"
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# Starter scenario for point map %s, made by patchgate (patchgate new scenario --from-map).",
		strings.Join(strings.Fields(mapName), " ")) // one line, whatever the map's name
	line("# It only reads: no write, nothing to arm. It samples every tag of the map for %s with", StarterSoak)
	line("# the plant at rest. Edit it: the condition held, the tolerances of the signals that")
	line("# matter, a setup that brings the plant to its start state (docs/scenario-format.md).")
	line("version: 1")
	line("name: %s", quote(name))
	desc := fmt.Sprintf("read every tag of point map %s for %s at rest", mapName, StarterSoak)
	covers := []string{"steady_state"}
	if counter != "" {
		desc += "; scan period from " + counter
		covers = append(covers, "scan_period")
	}
	line("description: %s", quote(desc))
	line("points: %s", quote(points))
	line("covers: [%s]", strings.Join(covers, ", "))
	line("repeat: 1")
	line("sample:")
	line("  period: 100ms")
	line("  tags: [%s]", strings.Join(quoteAll(tags), ", "))
	line("steps:")
	line("  - mark: steady")
	if len(alarms) > 0 {
		conds := make([]string, len(alarms))
		for i, a := range alarms {
			conds[i] = "not " + a
		}
		line("  # at rest no alarm comes on; a tag without a good value leaves the check undecided")
		line("  - expect: %s", quote(strings.Join(conds, " && ")))
		line("    hold: %s", StarterSoak)
		line("    id: steady_state")
		line("    severity: major")
	} else {
		line("  # the map has no alarm-like bool tag to hold: sample at rest; add an expect here")
		line("  - wait: %s", StarterSoak)
	}
	line("probes:")
	if counter != "" {
		line("  - name: scan_period")
		line("    kind: scan_period")
		line("    counter: %s", quote(counter))
		line("    tolerance: {relative: 2%%}")
		line("    severity: critical")
	}
	line("  - name: round_trip")
	line("    kind: round_trip")
	line("    tolerance: {relative: 100%%, absolute: 5ms}")
	line("    severity: minor")
	return []byte(b.String())
}

// plainScalar is YAML text that reads back as the same string without quotes.
var plainScalar = regexp.MustCompile(`^([A-Za-z_]|\.\.?/)[A-Za-z0-9_./-]*$`)

// quote returns s as a YAML scalar: plain when that reads back as s, else double-quoted
// (Go's quoting, escapes included, is valid in a YAML double-quoted scalar).
func quote(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
	default:
		if plainScalar.MatchString(s) {
			return s
		}
	}
	return strconv.Quote(s)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quote(s)
	}
	return out
}
