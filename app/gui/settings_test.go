package gui

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/bundle"
)

func TestAppThemeScalesAndHoldsVariant(t *testing.T) {
	def := theme.DefaultTheme()
	for _, c := range []struct {
		name    string
		scale   float32
		variant fyne.ThemeVariant // the variant the colours must be, whatever the system asks
		follows bool              // System: the colours follow the asked variant
	}{
		{themeSystem, 1, 0, true},
		{themeSystem, 2, 0, true},
		{themeLight, 1.25, theme.VariantLight, false},
		{themeDark, 0.8, theme.VariantDark, false},
		{themeDark, 1.5, theme.VariantDark, false},
	} {
		th := appTheme(c.name, c.scale)
		for _, n := range []fyne.ThemeSizeName{theme.SizeNameText, theme.SizeNamePadding, theme.SizeNameInlineIcon} {
			if got, want := th.Size(n), def.Size(n)*c.scale; got != want {
				t.Errorf("%s at %v: Size(%s) = %v, want %v", c.name, c.scale, n, got, want)
			}
		}
		for _, asked := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
			want := c.variant
			if c.follows {
				want = asked
			}
			got := th.Color(theme.ColorNameBackground, asked)
			if got != def.Color(theme.ColorNameBackground, want) {
				t.Errorf("%s at %v: background asked in variant %d = %v, want variant %d's", c.name, c.scale, asked, got, want)
			}
		}
	}
}

// keyFolder makes a folder holding a signing key and returns it with the key's fingerprint.
func keyFolder(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	key, _, err := bundle.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, bundle.Fingerprint(key.Public().(ed25519.PublicKey))
}

// TestSettingsStoredAndRestored: what the handlers store is what a fresh Settings view and
// the start-up (StoredConfig) read back, and theme and scale apply to the app at once.
func TestSettingsStoredAndRestored(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Settings
	if v.theme.Selected != themeSystem || v.scale.Selected != "100 %" {
		t.Fatalf("fresh preferences: theme %q, scale %q; want System, 100 %%", v.theme.Selected, v.scale.Selected)
	}
	nextWS := filepath.Join(t.TempDir(), "bench workspace")
	keys, fp := keyFolder(t)
	trust := t.TempDir()

	v.theme.SetSelected(themeDark)
	v.scale.SetSelected("150 %")
	v.onWorkspaceChosen(nextWS)
	v.onKeyDirChosen(keys)
	v.onTrustDirChosen(trust)

	th := h.ui.app.Settings().Theme()
	if got, want := th.Size(theme.SizeNameText), theme.DefaultTheme().Size(theme.SizeNameText)*1.5; got != want {
		t.Errorf("app theme text size %v, want %v", got, want)
	}
	if got, want := th.Color(theme.ColorNameBackground, theme.VariantLight), theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark); got != want {
		t.Errorf("app theme background %v, want the dark one %v", got, want)
	}
	if got := h.ws.KeyDir(); got != keys {
		t.Errorf("workspace key folder %q, want %q at once", got, keys)
	}
	if got, custom, _ := h.ws.TrustDir(); got != trust || !custom {
		t.Errorf("workspace trust folder %q (custom %v), want %q", got, custom, trust)
	}
	if got := h.ws.Dir; got == nextWS {
		t.Errorf("workspace folder switched live to %q; it is for the next start", got)
	}
	if !strings.Contains(v.wsNext.Text, nextWS) {
		t.Errorf("next workspace shows %q, want %q", v.wsNext.Text, nextWS)
	}
	if !strings.Contains(v.keyInfo.Text, fp) {
		t.Errorf("key shows %q, want fingerprint %s", v.keyInfo.Text, fp)
	}

	// a fresh view on the same app reads the stored choices back
	f := newSettings(h.ui)
	if f.theme.Selected != themeDark || f.scale.Selected != "150 %" {
		t.Errorf("fresh view: theme %q, scale %q; want Dark, 150 %%", f.theme.Selected, f.scale.Selected)
	}
	if !strings.HasPrefix(f.wsNext.Text, nextWS) || strings.Contains(f.wsNext.Text, "default") {
		t.Errorf("fresh view: next workspace %q, want %q", f.wsNext.Text, nextWS)
	}
	if f.keyDir.Text != keys || !strings.Contains(f.keyInfo.Text, fp) {
		t.Errorf("fresh view: key folder %q, key %q; want %q with %s", f.keyDir.Text, f.keyInfo.Text, keys, fp)
	}
	if f.trustDir.Text != trust {
		t.Errorf("fresh view: trust folder %q, want %q", f.trustDir.Text, trust)
	}

	// start-up: the stored folders, the -workspace flag winning over the stored one
	cfg, stored := StoredConfig(h.ui.app, "")
	if !stored || cfg.Dir != nextWS || cfg.KeyDir != keys || cfg.TrustDir != trust {
		t.Errorf("StoredConfig = %+v (stored %v), want %s, %s, %s", cfg, stored, nextWS, keys, trust)
	}
	if cfg, stored := StoredConfig(h.ui.app, "/flag/dir"); stored || cfg.Dir != "/flag/dir" || cfg.KeyDir != keys {
		t.Errorf("StoredConfig with -workspace = %+v (stored %v), want the flag's folder", cfg, stored)
	}
	// Use default forgets the choices
	test.Tap(v.resetWorkspace)
	test.Tap(v.resetKey)
	test.Tap(v.resetTrust)
	cfg, stored = StoredConfig(h.ui.app, "")
	if stored || cfg.Dir != "" || cfg.KeyDir != "" || cfg.TrustDir != "" {
		t.Errorf("after Use default: StoredConfig = %+v (stored %v), want nothing stored", cfg, stored)
	}
	if got, want := h.ws.KeyDir(), filepath.Join(h.ws.Dir, "keys"); got != want {
		t.Errorf("after Use default: key folder %q, want %q", got, want)
	}
}

func TestApplyStoredTheme(t *testing.T) {
	a := test.NewTempApp(t)
	a.Preferences().SetString(prefTheme, "light")
	a.Preferences().SetFloat(prefScale, 2)
	ApplyStoredTheme(a)
	th := a.Settings().Theme()
	if got, want := th.Size(theme.SizeNameText), theme.DefaultTheme().Size(theme.SizeNameText)*2; got != want {
		t.Errorf("text size %v, want %v", got, want)
	}
	if got, want := th.Color(theme.ColorNameBackground, theme.VariantDark), theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantLight); got != want {
		t.Errorf("background %v, want the light one %v", got, want)
	}
}

func TestSettingsStoredValuesOutOfRange(t *testing.T) {
	a := test.NewTempApp(t)
	a.Preferences().SetString(prefTheme, "purple")
	a.Preferences().SetFloat(prefScale, 7)
	if got := storedTheme(a.Preferences()); got != themeSystem {
		t.Errorf("theme %q, want System", got)
	}
	if got := storedScale(a.Preferences()); got != 1 {
		t.Errorf("scale %v, want 1", got)
	}
}

// TestSettingsKeyFolderWithoutKey: a folder without a usable key is refused with the reason,
// and the signing key stays what it was.
func TestSettingsKeyFolderWithoutKey(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Settings
	before := h.ws.KeyDir()
	if !strings.Contains(v.keyInfo.Text, "No key yet") {
		t.Errorf("a new workspace's key shows %q, want that the first export makes one", v.keyInfo.Text)
	}
	garbage := t.TempDir()
	if err := os.WriteFile(filepath.Join(garbage, bundle.PrivateKeyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, dir, want string }{
		{"empty folder", t.TempDir(), "holds no signing key"},
		{"not a key", garbage, "not usable"},
	} {
		v.onKeyDirChosen(c.dir)
		if !v.keyErr.Visible() || !strings.Contains(v.keyErr.Text, c.want) || !strings.Contains(v.keyErr.Text, c.dir) {
			t.Errorf("%s: error %q (shown %v), want it to name %s and say %q", c.name, v.keyErr.Text, v.keyErr.Visible(), c.dir, c.want)
		}
		if got := h.ws.KeyDir(); got != before {
			t.Errorf("%s: key folder changed to %q", c.name, got)
		}
		if got := h.ui.app.Preferences().String(prefKeyDir); got != "" {
			t.Errorf("%s: stored key folder %q", c.name, got)
		}
	}
	// the first export makes the key in the default folder; Reload shows it
	key, _, err := bundle.LoadOrCreateKey(before)
	if err != nil {
		t.Fatal(err)
	}
	test.Tap(v.reload)
	if fp := bundle.Fingerprint(key.Public().(ed25519.PublicKey)); !strings.Contains(v.keyInfo.Text, fp) {
		t.Errorf("after Reload the key shows %q, want fingerprint %s", v.keyInfo.Text, fp)
	}
	keys, fp := keyFolder(t)
	v.onKeyDirChosen(keys)
	if v.keyErr.Visible() || !strings.Contains(v.keyInfo.Text, fp) {
		t.Errorf("a folder with a key: error %q (shown %v), key %q", v.keyErr.Text, v.keyErr.Visible(), v.keyInfo.Text)
	}
}

func TestSettingsTrustedCertificates(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Settings
	dir := t.TempDir()
	v.onTrustDirChosen(dir)
	if len(v.certs) != 0 || !strings.Contains(v.certsNote.Text, "None yet") {
		t.Errorf("empty folder: %d certificates, note %q", len(v.certs), v.certsNote.Text)
	}
	der := selfSigned(t, "plc-7")
	if err := os.WriteFile(filepath.Join(dir, "plc-7.der"), der, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	test.Tap(v.reload)
	want, _ := workspace.TrustedCerts(dir)
	if len(v.certs) != 2 || len(v.certBox.Objects) != 2 || len(want) != 2 {
		t.Fatalf("%d certificates, %d rows; want 2", len(v.certs), len(v.certBox.Objects))
	}
	texts := func(o fyne.CanvasObject) string {
		var s []string
		for _, l := range o.(*fyne.Container).Objects {
			s = append(s, l.(*widget.Label).Text)
		}
		return strings.Join(s, " | ")
	}
	if got := texts(v.certBox.Objects[0]); !strings.Contains(got, "notes.txt") || !strings.Contains(got, "not a DER or PEM") {
		t.Errorf("row 0: %q", got)
	}
	if got := texts(v.certBox.Objects[1]); !strings.Contains(got, "plc-7.der") || !strings.Contains(got, "CN=plc-7") || !strings.Contains(got, want[1].SHA1) {
		t.Errorf("row 1: %q, want the file, subject and SHA-1 %s", got, want[1].SHA1)
	}
	if !strings.Contains(v.trustHow.Text, "trust=") || !strings.Contains(v.trustHow.Text, filepath.Join(filepath.Dir(dir), "rejected")) {
		t.Errorf("how: %q, want the trust= parameter and the rejected folder", v.trustHow.Text)
	}
}

func selfSigned(t *testing.T, cn string) []byte {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestSettingsSharedRegister: the shared register URL is checked, stored for the next
// start (StoredConfig), shown without its password, and forgotten by "Use the workspace's".
func TestSettingsSharedRegister(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Settings
	if !strings.Contains(v.registerNext.Text, "in the workspace (in use)") {
		t.Errorf("fresh: %q", v.registerNext.Text)
	}
	v.registerURL.SetText("mysql://lab/register")
	test.Tap(v.useRegister)
	if !v.registerErr.Visible() || !strings.Contains(v.registerErr.Text, "not a PostgreSQL URL") {
		t.Errorf("a MySQL URL: error %q (shown %v)", v.registerErr.Text, v.registerErr.Visible())
	}
	if cfg, _ := StoredConfig(h.ui.app, ""); cfg.Register != "" {
		t.Errorf("a refused URL was stored: %q", cfg.Register)
	}
	const u = "postgres://bench:secret@127.0.0.1:5432/register"
	v.registerURL.SetText(u)
	test.Tap(v.useRegister)
	if v.registerErr.Visible() || strings.Contains(v.registerNext.Text, "secret") || !strings.Contains(v.registerNext.Text, "127.0.0.1:5432/register") {
		t.Errorf("stored: next %q, error %q", v.registerNext.Text, v.registerErr.Text)
	}
	if cfg, _ := StoredConfig(h.ui.app, ""); cfg.Register != u {
		t.Errorf("StoredConfig.Register = %q, want %q", cfg.Register, u)
	}
	if f := newSettings(h.ui); f.registerURL.Text != u {
		t.Errorf("fresh view: %q", f.registerURL.Text)
	}
	test.Tap(v.unshareRegister)
	if cfg, _ := StoredConfig(h.ui.app, ""); cfg.Register != "" || v.registerURL.Text != "" {
		t.Errorf("after Use the workspace's: %q", cfg.Register)
	}
}
