package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/raft"
	"github.com/metastore/metastore/raft/peer"
)

// peerListeners serve the raft transport on every --listen-peer-urls.
type peerListeners struct {
	server *grpc.Server
	lis    []net.Listener
}

func servePeers(lg *zap.Logger, cfg config.Config, tr *peer.Transport, calls *peer.Calls) (*peerListeners, error) {
	urls, err := config.ParseURLs(cfg.ListenPeerURLs)
	if err != nil {
		return nil, err
	}
	opts := append(peer.ServerOptions(), grpc.Creds(handshakenTLS{lg: lg.Named("peer")}))
	p := &peerListeners{server: grpc.NewServer(opts...)}
	for _, u := range urls {
		l, err := listenPeerURL(lg, cfg, u)
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("--listen-peer-urls: %w", err)
		}
		p.lis = append(p.lis, l)
	}
	tr.Register(p.server)
	calls.Register(p.server)
	for _, l := range p.lis {
		go func() {
			if err := tr.Serve(l, p.server); err != nil {
				lg.Debug("peer listener stopped", zap.Error(err))
			}
		}()
	}
	lg.Info("serving peer traffic", zap.String("listen-peer-urls", cfg.ListenPeerURLs))
	return p, nil
}

// listenPeerURL listens on u, behind TLS for an https URL: with
// --peer-trusted-ca-file or --peer-client-cert-auth only peers with a
// certificate that CA signed get through.
func listenPeerURL(lg *zap.Logger, cfg config.Config, u url.URL) (net.Listener, error) {
	l, err := listenTCP(&cfg.ServerConfig, u.Host)
	if err != nil || u.Scheme != "https" {
		return l, err
	}
	f, err := peerTLS(lg, &cfg)
	var tcfg *tls.Config
	if err == nil {
		tcfg, err = f.Server("h2")
	}
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return tls.NewListener(l, tcfg), nil
}

func (p *peerListeners) stop() {
	p.server.Stop()
	for _, l := range p.lis {
		_ = l.Close()
	}
}

// syncPeers makes the transport's peers the members of ms.
func syncPeers(tr *peer.Transport, self uint64, ms []etcdapi.Member) {
	want := map[uint64]bool{}
	for _, m := range ms {
		if m.ID == self {
			continue
		}
		want[m.ID] = true
		tr.SetPeer(m.ID, m.PeerURLs)
	}
	for _, id := range tr.PeerIDs() {
		if !want[id] {
			tr.RemovePeer(id)
		}
	}
}

// identity decides the member and cluster ids and the initial peers of a
// member without a WAL, from --initial-cluster and
// --initial-cluster-state, as etcd does: a new cluster derives them from
// the flags; a member joining an existing cluster asks the other members.
func (m *Member) identity(ctx context.Context, rcfg *raft.Config) ([]etcdapi.Member, error) {
	members, err := config.ParseInitialCluster(m.cfg.InitialCluster, m.cfg.InitialClusterToken)
	if err != nil {
		return nil, err
	}
	if m.cfg.InitialClusterState == "new" {
		me, err := config.Self(members, m.cfg.Name, m.cfg.InitialAdvertisePeerURLs)
		if err != nil {
			return nil, err
		}
		rcfg.MemberID, rcfg.ClusterID = me.ID, config.ClusterID(members)
		out := make([]etcdapi.Member, len(members))
		for i, p := range members {
			rcfg.Peers = append(rcfg.Peers, raft.Peer{ID: p.ID, Name: p.Name, URLs: p.PeerURLs})
			out[i] = etcdapi.Member{ID: p.ID, Name: p.Name, PeerURLs: p.PeerURLs}
		}
		return out, nil
	}
	return m.join(ctx, rcfg, members)
}

// join asks the other members of --initial-cluster for the cluster id and
// finds this member, added beforehand with MemberAdd, by its advertised
// peer URLs.
func (m *Member) join(ctx context.Context, rcfg *raft.Config, initial []config.ClusterMember) ([]etcdapi.Member, error) {
	mine := config.SplitURLs(m.cfg.InitialAdvertisePeerURLs)
	var urls []string
	for _, p := range initial {
		if p.Name != m.cfg.Name {
			urls = append(urls, p.PeerURLs...)
		}
	}
	if len(urls) == 0 {
		return nil, errors.New("--initial-cluster-state=existing needs the other members in --initial-cluster")
	}
	tlsCfg, err := peerClientTLS(m.lg, &m.cfg)
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cid, remote, err := peer.FetchMembers(fctx, urls, tlsCfg)
	if err != nil {
		return nil, err
	}
	out := make([]etcdapi.Member, 0, len(remote))
	for _, r := range remote {
		out = append(out, etcdapi.Member{ID: r.ID, Name: r.Name, PeerURLs: r.PeerURLs, IsLearner: r.IsLearner})
		if sameURLs(r.PeerURLs, mine) {
			rcfg.MemberID = r.ID
		}
	}
	if rcfg.MemberID == 0 {
		return nil, fmt.Errorf("no member of cluster %x has the peer URLs %s: add this member with `etcdctl member add` first",
			cid, m.cfg.InitialAdvertisePeerURLs)
	}
	rcfg.ClusterID = cid
	m.lg.Info("joining an existing cluster", zap.Stringer("cluster-id", types.ID(cid)),
		zap.Stringer("member-id", types.ID(rcfg.MemberID)))
	return out, nil
}

func sameURLs(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// peerMembers lists the membership for a joining member's Members call.
func peerMembers(api *etcdapi.Server) func() []peer.ListedMember {
	return func() []peer.ListedMember {
		ms := api.Members()
		out := make([]peer.ListedMember, len(ms))
		for i, m := range ms {
			out[i] = peer.ListedMember{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, IsLearner: m.IsLearner}
		}
		return out
	}
}

// publish proposes this member's name and client URLs until it succeeds,
// as etcd's publish: until then other members list it without them.
func (m *Member) publish(ctx context.Context) {
	urls := config.SplitURLs(m.cfg.AdvertiseClientURLs)
	for {
		pctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout())
		err := m.api.PublishAttributes(pctx, m.cfg.Name, urls)
		cancel()
		if err == nil {
			m.lg.Info("published local member attributes to the cluster", zap.String("name", m.cfg.Name),
				zap.Strings("client-urls", urls))
			return
		}
		m.lg.Warn("failed to publish local member attributes; retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
