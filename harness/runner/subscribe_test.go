package runner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/simulators/simtest"
	"github.com/patchgate/patchgate/simulators/station"
)

func subscribed(t *testing.T) *scenario.Scenario {
	pm, err := point.Load("../../scenarios/pointmaps/tank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := "version: 1\nname: sub\npoints: x\nsample:\n  period: 100ms\n  subscribe: true\n  tags: [Level, ScanCount]\nsteps:\n  - wait_until: ScanCount > 0\n    timeout: 5s\n  - wait: 2s\n"
	sc, err := scenario.Parse("sub.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestSubscriptionSampling(t *testing.T) {
	st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 1, Security: "none"})
	for _, tc := range []struct {
		target string
		mode   string // run meta "sampling"
	}{
		{st.OPCUAURL() + "?security=None&allow_insecure=1", "subscription"},
		{st.ModbusURL(), ""}, // Modbus has no subscriptions: polled, and the run says so
	} {
		t.Run(strings.SplitN(tc.target, ":", 2)[0], func(t *testing.T) {
			tg, _ := driver.ParseTarget(tc.target)
			res, err := runner.Run(context.Background(), subscribed(t), runner.Options{Target: tg})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Trace.Run.Meta["sampling"]; got != tc.mode {
				t.Errorf("sampling mode %q, want %q", got, tc.mode)
			}
			good := 0
			var last float64
			for _, s := range res.Trace.Samples {
				if s.Quality == driver.Good && res.Trace.Run.Tags[s.Tag] == "ScanCount" {
					good++
					last = s.Value
				}
			}
			if good < 10 || last < 100 {
				t.Errorf("%d good ScanCount samples, last %v; want updates flowing", good, last)
			}
			var polled bool
			for _, e := range res.Trace.Events {
				polled = polled || (e.Kind == trace.EvFault && strings.Contains(e.Msg, "polling instead"))
			}
			if polled != (tc.mode == "") {
				t.Errorf("fallback to polling recorded: %v", polled)
			}
		})
	}
}
