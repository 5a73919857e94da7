// Package keysperprefix is a quota policy that refuses new keys under a
// prefix once it holds a number of them: the smallest complete MetaStore
// quota plugin, to copy as the start of your own.
//
// Its configuration, the catalog entry's config mapping:
//
//	config:
//	  max-keys: 1000
//	  prefixes: [/tenant-a/, /tenant-b/]
//
// The host counts the live keys under each declared prefix from the
// replicated store and passes them with every check; the policy keeps no
// state but its configuration.
package keysperprefix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/metastore/metastore/pluginapi/quota"
)

// Name is the policy's name in Info.
const Name = "keys-per-prefix"

// Version is the policy's version in Info.
const Version = "0.1.0"

// Config is the policy's configuration.
type Config struct {
	MaxKeys  int64    `json:"max-keys"`
	Prefixes []string `json:"prefixes"`
}

// Policy limits the number of keys under each configured prefix.
type Policy struct {
	mu  sync.RWMutex
	cfg Config
}

var (
	_ quota.Policy     = (*Policy)(nil)
	_ quota.Configurer = (*Policy)(nil)
)

// New returns a policy that limits nothing until it is configured.
func New() *Policy { return &Policy{} }

// Info names the policy. It judges only its prefixes, so the host need not
// ask it about other writes.
func (p *Policy) Info(context.Context) (quota.InfoResponse, error) {
	return quota.InfoResponse{Name: Name, Version: Version, Capabilities: []string{quota.CapabilityPrefixesOnly}}, nil
}

// Configure takes a new configuration and declares its prefixes; an
// invalid one is refused and the previous one stays.
func (p *Policy) Configure(_ context.Context, req quota.ConfigureRequest) (quota.ConfigureResponse, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(req.Config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return quota.ConfigureResponse{}, fmt.Errorf("%w: %v", quota.ErrInvalidConfig, err)
	}
	if cfg.MaxKeys <= 0 {
		return quota.ConfigureResponse{}, fmt.Errorf("%w: max-keys must be positive, got %d", quota.ErrInvalidConfig, cfg.MaxKeys)
	}
	resp := quota.ConfigureResponse{}
	seen := map[string]bool{}
	for _, pfx := range cfg.Prefixes {
		if pfx == "" || seen[pfx] {
			return quota.ConfigureResponse{}, fmt.Errorf("%w: prefix %q empty or listed twice", quota.ErrInvalidConfig, pfx)
		}
		seen[pfx] = true
		resp.Prefixes = append(resp.Prefixes, []byte(pfx))
	}
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
	return resp, nil
}

// Check refuses a write that adds keys to a prefix already holding
// max-keys or more; a write that adds none is admitted whatever the count.
func (p *Policy) Check(_ context.Context, req quota.CheckRequest) (quota.CheckResponse, error) {
	p.mu.RLock()
	limit := p.cfg.MaxKeys
	p.mu.RUnlock()
	for _, u := range req.Prefixes {
		if limit > 0 && u.AddKeys > 0 && u.Keys+u.AddKeys > limit {
			return quota.CheckResponse{Reason: fmt.Sprintf("prefix %q is limited to %d keys (it holds %d, the write adds %d)",
				u.Prefix, limit, u.Keys, u.AddKeys)}, nil
		}
	}
	return quota.CheckResponse{Admit: true}, nil
}
