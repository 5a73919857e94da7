// Command metastore-auth-static-token is the static-token auth provider as
// a plugin process. The catalog entry's env names the token file:
//
//	plugins:
//	  - kind: auth
//	    name: static-token
//	    path: bin/metastore-auth-static-token
//	    sha256: ...
//	    env:
//	      METASTORE_STATIC_TOKEN_FILE: /etc/metastore/tokens
package main

import (
	"fmt"
	"os"

	"github.com/metastore/metastore/pluginapi/auth"

	statictoken "example.com/metastore-plugins/auth-static-token"
)

func main() {
	p, err := statictoken.New(os.Getenv("METASTORE_STATIC_TOKEN_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // never stdout: it carries the plugin handshake
		os.Exit(1)
	}
	auth.Serve(p)
}
