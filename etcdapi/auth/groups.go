package auth

import (
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// Roles granted to groups.
//
// An auth provider may say which groups a user is in (an OIDC token's
// "groups" claim, say). An operator grants roles to a group through an
// etcd user standing for it: the user "group/<name>", added without a
// password, holds the roles every member of the group gets:
//
//	etcdctl user add group/dev --no-password
//	etcdctl user grant-role group/dev dev-rw
//
// Being etcd users, group grants are replicated through raft with the rest
// of the auth state, survive restarts, bump the auth revision when they
// change (so every cached identity and permission is checked again), and
// are managed with etcd's own API and tools. A caller's permissions are the
// union of its own user's roles and its groups' roles; it need not be an
// etcd user itself when a group grants it something. A provider's identity
// may not name a group user as its user (it is refused as an invalid
// token), so that no token stands for a whole group.

// groupUserPrefix starts the name of the etcd user that holds a group's
// roles.
const groupUserPrefix = "group/"

// groupUser is the etcd user that holds group's roles.
func groupUser(group string) string { return groupUserPrefix + group }

// isGroupUser reports whether user names a group's roles rather than a
// caller.
func isGroupUser(user string) bool { return strings.HasPrefix(user, groupUserPrefix) }

// headerGroupsField is the RequestHeader field that carries the caller's
// groups in a raft entry, so that the applier checks the entry with the
// identity its proposer checked. etcd defines fields 1 to 3; this
// repeated string travels as an unknown field, which etcd's generated
// messages keep when they are decoded and encoded again.
const headerGroupsField protowire.Number = 1001

// SetHeaderGroups records groups in h.
func SetHeaderGroups(h *pb.RequestHeader, groups []string) {
	var b []byte
	for _, g := range groups {
		b = protowire.AppendTag(b, headerGroupsField, protowire.BytesType)
		b = protowire.AppendString(b, g)
	}
	h.ProtoReflect().SetUnknown(b)
}

// HeaderGroups returns the groups h records; a malformed record yields
// the groups read before it, so a damaged entry grants less, never more.
func HeaderGroups(h *pb.RequestHeader) []string {
	if h == nil {
		return nil
	}
	var groups []string
	b := h.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return groups
		}
		b = b[n:]
		if num == headerGroupsField && typ == protowire.BytesType {
			g, m := protowire.ConsumeString(b)
			if m < 0 {
				return groups
			}
			groups = append(groups, g)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return groups
		}
		b = b[m:]
	}
	return groups
}

// identityGrants are what an identity's roles give it.
type identityGrants struct {
	known bool       // its user or one of its groups is an etcd user
	root  bool       // one of them has the root role
	perms *userPerms // the union of their key permissions
}

// maxGroupGrants bounds the cache of grants of identities with groups;
// when full it starts over.
const maxGroupGrants = 4096

// grantsLocked returns ai's grants: its user's roles and, for an identity
// with groups, the union with its groups' roles. Those of identities with
// groups are cached until the next auth change.
func (as *Store) grantsLocked(ai Info) identityGrants {
	if len(ai.Groups) == 0 {
		u := as.users[ai.User]
		if u == nil {
			return identityGrants{}
		}
		return identityGrants{known: true, root: hasRootRole(u), perms: as.perms[ai.User]}
	}
	key := ai.User + "\x00" + strings.Join(ai.Groups, "\x00")
	as.groupMu.Lock()
	defer as.groupMu.Unlock()
	if g, ok := as.groupGrants[key]; ok {
		return g
	}
	g := as.mergeGrantsLocked(ai)
	if len(as.groupGrants) >= maxGroupGrants {
		as.groupGrants = make(map[string]identityGrants)
	}
	as.groupGrants[key] = g
	return g
}

// mergeGrantsLocked merges the roles of ai's user and of its groups' users.
func (as *Store) mergeGrantsLocked(ai Info) identityGrants {
	var g identityGrants
	var names []string
	holders := append([]string{ai.User}, ai.Groups...)
	for i, h := range holders {
		if i > 0 {
			h = groupUser(h)
		}
		u := as.users[h]
		if u == nil {
			continue
		}
		g.known = true
		g.root = g.root || hasRootRole(u)
		names = append(names, u.Roles...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	roles := make([]*authpb.Role, 0, len(names))
	for _, n := range names {
		if r := as.roles[n]; r != nil {
			roles = append(roles, r)
		}
	}
	g.perms = mergePerms(roles)
	return g
}
