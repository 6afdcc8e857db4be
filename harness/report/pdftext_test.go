package report

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// A PDF text extractor for what writePDF makes, to hold the PDF to the HTML. No pure-Go PDF
// text extraction library is among the kept modules, and none is needed for fpdf's output:
// its UTF-8 fonts are Type0 fonts with Identity-H encoding whose character codes are the
// text's UTF-16 code units (the ToUnicode CMap fpdf writes maps <0000>..<FFFF> onto
// themselves), and it shows text only as literal strings with Tj. So the text of a page is
// its content stream inflated, the literal strings before each Tj unescaped and read as
// UTF-16BE. Figures are the /Figure marked-content sequences pdfCanvas writes.

// pdfItem is one thing a page draws: a text string, or the start of a figure (its alternate
// text).
type pdfItem struct {
	text   string
	figure string
}

var (
	contentsRef = regexp.MustCompile(`/Contents (\d+) 0 R`)
	figureTag   = []byte("/Figure <</Alt <")
)

// pdfItems is the text strings and figures of the pages of a PDF written by fpdf, in order.
func pdfItems(t testing.TB, data []byte) []pdfItem {
	t.Helper()
	var items []pdfItem
	for _, m := range contentsRef.FindAllSubmatch(data, -1) {
		stream := pdfStream(t, data, string(m[1]))
		for i := 0; i < len(stream); i++ {
			switch {
			case bytes.HasPrefix(stream[i:], figureTag):
				i += len(figureTag)
				j := bytes.IndexByte(stream[i:], '>')
				b, err := hex.DecodeString(string(stream[i : i+j]))
				if err != nil || len(b) < 2 {
					t.Fatalf("figure alt text %q: %v", stream[i:i+j], err)
				}
				items = append(items, pdfItem{figure: utf16BE(b[2:])})
				i += j
			case stream[i] == '(':
				s, n := pdfLiteral(stream[i:])
				i += n - 1
				rest := bytes.TrimLeft(stream[i+1:], " \r\n")
				if bytes.HasPrefix(rest, []byte("Tj")) {
					items = append(items, pdfItem{text: utf16BE(s)})
				}
			}
		}
	}
	if len(items) == 0 {
		t.Fatal("no text in the PDF")
	}
	return items
}

// pdfStream is the inflated stream of object num.
func pdfStream(t testing.TB, data []byte, num string) []byte {
	t.Helper()
	i := bytes.Index(data, []byte("\n"+num+" 0 obj"))
	if i < 0 {
		t.Fatalf("no object %s", num)
	}
	obj := data[i:]
	lm := regexp.MustCompile(`/Length (\d+)`).FindSubmatch(obj)
	s := bytes.Index(obj, []byte("stream\n"))
	if lm == nil || s < 0 {
		t.Fatalf("object %s is not a stream", num)
	}
	n, _ := strconv.Atoi(string(lm[1]))
	raw := obj[s+len("stream\n") : s+len("stream\n")+n]
	if !bytes.Contains(obj[:s], []byte("/FlateDecode")) {
		return raw
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("object %s: %v", num, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("object %s: %v", num, err)
	}
	return out
}

// pdfLiteral reads the literal string at the start of b: its bytes and how many bytes of b
// it took.
func pdfLiteral(b []byte) ([]byte, int) {
	var out []byte
	depth := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\\' && i+1 < len(b):
			i++
			switch e := b[i]; e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v, k := 0, 0
					for ; k < 3 && i+k < len(b) && b[i+k] >= '0' && b[i+k] <= '7'; k++ {
						v = v*8 + int(b[i+k]-'0')
					}
					out = append(out, byte(v))
					i += k - 1
				} else {
					out = append(out, e)
				}
			}
		case c == '(':
			if depth > 0 {
				out = append(out, c)
			}
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return out, i + 1
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out, len(b)
}

func utf16BE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}

var (
	hiddenHTML = regexp.MustCompile(`(?s)<style>.*?</style>|<title>.*?</title>`)
	htmlTag    = regexp.MustCompile(`<[^>]*>`)
)

// htmlTexts is the text a reader sees on report.html, one entry per text node, in order:
// everything outside tags but the stylesheet and titles (the page's and the tooltips).
func htmlTexts(page string) []string {
	var out []string
	for _, s := range htmlTag.Split(hiddenHTML.ReplaceAllString(page, "<x>"), -1) {
		if s = strings.Join(strings.Fields(html.UnescapeString(s)), " "); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// TestPDFHasTheHTMLText: every text node of report.html is printed in report.pdf, in the
// same order (lines may wrap: compared without white space), so every character the HTML
// shows is rendered in the PDF; and the plots are the same, section by section.
func TestPDFHasTheHTMLText(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    func(t *testing.T) Bundle
	}{
		{"fixture", func(t *testing.T) Bundle { return fixture(t, 400) }},
		{"unreadable scenario", func(t *testing.T) Bundle {
			b := fixture(t, 400)
			b.Scenario.Data = []byte("version: [")
			return b
		}},
		{"simulated runs", func(t *testing.T) Bundle {
			if testing.Short() {
				t.Skip("runs the simulator")
			}
			return simBundle(t, shippedScenario(t, "tank-alarm-trip.yaml"), "baseline", "alarm-shift")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := unzip(t, build(t, tc.b(t), testKey(1)))
			page, items := string(find(files, HTMLFile)), pdfItems(t, find(files, PDFFile))
			var text strings.Builder
			for _, it := range items {
				text.WriteString(noSpace(it.text))
			}
			pdf := text.String()
			at := 0
			for _, s := range htmlTexts(page) {
				want := noSpace(s)
				i := strings.Index(pdf[at:], want)
				if i < 0 {
					where := "anywhere"
					if strings.Contains(pdf, want) {
						where = "in the HTML's order"
					}
					t.Errorf("report.pdf does not print %q %s (after …%s)", s, where, pdf[max(at-40, 0):at])
					continue
				}
				at += i + len(want)
			}

			// the plots, per section: the HTML's <svg> labels, the PDF's figures
			htmlPlots := map[string][]string{}
			label := regexp.MustCompile(`<svg [^>]*aria-label="([^"]*)"`)
			for _, sec := range strings.Split(page, "<h2>")[1:] {
				name, _, _ := strings.Cut(sec, "</h2>")
				for _, m := range label.FindAllStringSubmatch(sec, -1) {
					htmlPlots[name] = append(htmlPlots[name], html.UnescapeString(m[1]))
				}
			}
			pdfPlots := map[string][]string{}
			headings := map[string]bool{}
			for _, sec := range strings.Split(page, "<h2>")[1:] {
				name, _, _ := strings.Cut(sec, "</h2>")
				headings[name] = true
			}
			sec := ""
			for _, it := range items {
				if headings[it.text] {
					sec = it.text
				}
				if it.figure != "" {
					pdfPlots[sec] = append(pdfPlots[sec], it.figure)
				}
			}
			if got, want := fmt.Sprint(pdfPlots), fmt.Sprint(htmlPlots); got != want {
				t.Errorf("plots per section:\nPDF  %s\nHTML %s", got, want)
			}
			n := 0
			for _, p := range htmlPlots {
				n += len(p)
			}
			t.Logf("%d text nodes and %d plots of report.html in report.pdf; %d plots per section %v",
				len(htmlTexts(page)), n, len(htmlPlots), htmlPlots)
			if tc.name == "fixture" && n != 7 {
				t.Errorf("%d plots, want 2 signals, 3 timing, 2 timelines", n)
			}
		})
	}
}

// TestPDFGolden keeps the PDF's text and figures, one a line, in testdata/report.pdf.txt, so
// a change to what the PDF prints shows in the diff (go test -run PDFGolden -update).
func TestPDFGolden(t *testing.T) {
	var b strings.Builder
	for _, it := range pdfItems(t, find(unzip(t, build(t, fixture(t, 400), testKey(1))), PDFFile)) {
		if it.figure != "" {
			fmt.Fprintf(&b, "[figure: %s]\n", it.figure)
		} else {
			fmt.Fprintln(&b, it.text)
		}
	}
	golden(t, "testdata/report.pdf.txt", b.String())
}

// golden compares got with the file at path (or writes it with -update).
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d (go test -update rewrites it):\ngot  %q\nwant %q", path, i+1, g, w)
			}
		}
	}
}
