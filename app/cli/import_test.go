package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/point"
)

func importRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), Env{Stdout: &out, Stderr: &errb}, append([]string{"import"}, args...))
	return code, out.String(), errb.String()
}

func TestImportTelegraf(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join("..", "..", "harness", "telegraf", "testdata", "tank.conf")
	code, out, errs := importRun("telegraf", conf, "-o", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, name := range []string{"tank", "tank-opcua"} {
		p := filepath.Join(dir, name+".yaml")
		if !strings.Contains(out, "wrote "+p) {
			t.Errorf("output %q does not say it wrote %s", out, p)
		}
		if _, err := point.Load(p); err != nil {
			t.Error(err)
		}
	}
	// again: refused without --force, and nothing is touched
	code, _, errs = importRun("telegraf", conf, "-o", dir)
	if code != ExitBadInput || !strings.Contains(errs, "exists; use --force") {
		t.Errorf("second import: exit %d, %q; want %d and a refusal", code, errs, ExitBadInput)
	}
	if code, _, errs = importRun("telegraf", "-o", dir, "--force", conf); code != ExitOK {
		t.Errorf("--force: exit %d: %s", code, errs)
	}
}

func TestImportTelegrafWarnings(t *testing.T) {
	conf := filepath.Join("..", "..", "harness", "telegraf", "testdata", "modicon.conf")
	code, _, errs := importRun("telegraf", conf, "-o", t.TempDir())
	if code != ExitOK || !strings.Contains(errs, "warning: "+conf+":6: flow: holding address 40001") {
		t.Errorf("exit %d, stderr %q; want 0 and the 40001 warning at line 6", code, errs)
	}
}

func TestImportTelegrafBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("[[inputs.modbus]]\n  holding_registers = [\n    { name = \"a\", byte_order = \"AB\", data_type = \"REAL\", scale = 1.0, address = [0] },\n  ]\n"), 0o644)
	for _, args := range [][]string{{"telegraf", bad}, {"telegraf"}, {"collectd", bad}, {"telegraf", filepath.Join(dir, "missing.conf")}} {
		code, _, errs := importRun(args...)
		if code != ExitBadInput {
			t.Errorf("%v: exit %d; want %d", args, code, ExitBadInput)
		}
		if args[0] == "telegraf" && len(args) == 2 && args[1] == bad && !strings.Contains(errs, bad+":3: unknown data_type \"REAL\"") {
			t.Errorf("stderr %q; want the file:line error", errs)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("bad input wrote files: %v", entries)
	}
}
