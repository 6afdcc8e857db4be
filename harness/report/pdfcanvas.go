package report

import (
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/go-pdf/fpdf"
)

// pdfCanvas draws a plot into a PDF page at (ox, oy) mm, scaled so that the plot's width
// fills w mm: text, line widths and marks scale with it, so the page shows what the HTML
// shows. Each plot is a marked-content sequence tagged /Figure with the plot's label as its
// alternate text (what the SVG's aria-label says), so readers and tests find the plots.
type pdfCanvas struct {
	pdf    *fpdf.Fpdf
	ox, oy float64 // where the plot's origin lies on the page, mm
	w      float64 // the plot's width on the page, mm
	s      float64 // mm per plot unit, set by begin
}

// rgb is a colour; ok false means none (the element is not filled or not stroked).
type rgb struct {
	r, g, b int
	ok      bool
}

func hexRGB(h uint32) rgb { return rgb{int(h >> 16 & 0xff), int(h >> 8 & 0xff), int(h & 0xff), true} }

// pdfStyle is how the PDF draws an element of a class: the report.html stylesheet's rules
// for the plots, in Go.
type pdfStyle struct {
	fill, stroke rgb
	alpha        float64 // 0: opaque
	width        float64 // stroke width in plot units
	dash         []float64
	bold         bool
}

// styleOf is the style of an element of kind ("rect", "line", "path", "circle", "text")
// with the classes in class, later classes overriding earlier ones as in the stylesheet.
func styleOf(kind, class string) pdfStyle {
	st := pdfStyle{width: 1}
	switch kind {
	case "rect", "text":
		st.fill = hexRGB(0x000000)
	}
	if kind == "text" {
		st.fill = hexRGB(0x444444)
	}
	for _, cl := range strings.Fields(class) {
		switch cl {
		case "plotbg":
			st.fill, st.stroke = hexRGB(0xfafafa), hexRGB(0xbbbbbb)
		case "grid":
			st.stroke = hexRGB(0xe6e6e6)
		case "before", "after":
			c := hexRGB(0x1f5fbf)
			st.width = 2.6
			if cl == "after" {
				c, st.width = hexRGB(0xe0631a), 1.3
			}
			if kind == "rect" {
				st.fill = c
			} else {
				st.fill, st.stroke = rgb{}, c
			}
		case "band", "bandkey":
			st.fill, st.stroke, st.alpha = hexRGB(0x1f5fbf), rgb{}, 0.15
		case "none":
			st.fill = rgb{}
		case "where":
			st.fill, st.alpha = hexRGB(0xffd54f), 0.25
		case "setup":
			st.fill, st.alpha = hexRGB(0x000000), 0.07
		case "sl":
			st.fill = hexRGB(0x777777)
		case "allowed":
			st.fill, st.stroke, st.width = rgb{}, hexRGB(0xb3261e), 1.5
		case "envelope":
			st.stroke, st.width = hexRGB(0xb3261e), 4
		case "value":
			st.fill, st.stroke, st.width = rgb{}, hexRGB(0xb3261e), 2
		case "wl":
			st.fill, st.bold = hexRGB(0xb3261e), true
		case "worstkey":
			st.fill = hexRGB(0xb3261e)
		case "beforebar":
			st.fill, st.alpha = hexRGB(0x1f5fbf), 0.45
		case "afterbar":
			st.fill, st.alpha = hexRGB(0xe0631a), 0.45
		case "median":
			st.dash, st.width = []float64{4, 3}, 1.5
		case "ev":
			st.fill = hexRGB(0x666666)
		case "mark", "mk":
			st.fill = hexRGB(0x6a1b9a)
		case "check-pass":
			st.fill = hexRGB(0x1e7d32)
		case "check-fail", "fault", "abort":
			st.fill = hexRGB(0xb3261e)
		case "check-inconclusive", "missed":
			st.fill = hexRGB(0xa15c00)
		case "transition":
			st.fill = hexRGB(0x888888)
		case "gap":
			st.fill, st.alpha = hexRGB(0xb3261e), 0.3
		case "step_start":
			st.fill = hexRGB(0x333333)
		case "step_end":
			st.fill = hexRGB(0xaaaaaa)
		}
	}
	return st
}

// plotFontSize is the plots' text size in plot units (the stylesheet's 11px).
const plotFontSize = 11.0

func (c *pdfCanvas) X(x float64) float64 { return c.ox + x*c.s }
func (c *pdfCanvas) Y(y float64) float64 { return c.oy + y*c.s }

// apply sets the colours, width and dash of st and returns the fpdf draw style ("F", "D",
// "FD"; "" draws nothing).
func (c *pdfCanvas) apply(st pdfStyle) string {
	p := c.pdf
	op := ""
	if st.fill.ok {
		p.SetFillColor(st.fill.r, st.fill.g, st.fill.b)
		op += "F"
	}
	if st.stroke.ok {
		p.SetDrawColor(st.stroke.r, st.stroke.g, st.stroke.b)
		p.SetLineWidth(st.width * c.s)
		op += "D"
	}
	if st.alpha > 0 {
		p.SetAlpha(st.alpha, "Normal")
	}
	if st.dash != nil {
		d := make([]float64, len(st.dash))
		for i, v := range st.dash {
			d[i] = v * c.s
		}
		p.SetDashPattern(d, 0)
	}
	return op
}

func (c *pdfCanvas) reset(st pdfStyle) {
	if st.alpha > 0 {
		c.pdf.SetAlpha(1, "Normal")
	}
	if st.dash != nil {
		c.pdf.SetDashPattern(nil, 0)
	}
}

func (c *pdfCanvas) begin(w, h float64, label string) {
	c.s = c.w / w
	c.pdf.RawWriteStr("/Figure <</Alt " + pdfTextString(label) + ">> BDC")
}

func (c *pdfCanvas) end() {
	c.pdf.RawWriteStr("EMC")
	c.pdf.SetDrawColor(0, 0, 0)
	c.pdf.SetFillColor(0, 0, 0)
	c.pdf.SetTextColor(0, 0, 0)
	c.pdf.SetLineWidth(0.2)
}

func (c *pdfCanvas) rect(x, y, w, h float64, class, _ string) {
	st := styleOf("rect", class)
	if op := c.apply(st); op != "" {
		c.pdf.Rect(c.X(x), c.Y(y), w*c.s, h*c.s, op)
	}
	c.reset(st)
}

func (c *pdfCanvas) line(x1, y1, x2, y2 float64, class string) {
	st := styleOf("line", class)
	if op := c.apply(st); strings.Contains(op, "D") {
		c.pdf.Line(c.X(x1), c.Y(y1), c.X(x2), c.Y(y2))
	}
	c.reset(st)
}

func (c *pdfCanvas) path(p *pathD, class, _ string) {
	if len(p.ops) == 0 {
		return
	}
	st := styleOf("path", class)
	op := c.apply(st)
	if op != "" {
		for _, o := range p.ops {
			switch o.kind {
			case 'M':
				c.pdf.MoveTo(c.X(o.x), c.Y(o.y))
			case 'L':
				c.pdf.LineTo(c.X(o.x), c.Y(o.y))
			case 'Z':
				c.pdf.ClosePath()
			}
		}
		c.pdf.DrawPath(op)
	}
	c.reset(st)
}

func (c *pdfCanvas) circle(cx, cy, r float64, class string) {
	st := styleOf("circle", class)
	if op := c.apply(st); op != "" {
		c.pdf.Circle(c.X(cx), c.Y(cy), r*c.s, op)
	}
	c.reset(st)
}

func (c *pdfCanvas) text(x, y float64, s, class, anchor string, rotated bool) {
	if s == "" {
		return
	}
	st := styleOf("text", class)
	p := c.pdf
	style := ""
	if st.bold {
		style = "B"
	}
	p.SetFont(pdfFont, style, plotFontSize*c.s*72/25.4)
	w := p.GetStringWidth(s)
	X, Y := c.X(x), c.Y(y)
	if rotated {
		p.TransformBegin()
		p.TransformRotate(90, X, Y)
	}
	switch anchor {
	case "middle":
		X -= w / 2
	case "end":
		X -= w
	}
	if class == "wl" { // the stylesheet's white halo, so the label reads over the traces
		p.SetFillColor(255, 255, 255)
		h := plotFontSize * c.s
		p.Rect(X-0.4, Y-h*0.8, w+0.8, h, "F")
	}
	p.SetTextColor(st.fill.r, st.fill.g, st.fill.b)
	p.Text(X, Y, s)
	if rotated {
		p.TransformEnd()
	}
	p.SetTextColor(0, 0, 0)
}

func (c *pdfCanvas) group(string, string) {}
func (c *pdfCanvas) endGroup()            {}

// pdfTextString is s as a PDF text string: UTF-16BE with a byte order mark, in hex.
func pdfTextString(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}
