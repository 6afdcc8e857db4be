package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
)

// Values of load events that are not a latency in seconds.
const (
	LoadError = "error" // a read that failed or was never sent; the cause is in Msg
	LoadStart = "start" // the load begins; Msg says how much
	LoadEnd   = "end"   // the load is over; Msg counts the errors
)

// loads runs the scenario's load probes one after another, after the last step's sample
// and before the values are restored (docs/architecture.md, "Load probes"). Sampling has
// ended, so the load is all the harness asks of the controller then, and the signals are
// judged without it.
func (r *run) loads(ctx context.Context) error {
	for _, p := range r.sc.Probes {
		if p.Kind != scenario.ProbeLoad {
			continue
		}
		if err := r.load(ctx, p); err != nil {
			return fmt.Errorf("load probe %s: %w", p.Name, err)
		}
	}
	return nil
}

// load reads the probe's tags rate times a second for its duration, open loop: read i is
// due at start + i/rate and its latency counts from then, so a controller that falls behind
// shows its queue and not only its service time (wrk2's correction of coordinated
// omission). Every read is an event (Kind load, Tag the probe, Value the latency in
// seconds, or LoadError with the cause). A read that returns an error, or a Bad or Missing
// reading, is an error. Reads still due when the controller has taken twice the probe's
// duration are not sent but recorded as errors, so a controller that stops answering ends
// the load instead of holding the run for every timeout.
func (r *run) load(ctx context.Context, p scenario.Probe) error {
	n := int(math.Round(p.Rate * p.For.Seconds()))
	out := make([]driver.Reading, len(p.Tags))
	start := r.clk.Now()
	giveUp := start.Add(2 * p.For)
	r.event(trace.Event{T: r.now(), Kind: trace.EvLoad, Tag: p.Name, Value: LoadStart, Msg: fmt.Sprintf("%d reads of %d tags at %g/s for %s", n, len(p.Tags), p.Rate, p.For)})
	if r.opt.Progress != nil {
		r.progress.StepText = fmt.Sprintf("load probe %s: %g reads/s for %s", p.Name, p.Rate, p.For)
		r.opt.Progress(r.progress)
	}
	errs := 0
	for i := range n {
		due := start.Add(time.Duration(float64(i) / p.Rate * float64(time.Second)))
		at := due.Sub(r.t0).Nanoseconds()
		if r.clk.Now().After(giveUp) {
			for j := i; j < n; j++ {
				due := start.Add(time.Duration(float64(j) / p.Rate * float64(time.Second)))
				r.event(trace.Event{T: due.Sub(r.t0).Nanoseconds(), Kind: trace.EvLoad, Tag: p.Name, Value: LoadError, Msg: "not sent: the controller was still answering earlier reads at twice the load's duration"})
			}
			errs += n - i
			break
		}
		if err := r.clk.SleepUntil(ctx, due); err != nil {
			return err
		}
		err := r.conn.Read(ctx, p.Tags, out)
		done := r.clk.Now()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			for k, rd := range out {
				if rd.Quality != driver.Good {
					err = fmt.Errorf("%s: %s: %v", p.Tags[k], rd.Quality, rd.Err)
					break
				}
			}
		}
		if err != nil {
			errs++
			r.event(trace.Event{T: at, Kind: trace.EvLoad, Tag: p.Name, Value: LoadError, Msg: err.Error()})
			if rc, ok := r.conn.(driver.Reconnector); ok && errors.Is(err, driver.ErrDisconnected) {
				rc.Reconnect(ctx) // success shows on the next read
			}
		} else {
			r.event(trace.Event{T: at, Kind: trace.EvLoad, Tag: p.Name, Value: fmt.Sprintf("%.9f", done.Sub(due).Seconds())})
		}
		if err := r.flush(ctx, false); err != nil {
			return err
		}
	}
	r.event(trace.Event{T: r.now(), Kind: trace.EvLoad, Tag: p.Name, Value: LoadEnd, Msg: fmt.Sprintf("%d of %d reads failed", errs, n)})
	return nil
}
