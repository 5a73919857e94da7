package main

import (
	_ "embed"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/template"
)

// chart geometry, in SVG user units (pixels).
const (
	chartGroupW = 136
	chartLeft   = 64
	chartTop    = 78
	chartPlotH  = 300
	chartBarW   = 38
	chartMaxLog = 3.0 // the y axis spans ratios 1/8 .. 8
)

// chartSVG is the chart's template; text is escaped by its xml function.
//
//go:embed chart.svg.tmpl
var chartSVG string

var chartTemplate = template.Must(template.New("chart").Funcs(template.FuncMap{"xml": xmlText}).Parse(chartSVG))

// chartView is what the template draws: every coordinate computed here.
type chartView struct {
	Width, Height int
	Left, Right   int
	Title         string
	Grid          []gridLine
	Groups        []chartGroup
}

// gridLine is a horizontal line of the log scale and its label.
type gridLine struct {
	Y     int
	Label string
	Axis  bool // the 1.0 line
}

// chartGroup is one workload: its name, and two bars or a note.
type chartGroup struct {
	NameX, NameY int
	Name         string
	Bars         []chartBar
	Note         []chartText
}

// chartBar is a ratio bar from 1.0 and its value label.
type chartBar struct {
	X, Y, W, H     int
	Class          string
	LabelX, LabelY int
	Label          string
}

// chartText is a line of text placed at X (its middle), Y (its baseline).
type chartText struct {
	X, Y int
	Text string
}

// writeChart draws, per workload, the metastore/etcd throughput and p99
// ratios as bars from 1.0 on a log2 scale, and writes it as an SVG.
func writeChart(path string, r *report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := renderChart(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// renderChart writes r's chart as an SVG document to w.
func renderChart(w io.Writer, r *report) error {
	return chartTemplate.Execute(w, newChartView(r))
}

func newChartView(r *report) chartView {
	v := chartView{
		Width:  chartLeft + len(r.Ratios)*chartGroupW + 24,
		Height: chartTop + chartPlotH + 56,
		Left:   chartLeft,
		Title:  fmt.Sprintf("metastore/etcd ratios, mode %s, %d round(s), log scale", r.Mode.Name, r.Mode.Rounds),
	}
	v.Right = v.Width - 24
	for e := -chartMaxLog; e <= chartMaxLog; e++ {
		v.Grid = append(v.Grid, gridLine{Y: ratioY(math.Exp2(e)), Label: fmt.Sprintf("%g", math.Exp2(e)), Axis: e == 0})
	}
	for i, x := range r.Ratios {
		groupX := chartLeft + i*chartGroupW
		g := chartGroup{NameX: groupX + chartGroupW/2, NameY: chartTop + chartPlotH + 30, Name: x.Workload}
		if x.Throughput == 0 || x.P99 == 0 {
			g.Note = noteLines(groupX+chartGroupW/2, x.Note)
		} else {
			barX := groupX + (chartGroupW-2*chartBarW-8)/2
			g.Bars = []chartBar{bar(barX, x.Throughput, "throughput"), bar(barX+chartBarW+8, x.P99, "p99")}
		}
		v.Groups = append(v.Groups, g)
	}
	return v
}

// noteLines is why a workload has no bars, a word a line above the 1.0
// line.
func noteLines(x int, note string) []chartText {
	if note == "" {
		note = "n/a"
	}
	words := strings.Fields(note)
	lines := make([]chartText, len(words))
	for i, w := range words {
		lines[i] = chartText{X: x, Y: ratioY(1) - 14*(len(words)-i) + 6, Text: w}
	}
	return lines
}

// bar is one ratio bar from 1.0, its value above its end (below, for a
// ratio under 1).
func bar(x int, v float64, class string) chartBar {
	y0, y1 := ratioY(1), ratioY(v)
	top, bottom := min(y0, y1), max(y0, y1)
	b := chartBar{X: x, Y: top, W: chartBarW, H: max(bottom-top, 1), Class: class,
		LabelX: x + chartBarW/2, Label: fmt.Sprintf("%.2f", v)}
	if v >= 1 {
		b.LabelY = top - 5
	} else {
		b.LabelY = bottom + 14
	}
	return b
}

// ratioY maps a ratio to its y coordinate, clamped to the plot.
func ratioY(v float64) int {
	l := math.Max(-chartMaxLog, math.Min(chartMaxLog, math.Log2(v)))
	return chartTop + int(float64(chartPlotH)*(chartMaxLog-l)/(2*chartMaxLog))
}

// xmlText escapes s as XML character data.
func xmlText(s string) (string, error) {
	var b strings.Builder
	err := xml.EscapeText(&b, []byte(s))
	return b.String(), err
}
