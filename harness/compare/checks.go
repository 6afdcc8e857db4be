package compare

import (
	"fmt"
	"strings"

	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Check statuses as the runner records them (trace.EvCheck Value).
const (
	chkPass = "pass"
	chkFail = "fail"
	chkInc  = "inconclusive"
)

// checkCriteria gives one criterion per scenario check (expect and wait_until steps, in
// scenario order), then one per other check the runs recorded (a restart the harness could
// not make), with the step's severity.
//
// Rule, per check, over every run of both sides:
//   - fail when any after run failed it. The reason says whether it passed before; when it
//     failed before too, "fails before the patch too": the candidate still does not meet the
//     expectation, so it is never GO, but the scenario or the bench needs review as well;
//   - otherwise inconclusive when any run of either side recorded it inconclusive or never
//     reached it (a run that stopped early);
//   - otherwise pass (when it failed before and passes after, the reason says so: the patch
//     changed this behaviour).
func checkCriteria(sc *scenario.Scenario, before, after []*runData) []verdict.Criterion {
	type def struct {
		id   string
		step scenario.Step
	}
	var defs []def
	seen := map[string]bool{}
	for _, st := range allSteps(sc) {
		if (st.Kind == scenario.StepExpect || st.Kind == scenario.StepWaitUntil) && st.ID != "" && !seen[st.ID] {
			seen[st.ID] = true
			defs = append(defs, def{st.ID, st})
		}
	}
	for _, r := range append(append([]*runData{}, before...), after...) {
		for _, e := range r.tr.Events {
			if e.Kind == trace.EvCheck && e.Tag != "" && !seen[e.Tag] {
				seen[e.Tag] = true
				defs = append(defs, def{e.Tag, scenario.Step{Index: e.Step, ID: e.Tag, Severity: scenario.Major}})
			}
		}
	}
	out := make([]verdict.Criterion, 0, len(defs))
	for _, d := range defs {
		c := checkCriterion(d.id, d.step, before, after)
		switch {
		case d.step.Index >= 1 && d.step.Index <= len(sc.Setup):
			setupCheck(&c, d.step)
		default:
			voidCheck(&c, d.step, after)
		}
		out = append(out, c)
	}
	return out
}

// setupCheck: a check in the setup says whether the plant reached its start state. The
// setup normalises the bench, it is not behaviour (docs/architecture.md, "Setup and the
// start state"): a setup that could not reach its state leaves the validation undecided,
// never failed and never passed. (The runner also stops such a run, which the data
// criterion reports.)
func setupCheck(c *verdict.Criterion, st scenario.Step) {
	if c.Status != verdict.Fail {
		return
	}
	c.Status = verdict.StatusUndecided
	c.Reason = fmt.Sprintf("setup step %d (%s) did not reach the start state: %s; nothing after it is judged", st.Index, stepExpectation(st), c.Reason)
}

// voidCheck leaves a check undecided when a hole in an after run's data touches its window
// and could hide what decides it (holes.go): for wait_until and expect-within, the moment
// the condition held (so a fail is not known; a pass seen at a sample stands); for
// expect-hold, a moment it broke (so a pass is not known; a break seen at a sample stands).
func voidCheck(c *verdict.Criterion, st scenario.Step, after []*runData) {
	if st.Cond == nil || (c.Status != verdict.Fail && c.Status != verdict.Pass) {
		return
	}
	hold := st.Kind == scenario.StepExpect && st.Hold > 0
	if hold == (c.Status == verdict.Fail) {
		return // seen at a sample: no hole can change it
	}
	var touched []string
	for _, o := range checkOutcomes(st.ID, after) {
		if o.status != string(c.Status) {
			continue
		}
		from := o.t
		if t, ok := o.r.steps[o.step]; ok {
			from = t
		}
		hs := o.r.holesIn(st.Cond.Tags, from, o.t, 0)
		if len(hs) == 0 {
			if c.Status == verdict.Fail {
				return // one after run failed it with every sample: the fail stands
			}
			continue
		}
		touched = append(touched, fmt.Sprintf("%s (%s)", hs[0], o.r.label))
	}
	if len(touched) == 0 {
		return
	}
	what := "the moment the condition held"
	if hold {
		what = "a moment the condition broke"
	}
	void(c, fmt.Sprintf("a gap in the data touches the check's window and could hide %s: %s", what, listMax(touched, 2)))
}

type checkOutcome struct {
	r      *runData
	status string // pass, fail, inconclusive, or "" when the run never reached the check
	reason string
	t      int64
	step   int
}

func checkOutcomes(id string, runs []*runData) []checkOutcome {
	out := make([]checkOutcome, 0, len(runs))
	for _, r := range runs {
		o := checkOutcome{r: r}
		for _, e := range r.tr.Events {
			if e.Kind != trace.EvCheck || e.Tag != id {
				continue
			}
			// a check recorded twice keeps the worst outcome
			if o.status == "" || rank(e.Value) > rank(o.status) {
				o.status, o.reason, o.t, o.step = e.Value, e.Msg, e.T, e.Step
			}
		}
		out = append(out, o)
	}
	return out
}

func rank(status string) int {
	switch status {
	case chkPass:
		return 1
	case chkInc:
		return 2
	case chkFail:
		return 3
	}
	return 2 // unknown words are not a pass
}

func tallyChecks(os []checkOutcome) (pass, fail, inc, missing int) {
	for _, o := range os {
		switch o.status {
		case chkPass:
			pass++
		case chkFail:
			fail++
		case "":
			missing++
		default:
			inc++
		}
	}
	return
}

func checkSide(os []checkOutcome) string {
	if len(os) == 0 {
		return "no runs"
	}
	pass, fail, inc, missing := tallyChecks(os)
	if len(os) == 1 {
		o := os[0]
		switch o.status {
		case "":
			return "not reached"
		case chkPass:
			return "pass at " + fmtAt(o.t)
		}
		s := o.status + " at " + fmtAt(o.t)
		if o.reason != "" {
			s += ": " + o.reason
		}
		return s
	}
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{pass, "pass"}, {fail, "fail"}, {inc, "inconclusive"}, {missing, "not reached"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", p.word, p.n))
		}
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" of %d runs", len(os))
}

func checkCriterion(id string, st scenario.Step, before, after []*runData) verdict.Criterion {
	c := verdict.Criterion{
		ID: "check:" + id, Kind: verdict.KindCheck, Severity: sev(st.Severity),
		Expected: stepExpectation(st), Tolerance: "as written in the scenario",
	}
	bo, ao := checkOutcomes(id, before), checkOutcomes(id, after)
	c.Before, c.After = checkSide(bo), checkSide(ao)
	bp, bf, bi, bm := tallyChecks(bo)
	ap, af, ai, am := tallyChecks(ao)
	c.Numbers = map[string]float64{"before_pass": float64(bp), "before_fail": float64(bf), "after_pass": float64(ap), "after_fail": float64(af)}
	firstWith := func(os []checkOutcome, status string) *checkOutcome {
		for i := range os {
			if os[i].status == status {
				return &os[i]
			}
		}
		return nil
	}
	whereOf := func(o *checkOutcome) *verdict.Where {
		from := o.t
		if t, ok := o.r.steps[o.step]; ok {
			from = t
		}
		w := o.r.where("", from, o.t)
		w.Step = o.step
		return w
	}
	switch {
	case af > 0:
		o := firstWith(ao, chkFail)
		c.Status, c.Where = verdict.Fail, whereOf(o)
		why := o.reason
		if why == "" {
			why = "failed"
		}
		c.Reason = fmt.Sprintf("%s at %s: %s", o.r.label, fmtAt(o.t), why)
		switch {
		case bf > 0:
			c.Reason += "; fails before the patch too: the scenario or the bench needs review, not only the patch"
		case bp > 0 && bi+bm == 0:
			c.Reason += "; passed before the patch"
		}
	case len(ao) == 0 || len(bo) == 0:
		c.Status, c.Reason = verdict.StatusUndecided, "no runs to compare on one side"
	case ai+am+bi+bm > 0:
		c.Status = verdict.StatusUndecided
		var parts []string
		for _, os := range [][]checkOutcome{ao, bo} {
			for i := range os {
				o := &os[i]
				switch o.status {
				case chkPass, chkFail:
				case "":
					parts = append(parts, o.r.label+": not reached")
					if c.Where == nil {
						c.Where = o.r.where("", 0, o.r.end)
					}
				default:
					why := o.reason
					if why == "" {
						why = "undecided"
					}
					parts = append(parts, fmt.Sprintf("%s at %s: %s", o.r.label, fmtAt(o.t), why))
					if c.Where == nil {
						c.Where = whereOf(o)
					}
				}
			}
		}
		c.Reason = listMax(parts, 3)
	default:
		c.Status = verdict.Pass
		c.Reason = "holds after the patch"
		if bf > 0 {
			c.Reason = "holds after the patch; failed before it: the patch changed this behaviour"
		}
		c.Where = whereOf(&ao[0])
	}
	return c
}

// stepExpectation describes what a check step asks.
func stepExpectation(st scenario.Step) string {
	if st.Cond == nil {
		if st.Kind == scenario.StepRestart {
			return "the controller restarts"
		}
		return "passes"
	}
	switch {
	case st.Kind == scenario.StepWaitUntil:
		return fmt.Sprintf("%s within %s", st.Cond.Source, st.Timeout)
	case st.Hold > 0:
		return fmt.Sprintf("%s for %s", st.Cond.Source, st.Hold)
	case st.Within > 0:
		return fmt.Sprintf("%s within %s", st.Cond.Source, st.Within)
	}
	return st.Cond.Source
}
