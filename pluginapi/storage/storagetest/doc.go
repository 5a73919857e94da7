// Package storagetest is the conformance suite for storage engines. An
// engine vendor runs it from a test:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T, dir string) storage.Engine {
//			return myengine.New()
//		})
//	}
//
// The suite checks the contract written on storage.Engine: life cycle
// errors, reads and writes, scan bounds and order, batch atomicity, the
// consistent index, isolation of readers from concurrent batches, snapshot
// and restore, statistics, defragmentation for engines that offer it, and a
// seeded run of random operations against a reference model. Engines that
// declare the "durable" capability are also reopened on the same directory
// and must give their data back.
//
// The same suite runs through the plugin protocol: OverGRPC wraps an
// engine in the gRPC client and server shims in one process, and
// PluginFactory runs each engine in its own plugin process:
//
//	func TestConformancePlugin(t *testing.T) {
//		bin := storagetest.BuildPlugin(t, "example.com/myengine/cmd/myengine-plugin")
//		storagetest.Run(t, storagetest.PluginFactory(bin))
//	}
//
// It imports only pluginapi, gRPC, go-plugin's logger and testify.
package storagetest
