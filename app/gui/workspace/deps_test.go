package workspace

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoFyne: the engine side of the desktop app runs headless; only package gui imports Fyne.
func TestNoFyne(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "fyne.io/") {
			t.Errorf("workspace depends on %s", p)
		}
	}
}
