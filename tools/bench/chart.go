package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"
)

var (
	colBackground = color.RGBA{255, 255, 255, 255}
	colGrid       = color.RGBA{225, 225, 225, 255}
	colAxis       = color.RGBA{60, 60, 60, 255}
	colText       = color.RGBA{30, 30, 30, 255}
	colMuted      = color.RGBA{150, 150, 150, 255}
	colThroughput = color.RGBA{52, 101, 164, 255}
	colP99        = color.RGBA{230, 126, 34, 255}
)

// chart geometry, in pixels.
const (
	chartGroupW = 136
	chartLeft   = 64
	chartTop    = 78
	chartPlotH  = 300
	chartBarW   = 38
	chartMaxLog = 3.0 // the y axis spans ratios 1/8 .. 8
)

// writeChart draws, per workload, the metastore/etcd throughput and p99
// ratios as bars from 1.0 on a log2 scale, and writes it as a PNG.
func writeChart(path string, r *report) error {
	w := chartLeft + len(r.Ratios)*chartGroupW + 24
	h := chartTop + chartPlotH + 56
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, 0, 0, w, h, colBackground)

	title := fmt.Sprintf("metastore/etcd ratios, mode %s, %d round(s), log scale", r.Mode.Name, r.Mode.Rounds)
	drawText(img, chartLeft, 10, title, colText)
	fillRect(img, chartLeft, 34, 14, 10, colThroughput)
	drawText(img, chartLeft+20, 34, "throughput (higher = metastore faster)", colText)
	fillRect(img, chartLeft, 52, 14, 10, colP99)
	drawText(img, chartLeft+20, 52, "p99 latency (lower = metastore faster)", colText)

	right := w - 24
	for e := -chartMaxLog; e <= chartMaxLog; e++ {
		y := ratioY(math.Exp2(e))
		c := colGrid
		if e == 0 {
			c = colAxis
		}
		fillRect(img, chartLeft, y, right-chartLeft, 1, c)
		label := fmt.Sprintf("%g", math.Exp2(e))
		drawText(img, chartLeft-8-textWidth(label), y-5, label, colText)
	}
	for i, x := range r.Ratios {
		gx := chartLeft + i*chartGroupW + (chartGroupW-2*chartBarW-8)/2
		name := x.Workload
		drawText(img, chartLeft+i*chartGroupW+(chartGroupW-textWidth(name))/2, chartTop+chartPlotH+22, name, colText)
		if x.Throughput == 0 || x.P99 == 0 {
			drawNote(img, chartLeft+i*chartGroupW, x.Note)
			continue
		}
		drawBar(img, gx, x.Throughput, colThroughput)
		drawBar(img, gx+chartBarW+8, x.P99, colP99)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// drawNote writes why a workload has no bars, centred in its group.
func drawNote(img *image.RGBA, groupX int, note string) {
	if note == "" {
		note = "n/a"
	}
	words := strings.Fields(note)
	for i, w := range words {
		drawText(img, groupX+(chartGroupW-textWidth(w))/2, ratioY(1)-14*(len(words)-i)-4, w, colMuted)
	}
}

// drawBar draws one ratio bar from 1.0 and its value beyond the bar's end.
func drawBar(img *image.RGBA, x int, v float64, c color.Color) {
	y0, y1 := ratioY(1), ratioY(v)
	top, bottom := min(y0, y1), max(y0, y1)
	fillRect(img, x, top, chartBarW, max(bottom-top, 1), c)
	label := fmt.Sprintf("%.2f", v)
	lx := x + (chartBarW-textWidth(label))/2
	if v >= 1 {
		drawText(img, lx, top-14, label, colText)
	} else {
		drawText(img, lx, bottom+4, label, colText)
	}
}

// ratioY maps a ratio to its y pixel, clamped to the plot.
func ratioY(v float64) int {
	l := math.Max(-chartMaxLog, math.Min(chartMaxLog, math.Log2(v)))
	return chartTop + int(float64(chartPlotH)*(chartMaxLog-l)/(2*chartMaxLog))
}
