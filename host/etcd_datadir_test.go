package host

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckNotEtcdDataDir(t *testing.T) {
	tests := []struct {
		name    string
		files   []string // under the data dir; a trailing / makes a directory
		wantErr string
	}{
		{name: "empty"},
		{name: "MetaStore's", files: []string{"member/wal/", "member/engine/db", "member/snap/0000000000000010.snap.db"}},
		{name: "etcd's", files: []string{"member/snap/db", "member/wal/0000000000000000-0000000000000000.wal"},
			wantErr: "member/snap/db and "},
		{name: "etcd's with --wal-dir elsewhere", files: []string{"member/snap/db"},
			wantErr: "MetaStore does not read etcd's files in place: import them into a new data dir with `metastore snapshot restore "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				p := filepath.Join(dir, f)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
				if f[len(f)-1] != '/' {
					require.NoError(t, os.WriteFile(p, nil, 0o600))
				}
			}
			err := checkNotEtcdDataDir(dir)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrEtcdDataDir)
			require.ErrorContains(t, err, tt.wantErr)
			require.ErrorContains(t, err, dir+" has ")
			require.ErrorContains(t, err, "metastore snapshot restore "+filepath.Join(dir, "member", "snap", "db")+" --skip-hash-check --data-dir <new data dir> ...")
		})
	}
}
