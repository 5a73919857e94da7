// Command hostileauth is the oidc auth provider plugin, except that its
// second token verification never answers, once: the file named by
// METASTORE_HOSTILE_ONCE marks that it did, so the processes the host
// starts after it behave. It goes on answering pings. host/e2e's hostile
// auth plugin test runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/plugins/auth/oidc"
)

type hostile struct {
	*oidc.Provider
	verifies atomic.Int64
}

func (h *hostile) VerifyToken(ctx context.Context, req auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	if h.verifies.Add(1) == 2 {
		if f, err := os.OpenFile(os.Getenv("METASTORE_HOSTILE_ONCE"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			_ = f.Close()
			select {} // never answers
		}
	}
	return h.Provider.VerifyToken(ctx, req)
}

func main() {
	cfg, err := oidc.ConfigFromEnv()
	var p *oidc.Provider
	if err == nil {
		p, err = oidc.New(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	auth.Serve(&hostile{Provider: p})
}
