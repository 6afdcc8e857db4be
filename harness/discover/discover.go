// Package discover finds the points of a controller and writes them as a point map
// (docs/pointmap-format.md): over OPC UA it browses the address space, over Modbus it probes
// the four tables with the read function codes. It only reads: it never writes to the
// device. The protocol calls go through the driver packages (harness/driver/modbus,
// harness/driver/opcua); this package holds what does not depend on the wire: the probe
// strategy, the rate limit, tag names and the point map text.
//
// A discovered map is a skeleton for the engineer: over Modbus every register is a uint16
// marked "# confirm type", since registers do not say what they hold. Over OPC UA the types,
// writability, units and descriptions come from the server. Either way, the map loads with
// harness/point and every point in it read Good while discovering.
package discover

import (
	"context"
	"fmt"
	"strings"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/driver/modbus"
	"github.com/patchgate/patchgate/harness/driver/opcua"
	"github.com/patchgate/patchgate/harness/point"
)

// DefaultRate is the Modbus probe's default limit, in requests a second: gentle enough for a
// small PLC that is also serving its HMI.
const DefaultRate = 50

// DefaultRanges are the addresses probed over Modbus when none are given.
const DefaultRanges = "hr:0-199,ir:0-199,co:0-199,di:0-199"

// Options say what to discover and how.
type Options struct {
	// Name is the point map's name; "" takes one from the target's host.
	Name string
	// Root is the OPC UA node browsed from ("" is the Objects folder).
	Root string
	// Ranges are the Modbus addresses to probe; nil is DefaultRanges.
	Ranges []Range
	// Rate limits Modbus requests a second; 0 or less is unlimited.
	Rate float64
	// Progress, when set, is called after every Modbus request with the addresses settled
	// so far and in all. It runs on the discovering goroutine.
	Progress func(done, total int)
}

// Result is a discovered point map.
type Result struct {
	Target   string // the target, its password (if any) redacted
	Protocol string // "modbus" or "opcua"
	YAML     []byte // the point map text
	Map      *point.Map
	Found    []string // what answered, a line each (also comments in YAML)
	Skipped  []string // what was found and left out, with why
	Requests int      // Modbus requests made
}

// Run discovers the points of the controller at target. A malformed target or option wraps
// driver.ErrBadTarget; a device that cannot be reached is the connection's error, prefixed
// with the target.
func Run(ctx context.Context, target string, o Options) (*Result, error) {
	t, err := driver.ParseTarget(target)
	if err != nil {
		return nil, err
	}
	if o.Name == "" {
		o.Name = defaultName(t)
	}
	var r *Result
	switch t.Scheme {
	case "modbus":
		r, err = runModbus(ctx, t, o)
	case "opc.tcp":
		r, err = runOPCUA(ctx, t, o)
	default:
		return nil, fmt.Errorf("%w %s: discovery needs a Modbus TCP or OPC UA target; a sim:// controller's point map is its model's (scenarios/pointmaps)", driver.ErrBadTarget, t)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	r.Target = t.String()
	return r, nil
}

// defaultName names a map after the target's host and port: "discovered_10_0_0_7_502".
func defaultName(t driver.Target) string {
	return sanitize(strings.TrimPrefix(t.URL.Host, "["), "discovered")
}

func runOPCUA(ctx context.Context, t driver.Target, o Options) (*Result, error) {
	nodes, err := opcua.Browse(ctx, t, o.Root)
	if err != nil {
		return nil, err
	}
	return opcuaMap(t.String(), o, nodes)
}

func runModbus(ctx context.Context, t driver.Target, o Options) (*Result, error) {
	ranges := o.Ranges
	if ranges == nil {
		ranges, _ = ParseRanges(DefaultRanges)
	}
	c, err := modbus.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	p := &prober{r: c, lim: newLimiter(o.Rate), progress: o.Progress}
	spans, err := p.probe(ctx, ranges)
	if err != nil {
		return nil, err
	}
	res, err := modbusMap(t.String(), o, ranges, spans)
	if err != nil {
		return nil, err
	}
	res.Requests = p.requests
	return res, nil
}
