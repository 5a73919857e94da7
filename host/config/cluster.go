package config

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// ClusterMember is one member of --initial-cluster.
type ClusterMember struct {
	Name     string
	PeerURLs []string
	ID       uint64
}

// ParseInitialCluster reads name=url,name=url,... ; a name may repeat to
// give a member several peer URLs. Member IDs are derived as etcd derives
// them, so a MetaStore member and an etcd member with the same settings
// agree on identities.
func ParseInitialCluster(s, token string) ([]ClusterMember, error) {
	byName := map[string]*ClusterMember{}
	var order []string
	for _, part := range strings.Split(s, ",") {
		name, u, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || u == "" {
			return nil, fmt.Errorf("--initial-cluster: %q is not name=peerURL", part)
		}
		if _, err := ParseURLs(u); err != nil {
			return nil, fmt.Errorf("--initial-cluster: %w", err)
		}
		m, seen := byName[name]
		if !seen {
			m = &ClusterMember{Name: name}
			byName[name] = m
			order = append(order, name)
		}
		m.PeerURLs = append(m.PeerURLs, u)
	}
	out := make([]ClusterMember, 0, len(order))
	for _, name := range order {
		m := byName[name]
		m.ID = memberID(m.PeerURLs, token)
		out = append(out, *m)
	}
	return out, nil
}

// memberID hashes the sorted peer URLs and the cluster token (etcd's rule
// for members of a new cluster).
func memberID(peerURLs []string, token string) uint64 {
	urls := append([]string(nil), peerURLs...)
	sort.Strings(urls)
	b := []byte(strings.Join(urls, ""))
	b = append(b, token...)
	sum := sha1.Sum(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// ClusterID hashes the sorted member IDs (etcd's rule).
func ClusterID(members []ClusterMember) uint64 {
	ids := make([]uint64, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.BigEndian.PutUint64(b[8*i:], id)
	}
	sum := sha1.Sum(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// Self finds this member, name, in the initial cluster and checks that its
// advertised peer URLs (--initial-advertise-peer-urls) match.
func Self(members []ClusterMember, name, advertised string) (ClusterMember, error) {
	for _, m := range members {
		if m.Name != name {
			continue
		}
		want := SplitURLs(advertised)
		sort.Strings(want)
		got := append([]string(nil), m.PeerURLs...)
		sort.Strings(got)
		if strings.Join(want, ",") != strings.Join(got, ",") {
			return m, fmt.Errorf("--initial-cluster has %s=%s but --initial-advertise-peer-urls is %s", name, strings.Join(got, ","), advertised)
		}
		return m, nil
	}
	return ClusterMember{}, fmt.Errorf("member %q is not in --initial-cluster", name)
}
