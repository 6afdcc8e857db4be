// Package cli is patchgate's command-line face: flags, output and exit codes. It drives the
// engine and the simulators and knows nothing of the desktop app.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit codes shared by every command.
const (
	ExitOK       = 0
	ExitNoGo     = 1 // validate: NO-GO
	ExitBadInput = 2 // bad flags, files or URLs
	ExitFault    = 3 // run fault, aborted, or INCONCLUSIVE
)

// Version is set at build time (-ldflags "-X .../app/cli.Version=...").
var Version = "0.1.0-dev"

// usageError marks errors that are the caller's input.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Env is what a command may touch.
type Env struct {
	Stdout      io.Writer
	Stderr      io.Writer
	Interactive bool // stderr is a terminal: draw progress bars
	// Now is the clock of what commands record (a validation's decided time); nil:
	// time.Now. Tests set it.
	Now func() time.Time
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"sim", "run a simulated controller (Modbus TCP and OPC UA) until interrupted", runSim},
		{"run", "run a scenario against a target and record the trace", runRun},
		{"validate", "run a scenario before and after a patch, compare, decide GO / NO-GO / INCONCLUSIVE", runValidate},
		{"runs", "list stored runs", runRuns},
		{"study", "measure detection quality: validate every firmware profile over many seeds (simulated time)", runStudy},
		{"export", "write a stored run as CSV or JSON", runExport},
		{"import", "convert a telegraf configuration (modbus and opcua inputs) into point maps", runImport},
		{"register", "the patch register: add, list, show, state, signoff, verify the audit trail", runRegister},
		{"verify", "check an evidence bundle offline", runVerify},
		{"demo", "run a baseline and a patched simulated tank side by side", runDemo},
		{"version", "print the version", func(_ context.Context, env Env, _ []string) error {
			fmt.Fprintln(env.Stdout, "patchgate", Version)
			return nil
		}},
	}
}

// Main runs one command line and returns the process exit code.
func Main(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return ExitBadInput
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		if err == nil {
			return ExitOK
		}
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		if !errors.As(err, new(silent)) {
			fmt.Fprintf(env.Stderr, "patchgate %s: %v\n", c.name, err)
		}
		var ue usageError
		if errors.As(err, &ue) {
			return ExitBadInput
		}
		var ce codeError
		if errors.As(err, &ce) {
			return ce.code
		}
		return ExitFault
	}
	fmt.Fprintf(env.Stderr, "patchgate: unknown command %q\n", args[0])
	usage(env.Stderr)
	return ExitBadInput
}

// codeError carries a specific exit code.
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string { return e.err.Error() }
func (e codeError) Unwrap() error { return e.err }

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("patchgate: test-lab harness for OT patch validation\n\nusage: patchgate COMMAND [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\n'patchgate COMMAND -h' shows a command's flags.\n")
	io.WriteString(w, b.String())
}

// newFlags makes a FlagSet whose errors come back as usage errors, not exits.
func newFlags(env Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("patchgate "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return badInput("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
