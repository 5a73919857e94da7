package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Status is the outcome of one unit.
type Status string

// The outcomes a unit can have. NotRun marks a unit that was never started
// because the run's time budget was spent.
const (
	Pass   Status = "PASS"
	Fail   Status = "FAIL"
	Skip   Status = "SKIP"
	NotRun Status = "NOTRUN"
)

// event is one line of `go tool test2json` output.
type event struct {
	Action string
	Test   string
	Output string
}

// Unit is what the report counts: a leaf test, one that ran no subtests
// (TestKVPut/NoTLS, TestLeaseGrantAndList/NoTLS/one_lease, TestAlarm), named
// by its full name. A test that failed although none of its subtests did
// (a failure before or after them, or a process that died) is a unit too.
type Unit struct {
	Name   string
	Status Status
	// Reason is the first failure line for Fail, the skip message for Skip.
	Reason string
	// Output holds the unit's own output lines.
	Output []string
}

// collector builds units from the test2json events of one test process.
// Subtest names may contain "/" themselves (t.Run("NoTLS/one_lease")), so
// the tree is rebuilt from the names that actually ran.
type collector struct {
	order   []string // tests in the order they started
	status  map[string]Status
	output  map[string][]string
	partial map[string]string // test2json splits long lines
	process []string          // output not attributed to a test
}

func newCollector() *collector {
	return &collector{
		status:  map[string]Status{},
		output:  map[string][]string{},
		partial: map[string]string{},
	}
}

// add records one event.
func (c *collector) add(ev event) {
	switch ev.Action {
	case "run":
		if _, seen := c.output[ev.Test]; !seen && ev.Test != "" {
			c.order = append(c.order, ev.Test)
			c.output[ev.Test] = nil
		}
	case "output":
		text := c.partial[ev.Test] + ev.Output
		lines := strings.Split(text, "\n")
		c.partial[ev.Test] = lines[len(lines)-1]
		for _, line := range lines[:len(lines)-1] {
			if ev.Test == "" {
				c.process = append(c.process, line)
			} else {
				c.output[ev.Test] = append(c.output[ev.Test], line)
			}
		}
	case "pass", "fail", "skip":
		if ev.Test != "" {
			c.status[ev.Test] = map[string]Status{"pass": Pass, "fail": Fail, "skip": Skip}[ev.Action]
		}
	}
}

// finish returns the units of the process's top-level test, in the order
// they started. A test whose process ended before it reported (a crash or
// -test.timeout) fails.
func (c *collector) finish(top string) []*Unit {
	for t, rest := range c.partial {
		if rest != "" {
			c.output[t] = append(c.output[t], rest)
		}
	}
	hasChildren := map[string]bool{}
	for _, t := range c.order {
		for _, p := range c.order {
			if strings.HasPrefix(t, p+"/") {
				hasChildren[p] = true
			}
		}
	}
	var out []*Unit
	leafFailed := map[string]bool{} // tests with a failing leaf under them
	for _, t := range c.order {
		if hasChildren[t] {
			continue
		}
		u := &Unit{Name: t, Status: c.status[t], Output: c.output[t]}
		if u.Status == "" {
			u.Status = Fail
			u.Output = append(u.Output, c.diedLines()...)
		}
		if u.Status == Fail {
			for _, p := range c.order {
				if strings.HasPrefix(t, p+"/") {
					leafFailed[p] = true
				}
			}
		}
		out = append(out, u)
	}
	for _, t := range c.order {
		if st := c.status[t]; hasChildren[t] && !leafFailed[t] && st != Pass && st != Skip {
			out = append(out, &Unit{Name: t, Status: Fail, Output: append(c.output[t], c.diedLines()...)})
		}
	}
	if len(c.order) == 0 {
		out = append(out, &Unit{Name: top, Status: Fail, Output: c.process})
	}
	for _, u := range out {
		u.Reason = reason(u)
	}
	return out
}

// diedLines are the lines that say why a process ended early.
func (c *collector) diedLines() []string {
	var out []string
	for _, lines := range append([][]string{c.process}, c.outputs()...) {
		for _, l := range lines {
			if strings.HasPrefix(l, "panic: ") {
				out = append(out, "    died: "+l)
			}
		}
	}
	return out
}

func (c *collector) outputs() [][]string {
	out := make([][]string, 0, len(c.order))
	for _, t := range c.order {
		out = append(out, c.output[t])
	}
	return out
}

// decode reads test2json events until EOF.
func decode(r io.Reader, c *collector) error {
	dec := json.NewDecoder(r)
	for {
		var ev event
		if err := dec.Decode(&ev); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("decode test2json: %w", err)
		}
		c.add(ev)
	}
}

var (
	// locLine is how testing prefixes t.Error/t.Fatal/t.Skip output.
	locLine = regexp.MustCompile(`^\s*([\w.-]+\.go:\d+): ?(.*)$`)
	// testifyError is the message line of a testify assertion failure.
	testifyError = regexp.MustCompile(`^\s*Error:\s+(.*)$`)
	// continuation is a line continuing a testify field: blank where the
	// field name would be.
	continuation = regexp.MustCompile(`^\s*\t\s+\t(.*)$`)
)

// noise are output lines of the suite that are logs, not verdicts.
var noise = []string{
	"logger.go:",                 // zaptest logs of the framework
	"Changing working directory", // testutils.BeforeTest
	"Found leaked goroutine",     // reported, but never the cause
	"=== ", "--- PASS", "--- FAIL", "--- SKIP",
}

func isNoise(line string) bool {
	for _, n := range noise {
		if strings.Contains(line, n) {
			return true
		}
	}
	return false
}

const maxReason = 400

// notReady is in the framework's error when a server does not log that it
// is ready, having exited or not.
const notReady = "failed to find etcd ready lines"

// failureWords mark a file.go:N: line as a verdict rather than a t.Log.
var failureWords = regexp.MustCompile(`(?i)fail|error|unexpected|timed out|deadline|not equal|expected|could not|cannot|panic|not found|mismatch`)

// reason picks the line that says why a unit failed or skipped:
//   - a process that died: its panic line;
//   - the first testify "Error:" message, with its next line;
//   - the first file.go:N: line that reads like a failure, else the last one
//     that is not a log. When it says that a server exited before it was
//     ready, the server's last words (the line after it) replace the
//     framework's long command line.
func reason(u *Unit) string {
	if u.Status != Fail && u.Status != Skip {
		return ""
	}
	r := diedReason(u.Output)
	if r == "" && u.Status == Fail {
		r = testifyReason(u.Output)
	}
	if r == "" {
		r = locReason(u.Output, u.Status == Fail)
	}
	if r == "" && u.Status == Fail {
		r = "no failure message"
	}
	r = strings.Join(strings.Fields(r), " ")
	if len(r) > maxReason {
		r = r[:maxReason] + "..."
	}
	return r
}

func diedReason(lines []string) string {
	for _, line := range lines {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "died: "); ok {
			return "process died: " + rest
		}
	}
	return ""
}

// testifyReason reads a testify failure: its Error: field and the lines
// continuing it. When the error is a command that failed (the framework's
// "... after running [cmd], last lines:" followed by the command's output),
// it becomes "<command>: <the command's last error line>".
func testifyReason(lines []string) string {
	for i, line := range lines {
		m := testifyError.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var cont []string
		for _, next := range lines[i+1:] {
			n := continuation.FindStringSubmatch(next)
			if n == nil {
				break
			}
			cont = append(cont, strings.TrimSpace(n[1]))
		}
		r := m[1]
		if len(cont) > 0 {
			r += " " + cont[0]
		}
		if !strings.Contains(r, "last lines:") {
			return r + messages(lines[i+1:])
		}
		if c := failedCommand.FindStringSubmatch(r); c != nil {
			r = c[1] + c[2]
		}
		if len(cont) < 2 {
			return r
		}
		if last := lastErrorLine(cont[1:]); last != "" {
			r += ": " + last
		}
		return r
	}
	return ""
}

// testifyMessages is the field holding an assertion's own message.
var testifyMessages = regexp.MustCompile(`^\s*\tMessages:\s*\t(.*)$`)

// messages returns ": <the Messages field>" of the assertion whose other
// fields follow, or "".
func messages(fields []string) string {
	for _, l := range fields {
		if m := testifyMessages.FindStringSubmatch(l); m != nil {
			return ": " + m[1]
		}
		if !strings.HasPrefix(strings.TrimLeft(l, " "), "\t") {
			return ""
		}
	}
	return ""
}

// failedCommand finds the command in the framework's error, without its
// path and its leading --flags (endpoints, mostly).
var failedCommand = regexp.MustCompile(`after running \[(?:\S*/)?((?:etcdctl|etcdutl|etcd)\b)(?: --\S+)*([^\]]*)\]`)

// lastErrorLine is a command's last "Error:" line, else its last line with
// a gRPC error, else its last line that is not a JSON log.
func lastErrorLine(out []string) string {
	for _, keep := range []func(string) bool{
		func(l string) bool { return strings.HasPrefix(l, "Error:") },
		func(l string) bool { return strings.Contains(l, "rpc error") && !strings.HasPrefix(l, "{") },
		func(l string) bool { return l != "" && !strings.HasPrefix(l, "{") },
	} {
		last := ""
		for _, l := range out {
			if keep(l) {
				last = l
			}
		}
		if last != "" {
			return last
		}
	}
	return ""
}

func locReason(lines []string, failed bool) string {
	first, last := -1, -1
	for i, line := range lines {
		if isNoise(line) || locLine.FindStringSubmatch(line) == nil {
			continue
		}
		if first < 0 && (!failed || failureWords.MatchString(line)) {
			first = i
		}
		last = i
	}
	i := first
	if i < 0 {
		i = last
	}
	if i < 0 {
		return ""
	}
	m := locLine.FindStringSubmatch(lines[i])
	if strings.TrimSpace(m[2]) == "" {
		return m[1] + ": (no message)"
	}
	if !strings.Contains(m[2], notReady) {
		return m[1] + ": " + m[2]
	}
	r := m[1] + ": server did not become ready"
	if i+1 < len(lines) && locLine.FindStringSubmatch(lines[i+1]) == nil && !isNoise(lines[i+1]) {
		if next := strings.TrimSpace(lines[i+1]); next != "" {
			return r + ": " + next
		}
	}
	if _, cause, ok := strings.Cut(m[2], "err: "); ok {
		return r + ": " + cause
	}
	return r
}

// refusedFlag finds the flags MetaStore refused in a unit's output.
var refusedFlag = regexp.MustCompile(`etcd flag not implemented by MetaStore: (.*)$`)

func refusedFlags(u *Unit) []string {
	seen := map[string]bool{}
	for _, line := range u.Output {
		m := refusedFlag.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, f := range strings.Split(m[1], ",") {
			if f = strings.TrimSpace(f); f != "" {
				seen[f] = true
			}
		}
	}
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Counts tallies units by status.
type Counts map[Status]int

func count(units []*Unit) Counts {
	c := Counts{}
	for _, u := range units {
		c[u.Status]++
	}
	return c
}

// Summary is the line `make compat` prints.
func (c Counts) Summary() string {
	s := fmt.Sprintf("%d passed, %d failed, %d skipped", c[Pass], c[Fail], c[Skip])
	if c[NotRun] > 0 {
		s += fmt.Sprintf(", %d not run (time budget spent)", c[NotRun])
	}
	return s
}

// writeReport writes one line per unit, then how many failing units each
// refused flag blocks.
func writeReport(w io.Writer, units []*Unit) error {
	byFlag := map[string]int{}
	for _, u := range units {
		line := fmt.Sprintf("%-6s %s", u.Status, u.Name)
		if u.Reason != "" {
			line += "\t" + u.Reason
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
		if u.Status == Fail {
			for _, f := range refusedFlags(u) {
				byFlag[f]++
			}
		}
	}
	if len(byFlag) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\n# flags refused by MetaStore, with the number of failing units that passed each")
	flags := make([]string, 0, len(byFlag))
	for f := range byFlag {
		flags = append(flags, f)
	}
	sort.Slice(flags, func(i, j int) bool {
		if byFlag[flags[i]] != byFlag[flags[j]] {
			return byFlag[flags[i]] > byFlag[flags[j]]
		}
		return flags[i] < flags[j]
	})
	for _, f := range flags {
		if _, err := fmt.Fprintf(w, "%4d %s\n", byFlag[f], f); err != nil {
			return err
		}
	}
	return nil
}
