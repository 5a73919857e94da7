package etcdapi

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// declaringEngine is an engine that declares capabilities and counts the
// Defrag calls it gets.
type declaringEngine struct {
	storage.Engine
	caps    []string
	defrags int
}

func (e *declaringEngine) Info(context.Context) (storage.InfoResponse, error) {
	return storage.InfoResponse{Name: "declaring", Capabilities: e.caps}, nil
}

func (e *declaringEngine) Defrag(context.Context, storage.DefragRequest) (storage.DefragResponse, error) {
	e.defrags++
	return storage.DefragResponse{}, nil
}

// notDefragmenter hides every method but the Engine interface's.
type notDefragmenter struct{ storage.Engine }

func TestDefragmentFollowsDeclaredCapabilities(t *testing.T) {
	tests := []struct {
		name   string
		caps   []string
		called bool
	}{
		{"an engine that declares nothing is taken at its interfaces", nil, true},
		{"one that declares defrag is defragmented", []string{storage.CapabilityDurable, storage.CapabilityDefrag}, true},
		{"one that declares other capabilities only reclaims space by itself", []string{storage.CapabilityDurable}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &declaringEngine{caps: tt.caps}
			s := newTestServerWith(t, Deps{Engine: eng})
			_, err := s.Maintenance().Defragment(context.Background(), &pb.DefragmentRequest{})
			require.NoError(t, err)
			require.Equal(t, tt.called, eng.defrags == 1)
		})
	}
	eng := &declaringEngine{caps: []string{storage.CapabilityDefrag}}
	s := newTestServerWith(t, Deps{Engine: notDefragmenter{eng}})
	_, err := s.Maintenance().Defragment(context.Background(), &pb.DefragmentRequest{})
	require.NoError(t, err, "an engine without Defrag has nothing to do")
	require.Zero(t, eng.defrags)
}
