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
