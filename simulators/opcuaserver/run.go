package opcuaserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"

	"github.com/patchgate/patchgate/harness/point"
)

// errShutdown is the controller's answer to a request that a closing server cut short.
var errShutdown = errors.New("server shutting down")

// maxNodesPerRead is what gopcua's server advertises in ServerCapabilities; it is enforced
// here, as a PLC would.
const maxNodesPerRead = 32

// sampleEvery is how often monitored items of the model's namespace are sampled.
const sampleEvery = 50 * time.Millisecond

// run is one life of the OPC UA stack: a gopcua server from start to stop. A controller
// restart ends it (sessions and subscriptions are lost, as on a real PLC) and Resume starts
// the next one. gopcua's server listens on a private loopback port; clients reach it only
// through the Server's proxy, which is what lets Drop cut connections.
type run struct {
	s     *Server
	srv   *server.Server
	ns    *namespace
	inner string // host:port gopcua listens on

	labels context.Context // the server's pprof labels and this run's
	label  string          // this run's label as the goroutine profile prints it

	ready chan struct{} // closed once serving, or once err is set
	err   error
	quit  chan struct{} // closed by stop
	once  sync.Once

	reqCtx    context.Context // requests waiting on the controller (latency, stall)
	reqCancel context.CancelFunc

	users *users // nil: sessions are anonymous
}

var runs atomic.Int64

func (s *Server) newRun() *run {
	n := strconv.FormatInt(runs.Add(1), 10)
	r := &run{s: s, ready: make(chan struct{}), quit: make(chan struct{}),
		labels: pprof.WithLabels(s.labels, pprof.Labels(labelKey+"/run", n)),
		label:  `"` + labelKey + `/run":"` + n + `"`}
	r.reqCtx, r.reqCancel = context.WithCancel(context.Background())
	return r
}

// life runs in its own goroutine: it starts the stack, serves until stop, and tears it down.
func (r *run) life() {
	defer r.s.wg.Done()
	pprof.SetGoroutineLabels(r.labels)
	ctx, cancel := context.WithCancel(r.labels)
	defer cancel()
	select {
	case <-r.quit: // stopped before it started: spare the build
		r.err = errShutdown
	default:
		r.err = r.start(ctx)
	}
	close(r.ready)
	if r.err != nil {
		r.reqCancel()
		return
	}
	r.s.wg.Add(1)
	go r.sample()
	<-r.quit
	r.teardown(cancel)
}

func (r *run) stop() { r.once.Do(func() { close(r.quit) }) }

// start builds a gopcua server and starts it on a free loopback port. The port is held
// while the server is built (a quarter second: gopcua imports the whole standard nodeset)
// and released just before gopcua binds it; a lost race is retried.
func (r *run) start(ctx context.Context) error {
	var err error
	for try := 0; try < 5; try++ {
		var hold net.Listener
		hold, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("opc ua: reserve a loopback port: %w", err)
		}
		r.inner = hold.Addr().String()
		r.srv, r.ns, err = r.build(hold.Addr().(*net.TCPAddr).Port)
		hold.Close()
		if err != nil {
			return err
		}
		if err = r.srv.Start(ctx); err == nil {
			return nil
		}
		r.srv.Close()
		select {
		case <-r.quit:
			return errShutdown
		default:
		}
	}
	return fmt.Errorf("opc ua: start on %s: %w", r.inner, err)
}

// build makes the gopcua server: endpoints, identity, the model's namespace and our service
// handlers (registered before Start, so gopcua's own do not replace them).
func (r *run) build(port int) (*server.Server, *namespace, error) {
	s := r.s
	idt := s.c.Identity()
	opts := []server.Option{
		server.EndPoint("127.0.0.1", port),           // where gopcua listens: the first endpoint
		server.EndPoint(hostLiteral(s.host), s.port), // what clients are told
		server.Certificate(s.cert),                   // also sets the application URI
		server.PrivateKey(s.key),
		server.ServerName(idt.Product + " " + idt.Serial),
		server.ManufacturerName(idt.Vendor),
		server.ProductName(idt.Product),
		server.SoftwareVersion(idt.Firmware), // BuildInfo SoftwareVersion and BuildNumber
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
	}
	for _, sec := range s.cfg.Security.modes(s.cfg.Policies, s.cfg.InsecureEndpoint) {
		opts = append(opts, server.EnableSecurity(sec.policy, sec.mode))
	}
	srv := server.New(opts...)
	server.NewNodeNameSpace(srv, s.appURI) // ns=1: the server's own namespace
	ns := newNamespace(s.layout, s.c)
	if i := srv.AddNamespace(ns); i != nsIndex {
		return nil, nil, fmt.Errorf("opc ua: model namespace at index %d, want %d", i, nsIndex)
	}
	ns0, err := srv.Namespace(0)
	if err != nil {
		return nil, nil, err
	}
	ns0.Objects().AddRef(ns.Objects(), id.Organizes, true)
	r.fixServerStatus(srv, ns0, idt.Vendor, idt.Product, idt.Firmware)

	srv.RegisterHandler(id.ReadRequest_Encoding_DefaultBinary, r.read)
	srv.RegisterHandler(id.WriteRequest_Encoding_DefaultBinary, r.write)
	srv.RegisterHandler(id.GetEndpointsRequest_Encoding_DefaultBinary, r.getEndpoints)
	srv.RegisterHandler(id.FindServersRequest_Encoding_DefaultBinary, r.findServers)
	srv.RegisterHandler(id.TranslateBrowsePathsToNodeIDsRequest_Encoding_DefaultBinary, r.translate)
	if s.cfg.usersEnabled() {
		u, err := newUsers(srv, s.cfg, s.cert, s.key)
		if err != nil {
			return nil, nil, err
		}
		r.users = u
		srv.RegisterHandler(id.CreateSessionRequest_Encoding_DefaultBinary, u.createSession(r))
		srv.RegisterHandler(id.ActivateSessionRequest_Encoding_DefaultBinary, u.activateSession)
		srv.RegisterHandler(id.CloseSessionRequest_Encoding_DefaultBinary, u.closeSession)
	}
	return srv, ns, nil
}

// teardown stops the stack in the order that lets every gopcua goroutine end: release
// requests waiting on the controller; close the listener and the channels (the proxy cut the
// clients already, so the channel goroutines see EOF and gopcua's Close waits for them while
// the request loop still drains their last messages); stop the request loop; then delete
// the subscriptions, whose goroutines gopcua leaves ticking until their lifetime runs out.
// The request loop must be gone first: gopcua's CreateMonitoredItems takes its locks in the
// opposite order from DeleteSubscription.
//
// Before Close, every channel goroutine must have ended on its own: gopcua's
// channelBroker.RegisterConn calls wg.Add after the connection is accepted, and Close calls
// wg.Wait, so a connection accepted just before Close races (the race detector sees it). The
// proxy has cut every inner connection, so those goroutines end with EOF shortly.
func (r *run) teardown(cancel context.CancelFunc) {
	r.reqCancel()
	waitLabeled(r.label, "(*channelBroker).RegisterConn", closeTimeout)
	r.srv.Close()
	cancel()
	waitLabeled(r.label, "(*Server).monitorConnections", closeTimeout)
	if subs := r.srv.SubscriptionService; subs != nil {
		subs.Mu.Lock()
		ids := make([]uint32, 0, len(subs.Subs))
		for id := range subs.Subs {
			ids = append(ids, id)
		}
		subs.Mu.Unlock()
		for _, id := range ids {
			subs.DeleteSubscription(id)
		}
	}
}

// fixServerStatus replaces gopcua's ServerStatus nodes: its ServerStatus and BuildInfo
// structures say "0.0.0-dev" and gopcua's product URI whatever the options, two browse
// names are wrong and two values have the wrong type.
func (r *run) fixServerStatus(srv *server.Server, ns0 server.NameSpace, vendor, product, firmware string) {
	bi := &ua.BuildInfo{
		ProductURI:       r.s.productURI,
		ManufacturerName: vendor,
		ProductName:      product,
		SoftwareVersion:  firmware,
		BuildNumber:      firmware,
	}
	status := func() *ua.ServerStatusDataType {
		st := srv.Status()
		st.BuildInfo = bi
		st.ShutdownReason = &ua.LocalizedText{}
		return st
	}
	type def struct {
		id       uint32
		name     string
		dataType uint32
		value    func() any
		children []uint32
	}
	defs := []def{
		{id.Server_ServerStatus, "ServerStatus", id.ServerStatusDataType,
			func() any { return ua.NewExtensionObject(status()) },
			[]uint32{id.Server_ServerStatus_StartTime, id.Server_ServerStatus_CurrentTime, id.Server_ServerStatus_State,
				id.Server_ServerStatus_BuildInfo, id.Server_ServerStatus_SecondsTillShutdown, id.Server_ServerStatus_ShutdownReason}},
		{id.Server_ServerStatus_StartTime, "StartTime", id.UtcTime, func() any { return status().StartTime }, nil},
		{id.Server_ServerStatus_CurrentTime, "CurrentTime", id.UtcTime, func() any { return time.Now() }, nil},
		{id.Server_ServerStatus_State, "State", id.ServerState, func() any { return int32(status().State) }, nil},
		{id.Server_ServerStatus_BuildInfo, "BuildInfo", id.BuildInfo, func() any { return ua.NewExtensionObject(bi) },
			[]uint32{id.Server_ServerStatus_BuildInfo_ProductURI, id.Server_ServerStatus_BuildInfo_ManufacturerName,
				id.Server_ServerStatus_BuildInfo_ProductName, id.Server_ServerStatus_BuildInfo_SoftwareVersion,
				id.Server_ServerStatus_BuildInfo_BuildNumber, id.Server_ServerStatus_BuildInfo_BuildDate}},
		{id.Server_ServerStatus_BuildInfo_ProductURI, "ProductURI", id.String, func() any { return bi.ProductURI }, nil},
		{id.Server_ServerStatus_BuildInfo_ManufacturerName, "ManufacturerName", id.String, func() any { return bi.ManufacturerName }, nil},
		{id.Server_ServerStatus_BuildInfo_ProductName, "ProductName", id.String, func() any { return bi.ProductName }, nil},
		{id.Server_ServerStatus_BuildInfo_SoftwareVersion, "SoftwareVersion", id.String, func() any { return bi.SoftwareVersion }, nil},
		{id.Server_ServerStatus_BuildInfo_BuildNumber, "BuildNumber", id.String, func() any { return bi.BuildNumber }, nil},
		{id.Server_ServerStatus_BuildInfo_BuildDate, "BuildDate", id.UtcTime, func() any { return bi.BuildDate }, nil},
		{id.Server_ServerStatus_SecondsTillShutdown, "SecondsTillShutdown", id.UInt32, func() any { return uint32(0) }, nil},
		{id.Server_ServerStatus_ShutdownReason, "ShutdownReason", id.LocalizedText, func() any { return &ua.LocalizedText{} }, nil},
	}
	// children first, so that a parent's references describe the new nodes
	for i := len(defs) - 1; i >= 0; i-- {
		d := defs[i]
		n := server.NewNode(ua.NewNumericNodeID(0, d.id),
			server.Attributes{
				ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassVariable)),
				ua.AttributeIDBrowseName:  server.DataValueFromValue(&ua.QualifiedName{Name: d.name}),
				ua.AttributeIDDisplayName: server.DataValueFromValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: d.name}),
				ua.AttributeIDDataType:    server.DataValueFromValue(ua.NewNumericNodeID(0, d.dataType)),
				ua.AttributeIDValueRank:   server.DataValueFromValue(int32(-1)),
				ua.AttributeIDAccessLevel: server.DataValueFromValue(byte(ua.AccessLevelTypeCurrentRead)),
			},
			nil,
			func() *ua.DataValue {
				return &ua.DataValue{EncodingMask: ua.DataValueValue | ua.DataValueServerTimestamp,
					Value: ua.MustVariant(d.value()), ServerTimestamp: time.Now()}
			})
		for _, c := range d.children {
			n.AddRef(ns0.Node(ua.NewNumericNodeID(0, c)), id.HasComponent, true)
		}
		ns0.AddNode(n)
	}
}

// session reports whether the request belongs to a session the server created. gopcua
// does not check this for reads and writes.
func (r *run) session(h *ua.RequestHeader) bool {
	return h != nil && h.AuthenticationToken != nil && r.srv.Session(h) != nil
}

func header(h *ua.RequestHeader, code ua.StatusCode) *ua.ResponseHeader {
	var handle uint32
	if h != nil {
		handle = h.RequestHandle
	}
	return &ua.ResponseHeader{
		Timestamp:          time.Now(),
		RequestHandle:      handle,
		ServiceResult:      code,
		ServiceDiagnostics: &ua.DiagnosticInfo{},
		StringTable:        []string{},
		AdditionalHeader:   ua.NewExtensionObject(nil),
	}
}

// request passes one protocol request through the controller's injected faults (latency,
// jitter, stall, exceptions, restart).
func (r *run) request() error {
	err := r.s.c.Request(r.reqCtx)
	if err != nil && r.reqCtx.Err() != nil {
		return errShutdown
	}
	return err
}

// read serves the Read service. A request that touches the model's namespace goes through
// the controller's faults once, and all its values come from one scan.
func (r *run) read(_ *uasc.SecureChannel, req ua.Request, _ uint32) (ua.Response, error) {
	rr, ok := req.(*ua.ReadRequest)
	switch {
	case !ok:
		return nil, ua.StatusBadRequestTypeInvalid
	case !r.session(rr.RequestHeader):
		return nil, ua.StatusBadSessionIDInvalid
	case len(rr.NodesToRead) == 0:
		return nil, ua.StatusBadNothingToDo
	case len(rr.NodesToRead) > maxNodesPerRead:
		return nil, ua.StatusBadTooManyOperations
	case rr.TimestampsToReturn > ua.TimestampsToReturnNeither:
		return nil, ua.StatusBadTimestampsToReturnInvalid
	}
	var reqErr error
	for _, n := range rr.NodesToRead {
		if n != nil && n.NodeID != nil && n.NodeID.Namespace() == nsIndex {
			reqErr = r.request()
			break
		}
	}
	results := make([]*ua.DataValue, len(rr.NodesToRead))
	var (
		idx  []int
		at   []int
		vars []*variable
	)
	for i, n := range rr.NodesToRead {
		switch {
		case n == nil || n.NodeID == nil:
			results[i] = bad(ua.StatusBadNodeIDInvalid)
		case n.NodeID.Namespace() == nsIndex:
			v := r.ns.byKey[n.NodeID.String()]
			switch {
			case v == nil || n.AttributeID != ua.AttributeIDValue:
				results[i] = r.ns.attribute(n.NodeID, n.AttributeID)
			case n.IndexRange != "":
				results[i] = bad(ua.StatusBadIndexRangeNoData)
			case reqErr != nil:
				results[i] = r.ns.value(v, point.Value{}, reqErr, rr.TimestampsToReturn)
			default:
				idx, at, vars = append(idx, v.tag), append(at, i), append(vars, v)
			}
		default:
			ns, err := r.srv.Namespace(int(n.NodeID.Namespace()))
			if err != nil {
				results[i] = bad(ua.StatusBadNodeIDUnknown)
				continue
			}
			results[i] = ns.Attribute(n.NodeID, n.AttributeID)
		}
	}
	if len(idx) > 0 {
		vals := make([]point.Value, len(idx))
		err := r.s.c.Read(idx, vals)
		for k, i := range at {
			results[i] = r.ns.value(vars[k], vals[k], err, rr.TimestampsToReturn)
		}
	}
	return &ua.ReadResponse{ResponseHeader: header(rr.RequestHeader, ua.StatusOK), Results: results}, nil
}

// write serves the Write service: the model's variables are written through the controller
// (after its faults, once per request); nothing else in the address space is writable.
func (r *run) write(_ *uasc.SecureChannel, req ua.Request, _ uint32) (ua.Response, error) {
	wr, ok := req.(*ua.WriteRequest)
	switch {
	case !ok:
		return nil, ua.StatusBadRequestTypeInvalid
	case !r.session(wr.RequestHeader):
		return nil, ua.StatusBadSessionIDInvalid
	case len(wr.NodesToWrite) == 0:
		return nil, ua.StatusBadNothingToDo
	}
	var reqErr error
	for _, w := range wr.NodesToWrite {
		if w != nil && w.NodeID != nil && w.NodeID.Namespace() == nsIndex {
			reqErr = r.request()
			break
		}
	}
	results := make([]ua.StatusCode, len(wr.NodesToWrite))
	for i, w := range wr.NodesToWrite {
		switch {
		case w == nil || w.NodeID == nil:
			results[i] = ua.StatusBadNodeIDInvalid
		case w.NodeID.Namespace() == nsIndex:
			results[i] = r.ns.write(w, reqErr)
		case r.srv.Node(w.NodeID) != nil:
			results[i] = ua.StatusBadNotWritable
		default:
			results[i] = ua.StatusBadNodeIDUnknown
		}
	}
	return &ua.WriteResponse{ResponseHeader: header(wr.RequestHeader, ua.StatusOK), Results: results,
		DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

// application describes the server as clients must see it: its public URL only.
func (r *run) application() *ua.ApplicationDescription {
	idt := r.s.c.Identity()
	return &ua.ApplicationDescription{
		ApplicationURI:  r.s.appURI,
		ProductURI:      r.s.productURI,
		ApplicationName: &ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: idt.Product + " " + idt.Serial},
		ApplicationType: ua.ApplicationTypeServer,
		DiscoveryURLs:   []string{r.s.url},
	}
}

// getEndpoints answers with the public endpoints, whatever URL the client asked with
// (gopcua's answers only an exact match, and would also list the private one).
func (r *run) getEndpoints(_ *uasc.SecureChannel, req ua.Request, _ uint32) (ua.Response, error) {
	gr, ok := req.(*ua.GetEndpointsRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	return &ua.GetEndpointsResponse{ResponseHeader: header(gr.RequestHeader, ua.StatusOK), Endpoints: r.endpoints()}, nil
}

// endpoints are the public endpoints, with the user token policies of Config's users.
func (r *run) endpoints() []*ua.EndpointDescription {
	app := r.application()
	var eps []*ua.EndpointDescription
	for _, ep := range r.srv.Endpoints() {
		if ep.EndpointURL != r.s.url {
			continue
		}
		c := *ep
		c.Server = app
		if r.users != nil {
			c.UserIdentityTokens = r.users.tokens(c.SecurityPolicyURI)
		}
		eps = append(eps, &c)
	}
	return eps
}

func (r *run) findServers(_ *uasc.SecureChannel, req ua.Request, _ uint32) (ua.Response, error) {
	fr, ok := req.(*ua.FindServersRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	servers := []*ua.ApplicationDescription{}
	match := len(fr.ServerURIs) == 0
	for _, u := range fr.ServerURIs {
		match = match || u == r.s.appURI
	}
	if match {
		servers = append(servers, r.application())
	}
	return &ua.FindServersResponse{ResponseHeader: header(fr.RequestHeader, ua.StatusOK), Servers: servers}, nil
}

// translate serves TranslateBrowsePathsToNodeIDs (gopcua answers BadServiceUnsupported),
// so point maps may name nodes by browse path ("Tank/Level" from Objects).
func (r *run) translate(_ *uasc.SecureChannel, req ua.Request, _ uint32) (ua.Response, error) {
	tr, ok := req.(*ua.TranslateBrowsePathsToNodeIDsRequest)
	switch {
	case !ok:
		return nil, ua.StatusBadRequestTypeInvalid
	case !r.session(tr.RequestHeader):
		return nil, ua.StatusBadSessionIDInvalid
	case len(tr.BrowsePaths) == 0:
		return nil, ua.StatusBadNothingToDo
	}
	results := make([]*ua.BrowsePathResult, len(tr.BrowsePaths))
	for i, bp := range tr.BrowsePaths {
		results[i] = r.translatePath(bp)
	}
	return &ua.TranslateBrowsePathsToNodeIDsResponse{ResponseHeader: header(tr.RequestHeader, ua.StatusOK),
		Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (r *run) translatePath(bp *ua.BrowsePath) *ua.BrowsePathResult {
	if bp == nil || bp.StartingNode == nil || r.srv.Node(bp.StartingNode) == nil && r.ns.Node(bp.StartingNode) == nil {
		return &ua.BrowsePathResult{StatusCode: ua.StatusBadNodeIDUnknown}
	}
	if bp.RelativePath == nil || len(bp.RelativePath.Elements) == 0 {
		return &ua.BrowsePathResult{StatusCode: ua.StatusBadNothingToDo}
	}
	cur := []*ua.NodeID{bp.StartingNode}
	for _, el := range bp.RelativePath.Elements {
		if el == nil || el.TargetName == nil || el.TargetName.Name == "" {
			return &ua.BrowsePathResult{StatusCode: ua.StatusBadBrowseNameInvalid}
		}
		rt, sub := el.ReferenceTypeID, el.IncludeSubtypes
		if rt == nil || (rt.Namespace() == 0 && isNumeric(rt) && rt.IntID() == 0) {
			rt, sub = ua.NewNumericNodeID(0, id.HierarchicalReferences), true
		}
		dir := ua.BrowseDirectionForward
		if el.IsInverse {
			dir = ua.BrowseDirectionInverse
		}
		var next []*ua.NodeID
		for _, n := range cur {
			ns, err := r.srv.Namespace(int(n.Namespace()))
			if err != nil {
				continue
			}
			res := ns.Browse(&ua.BrowseDescription{NodeID: n, BrowseDirection: dir, ReferenceTypeID: rt,
				IncludeSubtypes: sub, ResultMask: uint32(ua.BrowseResultMaskAll)})
			if res == nil {
				continue
			}
			for _, ref := range res.References {
				if ref.BrowseName != nil && ref.NodeID != nil && ref.NodeID.NodeID != nil &&
					ref.BrowseName.Name == el.TargetName.Name && ref.BrowseName.NamespaceIndex == el.TargetName.NamespaceIndex {
					next = append(next, ref.NodeID.NodeID)
				}
			}
		}
		if len(next) == 0 {
			return &ua.BrowsePathResult{StatusCode: ua.StatusBadNoMatch}
		}
		cur = next
	}
	res := &ua.BrowsePathResult{StatusCode: ua.StatusGood}
	for _, n := range cur {
		res.Targets = append(res.Targets, &ua.BrowsePathTarget{TargetID: ua.NewExpandedNodeID(n, "", 0), RemainingPathIndex: math.MaxUint32})
	}
	return res
}

// sample feeds subscriptions: gopcua publishes a monitored item only when told that its node
// changed, so the model's monitored variables are sampled every sampleEvery and each change
// (value or status) is handed to the item's subscription.
func (r *run) sample() {
	defer r.s.wg.Done()
	pprof.SetGoroutineLabels(r.labels)
	mis := r.srv.MonitoredItemService
	if mis == nil {
		return
	}
	type item struct {
		id, handle uint32
		ch         chan *ua.MonitoredItemNotification
		v          *variable
	}
	type seen struct {
		value  any
		status ua.StatusCode
	}
	last := map[uint32]seen{}
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-r.reqCtx.Done():
			return
		case <-t.C:
		}
		var items []item
		mis.Mu.Lock()
		for key, list := range mis.Nodes {
			v := r.ns.byKey[key]
			if v == nil {
				continue
			}
			for _, it := range list {
				if it == nil || it.Sub == nil || it.Req == nil || it.Req.ItemToMonitor == nil ||
					it.Req.RequestedParameters == nil || it.Req.ItemToMonitor.AttributeID != ua.AttributeIDValue {
					continue
				}
				items = append(items, item{it.ID, it.Req.RequestedParameters.ClientHandle, it.Sub.NotifyChannel, v})
			}
		}
		mis.Mu.Unlock()
		if len(items) == 0 {
			clear(last)
			continue
		}
		idx := make([]int, len(items))
		for i, it := range items {
			idx[i] = it.v.tag
		}
		vals := make([]point.Value, len(items))
		err := r.s.c.Read(idx, vals)
		live := make(map[uint32]bool, len(items))
		for i, it := range items {
			live[it.id] = true
			dv := r.ns.value(it.v, vals[i], err, ua.TimestampsToReturnBoth)
			now := seen{status: dv.Status}
			if dv.Value != nil {
				now.value = dv.Value.Value()
			}
			if prev, ok := last[it.id]; ok && prev == now {
				continue
			}
			select {
			case it.ch <- &ua.MonitoredItemNotification{ClientHandle: it.handle, Value: dv}:
				last[it.id] = now
			default: // the subscription is gone or backed up; try again next time
			}
		}
		for k := range last {
			if !live[k] {
				delete(last, k)
			}
		}
	}
}

// hostLiteral writes an IPv6 address in brackets, as a URL needs it.
func hostLiteral(h string) string {
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return "[" + h + "]"
	}
	return h
}
