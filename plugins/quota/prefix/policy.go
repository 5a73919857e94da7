package prefix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/metastore/metastore/pluginapi/quota"
)

// Name is the policy's name.
const Name = "prefix-quota"

// Version is the policy's version.
const Version = "1.0.0"

// Limit is the configuration of one prefix. A zero maximum means no limit
// of that kind.
type Limit struct {
	Prefix   string `json:"prefix"`
	MaxKeys  int64  `json:"max-keys"`
	MaxBytes int64  `json:"max-bytes"`
}

// Config is the policy's configuration.
type Config struct {
	Prefixes []Limit `json:"prefixes"`
}

// Policy refuses writes that take a prefix over its limits. It is safe for
// concurrent use; Configure replaces the limits atomically.
type Policy struct {
	mu     sync.RWMutex
	limits []Limit
}

var (
	_ quota.Policy     = (*Policy)(nil)
	_ quota.Configurer = (*Policy)(nil)
)

// New returns a policy without limits; Configure gives it some.
func New() *Policy { return &Policy{} }

// Info names the policy. It judges only its prefixes, so it declares
// quota.CapabilityPrefixesOnly.
func (p *Policy) Info(context.Context) (quota.InfoResponse, error) {
	return quota.InfoResponse{Name: Name, Version: Version, Capabilities: []string{quota.CapabilityPrefixesOnly}}, nil
}

// Configure takes the limits of req.Config (a JSON Config) and declares
// their prefixes. An invalid configuration returns quota.ErrInvalidConfig
// and keeps the limits in force.
func (p *Policy) Configure(_ context.Context, req quota.ConfigureRequest) (quota.ConfigureResponse, error) {
	var cfg Config
	if len(bytes.TrimSpace(req.Config)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return quota.ConfigureResponse{}, fmt.Errorf("%w: %v", quota.ErrInvalidConfig, err)
		}
	}
	if err := cfg.validate(); err != nil {
		return quota.ConfigureResponse{}, fmt.Errorf("%w: %v", quota.ErrInvalidConfig, err)
	}
	resp := quota.ConfigureResponse{Prefixes: make([][]byte, len(cfg.Prefixes))}
	for i, l := range cfg.Prefixes {
		resp.Prefixes[i] = []byte(l.Prefix)
	}
	p.mu.Lock()
	p.limits = cfg.Prefixes
	p.mu.Unlock()
	return resp, nil
}

func (c Config) validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, l := range c.Prefixes {
		switch {
		case l.Prefix == "":
			errs = append(errs, fmt.Errorf("prefixes[%d]: prefix is required", i))
		case seen[l.Prefix]:
			errs = append(errs, fmt.Errorf("prefixes[%d]: prefix %q is listed twice", i, l.Prefix))
		case l.MaxKeys < 0 || l.MaxBytes < 0:
			errs = append(errs, fmt.Errorf("prefixes[%d] (%q): max-keys and max-bytes must not be negative", i, l.Prefix))
		case l.MaxKeys == 0 && l.MaxBytes == 0:
			errs = append(errs, fmt.Errorf("prefixes[%d] (%q): set max-keys, max-bytes or both", i, l.Prefix))
		}
		seen[l.Prefix] = true
	}
	return errors.Join(errs...)
}

// Check refuses req when it adds keys or bytes to a prefix that would then
// hold more than its limit; the reason names the prefix and the limit.
// Prefixes the host passed no usage for are not judged.
func (p *Policy) Check(_ context.Context, req quota.CheckRequest) (quota.CheckResponse, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, u := range req.Prefixes {
		l, ok := p.limitOf(u.Prefix)
		if !ok {
			continue
		}
		if reason := l.exceeded(u); reason != "" {
			return quota.CheckResponse{Reason: reason}, nil
		}
	}
	return quota.CheckResponse{Admit: true}, nil
}

func (p *Policy) limitOf(prefix []byte) (Limit, bool) {
	for _, l := range p.limits {
		if l.Prefix == string(prefix) {
			return l, true
		}
	}
	return Limit{}, false
}

// exceeded returns why u breaks l, or "".
func (l Limit) exceeded(u quota.PrefixUsage) string {
	if l.MaxKeys > 0 && u.AddKeys > 0 && u.Keys+u.AddKeys > l.MaxKeys {
		return fmt.Sprintf("prefix %q is limited to %d keys (it holds %d, the write adds %d)",
			l.Prefix, l.MaxKeys, u.Keys, u.AddKeys)
	}
	if l.MaxBytes > 0 && u.AddBytes > 0 && u.Bytes+u.AddBytes > l.MaxBytes {
		return fmt.Sprintf("prefix %q is limited to %d bytes (it holds %d, the write adds %d)",
			l.Prefix, l.MaxBytes, u.Bytes, u.AddBytes)
	}
	return ""
}
