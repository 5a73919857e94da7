package etcdapi

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMajorMinor(t *testing.T) {
	tests := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"3.6", 3, 6, true}, {"3.6.0", 3, 6, true}, {"3.7.3-rc.1", 3, 7, true},
		{"3", 0, 0, false}, {"x.y", 0, 0, false}, {"3.06", 0, 0, false}, {"", 0, 0, false},
	}
	for _, tt := range tests {
		major, minor, ok := parseMajorMinor(tt.in)
		require.Equal(t, tt.ok, ok, tt.in)
		if ok {
			require.Equal(t, [2]int{tt.major, tt.minor}, [2]int{major, minor}, tt.in)
		}
	}
}
