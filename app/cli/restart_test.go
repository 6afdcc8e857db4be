package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// restartScenario is the shipped restart scenario the real-time tests validate: the
// heater's, the shortest (a few seconds a run).
const restartScenario = "../../scenarios/heater-restart-retain.yaml"

// outOfProcessSim starts `patchgate sim` (this test binary as the CLI) serving a heater on
// firmware fw over Modbus TCP on a free loopback port, its controller down for restartTime
// on each restart, and returns its Modbus URL and process. It is stopped with the test.
func outOfProcessSim(t *testing.T, fw string, restartTime time.Duration, pidFile string) (string, *os.Process) {
	t.Helper()
	args := []string{"sim", "--model", "heater", "--firmware", fw, "--modbus", "127.0.0.1:0", "--opcua", "", "--json",
		"--fault", "restart-time=" + restartTime.String()}
	if pidFile != "" {
		args = append(args, "--pid-file", pidFile)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PATCHGATE_AS_CLI=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		t.Logf("sim %d stderr:\n%s", cmd.Process.Pid, errOut.String())
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("patchgate sim printed no endpoints: %v; stderr %s", err, errOut.String())
	}
	var in stationInfo
	if err := json.Unmarshal([]byte(line), &in); err != nil || in.Modbus == "" {
		t.Fatalf("endpoints %q: %v", line, err)
	}
	go io.Copy(io.Discard, out)
	return in.Modbus, cmd.Process
}

// restartValidate validates the restart scenario with args added, in process, and returns
// the exit code, the record and the traces of the runs made (from the register).
func restartValidate(t *testing.T, env Env, before, after string, args ...string) (int, verdict.Record, []*trace.Trace) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "restart.db")
	var out bytes.Buffer
	env.Stdout = &out
	all := append([]string{"validate", "--scenario", restartScenario, "--before", before, "--after", after,
		"--arm", "--repeat", "1", "--db", db, "--json", "--actor", "alice"}, args...)
	code := Main(context.Background(), env, all)
	var rec validateOutput
	if code != ExitBadInput && code != ExitFault {
		if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
			t.Fatalf("exit %d, output %q: %v", code, out.String(), err)
		}
	}
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	runs, err := l.Runs(context.Background(), ledger.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var trs []*trace.Trace
	for i := len(runs) - 1; i >= 0; i-- { // oldest first: before, then after
		tr, err := l.LoadTrace(context.Background(), runs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		trs = append(trs, tr)
	}
	for _, c := range rec.Criteria {
		if c.Status != verdict.Pass {
			t.Logf("%s %s: %s", c.Status, c.ID, c.Reason)
		}
	}
	return code, rec.Record, trs
}

// checkRestarted: every run completed, its restart confirmed by alice as how says, the
// connection lost and back within the restart step, the retained values there after it.
func checkRestarted(t *testing.T, trs []*trace.Trace, how string) {
	t.Helper()
	if len(trs) != 2 {
		t.Fatalf("%d runs recorded, want a before and an after run", len(trs))
	}
	for _, tr := range trs {
		if tr.Run.Status != trace.Completed {
			t.Errorf("run %d: %s (%s), want completed", tr.Run.ID, tr.Run.Status, tr.Run.Fault)
		}
		var step int
		var confirmed, back, lost, regained bool
		for _, e := range tr.Events {
			switch {
			case e.Kind == trace.EvStepStart && e.Msg == "restart":
				step = e.Step
			case e.Kind == trace.EvStepEnd && e.Step == step:
				step = -1 // the restart step ended
			case e.Kind == trace.EvRestart && e.Value == "alice" && strings.HasPrefix(e.Msg, "restart confirmed by alice at ") && strings.Contains(e.Msg, how):
				confirmed = true
			case e.Kind == trace.EvRestart && strings.HasPrefix(e.Msg, "controller back "):
				back = true
			case e.Kind == trace.EvGapStart && step > 0:
				lost = true
			case e.Kind == trace.EvGapEnd && step > 0:
				regained = true
			}
		}
		if !confirmed || !back || !lost || !regained {
			t.Errorf("run %d: confirmed %v, back %v, connection lost %v and back %v in the restart step; events:\n%v",
				tr.Run.ID, confirmed, back, lost, regained, tr.Events)
		}
	}
}

// checkRecord: the validation reached a verdict on the restart: no restart criterion left
// open, and the criteria in want as given.
func checkRecord(t *testing.T, code int, rec verdict.Record, want map[string]verdict.Status) {
	t.Helper()
	if code == ExitBadInput || code == ExitFault {
		t.Errorf("exit %d, want a verdict", code)
	}
	seen := map[string]verdict.Status{}
	for _, c := range rec.Criteria {
		seen[c.ID] = c.Status
		if strings.HasSuffix(c.ID, "_restart") {
			t.Errorf("criterion %s %s: the restart was done", c.ID, c.Status)
		}
	}
	for id, st := range want {
		if seen[id] != st {
			t.Errorf("%s: %q, want %q", id, seen[id], st)
		}
	}
}

// sidePids is a restart command that restarts the sim of the side being run, from the pid
// files the sims write into dir (before.pid, after.pid), saying which.
func sidePids(dir string) string {
	return fmt.Sprintf(`echo restarting $PATCHGATE_SIDE; kill -HUP "$(cat '%s'/"$PATCHGATE_SIDE".pid)"`, dir)
}

// realTimeParallel skips a real-time test under -race or -short; otherwise the test runs
// beside the package's other real-time tests: they wait on plant time, not on the CPU (the
// package's real-time tests together use about a tenth of a core). The restart tests'
// windows are tight (a retained value within 200 ms of the controller's return): make
// realtime runs them on their own, before anything that starts node PLCs.
func realTimeParallel(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("real-time validations: run without -race (make test does)")
	}
	t.Parallel()
}

// TestRestartPrompt: validate asks the operator at the restart step (--restart-prompt on a
// pipe, as a terminal would); the test, as the operator, restarts the out-of-process sim of
// the side asked about with SIGHUP and presses Enter; the run waits for the controller to
// come back and goes on, and the retained values are there.
func TestRestartPrompt(t *testing.T) {
	realTimeParallel(t)
	before, bp := outOfProcessSim(t, "baseline", 300*time.Millisecond, "")
	after, ap := outOfProcessSim(t, "benign", 300*time.Millisecond, "")
	stdin, answer := io.Pipe()
	defer answer.Close()
	prompts := newWatcher("press Enter (or type abort)")
	go func() {
		procs := []*os.Process{bp, ap} // one prompt a run: before, then after
		for range prompts.seen {
			if len(procs) > 0 {
				procs[0].Signal(syscall.SIGHUP) // the operator restarts the controller...
				procs = procs[1:]
			}
			fmt.Fprintln(answer) // ...and presses Enter
		}
	}()
	code, rec, trs := restartValidate(t, Env{Stderr: prompts, Stdin: stdin}, before, after, "--restart-prompt")
	prompts.close()
	checkRestarted(t, trs, "(operator at the terminal)")
	checkRecord(t, code, rec, map[string]verdict.Status{"data": verdict.Pass, "identity:firmware": verdict.Pass,
		"check:comm_restored": verdict.Pass, "check:retained_values": verdict.Pass})
	if n := prompts.count(); n != 2 {
		t.Errorf("%d prompts, want one a run", n)
	}
	t.Logf("%s, exit %d", rec.Verdict, code)
}

// TestRestartCommand: --restart-cmd sends the restart to the sim of each side (kill -HUP
// from its --pid-file), its output echoed and recorded; each run waits for its controller
// and goes on. The after sim's firmware loses retained memory on restart, as sim:// does:
// NO-GO on retained_values.
func TestRestartCommand(t *testing.T) {
	realTimeParallel(t)
	dir := t.TempDir()
	before, _ := outOfProcessSim(t, "baseline", 300*time.Millisecond, filepath.Join(dir, "before.pid"))
	after, _ := outOfProcessSim(t, "retain-lost", 300*time.Millisecond, filepath.Join(dir, "after.pid"))
	cmd := sidePids(dir)
	var errOut syncBuffer
	code, rec, trs := restartValidate(t, Env{Stderr: &errOut}, before, after, "--restart-cmd", cmd)
	checkRestarted(t, trs, fmt.Sprintf("(command %q, exit status 0): restarting ", cmd))
	checkRecord(t, code, rec, map[string]verdict.Status{"data": verdict.Pass,
		"check:comm_restored": verdict.Pass, "check:retained_values": verdict.Fail})
	if code != ExitNoGo {
		t.Errorf("exit %d (%s), want 1: the after controller lost its retained values", code, rec.Verdict)
	}
	if !strings.Contains(errOut.String(), "restarting before") || !strings.Contains(errOut.String(), "restarting after") {
		t.Errorf("the command's output is not echoed:\n%s", errOut.String())
	}
}

// TestRestartWithoutOperator: with no terminal and no --restart-cmd nobody can restart the
// controller: the step is an inconclusive check, and the validation INCONCLUSIVE, as
// before an operator could be asked.
func TestRestartWithoutOperator(t *testing.T) {
	realTimeParallel(t)
	before, _ := outOfProcessSim(t, "baseline", 300*time.Millisecond, "")
	after, _ := outOfProcessSim(t, "benign", 300*time.Millisecond, "")
	stdin, w := io.Pipe() // not a terminal, and no --restart-prompt
	defer w.Close()
	code, rec, _ := restartValidate(t, Env{Stderr: io.Discard, Stdin: stdin}, before, after)
	if code != ExitInconclusive || rec.Verdict != verdict.Inconclusive {
		t.Fatalf("exit %d, %s; want INCONCLUSIVE", code, rec.Verdict)
	}
	for _, c := range rec.Criteria {
		if strings.HasSuffix(c.ID, "_restart") && c.Status == verdict.StatusUndecided && strings.Contains(c.Reason, "no operator was asked") {
			return
		}
	}
	t.Errorf("no inconclusive restart criterion in %+v", rec.Criteria)
}

// TestRestartNeverBack: the after controller restarts and never comes back (down for an
// hour): its run faults once the gap limit has passed after the confirmation, and the
// validation is INCONCLUSIVE, never GO. The command picks the sim by side, from the pid
// files the sims write.
func TestRestartNeverBack(t *testing.T) {
	realTimeParallel(t)
	dir := t.TempDir()
	before, _ := outOfProcessSim(t, "baseline", 300*time.Millisecond, filepath.Join(dir, "before.pid"))
	after, _ := outOfProcessSim(t, "benign", time.Hour, filepath.Join(dir, "after.pid"))
	code, rec, trs := restartValidate(t, Env{Stderr: io.Discard}, before, after, "--restart-cmd", sidePids(dir), "--gap-limit", "1s")
	if code != ExitInconclusive || rec.Verdict != verdict.Inconclusive {
		t.Fatalf("exit %d, %s; want INCONCLUSIVE", code, rec.Verdict)
	}
	if len(trs) != 2 || trs[0].Run.Status != trace.Completed || trs[1].Run.Status != trace.Faulted ||
		!strings.Contains(trs[1].Run.Fault, "did not come back within 1s after the restart was confirmed") {
		for _, tr := range trs {
			t.Logf("run %d: %s %s", tr.Run.ID, tr.Run.Status, tr.Run.Fault)
		}
		t.Fatal("want the before run completed and the after run faulted: the controller did not come back")
	}
}

// TestRestartFlags: contradicting or impossible restart flags are bad input; nothing runs.
func TestRestartFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--restart-cmd", "true", "--restart-prompt"}, "--restart-cmd and --restart-prompt: give one"},
		{[]string{"--restart-timeout", "0s"}, "--restart-timeout 0s: expected a positive duration"},
		{[]string{"--gap-limit", "-1s"}, "--gap-limit -1s: expected a positive duration"},
	} {
		for _, cmd := range [][]string{{"validate", "--before", "sim://heater", "--after", "sim://heater"}, {"run", "--target", "sim://heater"}} {
			args := append(append(cmd, "--scenario", restartScenario), tc.args...)
			code, _, errOut := runCLI(t, args...)
			if code != ExitBadInput || !strings.Contains(errOut, tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", args, code, errOut, tc.want)
			}
		}
	}
}

// TestRestartOperator: the prompt's answers and the command's outcomes, one at a time.
func TestRestartOperator(t *testing.T) {
	tg, _ := driver.ParseTarget("modbus://127.0.0.1:5020")
	req := runner.RestartRequest{Target: tg, Scenario: "s", Step: 5, Side: "after", Repetition: 1}
	t.Run("prompt", func(t *testing.T) {
		for _, tc := range []struct {
			input, err string
			aborted    bool
		}{
			{input: "\n"},
			{input: "what?\n\n"},
			{input: " ABORT \n", err: errOperatorAbort.Error(), aborted: true},
			{input: "", err: "stdin ended before the operator answered"},
		} {
			var stderr syncBuffer
			var cause error
			o := &operator{env: Env{Stderr: &stderr, Stdin: strings.NewReader(tc.input)}, timeout: time.Minute, actor: "bob",
				abort: func(err error) { cause = err }}
			c, err := o.ask(context.Background(), req)
			if fmt.Sprint(err) != fmt.Sprint(tc.err) && !strings.Contains(fmt.Sprint(err), tc.err) || (tc.err == "") != (err == nil) {
				t.Errorf("%q: error %v, want %q", tc.input, err, tc.err)
			}
			if (cause != nil) != tc.aborted {
				t.Errorf("%q: abort %v", tc.input, cause)
			}
			if err == nil && (c.By != "bob" || c.How != "operator at the terminal") {
				t.Errorf("%q: confirmation %+v", tc.input, c)
			}
			if !strings.Contains(stderr.String(), "step 5 of s on modbus://127.0.0.1:5020 (after, repetition 1):\nRestart the controller now, then press Enter (or type abort) [1m0s to answer]: ") {
				t.Errorf("%q: prompt %q", tc.input, stderr.String())
			}
		}
	})
	t.Run("prompt timeout", func(t *testing.T) {
		r, w := io.Pipe()
		defer w.Close()
		o := &operator{env: Env{Stderr: io.Discard, Stdin: r}, timeout: time.Millisecond}
		if _, err := o.ask(context.Background(), req); err == nil || !strings.Contains(err.Error(), "no answer at the restart prompt within 1ms (--restart-timeout)") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("command", func(t *testing.T) {
		for _, tc := range []struct {
			cmd, err, out string
		}{
			{cmd: `echo "$PATCHGATE_TARGET $PATCHGATE_SIDE $PATCHGATE_STEP"`, out: "modbus://127.0.0.1:5020 after 5"},
			{cmd: "echo no such PLC; exit 3", err: `restart command "echo no such PLC; exit 3" exited with status 3: no such PLC`},
			{cmd: "exec sleep 60", err: `restart command "exec sleep 60": no end within 200ms (--restart-timeout)`},
		} {
			o := &operator{env: Env{Stderr: io.Discard}, cmd: tc.cmd, timeout: 200 * time.Millisecond, actor: "bob"}
			c, err := o.command(context.Background(), req)
			if (tc.err == "") != (err == nil) || err != nil && err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", tc.cmd, err, tc.err)
			}
			if err == nil && (c.Output != tc.out || c.By != "bob" || c.How != fmt.Sprintf("command %q, exit status 0", tc.cmd)) {
				t.Errorf("%s: confirmation %+v", tc.cmd, c)
			}
		}
	})
}

// watcher is a stderr that reports each time a text appears in what is written to it.
type watcher struct {
	text string
	seen chan struct{}
	mu   sync.Mutex
	buf  strings.Builder
	n    int
	done bool
}

func newWatcher(text string) *watcher { return &watcher{text: text, seen: make(chan struct{}, 16)} }

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if n := strings.Count(w.buf.String(), w.text); n > w.n && !w.done {
		for ; w.n < n; w.n++ {
			w.seen <- struct{}{}
		}
	}
	return len(p), nil
}

func (w *watcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *watcher) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.done = true
		close(w.seen)
	}
}

// syncBuffer is a bytes.Buffer safe for a command's output and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// /dev/null is a character device, and a run with stdin from it (CI, cron) stopped at the
// restart prompt, read end of input and faulted instead of recording the inconclusive check.
func TestDevNullIsNoTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Errorf("%s counts as a terminal", os.DevNull)
	}
}
