package oidc

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/metastore/metastore/pluginapi/auth"
)

// The key set fetched from a URL (Config.JWKSURL, or the jwks_uri of the
// issuer's discovery document with Config.Discovery): fetched at start, again
// every JWKSRefreshInterval, and at once when a token names a key the set
// does not have (an identity provider rotating its keys), at most once per
// JWKSRefetchInterval so that tokens with made-up key ids cannot turn the
// provider into a load generator. A fetch that fails keeps the last good
// keys and is logged; until one succeeds, tokens are answered with
// ErrUnavailable (the host fails closed).
//
// The keys are decoded by go-jose and the discovery document read by
// go-oidc. The fetching policy stays here: go-oidc's RemoteKeySet fetches
// again for every token with an unknown key id (no rate limit, so made-up
// key ids become a load generator), never refreshes a set whose key ids
// it knows (a key the identity provider removed keeps verifying), and its
// verifier reports a key set it cannot fetch as a bad signature, where
// the host must tell "cannot tell" (Unavailable, fail closed) from
// "forged" (invalid token).

// Defaults of the key set's timing.
const (
	defaultJWKSRefreshInterval = 15 * time.Minute
	defaultJWKSRefetchInterval = 10 * time.Second
	jwksFetchTimeout           = 10 * time.Second
	maxJWKSBytes               = 1 << 20
)

// Logger is what the provider logs with; an hclog.Logger is one.
type Logger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

type nopLogger struct{}

func (nopLogger) Info(string, ...any) {}
func (nopLogger) Warn(string, ...any) {}

// errNoKey marks a token whose key id is not in the key set.
var errNoKey = errors.New("oidc: no such key in the key set")

// keySet holds the verification keys by key id.
type keySet struct {
	mu      sync.RWMutex
	keys    map[string]crypto.PublicKey
	lastErr error // of the last fetch; nil when it succeeded

	// Set only for a key set fetched from a URL. url is the key set's,
	// "" until discovery found it (with issuer set); both are guarded by
	// fetchMu.
	remote     bool
	url        string
	issuer     string
	client     *http.Client
	lg         Logger
	refetchMin time.Duration

	fetchMu     sync.Mutex // one fetch at a time
	lastAttempt time.Time

	stop chan struct{}
	done chan struct{}
}

// fileKeySet reads a key set once.
func fileKeySet(path string) (*keySet, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: key set: %w", ErrConfig, err)
	}
	keys, err := parseJWKS(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: key set %s: %w", ErrConfig, path, err)
	}
	return &keySet{keys: keys}, nil
}

// urlKeySet fetches the key set of cfg.JWKSURL and keeps refreshing it
// until close.
func urlKeySet(cfg Config, lg Logger) (*keySet, error) {
	if cfg.Discovery {
		if !isHTTPS(cfg.Issuer) {
			return nil, fmt.Errorf("%w: discovery needs the issuer as an https URL, not %q", ErrConfig, cfg.Issuer)
		}
	} else if !isHTTPS(cfg.JWKSURL) {
		return nil, fmt.Errorf("%w: key set URL %q: want an https URL", ErrConfig, cfg.JWKSURL)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.JWKSCAFile != "" {
		pem, err := os.ReadFile(cfg.JWKSCAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: key set CA file: %w", ErrConfig, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: key set CA file %s: no certificate", ErrConfig, cfg.JWKSCAFile)
		}
	}
	refresh, refetch := cfg.JWKSRefreshInterval, cfg.JWKSRefetchInterval
	if refresh <= 0 {
		refresh = defaultJWKSRefreshInterval
	}
	if refetch <= 0 {
		refetch = defaultJWKSRefetchInterval
	}
	ks := &keySet{
		remote:     true,
		url:        cfg.JWKSURL,
		issuer:     discoveryIssuer(cfg),
		client:     &http.Client{Timeout: jwksFetchTimeout, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}},
		lg:         lg,
		refetchMin: refetch,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	ks.refresh(context.Background(), true)
	go ks.refreshLoop(refresh)
	return ks, nil
}

func (ks *keySet) refreshLoop(every time.Duration) {
	defer close(ks.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ks.stop:
			return
		case <-t.C:
			ks.refresh(context.Background(), true)
		}
	}
}

// close stops refreshing.
func (ks *keySet) close() {
	if ks.stop == nil {
		return
	}
	select {
	case <-ks.stop:
	default:
		close(ks.stop)
	}
	<-ks.done
}

// key returns the key of kid; a token without a key id may be signed by
// the only key of the set. An unknown key id makes a URL key set fetch
// again (rate-limited). It returns an error wrapping errNoKey for a key
// the set does not have, auth.ErrUnavailable when no key set could be
// fetched to tell.
func (ks *keySet) key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	if k, ok := ks.lookup(kid); ok {
		return k, nil
	}
	if ks.remote {
		ks.refresh(ctx, false)
		if k, ok := ks.lookup(kid); ok {
			return k, nil
		}
	}
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if ks.lastErr != nil {
		// The identity provider may have rotated to a key this member
		// could not fetch: say "cannot tell", not "forged".
		return nil, fmt.Errorf("%w: key %q: the key set cannot be fetched: %w", auth.ErrUnavailable, kid, ks.lastErr)
	}
	return nil, fmt.Errorf("%w: %q", errNoKey, kid)
}

func (ks *keySet) lookup(kid string) (crypto.PublicKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if k, ok := ks.keys[kid]; ok {
		return k, true
	}
	if kid == "" && len(ks.keys) == 1 {
		for _, k := range ks.keys {
			return k, true
		}
	}
	return nil, false
}

// refresh fetches the key set unless force is false and the last attempt
// was less than refetchMin ago. A failed fetch keeps the keys.
func (ks *keySet) refresh(ctx context.Context, force bool) {
	ks.fetchMu.Lock()
	defer ks.fetchMu.Unlock()
	if !force && time.Since(ks.lastAttempt) < ks.refetchMin {
		return
	}
	ks.lastAttempt = time.Now()
	keys, err := ks.fetch(ctx)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.lastErr = err
	if err != nil {
		ks.lg.Warn("fetching the key set failed; keeping the last good keys", "url", ks.url, "issuer", ks.issuer,
			"error", err.Error(), "keys", len(ks.keys))
		return
	}
	if !sameKeyIDs(keys, ks.keys) {
		ks.lg.Info("fetched a new key set", "url", ks.url, "kids", keyIDs(keys))
	}
	ks.keys = keys
}

func (ks *keySet) fetch(ctx context.Context) (map[string]crypto.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	if ks.url == "" {
		if err := ks.discover(ctx); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", ks.url, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxJWKSBytes {
		return nil, fmt.Errorf("GET %s: key set larger than %d bytes", ks.url, maxJWKSBytes)
	}
	return parseJWKS(raw)
}

// discover reads the issuer's discovery document with go-oidc, which
// checks that it names the issuer, and takes its jwks_uri as the key set
// URL.
func (ks *keySet) discover(ctx context.Context) error {
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, ks.client), ks.issuer)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	var doc struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil {
		return fmt.Errorf("discovery document of %s: %w", ks.issuer, err)
	}
	if !isHTTPS(doc.JWKSURL) {
		return fmt.Errorf("discovery document of %s: jwks_uri %q is not an https URL", ks.issuer, doc.JWKSURL)
	}
	ks.url = doc.JWKSURL
	ks.lg.Info("discovered the key set URL", "issuer", ks.issuer, "url", ks.url)
	return nil
}

// isHTTPS reports whether s is an https URL with a host.
func isHTTPS(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

func keyIDs(keys map[string]crypto.PublicKey) []string {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func sameKeyIDs(a, b map[string]crypto.PublicKey) bool {
	if len(a) != len(b) {
		return false
	}
	for id := range a {
		if _, ok := b[id]; !ok {
			return false
		}
	}
	return true
}

// discoveryIssuer is the issuer whose discovery document names the key
// set URL, "" when the URL is configured.
func discoveryIssuer(cfg Config) string {
	if !cfg.Discovery {
		return ""
	}
	return cfg.Issuer
}
