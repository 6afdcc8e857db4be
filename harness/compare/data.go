package compare

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// dataCriterion (critical): the data behind every other criterion is there.
//
// Rule: inconclusive when a side has no runs, when a run did not complete (faulted, aborted,
// incomplete, still running; a setup that could not reach its start state faults the run),
// has no samples, or lost its connection and did not get it back by its end; the reason
// names the run and where. Missed sampling slots, connection gaps that came back and
// Missing-quality samples are listed, not decisive: each voids only the criteria whose
// judgement it could change (holes.go), and the reason names those. A connection gap the
// scenario asked for, by a restart or reconnect step, is expected and only listed: it starts
// at the step and ends at the first good reading after it. Bad-quality samples are not
// missing data (the device answered; identity:points judges them). Otherwise pass.
func dataCriterion(sc *scenario.Scenario, before, after []*runData) verdict.Criterion {
	asked := indexingOf(sc).asked // steps that lose communication on purpose
	c := verdict.Criterion{
		ID: "data", Kind: verdict.KindData, Severity: string(scenario.Critical), Status: verdict.Pass,
		Expected:  "every run completed and kept its connection; missed slots and short gaps judged per criterion",
		Tolerance: "none",
		Numbers:   map[string]float64{},
	}
	var problems, expected, noted []string
	var where *verdict.Where
	note := func(w *verdict.Where, format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
		if where == nil {
			where = w
		}
	}
	side := func(runs []*runData, name string) string {
		if len(runs) == 0 {
			note(&verdict.Where{Side: name}, "no %s runs", name)
			return "no runs"
		}
		var samples, missing, gaps, missed int
		complete := 0
		for _, r := range runs {
			d := runDataProblems(r, asked)
			samples += len(r.tr.Samples)
			missing += d.missing
			gaps += d.gaps
			missed += d.missed
			if r.tr.Run.Status == trace.Completed {
				complete++
			}
			for _, p := range d.problems {
				note(p.where, "%s: %s", r.label, p.text)
			}
			for _, e := range d.expected {
				expected = append(expected, r.label+": "+e)
			}
			for _, e := range d.noted {
				noted = append(noted, r.label+": "+e)
			}
		}
		c.Numbers[name+"_runs"] = float64(len(runs))
		c.Numbers[name+"_samples"] = float64(samples)
		c.Numbers[name+"_missing_samples"] = float64(missing)
		c.Numbers[name+"_gaps"] = float64(gaps)
		c.Numbers[name+"_missed_slots"] = float64(missed)
		return fmt.Sprintf("%d of %s completed; %s, %d missing, %s, %d missed slots",
			complete, plural(len(runs), "run", "runs"), plural(samples, "sample", "samples"), missing,
			plural(gaps, "unexpected gap", "unexpected gaps"), missed)
	}
	c.Before = side(before, sideBefore)
	c.After = side(after, sideAfter)
	if len(problems) > 0 {
		c.Status = verdict.StatusUndecided
		c.Reason = listMax(problems, 2)
		c.Where = where
	} else if len(noted) > 0 {
		c.Reason = "all runs completed; " + listMax(noted, 2)
	} else {
		c.Reason = "all runs completed with every sample"
	}
	if len(expected) > 0 {
		c.Reason += "; expected: " + listMax(expected, 2)
	}
	return c
}

type dataProblem struct {
	text  string
	where *verdict.Where
}

type runProblems struct {
	problems              []dataProblem
	expected              []string
	noted                 []string // judged per criterion
	missing, gaps, missed int
}

// runDataProblems lists what is missing from one run; asked holds the indexes of the steps
// that restart or reconnect (a run's step_start message names them too).
func runDataProblems(r *runData, asked map[int]bool) runProblems {
	var out runProblems
	tr := r.tr
	if tr.Run.Status != trace.Completed {
		at := r.end
		for _, e := range tr.Events {
			if e.Kind == trace.EvAbort || (e.Kind == trace.EvFault && tr.Run.Fault != "" && e.Msg == tr.Run.Fault) {
				at = e.T
			}
		}
		why := string(tr.Run.Status)
		if why == "" {
			why = "no status"
		}
		if tr.Run.Fault != "" {
			why += ": " + tr.Run.Fault
		}
		out.problems = append(out.problems, dataProblem{fmt.Sprintf("%s at %s", why, fmtAt(at)), r.where("", at, at)})
	}
	if len(tr.Samples) == 0 {
		out.problems = append(out.problems, dataProblem{"no samples", r.where("", 0, r.end)})
		return out
	}
	// windows where the scenario asked for a loss of communication
	wins := askedWindows(tr, asked)
	expectedAt := func(t int64) bool {
		for _, w := range wins {
			if t >= w.from && t < w.to {
				return true
			}
		}
		return false
	}
	// gaps and missed slots
	for i, e := range tr.Events {
		switch e.Kind {
		case trace.EvGapStart:
			end, ended := r.end, false
			for _, f := range tr.Events[i+1:] {
				if f.Kind == trace.EvGapEnd {
					end, ended = f.T, true
					break
				}
			}
			if ended && expectedAt(e.T) {
				out.expected = append(out.expected, fmt.Sprintf("connection lost at %s for %s after a restart or reconnect step", fmtAt(e.T), fmtSec(float64(end-e.T)/1e9)))
				continue
			}
			out.gaps++
			if !ended {
				out.problems = append(out.problems, dataProblem{fmt.Sprintf("connection lost at %s and not back by the end of the run (%s)", fmtAt(e.T), e.Msg), r.where("", e.T, end)})
				continue
			}
			out.noted = append(out.noted, fmt.Sprintf("connection lost at %s for %s (%s)", fmtAt(e.T), fmtSec(float64(end-e.T)/1e9), e.Msg))
		case trace.EvMissed:
			n, err := strconv.Atoi(e.Value)
			if err != nil || n < 1 {
				n = 1
			}
			out.missed += n
			out.noted = append(out.noted, fmt.Sprintf("%s missed at %s (the harness was late)", plural(n, "sampling slot", "sampling slots"), fmtAt(e.T)))
		}
	}
	// missing samples outside the expected windows
	first := -1
	tags := map[string]bool{}
	for i := range tr.Samples {
		s := &tr.Samples[i]
		if s.Quality != driver.Missing || expectedAt(s.T) {
			continue
		}
		out.missing++
		if first < 0 {
			first = i
		}
		if int(s.Tag) < len(tr.Run.Tags) {
			tags[tr.Run.Tags[s.Tag]] = true
		}
	}
	if first >= 0 {
		s := tr.Samples[first]
		names := make([]string, 0, len(tags))
		for t := range tags {
			names = append(names, t)
		}
		slices.Sort(names)
		out.noted = append(out.noted, fmt.Sprintf("%s (%s), the first at %s (slot %d)",
			plural(out.missing, "missing sample", "missing samples"), listMax(names, 4), fmtAt(s.T), s.Slot))
	}
	return out
}
