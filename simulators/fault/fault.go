// Package fault describes the communication faults a simulated controller can be told to
// show while it runs: added latency and jitter, exception responses, stalled responses,
// dropped connections and controller restarts.
package fault

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Set is the faults in force. The zero Set is a healthy controller.
type Set struct {
	Latency      time.Duration // added to every request
	Jitter       time.Duration // uniform extra 0..Jitter on every request
	Exceptions   float64       // fraction of requests answered with an exception (server busy / bad status)
	Stall        time.Duration // every request hangs this long before it is answered (longer than a client's timeout: a stalled device)
	DropEvery    time.Duration // all connections are cut at this interval
	RestartEvery time.Duration // the controller restarts at this interval
	RestartTime  time.Duration // how long a restart keeps the controller down (default 2 s)
}

// Healthy reports whether no fault is set.
func (s Set) Healthy() bool { return s == Set{} || s == Set{RestartTime: s.RestartTime} }

func (s Set) String() string {
	var parts []string
	add := func(k string, d time.Duration) {
		if d > 0 {
			parts = append(parts, k+"="+d.String())
		}
	}
	add("latency", s.Latency)
	add("jitter", s.Jitter)
	if s.Exceptions > 0 {
		parts = append(parts, "exceptions="+strconv.FormatFloat(s.Exceptions, 'g', -1, 64))
	}
	add("stall", s.Stall)
	add("drop-every", s.DropEvery)
	add("restart-every", s.RestartEvery)
	add("restart-time", s.RestartTime)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Words lists the keys Parse accepts.
const Words = "latency=DUR, jitter=DUR, exceptions=FRACTION, stall=DUR, drop-every=DUR, restart-every=DUR, restart-time=DUR"

// Parse reads "latency=20ms,jitter=5ms,exceptions=0.05" into s (keys not named keep their
// value), so several --fault flags add up.
func (s *Set) Parse(spec string) error {
	for _, kv := range strings.Split(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" || kv == "none" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("fault %q: expected key=value, one of %s", kv, Words)
		}
		if k == "exceptions" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				return fmt.Errorf("fault %q: expected a fraction from 0 to 1", kv)
			}
			s.Exceptions = f
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("fault %q: expected a duration such as 20ms or 5s", kv)
		}
		switch k {
		case "latency":
			s.Latency = d
		case "jitter":
			s.Jitter = d
		case "stall":
			s.Stall = d
		case "drop-every":
			s.DropEvery = d
		case "restart-every":
			s.RestartEvery = d
		case "restart-time":
			s.RestartTime = d
		default:
			return fmt.Errorf("unknown fault %q; expected one of %s", k, Words)
		}
	}
	return nil
}
