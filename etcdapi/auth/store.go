package auth

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
	authplugin "github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/storage"
)

// Namespace is the storage engine namespace of users, roles and the
// auth switch: "enabled" holds one byte (1: on), "revision" the 8-byte
// big-endian auth revision, "user/<name>" an authpb.User and "role/<name>"
// an authpb.Role. It is written through mvcc's meta writes, in the batch of
// the raft entry that changed it.
const Namespace = "auth"

const (
	RootUser = "root"
	rootRole = "root"

	authKeyEnabled  = "enabled"
	authKeyRevision = "revision"
	authUserPrefix  = "user/"
	authRolePrefix  = "role/"
)

// MetaWriter is the part of an mvcc write the auth state persists through.
type MetaWriter interface {
	PutMeta(ns string, key, value []byte)
	DeleteMeta(ns string, key []byte)
}

var _ MetaWriter = (*mvcc.TxnWrite)(nil)

// Store is the replicated auth state: the switch, the auth revision,
// users and roles, and the permission cache derived from them. The applier
// changes it, in log order; request handlers read it. Every change that
// etcd counts bumps the revision, so a token or a check made before the
// change can be told apart from one made after.
type Store struct {
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
	provider       authplugin.Provider // who verifies passwords and tokens
	external       *externalTokens     // tokens issued elsewhere, or nil
	tokens         tokenProvider
	bcryptCost     int
	clientCertAuth bool
	gate           *passwordGate // bounds bcrypt's CPU
}

func NewStore(lg *zap.Logger) *Store {
	as := &Store{
		lg:          lg,
		revision:    1, // a store that was never written starts at 1, as etcd's
		users:       make(map[string]*authpb.User),
		roles:       make(map[string]*authpb.Role),
		perms:       make(map[string]*userPerms),
		groupGrants: make(map[string]identityGrants),
		tokens:      newSimpleTokens(0, time.Now, func(context.Context, uint64) error { return nil }),
		bcryptCost:  bcrypt.DefaultCost,
		gate:        defaultPasswordGate(),
	}
	as.provider = etcdProvider{as}
	return as
}

// Config configures authentication on a member.
type Config struct {
	// Token selects and configures the token provider.
	Token TokenOptions
	// BcryptCost is the cost of password hashes (--bcrypt-cost); outside
	// bcrypt's range it becomes bcrypt's default, as in etcd.
	BcryptCost int
	// ClientCertAuth makes the common name of a verified client
	// certificate the user of a request that carries no token
	// (--client-cert-auth).
	ClientCertAuth bool
	// Provider, when set, verifies the bearer tokens the member did not
	// issue (--auth-provider): its identities' users are checked against
	// etcd's users and roles. Nil: only the built-in etcd provider.
	Provider authplugin.Provider
}

// Configure sets the member-local settings. waitApplied blocks until the
// member has applied a raft index, so a simple token is known on the
// member that checks it.
func (as *Store) Configure(cfg Config, waitApplied func(context.Context, uint64) error) error {
	tokens, err := newTokenProvider(as.lg, cfg.Token, waitApplied)
	if err != nil {
		return err
	}
	cost := cfg.BcryptCost
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		as.lg.Warn("using the default bcrypt cost instead of the invalid one given",
			zap.Int("given-cost", cost), zap.Int("default-cost", bcrypt.DefaultCost))
		cost = bcrypt.DefaultCost
	}
	as.configure(tokens, cost, cfg.ClientCertAuth, cfg.Provider)
	return nil
}

// configure sets the member-local settings.
func (as *Store) configure(tokens tokenProvider, bcryptCost int, clientCertAuth bool, external authplugin.Provider) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.tokens, as.bcryptCost, as.clientCertAuth = tokens, bcryptCost, clientCertAuth
	if external != nil {
		as.external = newExternalTokens(external)
	}
}

// Load rebuilds the state from the engine. It must run before the first
// entry is applied.
func (as *Store) Load(ctx context.Context, store *mvcc.Store) error {
	fresh := NewStore(as.lg)
	var decodeErr error
	err := store.ScanMeta(ctx, Namespace, func(k, v []byte) bool {
		decodeErr = fresh.restore(string(k), v)
		return decodeErr == nil
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return fmt.Errorf("auth: loading users and roles: %w", err)
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
func (as *Store) restore(key string, value []byte) error {
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

func (as *Store) commitRevisionLocked(w MetaWriter) {
	as.revision++
	w.PutMeta(Namespace, []byte(authKeyRevision), binary.BigEndian.AppendUint64(nil, as.revision))
}

func (as *Store) saveEnabledLocked(w MetaWriter) {
	v := byte(0)
	if as.enabled {
		v = 1
	}
	w.PutMeta(Namespace, []byte(authKeyEnabled), []byte{v})
}

func (as *Store) putUserLocked(w MetaWriter, u *authpb.User) {
	as.users[string(u.Name)] = u
	w.PutMeta(Namespace, []byte(authUserPrefix+string(u.Name)), mustMarshal(u))
}

func (as *Store) deleteUserLocked(w MetaWriter, name string) {
	delete(as.users, name)
	w.DeleteMeta(Namespace, []byte(authUserPrefix+name))
}

func (as *Store) putRoleLocked(w MetaWriter, r *authpb.Role) {
	as.roles[string(r.Name)] = r
	w.PutMeta(Namespace, []byte(authRolePrefix+string(r.Name)), mustMarshal(r))
}

func (as *Store) deleteRoleLocked(w MetaWriter, name string) {
	delete(as.roles, name)
	w.DeleteMeta(Namespace, []byte(authRolePrefix+name))
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("auth: marshalling %T: %v", m, err))
	}
	return b
}

// refreshPermsLocked rebuilds the permission cache of every user.
func (as *Store) refreshPermsLocked() {
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

func (as *Store) Enabled() bool {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.enabled
}

func (as *Store) Revision() uint64 {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.revision
}

// Status returns the switch and the revision, read together.
func (as *Store) Status() (enabled bool, revision uint64) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.enabled, as.revision
}

func hasRootRole(u *authpb.User) bool {
	i := sort.SearchStrings(u.Roles, rootRole)
	return i < len(u.Roles) && u.Roles[i] == rootRole
}
