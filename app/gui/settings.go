package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// settingsView is the Settings tab: the workspace folder and the theme.
type settingsView struct {
	ui      *UI
	content fyne.CanvasObject
	theme   *widget.RadioGroup
}

const (
	themeSystem = "System"
	themeLight  = "Light"
	themeDark   = "Dark"
)

func newSettings(u *UI) *settingsView {
	v := &settingsView{ui: u}
	dir := widget.NewLabel(u.ws.Dir)
	dir.Wrapping = fyne.TextWrapBreak
	keys := widget.NewLabel(u.ws.KeyDir())
	keys.Wrapping = fyne.TextWrapBreak
	v.theme = widget.NewRadioGroup([]string{themeSystem, themeLight, themeDark}, v.onThemeChanged)
	v.theme.Horizontal = true
	v.theme.SetSelected(themeSystem)
	form := widget.NewForm(
		widget.NewFormItem("Workspace folder", dir),
		widget.NewFormItem("Register", widget.NewLabel(u.ws.DB.Path())),
		widget.NewFormItem("Signing key", keys),
		widget.NewFormItem("Theme", v.theme),
	)
	note := widget.NewLabel("Another workspace folder: start patchgate-desktop with -workspace DIR.")
	v.content = container.NewVBox(form, note)
	return v
}

func (v *settingsView) onThemeChanged(s string) {
	switch s {
	case themeLight:
		v.ui.app.Settings().SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantLight})
	case themeDark:
		v.ui.app.Settings().SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantDark})
	default:
		v.ui.app.Settings().SetTheme(theme.DefaultTheme())
	}
}

// variantTheme is a theme held in one variant, whatever the system prefers.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }
