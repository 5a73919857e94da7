// Package storagev1 is the generated code of the storage engine plugin
// protocol, version 1 (storage.proto). Regenerate it with `go generate`
// (needs protoc, protoc-gen-go and protoc-gen-go-grpc on PATH; `make proto`
// installs them).
package storagev1

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative storage.proto
