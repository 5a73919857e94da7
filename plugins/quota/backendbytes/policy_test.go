package backendbytes

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/quota"
)

func TestCheck(t *testing.T) {
	p := New(1000)
	tests := []struct {
		name    string
		size    int64
		cost    int64
		admit   bool
		alarm   quota.Alarm
		wantErr error
	}{
		{name: "room left", size: 500, cost: 100, admit: true},
		{name: "free write when full", size: 5000, cost: 0, admit: true},
		{name: "reaching the quota", size: 900, cost: 100, alarm: quota.AlarmNoSpace},
		{name: "already over", size: 1200, cost: 1, alarm: quota.AlarmNoSpace},
		{name: "negative cost", size: 0, cost: -1, wantErr: quota.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Check(context.Background(), quota.CheckRequest{
				Kind: quota.WritePut, Cost: tt.cost, Usage: quota.Usage{BackendBytes: tt.size},
			})
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.admit, resp.Admit)
			require.Equal(t, tt.alarm, resp.Alarm)
			if !tt.admit {
				require.Contains(t, resp.Reason, "1000")
			}
		})
	}
}

func TestInfo(t *testing.T) {
	info, err := New(1).Info(context.Background())
	require.NoError(t, err)
	require.Equal(t, Name, info.Name)
}
