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

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/validation"
)

// Exit codes shared by every command; exitCode chooses one for a command's error.
const (
	ExitOK           = 0 // GO; the command completed
	ExitNoGo         = 1 // NO-GO; a check that failed: verify refused a bundle, the audit chain is broken, the study is below its bar
	ExitBadInput     = 2 // the caller's input: flags, files, URLs, an unknown model or patch; nothing ran
	ExitInconclusive = 3 // INCONCLUSIVE: no decision (a criterion could not be judged, or the run was interrupted)
	ExitFault        = 4 // a tool, connection or target error: refused connection, lost controller, unwritable file
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
	// Stdin is where a restart step's prompt reads the operator's answer; StdinTerminal
	// says it is a terminal (IsTerminal), so the prompt is shown without --restart-prompt.
	Stdin         io.Reader
	StdinTerminal bool
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
		{"discover", "find a controller's points, read-only, and write them as a point map", runDiscover},
		{"import", "convert a telegraf configuration (modbus and opcua inputs) into point maps", runImport},
		{"new", "write a starter scenario from a point map: every tag read, nothing written", runNew},
		{"register", "the patch register: add, list, show, state, signoff, export with sign-offs, verify the audit trail", runRegister},
		{"verify", "check an evidence bundle offline", runVerify},
		{"trust", "OPC UA server certificates: list trusted and refused ones, trust or remove one", runTrust},
		{"demo", "run a baseline and a patched simulated tank side by side", runDemo},
		{"version", "print the version (also --version)", runVersion},
	}
}

// Main runs one command line and returns the process exit code.
func Main(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitBadInput
	}
	switch args[0] {
	case "-h", "--help":
		usage(env.Stdout)
		return ExitOK
	case "--version", "-version":
		args = []string{"version"}
	case "help":
		if len(args) == 1 {
			usage(env.Stdout)
			return ExitOK
		}
		args = []string{args[1], "-h"} // the command prints its own help, flags included
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.As(err, new(silent)) {
			fmt.Fprintf(env.Stderr, "patchgate %s: %v\n", c.name, err)
		}
		return exitCode(err)
	}
	fmt.Fprintf(env.Stderr, "patchgate: unknown command %q\n", args[0])
	usage(env.Stderr)
	return ExitBadInput
}

// exitCode is the one place an error becomes an exit code. A command marks what only it
// knows (a verdict, a refused bundle) with codeError and the caller's mistakes with
// usageError; the engine's errors are classified by their sentinels.
func exitCode(err error) int {
	var ce codeError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, new(usageError)), errors.Is(err, validation.ErrBadInput),
		errors.Is(err, driver.ErrBadTarget), errors.Is(err, runner.ErrNotArmed):
		return ExitBadInput
	case errors.Is(err, validation.ErrAborted), errors.Is(err, runner.ErrAborted),
		errors.Is(err, context.Canceled):
		return ExitInconclusive
	}
	return ExitFault
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
	b.WriteString("\nexit codes:\n" + exitCodesText)
	b.WriteString("\n'patchgate help COMMAND' or 'patchgate COMMAND -h' shows a command's usage, flags, examples and exit codes.\n")
	io.WriteString(w, b.String())
}

// exitCodesText is the exit-code table of the usage text and the README.
const exitCodesText = `  0  GO; the command completed
  1  NO-GO; a failed check (verify refused the bundle or its signer, a broken audit chain)
  2  bad input: flags, files, URLs, an unknown model or patch; nothing ran
  3  INCONCLUSIVE: no decision, or interrupted
  4  tool, connection or target error (connection refused, controller lost, file not writable)
`

// newFlags makes a FlagSet whose errors come back as usage errors, not exits; -h prints
// the command's help (help.go) on stdout.
func newFlags(env Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("patchgate "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Main prints the error once; printHelp prints the flags
	fs.Usage = func() {}
	return fs
}

// flagError turns a flag.Parse error into the command's error: -h prints the help.
func flagError(fs *flag.FlagSet, env Env, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		printHelp(env.Stdout, strings.TrimPrefix(fs.Name(), "patchgate "), fs)
		return err
	}
	return usageError{fmt.Errorf("%w ('patchgate help %s' lists the flags)", err, strings.TrimPrefix(fs.Name(), "patchgate "))}
}

func parseFlags(fs *flag.FlagSet, env Env, args []string) error {
	if err := fs.Parse(args); err != nil {
		return flagError(fs, env, err)
	}
	if fs.NArg() > 0 {
		return badInput("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
