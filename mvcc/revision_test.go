package mvcc

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRevBytes(t *testing.T) {
	tests := []struct {
		name      string
		rev       revision
		tombstone bool
		want      []byte
	}{
		{"zero", revision{}, false, []byte{0, 0, 0, 0, 0, 0, 0, 0, '_', 0, 0, 0, 0, 0, 0, 0, 0}},
		{"main and sub", revision{main: 0x102, sub: 3}, false, []byte{0, 0, 0, 0, 0, 0, 1, 2, '_', 0, 0, 0, 0, 0, 0, 0, 3}},
		{"tombstone", revision{main: 5, sub: 1}, true, []byte{0, 0, 0, 0, 0, 0, 0, 5, '_', 0, 0, 0, 0, 0, 0, 0, 1, 't'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := revBytes(tt.rev, tt.tombstone)
			assert.Equal(t, tt.want, b)
			rev, tomb, err := parseRevBytes(b)
			require.NoError(t, err)
			assert.Equal(t, tt.rev, rev)
			assert.Equal(t, tt.tombstone, tomb)
		})
	}
}

func TestRevBytesOrderIsRevisionOrder(t *testing.T) {
	revs := []revision{{1, 0}, {1, 1}, {1, 255}, {2, 0}, {256, 0}, {256, 1}}
	for i := 1; i < len(revs); i++ {
		a, b := revs[i-1], revs[i]
		assert.True(t, b.greaterThan(a))
		assert.Negative(t, bytes.Compare(revBytes(a, true), revBytes(b, false)), "%v(t) < %v", a, b)
	}
}

func TestParseRevBytesErrors(t *testing.T) {
	good := revBytes(revision{main: 1}, false)
	tests := []struct {
		name string
		b    []byte
	}{
		{"short", good[:16]},
		{"bad separator", append(append([]byte{}, good[:8]...), append([]byte{'-'}, good[9:]...)...)},
		{"bad mark", append(append([]byte{}, good...), 'x')},
		{"negative", revBytes(revision{main: -1}, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseRevBytes(tt.b)
			require.Error(t, err)
		})
	}
}
