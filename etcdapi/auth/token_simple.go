package auth

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// simpleTokenTTL is etcd's default life of an unused simple token.
const simpleTokenTTL = 300 * time.Second

// simpleTokens keeps the simple tokens of the member: "<16 letters>.<raft
// index>", made when the Authenticate entry at that index is applied, so
// every member knows every token. A token lives ttl past its last use.
type simpleTokens struct {
	ttl         time.Duration
	now         func() time.Time
	waitApplied func(context.Context, uint64) error

	mu        sync.Mutex
	enabled   bool
	tokens    map[string]simpleToken
	lastSweep time.Time
}

type simpleToken struct {
	user    string
	expires time.Time
}

func newSimpleTokens(ttl time.Duration, now func() time.Time, waitApplied func(context.Context, uint64) error) *simpleTokens {
	if ttl <= 0 {
		ttl = simpleTokenTTL
	}
	return &simpleTokens{ttl: ttl, now: now, waitApplied: waitApplied, tokens: make(map[string]simpleToken)}
}

func (t *simpleTokens) prefix() (string, error) { return randomLetters(16) }

func (t *simpleTokens) sign(string, uint64) (string, error) { return "", nil }

func (t *simpleTokens) register(user, prefix string, index uint64) string {
	token := prefix + "." + strconv.FormatUint(index, 10)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.enabled {
		return token
	}
	now := t.now()
	t.sweepLocked(now)
	t.tokens[token] = simpleToken{user: user, expires: now.Add(t.ttl)}
	return token
}

// sweepLocked drops expired tokens, at most once a second.
func (t *simpleTokens) sweepLocked(now time.Time) {
	if now.Sub(t.lastSweep) < time.Second {
		return
	}
	t.lastSweep = now
	for k, v := range t.tokens {
		if now.After(v.expires) {
			delete(t.tokens, k)
		}
	}
}

func (t *simpleTokens) info(ctx context.Context, token string, revision uint64) (Info, bool) {
	_, idx, ok := strings.Cut(token, ".")
	if !ok || strings.Contains(idx, ".") {
		return Info{}, false
	}
	index, err := strconv.ParseUint(idx, 10, 64)
	if err != nil {
		return Info{}, false
	}
	// A token made by an entry this member has not applied yet is not
	// known here yet.
	if err := t.waitApplied(ctx, index); err != nil {
		return Info{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tk, ok := t.tokens[token]
	now := t.now()
	if !ok || now.After(tk.expires) {
		delete(t.tokens, token)
		return Info{}, false
	}
	tk.expires = now.Add(t.ttl)
	t.tokens[token] = tk
	return Info{User: tk.user, Revision: revision}, true
}

func (t *simpleTokens) enable() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.enabled = true
}

func (t *simpleTokens) disable() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.enabled = false
	t.tokens = make(map[string]simpleToken)
}

func (t *simpleTokens) invalidateUser(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range t.tokens {
		if v.user == user {
			delete(t.tokens, k)
		}
	}
}
