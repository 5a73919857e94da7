package apply

import "google.golang.org/protobuf/proto"

// Result is what the applier hands back to the request waiting on a
// proposal.
type Result struct {
	Resp proto.Message
	Err  error
	// Physc, for a compaction, closes when old revisions are gone from the
	// engine.
	Physc <-chan struct{}
}
