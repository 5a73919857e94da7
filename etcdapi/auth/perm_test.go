package auth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.etcd.io/etcd/api/v3/authpb"
)

func TestPermissionsAllow(t *testing.T) {
	rw := func(key, end string) *authpb.Permission {
		return &authpb.Permission{PermType: authpb.Permission_READWRITE, Key: []byte(key), RangeEnd: []byte(end)}
	}
	read := func(key, end string) *authpb.Permission {
		return &authpb.Permission{PermType: authpb.Permission_READ, Key: []byte(key), RangeEnd: []byte(end)}
	}
	p := mergePerms([]*authpb.Role{
		{Name: []byte("a"), KeyPermission: []*authpb.Permission{rw("/a/", "/a0"), read("/k", "")}},
		{Name: []byte("b"), KeyPermission: []*authpb.Permission{read("/m", "/o"), read("/o", "/q"), read("/z", "\x00")}},
	})
	for _, tc := range []struct {
		name     string
		key, end string
		typ      authpb.Permission_Type
		want     bool
	}{
		{"key in prefix", "/a/1", "", authpb.Permission_WRITE, true},
		{"whole prefix", "/a/", "/a0", authpb.Permission_READ, true},
		{"past the prefix", "/a/", "/b", authpb.Permission_READ, false},
		{"single key", "/k", "", authpb.Permission_READ, true},
		{"single key not written", "/k", "", authpb.Permission_WRITE, false},
		{"prefix of a single key", "/k", "/l", authpb.Permission_READ, false},
		{"touching ranges join", "/m", "/q", authpb.Permission_READ, true},
		{"inside joined ranges", "/n", "/p", authpb.Permission_READ, true},
		{"past joined ranges", "/n", "/r", authpb.Permission_READ, false},
		{"open end granted", "/z1", "\x00", authpb.Permission_READ, true},
		{"open end from before", "/y", "\x00", authpb.Permission_READ, false},
		{"key after open grant", "/zzz", "", authpb.Permission_READ, true},
		{"outside everything", "/b", "", authpb.Permission_READ, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, p.allows([]byte(tc.key), []byte(tc.end), tc.typ))
		})
	}
}

func TestValidPermRange(t *testing.T) {
	assert.True(t, validPermRange([]byte("a"), nil))
	assert.True(t, validPermRange([]byte("a"), []byte("b")))
	assert.True(t, validPermRange([]byte("a"), []byte{0}))
	assert.False(t, validPermRange(nil, []byte("b")))
	assert.False(t, validPermRange([]byte("b"), []byte("a")))
	assert.False(t, validPermRange([]byte("a"), []byte("a")))
}
