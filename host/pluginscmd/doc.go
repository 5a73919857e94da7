// Package pluginscmd is the `metastore plugins` command: the plugin
// catalog of the configuration that the flags, the environment and
// --config-file describe. list shows every plugin, built in or a process,
// with its checksums and what it reports about itself; verify checks each
// catalog binary's checksum and handshake and exits 1 if any fails; pin
// writes the binaries' checksums into the config file (pin.go).
//
// It imports, of MetaStore, host/config, host/plugin, pluginapi and the
// built-in quota policy; the member hands it its built-in engines and
// version. Never host.
package pluginscmd
