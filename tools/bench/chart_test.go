package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// The chart is a well-formed SVG document: two bars per workload with
// ratios, a note for one without, and its text escaped.
func TestChartSVG(t *testing.T) {
	r := &report{Mode: mode{Name: "quick", Rounds: 2}, Ratios: []ratio{
		{Workload: "put", Throughput: 1.5, P99: 0.5},
		{Workload: "range<&>", Throughput: 8, P99: 1},
		{Workload: "txn", Note: "unsupported by metastore"},
	}}
	var buf bytes.Buffer
	if err := renderChart(&buf, r); err != nil {
		t.Fatal(err)
	}
	rects := map[string]int{}
	var texts []string
	dec := xml.NewDecoder(&buf)
	var inText bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, buf.String())
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
			if tok.Name.Local == "rect" {
				for _, a := range tok.Attr {
					if a.Name.Local == "class" {
						rects[a.Value]++
					}
				}
			}
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			inText = false
		}
	}
	// One legend swatch each, plus a bar per workload with ratios.
	if rects["throughput"] != 3 || rects["p99"] != 3 {
		t.Errorf("bars: %v, want 3 throughput and 3 p99 (legend included)", rects)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"metastore/etcd ratios, mode quick, 2 round(s), log scale", "range<&>", "1.50", "0.50", "8.00",
		"unsupported", "metastore", "0.125", "8"} {
		if !strings.Contains(all, want) {
			t.Errorf("chart text lacks %q: %s", want, all)
		}
	}
}
