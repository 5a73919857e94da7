package etcdapi

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/storage"
)

// AuthNamespace is the storage engine namespace of users, roles and the
// auth switch: "enabled" holds one byte (1: on), "revision" the 8-byte
// big-endian auth revision, "user/<name>" an authpb.User and "role/<name>"
// an authpb.Role. It is written through mvcc's meta writes, in the batch of
// the raft entry that changed it.
const AuthNamespace = "auth"

const (
	rootUser = "root"
	rootRole = "root"

	authKeyEnabled  = "enabled"
	authKeyRevision = "revision"
	authUserPrefix  = "user/"
	authRolePrefix  = "role/"
)

// metaWriter is the part of an mvcc write the auth state persists through.
type metaWriter interface {
	PutMeta(ns string, key, value []byte)
	DeleteMeta(ns string, key []byte)
}

var _ metaWriter = (*mvcc.TxnWrite)(nil)

// authStore is the replicated auth state: the switch, the auth revision,
// users and roles, and the permission cache derived from them. The applier
// changes it, in log order; request handlers read it. Every change that
// etcd counts bumps the revision, so a token or a check made before the
// change can be told apart from one made after.
type authStore struct {
	lg *zap.Logger

	mu       sync.RWMutex
	enabled  bool
	revision uint64
	users    map[string]*authpb.User
	roles    map[string]*authpb.Role
	perms    map[string]*userPerms // by user name

	// groupGrants caches the grants of identities with groups, by user
	// and groups; refreshPermsLocked empties it.
	groupMu     sync.Mutex
	groupGrants map[string]identityGrants

	// Member-local settings, fixed before serving.
	provider       auth.Provider   // who verifies passwords and tokens
	external       *externalTokens // tokens issued elsewhere, or nil
	tokens         tokenProvider
	bcryptCost     int
	clientCertAuth bool
}

func newAuthStore(lg *zap.Logger) *authStore {
	as := &authStore{
		lg:          lg,
		revision:    1, // a store that was never written starts at 1, as etcd's
		users:       make(map[string]*authpb.User),
		roles:       make(map[string]*authpb.Role),
		perms:       make(map[string]*userPerms),
		groupGrants: make(map[string]identityGrants),
		tokens:      newSimpleTokens(0, time.Now, func(context.Context, uint64) error { return nil }),
		bcryptCost:  bcrypt.DefaultCost,
	}
	as.provider = etcdProvider{as}
	return as
}

// configure sets the member-local settings.
func (as *authStore) configure(tokens tokenProvider, bcryptCost int, clientCertAuth bool, external auth.Provider) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.tokens, as.bcryptCost, as.clientCertAuth = tokens, bcryptCost, clientCertAuth
	if external != nil {
		as.external = newExternalTokens(external)
	}
}

// load rebuilds the state from the engine. It must run before the first
// entry is applied.
func (as *authStore) load(ctx context.Context, store *mvcc.Store) error {
	fresh := newAuthStore(as.lg)
	var decodeErr error
	err := store.ScanMeta(ctx, AuthNamespace, func(k, v []byte) bool {
		decodeErr = fresh.restore(string(k), v)
		return decodeErr == nil
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return fmt.Errorf("etcdapi: loading users and roles: %w", err)
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	as.enabled, as.revision = fresh.enabled, fresh.revision
	as.users, as.roles = fresh.users, fresh.roles
	as.refreshPermsLocked()
	if as.enabled {
		as.tokens.enable()
	} else {
		as.tokens.disable()
	}
	as.lg.Info("restored auth state", zap.Bool("enabled", as.enabled), zap.Uint64("revision", as.revision),
		zap.Int("users", len(as.users)), zap.Int("roles", len(as.roles)))
	return nil
}

// restore decodes one record of the auth namespace.
func (as *authStore) restore(key string, value []byte) error {
	switch {
	case key == authKeyEnabled:
		as.enabled = len(value) == 1 && value[0] == 1
	case key == authKeyRevision:
		if len(value) != 8 {
			return fmt.Errorf("%w: auth revision of %d bytes", storage.ErrCorrupt, len(value))
		}
		as.revision = binary.BigEndian.Uint64(value)
	case strings.HasPrefix(key, authUserPrefix):
		u := &authpb.User{}
		if err := proto.Unmarshal(value, u); err != nil {
			return fmt.Errorf("%w: user %q: %v", storage.ErrCorrupt, key, err)
		}
		as.users[string(u.Name)] = u
	case strings.HasPrefix(key, authRolePrefix):
		r := &authpb.Role{}
		if err := proto.Unmarshal(value, r); err != nil {
			return fmt.Errorf("%w: role %q: %v", storage.ErrCorrupt, key, err)
		}
		as.roles[string(r.Name)] = r
	}
	return nil
}

// The writes below run with mu held for writing, from the applier.

func (as *authStore) commitRevisionLocked(w metaWriter) {
	as.revision++
	w.PutMeta(AuthNamespace, []byte(authKeyRevision), binary.BigEndian.AppendUint64(nil, as.revision))
}

func (as *authStore) saveEnabledLocked(w metaWriter) {
	v := byte(0)
	if as.enabled {
		v = 1
	}
	w.PutMeta(AuthNamespace, []byte(authKeyEnabled), []byte{v})
}

func (as *authStore) putUserLocked(w metaWriter, u *authpb.User) {
	as.users[string(u.Name)] = u
	w.PutMeta(AuthNamespace, []byte(authUserPrefix+string(u.Name)), mustMarshal(u))
}

func (as *authStore) deleteUserLocked(w metaWriter, name string) {
	delete(as.users, name)
	w.DeleteMeta(AuthNamespace, []byte(authUserPrefix+name))
}

func (as *authStore) putRoleLocked(w metaWriter, r *authpb.Role) {
	as.roles[string(r.Name)] = r
	w.PutMeta(AuthNamespace, []byte(authRolePrefix+string(r.Name)), mustMarshal(r))
}

func (as *authStore) deleteRoleLocked(w metaWriter, name string) {
	delete(as.roles, name)
	w.DeleteMeta(AuthNamespace, []byte(authRolePrefix+name))
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("etcdapi: marshalling %T: %v", m, err))
	}
	return b
}

// refreshPermsLocked rebuilds the permission cache of every user.
func (as *authStore) refreshPermsLocked() {
	perms := make(map[string]*userPerms, len(as.users))
	for name, u := range as.users {
		roles := make([]*authpb.Role, 0, len(u.Roles))
		for _, r := range u.Roles {
			if role := as.roles[r]; role != nil {
				roles = append(roles, role)
			}
		}
		perms[name] = mergePerms(roles)
	}
	as.perms = perms
	as.groupMu.Lock()
	as.groupGrants = make(map[string]identityGrants)
	as.groupMu.Unlock()
}

// Readers.

func (as *authStore) isEnabled() bool {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.enabled
}

func (as *authStore) currentRevision() uint64 {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.revision
}

// status returns the switch and the revision, read together.
func (as *authStore) status() (enabled bool, revision uint64) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.enabled, as.revision
}

func hasRootRole(u *authpb.User) bool {
	i := sort.SearchStrings(u.Roles, rootRole)
	return i < len(u.Roles) && u.Roles[i] == rootRole
}

func (as *authStore) hasRole(user, role string) bool {
	as.mu.RLock()
	defer as.mu.RUnlock()
	u := as.users[user]
	if u == nil {
		return false
	}
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}
