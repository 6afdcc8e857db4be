package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/fixtures/thirdparty"
	"github.com/patchgate/patchgate/harness/verdict"
)

// TestThirdPartyValidate: validate against a tank PLC on protocol stacks we did not write
// (fixtures/thirdparty: node-opcua and modbus-serial in a node process, 50 ms scan, levels
// as scaled integers, started in a random state), in real time over Modbus TCP and over
// OPC UA, one run a side. The baseline against itself patched benignly (a little more level
// noise) is GO; a 5 % slower scan is NO-GO on timing:scan_period; the high alarm moved from
// 90 % to 92 % is NO-GO on check:alarm_high_threshold; in none may Level differ, as no
// variant changes the level. Each case logs its verdict and the criteria that were not a pass.
//
// With -thirdparty.rounds N each lane repeats its cases N times (a fresh after PLC is not
// started per round: the setup brings each back to its start state, as on a bench), and
// -thirdparty.detection FILE writes the tally into the real-time section of
// docs/detection.md:
//
//	make thirdparty-study   # 10 rounds, about 15 minutes
var (
	thirdPartyRounds    = flag.Int("thirdparty.rounds", 1, "rounds of the third-party validations")
	thirdPartyDetection = flag.String("thirdparty.detection", "", "write the tally into this detection.md's real-time section")
)

func TestThirdPartyValidate(t *testing.T) {
	dir := thirdparty.DirOrSkip(t)
	fixtures := filepath.Join("..", "..", "fixtures", "thirdparty")
	cases := []struct {
		variant   string
		code      int
		criterion string // the failed criterion a NO-GO must name
	}{
		{"benign", ExitOK, ""},
		{"scan-slow", ExitNoGo, "timing:scan_period"},
		{"alarm-shift", ExitNoGo, "check:alarm_high_threshold"},
	}
	firmware := map[string]string{"baseline": "5.0.0", "benign": "5.0.1", "scan-slow": "5.1.0", "alarm-shift": "5.1.1"}
	protocols := []struct {
		name, points string
		target       func(*thirdparty.PLC) string
	}{
		{"modbus", "tankplc-modbus.yaml", func(p *thirdparty.PLC) string { return p.Modbus }},
		{"opcua", "tankplc-opcua.yaml", func(p *thirdparty.PLC) string { return p.OPCUA + "?security=None&allow_insecure=1" }},
	}
	// The two protocols run side by side (two cores), each on PLCs of its own: a PLC keeps
	// its state, and one lane's writes must not meet the other's. Within a lane the cases run
	// one after the other against one baseline PLC, which the setup brings back to 20 %.
	// Every PLC is started before any validation: a starting PLC takes a core for seconds.
	lanes := startPLCs(t, dir, len(protocols), []string{"baseline", "benign", "scan-slow", "alarm-shift"})
	tally := newRealTimeTally()
	t.Cleanup(func() {
		if *thirdPartyDetection != "" && !t.Failed() {
			if err := tally.write(*thirdPartyDetection); err != nil {
				t.Error(err)
			}
		}
	})
	for i, pr := range protocols {
		plcs := lanes[i]
		t.Run(pr.name, func(t *testing.T) {
			t.Parallel()
			for round := 1; round <= *thirdPartyRounds; round++ {
				for _, tc := range cases {
					t.Run(fmt.Sprintf("%s#%d", tc.variant, round), func(t *testing.T) {
						before, after := plcs["baseline"], plcs[tc.variant]
						db := filepath.Join(t.TempDir(), "v.db")
						t0 := time.Now()
						code, out, errOut := runCLI(t, "validate", "--json", "--arm", "--db", db,
							"--scenario", filepath.Join(fixtures, "tankplc-alarm-trip.yaml"),
							"--points", filepath.Join(fixtures, pr.points),
							"--before", pr.target(before), "--after", pr.target(after))
						var rec verdict.Record
						if err := json.Unmarshal([]byte(out), &rec); err != nil {
							t.Fatalf("exit %d, no verdict record (%v)\nstdout: %s\nstderr: %s", code, err, out, errOut)
						}
						logVerdict(t, pr.name, tc.variant, code, rec, time.Since(t0))
						c, _ := criterion(rec, tc.criterion)
						right := rec.Verdict == verdict.Go
						if tc.criterion != "" {
							right = rec.Verdict == verdict.NoGo && c.Status == verdict.Fail
						}
						tally.add(pr.name, tc.variant, tc.criterion, rec, right)
						if rec.IdentityBefore.Firmware != firmware["baseline"] || rec.IdentityAfter.Firmware != firmware[tc.variant] {
							t.Errorf("identity: firmware %q -> %q, want %s -> %s", rec.IdentityBefore.Firmware, rec.IdentityAfter.Firmware, firmware["baseline"], firmware[tc.variant])
						}
						if code != tc.code {
							t.Errorf("exit %d (%s), want %d", code, rec.Verdict, tc.code)
						}
						// no variant changes the process (rates, trip points but the alarm's,
						// interlock): a Level outside its tolerance is a false finding. The
						// moved alarm also clears 2 % higher, so the drain's next step starts
						// 2 % higher: there Level may rightly differ too (a second finding
						// beside the threshold check, which is what must decide)
						if c, ok := criterion(rec, "signal:Level"); ok && c.Status == verdict.Fail && tc.variant != "alarm-shift" {
							t.Errorf("signal:Level failed, but no variant changes the level: %s", c.Reason)
						}
						if tc.criterion == "" {
							if rec.Verdict != verdict.Go {
								t.Errorf("verdict %s, want GO: %s", rec.Verdict, strings.Join(rec.Reasons, "; "))
							}
							return
						}
						if rec.Verdict != verdict.NoGo {
							t.Errorf("verdict %s, want NO-GO naming %s", rec.Verdict, tc.criterion)
						}
						if c, ok := criterion(rec, tc.criterion); !ok || c.Status != verdict.Fail {
							t.Errorf("criterion %s is %q (%s), want fail", tc.criterion, c.Status, c.Reason)
						}
					})
				}
			}
		})
	}
}

// realTimeTally counts the third-party validations per protocol and variant, for the
// detection study's real-time rows.
type realTimeTally struct {
	mu   sync.Mutex
	rows map[string]*realTimeRow
	keys []string
}

type realTimeRow struct {
	protocol, variant, breaks string
	n, right, nogo, goes, inc int
	example                   string
}

func newRealTimeTally() *realTimeTally { return &realTimeTally{rows: map[string]*realTimeRow{}} }

func (t *realTimeTally) add(protocol, variant, breaks string, rec verdict.Record, right bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := protocol + "/" + variant
	r, ok := t.rows[k]
	if !ok {
		r = &realTimeRow{protocol: protocol, variant: variant, breaks: breaks}
		t.rows[k] = r
		t.keys = append(t.keys, k)
	}
	r.n++
	if right {
		r.right++
	}
	switch rec.Verdict {
	case verdict.Go:
		r.goes++
	case verdict.NoGo:
		r.nogo++
	default:
		r.inc++
	}
	if len(rec.Reasons) > 0 && (r.example == "" || !right) {
		r.example = rec.Reasons[0]
	}
}

// write replaces the real-time section of a detection.md (between realTimeBegin and
// realTimeEnd) with the tally.
func (t *realTimeTally) write(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	slices.Sort(t.keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## Real time, on a controller we did not build\n\n", realTimeBegin)
	fmt.Fprintf(&b, "The tank PLC of fixtures/thirdparty (node-opcua and modbus-serial in a node process, 50 ms scan\n")
	fmt.Fprintf(&b, "with ±2 %% jitter, levels as scaled integers in holding registers, alarms as bits of a status\n")
	fmt.Fprintf(&b, "word), each after PLC started at a random level and the baseline reused as a bench is,\n")
	fmt.Fprintf(&b, "validated in real time with fixtures/thirdparty/tankplc-alarm-trip.yaml (its setup drains\n")
	fmt.Fprintf(&b, "with `wait_until`), one run a side, over 127.0.0.1. Produced on %s by\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "`make thirdparty-study` (%d rounds) on 2 vCPU AMD EPYC shared with other work.\n\n", *thirdPartyRounds)
	fmt.Fprintf(&b, "| protocol | variant | breaks | runs | right | NO-GO | GO | INCONCLUSIVE | example reason |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range t.keys {
		r := t.rows[k]
		fmt.Fprintf(&b, "| %s | %s | %s | %d | **%.0f %%** | %d | %d | %d | %s |\n", r.protocol, r.variant, r.breaks, r.n,
			100*float64(r.right)/float64(max(r.n, 1)), r.nogo, r.goes, r.inc, strings.ReplaceAll(r.example, "|", "/"))
	}
	b.WriteString(realTimeEnd)
	out, err := replaceRealTime(string(data), b.String())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// startPLCs starts lanes sets of one PLC of each variant, all side by side (loading
// node-opcua takes a few seconds of CPU each), and stops them when the test ends.
func startPLCs(t *testing.T, dir string, lanes int, variants []string) []map[string]*thirdparty.PLC {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = make([]map[string]*thirdparty.PLC, lanes)
		errs []error
	)
	for i := range out {
		out[i] = map[string]*thirdparty.PLC{}
		for _, v := range variants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := thirdparty.Start(ctx, dir, v)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				out[i][v] = p
			}()
		}
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, plcs := range out {
			for v, p := range plcs {
				if err := p.Close(); err != nil {
					t.Errorf("%s PLC: %v", v, err)
				}
			}
		}
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for i, plcs := range out {
		for _, v := range variants {
			p := plcs[v]
			t.Logf("lane %d, %s PLC: firmware %s, start level %.2f %%, seed %d, %s, %s", i+1, v, p.Firmware, p.Level, p.Seed, p.Modbus, p.OPCUA)
		}
	}
	return out
}

func criterion(rec verdict.Record, id string) (verdict.Criterion, bool) {
	for _, c := range rec.Criteria {
		if c.ID == id {
			return c, true
		}
	}
	return verdict.Criterion{}, false
}

// logVerdict logs the verdict, its reasons and every criterion that was not a pass, for
// checking the comparison against the outcomes the test expects.
func logVerdict(t *testing.T, protocol, variant string, code int, rec verdict.Record, took time.Duration) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s baseline -> %s: %s (exit %d, %s)", protocol, variant, rec.Verdict, code, took.Round(time.Second))
	for _, r := range rec.Reasons {
		fmt.Fprintf(&b, "\n  reason: %s", r)
	}
	for _, c := range rec.Criteria {
		if c.Status != verdict.Pass {
			fmt.Fprintf(&b, "\n  %s %s %s: %s [before %s; after %s]", strings.ToUpper(string(c.Status)), c.Severity, c.ID, c.Reason, c.Before, c.After)
		}
	}
	t.Log(b.String())
}
