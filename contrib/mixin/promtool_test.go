package mixin_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// prometheusBinary returns the path of a Prometheus binary (promtool,
// prometheus), which Debian's prometheus package installs; `make deps`
// installs it when missing.
func prometheusBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run `make deps` (it installs Debian's prometheus package): %v", name, err)
	}
	return path
}

// promtool runs promtool with args and returns its combined output,
// failing the test with that output if it exits non-zero.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(prometheusBinary(t, "promtool"), args...).CombinedOutput()
	require.NoError(t, err, "promtool %v:\n%s", args, out)
	return string(out)
}

// The rule files are valid: every expression parses, every rule is well
// formed, and no two rules are duplicates.
func TestPromtoolCheckRules(t *testing.T) {
	out := promtool(t, "check", "rules", rulesFile, alertsFile)
	require.Contains(t, out, "SUCCESS")
}

// The alerts fire, and stay quiet, as the unit tests in tests/ say, on
// series written for each.
func TestPromtoolTestRules(t *testing.T) {
	tests, err := filepath.Glob("tests/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, tests)
	out := promtool(t, append([]string{"test", "rules"}, tests...)...)
	require.Contains(t, out, "SUCCESS")
}

// Every alert of alerts.yaml is exercised by a unit test in tests/.
func TestEveryAlertUnitTested(t *testing.T) {
	tests, err := filepath.Glob("tests/*.yaml")
	require.NoError(t, err)
	tested := map[string]bool{}
	for _, path := range tests {
		for _, name := range unitTestedAlerts(t, path) {
			tested[name] = true
		}
	}
	for _, r := range readRules(t, alertsFile) {
		require.True(t, tested[r.Alert], "alert %s has no promtool unit test in tests/", r.Alert)
	}
}
