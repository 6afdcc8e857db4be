package discover

import (
	"context"
	"fmt"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// Reading is one point of a checked map as the device answered it.
type Reading struct {
	Tag     string
	Where   string // the point's address or node, as the map names it
	Value   string // formatted, with the unit
	Quality driver.Quality
	Err     error
}

// Check opens the target through its normal driver with the point map and reads every point
// once: what an engineer runs after editing a discovered map. It only reads. The error is
// for the whole read (bad target, no connection); a point that does not read is a Reading
// with its quality and cause, counted in bad.
func Check(ctx context.Context, target string, pm *point.Map) (rows []Reading, bad int, err error) {
	t, err := driver.ParseTarget(target)
	if err != nil {
		return nil, 0, err
	}
	c, err := driver.Open(ctx, t, pm)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	tags := pm.Tags()
	out := make([]driver.Reading, len(tags))
	if err := c.Read(ctx, tags, out); err != nil {
		return nil, 0, fmt.Errorf("%s: read %d points: %w", t, len(tags), err)
	}
	for i, r := range out {
		p, _ := pm.Point(tags[i])
		row := Reading{Tag: tags[i], Quality: r.Quality, Err: r.Err}
		switch {
		case t.Scheme == "modbus" && p.Modbus != nil:
			row.Where = p.Modbus.String()
		case p.OPCUA != nil:
			row.Where = p.OPCUA.String()
		}
		if r.Quality == driver.Good {
			row.Value = r.Value.String()
			if p.Unit != "" {
				row.Value += " " + p.Unit
			}
		} else {
			bad++
		}
		rows = append(rows, row)
	}
	return rows, bad, nil
}
