// Command metastore-auth-oidc is the oidc auth provider as a plugin
// process; it is configured through METASTORE_OIDC_* variables (see
// oidc.ConfigFromEnv).
package main

import (
	"fmt"
	"os"

	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/plugins/auth/oidc"
)

func main() {
	cfg, err := oidc.ConfigFromEnv()
	cfg.Logger = pluginrpc.NewLogger("auth.oidc")
	var p *oidc.Provider
	if err == nil {
		p, err = oidc.New(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // never stdout: it carries the handshake
		os.Exit(1)
	}
	auth.Serve(p)
}
