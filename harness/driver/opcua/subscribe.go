package opcua

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"time"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/driver"
)

// queueSize is the server-side queue of each monitored item: changes sampled faster than
// they are published wait there instead of being lost.
const queueSize = 16

// subscription is one Subscribe: an OPC UA subscription with a monitored item per tag, and
// the goroutine that turns its notifications into driver.Updates. Its fields below tags are
// one life of it, on one link; Reconnect ends that life and starts the next. c.subMu
// guards everything but tags, interval and out.
type subscription struct {
	c        *Conn
	tags     []string
	interval time.Duration
	out      chan<- driver.Update

	sub   *gopcua.Subscription
	link  *link
	slots []slot // by client handle (index into tags); node "" for a tag without a node
	stop  chan struct{}
	done  chan struct{}
	ended bool
}

// Subscribe creates a subscription publishing at interval, with one monitored item per tag
// sampled at interval, and delivers every change to out as a driver.Update whose Time is the
// source timestamp. ctx bounds the setup only: the subscription runs until the returned
// cancel func, or Close. Reconnect makes it again on the new session.
//
// A tag whose node could not be resolved, or that the server refuses to monitor, is
// delivered once with Quality Bad and the reason. When the connection is lost (or gopcua
// stops publishing for another reason: see link), every tag is delivered once with Quality
// Missing and an error wrapping driver.ErrDisconnected; after Reconnect the updates go on. Delivery waits for out: a consumer that does not keep up
// holds the notifications back (the server queues a few changes per item, then drops the
// oldest), it never loses them silently in the driver. cancel may be called from any
// goroutine, more than once; it deletes the subscription on the server.
func (c *Conn) Subscribe(ctx context.Context, tags []string, interval time.Duration, out chan<- driver.Update) (func() error, error) {
	switch {
	case out == nil:
		return nil, errors.New("opc ua: Subscribe with a nil channel")
	case interval <= 0:
		return nil, fmt.Errorf("opc ua: Subscribe with interval %v; expected a duration above zero", interval)
	case len(tags) == 0:
		return nil, errors.New("opc ua: Subscribe to no tags")
	}
	for _, tag := range tags {
		i, ok := c.index[tag]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: subscribe: tag %q is not in point map %q", c.target, tag, c.pm.Name)
		case c.pm.Points[i].OPCUA == nil:
			return nil, fmt.Errorf("%s: subscribe: tag %q has no opcua address in point map %q", c.target, tag, c.pm.Name)
		}
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	s := &subscription{c: c, tags: slices.Clone(tags), interval: interval, out: out}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if err := s.start(ctx, c.link); err != nil {
		return nil, fmt.Errorf("%s: subscribe: %w", c.target, err)
	}
	c.subs[s] = struct{}{}
	return s.cancel, nil
}

// start begins a life of the subscription on link l. c.subMu is held.
func (s *subscription) start(ctx context.Context, l *link) error {
	c := s.c
	if l.isStopped() {
		// gopcua's publish loop has ended (see link): a subscription would never publish,
		// and gopcua's Subscribe could block on the loop's channel
		return fmt.Errorf("%w: the client's publish loop has stopped after a lost connection or a service fault (reconnect first)", driver.ErrDisconnected)
	}
	notes := make(chan *gopcua.PublishNotificationData, 64)
	sub, err := l.cl.Subscribe(ctx, &gopcua.SubscriptionParameters{Interval: s.interval}, notes)
	c.requests.Add(1)
	if err != nil {
		c.errs.Add(1)
		return c.failure(ctx, err)
	}
	s.slots = make([]slot, len(s.tags))
	var (
		items   []*ua.MonitoredItemCreateRequest
		handles []int
		pending []driver.Update // Bad updates to deliver first
	)
	now := time.Now()
	for h, tag := range s.tags {
		i := c.index[tag]
		p := c.pm.Points[i]
		n, err := c.nodeOf(p, i)
		if err != nil {
			pending = append(pending, driver.Update{Tag: tag, Time: now,
				Reading: driver.Reading{Quality: driver.Bad, Err: fmt.Errorf("%s: %w", c.target, err)}})
			continue
		}
		s.slots[h] = slot{out: h, typ: p.Type, node: c.where(p.Tag, n)}
		req := gopcua.NewMonitoredItemCreateRequestWithDefaults(n.id, ua.AttributeIDValue, uint32(h))
		req.RequestedParameters.SamplingInterval = float64(s.interval) / float64(time.Millisecond)
		req.RequestedParameters.QueueSize = queueSize
		items = append(items, req)
		handles = append(handles, h)
	}
	if len(items) > 0 {
		res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, items...)
		c.requests.Add(1)
		if err == nil && len(res.Results) != len(items) {
			err = fmt.Errorf("the server answered %d results for %d monitored items", len(res.Results), len(items))
		}
		if err != nil {
			c.errs.Add(1)
			s.deleteOnServer(sub, l)
			return c.failure(ctx, err)
		}
		for k, r := range res.Results {
			if st := Status(r.StatusCode); !st.Good() {
				h := handles[k]
				pending = append(pending, driver.Update{Tag: s.tags[h], Time: now,
					Reading: driver.Reading{Quality: driver.Bad, Err: fmt.Errorf("monitor %s: %w", s.slots[h].node, st)}})
			}
		}
	}
	s.sub, s.link = sub, l
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	c.wg.Add(1)
	stop, done, slots := s.stop, s.done, s.slots
	go func() {
		pprof.SetGoroutineLabels(c.lctx) // so that Close waits until it has returned
		s.forward(l, notes, stop, done, slots, pending)
	}()
	return nil
}

// forward delivers the notifications of one life of the subscription until stop.
func (s *subscription) forward(l *link, notes <-chan *gopcua.PublishNotificationData, stop, done chan struct{}, slots []slot, pending []driver.Update) {
	defer s.c.wg.Done()
	defer close(done)
	send := func(u driver.Update) bool {
		select {
		case s.out <- u:
			return true
		case <-stop:
			return false
		}
	}
	all := func(q driver.Quality, err error) bool {
		now := time.Now()
		for _, tag := range s.tags {
			if !send(driver.Update{Tag: tag, Time: now, Reading: driver.Reading{Quality: q, Err: err}}) {
				return false
			}
		}
		return true
	}
	for _, u := range pending {
		if !send(u) {
			return
		}
	}
	for {
		select {
		case <-stop:
			return
		case <-l.stopped:
			// gopcua's publish loop has ended: nothing more comes, and what is still queued
			// would be older than the gap this reports
			err := fmt.Errorf("%s: subscription: %w: the client stopped publishing after a lost connection or a service fault (reconnect to resume)",
				s.c.target, driver.ErrDisconnected)
			if all(driver.Missing, err) {
				<-stop // Reconnect or cancel
			}
			return
		case n := <-notes:
			switch v := n.Value.(type) {
			case nil:
				if n.Error != nil && !all(driver.Missing, fmt.Errorf("%s: subscription: %w", s.c.target, n.Error)) {
					return
				}
			case *ua.DataChangeNotification:
				for _, it := range v.MonitoredItems {
					if it == nil || int(it.ClientHandle) >= len(slots) || slots[it.ClientHandle].node == "" {
						continue
					}
					sl := &slots[it.ClientHandle]
					u := driver.Update{Tag: s.tags[it.ClientHandle], Reading: reading(sl.typ, sl.node, it.Value)}
					if it.Value != nil {
						u.Time = it.Value.SourceTimestamp
						if u.Time.IsZero() {
							u.Time = it.Value.ServerTimestamp
						}
					}
					if u.Time.IsZero() {
						u.Time = time.Now()
					}
					if !send(u) {
						return
					}
				}
			case *ua.StatusChangeNotification:
				if st := Status(v.Status); !st.Good() && !all(driver.Missing, fmt.Errorf("%s: subscription: %w", s.c.target, st)) {
					return
				}
			}
		}
	}
}

// halt ends the current life: it stops the goroutine and, with del, deletes the
// subscription on the server. c.subMu is held.
func (s *subscription) halt(del bool) error {
	if s.stop == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	sub, l := s.sub, s.link
	s.sub, s.link, s.stop, s.done = nil, nil, nil, nil
	if del {
		return s.deleteOnServer(sub, l)
	}
	return nil
}

func (s *subscription) deleteOnServer(sub *gopcua.Subscription, l *link) error {
	if l.isStopped() || l.closing.Load() {
		// the session deletes its subscriptions when it closes (Reconnect, Close); gopcua's
		// Cancel would wait on its stopped publish loop
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.c.opt.timeout)
	defer cancel()
	s.c.requests.Add(1)
	if err := sub.Cancel(ctx); err != nil {
		s.c.errs.Add(1)
		return fmt.Errorf("%s: cancel subscription %d: %w", s.c.target, sub.SubscriptionID, err)
	}
	return nil
}

// cancel ends the subscription for good; safe from any goroutine, more than once.
func (s *subscription) cancel() error {
	c := s.c
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if s.ended {
		return nil
	}
	s.ended = true
	delete(c.subs, s)
	return s.halt(true)
}
