// Command compatrun runs etcd's end-to-end suite (go.etcd.io/etcd/tests/v3,
// package common, built with the e2e tag) against the binaries in a bin
// directory, one top-level test per process, and writes a per-test report.
//
// Each top-level test gets its own process because the suite skips every
// test that follows one whose goroutines leaked, and a failing e2e test
// usually leaks (the etcdctl it was waiting on). A unit is a leaf test, named
// by its full name (TestKVPut/NoTLS, TestLeaseGrantAndList/NoTLS/one_lease).
//
// With -list, only the listed units run and the command fails when one of
// them does not pass: the ratchet. Without it, every test runs and the units
// that pass but are missing from -known are listed (and added with -grow).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

type config struct {
	goTool      string
	testBin     string
	binDir      string
	fixtures    string
	out         string
	run         string
	list        string
	known       string
	grow        bool
	testTimeout time.Duration
	budget      time.Duration
	retries     int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.goTool, "go", "go", "go command, for `go tool test2json`")
	flag.StringVar(&cfg.testBin, "test-bin", "", "the suite's test binary (go test -c -tags e2e go.etcd.io/etcd/tests/v3/common)")
	flag.StringVar(&cfg.binDir, "bin-dir", "", "directory holding etcd, etcdctl and etcdutl, passed to the suite as -bin-dir")
	flag.StringVar(&cfg.fixtures, "fixtures", "", "the suite's fixtures directory (tests/v3/fixtures in the module cache)")
	flag.StringVar(&cfg.out, "out", "compat-results", "directory for the report, the logs and the suite's working directory")
	flag.StringVar(&cfg.run, "run", "", "regexp selecting top-level tests (all when empty)")
	flag.StringVar(&cfg.list, "list", "", "ratchet: run only the units in this file and fail if one does not pass")
	flag.StringVar(&cfg.known, "known", "", "the checked-in list of passing units, to report new passes against")
	flag.BoolVar(&cfg.grow, "grow", false, "add the units that newly pass to -known (it never shrinks)")
	flag.DurationVar(&cfg.testTimeout, "test-timeout", 5*time.Minute, "-test.timeout of each top-level test's process")
	flag.DurationVar(&cfg.budget, "budget", 45*time.Minute, "start no new test after this long; the rest are reported as not run")
	flag.IntVar(&cfg.retries, "retries", 0, "run a top-level test again up to this many times while a unit of it fails; the report names the units that passed only on a retry")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "compatrun:", err)
		os.Exit(1)
	}
}

// errRegressed is returned when a unit of the ratchet list did not pass.
var errRegressed = errors.New("units of the ratchet list did not pass")

func run(cfg config) error {
	if cfg.testBin == "" || cfg.binDir == "" || cfg.fixtures == "" {
		return errors.New("-test-bin, -bin-dir and -fixtures are required")
	}
	// The suite runs in <out>/run/common: every path it gets is absolute.
	for _, p := range []*string{&cfg.testBin, &cfg.binDir, &cfg.fixtures, &cfg.out} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	workDir, err := layout(cfg)
	if err != nil {
		return err
	}
	plan, err := makePlan(cfg, workDir)
	if err != nil {
		return err
	}
	units, err := execute(cfg, workDir, plan)
	if err != nil {
		return err
	}
	if err := writeFiles(cfg.out, units); err != nil {
		return err
	}
	if cfg.list != "" {
		err = checkRatchet(plan, units)
	} else if cfg.known != "" {
		err = compareKnown(cfg, units)
	}
	fmt.Println(count(units).Summary())
	return err
}

// layout prepares <out>/run/common as the suite's working directory, with
// <out>/run/fixtures linked to the fixtures: the suite finds them at
// ../fixtures. Old logs are removed.
func layout(cfg config) (string, error) {
	runDir := filepath.Join(cfg.out, "run")
	workDir := filepath.Join(runDir, "common")
	if err := os.RemoveAll(filepath.Join(cfg.out, "logs")); err != nil {
		return "", err
	}
	for _, d := range []string{workDir, filepath.Join(cfg.out, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	link := filepath.Join(runDir, "fixtures")
	_ = os.Remove(link)
	if err := os.Symlink(cfg.fixtures, link); err != nil {
		return "", err
	}
	return workDir, nil
}

// step is one process: a top-level test and, for the ratchet, the units of
// it to run (nil: all of them).
type step struct {
	top  string
	subs []string
}

func makePlan(cfg config, workDir string) ([]step, error) {
	if cfg.list != "" {
		names, err := readList(cfg.list)
		if err != nil {
			return nil, err
		}
		return planFromList(names), nil
	}
	pattern := cfg.run
	if pattern == "" {
		pattern = "."
	}
	cmd := exec.Command(cfg.testBin, "-test.list", pattern, "-bin-dir", cfg.binDir)
	cmd.Dir = workDir
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list tests: %w", err)
	}
	var plan []step
	for _, line := range strings.Fields(string(outb)) {
		if strings.HasPrefix(line, "Test") {
			plan = append(plan, step{top: line})
		}
	}
	return plan, nil
}

// planFromList groups unit names by top-level test, keeping the list's
// order of first appearance. A bare top-level name runs the whole test.
func planFromList(names []string) []step {
	var plan []step
	index := map[string]int{}
	whole := map[string]bool{}
	for _, n := range names {
		top, sub, isSub := strings.Cut(n, "/")
		i, ok := index[top]
		if !ok {
			i = len(plan)
			index[top] = i
			plan = append(plan, step{top: top})
		}
		if !isSub {
			whole[top] = true
			continue
		}
		plan[i].subs = append(plan[i].subs, sub)
	}
	for i := range plan {
		if whole[plan[i].top] {
			plan[i].subs = nil
		}
	}
	return plan
}

// runPattern is the -test.run value for a step: testing splits a name at
// every "/" and matches it level by level against the pattern's own
// "/"-separated levels, and a top-level "|" separates whole alternatives.
// So each listed unit becomes one alternative, exact at every level.
func (s step) runPattern() string {
	top := "^" + regexp.QuoteMeta(s.top) + "$"
	if len(s.subs) == 0 {
		return top
	}
	alts := make([]string, len(s.subs))
	for i, sub := range s.subs {
		levels := []string{top}
		for _, elem := range strings.Split(sub, "/") {
			levels = append(levels, "^"+regexp.QuoteMeta(elem)+"$")
		}
		alts[i] = strings.Join(levels, "/")
	}
	return strings.Join(alts, "|")
}

func execute(cfg config, workDir string, plan []step) ([]*Unit, error) {
	start := time.Now()
	var units []*Unit
	var flaky []string
	for _, s := range plan {
		if time.Since(start) > cfg.budget {
			units = append(units, &Unit{Name: s.top, Status: NotRun})
			continue
		}
		t0 := time.Now()
		got, err := runStep(cfg, workDir, s, "")
		if err != nil {
			return nil, err
		}
		// A retry reruns the whole step: the suite's units of one test
		// share a cluster and its timing, and 10 s deadlines inside the
		// suite are what a busy machine misses.
		for attempt := 1; attempt <= cfg.retries && anyFailed(got); attempt++ {
			failed := failedNames(got)
			fmt.Printf("RETRY  %s (attempt %d; failed: %s)\n", s.top, attempt+1, strings.Join(failed, ", "))
			if got, err = runStep(cfg, workDir, s, fmt.Sprintf(".retry%d", attempt)); err != nil {
				return nil, err
			}
			for _, u := range got {
				if u.Status == Pass && contains(failed, u.Name) {
					u.Reason = fmt.Sprintf("passed on attempt %d", attempt+1)
					flaky = append(flaky, u.Name)
				}
			}
		}
		for _, u := range got {
			fmt.Printf("%-6s %s (%s)\n", u.Status, u.Name, time.Since(t0).Round(100*time.Millisecond))
		}
		units = append(units, got...)
	}
	if len(flaky) > 0 {
		fmt.Fprintln(os.Stderr, "passed only on a retry (flaky here):")
		for _, n := range flaky {
			fmt.Fprintln(os.Stderr, "  "+n)
		}
	}
	return units, nil
}

func anyFailed(units []*Unit) bool { return len(failedNames(units)) > 0 }

func failedNames(units []*Unit) []string {
	var names []string
	for _, u := range units {
		if u.Status == Fail {
			names = append(names, u.Name)
		}
	}
	return names
}

// runStep runs one top-level test through test2json, saving its output as
// <out>/logs/<test><suffix>.log.
func runStep(cfg config, workDir string, s step, suffix string) ([]*Unit, error) {
	logFile, err := os.Create(filepath.Join(cfg.out, "logs", s.top+suffix+".log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(cfg.goTool, "tool", "test2json", "-t", "-p", "common",
		cfg.testBin, "-test.v=test2json", "-test.run", s.runPattern(),
		"-test.timeout", cfg.testTimeout.String(), "-bin-dir", cfg.binDir)
	cmd.Dir = workDir
	cmd.Stderr = logFile
	var jsonOut bytes.Buffer
	cmd.Stdout = &jsonOut
	runErr := cmd.Run()
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return nil, fmt.Errorf("run %s: %w", s.top, runErr)
	}
	c := newCollector()
	if err := decode(io.TeeReader(&jsonOut, &outputWriter{w: logFile}), c); err != nil {
		return nil, fmt.Errorf("%s: %w", s.top, err)
	}
	return c.finish(s.top), nil
}

// outputWriter writes the Output of the test2json events passing through
// it, so that the log reads like `go test -v`.
type outputWriter struct {
	w       io.Writer
	partial []byte
}

func (o *outputWriter) Write(p []byte) (int, error) {
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		var ev event
		if json.Unmarshal(o.partial[:i], &ev) == nil && ev.Action == "output" {
			if _, err := io.WriteString(o.w, ev.Output); err != nil {
				return 0, err
			}
		}
		o.partial = o.partial[i+1:]
	}
}

// writeFiles writes <out>/report.txt and <out>/passing.txt.
func writeFiles(out string, units []*Unit) error {
	var report bytes.Buffer
	if err := writeReport(&report, units); err != nil {
		return err
	}
	fmt.Fprintf(&report, "\n%s\n", count(units).Summary())
	if err := os.WriteFile(filepath.Join(out, "report.txt"), report.Bytes(), 0o644); err != nil {
		return err
	}
	var passing []string
	for _, u := range units {
		if u.Status == Pass {
			passing = append(passing, u.Name)
		}
	}
	return os.WriteFile(filepath.Join(out, "passing.txt"), []byte(joinLines(passing)), 0o644)
}

// checkRatchet returns errRegressed unless every listed unit passed; a bare
// top-level name needs all its units to pass or skip, and one to pass.
func checkRatchet(plan []step, units []*Unit) error {
	status := map[string]Status{}
	for _, u := range units {
		status[u.Name] = u.Status
	}
	var regressed []string
	for _, s := range plan {
		if len(s.subs) > 0 {
			for _, sub := range s.subs {
				if n := s.top + "/" + sub; status[n] != Pass {
					regressed = append(regressed, n)
				}
			}
			continue
		}
		passed := false
		for _, u := range units {
			if u.Name != s.top && !strings.HasPrefix(u.Name, s.top+"/") {
				continue
			}
			passed = passed || u.Status == Pass
			if u.Status != Pass && u.Status != Skip {
				regressed = append(regressed, u.Name)
			}
		}
		if !passed && !contains(regressed, s.top) {
			regressed = append(regressed, s.top)
		}
	}
	if len(regressed) == 0 {
		return nil
	}
	fmt.Fprintln(os.Stderr, "regressed (listed as passing, did not pass):")
	for _, n := range regressed {
		fmt.Fprintln(os.Stderr, "  "+n)
	}
	return errRegressed
}

func compareKnown(cfg config, units []*Unit) error {
	known, err := readList(cfg.known)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	listed := map[string]bool{}
	for _, n := range known {
		listed[n] = true
	}
	var added []string
	for _, u := range units {
		if u.Status == Pass && !listed[u.Name] {
			added = append(added, u.Name)
			listed[u.Name] = true
		}
	}
	for _, u := range units {
		if listed[u.Name] && u.Status == Fail {
			fmt.Fprintf(os.Stderr, "listed in %s but failed: %s\n", cfg.known, u.Name)
		}
	}
	if len(added) == 0 {
		return nil
	}
	if !cfg.grow {
		fmt.Fprintf(os.Stderr, "%d units pass that %s does not list (make compat-grow adds them):\n", len(added), cfg.known)
		for _, n := range added {
			fmt.Fprintln(os.Stderr, "  "+n)
		}
		return nil
	}
	return writeList(cfg.known, sortedKeys(listed))
}

// readList reads unit names, one a line; blank lines and # comments are
// ignored.
func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	return names, sc.Err()
}

// writeList rewrites a list file, keeping its leading comment block.
func writeList(path string, names []string) error {
	var header []string
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, "#") {
				break
			}
			header = append(header, line)
		}
	}
	sort.Strings(names)
	return os.WriteFile(path, []byte(joinLines(append(header, names...))), 0o644)
}

func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
