package evidence

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/patchgate/patchgate/harness/verdict"
)

// writePDF writes report.pdf: the verdict and its reasons, the criteria, the identities and
// the main signal plot. The PDF's dates are the decision time (or a fixed date), so the same
// record gives the same bytes.
func writePDF(w io.Writer, m *model) error {
	pdf := fpdf.New("P", "mm", "A4", "")
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
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252 for the core fonts
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont("Helvetica", "", 7)
		pdf.SetTextColor(120, 120, 120)
		pdf.CellFormat(0, 4, tr(fmt.Sprintf("patchgate evidence: %s, %s", m.rec.Scenario, m.rec.Verdict)), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 4, fmt.Sprintf("page %d", pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	pageW, _ := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	width := pageW - left - right

	pdf.SetFont("Helvetica", "B", 14)
	pdf.MultiCell(width, 6, tr("Patch validation: "+m.rec.Scenario), "", "L", false)
	pdf.SetFont("Helvetica", "", 9)
	sub := m.rec.BeforeTarget + " -> " + m.rec.AfterTarget
	if m.rec.Patch != "" {
		sub = "patch " + m.rec.Patch + " - " + sub
	}
	if m.rec.Decided != "" {
		sub += " - decided " + m.rec.Decided
	}
	pdf.MultiCell(width, 4.5, tr(sub), "", "L", false)
	pdf.Ln(2)

	// the verdict, large, in its colour
	r, g, b := verdictRGB(m.rec.Verdict)
	pdf.SetFillColor(r, g, b)
	pdf.SetTextColor(255, 255, 255)
	pdf.SetFont("Helvetica", "B", 34)
	pdf.CellFormat(pdf.GetStringWidth(string(m.rec.Verdict))+12, 16, string(m.rec.Verdict), "", 1, "C", true, 0, "")
	pdf.SetTextColor(0, 0, 0)
	pdf.Ln(2)
	pdf.SetFont("Helvetica", "", 10)
	for _, reason := range m.rec.Reasons {
		pdf.MultiCell(width, 5, tr("- "+reason), "", "L", false)
	}
	for _, n := range m.notes {
		pdf.SetFont("Helvetica", "I", 8)
		pdf.MultiCell(width, 4, tr(n), "", "L", false)
	}

	heading := func(s string) {
		pdf.Ln(3)
		pdf.SetFont("Helvetica", "B", 12)
		pdf.CellFormat(width, 7, tr(s), "B", 1, "L", false, 0, "")
		pdf.Ln(1)
	}

	heading("Summary")
	kv := [][2]string{
		{"scenario", m.rec.Scenario},
		{"point map", m.rec.PointMap},
		{"before target", m.rec.BeforeTarget + " (runs " + runList(m.rec.BeforeRuns) + ")"},
		{"after target", m.rec.AfterTarget + " (runs " + runList(m.rec.AfterRuns) + ")"},
		{"time mode", m.rec.TimeMode},
		{"tool version", m.rec.ToolVersion},
	}
	if m.rec.ScenarioSHA256 != "" {
		kv = append(kv, [2]string{"scenario SHA-256", m.rec.ScenarioSHA256})
	}
	table(pdf, tr, []float64{40, width - 40}, nil, rowsOf(kv), nil)

	if c, ok := m.mainOverlay(); ok {
		heading("Signal: " + c.ID)
		o, bt, at, _ := m.overlayFor(c, 360)
		pdf.SetFont("Helvetica", "", 8)
		pdf.MultiCell(width, 4, tr(fmt.Sprintf("%s, %s (blue) against %s (orange); %s",
			o.tag, runName(bt, "before"), runName(at, "after"), overlayNote(o, m.sc != nil))), "", "L", false)
		pdfOverlay(pdf, tr, o, width, 70)
	}

	heading("Criteria")
	cols := []float64{28, 14, 14, 17, 29, 29, 29, 26}
	cols[len(cols)-1] = width - (28 + 14 + 14 + 17 + 29 + 29 + 29)
	var rows [][]string
	var notes []string
	var status []verdict.Status
	for _, c := range m.rec.Criteria {
		rows = append(rows, []string{c.ID, string(c.Kind), c.Severity, string(c.Status), c.Expected, c.Before, c.After, c.Tolerance})
		note := c.Reason
		if c.Where != nil {
			note += " (where: " + whereText(c.Where) + ")"
		}
		notes = append(notes, note)
		status = append(status, c.Status)
	}
	table(pdf, tr, cols, []string{"criterion", "kind", "severity", "status", "expected", "before", "after", "tolerance"}, rows,
		func(i int) (string, verdict.Status) { return notes[i], status[i] })

	heading("Identities")
	var ids [][]string
	for _, row := range identityRows(m.rec.IdentityBefore, m.rec.IdentityAfter) {
		mark := ""
		if row.Changed {
			mark = "changed"
		}
		ids = append(ids, []string{row.Field, row.Before, row.After, mark})
	}
	table(pdf, tr, []float64{34, (width - 54) / 2, (width - 54) / 2, 20}, []string{"field", "before", "after", ""}, ids, nil)

	heading("Calibration")
	c := m.rec.Calibration
	table(pdf, tr, []float64{60, width - 60}, nil, rowsOf([][2]string{
		{"sampling lateness p50 / p99", fmt.Sprintf("%.1f / %.1f us", c.LatenessP50Us, c.LatenessP99Us)},
		{"jitter (p99 - p50)", fmt.Sprintf("%.1f us", c.JitterUs)},
		{"round trip p50 / p99", fmt.Sprintf("%.1f / %.1f us", c.RoundTripP50Us, c.RoundTripP99Us)},
	}), nil)
	pdf.Ln(3)
	pdf.SetFont("Helvetica", "I", 8)
	pdf.MultiCell(width, 4, tr("Plots of every signal and timing criterion and the event timelines are in report.html; "+
		"the raw data is in traces/. The bundle is signed: patchgate verify BUNDLE --trust KEY.pem checks every byte offline."), "", "L", false)

	if err := pdf.Error(); err != nil {
		return err
	}
	return pdf.Output(w)
}

// wrap breaks s (already in the font's code page) into lines of at most w, at spaces, and
// within words too long for a line.
func wrap(pdf *fpdf.Fpdf, s string, w float64) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			cand := word
			if line != "" {
				cand = line + " " + word
			}
			if pdf.GetStringWidth(cand) <= w {
				line = cand
				continue
			}
			if line != "" {
				lines = append(lines, line)
			}
			for len(word) > 1 && pdf.GetStringWidth(word) > w {
				k := len(word) - 1
				for k > 1 && pdf.GetStringWidth(word[:k]) > w {
					k--
				}
				lines = append(lines, word[:k])
				word = word[k:]
			}
			line = word
		}
		lines = append(lines, line)
	}
	return lines
}

func rowsOf(kv [][2]string) [][]string {
	out := make([][]string, len(kv))
	for i, p := range kv {
		out[i] = []string{p[0], p[1]}
	}
	return out
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

// table draws rows with wrapped cells, repeating the header on each new page. note, when
// not nil, gives a full-width line under a row (and a status that colours it).
func table(pdf *fpdf.Fpdf, tr func(string) string, widths []float64, header []string, rows [][]string,
	note func(int) (string, verdict.Status)) {
	const lh = 3.6
	_, pageH := pdf.GetPageSize()
	_, _, _, bottom := pdf.GetMargins()
	total := 0.0
	for _, w := range widths {
		total += w
	}
	drawRow := func(cells []string, bold bool, fill bool) {
		style := ""
		if bold {
			style = "B"
		}
		pdf.SetFont("Helvetica", style, 7.5)
		lines := make([][]string, len(cells))
		n := 1
		for i, c := range cells {
			lines[i] = wrap(pdf, tr(c), widths[i]-2)
			n = max(n, len(lines[i]))
		}
		h := float64(n)*lh + 1.5
		x, y := pdf.GetXY()
		if y+h > pageH-bottom {
			pdf.AddPage()
			x, y = pdf.GetXY()
		}
		for i := range cells {
			if fill {
				pdf.SetFillColor(240, 240, 244)
				pdf.Rect(x, y, widths[i], h, "FD")
			} else {
				pdf.Rect(x, y, widths[i], h, "D")
			}
			for k, l := range lines[i] {
				pdf.Text(x+1, y+lh*float64(k+1), l)
			}
			x += widths[i]
		}
		pdf.SetXY(x-total, y+h)
	}
	pdf.SetDrawColor(200, 200, 200)
	if header != nil {
		drawRow(header, true, true)
	}
	for i, r := range rows {
		if header != nil {
			if _, y := pdf.GetXY(); y+2*lh > pageH-bottom {
				pdf.AddPage()
				drawRow(header, true, true)
			}
		}
		drawRow(r, false, false)
		if note == nil {
			continue
		}
		text, st := note(i)
		if text == "" {
			continue
		}
		switch st {
		case verdict.Fail:
			pdf.SetTextColor(179, 38, 30)
		case verdict.StatusUndecided:
			pdf.SetTextColor(161, 92, 0)
		}
		pdf.SetFont("Helvetica", "I", 7)
		x, _ := pdf.GetXY()
		pdf.MultiCell(total, lh, tr(text), "LRB", "L", false)
		pdf.SetX(x)
		pdf.SetTextColor(0, 0, 0)
	}
	pdf.SetDrawColor(0, 0, 0)
}

// pdfOverlay draws a signal plot with lines: the setup shaded, the band as thin vertical
// strokes per column, the before and after traces as polylines of their min/max columns,
// and a failure's worst point marked.
func pdfOverlay(pdf *fpdf.Fpdf, tr func(string) string, o overlay, w, h float64) {
	const axisW = 14.0
	x0, y0 := pdf.GetXY()
	y0 += 1
	px, pw, ph := x0+axisW, w-axisW, h-8
	xAt := func(i, n int) float64 { return px + (float64(i)+0.5)/float64(n)*pw }
	yAt := func(v float64) float64 { return y0 + (1-(v-o.ymin)/(o.ymax-o.ymin))*ph }
	t0, t1 := float64(o.t0)/1e9, float64(o.t1)/1e9
	xT := func(ns int64) float64 { return px + (float64(ns)/1e9-t0)/(t1-t0)*pw }

	pdf.SetDrawColor(180, 180, 180)
	pdf.SetLineWidth(0.2)
	pdf.Rect(px, y0, pw, ph, "D")
	pdf.SetFont("Helvetica", "", 6.5)
	pdf.SetTextColor(80, 80, 80)
	pdf.SetDrawColor(230, 230, 230)
	for _, v := range ticks(o.ymin, o.ymax, 5) {
		y := yAt(v)
		pdf.Line(px, y, px+pw, y)
		s := tr(num(v))
		pdf.Text(px-1-pdf.GetStringWidth(s), y+1, s)
	}
	for _, v := range ticks(t0, t1, 8) {
		x := px + (v-t0)/(t1-t0)*pw
		pdf.Line(x, y0, x, y0+ph)
		s := tr(num(v))
		pdf.Text(x-pdf.GetStringWidth(s)/2, y0+ph+3, s)
	}
	s := tr("time on the before run's clock (s)")
	pdf.Text(px+pw/2-pdf.GetStringWidth(s)/2, y0+ph+6.5, s)

	if o.setup > o.t0 {
		b := math.Min(xT(o.setup), px+pw)
		pdf.SetFillColor(236, 236, 236)
		pdf.Rect(px, y0, b-px, ph, "F")
		if b-px > 12 {
			pdf.Text(px+1.5, y0+ph/2, "setup")
		}
	}
	pdf.SetTextColor(0, 0, 0)
	if l := o.look; l[1] > l[0] {
		a, b := math.Max(px, xT(l[0])), math.Min(px+pw, xT(l[1]))
		if b > a {
			pdf.SetFillColor(255, 236, 170)
			pdf.Rect(a, y0, b-a, ph, "F")
		}
	}
	if o.band {
		pdf.SetDrawColor(200, 215, 240)
		pdf.SetLineWidth(pw / float64(len(o.hi)))
		for i := range o.hi {
			if !math.IsNaN(o.hi[i]) {
				x := xAt(i, len(o.hi))
				pdf.Line(x, yAt(o.hi[i]), x, yAt(o.lo[i]))
			}
		}
	}
	// the before trace wider, so that it shows on either side of an after trace that lies on it
	for _, sd := range []struct {
		s       series
		r, g, b int
		width   float64
	}{{o.before, 31, 95, 191, 0.6}, {o.after, 224, 99, 26, 0.3}} {
		pdf.SetDrawColor(sd.r, sd.g, sd.b)
		pdf.SetLineWidth(sd.width)
		var px, py float64
		pen := false
		for i, c := range sd.s.cols {
			if c.n == 0 {
				continue
			}
			if c.brk {
				pen = false
			}
			x := xAt(i, len(sd.s.cols))
			vs := []float64{c.min, c.max}
			if !c.minFirst {
				vs[0], vs[1] = c.max, c.min
			}
			for _, v := range vs {
				y := yAt(v)
				if pen {
					pdf.Line(px, py, x, y)
				}
				px, py, pen = x, y, true
			}
		}
	}
	if wst := o.worst; wst != nil {
		x := xT(wst.t)
		top, bot := yAt(wst.hi+wst.tol), yAt(wst.lo-wst.tol)
		pdf.SetDrawColor(179, 38, 30)
		pdf.SetLineWidth(0.3)
		pdf.Line(x, top, x, bot)
		pdf.Line(x-1, top, x+1, top)
		pdf.Line(x-1, bot, x+1, bot)
		pdf.SetLineWidth(0.9)
		pdf.Line(x, yAt(wst.hi), x, yAt(wst.lo))
		pdf.SetLineWidth(0.4)
		vy := yAt(wst.v)
		pdf.Circle(x, vy, 1, "D")
		pdf.SetFont("Helvetica", "B", 6.5)
		pdf.SetTextColor(179, 38, 30)
		label := "worst " + short(wst.v)
		lx, ly := x+1.8, vy-1.5
		if lx+pdf.GetStringWidth(label) > px+pw {
			lx = x - 1.8 - pdf.GetStringWidth(label)
		}
		if wst.v < wst.lo {
			ly = vy + 3.5
		}
		pdf.SetFillColor(255, 255, 255)
		pdf.Rect(lx-0.4, ly-2.4, pdf.GetStringWidth(label)+0.8, 3, "F")
		pdf.Text(lx, ly, label)
		pdf.SetTextColor(0, 0, 0)
	}
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetLineWidth(0.2)
	pdf.SetXY(x0, y0+h+1)
}
