// Package quotav1 is the generated code of the quota policy plugin
// protocol, version 1 (quota_policy.proto). Regenerate it with `go generate`
// (needs protoc, protoc-gen-go and protoc-gen-go-grpc on PATH; `make proto`
// installs them).
package quotav1

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative quota_policy.proto
