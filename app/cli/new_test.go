package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewScenario writes the starter scenario of the shipped tank map into a folder laid out
// as a workspace (scenarios/ beside pointmaps/), as the golden says, and validates with it:
// the benign patch is GO.
func TestNewScenario(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"scenarios", "pointmaps"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	tank, _ := os.ReadFile("../../scenarios/pointmaps/tank.yaml")
	pm := filepath.Join(dir, "pointmaps", "tank.yaml")
	os.WriteFile(pm, tank, 0o644)
	out := filepath.Join(dir, "scenarios", "tank-soak-1m.yaml")
	stdout := mustCLI(t, ExitOK, "new", "scenario", "--from-map", pm, "-o", out)
	want := "wrote " + out + ": scenario tank-soak-1m reads the 15 tags of point map tank (points: ../pointmaps/tank.yaml); it writes nothing; scan period from ScanCount\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "new-scenario.golden", string(data))
	// to stdout, points: as given
	golden(t, "new-scenario-stdout.golden", mustCLI(t, ExitOK, "new", "scenario", "--from-map", "../../scenarios/pointmaps/conveyor.yaml"))
	mustCLI(t, ExitOK, "validate", "--fast", "--db", filepath.Join(dir, "v.db"), "--scenario", out,
		"--before", "sim://tank", "--after", "sim://tank?firmware=benign")

	// again: refused without --force, the file untouched; --force overwrites
	os.WriteFile(out, []byte("# mine\n"), 0o644)
	if code, _, errOut := runCLI(t, "new", "scenario", "--from-map", pm, "-o", out); code != ExitBadInput || !strings.Contains(errOut, "exists; use --force") {
		t.Errorf("over an existing file: exit %d, %q", code, errOut)
	}
	if b, _ := os.ReadFile(out); string(b) != "# mine\n" {
		t.Errorf("the existing file was changed: %q", b)
	}
	mustCLI(t, ExitOK, "new", "scenario", "--from-map", pm, "-o", out, "--force")
	if b, _ := os.ReadFile(out); string(b) != string(data) {
		t.Error("--force did not write the starter")
	}
}

// TestNewScenarioBadInput: each mistake exits 2 with what was wrong; a folder that cannot
// be written exits 4.
func TestNewScenarioBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nname: x\npoints:\n  - tag: Level\n    type: flaot32\n    modbus: {register: input, address: 0}\n"), 0o644)
	tank := "../../scenarios/pointmaps/tank.yaml"
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"new"}, ExitBadInput, "usage: patchgate new scenario"},
		{[]string{"new", "pointmap"}, ExitBadInput, "usage: patchgate new scenario"},
		{[]string{"new", "scenario"}, ExitBadInput, "--from-map is required"},
		{[]string{"new", "scenario", "--from-map", filepath.Join(dir, "missing.yaml")}, ExitBadInput, "no such file"},
		{[]string{"new", "scenario", "--from-map", bad}, ExitBadInput, bad + ":5:"},
		{[]string{"new", "scenario", "--from-map", tank, "--frobnicate"}, ExitBadInput, "patchgate help new"},
		{[]string{"new", "scenario", "--from-map", tank, "extra"}, ExitBadInput, `unexpected argument "extra"`},
		{[]string{"new", "scenario", "--from-map", tank, "-o", filepath.Join(dir, "no", "such", "folder", "s.yaml")}, ExitFault, "writing"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.says) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", c.args, code, errOut, c.code, c.says)
		}
	}
}
