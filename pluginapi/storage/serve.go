package storage

import (
	"context"
	"time"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// closeTimeout bounds the Close a plugin makes on its way out.
const closeTimeout = 30 * time.Second

// Serve serves impl as a storage engine plugin and returns when the host
// stops the plugin. It is the whole main of a plugin binary:
//
//	func main() { storage.Serve(myengine.New()) }
//
// The plugin logs hclog JSON on stderr and must print nothing on stdout.
// On the way out, whether the host asked it to stop or went away, it
// closes impl (Close is called twice when the host closed it already,
// which the contract allows).
func Serve(impl Engine) {
	name := "storage"
	if info, err := impl.Info(context.Background()); err == nil && info.Name != "" {
		name = "storage." + info.Name
	}
	lg := pluginrpc.NewLogger(name)
	pluginrpc.Serve(pluginrpc.ServeConfig{
		Handshake: Handshake,
		Plugins:   VersionedPlugins(impl),
		Logger:    lg,
		Cleanup: func() {
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			if err := impl.Close(ctx); err != nil {
				lg.Error("closing the engine", "error", err)
			}
		},
	})
}
