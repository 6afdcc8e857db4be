package report

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/patchgate/patchgate/harness/verdict"
)

// pdfFont is the family report.pdf writes in: the Go fonts, embedded from golang.org/x/image
// as UTF-8 TrueType fonts (fpdf embeds the subset of glyphs the page uses), so every
// character of the report prints as it does in report.html: en dashes, arrows, ±, µ, Δ.
const pdfFont = "go"

// pdfCols is how many columns a signal plot is decimated to in the PDF: about two per
// millimetre of paper.
const pdfCols = 360

// fixedTime is the PDF's date when the record has no decision time: 1980-01-01, the date
// the bundle's ZIP headers hold too.
var fixedTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// writePDF writes report.pdf: the same sections, text and plots as report.html, on A4. The
// PDF's dates are the decision time (or a fixed date), so the same record gives the same
// bytes.
func writePDF(w io.Writer, m *model) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(pdfFont, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(pdfFont, "B", gobold.TTF)
	date := fixedTime
	if t, err := time.Parse(time.RFC3339, m.rec.Decided); err == nil {
		date = t.UTC()
	}
	pdf.SetCreationDate(date)
	pdf.SetModificationDate(date)
	pdf.SetCatalogSort(true)
	pdf.SetCreator("patchgate "+m.rec.ToolVersion, true)
	pdf.SetTitle(string(m.rec.Verdict)+": "+m.rec.Scenario, true)
	pdf.SetMargins(12, 12, 12)
	pdf.SetAutoPageBreak(true, 14)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont(pdfFont, "", 7)
		pdf.SetTextColor(120, 120, 120)
		pdf.CellFormat(0, 4, fmt.Sprintf("patchgate evidence: %s, %s", m.rec.Scenario, m.rec.Verdict), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 4, fmt.Sprintf("page %d", pdf.PageNo()), "", 0, "R", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	r := &pdfReport{pdf: pdf, m: m}
	r.write()
	if err := pdf.Error(); err != nil {
		return err
	}
	return pdf.Output(w)
}

type pdfReport struct {
	pdf   *fpdf.Fpdf
	m     *model
	width float64 // between the margins, mm
}

// room starts a new page unless h mm are left above the bottom margin.
func (r *pdfReport) room(h float64) {
	_, pageH := r.pdf.GetPageSize()
	_, _, _, bottom := r.pdf.GetMargins()
	if r.pdf.GetY()+h > pageH-bottom {
		r.pdf.AddPage()
	}
}

// para writes text wrapped at the width, in size pt and the colour given.
func (r *pdfReport) para(text string, size float64, style string, col rgb) {
	if text == "" {
		return
	}
	p := r.pdf
	p.SetFont(pdfFont, style, size)
	if col.ok {
		p.SetTextColor(col.r, col.g, col.b)
	}
	lh := size * 0.45
	for _, l := range wrap(p, text, r.width) {
		r.room(lh)
		p.SetX(p.GetX())
		x, y := p.GetXY()
		p.Text(x, y+lh*0.8, l)
		p.SetXY(x, y+lh)
	}
	p.SetTextColor(0, 0, 0)
}

// h2 starts a section; keep is how much of the section (mm) must fit on the page with it.
func (r *pdfReport) h2(s string, keep float64) {
	p := r.pdf
	r.room(keep + 14)
	p.Ln(4)
	p.SetFont(pdfFont, "B", 12)
	p.CellFormat(r.width, 7, s, "B", 1, "L", false, 0, "")
	p.Ln(1.5)
}

func (r *pdfReport) h3(s string, keep float64) {
	p := r.pdf
	r.room(keep + 8)
	p.Ln(2)
	p.SetFont(pdfFont, "B", 9.5)
	for _, l := range wrap(p, s, r.width) {
		x, y := p.GetXY()
		p.Text(x, y+3.6, l)
		p.SetXY(x, y+4.6)
	}
	p.Ln(0.5)
}

// anchor makes link (if any) point just above here.
func (r *pdfReport) anchor(link int) {
	if link != 0 {
		r.pdf.SetLink(link, max(r.pdf.GetY()-6, 0), -1)
	}
}

// plot draws one plot at the full width; draw returns false when it drew nothing.
func (r *pdfReport) plot(unitsH float64, draw func(c canvas) bool) {
	p := r.pdf
	h := unitsH * r.width / plotW
	r.room(h)
	x, y := p.GetXY()
	if draw(&pdfCanvas{pdf: p, ox: x, oy: y, w: r.width}) {
		p.SetXY(x, y+h+1)
	}
}

var (
	grey   = rgb{85, 85, 85, true}
	amber  = rgb{161, 92, 0, true}
	red    = rgb{179, 38, 30, true}
	green  = rgb{30, 125, 50, true}
	noteBg = rgb{255, 244, 229, true}
	headBg = rgb{244, 244, 246, true}
)

func (r *pdfReport) write() {
	p, m := r.pdf, r.m
	rec := m.rec
	pageW, _ := p.GetPageSize()
	left, _, right, _ := p.GetMargins()
	r.width = pageW - left - right

	p.SetFont(pdfFont, "B", 15)
	p.MultiCell(r.width, 7, "Patch validation: "+rec.Scenario, "", "L", false)
	sub := rec.BeforeTarget + " → " + rec.AfterTarget
	if rec.Patch != "" {
		sub = "patch " + rec.Patch + " · " + sub
	}
	if rec.Decided != "" {
		sub += " · decided " + rec.Decided
	}
	r.para(sub, 8.5, "", grey)
	p.Ln(2)

	// the verdict, large, in its colour
	vr, vg, vb := verdictRGB(rec.Verdict)
	p.SetFillColor(vr, vg, vb)
	p.SetTextColor(255, 255, 255)
	p.SetFont(pdfFont, "B", 34)
	p.CellFormat(p.GetStringWidth(string(rec.Verdict))+12, 16, string(rec.Verdict), "", 1, "C", true, 0, "")
	p.SetTextColor(0, 0, 0)
	p.Ln(2)
	for _, reason := range rec.Reasons {
		r.para("• "+reason, 10, "", rgb{})
	}
	for _, n := range m.notes {
		p.Ln(1)
		p.SetFont(pdfFont, "", 8.5)
		p.SetFillColor(noteBg.r, noteBg.g, noteBg.b)
		p.MultiCell(r.width, 4, n, "", "L", true)
	}

	r.h2("Change request", 16)
	var change [][]string
	for _, kv := range changeRows(rec) {
		change = append(change, []string{kv[0], kv[1]})
	}
	r.table(&pdfTable{widths: []float64{40, r.width - 40}, rows: change, keyCol: true})

	r.h2("Summary", 16)
	scen := rec.Scenario
	if m.desc != "" {
		scen += ": " + m.desc
	}
	kv := [][]string{{"scenario", scen}}
	if rec.ScenarioSHA256 != "" {
		kv = append(kv, []string{"scenario SHA-256", rec.ScenarioSHA256})
	}
	kv = append(kv, []string{"point map", rec.PointMap})
	kv = append(kv,
		[]string{"before target", rec.BeforeTarget + " (runs " + runList(rec.BeforeRuns) + ")"},
		[]string{"after target", rec.AfterTarget + " (runs " + runList(rec.AfterRuns) + ")"},
		[]string{"time mode", rec.TimeMode})
	r.table(&pdfTable{widths: []float64{40, r.width - 40}, rows: kv, keyCol: true})

	// the criteria, as report.html lists them; the plots follow in its order
	d := newReportData(m, pdfCols)
	r.h2("Criteria", 16)
	cols := []float64{34, 13, 12, 18, 21, 16, 16, 15}
	rest := r.width
	for _, c := range cols {
		rest -= c
	}
	cols = append(cols, rest)
	var rows [][]string
	var status []verdict.Status
	links := map[string]int{} // a criterion's plot, as the HTML's anchors
	var rowLinks []int
	for _, row := range d.Rows {
		if row.Anchor != "" {
			links[row.Anchor] = p.AddLink()
		}
		rowLinks = append(rowLinks, links[row.Anchor])
		reason := row.Reason
		if row.Needed > 0 {
			reason += fmt.Sprintf("\nneeds %d samples", row.Needed)
		}
		if row.WhereText != "" {
			reason += "\nwhere: " + row.WhereText
		}
		if row.Numbers != "" {
			reason += "\n" + row.Numbers
		}
		rows = append(rows, []string{row.ID, string(row.Kind), row.Severity, string(row.Status),
			row.Expected, row.Before, row.After, row.Tolerance, reason})
		status = append(status, row.Status)
	}
	r.table(&pdfTable{widths: cols, size: 6.8,
		header: []string{"criterion", "kind", "severity", "status", "expected", "before", "after", "tolerance", "reason"},
		rows:   rows,
		link:   func(i int) int { return rowLinks[i] },
		color: func(i, j int) (rgb, bool) {
			if j != 3 {
				return rgb{}, false
			}
			switch status[i] {
			case verdict.Pass:
				return green, true
			case verdict.Fail:
				return red, true
			}
			return amber, true
		}})

	if len(d.Signals) > 0 {
		r.h2("Signals", plotH*r.width/plotW+6)
		for _, s := range d.Signals {
			r.h3(s.Title, plotH*r.width/plotW)
			r.anchor(links[s.ID])
			r.plot(plotH, func(c canvas) bool { drawOverlay(c, s.overlay); return true })
			r.para(s.Note, 7.5, "", grey)
		}
	}
	if len(d.Timings) > 0 {
		r.h2("Timing", histogramH*r.width/plotW+6)
		for _, t := range d.Timings {
			r.h3(t.Title, histogramH*r.width/plotW)
			r.anchor(links[t.ID])
			r.plot(histogramH, func(c canvas) bool { return drawHistogram(c, t.Title, t.timing, t.unit) })
			r.para(t.Note, 7.5, "", grey)
		}
	}
	if len(d.Timelines) > 0 {
		r.h2("Events", timelineH*r.width/plotW+12)
		r.para(eventsIntro, 7.5, "", grey)
		for _, t := range d.Timelines {
			r.h3(t.Title, timelineH*r.width/plotW)
			r.plot(timelineH, func(c canvas) bool { drawTimeline(c, t.trace, t.t1); return true })
		}
	}

	r.h2("Identities", 16)
	var ids [][]string
	var changed []bool
	for _, row := range d.Identities {
		ids = append(ids, []string{row.Field, row.Before, row.After})
		changed = append(changed, row.Changed)
	}
	r.table(&pdfTable{widths: []float64{36, (r.width - 36) / 2, (r.width - 36) / 2}, header: []string{"field", "before", "after"}, rows: ids,
		fill: func(i int) (rgb, bool) { return noteBg, changed[i] }})

	r.h2("Runs", 16)
	var runs [][]string
	for _, run := range d.Runs {
		status := string(run.Status)
		if run.Fault != "" {
			status += ": " + run.Fault
		}
		fw := run.FirmwareStart
		if run.IdentityChanged {
			fw += " → " + run.FirmwareEnd + " (identity changed during the run)"
		}
		runs = append(runs, []string{run.Side, fmt.Sprint(run.ID), fmt.Sprint(run.Repetition), status, run.Target, run.Started,
			fw, fmt.Sprint(run.Samples), fmt.Sprint(run.Events), run.SamplesFile + "\n" + run.EventsFile})
	}
	rc := []float64{10, 8, 14, 16, 30, 27, 15, 12, 11}
	rest = r.width
	for _, c := range rc {
		rest -= c
	}
	r.table(&pdfTable{widths: append(rc, rest), size: 6.5,
		header: []string{"side", "run", "repetition", "status", "target", "started", "firmware", "samples", "events", "files"}, rows: runs})

	r.h2("Calibration", 36)
	r.para(calibrationIntro, 7.5, "", grey)
	p.Ln(1)
	c := rec.Calibration
	r.table(&pdfTable{widths: []float64{60, r.width - 60}, keyCol: true, rows: [][]string{
		{"sampling lateness p50", fmt.Sprintf("%.1f µs", c.LatenessP50Us)},
		{"sampling lateness p99", fmt.Sprintf("%.1f µs", c.LatenessP99Us)},
		{"jitter (p99 − p50)", fmt.Sprintf("%.1f µs", c.JitterUs)},
		{"round trip p50", fmt.Sprintf("%.1f µs", c.RoundTripP50Us)},
		{"round trip p99", fmt.Sprintf("%.1f µs", c.RoundTripP99Us)},
	}})

	r.h2("This bundle", 16)
	r.para(bundleText, 7.5, "", grey)
}

// wrap breaks s into lines no wider than w in the current font: at spaces, and within a
// word too long for a line after a separator (":", "_", "-", "–", "/", ".", ",", "=", "?", "&"),
// so that an identifier such as check:alarm_high_threshold breaks as
// "check:alarm_high_" / "threshold", never inside a name; only a piece without any
// separator that is wider than a line is broken between characters. Newlines start new
// lines.
func wrap(pdf *fpdf.Fpdf, s string, w float64) []string {
	fits := func(s string) bool { return pdf.GetStringWidth(s) <= w }
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		add := func(piece string, space bool) {
			cand := piece
			if line != "" {
				if space {
					cand = line + " " + piece
				} else {
					cand = line + piece
				}
			}
			if fits(cand) || line == "" && fits(piece) {
				line = cand
				return
			}
			if line != "" {
				lines = append(lines, line)
			}
			// a piece wider than a line: break between characters (fpdf does not kern, so a
			// string's width is the sum of its characters')
			if !fits(piece) {
				start, acc := 0, 0.0
				for i, r := range piece {
					cw := pdf.GetStringWidth(string(r))
					if acc+cw > w && i > start {
						lines = append(lines, piece[start:i])
						start, acc = i, 0
					}
					acc += cw
				}
				piece = piece[start:]
			}
			line = piece
		}
		for _, word := range strings.Fields(para) {
			if line == "" && fits(word) || line != "" && fits(line+" "+word) {
				add(word, true)
				continue
			}
			for i, piece := range splitAfterSeparators(word) {
				add(piece, i == 0)
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// splitAfterSeparators cuts word after each separator character: "a:b_c" is "a:", "b_",
// "c". A dot is a separator only where no digit follows, so numbers stay whole.
func splitAfterSeparators(word string) []string {
	var out []string
	start := 0
	rs := []rune(word)
	pos := 0
	for i, r := range rs {
		pos += utf8.RuneLen(r)
		if i+1 == len(rs) {
			break
		}
		if strings.ContainsRune(":_-–/,=?&;", r) || r == '.' && !unicode.IsDigit(rs[i+1]) {
			out = append(out, word[start:pos])
			start = pos
		}
	}
	return append(out, word[start:])
}

func verdictRGB(v verdict.Outcome) (int, int, int) {
	switch v {
	case verdict.Go:
		return 30, 125, 50
	case verdict.NoGo:
		return 179, 38, 30
	}
	return 161, 92, 0
}

// pdfTable is a table of wrapped cells; its header repeats on each new page.
type pdfTable struct {
	widths []float64
	header []string
	rows   [][]string
	size   float64 // font size in pt; 0: 7.5
	keyCol bool    // the first column is a header column (a key-value table)
	fill   func(row int) (rgb, bool)
	link   func(row int) int              // an internal link (fpdf.AddLink) on a row's first cell, 0: none
	color  func(row, col int) (rgb, bool) // a cell's text colour (bold)
}

func (r *pdfReport) table(t *pdfTable) {
	p := r.pdf
	size := t.size
	if size == 0 {
		size = 7.5
	}
	lh := size * 0.42
	_, pageH := p.GetPageSize()
	_, _, _, bottom := p.GetMargins()
	total := 0.0
	for _, w := range t.widths {
		total += w
	}
	var drawRow func(cells []string, head bool, fill rgb, color func(int) (rgb, bool), link int)
	drawRow = func(cells []string, head bool, fill rgb, color func(int) (rgb, bool), link int) {
		lines := make([][]string, len(cells))
		n := 1
		for i, c := range cells {
			p.SetFont(pdfFont, cellStyle(head || t.keyCol && i == 0 || color != nil && okOf(color(i))), size)
			lines[i] = wrap(p, c, t.widths[i]-2)
			n = max(n, len(lines[i]))
		}
		h := float64(n)*lh + 1.6
		x, y := p.GetXY()
		if y+h > pageH-bottom {
			p.AddPage()
			if t.header != nil && !head {
				drawRow(t.header, true, rgb{}, nil, 0)
			}
			x, y = p.GetXY()
		}
		for i := range cells {
			bg := fill
			if head || t.keyCol && i == 0 {
				bg = headBg
			}
			if bg.ok {
				p.SetFillColor(bg.r, bg.g, bg.b)
				p.Rect(x, y, t.widths[i], h, "FD")
			} else {
				p.Rect(x, y, t.widths[i], h, "D")
			}
			p.SetFont(pdfFont, cellStyle(head || t.keyCol && i == 0), size)
			if color != nil {
				if c, ok := color(i); ok {
					p.SetTextColor(c.r, c.g, c.b)
					p.SetFont(pdfFont, "B", size)
				}
			}
			for k, l := range lines[i] {
				p.Text(x+1, y+0.4+lh*float64(k+1), l)
			}
			if i == 0 && link != 0 {
				p.Link(x, y, t.widths[i], h, link)
			}
			p.SetTextColor(0, 0, 0)
			x += t.widths[i]
		}
		p.SetXY(x-total, y+h)
	}
	p.SetDrawColor(200, 200, 200)
	p.SetLineWidth(0.2)
	if t.header != nil {
		r.room(2 * (lh + 1.6))
		drawRow(t.header, true, rgb{}, nil, 0)
	}
	for i, row := range t.rows {
		var fill rgb
		if t.fill != nil {
			if c, ok := t.fill(i); ok {
				fill = c
			}
		}
		var color func(int) (rgb, bool)
		if t.color != nil {
			color = func(j int) (rgb, bool) { return t.color(i, j) }
		}
		link := 0
		if t.link != nil {
			link = t.link(i)
		}
		drawRow(row, false, fill, color, link)
	}
	p.SetDrawColor(0, 0, 0)
}

func okOf(_ rgb, ok bool) bool { return ok }

func cellStyle(bold bool) string {
	if bold {
		return "B"
	}
	return ""
}
