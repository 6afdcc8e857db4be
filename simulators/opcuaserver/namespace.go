package opcuaserver

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/simulators/plc"
)

// nsIndex is where the model's namespace sits in the namespace array: 0 is the OPC UA
// namespace, 1 the server's own (its application URI, as Part 5 asks), 2 the model's. Point
// maps that name nodes as "ns=2;s=Tank.Level" rely on it.
const nsIndex = 2

// layout is the model's address space as the point map describes it, compiled once at Start
// and shared (read-only) by every run of the OPC UA stack.
type layout struct {
	uri    string
	folder *ua.NodeID // the object under Objects that organizes the variables
	name   string     // its browse name
	vars   []*variable
	byKey  map[string]*variable // by NodeID.String()
}

// variable is one point served as an OPC UA variable.
type variable struct {
	id       *ua.NodeID
	name     string // browse and display name
	desc     string
	typ      point.Type
	uaType   ua.TypeID
	tag      int // controller tag index
	writable bool
}

// uaTypes maps point types to OPC UA built-in types; a built-in type's id is also the
// NodeId (ns=0) of its DataType.
var uaTypes = map[point.Type]ua.TypeID{
	point.TypeBool:    ua.TypeIDBoolean,
	point.TypeInt16:   ua.TypeIDInt16,
	point.TypeUint16:  ua.TypeIDUint16,
	point.TypeInt32:   ua.TypeIDInt32,
	point.TypeUint32:  ua.TypeIDUint32,
	point.TypeInt64:   ua.TypeIDInt64,
	point.TypeUint64:  ua.TypeIDUint64,
	point.TypeFloat32: ua.TypeIDFloat,
	point.TypeFloat64: ua.TypeIDDouble,
	point.TypeString:  ua.TypeIDString,
}

// newLayout compiles the controller's point map: every point with an opcua section becomes a
// variable in the model's namespace, organized by one folder under Objects. The folder is
// named after the common prefix of the string identifiers ("Tank" for "Tank.Level"), else
// after the model.
func newLayout(c *plc.Controller) (*layout, error) {
	pm := c.Points()
	model := c.Identity().Model
	l := &layout{uri: pm.OPCUA.NamespaceURI, byKey: map[string]*variable{}}
	if l.uri == "" {
		l.uri = "urn:patchgate:sim:" + model
	}
	l.name = folderName(pm, model)
	l.folder = ua.NewStringNodeID(nsIndex, l.name)
	tags := c.Tags()
	var errs []error
	for _, p := range pm.Points {
		if p.OPCUA == nil {
			continue
		}
		nid, name, err := l.nodeID(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("point %s: %w", p.Tag, err))
			continue
		}
		ti, ok := c.TagIndex(p.Tag)
		if !ok {
			errs = append(errs, fmt.Errorf("point %s: the controller has no such tag", p.Tag))
			continue
		}
		t, ok := uaTypes[p.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("point %s: type %s has no OPC UA counterpart", p.Tag, p.Type))
			continue
		}
		key := nid.String()
		if _, dup := l.byKey[key]; dup || nid.Equal(l.folder) {
			errs = append(errs, fmt.Errorf("point %s: node id %s is used twice", p.Tag, key))
			continue
		}
		desc := p.Description
		if desc == "" {
			desc = tags[ti].Description
		}
		v := &variable{id: nid, name: name, desc: desc, typ: p.Type, uaType: t, tag: ti,
			writable: p.Writable && tags[ti].Writable}
		l.vars = append(l.vars, v)
		l.byKey[key] = v
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("opc ua address space of %s: %w", pm.Name, err)
	}
	return l, nil
}

// nodeID resolves a point's opcua section to a node of this namespace and its browse name.
func (l *layout) nodeID(p point.Point) (*ua.NodeID, string, error) {
	n := p.OPCUA
	name := p.Tag
	var s string
	switch {
	case n.ID != "":
		s = n.ID
		if rest, ok := strings.CutPrefix(s, "nsu="); ok {
			uri, ident, _ := strings.Cut(rest, ";")
			if uri != l.uri {
				return nil, "", fmt.Errorf("node id %s is in namespace %s; this server serves %s", n.ID, uri, l.uri)
			}
			s = fmt.Sprintf("ns=%d;%s", nsIndex, ident)
		}
	case n.Identifier != "":
		if n.NamespaceURI != l.uri {
			return nil, "", fmt.Errorf("namespace %s; this server serves %s", n.NamespaceURI, l.uri)
		}
		s = fmt.Sprintf("ns=%d;%s", nsIndex, n.Identifier)
	default:
		parts := strings.Split(n.BrowsePath, "/")
		if len(parts) != 2 || parts[0] != l.name {
			return nil, "", fmt.Errorf("browse path %q; this server serves %s/<name>", n.BrowsePath, l.name)
		}
		name = parts[1]
		s = fmt.Sprintf("ns=%d;s=%s.%s", nsIndex, l.name, name)
	}
	nid, err := ua.ParseNodeID(s)
	if err != nil {
		return nil, "", err
	}
	if nid.Namespace() != nsIndex {
		return nil, "", fmt.Errorf("node id %s: the model's namespace is ns=%d", s, nsIndex)
	}
	return nid, name, nil
}

func folderName(pm *point.Map, model string) string {
	prefix := ""
	for _, p := range pm.Points {
		if p.OPCUA == nil {
			continue
		}
		ident := strings.TrimPrefix(p.OPCUA.Identifier, "s=")
		if p.OPCUA.ID != "" {
			_, ident, _ = strings.Cut(p.OPCUA.ID, ";s=")
		}
		head, _, ok := strings.Cut(ident, ".")
		if !ok || head == "" || (prefix != "" && head != prefix) {
			prefix = ""
			break
		}
		prefix = head
	}
	if prefix != "" {
		return prefix
	}
	r := []rune(model)
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// namespace serves a layout to one run of gopcua's server (it implements server.NameSpace).
// Values are read from the controller on every call; nothing is copied. It is safe for
// concurrent use: the layout is immutable and the controller locks itself.
type namespace struct {
	*layout
	c    *plc.Controller
	node map[string]*server.Node // descriptive nodes, for gopcua's browse of ns=0
}

func newNamespace(l *layout, c *plc.Controller) *namespace {
	ns := &namespace{layout: l, c: c, node: map[string]*server.Node{}}
	folder := server.NewNode(l.folder,
		server.Attributes{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassObject)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(&ua.QualifiedName{NamespaceIndex: nsIndex, Name: l.name}),
			ua.AttributeIDDisplayName: server.DataValueFromValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: l.name}),
		},
		server.References{{
			ReferenceTypeID: ua.NewNumericNodeID(0, id.HasTypeDefinition),
			IsForward:       true,
			NodeID:          ua.NewNumericExpandedNodeID(0, id.FolderType),
		}},
		nil)
	ns.node[l.folder.String()] = folder
	for _, v := range l.vars {
		ns.node[v.id.String()] = server.NewNode(v.id,
			server.Attributes{
				ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassVariable)),
				ua.AttributeIDBrowseName:  server.DataValueFromValue(&ua.QualifiedName{NamespaceIndex: nsIndex, Name: v.name}),
				ua.AttributeIDDisplayName: server.DataValueFromValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: v.name}),
				ua.AttributeIDDataType:    server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, uint32(v.uaType))),
			},
			server.References{{
				ReferenceTypeID: ua.NewNumericNodeID(0, id.HasTypeDefinition),
				IsForward:       true,
				NodeID:          ua.NewNumericExpandedNodeID(0, id.BaseDataVariableType),
			}},
			nil)
	}
	return ns
}

func (ns *namespace) Name() string { return ns.uri }
func (ns *namespace) ID() uint16   { return nsIndex }

// SetID is called by Server.AddNamespace; the index is fixed (see nsIndex) and checked there.
func (ns *namespace) SetID(uint16) {}

// AddNode refuses: the address space is the point map.
func (ns *namespace) AddNode(n *server.Node) *server.Node { return nil }

// Node returns a descriptive node (browse name, class, type definition) for gopcua's own
// browse of namespace 0, which looks up the targets of its references.
func (ns *namespace) Node(nid *ua.NodeID) *server.Node {
	if nid == nil {
		return nil
	}
	return ns.node[nid.String()]
}

func (ns *namespace) Objects() *server.Node { return ns.node[ns.folder.String()] }
func (ns *namespace) Root() *server.Node    { return ns.node[ns.folder.String()] }

// ref is one reference of a node of this namespace.
type ref struct {
	typ     uint32 // reference type (ns=0)
	forward bool
	target  *ua.NodeID
	class   ua.NodeClass
	name    *ua.QualifiedName
	typeDef *ua.NodeID // of the target; nil for type nodes
}

func (ns *namespace) refs(nid *ua.NodeID) ([]ref, bool) {
	key := nid.String()
	if nid.Equal(ns.folder) {
		out := []ref{
			{typ: id.HasTypeDefinition, forward: true, target: ua.NewNumericNodeID(0, id.FolderType),
				class: ua.NodeClassObjectType, name: &ua.QualifiedName{Name: "FolderType"}},
			{typ: id.Organizes, forward: false, target: ua.NewNumericNodeID(0, id.ObjectsFolder),
				class: ua.NodeClassObject, name: &ua.QualifiedName{Name: "Objects"}, typeDef: ua.NewNumericNodeID(0, id.FolderType)},
		}
		for _, v := range ns.vars {
			out = append(out, ref{typ: id.Organizes, forward: true, target: v.id, class: ua.NodeClassVariable,
				name: &ua.QualifiedName{NamespaceIndex: nsIndex, Name: v.name}, typeDef: ua.NewNumericNodeID(0, id.BaseDataVariableType)})
		}
		return out, true
	}
	if _, ok := ns.byKey[key]; ok {
		return []ref{
			{typ: id.HasTypeDefinition, forward: true, target: ua.NewNumericNodeID(0, id.BaseDataVariableType),
				class: ua.NodeClassVariableType, name: &ua.QualifiedName{Name: "BaseDataVariableType"}},
			{typ: id.Organizes, forward: false, target: ns.folder, class: ua.NodeClassObject,
				name: &ua.QualifiedName{NamespaceIndex: nsIndex, Name: ns.name}, typeDef: ua.NewNumericNodeID(0, id.FolderType)},
		}, true
	}
	return nil, false
}

// refSuper is the reference type hierarchy (Part 5, 11) as far as this namespace uses it.
var refSuper = map[uint32]uint32{
	id.HierarchicalReferences:    id.References,
	id.NonHierarchicalReferences: id.References,
	id.HasChild:                  id.HierarchicalReferences,
	id.Organizes:                 id.HierarchicalReferences,
	id.Aggregates:                id.HasChild,
	id.HasComponent:              id.Aggregates,
	id.HasProperty:               id.Aggregates,
	id.HasTypeDefinition:         id.NonHierarchicalReferences,
}

func isNumeric(n *ua.NodeID) bool {
	t := n.Type()
	return t == ua.NodeIDTypeTwoByte || t == ua.NodeIDTypeFourByte || t == ua.NodeIDTypeNumeric
}

// refTypeMatches reports whether a reference of type have is one a browse for want asks for.
func refTypeMatches(want *ua.NodeID, subtypes bool, have uint32) bool {
	if want == nil || (want.Namespace() == 0 && isNumeric(want) && want.IntID() == 0) {
		return true
	}
	if want.Namespace() != 0 || !isNumeric(want) {
		return false
	}
	for t := have; ; {
		if t == want.IntID() {
			return true
		}
		up, ok := refSuper[t]
		if !subtypes || !ok {
			return false
		}
		t = up
	}
}

// Browse lists the references of a node of this namespace that the description asks for.
func (ns *namespace) Browse(bd *ua.BrowseDescription) *ua.BrowseResult {
	if bd == nil || bd.NodeID == nil {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDInvalid}
	}
	if bd.BrowseDirection > ua.BrowseDirectionBoth {
		return &ua.BrowseResult{StatusCode: ua.StatusBadBrowseDirectionInvalid}
	}
	all, ok := ns.refs(bd.NodeID)
	if !ok {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
	}
	out := []*ua.ReferenceDescription{}
	for _, r := range all {
		switch {
		case bd.BrowseDirection == ua.BrowseDirectionForward && !r.forward,
			bd.BrowseDirection == ua.BrowseDirectionInverse && r.forward,
			!refTypeMatches(bd.ReferenceTypeID, bd.IncludeSubtypes, r.typ),
			bd.NodeClassMask != 0 && bd.NodeClassMask&uint32(r.class) == 0:
			continue
		}
		td := ua.NewTwoByteExpandedNodeID(0)
		if r.typeDef != nil {
			td = ua.NewExpandedNodeID(r.typeDef, "", 0)
		}
		out = append(out, &ua.ReferenceDescription{
			ReferenceTypeID: ua.NewNumericNodeID(0, r.typ),
			IsForward:       r.forward,
			NodeID:          ua.NewExpandedNodeID(r.target, "", 0),
			BrowseName:      r.name,
			DisplayName:     &ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: r.name.Name},
			NodeClass:       r.class,
			TypeDefinition:  td,
		})
	}
	return &ua.BrowseResult{StatusCode: ua.StatusGood, References: out}
}

// Attribute reads one attribute. A Value read here (gopcua's initial value for a new
// monitored item) bypasses the injected faults: protocol reads come through run.read.
func (ns *namespace) Attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	if v := ns.byKey[nid.String()]; v != nil && attr == ua.AttributeIDValue {
		out := make([]point.Value, 1)
		err := ns.c.Read([]int{v.tag}, out)
		return ns.value(v, out[0], err, ua.TimestampsToReturnBoth)
	}
	return ns.attribute(nid, attr)
}

// attribute reads every attribute but a variable's Value.
func (ns *namespace) attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	var (
		class ua.NodeClass
		name  string
		desc  string
		v     *variable
	)
	switch {
	case nid == nil:
		return bad(ua.StatusBadNodeIDInvalid)
	case nid.Equal(ns.folder):
		class, name, desc = ua.NodeClassObject, ns.name, "process image of the controller"
	default:
		v = ns.byKey[nid.String()]
		if v == nil {
			return bad(ua.StatusBadNodeIDUnknown)
		}
		class, name, desc = ua.NodeClassVariable, v.name, v.desc
	}
	var x any
	switch attr {
	case ua.AttributeIDNodeID:
		x = nid
	case ua.AttributeIDNodeClass:
		x = int32(class)
	case ua.AttributeIDBrowseName:
		x = &ua.QualifiedName{NamespaceIndex: nsIndex, Name: name}
	case ua.AttributeIDDisplayName:
		x = &ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: name}
	case ua.AttributeIDDescription:
		x = &ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: desc}
	case ua.AttributeIDWriteMask, ua.AttributeIDUserWriteMask:
		x = uint32(0)
	}
	if x == nil && v == nil && attr == ua.AttributeIDEventNotifier {
		x = byte(0)
	}
	if x == nil && v != nil {
		switch attr {
		case ua.AttributeIDDataType:
			x = ua.NewNumericNodeID(0, uint32(v.uaType))
		case ua.AttributeIDValueRank:
			x = int32(-1) // scalar
		case ua.AttributeIDArrayDimensions:
			x = []uint32{}
		case ua.AttributeIDAccessLevel, ua.AttributeIDUserAccessLevel:
			x = v.accessLevel()
		case ua.AttributeIDMinimumSamplingInterval:
			x = float64(sampleEvery) / float64(time.Millisecond)
		case ua.AttributeIDHistorizing:
			x = false
		}
	}
	if x == nil {
		return bad(ua.StatusBadAttributeIDInvalid)
	}
	return &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(x)}
}

func (v *variable) accessLevel() byte {
	a := byte(ua.AccessLevelTypeCurrentRead)
	if v.writable {
		a |= byte(ua.AccessLevelTypeCurrentWrite)
	}
	return a
}

func bad(code ua.StatusCode) *ua.DataValue {
	return &ua.DataValue{
		EncodingMask:    ua.DataValueServerTimestamp | ua.DataValueStatusCode,
		ServerTimestamp: time.Now(),
		Status:          code,
	}
}

// value builds the DataValue of a variable from the controller's answer.
func (ns *namespace) value(v *variable, pv point.Value, err error, ts ua.TimestampsToReturn) *ua.DataValue {
	var dv *ua.DataValue
	if err != nil {
		dv = &ua.DataValue{EncodingMask: ua.DataValueStatusCode, Status: status(err)}
	} else if vr, err := toVariant(v.typ, pv); err != nil {
		dv = &ua.DataValue{EncodingMask: ua.DataValueStatusCode, Status: ua.StatusBadOutOfRange}
	} else {
		dv = &ua.DataValue{EncodingMask: ua.DataValueValue, Value: vr}
	}
	now := time.Now()
	if ts == ua.TimestampsToReturnSource || ts == ua.TimestampsToReturnBoth {
		dv.EncodingMask |= ua.DataValueSourceTimestamp
		dv.SourceTimestamp = ns.c.Clock().Now()
	}
	if ts == ua.TimestampsToReturnServer || ts == ua.TimestampsToReturnBoth {
		dv.EncodingMask |= ua.DataValueServerTimestamp
		dv.ServerTimestamp = now
	}
	return dv
}

// SetAttribute writes without going through the injected faults; protocol writes come
// through run.write.
func (ns *namespace) SetAttribute(nid *ua.NodeID, attr ua.AttributeID, dv *ua.DataValue) ua.StatusCode {
	return ns.write(&ua.WriteValue{NodeID: nid, AttributeID: attr, Value: dv}, nil)
}

// write is one item of a Write request; reqErr is the controller's answer to the request as
// a whole (an injected exception, a restart).
func (ns *namespace) write(wv *ua.WriteValue, reqErr error) ua.StatusCode {
	if wv.NodeID == nil {
		return ua.StatusBadNodeIDInvalid
	}
	v := ns.byKey[wv.NodeID.String()]
	switch {
	case v == nil && wv.NodeID.Equal(ns.folder):
		return ua.StatusBadNotWritable
	case v == nil:
		return ua.StatusBadNodeIDUnknown
	case wv.AttributeID != ua.AttributeIDValue:
		return ua.StatusBadNotWritable // WriteMask is 0: no other attribute is writable
	case !v.writable:
		return ua.StatusBadNotWritable
	case wv.IndexRange != "":
		return ua.StatusBadIndexRangeInvalid // scalars only
	case reqErr != nil:
		return status(reqErr)
	case wv.Value == nil || wv.Value.Value == nil:
		return ua.StatusBadTypeMismatch
	}
	pv, ok := fromVariant(v.typ, wv.Value.Value)
	if !ok {
		return ua.StatusBadTypeMismatch
	}
	return status(ns.c.Write([]plc.Write{{Index: v.tag, Value: pv}}))
}

// status maps a controller answer to an OPC UA status code.
func status(err error) ua.StatusCode {
	switch {
	case err == nil:
		return ua.StatusGood
	case errors.Is(err, plc.ErrDown):
		return ua.StatusBadCommunicationError
	case errors.Is(err, plc.ErrException):
		return ua.StatusBadDeviceFailure
	case errors.Is(err, plc.ErrReadOnly):
		return ua.StatusBadNotWritable
	case errors.Is(err, plc.ErrBadValue):
		return ua.StatusBadOutOfRange
	case errors.Is(err, plc.ErrBadType):
		return ua.StatusBadTypeMismatch
	case errors.Is(err, plc.ErrNoTag):
		return ua.StatusBadNodeIDUnknown
	case errors.Is(err, errShutdown):
		return ua.StatusBadShutdown
	}
	return ua.StatusBadInternalError
}

// toVariant converts a controller value to the variable's OPC UA type.
func toVariant(t point.Type, v point.Value) (*ua.Variant, error) {
	if !v.Valid() {
		return nil, errors.New("no value")
	}
	var x any
	switch t {
	case point.TypeBool:
		x = v.Bool()
	case point.TypeFloat32:
		x = float32(v.Float())
	case point.TypeFloat64:
		x = v.Float()
	case point.TypeString:
		x = v.Text()
	case point.TypeUint64:
		u, ok := v.Uint64()
		if !ok {
			return nil, fmt.Errorf("%s is not a uint64", v)
		}
		x = u
	default:
		i, ok := v.Int64()
		if !ok {
			f := v.Float()
			if math.IsNaN(f) || math.Abs(f) >= 1<<63 {
				return nil, fmt.Errorf("%s is not an integer", v)
			}
			i = int64(math.Round(f))
		}
		var fits bool
		switch t {
		case point.TypeInt16:
			x, fits = int16(i), i >= math.MinInt16 && i <= math.MaxInt16
		case point.TypeUint16:
			x, fits = uint16(i), i >= 0 && i <= math.MaxUint16
		case point.TypeInt32:
			x, fits = int32(i), i >= math.MinInt32 && i <= math.MaxInt32
		case point.TypeUint32:
			x, fits = uint32(i), i >= 0 && i <= math.MaxUint32
		case point.TypeInt64:
			x, fits = i, true
		}
		if !fits {
			return nil, fmt.Errorf("%s does not fit %s", v, t)
		}
	}
	return ua.NewVariant(x)
}

// fromVariant converts a written value; the variant must be of the variable's own type
// (a Double written to a Float variable is a type mismatch, as on most PLCs).
func fromVariant(t point.Type, vr *ua.Variant) (point.Value, bool) {
	switch x := vr.Value().(type) {
	case bool:
		return point.Bool(x), t == point.TypeBool
	case int16:
		return point.Int(int64(x)), t == point.TypeInt16
	case uint16:
		return point.Uint(uint64(x)), t == point.TypeUint16
	case int32:
		return point.Int(int64(x)), t == point.TypeInt32
	case uint32:
		return point.Uint(uint64(x)), t == point.TypeUint32
	case int64:
		return point.Int(x), t == point.TypeInt64
	case uint64:
		return point.Uint(x), t == point.TypeUint64
	case float32:
		return point.Float(float64(x)), t == point.TypeFloat32
	case float64:
		return point.Float(x), t == point.TypeFloat64
	case string:
		return point.String(x), t == point.TypeString
	}
	return point.Value{}, false
}
