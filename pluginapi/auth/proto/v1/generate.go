// Package authv1 is the generated code of the auth provider plugin
// protocol, version 1 (auth_provider.proto). Regenerate it with `go generate`
// (needs protoc, protoc-gen-go and protoc-gen-go-grpc on PATH; `make proto`
// installs them).
package authv1

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative auth_provider.proto
