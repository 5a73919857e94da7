// Package authtest is the conformance suite of auth providers: what every
// Provider must do, checked the same way in process, over the plugin
// protocol (OverGRPC) and as a real plugin process (LaunchPlugin).
//
// A provider's own credentials are its business, so the suite is given
// some it accepts (Fixture) and checks that the provider answers them with
// the right identity; that it refuses wrong passwords, unknown users and
// malformed, truncated or altered tokens with the contract's errors; that
// what it declares in Info matches what it does; that its answers belong
// to the caller; that it is safe for concurrent use; and that a cancelled
// call does not hang.
//
//	func TestConformance(t *testing.T) {
//		authtest.Run(t, authtest.Fixture{
//			New:   func(t *testing.T) auth.Provider { return myprovider.New(...) },
//			Users: []authtest.User{{Name: "alice", Password: "s3cret", Want: auth.Identity{User: "alice"}}},
//		})
//	}
package authtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/pluginapi/auth"
	authv1 "github.com/metastore/metastore/pluginapi/auth/proto/v1"
	"github.com/metastore/metastore/pluginapi/internal/plugintest"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// Fixture is a provider under test and credentials it accepts.
type Fixture struct {
	// New returns the provider, ready to answer. It is called once for
	// every case.
	New func(t *testing.T) auth.Provider
	// Users are user names and passwords the provider accepts, with the
	// identity it answers for each. Required when it declares
	// CapabilityPassword, and empty otherwise.
	Users []User
	// Tokens are bearer tokens the provider accepts, with the identity it
	// answers for each. Required when it declares CapabilityToken, and
	// empty otherwise.
	Tokens []Token
	// RejectedTokens are well-formed tokens the provider must refuse with
	// ErrInvalidToken (expired, signed by an unknown key, for another
	// audience…), on top of the malformed ones the suite makes.
	RejectedTokens []string
}

// User is a user name and password a provider accepts.
type User struct {
	Name, Password string
	Want           auth.Identity
}

// Token is a token a provider accepts.
type Token struct {
	Token string
	Want  auth.Identity
}

// Run runs every case of the suite against the fixture, each as a subtest.
func Run(t *testing.T, f Fixture) {
	if f.New == nil {
		t.Fatal("authtest: Fixture.New is nil")
	}
	cases := []struct {
		name string
		fn   func(*testing.T, Fixture)
	}{
		{"Info", testInfo},
		{"Passwords", testPasswords},
		{"WrongPasswords", testWrongPasswords},
		{"Tokens", testTokens},
		{"MalformedTokens", testMalformedTokens},
		{"AnswersBelongToTheCaller", testAnswersBelongToTheCaller},
		{"Concurrent", testConcurrent},
		{"CancelledCall", testCancelledCall},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, f) })
	}
}

func ctx(t *testing.T) context.Context { return plugintest.CallContext(t) }

func info(t *testing.T, p auth.Provider) auth.InfoResponse {
	t.Helper()
	in, err := p.Info(ctx(t))
	require.NoError(t, err, "Info")
	return in
}

func testInfo(t *testing.T, f Fixture) {
	in := info(t, f.New(t))
	require.NotEmpty(t, in.Name, "Info names the provider")
	known := []string{auth.CapabilityPassword, auth.CapabilityToken}
	seen := map[string]bool{}
	for _, c := range in.Capabilities {
		require.Contains(t, known, c, "capability %q is not one of the contract's", c)
		require.False(t, seen[c], "capability %q listed twice", c)
		seen[c] = true
	}
	require.NotEmpty(t, in.Capabilities, "a provider that checks neither passwords nor tokens verifies nothing")
	require.Equal(t, seen[auth.CapabilityPassword], len(f.Users) > 0,
		"the fixture has users exactly when the provider declares %q", auth.CapabilityPassword)
	require.Equal(t, seen[auth.CapabilityToken], len(f.Tokens) > 0,
		"the fixture has tokens exactly when the provider declares %q", auth.CapabilityToken)
}

func testPasswords(t *testing.T, f Fixture) {
	p := f.New(t)
	if !slices.Contains(info(t, p).Capabilities, auth.CapabilityPassword) {
		_, err := p.Authenticate(ctx(t), auth.AuthenticateRequest{User: "alice", Password: "pw"})
		require.ErrorIs(t, err, auth.ErrNotSupported, "Authenticate on a provider without %q", auth.CapabilityPassword)
		return
	}
	for _, u := range f.Users {
		resp, err := p.Authenticate(ctx(t), auth.AuthenticateRequest{User: u.Name, Password: u.Password})
		require.NoError(t, err, "Authenticate %q", u.Name)
		requireIdentity(t, u.Want, resp.Identity, "user %q", u.Name)
	}
}

func testWrongPasswords(t *testing.T, f Fixture) {
	if len(f.Users) == 0 {
		return
	}
	p := f.New(t)
	u := f.Users[0]
	wrong := []auth.AuthenticateRequest{
		{User: u.Name, Password: ""},
		{User: u.Name, Password: u.Password + "x"},
		{User: u.Name, Password: alter(u.Password)},
		{User: "no-such-user-7f3a", Password: u.Password},
		{User: "", Password: u.Password},
		{User: "", Password: ""},
	}
	if len(u.Password) > 1 {
		wrong = append(wrong, auth.AuthenticateRequest{User: u.Name, Password: u.Password[:len(u.Password)-1]})
	}
	for _, req := range wrong {
		_, err := p.Authenticate(ctx(t), req)
		// The same error for an unknown user and a wrong password, so
		// that callers cannot tell which users exist.
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, "Authenticate(%q, %q)", req.User, req.Password)
	}
}

func testTokens(t *testing.T, f Fixture) {
	p := f.New(t)
	if !slices.Contains(info(t, p).Capabilities, auth.CapabilityToken) {
		_, err := p.VerifyToken(ctx(t), auth.VerifyTokenRequest{Token: "a.b.c"})
		require.ErrorIs(t, err, auth.ErrNotSupported, "VerifyToken on a provider without %q", auth.CapabilityToken)
		return
	}
	for i, tok := range f.Tokens {
		resp, err := p.VerifyToken(ctx(t), auth.VerifyTokenRequest{Token: tok.Token})
		require.NoError(t, err, "VerifyToken of token %d", i)
		requireIdentity(t, tok.Want, resp.Identity, "token %d", i)
	}
}

func testMalformedTokens(t *testing.T, f Fixture) {
	if len(f.Tokens) == 0 {
		return
	}
	p := f.New(t)
	good := f.Tokens[0].Token
	bad := append([]string{
		"", "x", "a.b.c", "Bearer " + good, good + "x", good[:len(good)/2], alter(good),
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290In0.",
	}, f.RejectedTokens...)
	for i, tok := range bad {
		_, err := p.VerifyToken(ctx(t), auth.VerifyTokenRequest{Token: tok})
		require.ErrorIs(t, err, auth.ErrInvalidToken, "VerifyToken of bad token %d (%.40q)", i, tok)
	}
}

// testAnswersBelongToTheCaller changes what a call returned and asks
// again: the provider must not hand out, or keep, shared state.
func testAnswersBelongToTheCaller(t *testing.T, f Fixture) {
	p := f.New(t)
	for _, u := range f.Users {
		resp, err := p.Authenticate(ctx(t), auth.AuthenticateRequest{User: u.Name, Password: u.Password})
		require.NoError(t, err)
		scribble(&resp.Identity)
		again, err := p.Authenticate(ctx(t), auth.AuthenticateRequest{User: u.Name, Password: u.Password})
		require.NoError(t, err)
		requireIdentity(t, u.Want, again.Identity, "user %q after its first answer was changed", u.Name)
	}
	for i, tok := range f.Tokens {
		resp, err := p.VerifyToken(ctx(t), auth.VerifyTokenRequest{Token: tok.Token})
		require.NoError(t, err)
		scribble(&resp.Identity)
		again, err := p.VerifyToken(ctx(t), auth.VerifyTokenRequest{Token: tok.Token})
		require.NoError(t, err)
		requireIdentity(t, tok.Want, again.Identity, "token %d after its first answer was changed", i)
	}
}

func scribble(id *auth.Identity) {
	id.User += "-changed"
	for i := range id.Groups {
		id.Groups[i] = "changed"
	}
}

// testConcurrent mixes right and wrong credentials from many goroutines;
// every answer must be the one a lone call gets (run it with -race).
func testConcurrent(t *testing.T, f Fixture) {
	p := f.New(t)
	const workers, calls = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				if err := oneCall(ctx(t), p, f, w+i); err != nil {
					errs <- err
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

// oneCall makes call number n of testConcurrent and checks its answer.
func oneCall(c context.Context, p auth.Provider, f Fixture, n int) error {
	wrong := n%3 == 0
	if len(f.Users) > 0 && (n%2 == 0 || len(f.Tokens) == 0) {
		u := f.Users[n%len(f.Users)]
		pw := u.Password
		if wrong {
			pw = alter(pw)
		}
		resp, err := p.Authenticate(c, auth.AuthenticateRequest{User: u.Name, Password: pw})
		switch {
		case wrong && !errors.Is(err, auth.ErrInvalidCredentials):
			return fmt.Errorf("concurrent Authenticate(%q) with a wrong password: %v", u.Name, err)
		case !wrong && err != nil:
			return fmt.Errorf("concurrent Authenticate(%q): %w", u.Name, err)
		case !wrong && resp.Identity.User != u.Want.User:
			return fmt.Errorf("concurrent Authenticate(%q) answered user %q", u.Name, resp.Identity.User)
		}
		return nil
	}
	tok := f.Tokens[n%len(f.Tokens)]
	s := tok.Token
	if wrong {
		s = alter(s)
	}
	resp, err := p.VerifyToken(c, auth.VerifyTokenRequest{Token: s})
	switch {
	case wrong && !errors.Is(err, auth.ErrInvalidToken):
		return fmt.Errorf("concurrent VerifyToken of an altered token: %v", err)
	case !wrong && err != nil:
		return fmt.Errorf("concurrent VerifyToken: %w", err)
	case !wrong && resp.Identity.User != tok.Want.User:
		return fmt.Errorf("concurrent VerifyToken answered user %q, want %q", resp.Identity.User, tok.Want.User)
	}
	return nil
}

// testCancelledCall: a call with a cancelled context returns, with an
// answer or an error, instead of waiting on whatever it would consult.
func testCancelledCall(t *testing.T, f Fixture) {
	p := f.New(t)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = p.Authenticate(c, auth.AuthenticateRequest{User: "alice", Password: "pw"})
		_, _ = p.VerifyToken(c, auth.VerifyTokenRequest{Token: "a.b.c"})
	}()
	select {
	case <-done:
	case <-time.After(plugintest.CallTimeout):
		t.Fatal("calls with a cancelled context did not return")
	}
}

// requireIdentity compares identities: groups as sets, and Expires only
// when the fixture names one (otherwise it must be zero or in the future).
func requireIdentity(t *testing.T, want, got auth.Identity, msg string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(msg, args...)
	require.Equal(t, want.User, got.User, "%s: user", what)
	require.ElementsMatch(t, want.Groups, got.Groups, "%s: groups", what)
	require.Equal(t, want.AuthRevision, got.AuthRevision, "%s: auth revision", what)
	if !want.Expires.IsZero() {
		require.True(t, want.Expires.Equal(got.Expires), "%s: expires %v, want %v", what, got.Expires, want.Expires)
	} else if !got.Expires.IsZero() {
		require.True(t, got.Expires.After(time.Now()), "%s: an accepted credential that expired at %v", what, got.Expires)
	}
}

// alter changes one byte in the middle of s.
func alter(s string) string {
	if s == "" {
		return "x"
	}
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// OverGRPC serves impl through the plugin protocol's server shim on an
// in-memory connection and returns the client shim talking to it. Both ends
// stop when the test ends.
func OverGRPC(t testing.TB, impl auth.Provider) auth.Provider {
	t.Helper()
	cc := plugintest.Pipe(t, func(s *grpc.Server) { authv1.RegisterAuthProviderServer(s, auth.NewGRPCServer(impl)) })
	return auth.NewGRPCClient(cc)
}

// LaunchPlugin starts the plugin binary bin with the extra environment env
// ("KEY=value", how auth plugins are configured) and returns its provider;
// the process is killed when the test ends.
func LaunchPlugin(t testing.TB, bin string, env ...string) auth.Provider {
	t.Helper()
	p, err := auth.Launch(pluginrpc.ClientConfig{Cmd: plugintest.Command(bin, env...), Logger: plugintest.Logger(t, bin)})
	require.NoError(t, err, "launch plugin %s", bin)
	t.Cleanup(p.Kill)
	return p.Provider()
}

// BuildPlugin builds the main package pkg into a temporary directory and
// returns the binary's path.
func BuildPlugin(t testing.TB, pkg string, env ...string) string {
	t.Helper()
	return plugintest.BuildPlugin(t, pkg, env...)
}
