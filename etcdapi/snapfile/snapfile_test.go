package snapfile

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
		fw := NewWriter(&buf)
		payload := bytes.Repeat([]byte{7}, n)
		_, err := fw.Write(payload)
		require.NoError(t, err)
		require.NoError(t, fw.Close())
		require.EqualValues(t, buf.Len(), fw.Size())
		require.Equal(t, 32, buf.Len()%512, "etcdctl checks the size for a checksum")

		var seen int64
		r, err := Verify(bytes.NewReader(buf.Bytes()), int64(buf.Len()), func(n int64) { seen = n })
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.Equal(t, payload, got)
		require.EqualValues(t, buf.Len()-32, seen)
	}
}

func TestVerifyRejectsDamage(t *testing.T) {
	var buf bytes.Buffer
	fw := NewWriter(&buf)
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
			_, err := Verify(bytes.NewReader(tt.file), int64(len(tt.file)), nil)
			require.ErrorIs(t, err, ErrNotWhole)
			require.ErrorIs(t, err, storage.ErrCorrupt)
		})
	}
}
