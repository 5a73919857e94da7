package storage

import "errors"

// Sentinel errors an engine returns, wrapped or not; callers check them with
// errors.Is. Across the plugin boundary each travels as a code and is rebuilt
// into the same sentinel.
var (
	// ErrNotOpen is returned by calls made before Open.
	ErrNotOpen = errors.New("storage: engine not open")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("storage: engine closed")
	// ErrCorrupt marks data that failed a checksum or could not be decoded.
	ErrCorrupt = errors.New("storage: data corrupt")
	// ErrInvalidRequest marks a request the engine cannot accept, such as an
	// empty namespace or an unknown op kind.
	ErrInvalidRequest = errors.New("storage: invalid request")
	// ErrUnavailable marks an engine that cannot serve now (e.g. its
	// process died); the host fails stop and reopens it.
	ErrUnavailable = errors.New("storage: engine unavailable")
)
