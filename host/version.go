package host

import (
	"fmt"
	"io"
	"runtime"
)

// Version is MetaStore's own version.
const Version = "0.1.0"

// APIVersion is the etcd API version MetaStore speaks and reports.
const APIVersion = "3.7.3"

// The cluster and storage versions /version reports: etcd reports the
// major.minor of the version every member runs.
const (
	clusterVersion = "3.7.0"
	storageVersion = "3.7.0"
)

// PrintVersion writes what --version prints.
func PrintVersion(w io.Writer) {
	fmt.Fprintf(w, "metastore Version: %s\n", Version)
	fmt.Fprintf(w, "etcd Version: %s\n", APIVersion)
	fmt.Fprintf(w, "Go Version: %s\n", runtime.Version())
	fmt.Fprintf(w, "Go OS/Arch: %s/%s\n", runtime.GOOS, runtime.GOARCH)
}
