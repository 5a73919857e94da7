package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCorruptionSettings(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		wantErr string
		check   func(t *testing.T, c CorruptionConfig)
	}{
		{name: "etcd defaults", check: func(t *testing.T, c CorruptionConfig) {
			assert.False(t, c.initialCheck)
			assert.False(t, c.compactHashCheck)
			assert.Zero(t, c.corruptEvery)
			assert.Equal(t, time.Minute, c.compactHashEvery)
		}},
		{name: "both gates and both times",
			args: []string{"--feature-gates=InitialCorruptCheck=true,CompactHashCheck=true", "--corrupt-check-time=2s", "--compact-hash-check-time=500ms"},
			check: func(t *testing.T, c CorruptionConfig) {
				assert.True(t, c.initialCheck)
				assert.True(t, c.compactHashCheck)
				assert.Equal(t, 2*time.Second, c.corruptEvery)
				assert.Equal(t, 500*time.Millisecond, c.compactHashEvery)
			}},
		{name: "from the environment", env: []string{"METASTORE_FEATURE_GATES=CompactHashCheck=true"},
			check: func(t *testing.T, c CorruptionConfig) { assert.True(t, c.compactHashCheck) }},
		{name: "another etcd gate at its default", args: []string{"--feature-gates=FastLeaseKeepAlive=true,InitialCorruptCheck=false"},
			check: func(t *testing.T, c CorruptionConfig) { assert.False(t, c.initialCheck) }},
		{name: "unknown gate", args: []string{"--feature-gates=NoSuchGate=true"}, wantErr: "unrecognized feature gate: NoSuchGate"},
		{name: "not a bool", args: []string{"--feature-gates=InitialCorruptCheck=maybe"}, wantErr: "invalid value of InitialCorruptCheck=maybe"},
		{name: "unsupported gate", args: []string{"--feature-gates=StopGRPCServiceOnDefrag=true"}, wantErr: "StopGRPCServiceOnDefrag=true is not supported"},
		{name: "zero compact hash check time", args: []string{"--compact-hash-check-time=0s"}, wantErr: "--compact-hash-check-time must be >0"},
		{name: "bad corrupt check time", args: []string{"--corrupt-check-time=soon"}, wantErr: "invalid --corrupt-check-time"},
		{name: "an etcd 3.5 flag etcd 3.7 dropped", args: []string{"--experimental-initial-corrupt-check"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		loadCase(t, tt.name, tt.args, tt.env, tt.wantErr, func(t *testing.T, c Config) { tt.check(t, c.CorruptionConfig) })
	}
}
