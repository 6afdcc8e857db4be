// Package clock is the injectable time source shared by the simulated controllers and the
// runner. Real is wall-clock time, used whenever a protocol is on the wire. Virtual is
// simulated time that jumps straight to the next instant anyone waits for, so an in-process
// study of thousands of before/after runs goes as fast as the CPU allows and stays
// deterministic.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// SleepUntil returns when the clock reaches t, or ctx is done (with ctx.Err()).
	SleepUntil(ctx context.Context, t time.Time) error
}

// Sleep waits d on c.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	return c.SleepUntil(ctx, c.Now().Add(d))
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time { return time.Now() }

func (Real) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// Stepper is anything that must do its work up to a time before a virtual clock moves past it
// (a simulated controller runs its scans).
type Stepper interface {
	RunUntil(t time.Time)
}

// Virtual is simulated time. It is meant to be driven by one goroutine (the runner): each
// SleepUntil first lets every attached Stepper catch up to the target time, then jumps.
type Virtual struct {
	mu       sync.Mutex
	now      time.Time
	steppers []Stepper
}

// Epoch is the start of simulated time: fixed, so that runs are reproducible.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NewVirtual returns a virtual clock at Epoch.
func NewVirtual() *Virtual { return &Virtual{now: Epoch} }

// Attach registers a Stepper.
func (v *Virtual) Attach(s Stepper) {
	v.mu.Lock()
	v.steppers = append(v.steppers, s)
	v.mu.Unlock()
}

func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

func (v *Virtual) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	if !t.After(v.now) {
		v.mu.Unlock()
		return nil
	}
	steppers := append([]Stepper(nil), v.steppers...)
	v.mu.Unlock()
	for _, s := range steppers {
		s.RunUntil(t)
	}
	v.mu.Lock()
	if t.After(v.now) {
		v.now = t
	}
	v.mu.Unlock()
	return nil
}

// Simulated tells a runner that this clock is not wall time (recorded in the run).
func (v *Virtual) Simulated() bool { return true }
