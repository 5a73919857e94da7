package plugin

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/metastore/metastore/host/config"
)

// Failure is what the member does while a plugin process of a kind is
// dead or does not answer its pings.
type Failure int

const (
	// FailStop: the member stops serving (clients get Unavailable),
	// starts again with a new process, and replays the WAL above what the
	// engine persisted: nothing acknowledged is lost.
	FailStop Failure = iota + 1
	// FailClosed: what needs the plugin is refused; identities it
	// verified before keep working from the member's cache.
	FailClosed
	// FallBack: the built-in implementation of the kind decides alone
	// until the plugin answers again.
	FallBack
)

// String is how docs/architecture.md names the failure.
func (f Failure) String() string {
	switch f {
	case FailStop:
		return "fail stop"
	case FailClosed:
		return "fail closed"
	case FallBack:
		return "fall back to the built-in"
	}
	return fmt.Sprintf("Failure(%d)", int(f))
}

// Policy is how the host treats a plugin process of one kind that dies
// or stops answering its pings.
type Policy struct {
	// OnFailure is what the member does until a new process answers.
	OnFailure Failure
	// Backoff is how long the host waits after a failure before it
	// starts a new process; it doubles after each failed start, up to
	// MaxBackoff.
	Backoff, MaxBackoff time.Duration
}

// NewBackOff returns the restart backoff of p: Backoff, doubling after
// each NextBackOff up to MaxBackoff, without jitter; Reset starts it over.
// Every restart of the host waits through one: the member's after a
// storage failure, the quota plugin's supervisor, the auth plugin's
// restart on a call.
//
// It is cenkalti/backoff's ExponentialBackOff rather than a type of ours:
// the module graph holds it already (the OTLP exporter uses it), it is
// exactly "an initial wait, multiplied, capped, reset", and keeping one
// implementation keeps the three restart paths from drifting apart. Jitter
// is off: a member restarts only its own plugins, so there is no herd to
// spread, and the waits stay the ones the policy table documents.
func (p Policy) NewBackOff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval: p.Backoff,
		Multiplier:      2,
		MaxInterval:     max(p.MaxBackoff, p.Backoff),
	}
}

// policies is the failure policy of each plugin kind, in the order the
// kinds are named to operators (config.PluginKinds, the kinds a catalog
// entry may have). docs/architecture.md ("Where plugins plug in") states
// the same, and tests hold the three together.
//
//   - storage: Engine marks itself failed and kills its process; the
//     member closes and starts again (a new Engine, a new process),
//     retrying failed starts with backoff.
//   - auth: while the process is dead, AuthProvider's calls return
//     auth.ErrUnavailable, which the member turns into refusals; a call
//     starts the process again, at most once per Backoff.
//   - quota: while the process is dead, QuotaPolicy's checks get the
//     built-in backend-bytes decision alone; its supervisor starts the
//     process again with backoff and then hands checks back to it.
var policies = []struct {
	kind   string
	policy Policy
}{
	{config.KindStorage, Policy{OnFailure: FailStop, Backoff: 200 * time.Millisecond, MaxBackoff: 10 * time.Second}},
	{config.KindAuth, Policy{OnFailure: FailClosed, Backoff: time.Second, MaxBackoff: time.Second}},
	{config.KindQuota, Policy{OnFailure: FallBack, Backoff: time.Second, MaxBackoff: 30 * time.Second}},
}

// PolicyOf returns the failure policy of kind; ok is false for a kind the
// host does not know.
func PolicyOf(kind string) (p Policy, ok bool) {
	for _, k := range policies {
		if k.kind == kind {
			return k.policy, true
		}
	}
	return Policy{}, false
}

// mustPolicyOf is the policy of one of the kinds this package supervises.
func mustPolicyOf(kind string) Policy {
	p, ok := PolicyOf(kind)
	if !ok {
		panic("plugin: no failure policy for kind " + kind)
	}
	return p
}
