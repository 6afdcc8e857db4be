package verdict

import "fmt"

// Decide applies the rules of the package comment to the criteria of one comparison and
// returns the outcome with its reasons: one short line per deciding criterion,
//
//	NO-GO: timing:scan_period (critical): median 10.52 ms vs 10.00 ms, +5.2% > 2% tolerance
//
// then one line per failure or open question that did not decide, so that nothing is hidden
// ("listed: signal:PartSensor (minor) fail: ..."). Precisely:
//   - a failed critical criterion decides NO-GO; so does a failed major one when
//     majorIsNoGo (the default; a scenario relaxes it with verdict: major_is_nogo: false);
//   - an inconclusive critical criterion decides INCONCLUSIVE, and so does an inconclusive
//     major one when majorIsNoGo: with major failures relaxed, an open major question can
//     be no worse than a major failure, which would not block;
//   - NO-GO takes precedence over INCONCLUSIVE; the INCONCLUSIVE lines are kept beside it;
//   - failed and inconclusive minor criteria (and relaxed major ones) are listed, never
//     decide;
//   - with no criterion at all the outcome is INCONCLUSIVE: nothing was compared;
//   - otherwise GO. An unknown severity counts as major, an unknown status as inconclusive.
func Decide(criteria []Criterion, majorIsNoGo bool) (Outcome, []string) {
	if len(criteria) == 0 {
		return Inconclusive, []string{"INCONCLUSIVE: nothing was compared"}
	}
	var nogo, inconclusive, listed []string
	for _, c := range criteria {
		sev := c.Severity
		switch sev {
		case "critical", "major", "minor":
		default:
			sev = "major"
		}
		blocks := sev == "critical" || (sev == "major" && majorIsNoGo)
		line := fmt.Sprintf("%s (%s): %s", c.ID, sev, c.Reason)
		switch {
		case c.Status == Pass:
		case c.Status == Fail && blocks:
			nogo = append(nogo, "NO-GO: "+line)
		case blocks:
			inconclusive = append(inconclusive, "INCONCLUSIVE: "+line)
		case c.Status == Fail:
			listed = append(listed, fmt.Sprintf("listed: %s (%s) fail: %s", c.ID, sev, c.Reason))
		default:
			listed = append(listed, fmt.Sprintf("listed: %s (%s) inconclusive: %s", c.ID, sev, c.Reason))
		}
	}
	reasons := append(append(nogo, inconclusive...), listed...)
	switch {
	case len(nogo) > 0:
		return NoGo, reasons
	case len(inconclusive) > 0:
		return Inconclusive, reasons
	}
	n := fmt.Sprintf("%d criteria", len(criteria))
	if len(criteria) == 1 {
		n = "1 criterion"
	}
	return Go, append([]string{"GO: every critical and major criterion passes (" + n + ")"}, listed...)
}
