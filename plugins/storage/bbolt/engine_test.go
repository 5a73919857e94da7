package bbolt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/pluginapi/storage/storagetest"
	"github.com/metastore/metastore/plugins/storage/bbolt"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T, string) storage.Engine { return bbolt.New() })
}

// TestConformanceOverGRPC runs the suite through the plugin protocol's
// client and server shims in one process.
func TestConformanceOverGRPC(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, _ string) storage.Engine { return storagetest.OverGRPC(t, bbolt.New()) })
}

// TestConformancePlugin runs the suite against the plugin binary, one
// process per engine.
func TestConformancePlugin(t *testing.T) {
	bin := storagetest.BuildPlugin(t, "github.com/metastore/metastore/cmd/metastore-storage-bbolt")
	storagetest.Run(t, storagetest.PluginFactory(bin))
}

func TestOpenOptions(t *testing.T) {
	tests := map[string]struct {
		options map[string]string
		wantErr error
	}{
		"none":              {},
		"initial mmap size": {options: map[string]string{bbolt.OptionInitialMmapSize: "1048576"}},
		"bad mmap size":     {options: map[string]string{bbolt.OptionInitialMmapSize: "lots"}, wantErr: storage.ErrInvalidRequest},
		"negative size":     {options: map[string]string{bbolt.OptionInitialMmapSize: "-1"}, wantErr: storage.ErrInvalidRequest},
		"unknown option":    {options: map[string]string{"no-such-option": "1"}, wantErr: storage.ErrInvalidRequest},
		"no fsync":          {options: map[string]string{bbolt.OptionUnsafeNoFsync: "true"}},
		"bad no fsync":      {options: map[string]string{bbolt.OptionUnsafeNoFsync: "maybe"}, wantErr: storage.ErrInvalidRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := bbolt.New()
			_, err := e.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir(), Options: tc.options})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, e.Close(context.Background()))
		})
	}
}
