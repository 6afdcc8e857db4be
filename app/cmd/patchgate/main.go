// Command patchgate is the headless face of patchgate: simulators, runs and validations from
// a terminal or a CI pipeline. It builds without the X11/GL headers.
package main

import (
	"context"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/patchgate/patchgate/app/cli"
)

func main() {
	// gopcua's server writes start-up chatter to the standard logger; our output is our own
	log.SetOutput(io.Discard)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Interactive: cli.IsTerminal(os.Stderr),
		Stdin: os.Stdin, StdinTerminal: cli.IsTerminal(os.Stdin)}, os.Args[1:])
	stop()
	os.Exit(code)
}
