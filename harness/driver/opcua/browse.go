package opcua

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// Node is one variable found by Browse: where it is, what it holds and what the server lets
// a client do with it.
type Node struct {
	ID           string     // as the server numbers it: "ns=2;s=Tank.Level"
	NamespaceURI string     // of its namespace index
	Identifier   string     // the id without its namespace: "s=Tank.Level", "i=1001"
	BrowsePath   string     // from the root, "N:Name" elements: "2:Tank/2:Level"
	Name         string     // browse name, without its namespace
	Parent       string     // browse name of the node it was found under ("" at the root)
	DataType     string     // built-in type name ("Double"), else the data type's node id
	Type         point.Type // the point type that carries its value; TypeInvalid when none does
	Array        bool       // not a scalar (ValueRank other than -1)
	Readable     bool       // AccessLevel CurrentRead
	Writable     bool       // AccessLevel and UserAccessLevel CurrentWrite
	Unit         string     // EngineeringUnits' display name
	Description  string
	Value        string // the value read while browsing, formatted; "" if none
	Problem      string // why it cannot be a point ("" if it can)
}

// Limits of a browse, so that a huge or cyclic address space ends with an error, not a hang.
const (
	maxBrowseNodes = 20000
	maxBrowseDepth = 32
)

// Browse connects to the target as Open does (same parameters, security and trust), walks
// the hierarchical references forward from root (the Objects folder when root is ""; the
// server's own nodes in namespace 0 are then left out) and returns every variable under it,
// in browse order, with its data type, access level, engineering units, description and
// current value. Properties (HasProperty) are not listed: they describe their parent. It
// only browses and reads: it never writes. A root that is not a node id wraps
// driver.ErrBadTarget.
func Browse(ctx context.Context, t driver.Target, root string) (nodes []Node, err error) {
	var rootID *ua.NodeID
	if root = strings.TrimSpace(root); root != "" && !strings.HasPrefix(root, "nsu=") {
		if rootID, err = ua.ParseNodeID(root); err != nil {
			return nil, fmt.Errorf("%w: root %q: %v; expected a node id such as i=85, ns=2;s=Tank or nsu=URI;s=Tank", driver.ErrBadTarget, root, err)
		}
	}
	dc, err := Driver{}.Open(ctx, t, &point.Map{Version: 1, Name: "discovery"})
	if err != nil {
		return nil, err
	}
	c := dc.(*Conn)
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	l := c.link
	namespaces := l.cl.Namespaces()
	skipNS0 := root == ""
	switch {
	case root == "":
		rootID = ua.NewNumericNodeID(0, id.ObjectsFolder)
	case rootID == nil:
		uri, ident, _ := strings.Cut(strings.TrimPrefix(root, "nsu="), ";")
		if rootID, err = inNamespace(uri, ident, func(u string) (uint16, error) { return nsIndexOf(namespaces, u) }); err != nil {
			return nil, fmt.Errorf("%w: root %q: %v", driver.ErrBadTarget, root, err)
		}
	}
	b := &browser{c: c, ns: namespaces, skipNS0: skipNS0, seen: map[string]bool{rootID.String(): true}}
	if err := b.walk(ctx, rootID); err != nil {
		return nil, fmt.Errorf("browse %s from %s: %w", c.target, rootID, err)
	}
	if err := b.describe(ctx); err != nil {
		return nil, fmt.Errorf("read the attributes of %d variables on %s: %w", len(b.vars), c.target, err)
	}
	return b.vars, nil
}

func nsIndexOf(namespaces []string, uri string) (uint16, error) {
	for i, u := range namespaces {
		if u == uri {
			return uint16(i), nil
		}
	}
	return 0, fmt.Errorf("namespace %s is not on the server (it has %s)", uri, strings.Join(namespaces, ", "))
}

// browser walks an address space breadth first.
type browser struct {
	c       *Conn
	ns      []string
	skipNS0 bool
	seen    map[string]bool
	vars    []Node
	ids     []*ua.NodeID // of vars
	units   []*ua.NodeID // EngineeringUnits property of vars[i], or nil
	count   int
}

// item is a node waiting to be browsed.
type item struct {
	id    *ua.NodeID
	path  string
	name  string
	v     int // index in vars when a variable, else -1
	depth int
}

func (b *browser) walk(ctx context.Context, root *ua.NodeID) error {
	queue := []item{{id: root, v: -1}}
	per := max(1, min(b.c.maxRead, 64))
	for len(queue) > 0 {
		n := min(per, len(queue))
		batch := queue[:n]
		queue = queue[n:]
		refs, err := b.browse(ctx, batch)
		if err != nil {
			return err
		}
		for k, parent := range batch {
			for _, r := range refs[k] {
				next, ok := b.follow(parent, r)
				if ok {
					queue = append(queue, next)
				}
			}
		}
		if b.count > maxBrowseNodes {
			return fmt.Errorf("more than %d nodes; browse a smaller part with a root node", maxBrowseNodes)
		}
	}
	return nil
}

// follow takes one reference of parent: a property names parent's unit, a variable is listed,
// and variables and objects are browsed in turn.
func (b *browser) follow(parent item, r *ua.ReferenceDescription) (item, bool) {
	if r == nil || r.NodeID == nil || r.NodeID.NodeID == nil || r.NodeID.HasServerIndex() || r.NodeID.HasNamespaceURI() {
		return item{}, false
	}
	nid := r.NodeID.NodeID
	name := ""
	if r.BrowseName != nil {
		name = r.BrowseName.Name
	}
	isProperty := r.ReferenceTypeID != nil && r.ReferenceTypeID.Namespace() == 0 && r.ReferenceTypeID.IntID() == id.HasProperty
	if isProperty {
		if parent.v >= 0 && name == "EngineeringUnits" {
			b.units[parent.v] = nid
		}
		return item{}, false
	}
	if b.skipNS0 && nid.Namespace() == 0 {
		return item{}, false
	}
	key := nid.String()
	if b.seen[key] || parent.depth+1 > maxBrowseDepth {
		return item{}, false
	}
	b.seen[key] = true
	b.count++
	ns := uint16(0)
	if r.BrowseName != nil {
		ns = r.BrowseName.NamespaceIndex
	}
	path := strconv.Itoa(int(ns)) + ":" + name
	if parent.path != "" {
		path = parent.path + "/" + path
	}
	it := item{id: nid, path: path, name: name, v: -1, depth: parent.depth + 1}
	if r.NodeClass == ua.NodeClassVariable {
		it.v = len(b.vars)
		uri := ""
		if int(nid.Namespace()) < len(b.ns) {
			uri = b.ns[nid.Namespace()]
		}
		ident := key
		if _, rest, ok := strings.Cut(key, ";"); ok && strings.HasPrefix(key, "ns=") {
			ident = rest
		}
		b.vars = append(b.vars, Node{ID: key, NamespaceURI: uri, Identifier: ident, BrowsePath: path, Name: name, Parent: parent.name})
		b.ids = append(b.ids, nid)
		b.units = append(b.units, nil)
	}
	return it, true
}

// browse asks for the forward hierarchical references of a batch of nodes, following
// continuation points, and returns them per node.
func (b *browser) browse(ctx context.Context, batch []item) ([][]*ua.ReferenceDescription, error) {
	req := &ua.BrowseRequest{View: &ua.ViewDescription{ViewID: ua.NewTwoByteNodeID(0)}}
	for _, it := range batch {
		req.NodesToBrowse = append(req.NodesToBrowse, &ua.BrowseDescription{
			NodeID:          it.id,
			BrowseDirection: ua.BrowseDirectionForward,
			ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
			IncludeSubtypes: true,
			NodeClassMask:   uint32(ua.NodeClassObject | ua.NodeClassVariable),
			ResultMask:      uint32(ua.BrowseResultMaskAll),
		})
	}
	var results []*ua.BrowseResult
	err := b.c.send(ctx, b.c.link, req, func(r ua.Response) error {
		res, ok := r.(*ua.BrowseResponse)
		if !ok {
			return fmt.Errorf("answer %T to Browse", r)
		}
		results = res.Results
		return nil
	})
	if err != nil {
		return nil, b.c.failure(ctx, err)
	}
	out := make([][]*ua.ReferenceDescription, len(batch))
	for k := range batch {
		if k >= len(results) || results[k] == nil {
			continue
		}
		r := results[k]
		if !Status(r.StatusCode).Good() {
			if k == 0 && batch[k].depth == 0 {
				if r.StatusCode == ua.StatusBadNodeIDUnknown || r.StatusCode == ua.StatusBadNodeIDInvalid {
					// the caller named a node the server does not have: the caller's input
					return nil, fmt.Errorf("%w: root %s: %w", driver.ErrBadTarget, batch[k].id, Status(r.StatusCode))
				}
				return nil, fmt.Errorf("root %s: %w", batch[k].id, Status(r.StatusCode))
			}
			continue // a node that cannot be browsed has nothing under it for us
		}
		out[k] = r.References
		for cp := r.ContinuationPoint; len(cp) > 0; {
			var next *ua.BrowseResult
			err := b.c.send(ctx, b.c.link, &ua.BrowseNextRequest{ContinuationPoints: [][]byte{cp}}, func(r ua.Response) error {
				res, ok := r.(*ua.BrowseNextResponse)
				if !ok || len(res.Results) != 1 {
					return fmt.Errorf("answer %T to BrowseNext", r)
				}
				next = res.Results[0]
				return nil
			})
			if err != nil {
				return nil, b.c.failure(ctx, err)
			}
			if next == nil || !Status(next.StatusCode).Good() {
				break
			}
			out[k] = append(out[k], next.References...)
			cp = next.ContinuationPoint
		}
	}
	return out, nil
}

// attributes read per variable, in this order.
var varAttrs = []ua.AttributeID{ua.AttributeIDDataType, ua.AttributeIDValueRank, ua.AttributeIDAccessLevel,
	ua.AttributeIDUserAccessLevel, ua.AttributeIDDescription, ua.AttributeIDValue}

// describe reads the attributes and engineering units of every variable found.
func (b *browser) describe(ctx context.Context) error {
	var reads []*ua.ReadValueID
	for _, nid := range b.ids {
		for _, a := range varAttrs {
			reads = append(reads, &ua.ReadValueID{NodeID: nid, AttributeID: a, DataEncoding: &ua.QualifiedName{}})
		}
	}
	unitAt := map[int]int{} // var index -> read index
	for i, u := range b.units {
		if u != nil {
			unitAt[i] = len(reads)
			reads = append(reads, readValueID(u))
		}
	}
	dvs := make([]*ua.DataValue, 0, len(reads))
	per := max(1, b.c.maxRead)
	for lo := 0; lo < len(reads); lo += per {
		hi := min(lo+per, len(reads))
		req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither, NodesToRead: reads[lo:hi]}
		err := b.c.send(ctx, b.c.link, req, func(r ua.Response) error {
			res, ok := r.(*ua.ReadResponse)
			if !ok || len(res.Results) != hi-lo {
				return fmt.Errorf("answer %T to a read of %d attributes", r, hi-lo)
			}
			dvs = append(dvs, res.Results...)
			return nil
		})
		if err != nil {
			return b.c.failure(ctx, err)
		}
	}
	for i := range b.vars {
		d := dvs[i*len(varAttrs) : (i+1)*len(varAttrs)]
		var unit *ua.DataValue
		if k, ok := unitAt[i]; ok {
			unit = dvs[k]
		}
		describeNode(&b.vars[i], d[0], d[1], d[2], d[3], d[4], d[5], unit)
	}
	return nil
}

// good returns a DataValue's value when its status is Good.
func good(dv *ua.DataValue) any {
	if dv == nil || !Status(dv.Status).Good() || dv.Value == nil {
		return nil
	}
	return dv.Value.Value()
}

// builtinTypes are the data types (ns=0) a point type carries, by the point type.
var builtinTypes = map[uint32]point.Type{
	id.Boolean: point.TypeBool, id.SByte: point.TypeInt16, id.Byte: point.TypeUint16,
	id.Int16: point.TypeInt16, id.UInt16: point.TypeUint16, id.Int32: point.TypeInt32, id.UInt32: point.TypeUint32,
	id.Int64: point.TypeInt64, id.UInt64: point.TypeUint64, id.Float: point.TypeFloat32, id.Double: point.TypeFloat64,
	id.String: point.TypeString,
}

func describeNode(n *Node, dataType, rank, access, userAccess, desc, val, unit *ua.DataValue) {
	var dt *ua.NodeID
	if x, ok := good(dataType).(*ua.NodeID); ok {
		dt = x
	}
	if dt != nil && dt.Namespace() == 0 && dt.IntID() > 0 && dt.IntID() <= 25 {
		n.DataType = typeName(ua.TypeID(dt.IntID()))
	} else if dt != nil {
		n.DataType = dt.String()
	}
	if dt != nil && dt.Namespace() == 0 {
		n.Type = builtinTypes[dt.IntID()]
	}
	if r, ok := good(rank).(int32); ok && r != -1 {
		n.Array = true
	}
	al, hasAccess := good(access).(uint8)
	n.Readable = !hasAccess || al&uint8(ua.AccessLevelTypeCurrentRead) != 0
	n.Writable = hasAccess && al&uint8(ua.AccessLevelTypeCurrentWrite) != 0
	if ual, ok := good(userAccess).(uint8); ok {
		n.Writable = n.Writable && ual&uint8(ua.AccessLevelTypeCurrentWrite) != 0
		n.Readable = n.Readable && ual&uint8(ua.AccessLevelTypeCurrentRead) != 0
	}
	if lt, ok := good(desc).(*ua.LocalizedText); ok && lt != nil {
		n.Description = strings.TrimSpace(lt.Text)
	}
	if eo, ok := good(unit).(*ua.ExtensionObject); ok && eo != nil {
		var eu *ua.EUInformation
		switch x := eo.Value.(type) {
		case *ua.EUInformation:
			eu = x
		case ua.EUInformation:
			eu = &x
		}
		if eu != nil && eu.DisplayName != nil {
			n.Unit = strings.TrimSpace(eu.DisplayName.Text)
		}
	}
	v := good(val)
	if v != nil && val.Value != nil && !val.Value.Has(ua.VariantArrayValues) {
		if n.Type == point.TypeInvalid {
			// a subtype (an enumeration, a Duration): the value's built-in type says what it is
			n.Type = builtinTypes[uint32(val.Value.Type())]
		}
		switch x := v.(type) {
		case string:
			n.Value = strconv.Quote(x)
		case float32, float64, bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
			n.Value = fmt.Sprint(x)
		}
	}
	switch {
	case !n.Readable:
		n.Problem = "not readable (AccessLevel)"
	case n.Array:
		n.Problem = "an array; a point is one scalar value"
	case n.Type == point.TypeInvalid && n.DataType == "":
		n.Problem = "no data type could be read"
	case n.Type == point.TypeInvalid:
		n.Problem = "data type " + n.DataType + " has no point type"
	case v == nil && val != nil && !Status(val.Status).Good():
		n.Problem = "its value reads " + Status(val.Status).Error()
	}
}
