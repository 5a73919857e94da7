package linearize

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// Kind is the kind of a recorded call.
type Kind uint8

// The calls the model knows, each on one key.
const (
	// Get is a linearizable single-key range.
	Get Kind = iota
	// Put writes Value.
	Put
	// Delete deletes the key, reporting how many keys it deleted.
	Delete
	// CAS writes Value in a txn whose compare is value(Key) == Old, or,
	// with IfAbsent, create_revision(Key) == 0.
	CAS
)

func (k Kind) String() string {
	switch k {
	case Get:
		return "get"
	case Put:
		return "put"
	case Delete:
		return "delete"
	case CAS:
		return "cas"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Input is a call as the client made it.
type Input struct {
	Kind     Kind
	Key      string
	Value    string // Put, CAS
	Old      string // CAS: the value compared against
	IfAbsent bool   // CAS: compare the key's absence instead of Old
}

// Output is what the call returned.
type Output struct {
	// Unknown is a write whose effect the client could not learn.
	Unknown bool
	// Found and Value are the result of a Get.
	Found bool
	Value string
	// Succeeded is a CAS's txn result.
	Succeeded bool
	// Deleted is a Delete's count.
	Deleted int64
	// Revision is the response header's revision; the model ignores it.
	Revision int64
}

// state is one key: absent, or present with a value.
type state struct {
	present bool
	value   string
}

// Model is the porcupine model of one etcd key per partition.
var Model = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return state{} },
	Step: func(st, in, out any) (bool, any) {
		return step(st.(state), in.(Input), out.(Output))
	},
	Equal: func(a, b any) bool { return a.(state) == b.(state) },
	DescribeOperation: func(in, out any) string {
		return describe(in.(Input), out.(Output))
	},
	DescribeState: func(st any) string {
		s := st.(state)
		if !s.present {
			return "absent"
		}
		return fmt.Sprintf("%q", s.value)
	},
}

// step applies in to st and reports whether out is what etcd may answer.
// An unknown write is applied: porcupine may order it after everything
// else, which is the same as never applying it.
func step(st state, in Input, out Output) (bool, state) {
	switch in.Kind {
	case Get:
		return out.Found == st.present && (!st.present || out.Value == st.value), st
	case Put:
		return true, state{present: true, value: in.Value}
	case Delete:
		deleted := int64(0)
		if st.present {
			deleted = 1
		}
		return out.Unknown || out.Deleted == deleted, state{}
	case CAS:
		ok := st.present && st.value == in.Old
		if in.IfAbsent {
			ok = !st.present
		}
		next := st
		if ok {
			next = state{present: true, value: in.Value}
		}
		return out.Unknown || out.Succeeded == ok, next
	}
	return false, st
}

func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	index := map[string]int{}
	var parts [][]porcupine.Operation
	for _, op := range history {
		key := op.Input.(Input).Key
		i, ok := index[key]
		if !ok {
			i = len(parts)
			index[key] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], op)
	}
	return parts
}

func describe(in Input, out Output) string {
	var res string
	switch {
	case out.Unknown:
		res = "?"
	case in.Kind == Get && out.Found:
		res = fmt.Sprintf("%q", out.Value)
	case in.Kind == Get:
		res = "absent"
	case in.Kind == Delete:
		res = fmt.Sprintf("deleted %d", out.Deleted)
	case in.Kind == CAS:
		res = fmt.Sprintf("succeeded=%v", out.Succeeded)
	default:
		res = "ok"
	}
	switch in.Kind {
	case Put:
		return fmt.Sprintf("put(%s, %q) -> %s", in.Key, in.Value, res)
	case CAS:
		if in.IfAbsent {
			return fmt.Sprintf("cas(%s, absent -> %q) -> %s", in.Key, in.Value, res)
		}
		return fmt.Sprintf("cas(%s, %q -> %q) -> %s", in.Key, in.Old, in.Value, res)
	}
	return fmt.Sprintf("%s(%s) -> %s", in.Kind, in.Key, res)
}
