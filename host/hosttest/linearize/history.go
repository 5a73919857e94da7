package linearize

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Errors of Check.
var (
	ErrNotLinearizable = errors.New("linearize: history is not linearizable")
	ErrCheckTimedOut   = errors.New("linearize: linearizability check timed out")
)

// History is a concurrent record of calls; its methods are safe for
// concurrent use.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

// NewHistory returns an empty history whose clock starts now.
func NewHistory() *History { return &History{start: time.Now()} }

// Now is the history's clock, for a call's invocation and return times.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// Add records a call by client made at call that returned out at ret. An
// unknown output is recorded as never returning, so that it may take
// effect at any time after its call.
func (h *History) Add(client int, in Input, out Output, call, ret int64) {
	if out.Unknown {
		ret = math.MaxInt64
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// Operations returns a copy of the recorded calls.
func (h *History) Operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// Stats counts the recorded calls.
type Stats struct {
	Ops, Unknown int
	ByKind       map[Kind]int
}

// Stats counts the recorded calls by kind, and the unknown ones.
func (h *History) Stats() Stats {
	st := Stats{ByKind: map[Kind]int{}}
	for _, op := range h.Operations() {
		st.Ops++
		st.ByKind[op.Input.(Input).Kind]++
		if op.Output.(Output).Unknown {
			st.Unknown++
		}
	}
	return st
}

func (s Stats) String() string {
	return fmt.Sprintf("%d ops (%d get, %d put, %d delete, %d cas; %d unknown)",
		s.Ops, s.ByKind[Get], s.ByKind[Put], s.ByKind[Delete], s.ByKind[CAS], s.Unknown)
}

// Check checks ops against Model within timeout. When the history is not
// linearizable, and dir is not empty, it writes porcupine's visualization
// to dir and names the file in the error.
func Check(ops []porcupine.Operation, timeout time.Duration, dir string) error {
	res, info := porcupine.CheckOperationsVerbose(Model, ops, timeout)
	switch res {
	case porcupine.Ok:
		return nil
	case porcupine.Unknown:
		return fmt.Errorf("%w after %v (%d ops)", ErrCheckTimedOut, timeout, len(ops))
	}
	if dir == "" {
		return ErrNotLinearizable
	}
	path := filepath.Join(dir, "linearizability.html")
	if err := porcupine.VisualizePath(Model, info, path); err != nil {
		return fmt.Errorf("%w (visualization: %v)", ErrNotLinearizable, err)
	}
	return fmt.Errorf("%w: see %s", ErrNotLinearizable, path)
}
