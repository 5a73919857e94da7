// Command hostilequota is the prefix-quota plugin, except that its third
// Check never answers, once: the file named by METASTORE_HOSTILE_ONCE
// marks that it did, so the processes the host starts after it behave.
// host/e2e's hostile quota test runs it.
package main

import (
	"context"
	"os"
	"sync/atomic"

	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/plugins/quota/prefix"
)

type hostile struct {
	*prefix.Policy
	checks atomic.Int64
}

func (h *hostile) Check(ctx context.Context, req quota.CheckRequest) (quota.CheckResponse, error) {
	if h.checks.Add(1) == 3 {
		if f, err := os.OpenFile(os.Getenv("METASTORE_HOSTILE_ONCE"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			_ = f.Close()
			select {} // never answers, but answers pings
		}
	}
	return h.Policy.Check(ctx, req)
}

func main() { quota.Serve(&hostile{Policy: prefix.New()}) }
