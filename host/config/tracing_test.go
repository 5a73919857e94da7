package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTracingSettings(t *testing.T) {
	c, _, err := Load(nil, nil)
	require.NoError(t, err)
	require.False(t, c.EnableDistributedTracing)
	require.Equal(t, "localhost:4317", c.DistributedTracingAddress)
	require.Equal(t, "etcd", c.DistributedTracingServiceName)
	require.Empty(t, c.DistributedTracingInstanceID)
	require.Zero(t, c.DistributedTracingSamplingRate)

	c, _, err = Load([]string{"--enable-distributed-tracing", "--distributed-tracing-address", "127.0.0.1:4318",
		"--distributed-tracing-sampling-rate", "1000000"},
		[]string{"ETCD_DISTRIBUTED_TRACING_INSTANCE_ID=m1", "METASTORE_DISTRIBUTED_TRACING_SERVICE_NAME=store"})
	require.NoError(t, err)
	require.True(t, c.EnableDistributedTracing)
	require.Equal(t, "127.0.0.1:4318", c.DistributedTracingAddress)
	require.Equal(t, "store", c.DistributedTracingServiceName)
	require.Equal(t, "m1", c.DistributedTracingInstanceID)
	require.Equal(t, 1000000, c.DistributedTracingSamplingRate)
}

func TestTracingSamplingRateChecked(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"negative":                    {[]string{"--enable-distributed-tracing", "--distributed-tracing-sampling-rate=-1"}, "must be 0 to 1000000"},
		"over a million":              {[]string{"--enable-distributed-tracing", "--distributed-tracing-sampling-rate=1000001"}, "must be 0 to 1000000"},
		"a million":                   {[]string{"--enable-distributed-tracing", "--distributed-tracing-sampling-rate=1000000"}, ""},
		"unchecked when off, as etcd": {[]string{"--distributed-tracing-sampling-rate=-1"}, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := Load(tt.args, nil)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
