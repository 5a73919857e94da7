// Package pluginrpc holds the go-plugin settings every MetaStore plugin kind
// shares, so that the host and each plugin agree on them: gRPC as the only
// protocol, AutoMTLS, gRPC message limits raised on both sides, hclog JSON on
// stderr, and a plugin that exits when its host is gone.
//
// Plugin authors do not use it directly: each kind's package
// (pluginapi/storage, ...) offers Serve(impl) for a plugin's main and a
// launcher for hosts and tests, built on this package.
//
// It imports nothing of MetaStore's.
package pluginrpc
