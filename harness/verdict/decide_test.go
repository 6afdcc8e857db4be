package verdict_test

import (
	"reflect"
	"testing"

	"github.com/patchgate/patchgate/harness/verdict"
)

func crit(id, severity string, status verdict.Status, reason string) verdict.Criterion {
	return verdict.Criterion{ID: id, Severity: severity, Status: status, Reason: reason}
}

func TestDecide(t *testing.T) {
	pass := crit("data", "critical", verdict.Pass, "all runs completed")
	cases := []struct {
		name        string
		criteria    []verdict.Criterion
		majorIsNoGo bool
		want        verdict.Outcome
		reasons     []string
	}{
		{"nothing compared", nil, true, verdict.Inconclusive, []string{"INCONCLUSIVE: nothing was compared"}},
		{"all pass", []verdict.Criterion{pass, crit("sequence", "major", verdict.Pass, "ok")}, true, verdict.Go,
			[]string{"GO: every critical and major criterion passes (2 criteria)"}},
		{"critical failure", []verdict.Criterion{pass, crit("timing:scan_period", "critical", verdict.Fail, "median 10.52 ms vs 10.00 ms, +5.2% > 2% tolerance")}, true,
			verdict.NoGo, []string{"NO-GO: timing:scan_period (critical): median 10.52 ms vs 10.00 ms, +5.2% > 2% tolerance"}},
		{"major failure", []verdict.Criterion{crit("sequence", "major", verdict.Fail, "RejectGate↑ missing")}, true,
			verdict.NoGo, []string{"NO-GO: sequence (major): RejectGate↑ missing"}},
		{"major failure, relaxed", []verdict.Criterion{pass, crit("sequence", "major", verdict.Fail, "RejectGate↑ missing")}, false,
			verdict.Go, []string{"GO: every critical and major criterion passes (2 criteria)", "listed: sequence (major) fail: RejectGate↑ missing"}},
		{"minor failure is listed, never hidden", []verdict.Criterion{pass, crit("signal:PartSensor", "minor", verdict.Fail, "1 sample outside")}, true,
			verdict.Go, []string{"GO: every critical and major criterion passes (2 criteria)", "listed: signal:PartSensor (minor) fail: 1 sample outside"}},
		{"critical inconclusive", []verdict.Criterion{crit("data", "critical", verdict.StatusUndecided, "after run 4: connection lost")}, true,
			verdict.Inconclusive, []string{"INCONCLUSIVE: data (critical): after run 4: connection lost"}},
		{"major inconclusive", []verdict.Criterion{pass, crit("timing:alarm_response", "major", verdict.StatusUndecided, "too few runs")}, true,
			verdict.Inconclusive, []string{"INCONCLUSIVE: timing:alarm_response (major): too few runs"}},
		{"major inconclusive, relaxed", []verdict.Criterion{pass, crit("timing:alarm_response", "major", verdict.StatusUndecided, "too few runs")}, false,
			verdict.Go, []string{"GO: every critical and major criterion passes (2 criteria)", "listed: timing:alarm_response (major) inconclusive: too few runs"}},
		{"minor inconclusive", []verdict.Criterion{pass, crit("timing:round_trip", "minor", verdict.StatusUndecided, "subscription")}, true,
			verdict.Go, []string{"GO: every critical and major criterion passes (2 criteria)", "listed: timing:round_trip (minor) inconclusive: subscription"}},
		{"NO-GO takes precedence over INCONCLUSIVE, which stays listed", []verdict.Criterion{
			crit("data", "critical", verdict.StatusUndecided, "gap"),
			crit("check:alarm_high_threshold", "critical", verdict.Fail, "not seen within 100ms"),
			crit("signal:PartSensor", "minor", verdict.Fail, "outside"),
		}, true, verdict.NoGo, []string{
			"NO-GO: check:alarm_high_threshold (critical): not seen within 100ms",
			"INCONCLUSIVE: data (critical): gap",
			"listed: signal:PartSensor (minor) fail: outside",
		}},
		{"unknown severity counts as major", []verdict.Criterion{crit("x", "", verdict.Fail, "bad")}, false,
			verdict.Go, []string{"GO: every critical and major criterion passes (1 criterion)", "listed: x (major) fail: bad"}},
		{"unknown status is not a pass", []verdict.Criterion{crit("x", "critical", "", "?")}, true,
			verdict.Inconclusive, []string{"INCONCLUSIVE: x (critical): ?"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, reasons := verdict.Decide(tc.criteria, tc.majorIsNoGo)
			if got != tc.want {
				t.Errorf("outcome %s, want %s", got, tc.want)
			}
			if !reflect.DeepEqual(reasons, tc.reasons) {
				t.Errorf("reasons\n%q\nwant\n%q", reasons, tc.reasons)
			}
		})
	}
}

func TestDecisionNamesWhatDecided(t *testing.T) {
	for _, c := range []struct {
		crit []verdict.Criterion
		want string
	}{
		{[]verdict.Criterion{{ID: "a", Severity: "critical", Status: verdict.Pass}, {ID: "s", Severity: "minor", Status: verdict.Fail, Reason: "x"}},
			"GO: every critical and major criterion passes (2 criteria)"},
		{[]verdict.Criterion{{ID: "timing:load", Severity: "major", Status: verdict.Fail, Reason: "median 4.8 s: slow"},
			{ID: "check:x", Severity: "critical", Status: verdict.Fail, Reason: "not seen (at 2 s): late"},
			{ID: "data", Severity: "critical", Status: verdict.StatusUndecided, Reason: "gap"}},
			"NO-GO: timing:load (major), check:x (critical)"},
		{[]verdict.Criterion{{ID: "data", Severity: "critical", Status: verdict.StatusUndecided, Reason: "gap"}},
			"INCONCLUSIVE: data (critical)"},
		{nil, "INCONCLUSIVE: nothing was compared"},
	} {
		out, reasons := verdict.Decide(c.crit, true)
		if got := (verdict.Record{Verdict: out, Reasons: reasons}).Decision(); got != c.want {
			t.Errorf("%v: %q, want %q", reasons, got, c.want)
		}
	}
}
