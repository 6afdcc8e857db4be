package opcua

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
)

// errClosed is returned by every operation after Close.
var errClosed = fmt.Errorf("connection closed: %w", net.ErrClosed)

// defaultMaxNodesPerRead is the batch size of reads when the server does not say its own.
const defaultMaxNodesPerRead = 32

// closeWait bounds how long Close waits for gopcua's goroutines to end.
const closeWait = 10 * time.Second

// Conn is an open OPC UA session with one server. It is used by one goroutine at a time;
// Stats, and the cancel func of a subscription, may be called from any goroutine.
type Conn struct {
	opt    options
	target string // the endpoint URL without the query, for errors
	pm     *point.Map
	index  map[string]int // point index by tag
	pki    pki
	cert   []byte // the client's certificate and key, loaded on the first secure connect
	key    *rsa.PrivateKey
	user   userIdentity
	labels pprof.LabelSet  // carried by every goroutine gopcua and the driver start for this Conn
	lctx   context.Context // a context with the labels, for the driver's own goroutines
	label  string          // the label as the goroutine profile prints it

	link    *link  // the current client
	nodes   []node // by point index
	maxRead int    // nodes per ReadRequest
	server  server
	plans   planCache
	idReq   *ua.ReadRequest
	pingReq *ua.ReadRequest
	broken  error // why the connection refuses work until Reconnect; wraps driver.ErrDisconnected
	closed  bool

	subMu sync.Mutex
	subs  map[*subscription]struct{}
	wg    sync.WaitGroup // subscription goroutines

	requests   atomic.Uint64
	errs       atomic.Uint64
	timeouts   atomic.Uint64
	reconnects atomic.Uint64
	rtt        atomic.Int64
}

// server is what the endpoint said about the server.
type server struct {
	appURI     string
	advertised string // the endpoint URL the server advertises
	sha1       string // thumbprints of its certificate
	sha256     string
}

// link is one gopcua client: one secure channel and session.
//
// gopcua's client runs a monitor goroutine that ends, with the publish loop of every
// subscription, as soon as anything arrives on the channel's error path: a lost connection,
// but also any ServiceFault answer (BadTooManyOperations to one read), since the channel's
// reader reports every service result there. With AutoReconnect off (a drop must show) the
// client then says Disconnected, though requests still work when it was a ServiceFault.
// So stopped means "subscriptions no longer publish", not "the connection is gone": reads
// and writes find that out for themselves, by failing.
type link struct {
	cl      *gopcua.Client
	stopped chan struct{}
	once    sync.Once
	closing atomic.Bool // closed by the driver
}

func newLink() *link { return &link{stopped: make(chan struct{})} }

func (l *link) markStopped() { l.once.Do(func() { close(l.stopped) }) }

func (l *link) isStopped() bool {
	select {
	case <-l.stopped:
		return true
	default:
		return false
	}
}

// state is gopcua's connection state callback: it runs on gopcua's goroutines.
func (l *link) state(s gopcua.ConnState) {
	if s == gopcua.Disconnected || (s == gopcua.Closed && !l.closing.Load()) {
		l.markStopped()
	}
}

var (
	_ driver.Conn        = (*Conn)(nil)
	_ driver.Identifier  = (*Conn)(nil)
	_ driver.Pinger      = (*Conn)(nil)
	_ driver.Reconnector = (*Conn)(nil)
	_ driver.Subscriber  = (*Conn)(nil)
	_ driver.Statser     = (*Conn)(nil)
)

var conns atomic.Int64

// Open connects to the target and returns a *Conn: it asks for the endpoints, checks the
// server's certificate against the trust folder, opens a secure channel and an anonymous
// session, and resolves every point of the map. The point map is copied: later changes to pm
// do not reach the connection. If Open fails, every goroutine it started has ended.
func (Driver) Open(ctx context.Context, t driver.Target, pm *point.Map) (driver.Conn, error) {
	o, err := parseTarget(t)
	if err != nil {
		return nil, err
	}
	if pm == nil {
		return nil, errors.New("opc ua: no point map")
	}
	n := strconv.FormatInt(conns.Add(1), 10)
	c := &Conn{
		opt:    o,
		target: o.url,
		pm:     pm.Clone(),
		index:  map[string]int{},
		labels: pprof.Labels("patchgate/driver/opcua", n),
		lctx:   pprof.WithLabels(context.Background(), pprof.Labels("patchgate/driver/opcua", n)),
		label:  `"patchgate/driver/opcua":"` + n + `"`,
		subs:   map[*subscription]struct{}{},
	}
	for i, p := range c.pm.Points {
		c.index[p.Tag] = i
	}
	if o.secure() {
		if c.pki, err = newPKI(o.trust); err != nil {
			return nil, err
		}
	}
	if c.user, err = loadUser(o); err != nil {
		return nil, err
	}
	c.idReq = readRequest(id.Server_ServerStatus_BuildInfo_ManufacturerName, id.Server_ServerStatus_BuildInfo_ProductName,
		id.Server_ServerStatus_BuildInfo_SoftwareVersion, id.Server_ServerStatus_BuildInfo_BuildNumber)
	c.pingReq = readRequest(id.Server_ServerStatus_State)
	if err := c.connect(ctx); err != nil {
		if werr := waitLabeled(c.label, closeWait); werr != nil {
			err = errors.Join(err, werr)
		}
		return nil, err
	}
	return c, nil
}

// readRequest reads the values of nodes of namespace 0.
func readRequest(ids ...uint32) *ua.ReadRequest {
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither}
	for _, n := range ids {
		req.NodesToRead = append(req.NodesToRead, readValueID(ua.NewNumericNodeID(0, n)))
	}
	return req
}

func readValueID(n *ua.NodeID) *ua.ReadValueID {
	return &ua.ReadValueID{NodeID: n, AttributeID: ua.AttributeIDValue, DataEncoding: &ua.QualifiedName{}}
}

// connect opens a new link and resolves the point map on it. Everything gopcua starts runs
// under the Conn's pprof labels, which is how Close knows when it has all ended.
func (c *Conn) connect(ctx context.Context) error {
	var err error
	pprof.Do(ctx, c.labels, func(ctx context.Context) { err = c.dial(ctx) })
	return err
}

func (c *Conn) dial(ctx context.Context) error {
	o := c.opt
	eps, err := gopcua.GetEndpoints(ctx, o.url, gopcua.DialTimeout(o.timeout), gopcua.RequestTimeout(o.timeout))
	if err != nil {
		return fmt.Errorf("get endpoints: %w", c.failure(ctx, err))
	}
	var ep *ua.EndpointDescription
	for _, e := range eps {
		if e != nil && e.SecurityPolicyURI == o.policyURI() && e.SecurityMode == o.uaMode() {
			ep = e
			break
		}
	}
	if ep == nil {
		return fmt.Errorf("the server offers no endpoint with security %s mode %s; it offers %s (set security= and mode= in the target)",
			o.policy, o.mode, offered(eps))
	}
	opts := []gopcua.Option{
		gopcua.AutoReconnect(false), // Reconnect is the caller's decision, and a drop must show
		gopcua.DialTimeout(o.timeout),
		gopcua.RequestTimeout(o.timeout),
		gopcua.ApplicationName("patchgate"),
		gopcua.ApplicationURI(ClientApplicationURI),
		gopcua.ProductURI("urn:patchgate"),
		gopcua.SessionName("patchgate"),
	}
	srv := server{advertised: ep.EndpointURL}
	if ep.Server != nil {
		srv.appURI = ep.Server.ApplicationURI
	}
	if o.secure() {
		cert, err := leaf(ep.ServerCertificate)
		if err != nil {
			return err
		}
		ok, err := c.pki.trusts(cert.Raw)
		if err != nil {
			return err
		}
		if !ok {
			return c.pki.reject(c.target, cert)
		}
		srv.sha1, srv.sha256 = thumbprints(cert.Raw)
		if c.cert == nil {
			if c.cert, c.key, err = ownCertificate(o, c.pki); err != nil {
				return err
			}
		}
		opts = append(opts, gopcua.Certificate(c.cert), gopcua.PrivateKey(c.key))
	}
	auth, err := c.user.options(ep)
	if err != nil {
		return err
	}
	l := newLink()
	opts = append(opts, gopcua.SecurityFromEndpoint(ep, o.tokenType()), gopcua.StateChangedFunc(l.state))
	opts = append(opts, auth...)
	if l.cl, err = gopcua.NewClient(o.url, opts...); err != nil {
		return fmt.Errorf("opc ua client: %w", err)
	}
	if err := connectClient(ctx, l.cl); err != nil {
		c.closeLink(l)
		if uerr := c.user.refused(err); uerr != nil {
			return uerr
		}
		return fmt.Errorf("connect with security %s: %w%s", o.security(), c.failure(ctx, err), c.clientTrustHint(err))
	}
	maxRead, err := c.maxNodesPerRead(ctx, l)
	if err == nil {
		var nodes []node
		if nodes, err = c.resolve(ctx, l, l.cl.Namespaces(), maxRead); err == nil {
			c.link, c.nodes, c.maxRead, c.server, c.broken = l, nodes, maxRead, srv, nil
			c.plans = planCache{}
			return nil
		}
	}
	c.closeLink(l)
	return c.failure(ctx, err)
}

// connectClient opens the client's channel and session. gopcua panics (a nil session) when
// a server's session signature does not verify; that is a refusal, not a crash of the
// harness.
func connectClient(ctx context.Context, cl *gopcua.Client) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the session could not be made (gopcua: %v); the server's session signature may not verify", r)
		}
	}()
	return cl.Connect(ctx)
}

// clientTrustHint tells how to have the server trust this client when a secure connect was
// refused in a way that suggests it does not (a certificate or security status, or the
// server closing the connection, which many PLCs do).
func (c *Conn) clientTrustHint(err error) string {
	if !c.opt.secure() || c.cert == nil {
		return ""
	}
	var st ua.StatusCode
	name := ""
	if errors.As(err, &st) {
		name = Status(st).Name()
	}
	if !strings.Contains(name, "Certificate") && !strings.Contains(name, "Security") && !errors.Is(err, io.EOF) {
		return ""
	}
	file := c.opt.certFile
	if file == "" {
		file = filepath.Join(c.pki.own, "cert.der")
	}
	sha1, _ := thumbprints(c.cert)
	return fmt.Sprintf("; if the server does not trust this client yet, trust its certificate there: %s (SHA-1 thumbprint %s)", file, sha1)
}

// offered lists endpoints as "None None, Basic256Sha256 Sign".
func offered(eps []*ua.EndpointDescription) string {
	var s []string
	for _, e := range eps {
		if e == nil {
			continue
		}
		p := e.SecurityPolicyURI
		if i := strings.LastIndexByte(p, '#'); i >= 0 {
			p = p[i+1:]
		}
		s = append(s, p+" "+strings.TrimPrefix(e.SecurityMode.String(), "MessageSecurityMode"))
	}
	if len(s) == 0 {
		return "no endpoints at all"
	}
	return strings.Join(slices.Compact(s), ", ")
}

// maxNodesPerRead reads the server's OperationLimits/MaxNodesPerRead: 0 there means no
// limit; a server that does not say gets defaultMaxNodesPerRead.
func (c *Conn) maxNodesPerRead(ctx context.Context, l *link) (int, error) {
	var dv *ua.DataValue
	err := c.send(ctx, l, readRequest(id.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead), func(r ua.Response) error {
		res, ok := r.(*ua.ReadResponse)
		if !ok || len(res.Results) != 1 {
			return fmt.Errorf("answer %T to a read of MaxNodesPerRead", r)
		}
		dv = res.Results[0]
		return nil
	})
	switch {
	case err != nil && refused(err):
		return defaultMaxNodesPerRead, nil
	case err != nil:
		return 0, err
	case dv == nil || !Status(dv.Status).Good() || dv.Value == nil:
		return defaultMaxNodesPerRead, nil
	}
	n, ok := dv.Value.Value().(uint32)
	switch {
	case !ok:
		return defaultMaxNodesPerRead, nil
	case n == 0 || n > 1<<16:
		return 1 << 16, nil
	}
	return int(n), nil
}

// closeLink closes a client: its session (bounded wait) and its channel and connection.
// gopcua's goroutines end on their own afterwards; Close waits for them.
func (c *Conn) closeLink(l *link) {
	if l == nil || l.cl == nil || l.closing.Swap(true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(c.opt.timeout, 2*time.Second))
	defer cancel()
	l.cl.Close(ctx) // over a lost connection, closing the session fails at once
}

// send makes one request on a link and keeps the statistics.
func (c *Conn) send(ctx context.Context, l *link, req ua.Request, h func(ua.Response) error) error {
	start := time.Now()
	err := l.cl.Send(ctx, req, h)
	c.requests.Add(1)
	if err == nil || refused(err) {
		c.rtt.Store(int64(time.Since(start)))
	}
	if err != nil {
		c.errs.Add(1)
		if errors.Is(err, ua.StatusBadTimeout) || errors.Is(err, context.DeadlineExceeded) {
			c.timeouts.Add(1)
		}
	}
	return err
}

// lostSession are the service results that say the channel or session is gone.
var lostSession = map[ua.StatusCode]bool{
	ua.StatusBadSessionIDInvalid:          true,
	ua.StatusBadSessionClosed:             true,
	ua.StatusBadSessionNotActivated:       true,
	ua.StatusBadSecureChannelIDInvalid:    true,
	ua.StatusBadSecureChannelClosed:       true,
	ua.StatusBadSecureChannelTokenUnknown: true,
	ua.StatusBadServerNotConnected:        true,
	ua.StatusBadNotConnected:              true,
	ua.StatusBadConnectionClosed:          true,
	ua.StatusBadConnectionRejected:        true,
	ua.StatusBadDisconnect:                true,
	ua.StatusBadShutdown:                  true,
	ua.StatusBadServerHalted:              true,
	ua.StatusBadCommunicationError:        true,
	ua.StatusBadNoCommunication:           true,
	ua.StatusBadTimeout:                   true,
	ua.StatusBadSecurityChecksFailed:      true,
	ua.StatusBadCertificateInvalid:        true,
	ua.StatusBadRequestInterrupted:        true,
	ua.StatusBadTCPInternalError:          true,
	ua.StatusBadTCPServerTooBusy:          true,
	ua.StatusBadTCPNotEnoughResources:     true,
}

// refused reports whether err is the server's answer refusing the request (a service fault
// such as BadTooManyOperations) on a session that is still usable.
func refused(err error) bool {
	var st ua.StatusCode
	return errors.As(err, &st) && !lostSession[st] && st&0x80000000 != 0
}

// failure classifies an error of gopcua for the caller:
//   - the caller's context ended: its error, the connection stays usable;
//   - a service fault on a usable session: the Status;
//   - no answer within the timeout: driver.ErrDisconnected and ErrTimeout (the session may
//     still be usable: a late answer to an abandoned request is dropped by gopcua);
//   - anything else: driver.ErrDisconnected, and the connection refuses work until Reconnect.
func (c *Conn) failure(ctx context.Context, err error) error {
	var st ua.StatusCode
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return ctx.Err()
	case refused(err):
		errors.As(err, &st)
		return Status(st)
	case errors.Is(err, ua.StatusBadTimeout):
		return fmt.Errorf("%w: %w (%v)", driver.ErrDisconnected, ErrTimeout, c.opt.timeout)
	case errors.Is(err, driver.ErrDisconnected):
		return err
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("connection closed by the server")
	}
	c.broken = fmt.Errorf("%w: %v", driver.ErrDisconnected, err)
	return c.broken
}

// usable says why the connection cannot be used now, or nil.
func (c *Conn) usable() error {
	switch {
	case c.closed:
		return errClosed
	case c.broken != nil:
		return fmt.Errorf("%s: %w (reconnect first)", c.target, c.broken)
	}
	return nil
}

// Read reads the tags into out with one ReadRequest per MaxNodesPerRead nodes. A point the
// server answers with a bad status, or whose node could not be resolved, gets Quality Bad;
// a broken connection or a timeout fails the whole Read with driver.ErrDisconnected and every
// reading Missing.
func (c *Conn) Read(ctx context.Context, tags []string, out []driver.Reading) error {
	if len(out) < len(tags) {
		return fmt.Errorf("opc ua: Read of %d tags into %d readings", len(tags), len(out))
	}
	out = out[:len(tags)]
	if err := c.usable(); err != nil {
		driver.AllMissing(out, err)
		return err
	}
	pl, err := c.plans.get(c, tags)
	if err != nil {
		err = fmt.Errorf("%s: %w", c.target, err)
		driver.AllMissing(out, err)
		return err
	}
	for _, u := range pl.unresolved {
		out[u.out] = driver.Reading{Quality: driver.Bad, Err: u.err}
	}
	for i := range pl.batches {
		b := &pl.batches[i]
		b.res = nil
		if err := c.send(ctx, c.link, b.req, b.handle); err != nil {
			err = c.failure(ctx, err)
			if st, ok := err.(Status); ok {
				err = fmt.Errorf("%s: read refused: %w", c.target, st)
				for _, s := range b.slots {
					out[s.out] = driver.Reading{Quality: driver.Bad, Err: err}
				}
				continue
			}
			err = fmt.Errorf("%s: read: %w", c.target, err)
			driver.AllMissing(out, err)
			return err
		}
		res := b.res.Results
		if len(res) != len(b.slots) {
			err := fmt.Errorf("%s: read: the server answered %d results for %d nodes", c.target, len(res), len(b.slots))
			for _, s := range b.slots {
				out[s.out] = driver.Reading{Quality: driver.Bad, Err: err}
			}
			continue
		}
		for k := range b.slots {
			s := &b.slots[k]
			out[s.out] = reading(s.typ, s.node, res[k])
		}
	}
	return nil
}

// Write writes the values in order, one WriteRequest each, and stops at the first the server
// refuses (the error names the tag, the node and the status). Every write is checked first,
// so a refused write does no I/O at all.
func (c *Conn) Write(ctx context.Context, ws []driver.Write) error {
	if c.closed {
		return errClosed
	}
	reqs := make([]*ua.WriteRequest, len(ws))
	nodes := make([]string, len(ws))
	for i, w := range ws {
		n, v, err := c.prepare(w)
		if err != nil {
			return fmt.Errorf("%s: %w", c.target, err)
		}
		nodes[i] = n.str
		reqs[i] = &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
			NodeID:      n.id,
			AttributeID: ua.AttributeIDValue,
			Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: v},
		}}}
	}
	if err := c.usable(); err != nil {
		return err
	}
	for i, req := range reqs {
		var st ua.StatusCode
		err := c.send(ctx, c.link, req, func(r ua.Response) error {
			res, ok := r.(*ua.WriteResponse)
			if !ok || len(res.Results) != 1 {
				return fmt.Errorf("answer %T to a write of one node", r)
			}
			st = res.Results[0]
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: write %s (%s): %w", c.target, ws[i].Tag, nodes[i], c.failure(ctx, err))
		}
		if !Status(st).Good() {
			return fmt.Errorf("%s: write %s = %s (%s): %w", c.target, ws[i].Tag, ws[i].Value, nodes[i], Status(st))
		}
	}
	return nil
}

// prepare checks one write and encodes its value.
func (c *Conn) prepare(w driver.Write) (*node, *ua.Variant, error) {
	i, ok := c.index[w.Tag]
	if !ok {
		return nil, nil, fmt.Errorf("write %s: tag is not in point map %q", w.Tag, c.pm.Name)
	}
	p := c.pm.Points[i]
	if p.OPCUA == nil {
		return nil, nil, fmt.Errorf("write %s: no opcua address in point map %q", w.Tag, c.pm.Name)
	}
	if !p.Writable {
		return nil, nil, fmt.Errorf("write %s (%s): %w", w.Tag, p.OPCUA, driver.ErrNotWritable)
	}
	n, err := c.nodeOf(p, i)
	if err != nil {
		return nil, nil, fmt.Errorf("write %w", err)
	}
	v, err := variant(p.Type, p.Length, w.Value)
	if err != nil {
		return nil, nil, fmt.Errorf("write %s = %s (%s, %s): %w", w.Tag, w.Value, n.str, p.Type, err)
	}
	return n, v, nil
}

// Ping reads the server's state (Server_ServerStatus_State): a round trip that touches no
// point. An answer, whatever its status, proves the session; no answer is an error wrapping
// driver.ErrDisconnected.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := c.send(ctx, c.link, c.pingReq, func(ua.Response) error { return nil }); err != nil {
		err = c.failure(ctx, err)
		if _, ok := err.(Status); ok {
			return nil
		}
		return fmt.Errorf("%s: ping: %w", c.target, err)
	}
	return nil
}

// Identity reads the server's BuildInfo: ManufacturerName is the Vendor, ProductName the
// Product, SoftwareVersion the Firmware. Extra holds the security in use, the endpoint, the
// server's application URI and certificate thumbprints, its BuildNumber and MaxNodesPerRead,
// and the node of every point ("node.Level": "ns=2;s=Tank.Level", or why it has none).
func (c *Conn) Identity(ctx context.Context) (driver.Identity, error) {
	idt := driver.Identity{Extra: map[string]string{
		"security":           c.opt.security(),
		"endpoint":           c.target,
		"max_nodes_per_read": strconv.Itoa(c.maxRead),
	}}
	if c.server.appURI != "" {
		idt.Extra["application_uri"] = c.server.appURI
	}
	if c.server.advertised != "" && c.server.advertised != c.target {
		idt.Extra["endpoint_advertised"] = c.server.advertised
	}
	c.user.identity(idt.Extra)
	if c.server.sha256 != "" {
		idt.Extra["server_certificate_sha1"] = c.server.sha1
		idt.Extra["server_certificate_sha256"] = c.server.sha256
	}
	for i, p := range c.pm.Points {
		if p.OPCUA == nil {
			continue
		}
		if n := c.nodes[i]; n.id != nil {
			idt.Extra["node."+p.Tag] = n.str
		} else {
			idt.Extra["node."+p.Tag] = "unresolved: " + n.err.Error()
		}
	}
	if err := c.usable(); err != nil {
		return idt, fmt.Errorf("identity: %w", err)
	}
	var res []*ua.DataValue
	err := c.send(ctx, c.link, c.idReq, func(r ua.Response) error {
		rr, ok := r.(*ua.ReadResponse)
		if !ok || len(rr.Results) != len(c.idReq.NodesToRead) {
			return fmt.Errorf("answer %T to a read of BuildInfo", r)
		}
		res = rr.Results
		return nil
	})
	if err != nil {
		return idt, fmt.Errorf("%s: identity: %w", c.target, c.failure(ctx, err))
	}
	dst := []*string{&idt.Vendor, &idt.Product, &idt.Firmware, nil}
	names := []string{"ManufacturerName", "ProductName", "SoftwareVersion", "BuildNumber"}
	var errs []error
	for i, dv := range res {
		r := reading(point.TypeString, "BuildInfo "+names[i], dv)
		if r.Quality != driver.Good {
			errs = append(errs, fmt.Errorf("%s: identity: %w", c.target, r.Err))
			continue
		}
		if dst[i] != nil {
			*dst[i] = r.Value.Text()
		} else {
			idt.Extra["build_number"] = r.Value.Text()
		}
	}
	return idt, errors.Join(errs...)
}

// Reconnect closes the session and opens a new one, checking the server's certificate and
// resolving every point again (a patch may have moved a node). Live subscriptions are made
// again on the new session, with the same tags, interval and channel; one that cannot be is
// named in the error and tried again at the next Reconnect.
func (c *Conn) Reconnect(ctx context.Context) error {
	if c.closed {
		return errClosed
	}
	c.subMu.Lock()
	for s := range c.subs {
		s.halt(false)
	}
	c.subMu.Unlock()
	c.closeLink(c.link)
	c.broken = fmt.Errorf("%w: reconnecting", driver.ErrDisconnected)
	if err := c.connect(ctx); err != nil {
		return fmt.Errorf("%s: reconnect: %w", c.target, err)
	}
	c.reconnects.Add(1)
	c.subMu.Lock()
	defer c.subMu.Unlock()
	var errs []error
	for s := range c.subs {
		if err := s.start(ctx, c.link); err != nil {
			errs = append(errs, fmt.Errorf("%s: subscription of %s again: %w", c.target, strings.Join(s.tags, ", "), err))
		}
	}
	return errors.Join(errs...)
}

// Close ends the subscriptions, closes the session and waits until every goroutine of
// gopcua's client and of the driver has ended.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.subMu.Lock()
	for s := range c.subs {
		s.halt(false)
		s.ended = true
	}
	clear(c.subs)
	c.subMu.Unlock()
	c.wg.Wait()
	c.closeLink(c.link)
	if err := waitLabeled(c.label, closeWait); err != nil {
		return fmt.Errorf("%s: close: %w", c.target, err)
	}
	return nil
}

// Stats returns the protocol statistics; safe from any goroutine. Errors counts requests
// that failed as a whole (no answer, a service fault); the status of single items is in the
// readings.
func (c *Conn) Stats() driver.Stats {
	return driver.Stats{
		Requests:   c.requests.Load(),
		Errors:     c.errs.Load(),
		Timeouts:   c.timeouts.Load(),
		Reconnects: c.reconnects.Load(),
		RoundTrip:  time.Duration(c.rtt.Load()),
	}
}

// waitLabeled waits until no goroutine carries the label (as the goroutine profile prints
// it): gopcua starts goroutines it never joins, and they inherit the labels of the goroutine
// that started the client.
func waitLabeled(label string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 20*time.Millisecond) {
		n := countLabeled(label)
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutines of the OPC UA client still running %s after close", n, timeout)
		}
		time.Sleep(delay)
	}
}

func countLabeled(label string) int {
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		return 0
	}
	n, group := 0, 0
	for _, line := range strings.Split(b.String(), "\n") {
		if cnt, _, ok := strings.Cut(line, " @ "); ok {
			group, _ = strconv.Atoi(cnt)
			continue
		}
		if strings.HasPrefix(line, "# labels: ") && strings.Contains(line, label) {
			n += group
		}
	}
	return n
}
