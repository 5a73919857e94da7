package txn

import "errors"

// Errors a txn's checks raise; the server maps them to etcd's.
var (
	// ErrKeyNotFound: an ignore_value or ignore_lease put on a missing key.
	ErrKeyNotFound = errors.New("txn: key not found")
	// ErrLeaseNotFound: a put attaching a lease that does not exist.
	ErrLeaseNotFound = errors.New("txn: lease not found")
)
