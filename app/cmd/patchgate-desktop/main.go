// Command patchgate-desktop is the desktop face of patchgate: it opens the workspace (the
// register, the embedded simulated controllers, the shipped scenarios) and the window. All
// UI is in package gui; this file only wires things together. Build it with
// -tags migrated_fynedo (FyneApp.toml [Migrations] fyneDo = true).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/patchgate/patchgate/app/gui"
	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/simulators/simopt"
)

func main() {
	dir := flag.String("workspace", "", "workspace folder (default: the one chosen in Settings, else user config dir/patchgate/workspace)")
	after := flag.String("after", "alarm-shift", "firmware profile of the embedded patched tank")
	start := flag.String("start", "default", "where the embedded tanks start: "+simopt.StartWords+"; random starts each tank in its own random state")
	scan := flag.String("scan", "", "scan period of the embedded tanks instead of 10ms, such as 50ms (1ms to 5s)")
	flag.Parse()
	st, err := simopt.ParseStart(*start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "patchgate-desktop: -start:", err)
		os.Exit(2)
	}
	var period time.Duration
	if *scan != "" {
		if period, err = simopt.ParseScan(*scan); err != nil {
			fmt.Fprintln(os.Stderr, "patchgate-desktop: -scan:", err)
			os.Exit(2)
		}
	}
	// gopcua's server writes start-up chatter to the standard logger
	log.SetOutput(io.Discard)

	a := app.NewWithID("io.patchgate.desktop")
	// the Settings tab's choices: theme and scale, and the folders (-workspace wins)
	gui.ApplyStoredTheme(a)
	cfg, stored := gui.StoredConfig(a, *dir)
	cfg.After, cfg.Start, cfg.Scan = *after, st, period
	ws, err := workspace.Open(context.Background(), cfg)
	if err != nil {
		if stored {
			err = fmt.Errorf("%w (the workspace folder chosen in Settings; start with -workspace DIR to open another)", err)
		}
		fmt.Fprintln(os.Stderr, "patchgate-desktop:", err)
		os.Exit(1)
	}
	a.SetIcon(gui.Icon)
	w := a.NewWindow("patchgate")
	ui := gui.New(a, w, ws)
	w.SetContent(ui.Content())
	w.Resize(fyne.NewSize(1200, 800))
	ui.Start()
	w.ShowAndRun()
	ui.Close()
	ws.Close()
}
