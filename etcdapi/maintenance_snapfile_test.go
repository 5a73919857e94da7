package etcdapi

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

func TestSnapshotFileRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 503, 504, 505, 1000, 4096} {
		var buf bytes.Buffer
		fw := NewSnapshotFileWriter(&buf)
		payload := bytes.Repeat([]byte{7}, n)
		_, err := fw.Write(payload)
		require.NoError(t, err)
		require.NoError(t, fw.Close())
		require.EqualValues(t, buf.Len(), fw.Size())
		require.Equal(t, 32, buf.Len()%512, "etcdctl checks the size for a checksum")

		var seen int64
		r, err := VerifySnapshotFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()), func(n int64) { seen = n })
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.Equal(t, payload, got)
		require.EqualValues(t, buf.Len()-32, seen)
	}
}

func TestVerifySnapshotFileRejectsDamage(t *testing.T) {
	var buf bytes.Buffer
	fw := NewSnapshotFileWriter(&buf)
	_, _ = fw.Write([]byte("snapshot"))
	require.NoError(t, fw.Close())
	good := buf.Bytes()
	tests := []struct {
		name string
		file []byte
	}{
		{"flipped byte", func() []byte { b := bytes.Clone(good); b[3] ^= 1; return b }()},
		{"flipped checksum", func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }()},
		{"truncated", good[:len(good)-1]},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifySnapshotFile(bytes.NewReader(tt.file), int64(len(tt.file)), nil)
			require.ErrorIs(t, err, ErrSnapshotFile)
			require.ErrorIs(t, err, storage.ErrCorrupt)
		})
	}
}

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
