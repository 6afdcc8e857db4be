package gui

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is the app icon (FyneApp.toml names the same file).
var Icon = fyne.NewStaticResource("icon.png", iconPNG)
