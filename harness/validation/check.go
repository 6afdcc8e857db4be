package validation

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/trace"
)

// Check checks what can be checked of in without any I/O: the scenario, the repetitions,
// the sides (targets parse, simulated time, arming), what needs a patch. Run checks it
// first; a face calls it before it opens the register, so bad input leaves no file behind.
func (in Input) Check() error {
	_, err := static(in)
	return err
}

// check checks in before anything runs: Check, then the patch against the register and the
// stored runs (they exist and are of this scenario), and that the output files' folders
// exist. It reads the register and nothing else.
func check(ctx context.Context, in Input) (*plan, error) {
	p, err := static(in)
	if err != nil {
		return nil, err
	}
	if (len(in.Before.Runs) > 0 || len(in.After.Runs) > 0 || in.Patch.ID != "") && in.Ledger == nil {
		return nil, badInput("stored runs and a patch id need the register")
	}
	if in.Bundle != "" && len(in.Key) != ed25519.PrivateKeySize {
		return nil, badInput("bundle %s: no signing key", in.Bundle)
	}
	if err := p.checkPatch(ctx); err != nil {
		return nil, err
	}
	if err := p.loadStored(ctx); err != nil {
		return nil, err
	}
	for _, f := range []struct{ what, path string }{{"bundle", in.Bundle}, {"JUnit", in.JUnit}} {
		if f.path == "" {
			continue
		}
		if err := checkDir(f.what, f.path); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// static is Check, giving the plan.
func static(in Input) (*plan, error) {
	p := &plan{in: in, now: in.Now, actor: strings.TrimSpace(in.Actor)}
	if p.now == nil {
		p.now = time.Now
	}
	if p.actor == "" {
		p.actor = Actor()
	}
	sc := in.Scenario
	if sc == nil || sc.Scenario == nil {
		return nil, badInput("no scenario")
	}
	if len(sc.Data) == 0 || sc.SHA256 == "" {
		return nil, badInput("scenario %s: its text is missing; the record and the bundle hold the scenario as run", sc.Name)
	}
	switch {
	case in.Repeat < 0:
		return nil, badInput("repetitions %d: expected a positive number", in.Repeat)
	case in.Repeat > 0:
		p.n = in.Repeat
	default:
		p.n = max(sc.Repeat, 1)
	}
	for i, s := range []Side{in.Before, in.After} {
		name := [2]string{"before", "after"}[i]
		got, err := p.checkSide(name, s)
		if err != nil {
			return nil, err
		}
		p.sides[i] = got
		if got.runNow {
			p.runsToMake += p.n
		}
	}
	if len(in.Differences) > 0 && in.Patch.ID == "" {
		return nil, badInput("differences between the bench and production are recorded with the validation of a patch: name the patch")
	}
	return p, nil
}

// checkSide parses a side's target (and checks arming), or takes its stored run ids.
func (p *plan) checkSide(name string, s Side) (side, error) {
	out := side{name: name, armed: s.Armed}
	u := strings.TrimSpace(s.Target)
	switch {
	case u != "" && len(s.Runs) > 0:
		return out, badInput("%s: give a target or stored runs, not both", name)
	case len(s.Runs) > 0:
		for _, id := range s.Runs {
			if id <= 0 {
				return out, badInput("stored %s run %d: expected a positive run id", name, id)
			}
		}
		return out, nil
	case u == "":
		return out, badInput("%s: no target and no stored runs", name)
	}
	t, err := driver.ParseTarget(u)
	if err != nil {
		return out, badInput("%s target: %w", name, err)
	}
	if p.in.SimulatedTime {
		if !t.Simulated() {
			return out, badInput("%s target %s: simulated time applies to sim:// targets only; this one runs in real time", name, t)
		}
		q := t.URL.Query()
		q.Set("time", "simulated")
		t.URL.RawQuery = q.Encode()
	}
	if runner.NeedsArming(p.in.Scenario.Scenario, t) && !s.Armed {
		return out, badInput("%s target %s: %w", name, t, runner.ErrNotArmed)
	}
	out.target, out.runNow = t, true
	return out, nil
}

// checkPatch takes the patch from the register when an id is given: explicit versions must
// agree with the register's, and fill in what it leaves empty.
func (p *plan) checkPatch(ctx context.Context) error {
	want := p.in.Patch
	p.from, p.to = strings.TrimSpace(want.FromVersion), strings.TrimSpace(want.ToVersion)
	if want.ID == "" {
		return nil
	}
	pt, err := p.in.register().Patch(ctx, want.ID)
	if errors.Is(err, ledger.ErrNotFound) {
		return badInput("patch %s is not in the register (patchgate register list shows them)", want.ID)
	}
	if err != nil {
		return fmt.Errorf("patch %s: %w", want.ID, err)
	}
	p.patch = pt
	for _, v := range []struct {
		what      string
		given     *string
		registers string
	}{{"from", &p.from, pt.FromVersion}, {"to", &p.to, pt.ToVersion}} {
		switch {
		case v.registers == "":
		case *v.given == "":
			*v.given = v.registers
		case *v.given != v.registers:
			return badInput("%s version %s given, but the register has patch %s going from %s to %s; correct the register or the version",
				v.what, *v.given, pt.ID, orUnknown(pt.FromVersion), orUnknown(pt.ToVersion))
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// loadStored loads the stored runs of both sides and checks that they are runs of the
// scenario given, and of one and the same scenario: name, SHA-256 of its text, point map.
func (p *plan) loadStored(ctx context.Context) error {
	var first *trace.Run
	var firstSide string
	for i := range p.sides {
		s := &p.sides[i]
		ids := p.in.Before.Runs
		if i == 1 {
			ids = p.in.After.Runs
		}
		for _, id := range ids {
			tr, err := p.in.Ledger.LoadTrace(ctx, id)
			if errors.Is(err, ledger.ErrNotFound) {
				return badInput("stored %s run %d: not in the register (patchgate runs lists them)", s.name, id)
			}
			if err != nil {
				return fmt.Errorf("stored %s run %d: %w", s.name, id, err)
			}
			if first == nil {
				first, firstSide = &tr.Run, s.name
			} else if !sameScenario(*first, tr.Run) {
				return badInput("stored %s run %d and %s run %d are runs of different scenarios: %s and %s; compare runs of one scenario",
					firstSide, first.ID, s.name, id, describe(*first), describe(tr.Run))
			}
			sc := p.in.Scenario
			given := trace.Run{Scenario: sc.Name, ScenarioHash: sc.SHA256, PointMap: sc.Points.Name}
			if !sameScenario(given, tr.Run) {
				return badInput("stored %s run %d is a run of %s, not of the scenario given, %s", s.name, id, describe(tr.Run), describe(given))
			}
			s.stored = append(s.stored, tr)
		}
	}
	return nil
}

// sameScenario: same scenario name, same scenario text (SHA-256; a run recorded without
// one matches nothing, as it cannot show which text it ran) and same point map.
func sameScenario(a, b trace.Run) bool {
	return a.Scenario == b.Scenario && a.ScenarioHash == b.ScenarioHash && a.ScenarioHash != "" && a.PointMap == b.PointMap
}

func describe(r trace.Run) string {
	sum := "no recorded SHA-256"
	if r.ScenarioHash != "" {
		sum = "SHA-256 " + r.ScenarioHash[:min(12, len(r.ScenarioHash))] + "…"
	}
	return fmt.Sprintf("scenario %q (%s, point map %q)", r.Scenario, sum, r.PointMap)
}

// checkDir: the folder an output file goes into exists.
func checkDir(what, path string) error {
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return badInput("%s %s: %v", what, path, err)
	}
	if !fi.IsDir() {
		return badInput("%s %s: %s is not a folder", what, path, filepath.Dir(path))
	}
	return nil
}
