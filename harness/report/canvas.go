package report

import (
	"fmt"
	"strings"
)

// canvas is what a plot draws on: an inline SVG in report.html (svgCanvas) or a region of a
// page of report.pdf (pdfCanvas). A plot is drawn once, in its own units (plotW wide, y
// down), and each canvas renders it: the decimation, the ticks, the scaling and the layout
// are the same code for both reports. class names what an element is ("before", "grid",
// "ev check-fail"); the HTML styles it with CSS, the PDF with pdfStyle. title is a tooltip
// (the HTML shows it on hover; paper has none).
type canvas interface {
	begin(w, h float64, label string) // the plot's size in its units, and what it shows
	rect(x, y, w, h float64, class, title string)
	line(x1, y1, x2, y2 float64, class string)
	path(p *pathD, class, title string)
	circle(cx, cy, r float64, class string)
	// text at (x, y) on its baseline; anchor is start, middle or end; rotated turns it a
	// quarter turn counter-clockwise about (x, y).
	text(x, y float64, s, class, anchor string, rotated bool)
	group(class, title string) // the elements up to endGroup belong together
	endGroup()
	end()
}

// pathD is a path of straight segments, built once and rendered by either canvas.
type pathD struct {
	ops []pathOp
}

type pathOp struct {
	kind byte // 'M', 'L' or 'Z'
	x, y float64
}

func (p *pathD) move(x, y float64) { p.ops = append(p.ops, pathOp{'M', x, y}) }
func (p *pathD) to(x, y float64)   { p.ops = append(p.ops, pathOp{'L', x, y}) }
func (p *pathD) close()            { p.ops = append(p.ops, pathOp{kind: 'Z'}) }

// svg is the path's d attribute, coordinates to one decimal.
func (p *pathD) svg() string {
	var b strings.Builder
	for _, op := range p.ops {
		b.WriteByte(op.kind)
		if op.kind != 'Z' {
			b.WriteString(c1(op.x))
			b.WriteByte(' ')
			b.WriteString(c1(op.y))
		}
	}
	return b.String()
}

// svgCanvas writes an <svg> element that scales to the page's width.
type svgCanvas struct {
	b strings.Builder
}

func (c *svgCanvas) begin(w, h float64, label string) {
	fmt.Fprintf(&c.b, `<svg viewBox="0 0 %s %s" width="100%%" role="img" aria-label="%s">`, c1(w), c1(h), esc(label))
}

func titled(title string) string {
	if title == "" {
		return "/>"
	}
	return "><title>" + esc(title) + "</title>"
}

func closing(tag, title string) string {
	if title == "" {
		return ""
	}
	return "</" + tag + ">"
}

func (c *svgCanvas) rect(x, y, w, h float64, class, title string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" class="%s"%s%s`,
		c1(x), c1(y), c1(w), c1(h), esc(class), titled(title), closing("rect", title))
}

func (c *svgCanvas) line(x1, y1, x2, y2 float64, class string) {
	fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="%s"/>`, c1(x1), c1(y1), c1(x2), c1(y2), esc(class))
}

func (c *svgCanvas) path(p *pathD, class, title string) {
	fmt.Fprintf(&c.b, `<path d="%s" class="%s"%s%s`, p.svg(), esc(class), titled(title), closing("path", title))
}

func (c *svgCanvas) circle(cx, cy, r float64, class string) {
	fmt.Fprintf(&c.b, `<circle cx="%s" cy="%s" r="%s" class="%s"/>`, c1(cx), c1(cy), c1(r), esc(class))
}

func (c *svgCanvas) text(x, y float64, s, class, anchor string, rotated bool) {
	fmt.Fprintf(&c.b, `<text x="%s" y="%s" class="%s"`, c1(x), c1(y), esc(class))
	if anchor != "" && anchor != "start" {
		fmt.Fprintf(&c.b, ` text-anchor="%s"`, anchor)
	}
	if rotated {
		fmt.Fprintf(&c.b, ` transform="rotate(-90 %s %s)"`, c1(x), c1(y))
	}
	fmt.Fprintf(&c.b, `>%s</text>`, esc(s))
}

func (c *svgCanvas) group(class, title string) {
	fmt.Fprintf(&c.b, `<g class="%s">`, esc(class))
	if title != "" {
		fmt.Fprintf(&c.b, `<title>%s</title>`, esc(title))
	}
}

func (c *svgCanvas) endGroup() { c.b.WriteString("</g>") }
func (c *svgCanvas) end()      { c.b.WriteString("</svg>") }

func (c *svgCanvas) String() string { return c.b.String() }
