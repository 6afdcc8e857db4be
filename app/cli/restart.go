package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/patchgate/patchgate/harness/runner"
)

// IsTerminal reports whether f is a terminal. It is the CLI's one
// test: stderr decides whether progress is drawn in place, stdin whether a restart step may
// ask the operator.
func IsTerminal(f *os.File) bool {
	// a terminal answers the terminal ioctls; /dev/null is a character device too, and a
	// run with stdin from /dev/null (CI, cron) must not wait for an answer at a prompt
	return f != nil && term.IsTerminal(int(f.Fd()))
}

// restartFlags are the flags of the commands that run scenarios on targets: how a restart
// step on a controller the harness cannot restart is done, and how long a controller may
// stay away.
type restartFlags struct {
	cmd     *string
	timeout *time.Duration
	prompt  *bool
	gap     *time.Duration
}

func addRestartFlags(fs *flag.FlagSet) *restartFlags {
	return &restartFlags{
		cmd:     fs.String("restart-cmd", "", "at a restart step on a real controller, run this shell command to restart it (a vendor tool, kill -HUP PID for patchgate sim); a non-zero exit faults the run"),
		timeout: fs.Duration("restart-timeout", 10*time.Minute, "how long the restart prompt waits for the operator, or the restart command may run"),
		prompt:  fs.Bool("restart-prompt", false, "ask the operator on stdin at a restart step even when stdin is not a terminal"),
		gap:     fs.Duration("gap-limit", 30*time.Second, "how long a lost connection may stay lost, and a restarted controller take to answer after the restart was confirmed, before the run faults"),
	}
}

// check refuses contradicting or impossible values.
func (f *restartFlags) check() error {
	switch {
	case *f.cmd != "" && *f.prompt:
		return badInput("--restart-cmd and --restart-prompt: give one (a command restarts the controller, the prompt asks the operator)")
	case *f.timeout <= 0:
		return badInput("--restart-timeout %s: expected a positive duration such as 10m", *f.timeout)
	case *f.gap <= 0:
		return badInput("--gap-limit %s: expected a positive duration such as 30s", *f.gap)
	}
	return nil
}

// errOperatorAbort is the cause of a run the operator aborted at the restart prompt.
var errOperatorAbort = errors.New("the operator typed abort at the restart prompt")

// operator is how restart steps are done: the command, else the prompt when stdin and
// stderr are terminals (or --restart-prompt), else nobody (restart returns nil: the step is
// inconclusive). actor is who confirms (empty: validation's Actor); abort cancels the run.
func (f *restartFlags) operator(env Env, actor string, abort context.CancelCauseFunc) *operator {
	o := &operator{env: env, cmd: *f.cmd, timeout: *f.timeout, actor: actor, abort: abort}
	o.prompt = o.cmd == "" && env.Stdin != nil && (env.StdinTerminal && env.Interactive || *f.prompt)
	return o
}

// restart is the runner.OperatorRestart of the flags given, or nil when nobody can restart.
func (o *operator) restart() runner.OperatorRestart {
	switch {
	case o.cmd != "":
		return o.command
	case o.prompt:
		return o.ask
	}
	return nil
}

// busy reports whether the operator is being asked or the command runs: the progress bar
// keeps off the terminal meanwhile.
func (o *operator) busy() bool { return o.asking.Load() }

// operator does a restart step from the terminal.
type operator struct {
	env     Env
	cmd     string
	timeout time.Duration
	actor   string
	abort   context.CancelCauseFunc
	prompt  bool        // ask on stdin
	asking  atomic.Bool // a prompt or the command is on the terminal
	once    sync.Once
	lines   chan string // the operator's answers, read from stdin by one goroutine
}

func where(req runner.RestartRequest) string {
	s := fmt.Sprintf("step %d of %s on %s", req.Step, req.Scenario, req.Target)
	if req.Side != "" {
		s += fmt.Sprintf(" (%s, repetition %d)", req.Side, req.Repetition)
	} else {
		s += fmt.Sprintf(" (repetition %d)", req.Repetition)
	}
	return s
}

// ask prompts on stderr and waits for Enter (confirmed), abort (the run is aborted), the
// timeout or the end of stdin (the step faults).
func (o *operator) ask(ctx context.Context, req runner.RestartRequest) (runner.RestartConfirmation, error) {
	o.asking.Store(true)
	defer o.asking.Store(false)
	o.once.Do(func() {
		o.lines = make(chan string)
		go func() {
			sc := bufio.NewScanner(o.env.Stdin)
			for sc.Scan() {
				o.lines <- sc.Text()
			}
			close(o.lines)
		}()
	})
	tm := time.NewTimer(o.timeout)
	defer tm.Stop()
	fmt.Fprintf(o.env.Stderr, "\n%s:\nRestart the controller now, then press Enter (or type abort) [%s to answer]: ", where(req), o.timeout)
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(o.env.Stderr)
			return runner.RestartConfirmation{}, context.Cause(ctx)
		case <-tm.C:
			fmt.Fprintln(o.env.Stderr)
			return runner.RestartConfirmation{}, fmt.Errorf("no answer at the restart prompt within %s (--restart-timeout)", o.timeout)
		case line, ok := <-o.lines:
			switch answer := strings.ToLower(strings.TrimSpace(line)); {
			case !ok:
				fmt.Fprintln(o.env.Stderr)
				return runner.RestartConfirmation{}, errors.New("stdin ended before the operator answered the restart prompt")
			case answer == "":
				fmt.Fprintln(o.env.Stderr, "waiting for the controller to come back…")
				return runner.RestartConfirmation{By: o.actor, How: "operator at the terminal"}, nil
			case answer == "abort":
				o.abort(errOperatorAbort)
				return runner.RestartConfirmation{}, errOperatorAbort
			default:
				fmt.Fprintf(o.env.Stderr, "%q: press Enter once the controller restarts, or type abort: ", line)
			}
		}
	}
}

// command runs --restart-cmd through the shell, its output echoed and recorded; a non-zero
// exit, or no end within the timeout, faults the step. The command learns the target, the
// side and the step from PATCHGATE_TARGET, PATCHGATE_SIDE and PATCHGATE_STEP.
func (o *operator) command(ctx context.Context, req runner.RestartRequest) (runner.RestartConfirmation, error) {
	o.asking.Store(true)
	defer o.asking.Store(false)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	fmt.Fprintf(o.env.Stderr, "\n%s: restarting the controller: %s\n", where(req), o.cmd)
	shell, flag := "/bin/sh", "-c"
	if runtime.GOOS == "windows" {
		shell, flag = "cmd", "/C"
	}
	c := exec.CommandContext(ctx, shell, flag, o.cmd)
	c.Env = append(os.Environ(), "PATCHGATE_TARGET="+req.Target.String(), "PATCHGATE_SIDE="+req.Side, fmt.Sprintf("PATCHGATE_STEP=%d", req.Step))
	c.WaitDelay = time.Second // a child left holding the output does not hold the run
	var out strings.Builder
	c.Stdout = io.MultiWriter(&out, o.env.Stderr)
	c.Stderr = c.Stdout
	err := c.Run()
	text := strings.TrimSpace(out.String())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return runner.RestartConfirmation{}, fmt.Errorf("restart command %q: no end within %s (--restart-timeout)", o.cmd, o.timeout)
	case ctx.Err() != nil:
		return runner.RestartConfirmation{}, context.Cause(ctx)
	case errors.As(err, &ee):
		msg := fmt.Sprintf("restart command %q exited with status %d", o.cmd, ee.ExitCode())
		if text != "" {
			msg += ": " + lastLine(text)
		}
		return runner.RestartConfirmation{}, errors.New(msg)
	case err != nil:
		return runner.RestartConfirmation{}, fmt.Errorf("restart command %q: %w", o.cmd, err)
	}
	return runner.RestartConfirmation{By: o.actor, How: fmt.Sprintf("command %q, exit status 0", o.cmd), Output: text}, nil
}

// lastLine is the last line of a command's output, which usually says why it failed.
func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
