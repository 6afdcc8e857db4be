// Command patchgate is the headless face of patchgate: simulators, runs and validations from
// a terminal or a CI pipeline. It builds without the X11/GL headers.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/patchgate/patchgate/app/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	interactive := false
	if fi, err := os.Stderr.Stat(); err == nil {
		interactive = fi.Mode()&os.ModeCharDevice != 0
	}
	code := cli.Main(ctx, cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Interactive: interactive}, os.Args[1:])
	stop()
	os.Exit(code)
}
