package report

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// symbols are characters the reports may print that come from outside the code: from
// scenario descriptions, fault messages and identities people write.
const symbols = "–—−±°µμ≤≥≠≈Δ∆Σ→←↑↓↔·•…×÷‰²³½¼¾€£§©®™‘’“”«»äöüÄÖÜßéèêàâçñøåæ"

// TestPDFFontCoversTheReports: the Go fonts report.pdf embeds have a glyph for every
// character the reports of the test bundles show, every non-ASCII character in a string
// literal of the packages whose text reaches the reports (evidence, compare, verdict,
// scenario), and the symbols above. fpdf draws a character the font lacks as nothing.
func TestPDFFontCoversTheReports(t *testing.T) {
	need := map[rune]string{}
	for r := rune(0x20); r < 0x7f; r++ {
		need[r] = "ASCII"
	}
	for _, r := range symbols {
		need[r] = "symbols"
	}
	b := fixture(t, 200)
	page := string(find(unzip(t, build(t, b, testKey(1))), HTMLFile))
	for _, s := range htmlTexts(page) {
		for _, r := range s {
			need[r] = "report.html: " + s
		}
	}
	for _, dir := range []string{".", "../compare", "../verdict", "../scenario"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && (lit.Kind == token.STRING || lit.Kind == token.CHAR) {
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						return true
					}
					for _, r := range s {
						if r > 0x7e && unicode.IsPrint(r) {
							need[r] = path + ": " + lit.Value
						}
					}
				}
				return true
			})
		}
	}
	nonASCII := 0
	for name, ttf := range map[string][]byte{"Go Regular": goregular.TTF, "Go Bold": gobold.TTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			t.Fatal(err)
		}
		var buf sfnt.Buffer
		keys := make([]rune, 0, len(need))
		for r := range need {
			keys = append(keys, r)
		}
		slices.Sort(keys)
		nonASCII = 0
		for _, r := range keys {
			if r > 0x7e {
				nonASCII++
			}
			if gi, err := f.GlyphIndex(&buf, r); err != nil || gi == 0 {
				t.Errorf("%s has no glyph for %q (U+%04X), needed by %s", name, r, r, need[r])
			}
		}
	}
	t.Logf("%d characters checked, %d of them beyond ASCII", len(need), nonASCII)
	if nonASCII < 20 {
		t.Errorf("only %d characters beyond ASCII checked", nonASCII)
	}
}

// TestWrap: lines fit, nothing is lost, and a word is broken only after a separator; a long
// criterion id breaks between its parts, never inside a name.
func TestWrap(t *testing.T) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(pdfFont, "", goregular.TTF)
	pdf.SetFont(pdfFont, "", 7)
	for _, tc := range []struct {
		s string
		w float64
	}{
		{"check:alarm_high_threshold", 18},
		{"check:alarm_high_threshold", 12},
		{"timing:alarm_response", 14},
		{"where: after run 11, step 3, 5.000–5.100 s", 22},
		{"sim://tank?firmware=alarm-shift (runs 11, 12)", 20},
		{"traces/after-12-events.csv", 15},
		{"0.000–20.000 s", 9},
		{"a connection gap in both sides\nneeds 3 samples", 30},
		{"InletValve↑ then AlarmHigh↑ ±0.5 µs", 16},
	} {
		lines := wrap(pdf, tc.s, tc.w)
		if got, want := noSpace(strings.Join(lines, "")), noSpace(tc.s); got != want {
			t.Errorf("%q at %v mm: lines %q lose text", tc.s, tc.w, lines)
		}
		for i, l := range lines {
			if pdf.GetStringWidth(l) > tc.w {
				t.Errorf("%q at %v mm: line %q is %.1f mm wide", tc.s, tc.w, l, pdf.GetStringWidth(l))
			}
			if i+1 == len(lines) || l == "" || lines[i+1] == "" {
				continue
			}
			last, _ := lastRune(l)
			next := []rune(lines[i+1])[0]
			inWord := unicode.IsLetter(last) || unicode.IsDigit(last)
			// only a piece without a separator that is wider than a line may break inside
			isSep := func(r rune) bool { return strings.ContainsRune(":_-–/.,=?&; ", r) }
			head := []rune(l)
			k := len(head)
			for k > 0 && !isSep(head[k-1]) {
				k--
			}
			tail := []rune(lines[i+1])
			j := 0
			for j < len(tail) && !isSep(tail[j]) {
				j++
			}
			piece := string(head[k:]) + string(tail[:j])
			wide := pdf.GetStringWidth(piece) > tc.w
			if inWord && !wide && (unicode.IsLetter(next) || unicode.IsDigit(next)) && !endsParagraph(tc.s, l) && !spaceBetween(tc.s, l, lines[i+1]) {
				t.Errorf("%q at %v mm: broken inside a word: %q / %q", tc.s, tc.w, l, lines[i+1])
			}
		}
	}
	if lines := wrap(pdf, "check:alarm_high_threshold", 18); !slices.Equal(lines, []string{"check:alarm_high_", "threshold"}) &&
		!slices.Equal(lines, []string{"check:alarm_", "high_threshold"}) {
		t.Errorf("check:alarm_high_threshold in 18 mm: %q", lines)
	}
}

func lastRune(s string) (rune, bool) {
	r := []rune(s)
	if len(r) == 0 {
		return 0, false
	}
	return r[len(r)-1], true
}

// spaceBetween: in s, line a is followed by a space before line b (a break at a space).
func spaceBetween(s, a, b string) bool {
	return strings.Contains(s, a+" "+b) || strings.Contains(s, a+"\n"+b)
}

func endsParagraph(s, l string) bool { return strings.Contains(s, l+"\n") }

// FuzzWrap: wrap never panics, ends, and loses no character but white space.
func FuzzWrap(f *testing.F) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(pdfFont, "", goregular.TTF)
	pdf.SetFont(pdfFont, "", 7)
	for _, s := range []string{"check:alarm_high_threshold", "a b\nc", "0.000–20.000 s", "", " ", "::__..", "ÄÖÜ→↑µ"} {
		f.Add(s, 12.0)
		f.Add(s, 0.5)
	}
	f.Fuzz(func(t *testing.T, s string, w float64) {
		if !utf8.ValidString(s) || !(w > 0 && w < 1000) || len(s) > 2000 {
			return
		}
		lines := wrap(pdf, s, w)
		if got, want := noSpace(strings.Join(lines, "")), noSpace(s); got != want {
			t.Errorf("%q at %v mm: %q", s, w, lines)
		}
	})
}
