package opcua

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/point"
)

// plan is the ReadRequests that read one tag list, prepared once per distinct list and
// reused by every Read of it, so that a Read builds no request and no map.
type plan struct {
	tags       []string // the tag list it reads (its own copy: the cache key)
	batches    []batch
	unresolved []unresolved // tags without a node: Bad on every read, no I/O
}

// batch is one ReadRequest of at most MaxNodesPerRead nodes.
type batch struct {
	req    *ua.ReadRequest
	slots  []slot // the tag of each node to read, in request order
	res    *ua.ReadResponse
	handle func(ua.Response) error // b.take, bound once
}

// slot is one tag of a Read: where its reading goes and how to convert it.
type slot struct {
	out  int // index into the Read's tags and out
	typ  point.Type
	node string // "opc.tcp://host:port: Level (ns=2;s=Tank.Level)", for errors
}

type unresolved struct {
	out int
	err error
}

// where names a point and its node in errors, as the driver's other errors name their
// coordinates.
func (c *Conn) where(tag string, n *node) string {
	return c.target + ": " + tag + " (" + n.str + ")"
}

// take is the response handler of the batch's request.
func (b *batch) take(r ua.Response) error {
	res, ok := r.(*ua.ReadResponse)
	if !ok {
		return fmt.Errorf("answer %T to a ReadRequest", r)
	}
	b.res = res
	return nil
}

// newPlan prepares the reads of tags: the resolved nodes in tag order, cut into batches of
// the server's MaxNodesPerRead. A tag that is not in the map, or has no opcua address, makes
// the whole tag list an error (as a typo must not pass as a Bad reading).
func newPlan(c *Conn, tags []string) (*plan, error) {
	pl := &plan{tags: slices.Clone(tags)}
	var cur *batch
	for i, tag := range tags {
		pi, ok := c.index[tag]
		if !ok {
			return nil, fmt.Errorf("tag %q is not in point map %q", tag, c.pm.Name)
		}
		p := c.pm.Points[pi]
		if p.OPCUA == nil {
			return nil, fmt.Errorf("tag %q has no opcua address in point map %q", tag, c.pm.Name)
		}
		n, err := c.nodeOf(p, pi)
		if err != nil {
			pl.unresolved = append(pl.unresolved, unresolved{out: i, err: fmt.Errorf("%s: %w", c.target, err)})
			continue
		}
		if cur == nil || len(cur.slots) == c.maxRead {
			pl.batches = append(pl.batches, batch{req: &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither}})
			cur = &pl.batches[len(pl.batches)-1]
		}
		cur.req.NodesToRead = append(cur.req.NodesToRead, readValueID(n.id))
		cur.slots = append(cur.slots, slot{out: i, typ: p.Type, node: c.where(p.Tag, n)})
	}
	for i := range pl.batches {
		pl.batches[i].handle = pl.batches[i].take
	}
	return pl, nil
}

// planCache keeps the plans of the tag lists a connection has read. The last plan is checked
// first by comparing the tag slices, which costs no allocation; a different list is looked up
// by its joined tags (tags cannot contain a NUL byte). Reconnect empties it: nodes may move.
type planCache struct {
	last  *plan
	byKey map[string]*plan
}

// maxPlans bounds the cache; a runner reads a handful of tag lists.
const maxPlans = 64

func (pc *planCache) get(c *Conn, tags []string) (*plan, error) {
	if pc.last != nil && slices.Equal(pc.last.tags, tags) {
		return pc.last, nil
	}
	key := strings.Join(tags, "\x00")
	if p, ok := pc.byKey[key]; ok {
		pc.last = p
		return p, nil
	}
	p, err := newPlan(c, tags)
	if err != nil {
		return nil, err
	}
	if pc.byKey == nil || len(pc.byKey) >= maxPlans {
		pc.byKey = map[string]*plan{}
	}
	pc.byKey[key] = p
	pc.last = p
	return p, nil
}
