// Package gui is the desktop face of patchgate: one constructor per tab (Bench, Scenarios,
// Validate, Register, Settings) over a workspace.Workspace, the engine side that knows
// nothing of Fyne. Each tab's state is a small struct whose methods are its event handlers.
//
// Threads: widgets are touched only on the Fyne goroutine. Work that takes time (a
// validation, the Bench poller, exporting a bundle) runs in a goroutine of its own and hands
// its results back through UI.do, which is fyne.Do in the app (tests replace it with a
// queue they drain, so that they too touch widgets from one goroutine only).
package gui

import (
	"context"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"

	"github.com/patchgate/patchgate/app/gui/workspace"
)

// UI is the desktop app's window content over one workspace.
type UI struct {
	app fyne.App
	win fyne.Window
	ws  *workspace.Workspace
	do  func(func()) // runs a function on the Fyne goroutine

	ctx    context.Context // cancelled by Close: stops the pollers and aborts a validation
	cancel context.CancelFunc
	wg     sync.WaitGroup

	Tabs     *container.AppTabs
	Bench    *benchView
	Scen     *scenariosView
	Validate *validateView
	Register *registerView
	Settings *settingsView
}

// New builds the tabs of the app over ws, in win (dialogs open there).
func New(a fyne.App, win fyne.Window, ws *workspace.Workspace) *UI {
	return newUI(a, win, ws, fyne.Do)
}

func newUI(a fyne.App, win fyne.Window, ws *workspace.Workspace, do func(func())) *UI {
	u := &UI{app: a, win: win, ws: ws, do: do}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.Bench = newBench(u)
	u.Scen = newScenarios(u)
	u.Validate = newValidate(u)
	u.Register = newRegister(u)
	u.Settings = newSettings(u)
	u.Tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Bench", theme.ComputerIcon(), u.Bench.content),
		container.NewTabItemWithIcon("Scenarios", theme.DocumentIcon(), u.Scen.content),
		container.NewTabItemWithIcon("Validate", theme.MediaPlayIcon(), u.Validate.content),
		container.NewTabItemWithIcon("Register", theme.ListIcon(), u.Register.content),
		container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), u.Settings.content),
	)
	u.Tabs.OnSelected = u.onTabSelected
	u.addShortcuts()
	return u
}

// Shortcuts, beside Tab and Shift+Tab, which move the focus through every control. Ctrl is
// Cmd on macOS. Abort works from any tab: stopping a test must never need the mouse.
var (
	ShortcutRun    = &desktop.CustomShortcut{KeyName: fyne.KeyR, Modifier: fyne.KeyModifierShortcutDefault}
	ShortcutAbort  = &desktop.CustomShortcut{KeyName: fyne.KeyPeriod, Modifier: fyne.KeyModifierShortcutDefault}
	ShortcutExport = &desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: fyne.KeyModifierShortcutDefault}
	tabKeys        = []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4, fyne.Key5}
)

// ShortcutTab is the shortcut of the i-th tab (0-based): Ctrl+1 to Ctrl+5.
func ShortcutTab(i int) *desktop.CustomShortcut {
	return &desktop.CustomShortcut{KeyName: tabKeys[i], Modifier: fyne.KeyModifierShortcutDefault}
}

func (u *UI) addShortcuts() {
	c := u.win.Canvas()
	for i := range u.Tabs.Items {
		c.AddShortcut(ShortcutTab(i), func(fyne.Shortcut) { u.Tabs.SelectIndex(i) })
	}
	v := u.Validate
	c.AddShortcut(ShortcutRun, func(fyne.Shortcut) {
		if !v.run.Disabled() {
			for _, t := range u.Tabs.Items {
				if t.Content == v.content {
					u.Tabs.Select(t)
				}
			}
			v.onRun()
		}
	})
	c.AddShortcut(ShortcutAbort, func(fyne.Shortcut) {
		if !v.abort.Disabled() {
			v.onAbort()
		}
	})
	c.AddShortcut(ShortcutSave, func(fyne.Shortcut) {
		if u.Tabs.Selected() != nil && u.Tabs.Selected().Content == u.Scen.content {
			u.Scen.onSave()
		}
	})
	c.AddShortcut(ShortcutExport, func(fyne.Shortcut) {
		if !v.export.Disabled() {
			v.onExport()
		}
	})
}

// Content is the window content.
func (u *UI) Content() fyne.CanvasObject { return u.Tabs }

// Start begins the background work (the Bench poller).
func (u *UI) Start() { u.Bench.start() }

// Close stops the background work and waits for it.
func (u *UI) Close() {
	u.cancel()
	u.wg.Wait()
}

// goWork runs f in a goroutine that Close waits for.
func (u *UI) goWork(f func(ctx context.Context)) {
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		f(u.ctx)
	}()
}

func (u *UI) onTabSelected(t *container.TabItem) {
	switch t.Text {
	case "Register":
		u.Register.reload()
	case "Validate":
		u.Validate.refreshTargets() // targets added on the Bench tab since
	case "Settings":
		u.Settings.refresh() // the key may have been made by an export since
	}
}
