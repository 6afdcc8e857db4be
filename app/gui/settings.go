package gui

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
)

// settingsView is the Settings tab: theme and scale (applied at once), the workspace folder
// (used at the next start), the signing key folder (used by the next export) and the OPC UA
// trust folder (added to secure opc.tcp targets by Workspace.WithTrust) with the
// certificates in it. Every choice is stored in the app's preferences (app ID
// io.patchgate.desktop) and restored at start-up: ApplyStoredTheme, StoredConfig.
type settingsView struct {
	ui      *UI
	content fyne.CanvasObject
	prefs   fyne.Preferences

	theme *widget.RadioGroup
	scale *widget.Select

	wsNext                          *widget.Label // the workspace folder of the next start
	chooseWorkspace, resetWorkspace *widget.Button

	registerURL                  *widget.Entry // the shared register of the next start
	registerNext, registerErr    *widget.Label
	useRegister, unshareRegister *widget.Button

	keyDir              *widget.Label
	keyInfo             *widget.Label // the key's fingerprint, or why there is none
	keyErr              *widget.Label // why a chosen folder was refused
	chooseKey, resetKey *widget.Button

	trustDir                *widget.Label
	trustHow                *widget.Label
	chooseTrust, resetTrust *widget.Button
	reload                  *widget.Button // reads the key and trust folders again
	certs                   []workspace.TrustedCert
	certsNote               *widget.Label
	certBox                 *fyne.Container
}

// Theme choices (the radio's labels).
const (
	themeSystem = "System"
	themeLight  = "Light"
	themeDark   = "Dark"
)

// Preference keys of the Settings tab.
const (
	prefTheme     = "theme"     // "system", "light" or "dark"
	prefScale     = "scale"     // float: the theme's sizes are multiplied by it
	prefWorkspace = "workspace" // workspace folder of the next start; "" the default
	prefKeyDir    = "keyDir"    // signing key folder; "" the workspace's keys/
	prefTrustDir  = "trustDir"  // OPC UA trust folder; "" the driver's default
	prefRegister  = "register"  // shared register URL of the next start; "" the workspace's
)

// scales are the Scale choices; 1 is the toolkit's own size.
var scales = []float32{0.8, 1, 1.25, 1.5, 2}

func scaleLabel(s float32) string { return fmt.Sprintf("%.0f %%", s*100) }

// storedTheme is the stored theme choice, one of the radio's labels.
func storedTheme(p fyne.Preferences) string {
	s := p.String(prefTheme)
	for _, t := range []string{themeLight, themeDark} {
		if strings.EqualFold(s, t) {
			return t
		}
	}
	return themeSystem
}

// storedScale is the stored scale, 1 when none is stored or it is not one of scales.
func storedScale(p fyne.Preferences) float32 {
	f := p.FloatWithFallback(prefScale, 1)
	for _, s := range scales {
		if math.Abs(f-float64(s)) < 1e-3 {
			return s
		}
	}
	return 1
}

// appTheme is the default theme held in the chosen variant (System follows the system) with
// every size multiplied by scale.
func appTheme(name string, scale float32) fyne.Theme {
	t := theme.DefaultTheme()
	switch name {
	case themeLight:
		t = variantTheme{t, theme.VariantLight}
	case themeDark:
		t = variantTheme{t, theme.VariantDark}
	}
	if scale != 1 {
		t = scaledTheme{t, scale}
	}
	return t
}

// ApplyStoredTheme sets a's theme to the theme and scale stored by the Settings tab.
func ApplyStoredTheme(a fyne.App) {
	p := a.Preferences()
	a.Settings().SetTheme(appTheme(storedTheme(p), storedScale(p)))
}

// StoredConfig is the workspace configuration stored by the Settings tab: the workspace
// folder, the signing key folder and the OPC UA trust folder. dirFlag (the -workspace flag)
// wins over the stored workspace folder when not empty; stored reports that the folder is
// the stored one, so that an error opening it can say where it came from.
func StoredConfig(a fyne.App, dirFlag string) (cfg workspace.Config, stored bool) {
	p := a.Preferences()
	cfg = workspace.Config{Dir: dirFlag, KeyDir: p.String(prefKeyDir), TrustDir: p.String(prefTrustDir),
		Register: p.String(prefRegister)}
	if cfg.Dir == "" {
		cfg.Dir = p.String(prefWorkspace)
		stored = cfg.Dir != ""
	}
	return cfg, stored
}

func newSettings(u *UI) *settingsView {
	v := &settingsView{ui: u, prefs: u.app.Preferences()}

	// the selections are set before the handlers, which store them
	v.theme = widget.NewRadioGroup([]string{themeSystem, themeLight, themeDark}, nil)
	v.theme.Horizontal = true
	v.theme.Required = true
	v.theme.Selected = storedTheme(v.prefs)
	v.theme.OnChanged = v.onThemeChanged
	var opts []string
	for _, s := range scales {
		opts = append(opts, scaleLabel(s))
	}
	v.scale = widget.NewSelect(opts, nil)
	v.scale.Selected = scaleLabel(storedScale(v.prefs))
	v.scale.OnChanged = v.onScaleChanged
	v.applyTheme()

	inUse := wrapped(u.ws.Dir)
	register := wrapped(u.ws.RegisterName())
	v.wsNext = wrapped("")
	v.chooseWorkspace = widget.NewButtonWithIcon("Choose folder…", theme.FolderOpenIcon(), func() {
		v.chooseFolder(v.nextWorkspace(), v.onWorkspaceChosen)
	})
	v.resetWorkspace = widget.NewButton("Use default", func() { v.onWorkspaceChosen("") })

	v.registerURL = widget.NewEntry()
	v.registerURL.SetPlaceHolder("postgres://USER@HOST/DB")
	v.registerURL.SetText(v.prefs.String(prefRegister))
	v.registerNext = wrapped("")
	v.registerErr = wrapped("")
	v.registerErr.Importance = widget.DangerImportance
	v.registerErr.Hide()
	v.useRegister = widget.NewButton("Use at next start", func() { v.onRegisterChosen(v.registerURL.Text) })
	v.unshareRegister = widget.NewButton("Use the workspace's", func() { v.onRegisterChosen("") })

	v.keyDir = wrapped("")
	v.keyInfo = wrapped("")
	v.keyErr = wrapped("")
	v.keyErr.Importance = widget.DangerImportance
	v.keyErr.Hide()
	v.chooseKey = widget.NewButtonWithIcon("Choose folder…", theme.FolderOpenIcon(), func() {
		v.chooseFolder(v.ui.ws.KeyDir(), v.onKeyDirChosen)
	})
	v.resetKey = widget.NewButton("Use default", func() { v.onKeyDirChosen("") })

	v.trustDir = wrapped("")
	v.trustHow = wrapped("")
	v.chooseTrust = widget.NewButtonWithIcon("Choose folder…", theme.FolderOpenIcon(), func() {
		dir, _, _ := v.ui.ws.TrustDir()
		v.chooseFolder(dir, v.onTrustDirChosen)
	})
	v.resetTrust = widget.NewButton("Use default", func() { v.onTrustDirChosen("") })
	v.reload = widget.NewButtonWithIcon("Reload", theme.ViewRefreshIcon(), v.refresh)
	v.certsNote = wrapped("")
	v.certBox = container.NewVBox()

	row := func(l *widget.Label, b ...fyne.CanvasObject) fyne.CanvasObject {
		return container.NewBorder(nil, nil, nil, container.NewHBox(b...), l)
	}
	appearance := widget.NewForm(
		widget.NewFormItem("Theme", v.theme),
		widget.NewFormItem("Scale", container.NewBorder(nil, nil, v.scale, nil,
			hint("Text, icons and spacing, for high-DPI screens; applies at once."))),
	)
	work := widget.NewForm(
		widget.NewFormItem("In use", inUse),
		widget.NewFormItem("Register", register),
		widget.NewFormItem("At next start", container.NewVBox(
			row(v.wsNext, v.chooseWorkspace, v.resetWorkspace),
			hint("Another folder takes effect when patchgate-desktop starts again; starting it with -workspace DIR overrides it."))),
		widget.NewFormItem("Shared register", container.NewVBox(
			container.NewBorder(nil, nil, nil, container.NewHBox(v.useRegister, v.unshareRegister), v.registerURL),
			v.registerNext, v.registerErr,
			hint("A lab's PostgreSQL register: patches, validations, sign-offs and the audit trail go there, the runs stay in the workspace. "+
				"Takes effect at the next start. Keep the password in ~/.pgpass, not in the URL."))),
	)
	key := widget.NewForm(
		widget.NewFormItem("Folder", container.NewVBox(
			row(v.keyDir, v.chooseKey, v.resetKey),
			hint("Evidence bundles exported from the Validate tab are signed with key.pem in this folder."))),
		widget.NewFormItem("Fingerprint", container.NewVBox(v.keyInfo, v.keyErr)),
	)
	trust := widget.NewForm(
		widget.NewFormItem("Trusted folder", row(v.trustDir, v.chooseTrust, v.resetTrust)),
		widget.NewFormItem("How it is used", v.trustHow),
	)
	certsHead := container.NewBorder(nil, nil, heading("Trusted server certificates"), v.reload)

	v.content = container.NewVScroll(container.NewVBox(
		heading("Appearance"), appearance, widget.NewSeparator(),
		heading("Workspace"), work, widget.NewSeparator(),
		heading("Signing key"), key, widget.NewSeparator(),
		heading("OPC UA trust store"), trust,
		certsHead, v.certsNote, v.certBox,
	))
	v.refresh()
	return v
}

// refresh reads the folders again: the stored workspace folder, the key, the trust folder.
func (v *settingsView) refresh() {
	v.refreshWorkspace()
	v.refreshRegister()
	v.refreshKey()
	v.refreshTrust()
}

func wrapped(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// hint is a note under or beside a setting, in the theme's caption size (a FormItem's
// HintText keeps the size it was made with when the scale changes).
func hint(s string) *widget.Label {
	l := wrapped(s)
	l.SizeName = theme.SizeNameCaptionText
	return l
}

func heading(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// chooseFolder opens a folder dialog at dir (when it exists) and hands the chosen folder to
// chosen.
func (v *settingsView) chooseFolder(dir string, chosen func(string)) {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			dialog.ShowError(err, v.ui.win)
			return
		}
		if u == nil {
			return // cancelled
		}
		chosen(u.Path())
	}, v.ui.win)
	if dir != "" {
		if l, err := storage.ListerForURI(storage.NewFileURI(dir)); err == nil {
			d.SetLocation(l)
		}
	}
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

func (v *settingsView) applyTheme() {
	v.ui.app.Settings().SetTheme(appTheme(v.theme.Selected, v.selectedScale()))
}

func (v *settingsView) selectedScale() float32 {
	for _, s := range scales {
		if scaleLabel(s) == v.scale.Selected {
			return s
		}
	}
	return 1
}

func (v *settingsView) onThemeChanged(s string) {
	v.prefs.SetString(prefTheme, strings.ToLower(s))
	v.applyTheme()
}

func (v *settingsView) onScaleChanged(string) {
	v.prefs.SetFloat(prefScale, float64(v.selectedScale()))
	v.applyTheme()
}

// nextWorkspace is the workspace folder of the next start (without -workspace).
func (v *settingsView) nextWorkspace() string {
	if d := v.prefs.String(prefWorkspace); d != "" {
		return d
	}
	d, _ := workspace.DefaultDir()
	return d
}

// onRegisterChosen stores u as the shared register of the next start; "" is the
// workspace's own register.
func (v *settingsView) onRegisterChosen(u string) {
	u = strings.TrimSpace(u)
	if u != "" && !workspace.IsRegisterURL(u) {
		v.registerErr.SetText(fmt.Sprintf("%q is not a PostgreSQL URL: expected postgres://USER@HOST/DB", u))
		v.registerErr.Show()
		return
	}
	v.registerErr.Hide()
	v.prefs.SetString(prefRegister, u)
	v.registerURL.SetText(u)
	v.refreshRegister()
}

func (v *settingsView) refreshRegister() {
	next := v.prefs.String(prefRegister)
	switch {
	case next == "" && !v.ui.ws.Shared():
		v.registerNext.SetText("At next start: the register in the workspace (in use)")
	case next == "":
		v.registerNext.SetText("At next start: the register in the workspace")
	case next == v.ui.ws.RegisterURL():
		v.registerNext.SetText("At next start: " + workspace.RedactURL(next) + " (in use)")
	default:
		v.registerNext.SetText("At next start: " + workspace.RedactURL(next))
	}
}

// onWorkspaceChosen stores dir as the workspace folder of the next start; "" is the default.
func (v *settingsView) onWorkspaceChosen(dir string) {
	v.prefs.SetString(prefWorkspace, dir)
	v.refreshWorkspace()
}

func (v *settingsView) refreshWorkspace() {
	dir := v.nextWorkspace()
	next := dir
	stored := v.prefs.String(prefWorkspace) != ""
	if !stored {
		next += " (default)"
	}
	if filepath.Clean(dir) == filepath.Clean(v.ui.ws.Dir) {
		next += ", the folder in use"
	}
	v.wsNext.SetText(next)
	if stored {
		v.resetWorkspace.Enable()
	} else {
		v.resetWorkspace.Disable()
	}
}

// defaultKeyDir is the workspace's own key folder, keys/.
func (v *settingsView) defaultKeyDir() string { return filepath.Join(v.ui.ws.Dir, "keys") }

// onKeyDirChosen makes dir the signing key folder ("" the workspace's keys/) when it holds a
// usable key; otherwise it says why and leaves the key folder as it was.
func (v *settingsView) onKeyDirChosen(dir string) {
	if dir != "" && filepath.Clean(dir) == v.defaultKeyDir() {
		dir = ""
	}
	if dir != "" {
		if _, err := workspace.InspectKey(dir); err != nil {
			msg := err.Error()
			if errors.Is(err, workspace.ErrNoKey) {
				msg = fmt.Sprintf("%s holds no signing key (no key.pem): choose the folder that holds key.pem and pub.pem", dir)
			}
			v.keyErr.SetText(msg + ". The signing key is unchanged.")
			v.keyErr.Show()
			return
		}
	}
	v.keyErr.SetText("")
	v.keyErr.Hide()
	v.ui.ws.SetKeyDir(dir)
	v.prefs.SetString(prefKeyDir, dir)
	v.refreshKey()
}

func (v *settingsView) refreshKey() {
	dir := v.ui.ws.KeyDir()
	v.keyDir.SetText(dir)
	k, err := v.ui.ws.Key()
	switch {
	case err == nil:
		v.keyInfo.SetText(k.Fingerprint + "   (public key to hand to whoever checks bundles: " + k.PubFile + ")")
		v.keyInfo.Importance = widget.MediumImportance
	case errors.Is(err, workspace.ErrNoKey) && filepath.Clean(dir) == v.defaultKeyDir():
		v.keyInfo.SetText("No key yet: the first export makes one in this folder.")
		v.keyInfo.Importance = widget.LowImportance
	case errors.Is(err, workspace.ErrNoKey):
		v.keyInfo.SetText("No key.pem in this folder any more: the next export makes a new key, with another fingerprint.")
		v.keyInfo.Importance = widget.DangerImportance
	default:
		v.keyInfo.SetText(err.Error())
		v.keyInfo.Importance = widget.DangerImportance
	}
	v.keyInfo.Refresh()
	v.resetKey.Disable()
	if filepath.Clean(dir) != v.defaultKeyDir() {
		v.resetKey.Enable()
	}
}

// onTrustDirChosen makes dir the trust folder of secure OPC UA targets that name none; ""
// is the driver's default.
func (v *settingsView) onTrustDirChosen(dir string) {
	v.ui.ws.SetTrustDir(dir)
	v.prefs.SetString(prefTrustDir, dir)
	v.refreshTrust()
}

func (v *settingsView) refreshTrust() {
	dir, custom, err := v.ui.ws.TrustDir()
	v.certBox.RemoveAll()
	v.certs = nil
	if err != nil {
		v.trustDir.SetText("none: " + err.Error())
		v.trustHow.SetText("Choose a folder, or name one in each target with trust=DIR.")
		v.certsNote.SetText("")
		return
	}
	if custom {
		v.trustDir.SetText(dir)
		v.resetTrust.Enable()
	} else {
		v.trustDir.SetText(dir + " (the driver's default)")
		v.resetTrust.Disable()
	}
	rejected := filepath.Join(filepath.Dir(dir), "rejected")
	how := "A secure opc.tcp:// target (security=Basic256Sha256) connects only to a server whose " +
		"certificate is in this folder; a target that names its own folder with trust=DIR uses that one. " +
		"A refused server certificate is saved in " + rejected + ": check its thumbprint with the device's owner, " +
		"then move the file here to trust it. security=None targets (the embedded stations) use no trust store."
	if custom {
		how += " Targets that name no trust= get trust=" + dir + " added."
	}
	v.trustHow.SetText(how)

	certs, err := workspace.TrustedCerts(dir)
	v.certs = certs
	switch {
	case err != nil:
		v.certsNote.SetText(err.Error())
		v.certsNote.Importance = widget.DangerImportance
	case len(certs) == 0:
		v.certsNote.SetText("None yet: no OPC UA server is trusted.")
		v.certsNote.Importance = widget.LowImportance
	default:
		v.certsNote.SetText(fmt.Sprintf("%d in the folder (SHA-1 thumbprint, as UaExpert shows it):", len(certs)))
		v.certsNote.Importance = widget.MediumImportance
	}
	v.certsNote.Refresh()
	for _, c := range certs {
		v.certBox.Add(certRow(c))
	}
}

// certRow is one certificate of the trust folder: its file name, then its subject and
// SHA-1 thumbprint (or why the driver passes over the file).
func certRow(c workspace.TrustedCert) fyne.CanvasObject {
	file := widget.NewLabelWithStyle(c.File, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	file.Wrapping = fyne.TextWrapBreak
	detail := wrapped("")
	switch {
	case c.Err != "":
		detail.SetText(c.Err)
		detail.Importance = widget.DangerImportance
	default:
		detail.SetText(c.Subject + "    SHA-1 " + c.SHA1)
	}
	return container.NewVBox(file, detail)
}

// variantTheme is a theme held in one variant, whatever the system prefers.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// scaledTheme is a theme with every size (text, icons, padding) multiplied by scale.
type scaledTheme struct {
	fyne.Theme
	scale float32
}

func (t scaledTheme) Size(n fyne.ThemeSizeName) float32 { return t.Theme.Size(n) * t.scale }

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }
