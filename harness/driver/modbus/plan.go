package modbus

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/harness/point"
)

// plan is the requests that read one tag list. It is computed once per distinct tag list and
// reused by every Read of that list.
type plan struct {
	tags []string // the tag list it reads (its own copy: the cache key)
	reqs []request
}

// request is one read of a contiguous range of one table.
type request struct {
	table point.Register
	start uint16
	count int    // registers or bits; above the limit only for a single oversized point
	slots []slot // the tags it answers, in address order
}

// slot is one tag of a Read: where its value sits in its request's answer.
type slot struct {
	out  int // index into the Read's tags and out
	tag  string
	addr point.ModbusAddr
	off  int // addr.Address - request start
}

// size is how many registers (or bits, in a bit table) a point occupies.
func size(a point.ModbusAddr) int {
	if a.Register.IsBit() {
		return 1
	}
	return a.Wire.Registers()
}

// limit is the most registers or bits one read of the table may ask for.
func (o options) limit(t point.Register) int {
	if t.IsBit() {
		return o.maxBits
	}
	return o.maxRegisters
}

// newPlan plans the reads of tags. It groups the points by table, sorts them by address and
// merges points whose registers are adjacent or overlap, up to the per-request limit. A gap is
// never read through (an unmapped address is answered with 02 Illegal Data Address), and
// one_request_per_point turns merging off. A point larger than the limit gets a request of
// its own, which the reader cuts into chunks.
func newPlan(pm *point.Map, tags []string, o options) (*plan, error) {
	slots := make([]slot, 0, len(tags))
	for i, tag := range tags {
		p, ok := pm.Point(tag)
		switch {
		case !ok:
			return nil, fmt.Errorf("tag %q is not in point map %q", tag, pm.Name)
		case p.Modbus == nil:
			return nil, fmt.Errorf("tag %q has no Modbus address in point map %q", tag, pm.Name)
		case size(*p.Modbus) == 0:
			return nil, fmt.Errorf("tag %q (%s) occupies no registers", tag, p.Modbus)
		}
		slots = append(slots, slot{out: i, tag: tag, addr: *p.Modbus})
	}
	slices.SortStableFunc(slots, func(a, b slot) int {
		return cmp.Or(
			cmp.Compare(a.addr.Register, b.addr.Register),
			cmp.Compare(a.addr.Address, b.addr.Address),
			cmp.Compare(size(a.addr), size(b.addr)),
			cmp.Compare(a.addr.Wire.Bit, b.addr.Wire.Bit),
		)
	})
	pl := &plan{tags: slices.Clone(tags)}
	for i := 0; i < len(slots); {
		first := slots[i].addr
		start, end := int(first.Address), int(first.Address)+size(first)
		j := i + 1
		for ; j < len(slots) && !o.onePerPoint; j++ {
			a := slots[j].addr
			e := max(end, int(a.Address)+size(a))
			if a.Register != first.Register || int(a.Address) > end || e-start > o.limit(first.Register) {
				break
			}
			end = e
		}
		group := slots[i:j:j]
		for k := range group {
			group[k].off = int(group[k].addr.Address) - start
		}
		pl.reqs = append(pl.reqs, request{table: first.Register, start: uint16(start), count: end - start, slots: group})
		i = j
	}
	return pl, nil
}

func (r request) String() string {
	return rangeString(r.table, int(r.start), r.count)
}

// rangeString names a range as point.ModbusAddr does: "input 40+2", "coil 3".
func rangeString(t point.Register, start, n int) string {
	if n == 1 {
		return fmt.Sprintf("%s %d", t, start)
	}
	return fmt.Sprintf("%s %d+%d", t, start, n)
}

// String lists the requests, one a line, with the tags each answers.
func (p *plan) String() string {
	var b strings.Builder
	for _, r := range p.reqs {
		b.WriteString(r.String())
		b.WriteString(":")
		for _, s := range r.slots {
			b.WriteString(" ")
			b.WriteString(s.tag)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// planCache keeps the plans of the tag lists a connection has read. The last plan is checked
// first by comparing the tag slices, which costs no allocation; a different list is looked up
// by its joined tags (tags cannot contain a NUL byte).
type planCache struct {
	last  *plan
	byKey map[string]*plan
}

// maxPlans bounds the cache; a runner reads a handful of tag lists.
const maxPlans = 64

func (c *planCache) get(pm *point.Map, tags []string, o options) (*plan, error) {
	if c.last != nil && slices.Equal(c.last.tags, tags) {
		return c.last, nil
	}
	key := strings.Join(tags, "\x00")
	if p, ok := c.byKey[key]; ok {
		c.last = p
		return p, nil
	}
	p, err := newPlan(pm, tags, o)
	if err != nil {
		return nil, err
	}
	if c.byKey == nil || len(c.byKey) >= maxPlans {
		c.byKey = map[string]*plan{}
	}
	c.byKey[key] = p
	c.last = p
	return p, nil
}
