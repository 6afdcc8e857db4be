package harness

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath   string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

const module = "github.com/patchgate/patchgate/"

func listAll(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-json", "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("listed only %d packages", len(pkgs))
	}
	return pkgs
}

func deps(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", path).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", path, err)
	}
	return strings.Fields(string(out))
}

func has(xs []string, pred func(string) bool) string {
	for _, x := range xs {
		if pred(x) {
			return x
		}
	}
	return ""
}

// TestDependencyRules guards docs/architecture.md#dependency-rules.
func TestDependencyRules(t *testing.T) {
	for _, p := range listAll(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		engine := strings.HasPrefix(rel, "harness") || strings.HasPrefix(rel, "simulators")
		if engine {
			if d := has(deps(t, p.ImportPath), func(s string) bool { return strings.HasPrefix(s, "fyne.io/") }); d != "" {
				t.Errorf("%s depends on %s: nothing under harness/ or simulators/ may import Fyne", rel, d)
			}
		}
		if strings.HasPrefix(rel, "harness") {
			if d := has(p.Imports, func(s string) bool { return strings.HasPrefix(s, module+"simulators") }); d != "" {
				t.Errorf("%s imports %s: harness uses the simulators only in tests", rel, d)
			}
			for lib, owner := range map[string]string{
				"github.com/simonvetter/modbus": "harness/driver/modbus",
				"github.com/gopcua/opcua":       "harness/driver/opcua",
			} {
				if d := has(p.Imports, func(s string) bool { return strings.HasPrefix(s, lib) }); d != "" && rel != owner {
					t.Errorf("%s imports %s: only %s may", rel, d, owner)
				}
			}
		}
		// the stores alone speak SQL: the ledger (SQLite) and pgstore (the register on
		// PostgreSQL, with pgtest, its test databases), and sqlrows, the rows they read
		// alike; the register's rules speak none
		sqlStores := map[string]bool{"harness/ledger": true, "harness/register/pgstore": true, "harness/register/pgstore/pgtest": true,
			"harness/register/sqlrows": true}
		if d := has(p.Imports, func(s string) bool { return s == "database/sql" || strings.HasPrefix(s, "github.com/mattn/go-sqlite3") }); d != "" && !sqlStores[rel] {
			t.Errorf("%s imports %s: only the stores (ledger, pgstore) speak SQL", rel, d)
		}
		if d := has(p.Imports, func(s string) bool { return strings.HasPrefix(s, "github.com/jackc/") }); d != "" && !strings.HasPrefix(rel, "harness/register/pgstore") {
			t.Errorf("%s imports %s: only pgstore speaks to PostgreSQL", rel, d)
		}
		if rel == "harness/register" {
			if d := has(deps(t, p.ImportPath), func(s string) bool {
				return s == "database/sql" || strings.HasPrefix(s, "github.com/mattn/") || strings.HasPrefix(s, "github.com/jackc/")
			}); d != "" {
				t.Errorf("%s depends on %s: the register's rules are apart from any SQL", rel, d)
			}
		}
		if strings.HasPrefix(rel, "harness") {
			if d := has(p.Imports, func(s string) bool { return strings.HasPrefix(s, module+"app/") }); d != "" {
				t.Errorf("%s imports %s: the engine knows nothing of its faces", rel, d)
			}
		}
		if rel == "harness/validation" {
			// the one validation use case is headless: the faces print, parse flags and exit
			for _, imp := range p.Imports {
				if imp == "flag" || imp == "log" || imp == "os/signal" || strings.HasPrefix(imp, module+"harness/driver/") {
					t.Errorf("%s imports %s: the validation use case is headless and protocol-blind (the faces register drivers)", rel, imp)
				}
			}
		}
		if rel == "harness/bundle" {
			// the signed container knows no renderer and no record (docs/architecture.md#evidence)
			for _, imp := range deps(t, p.ImportPath) {
				if imp == module+"harness/report" || imp == module+"harness/evidence" || imp == module+"harness/verdict" ||
					imp == "html/template" || strings.HasPrefix(imp, "github.com/go-pdf/") {
					t.Errorf("%s depends on %s: the bundle's format imports no renderer and no record", rel, imp)
				}
			}
		}
		if rel == "harness/report" || rel == "harness/plotdata" {
			for _, imp := range deps(t, p.ImportPath) {
				if imp == "database/sql" || strings.HasPrefix(imp, "github.com/mattn/go-sqlite3") || strings.HasPrefix(imp, "fyne.io/") ||
					(rel == "harness/plotdata" && imp == module+"harness/report") {
					t.Errorf("%s depends on %s: rendering and plot data know neither SQL nor Fyne", rel, imp)
				}
			}
		}
		if rel == "harness/compare" || rel == "harness/verdict" {
			for _, imp := range p.Imports {
				if imp == "os" || imp == "net" || strings.HasPrefix(imp, "net/") || imp == "io/ioutil" || imp == "database/sql" {
					t.Errorf("%s imports %s: compare and verdict are pure (no I/O)", rel, imp)
				}
			}
		}
	}
}

// TestCLIBuildsWithoutGUI: the CLI's dependencies hold no Fyne, so it builds without the
// X11/GL headers.
func TestCLIBuildsWithoutGUI(t *testing.T) {
	if d := has(deps(t, module+"app/cmd/patchgate"), func(s string) bool {
		return strings.HasPrefix(s, "fyne.io/") || strings.Contains(s, "go-gl")
	}); d != "" {
		t.Errorf("the CLI depends on %s", d)
	}
}
