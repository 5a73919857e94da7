package linearize

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// op builds a recorded call for the tables below.
func op(client int, in Input, out Output, call, ret int64) porcupine.Operation {
	if out.Unknown {
		ret = 1 << 62
	}
	return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
}

func put(k, v string) Input      { return Input{Kind: Put, Key: k, Value: v} }
func get(k string) Input         { return Input{Kind: Get, Key: k} }
func del(k string) Input         { return Input{Kind: Delete, Key: k} }
func cas(k, old, v string) Input { return Input{Kind: CAS, Key: k, Old: old, Value: v} }
func create(k, v string) Input   { return Input{Kind: CAS, Key: k, Value: v, IfAbsent: true} }

var (
	ok      = Output{}
	unknown = Output{Unknown: true}
	absent  = Output{}
)

func found(v string) Output  { return Output{Found: true, Value: v} }
func swapped(b bool) Output  { return Output{Succeeded: b} }
func deleted(n int64) Output { return Output{Deleted: n} }

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		ops  []porcupine.Operation
		ok   bool
	}{
		{"sequential put get delete", []porcupine.Operation{
			op(0, get("a"), absent, 0, 1),
			op(0, put("a", "1"), ok, 2, 3),
			op(1, get("a"), found("1"), 4, 5),
			op(1, del("a"), deleted(1), 6, 7),
			op(0, del("a"), deleted(0), 8, 9),
			op(0, get("a"), absent, 10, 11),
		}, true},
		{"a read concurrent with a put sees either value", []porcupine.Operation{
			op(0, put("a", "1"), ok, 0, 1),
			op(0, put("a", "2"), ok, 2, 10),
			op(1, get("a"), found("1"), 3, 4),
			op(2, get("a"), found("2"), 5, 6),
		}, true},
		{"a stale read after an acknowledged put", []porcupine.Operation{
			op(0, put("a", "1"), ok, 0, 1),
			op(0, put("a", "2"), ok, 2, 3),
			op(1, get("a"), found("1"), 4, 5),
		}, false},
		{"a read going back in time", []porcupine.Operation{
			op(0, put("a", "1"), ok, 0, 1),
			op(0, put("a", "2"), ok, 2, 20),
			op(1, get("a"), found("2"), 3, 4),
			op(2, get("a"), found("1"), 5, 6),
		}, false},
		{"compare-and-swap on the current value", []porcupine.Operation{
			op(0, create("a", "1"), swapped(true), 0, 1),
			op(0, create("a", "x"), swapped(false), 2, 3),
			op(1, cas("a", "1", "2"), swapped(true), 4, 5),
			op(1, cas("a", "1", "3"), swapped(false), 6, 7),
			op(0, get("a"), found("2"), 8, 9),
		}, true},
		{"two swaps from the same value both succeed", []porcupine.Operation{
			op(0, put("a", "1"), ok, 0, 1),
			op(1, cas("a", "1", "2"), swapped(true), 2, 5),
			op(2, cas("a", "1", "3"), swapped(true), 2, 5),
		}, false},
		{"a swap of a missing key succeeds", []porcupine.Operation{
			op(0, cas("a", "", "1"), swapped(true), 0, 1),
		}, false},
		{"a delete of a missing key deletes one", []porcupine.Operation{
			op(0, del("a"), deleted(1), 0, 1),
		}, false},
		{"an unknown put that took effect", []porcupine.Operation{
			op(0, put("a", "1"), unknown, 0, 0),
			op(1, get("a"), found("1"), 5, 6),
			op(1, get("a"), found("1"), 7, 8),
		}, true},
		{"an unknown put that never took effect", []porcupine.Operation{
			op(0, put("a", "1"), unknown, 0, 0),
			op(1, get("a"), absent, 5, 6),
			op(1, put("a", "2"), ok, 7, 8),
			op(1, get("a"), found("2"), 9, 10),
		}, true},
		{"an unknown put cannot take effect before its call", []porcupine.Operation{
			op(1, get("a"), found("1"), 0, 1),
			op(0, put("a", "1"), unknown, 5, 0),
		}, false},
		{"an unknown put takes effect at most once", []porcupine.Operation{
			op(0, put("a", "1"), unknown, 0, 0),
			op(1, get("a"), found("1"), 2, 3),
			op(1, put("a", "2"), ok, 4, 5),
			op(1, get("a"), found("1"), 6, 7),
		}, false},
		{"keys are independent", []porcupine.Operation{
			op(0, put("a", "1"), ok, 0, 1),
			op(1, put("b", "1"), ok, 0, 1),
			op(0, get("b"), found("1"), 2, 3),
			op(1, get("a"), found("1"), 2, 3),
			op(1, get("c"), absent, 2, 3),
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.ops, 10*time.Second, t.TempDir())
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrNotLinearizable)
			}
		})
	}
}

func TestHistoryRecordsUnknownWritesAsNeverReturning(t *testing.T) {
	h := NewHistory()
	h.Add(0, put("a", "1"), unknown, h.Now(), h.Now())
	h.Add(1, get("a"), absent, h.Now(), h.Now())
	ops := h.Operations()
	require.Len(t, ops, 2)
	require.Greater(t, ops[0].Return, ops[1].Return)
	require.Equal(t, "2 ops (1 get, 1 put, 0 delete, 0 cas; 1 unknown)", h.Stats().String())
	require.NoError(t, Check(ops, 10*time.Second, ""))
}
