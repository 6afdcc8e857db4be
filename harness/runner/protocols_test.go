package runner_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	_ "github.com/patchgate/patchgate/harness/driver/modbus"
	_ "github.com/patchgate/patchgate/harness/driver/opcua"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
	"github.com/patchgate/patchgate/simulators/firmware"
	"github.com/patchgate/patchgate/simulators/station"
)

// measure is what the matrix test extracts from one real-time run.
type measure struct {
	period  time.Duration // mean scan period from the cycle counter over the whole run
	early   time.Duration // mean over the first quarter
	late    time.Duration // mean over the last quarter
	checks  map[string]string
	bad     map[string]bool // tags that read Bad at least once
	noise   float64         // sd of the analog tag
	mean    float64
	samples int
	load    []float64 // latencies of the load probe's reads, s, sorted
	loadErr int       // its failed reads
}

func measureRun(t *testing.T, res *runner.Result, analog string) measure {
	m := measure{checks: checks(res), bad: map[string]bool{}}
	tr := res.Trace
	ci, ai := -1, -1
	for i, tag := range tr.Run.Tags {
		switch tag {
		case "ScanCount":
			ci = i
		case analog:
			ai = i
		}
	}
	type pt struct{ t, n float64 }
	var counts []pt
	var vals []float64
	for _, s := range tr.Samples {
		if s.Quality == driver.Bad {
			m.bad[tr.Run.Tags[s.Tag]] = true
		}
		if s.Quality != driver.Good {
			continue
		}
		switch int(s.Tag) {
		case ci:
			counts = append(counts, pt{float64(s.T), s.Value})
		case ai:
			vals = append(vals, s.Value)
		}
	}
	m.samples = len(tr.Samples)
	for _, e := range tr.Events {
		if e.Kind != trace.EvLoad {
			continue
		}
		switch e.Value {
		case runner.LoadError:
			m.loadErr++
		case runner.LoadStart, runner.LoadEnd:
		default:
			if v, err := strconv.ParseFloat(e.Value, 64); err == nil {
				m.load = append(m.load, v)
			}
		}
	}
	slices.Sort(m.load)
	per := func(a, b pt) time.Duration {
		if b.n <= a.n {
			return 0
		}
		return time.Duration((b.t - a.t) / (b.n - a.n))
	}
	// the scan period: the least-squares slope of the counter readings' times over their
	// counts. The first and last reading alone let one late reply on a busy machine move
	// it by more than the 0.5 % the matrix allows
	slope := func(ps []pt) time.Duration {
		var mn, mt float64
		for _, p := range ps {
			mn += p.n
			mt += p.t
		}
		mn /= float64(len(ps))
		mt /= float64(len(ps))
		var cov, vn float64
		for _, p := range ps {
			cov += (p.n - mn) * (p.t - mt)
			vn += (p.n - mn) * (p.n - mn)
		}
		if vn == 0 {
			return 0
		}
		return time.Duration(cov / vn)
	}
	if n := len(counts); n > 8 {
		m.period = slope(counts)
		m.early = per(counts[0], counts[n/4])
		m.late = per(counts[3*n/4], counts[n-1])
	}
	var sum, sq float64
	for _, v := range vals {
		sum += v
	}
	if len(vals) > 0 {
		m.mean = sum / float64(len(vals))
		for _, v := range vals {
			sq += (v - m.mean) * (v - m.mean)
		}
		m.noise = math.Sqrt(sq / float64(len(vals)))
	}
	return m
}

// steady is a scenario made here: sample the counter and an analog tag, no writes.
func steady(t *testing.T, model, analog string, d time.Duration, extra ...string) *scenario.Scenario {
	tags := strings.Join(append([]string{"ScanCount", analog}, extra...), ", ")
	src := fmt.Sprintf("version: 1\nname: steady-%s\npoints: x\nsample:\n  period: 50ms\n  tags: [%s]\nsteps:\n  - wait: %s\n", model, tags, d)
	pm, err := point.Load("../../scenarios/pointmaps/" + model + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Parse("steady.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

var analogTag = map[string]string{"tank": "Level", "heater": "Temperature", "conveyor": "Speed"}

// scenarioKey names the scenario that shows each kind of break over the wire, and the check
// that must fail.
func scenarioKey(p firmware.Profile) (key, check string) {
	switch p.Breaks {
	case "alarm":
		if p.Model == "tank" {
			return "tank-alarm-trip.yaml", "alarm_high_threshold"
		}
		return "heater-overtemp-alarm.yaml", "overtemp_alarm_threshold"
	case "loop_response":
		return "heater-step-response.yaml", "overshoot_limit"
	case "event_order":
		return "conveyor-sequence.yaml", ""
	case "retained":
		if p.Model == "conveyor" {
			return "conveyor-restart-retain.yaml", "retained_counters"
		}
		return p.Model + "-restart-retain.yaml", "retained_values"
	}
	if p.Breaks == "load" {
		return "tank-load.yaml", ""
	}
	if p.ScanGrowth > 0 {
		return "steady-40s", ""
	}
	return "steady-8s", ""
}

// movedTag is the tag each model's register-moved firmware moves; every steady run samples
// it, so that the baseline and the regression read the same tags.
var movedTag = map[string]string{"tank": "Level", "heater": "Temperature", "conveyor": "PartCount"}

func scenarioByKey(t *testing.T, model, key string) *scenario.Scenario {
	extra := []string{}
	if m := movedTag[model]; m != analogTag[model] {
		extra = append(extra, m)
	}
	switch key {
	case "steady-8s":
		return steady(t, model, analogTag[model], 8*time.Second, extra...)
	case "steady-40s":
		return steady(t, model, analogTag[model], 40*time.Second, extra...)
	}
	return load(t, key)
}

// rejectOrder tells, from a conveyor trace, in which order the first rejected part's events
// came: the reject gate opening and the reject counter moving.
func rejectOrder(tr *trace.Trace) string {
	gi, ci := -1, -1
	for i, tag := range tr.Run.Tags {
		switch tag {
		case "RejectGate":
			gi = i
		case "RejectCount":
			ci = i
		}
	}
	var gateAt, countAt int64 = -1, -1
	var prevCount float64 = math.NaN()
	for _, s := range tr.Samples {
		if s.Quality != driver.Good {
			continue
		}
		switch int(s.Tag) {
		case gi:
			if s.Value == 1 && gateAt < 0 {
				gateAt = s.Slot
			}
		case ci:
			if !math.IsNaN(prevCount) && s.Value > prevCount && countAt < 0 {
				countAt = s.Slot
			}
			prevCount = s.Value
		}
	}
	switch {
	case countAt < 0:
		return "no reject"
	case gateAt < 0 || gateAt > countAt+100:
		return "count without gate"
	case gateAt < countAt:
		return "gate then count"
	}
	return "count then gate"
}

// changesPosture: a profile that changes only the security posture, judged by
// postureBench rather than by the matrix's scenarios.
func changesPosture(p firmware.Profile) bool { return p.Breaks == "posture" }

type matrixJob struct {
	prof  firmware.Profile
	key   string // scenario
	proto string
}

func (j matrixJob) id() string { return j.prof.Model + "/" + j.prof.Name + "/" + j.key + "/" + j.proto }

type matrixOutcome struct {
	m     measure
	order string
	err   error
}

// TestEveryProfileOverBothProtocols drives every firmware profile through Modbus TCP and
// OPC UA in real time against simulated controllers, and shows that each regression differs
// measurably from the baseline running the same scenario, and the benign patch does not.
func TestEveryProfileOverBothProtocols(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs of every profile")
	}
	if raceEnabled {
		// 72 simulated controllers keeping real time next to the harness on 2 cores cannot
		// run under the race detector's instrumentation; `make test` runs this test again
		// without -race, on its own
		t.Skip("real-time emulation: run without -race (make test does)")
	}
	var jobs []matrixJob
	seen := map[string]bool{}
	add := func(j matrixJob) {
		if !seen[j.id()] {
			seen[j.id()] = true
			jobs = append(jobs, j)
		}
	}
	for _, p := range firmware.All() {
		if changesPosture(p) {
			continue
		}
		key, _ := scenarioKey(p)
		base, _ := firmware.Lookup(p.Model, "")
		for _, proto := range []string{"modbus", "opcua"} {
			add(matrixJob{p, key, proto})
			add(matrixJob{base, key, proto}) // the baseline on the same scenario
		}
	}
	// longest first, a bounded number at a time: every run has its own controller in this
	// process, and the harness's own CPU use must stay small next to theirs
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].key == "steady-40s" && jobs[j].key != "steady-40s" })
	// every controller starts first: an OPC UA server costs a burst of CPU to start, which
	// would otherwise delay the scans of controllers being measured
	stations := make([]*station.Station, len(jobs))
	for i, j := range jobs {
		cfg := station.Config{Model: j.prof.Model, Firmware: j.prof.Name, Seed: 1, Security: "none", OPCUA: "-"}
		if j.proto == "opcua" {
			cfg.Modbus, cfg.OPCUA = "-", ""
		}
		st, err := station.Start(context.Background(), stationAddrs(cfg))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stations[i] = st
	}
	out := make([]matrixOutcome, len(jobs))
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = runJob(t, j, stations[i])
		}()
	}
	wg.Wait()
	// the posture benches after the timing runs, side by side: each starts and stops
	// stations in turn
	postures := runPostureBenches(t)
	result := map[string]matrixOutcome{}
	for i, j := range jobs {
		result[j.id()] = out[i]
	}
	for _, p := range firmware.All() {
		if changesPosture(p) {
			checkPostureProfile(t, p, postures)
			continue
		}
		for _, proto := range []string{"modbus", "opcua"} {
			key, checkID := scenarioKey(p)
			base, _ := firmware.Lookup(p.Model, "")
			r, b := result[matrixJob{p, key, proto}.id()], result[matrixJob{base, key, proto}.id()]
			t.Run(p.Model+"/"+p.Name+"/"+proto, func(t *testing.T) {
				if r.err != nil || b.err != nil {
					t.Fatalf("run: %v; baseline run: %v", r.err, b.err)
				}
				checkProfile(t, p, proto, checkID, r, b)
			})
		}
	}
}

func runJob(t *testing.T, j matrixJob, st *station.Station) matrixOutcome {
	tg := st.ModbusURL()
	if j.proto == "opcua" {
		tg = st.OPCUAURL() + "?security=None&allow_insecure=1"
	}
	target, err := driver.ParseTarget(tg)
	if err != nil {
		return matrixOutcome{err: err}
	}
	// the operator's restart button: the harness cannot restart a controller over the wire
	restart := func(context.Context, runner.RestartRequest) (runner.RestartConfirmation, error) {
		st.Controller.Restart()
		return runner.RestartConfirmation{By: "test"}, nil
	}
	res, err := runner.Run(context.Background(), scenarioByKey(t, j.prof.Model, j.key),
		runner.Options{Target: target, Armed: true, OperatorRestart: restart})
	if res == nil {
		return matrixOutcome{err: err}
	}
	if err == nil && res.Trace.Run.Status != trace.Completed {
		err = fmt.Errorf("status %s: %s", res.Trace.Run.Status, res.Trace.Run.Fault)
	}
	return matrixOutcome{m: measureRun(t, res, analogTag[j.prof.Model]), order: rejectOrder(res.Trace), err: err}
}

// stationAddrs turns "-" (off) and "" (free loopback port) into station addresses.
func stationAddrs(cfg station.Config) station.Config {
	for _, a := range []*string{&cfg.Modbus, &cfg.OPCUA} {
		switch *a {
		case "-":
			*a = ""
		case "":
			*a = "127.0.0.1:0"
		}
	}
	return cfg
}

func checkProfile(t *testing.T, p firmware.Profile, proto, checkID string, r, b matrixOutcome) {
	nominal := 10 * time.Millisecond
	rel := func(d time.Duration) float64 { return float64(d-nominal) / float64(nominal) }
	switch {
	case p.Kind != firmware.Regression:
		if math.Abs(rel(r.m.period)) > 0.005 {
			t.Errorf("scan period %v: more than 0.5%% from 10 ms", r.m.period)
		}
		if p.Kind == firmware.Benign && (r.m.noise > 2*b.m.noise+0.05 || math.Abs(r.m.mean-b.m.mean) > 0.5) {
			t.Errorf("%s mean %.3f sd %.4f; baseline %.3f sd %.4f", analogTag[p.Model], r.m.mean, r.m.noise, b.m.mean, b.m.noise)
		}
	case p.ScanGrowth > 0:
		if growth := float64(r.m.late-r.m.early) / float64(r.m.early); growth < 0.005 {
			t.Errorf("scan period %v early, %v late: growth %.2f%%, want the leak to show (about 1%%)", r.m.early, r.m.late, 100*growth)
		}
		if bg := float64(b.m.late-b.m.early) / float64(b.m.early); math.Abs(bg) > 0.003 {
			t.Errorf("baseline scan period moved %.2f%% over the same run", 100*bg)
		}
	case p.ScanFactor != 1:
		if got := rel(r.m.period); math.Abs(got-(p.ScanFactor-1)) > 0.01 {
			t.Errorf("scan period %v: %+.1f%%, want %+.0f%%", r.m.period, 100*got, 100*(p.ScanFactor-1))
		}
	case p.Breaks == "identity":
		for tag := range p.Moved {
			if proto == "modbus" && !r.m.bad[tag] {
				t.Errorf("moved register: %s read Good over Modbus with the baseline map", tag)
			}
			if proto == "opcua" && r.m.bad[tag] {
				t.Errorf("a moved register is a Modbus change; %s must read Good over OPC UA", tag)
			}
			if b.m.bad[tag] {
				t.Errorf("baseline: %s read Bad", tag)
			}
		}
	case p.Breaks == "load":
		// the load asks 200 reads/s of a communication task that serves 100 requests/s
		if len(r.m.load) < 100 || len(b.m.load) < 1000 {
			t.Fatalf("load reads: %d after, %d baseline (errors %d, %d)", len(r.m.load), len(b.m.load), r.m.loadErr, b.m.loadErr)
		}
		rp, bp := r.m.load[len(r.m.load)/2], b.m.load[len(b.m.load)/2]
		if rp < 0.1 || rp < 20*bp {
			t.Errorf("load read latency median %.4f s, baseline %.4f s; want the queue to show", rp, bp)
		}
	case p.Breaks == "event_order":
		if b.order != "gate then count" || r.order == b.order {
			t.Errorf("first reject: %q, baseline %q; want the baseline's gate-then-count to change", r.order, b.order)
		}
	default:
		if r.m.checks[checkID] != "fail" || b.m.checks[checkID] != "pass" {
			t.Errorf("check %s = %q, baseline %q; want fail and pass", checkID, r.m.checks[checkID], b.m.checks[checkID])
		}
	}
}

// A posture bench validates posture profiles as a bench does, on one controller patched in
// between: the baseline station runs tank-posture, is stopped, and each profile's station
// starts on the same ports (Modbus or OPC UA, and a debug port) and runs it; the baseline
// again last, to show that a controller compared with itself passes. The scan covers the
// station's ports, so a port the firmware opens shows.
type postureBenchSpec struct {
	name     string // the bench's protocol and OPC UA security
	proto    string // modbus or opcua
	security string // the station's OPC UA security (see opcuaserver.ParseSecurity)
	profiles []string
	// want: what the posture criterion must name for each profile, over this bench
	want map[string][]string
}

// The OPC UA benches: "secure" (signed and encrypted endpoints only, the client trusting the
// station's certificate) shows an added None endpoint; the weak certificate shows on "all"
// over None, as gopcua's client refuses a secure channel to a server whose key is under
// 2048 bits.
var postureBenches = []postureBenchSpec{
	{name: "modbus", proto: "modbus", profiles: []string{"debug-port", "fc-report-id", "policy-none", "weak-cert"},
		want: map[string][]string{
			"debug-port":   {"port DEBUG accepts connections after the patch"},
			"fc-report-id": {"answers function code 17 (exception 01 before)"},
		}},
	{name: "opcua-secure", proto: "opcua", security: "secure", profiles: []string{"debug-port", "policy-none", "fc-report-id"},
		want: map[string][]string{
			"debug-port":  {"port DEBUG accepts connections after the patch"},
			"policy-none": {"adds endpoint None/None"},
		}},
	{name: "opcua-all", proto: "opcua", security: "all", profiles: []string{"weak-cert"},
		want: map[string][]string{
			"weak-cert": {"RSA 2048 → 1024 bits", "SHA256-RSA → SHA1-RSA", "3650 d → 30 d"},
		}},
}

func runPostureBenches(t *testing.T) map[string]map[string]postureOutcome {
	outs := make([]map[string]postureOutcome, len(postureBenches))
	var wg sync.WaitGroup
	for i, b := range postureBenches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = postureBench(t, b)
		}()
	}
	wg.Wait()
	postures := map[string]map[string]postureOutcome{}
	for i, b := range postureBenches {
		postures[b.name] = outs[i]
	}
	return postures
}

type postureOutcome struct {
	crit  verdict.Criterion
	debug int // the bench's debug port
	err   error
}

// postureBench runs the baseline, each profile and the baseline again on the same ports,
// one station at a time, and judges each against the first baseline run; the second
// baseline is under the key "baseline".
func postureBench(t *testing.T, b postureBenchSpec) map[string]postureOutcome {
	out := map[string]postureOutcome{}
	debug := freeLoopbackPort(t)
	var sc *scenario.Scenario
	var before *trace.Trace
	cfg := station.Config{Model: "tank", Seed: 1, Security: b.security,
		Debug: "127.0.0.1:" + strconv.Itoa(debug)}
	if b.proto == "modbus" {
		cfg.Modbus = "127.0.0.1:0"
	} else {
		cfg.OPCUA = "127.0.0.1:0"
	}
	trust := t.TempDir()
	for _, fw := range append(append([]string{""}, b.profiles...), "baseline") {
		cfg.Firmware = fw
		st, err := startRetrying(cfg)
		if err != nil {
			out[fw] = postureOutcome{err: err, debug: debug}
			if before == nil {
				for _, p := range b.profiles {
					out[p] = out[fw]
				}
				return out
			}
			continue
		}
		tg := st.ModbusURL()
		if b.proto == "opcua" {
			// the same ports from here on; the operator trusts the station's new certificate
			cfg.OPCUA = st.OPCUA.Addr()
			tg = st.OPCUAURL() + "?security=None&allow_insecure=1"
			if b.security == "secure" {
				os.WriteFile(filepath.Join(trust, "station.der"), st.OPCUA.Certificate(), 0o644)
				tg = st.OPCUAURL() + "?security=Basic256Sha256&mode=SignAndEncrypt&trust=" + url.QueryEscape(trust)
			}
		} else {
			cfg.Modbus = st.Modbus.Addr()
		}
		if sc == nil {
			sc = load(t, "tank-posture.yaml")
			_, p, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(strings.Split(tg, "?")[0], "modbus://"), "opc.tcp://"))
			port, _ := strconv.Atoi(p)
			sc.Posture.Ports = []int{port, debug}
		}
		res, err := runner.Run(context.Background(), sc, runner.Options{Target: target(t, tg)})
		st.Close()
		if err == nil && res.Trace.Run.Status != trace.Completed {
			err = fmt.Errorf("status %s: %s", res.Trace.Run.Status, res.Trace.Run.Fault)
		}
		if err != nil {
			out[fw] = postureOutcome{err: fmt.Errorf("firmware %q: %w", fw, err), debug: debug}
			continue
		}
		if before == nil {
			before = res.Trace
			continue
		}
		for _, c := range compare.Compare(sc, []*trace.Trace{before}, []*trace.Trace{res.Trace}, compare.Patch{}) {
			if c.ID == "posture" {
				out[fw] = postureOutcome{crit: c, debug: debug}
			}
		}
	}
	return out
}

// startRetrying starts a station on the ports of the one just stopped, retrying briefly
// while the system has not released them.
func startRetrying(cfg station.Config) (*station.Station, error) {
	for try := 0; ; try++ {
		st, err := station.Start(context.Background(), cfg)
		if err == nil || try == 50 || !strings.Contains(err.Error(), "address already in use") {
			return st, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// checkPostureProfile: on every bench that can see it, the profile's posture criterion
// fails naming the change; on the others it passes; the baseline against itself passes.
func checkPostureProfile(t *testing.T, p firmware.Profile, postures map[string]map[string]postureOutcome) {
	seen := false
	for _, b := range postureBenches {
		if !slices.Contains(b.profiles, p.Name) {
			continue
		}
		t.Run(p.Model+"/"+p.Name+"/"+b.name, func(t *testing.T) {
			o, base := postures[b.name][p.Name], postures[b.name]["baseline"]
			if o.err != nil || base.err != nil {
				t.Fatalf("posture run: %v; baseline again: %v", o.err, base.err)
			}
			if base.crit.Status != verdict.Pass {
				t.Errorf("baseline against itself: posture %s: %s", base.crit.Status, base.crit.Reason)
			}
			want := b.want[p.Name]
			if want == nil {
				if o.crit.Status != verdict.Pass {
					t.Errorf("posture %s (%s); this bench cannot see what the firmware changes", o.crit.Status, o.crit.Reason)
				}
				return
			}
			seen = true
			if o.crit.Status != verdict.Fail {
				t.Errorf("posture %s: %s; want fail", o.crit.Status, o.crit.Reason)
			}
			for _, w := range want {
				w = strings.ReplaceAll(w, "DEBUG", strconv.Itoa(o.debug))
				if !strings.Contains(o.crit.Reason, w) {
					t.Errorf("posture reason %q does not name %q", o.crit.Reason, w)
				}
			}
		})
	}
	if !seen {
		t.Errorf("%s/%s changes the posture, but no posture bench shows it", p.Model, p.Name)
	}
}
