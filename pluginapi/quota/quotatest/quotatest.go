// Package quotatest is the conformance suite of quota policies: what every
// Policy must do, checked the same way in process, over the plugin protocol
// (OverGRPC) and as a real plugin process (LaunchPlugin).
//
// What a policy admits is its own business, so the suite is given the
// configuration to run it with and requests with the answers the policy
// must give (Fixture). It checks those answers and the contract around
// them: what Info declares, that Configure takes the configuration and
// refuses bad ones with ErrInvalidConfig while keeping the one it had, that
// a refusal says why, that answers do not change when asked again or from
// many goroutines at once, that a write adding nothing to its prefixes is
// admitted whatever their usage (so that a prefix over its limit can
// shrink), and that a cancelled call does not hang.
//
//	func TestConformance(t *testing.T) {
//		quotatest.Run(t, quotatest.Fixture{
//			New:    func(t *testing.T) quota.Policy { return mypolicy.New() },
//			Config: []byte(`{"max-keys": 10}`),
//			Cases:  []quotatest.Case{{Name: "under the limit", Request: ..., Admit: true}},
//		})
//	}
package quotatest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/pluginapi/internal/plugintest"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/pluginapi/quota"
	quotav1 "github.com/metastore/metastore/pluginapi/quota/proto/v1"
)

// Fixture is a policy under test and the answers it must give.
type Fixture struct {
	// New returns the policy, not yet configured. It is called once for
	// every case.
	New func(t *testing.T) quota.Policy
	// Config is the configuration the cases are answered under, given to
	// Configure first. Nil for a policy that takes none: Configure must
	// then answer ErrNotSupported.
	Config []byte
	// Prefixes are the prefixes Configure must declare for Config.
	Prefixes [][]byte
	// InvalidConfigs are configurations Configure must refuse with
	// ErrInvalidConfig.
	InvalidConfigs [][]byte
	// Cases are requests and the answers the policy must give. At least
	// one must be refused, to show the policy limits something.
	Cases []Case
}

// Case is one request and its expected answer.
type Case struct {
	Name    string
	Request quota.CheckRequest
	Admit   bool
	Alarm   quota.Alarm
}

// Run runs every case of the suite against the fixture, each as a subtest.
func Run(t *testing.T, f Fixture) {
	if f.New == nil {
		t.Fatal("quotatest: Fixture.New is nil")
	}
	if !slices.ContainsFunc(f.Cases, func(c Case) bool { return !c.Admit }) {
		t.Fatal("quotatest: Fixture.Cases must include a refused write")
	}
	cases := []struct {
		name string
		fn   func(*testing.T, Fixture)
	}{
		{"Info", testInfo},
		{"Configure", testConfigure},
		{"InvalidConfigKeepsThePrevious", testInvalidConfig},
		{"Cases", testCases},
		{"RefusalsSayWhy", testRefusalsSayWhy},
		{"SameAnswerTwice", testSameAnswerTwice},
		{"ShrinkingIsAdmitted", testShrinkingIsAdmitted},
		{"Concurrent", testConcurrent},
		{"CancelledCall", testCancelledCall},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, f) })
	}
}

func ctx(t *testing.T) context.Context { return plugintest.CallContext(t) }

// configured returns a new policy configured with f.Config.
func configured(t *testing.T, f Fixture) quota.Policy {
	t.Helper()
	p := f.New(t)
	if f.Config != nil {
		cfg, ok := p.(quota.Configurer)
		require.True(t, ok, "the fixture has a Config but the policy is no quota.Configurer")
		_, err := cfg.Configure(ctx(t), quota.ConfigureRequest{Config: f.Config})
		require.NoError(t, err, "Configure(%s)", f.Config)
	}
	return p
}

func check(t *testing.T, p quota.Policy, req quota.CheckRequest) quota.CheckResponse {
	t.Helper()
	resp, err := p.Check(ctx(t), req)
	require.NoError(t, err, "Check")
	return resp
}

func testInfo(t *testing.T, f Fixture) {
	in, err := f.New(t).Info(ctx(t))
	require.NoError(t, err, "Info")
	require.NotEmpty(t, in.Name, "Info names the policy")
	seen := map[string]bool{}
	for _, c := range in.Capabilities {
		require.Equal(t, quota.CapabilityPrefixesOnly, c, "capability %q is not one of the contract's", c)
		require.False(t, seen[c], "capability %q listed twice", c)
		seen[c] = true
	}
	if seen[quota.CapabilityPrefixesOnly] {
		require.NotEmpty(t, f.Prefixes, "a %q policy judges the prefixes it declares; the fixture declares none", quota.CapabilityPrefixesOnly)
	}
}

func testConfigure(t *testing.T, f Fixture) {
	p := f.New(t)
	cfg, ok := p.(quota.Configurer)
	if f.Config == nil {
		if ok {
			_, err := cfg.Configure(ctx(t), quota.ConfigureRequest{Config: []byte("{}")})
			require.ErrorIs(t, err, quota.ErrNotSupported, "Configure on a policy that takes no configuration")
		}
		return
	}
	require.True(t, ok, "the fixture has a Config but the policy is no quota.Configurer")
	resp, err := cfg.Configure(ctx(t), quota.ConfigureRequest{Config: f.Config})
	require.NoError(t, err, "Configure(%s)", f.Config)
	got := slices.Clone(resp.Prefixes)
	slices.SortFunc(got, bytes.Compare)
	want := slices.Clone(f.Prefixes)
	slices.SortFunc(want, bytes.Compare)
	require.Equal(t, want, got, "the prefixes Configure declares")
	// Configuring again with the same configuration changes nothing.
	_, err = cfg.Configure(ctx(t), quota.ConfigureRequest{Config: f.Config})
	require.NoError(t, err, "Configure twice")
}

func testInvalidConfig(t *testing.T, f Fixture) {
	if len(f.InvalidConfigs) == 0 {
		return
	}
	p := configured(t, f)
	cfg := p.(quota.Configurer)
	for _, bad := range f.InvalidConfigs {
		_, err := cfg.Configure(ctx(t), quota.ConfigureRequest{Config: bad})
		require.ErrorIs(t, err, quota.ErrInvalidConfig, "Configure(%s)", bad)
	}
	for _, c := range f.Cases {
		resp := check(t, p, c.Request)
		require.Equal(t, c.Admit, resp.Admit, "%s: after refused configurations, the previous one still holds", c.Name)
	}
}

func testCases(t *testing.T, f Fixture) {
	p := configured(t, f)
	for _, c := range f.Cases {
		resp := check(t, p, c.Request)
		require.Equal(t, c.Admit, resp.Admit, "%s: admitted", c.Name)
		require.Equal(t, c.Alarm, resp.Alarm, "%s: alarm", c.Name)
	}
}

func testRefusalsSayWhy(t *testing.T, f Fixture) {
	p := configured(t, f)
	for _, c := range f.Cases {
		resp := check(t, p, c.Request)
		if resp.Admit {
			require.Equal(t, quota.AlarmNone, resp.Alarm, "%s: an admitted write raises no alarm", c.Name)
			continue
		}
		if resp.Alarm == quota.AlarmNone {
			require.NotEmpty(t, resp.Reason, "%s: a refusal without an alarm names the limit for the client", c.Name)
		}
	}
}

func testSameAnswerTwice(t *testing.T, f Fixture) {
	p := configured(t, f)
	for _, c := range f.Cases {
		first := check(t, p, c.Request)
		second := check(t, p, c.Request)
		require.Equal(t, first, second, "%s: asked twice", c.Name)
	}
}

// testShrinkingIsAdmitted takes every case that names prefixes, makes it
// add nothing to them (or take away) on an empty store, and requires it
// admitted: a prefix over its limit must be able to shrink.
func testShrinkingIsAdmitted(t *testing.T, f Fixture) {
	p := configured(t, f)
	for _, c := range f.Cases {
		if len(c.Request.Prefixes) == 0 {
			continue
		}
		req := c.Request
		req.Usage = quota.Usage{}
		req.Cost = 0
		req.Prefixes = slices.Clone(req.Prefixes)
		for i := range req.Prefixes {
			req.Prefixes[i].AddKeys = -min(req.Prefixes[i].Keys, 1)
			req.Prefixes[i].AddBytes = -min(req.Prefixes[i].Bytes, 1)
		}
		req.Puts = slices.Clone(req.Puts)
		for i := range req.Puts {
			req.Puts[i].ValueSize = 0
		}
		resp := check(t, p, req)
		require.True(t, resp.Admit, "%s, adding nothing to its prefixes: a write that adds nothing is admitted (%s)", c.Name, resp.Reason)
	}
}

// testConcurrent asks every case from many goroutines while the policy is
// reconfigured with the same configuration; every answer must be the
// expected one (run it with -race).
func testConcurrent(t *testing.T, f Fixture) {
	p := configured(t, f)
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				c := f.Cases[(w+i)%len(f.Cases)]
				resp, err := p.Check(ctx(t), c.Request)
				if err != nil || resp.Admit != c.Admit || resp.Alarm != c.Alarm {
					errs <- fmt.Errorf("%s, concurrently: admit %v alarm %v err %v", c.Name, resp.Admit, resp.Alarm, err)
					return
				}
			}
		}()
	}
	if cfg, ok := p.(quota.Configurer); ok && f.Config != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if _, err := cfg.Configure(ctx(t), quota.ConfigureRequest{Config: f.Config}); err != nil {
					errs <- fmt.Errorf("Configure while checking: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testCancelledCall: a call with a cancelled context returns, with an
// answer or an error, instead of waiting on whatever it would consult.
func testCancelledCall(t *testing.T, f Fixture) {
	p := configured(t, f)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = p.Check(c, f.Cases[0].Request)
	}()
	select {
	case <-done:
	case <-time.After(plugintest.CallTimeout):
		t.Fatal("a Check with a cancelled context did not return")
	}
}

// OverGRPC serves impl through the plugin protocol's server shim on an
// in-memory connection and returns the client shim talking to it (a
// quota.Configurer too). Both ends stop when the test ends.
func OverGRPC(t testing.TB, impl quota.Policy) quota.Policy {
	t.Helper()
	cc := plugintest.Pipe(t, func(s *grpc.Server) { quotav1.RegisterQuotaPolicyServer(s, quota.NewGRPCServer(impl)) })
	return quota.NewGRPCClient(cc)
}

// LaunchPlugin starts the plugin binary bin with the extra environment env
// and returns its policy (a quota.Configurer too); the process is killed
// when the test ends.
func LaunchPlugin(t testing.TB, bin string, env ...string) quota.Policy {
	t.Helper()
	p, err := quota.Launch(pluginrpc.ClientConfig{Cmd: plugintest.Command(bin, env...), Logger: plugintest.Logger(t, bin)})
	require.NoError(t, err, "launch plugin %s", bin)
	t.Cleanup(p.Kill)
	return p.Policy()
}

// BuildPlugin builds the main package pkg into a temporary directory and
// returns the binary's path.
func BuildPlugin(t testing.TB, pkg string, env ...string) string {
	t.Helper()
	return plugintest.BuildPlugin(t, pkg, env...)
}
