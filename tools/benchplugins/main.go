// Command metastore-bench-plugins measures what running the storage engine
// out of process costs: the same put and range workload against three
// single-member MetaStore servers, whose engines are the built-in bbolt,
// bbolt as a plugin process, and the RocksDB plugin. It prints throughput
// and latency per phase, and each one's ratio to the built-in engine.
//
//	make bench-plugins        # builds bin/, then runs this
//
// Phases, each after a restart where it says "cold" so that the host's
// value cache is empty and every value comes from the engine:
//
//	put      C clients put N keys of 256-byte values
//	get      cold: every key once, by single-key serializable Get, random order
//	range    cold: every key once, in pages of rangePage keys (one engine
//	         read each)
//
// Every server runs once per round, in turn, so that load from elsewhere on
// the machine spreads over all of them; the median round is reported.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

func main() {
	binDir := flag.String("bin", "bin", "directory holding metastore and the metastore-storage-* plugins")
	keys := flag.Int("keys", 20000, "keys written (and read)")
	clients := flag.Int("clients", 16, "concurrent clients")
	rounds := flag.Int("rounds", 3, "rounds; each runs every server once, in turn, and the median is reported")
	valueSize := flag.Int("value-size", 256, "value size in bytes")
	flag.Parse()
	if err := run(*binDir, *keys, *clients, *valueSize, *rounds, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "metastore-bench-plugins:", err)
		os.Exit(1)
	}
}

// engineSetup is one server configuration under test.
type engineSetup struct {
	name   string // as printed
	engine string // storage-engine
	plugin string // plugin binary name, "" for a built-in engine
}

var setups = []engineSetup{
	{name: "bbolt in process", engine: "bbolt"},
	{name: "bbolt plugin", engine: "bbolt-plugin", plugin: "metastore-storage-bbolt"},
	{name: "rocksdb plugin", engine: "rocksdb-plugin", plugin: "metastore-storage-rocksdb"},
}

func run(binDir string, keys, clients, valueSize, rounds int, out io.Writer) (err error) {
	binDir, err = filepath.Abs(binDir)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "metastore-bench-plugins-")
	if err != nil {
		return err
	}
	defer func() {
		if err == nil {
			os.RemoveAll(work)
		}
	}()
	w := workload{keys: keys, clients: clients, value: make([]byte, valueSize)}
	fmt.Fprintf(out, "workload: %d keys, %d-byte values, %d clients, %d-key range pages; median of %d rounds\n\n",
		keys, valueSize, clients, rangePage, rounds)
	runs := make([][][]phaseResult, len(setups)) // setup, round, phase
	for r := range rounds {
		for i, s := range setups {
			dir := filepath.Join(work, fmt.Sprintf("s%d-r%d", i, r))
			cfg, err := writeConfig(dir, binDir, s)
			if err != nil {
				return err
			}
			res, err := w.runAll(context.Background(), filepath.Join(binDir, "metastore"), cfg, dir)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			runs[i] = append(runs[i], res)
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	results := make([][]phaseResult, len(setups))
	for i, s := range setups {
		results[i] = medians(runs[i])
		for _, r := range results[i] {
			fmt.Fprintf(out, "%-18s %-6s %9.0f ops/s  p50 %8v  p99 %8v\n", s.name, r.phase, r.opsPerSec, r.p50, r.p99)
		}
	}
	fmt.Fprintln(out, "\nthroughput relative to bbolt in process (1.00 = same; <1 slower):")
	for i := 1; i < len(setups); i++ {
		fmt.Fprintf(out, "%-18s", setups[i].name)
		for j, r := range results[i] {
			base := results[0][j]
			fmt.Fprintf(out, "  %s %.2f (p50 x%.2f)", r.phase, r.opsPerSec/base.opsPerSec, float64(r.p50)/float64(base.p50))
		}
		fmt.Fprintln(out)
	}
	return nil
}

// writeConfig writes the member's config file into dir.
func writeConfig(dir, binDir string, s engineSetup) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	text := "storage-engine: " + s.engine + "\n"
	if s.plugin != "" {
		bin := filepath.Join(binDir, s.plugin)
		data, err := os.ReadFile(bin)
		if err != nil {
			return "", fmt.Errorf("%w (run make build)", err)
		}
		sum := sha256.Sum256(data)
		text += fmt.Sprintf("plugins:\n  - {kind: storage, name: %s, path: %s, sha256: %s}\n", s.engine, bin, hex.EncodeToString(sum[:]))
	}
	file := filepath.Join(dir, "metastore.yaml")
	return file, os.WriteFile(file, []byte(text), 0o600)
}

// medians returns, per phase, the median over rounds of each figure.
func medians(rounds [][]phaseResult) []phaseResult {
	out := make([]phaseResult, len(rounds[0]))
	for p := range out {
		var ops []float64
		var p50, p99 []time.Duration
		for _, r := range rounds {
			ops = append(ops, r[p].opsPerSec)
			p50 = append(p50, r[p].p50)
			p99 = append(p99, r[p].p99)
		}
		slices.Sort(ops)
		slices.Sort(p50)
		slices.Sort(p99)
		out[p] = phaseResult{phase: rounds[0][p].phase, opsPerSec: ops[len(ops)/2], p50: p50[len(p50)/2], p99: p99[len(p99)/2]}
	}
	return out
}

// phaseResult is one phase's measurement.
type phaseResult struct {
	phase     string
	opsPerSec float64
	p50, p99  time.Duration
}
