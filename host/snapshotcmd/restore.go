package snapshotcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi/snapfile"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/raft"
)

// clusterNamespaces hold the membership of the cluster a snapshot was
// taken in; a restore starts a new cluster, so they are left out and the
// new membership is bootstrapped from the restore's flags instead.
var clusterNamespaces = map[string]bool{"members": true, "members_removed": true}

// restoreCommand parses `metastore snapshot restore` and runs it with the
// engine engines makes.
func restoreCommand(args []string, stdout, stderr io.Writer, engines Engines) error {
	defs := config.Defaults()
	cfg := config.Config{}
	fs := newFlagSet("metastore snapshot restore")
	fs.StringVar(&cfg.Name, "name", defs["name"].(string), "Human-readable name of the restored member.")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "Path to the new data directory (default ${name}.metastore); it must not exist.")
	fs.StringVar(&cfg.WALDir, "wal-dir", "", "Path to a dedicated WAL directory (default ${data-dir}/member/wal).")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "The new cluster's members, name=peerURL,... (default ${name}=${initial-advertise-peer-urls}).")
	fs.StringVar(&cfg.InitialClusterToken, "initial-cluster-token", defs["initial-cluster-token"].(string), "The new cluster's token.")
	fs.StringVar(&cfg.InitialAdvertisePeerURLs, "initial-advertise-peer-urls", defs["initial-advertise-peer-urls"].(string), "Peer URLs of the restored member.")
	fs.StringVar(&cfg.StorageEngine, "storage-engine", defs["storage-engine"].(string),
		"Storage engine of the new data directory: "+strings.Join(config.BuiltinEngines(), ", ")+", or a storage plugin of --config-file's catalog.")
	configFile := fs.String("config-file", "", "The member's config file, whose plugin catalog --storage-engine may name.")
	skipHashCheck := fs.Bool("skip-hash-check", false, "Restore an etcd backend without the SHA-256 `etcdctl snapshot save` appends (a member's member/snap/db).")
	file, err := fileArg(fs, args, stdout)
	if err != nil {
		return err
	}
	cfg.Derive()
	return restore(context.Background(), zap.NewNop(), cfg, func() (storage.Engine, error) {
		return engines(cfg.StorageEngine, *configFile)
	}, file, *skipHashCheck, stdout, stderr)
}

// restore makes cfg.DataDir a data dir holding the snapshot in file, for
// the member cfg.Name of the new cluster cfg.InitialCluster: the engine
// newEngine makes gets the snapshot's content, less the old membership, at
// applied index 0, and a new WAL bootstraps the new membership. The
// member then starts with the same flags and replays the WAL's membership
// entries. The file is MetaStore's snapshot file or an etcd backend
// (etcd.go), told apart by their content.
func restore(ctx context.Context, lg *zap.Logger, cfg config.Config, newEngine func() (storage.Engine, error), file string, skipHashCheck bool, stdout, stderr io.Writer) error {
	members, err := config.ParseInitialCluster(cfg.InitialCluster, cfg.InitialClusterToken)
	if err != nil {
		return err
	}
	me, err := config.Self(members, cfg.Name, cfg.InitialAdvertisePeerURLs)
	if err != nil {
		return err
	}
	for _, dir := range []string{cfg.DataDir, cfg.WALDir} {
		if _, err := os.Stat(dir); err == nil {
			return fmt.Errorf("data-dir %q exists", dir)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	etcdFile := isEtcdBackend(f)
	var stream *io.SectionReader
	if !etcdFile {
		stream, err = snapfile.Verify(f, st.Size(), newProgress(stderr, "verifying", st.Size()).update)
		if err != nil {
			return fmt.Errorf("%s: %w (neither a MetaStore snapshot nor an etcd backend)", file, err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(cfg.DataDir)
			_ = os.RemoveAll(cfg.WALDir)
		}
	}()
	var fill func(sw *storage.SnapshotWriter, tick func()) error
	var prog *progress
	if etcdFile {
		// bbolt reads a file, not a stream: work on a copy in the new
		// data dir, which the restore removes when it is done.
		tmp := filepath.Join(cfg.DataDir, "import")
		if err := os.Mkdir(tmp, 0o700); err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		db, err := copyEtcdBackend(file, tmp, skipHashCheck)
		if err != nil {
			return err
		}
		prog = newProgress(stderr, "importing", 0)
		fill = func(sw *storage.SnapshotWriter, tick func()) error {
			got, err := convertEtcdBackend(db, sw, tick)
			if err == nil {
				fmt.Fprintf(stdout, "imported etcd backend %s: %d revisions, %d leases, %d users, %d roles, auth enabled %v\n",
					file, got.revisions, got.leases, got.users, got.roles, got.authEnabled)
			}
			return err
		}
	} else {
		counted := &countingReader{r: stream}
		sr, err := storage.NewSnapshotReader(counted)
		if err != nil {
			return err
		}
		prog = newProgress(stderr, "restoring", stream.Size())
		fill = func(sw *storage.SnapshotWriter, tick func()) error {
			return copyEntries(sr, sw, func() { tick(); prog.update(counted.n) })
		}
	}
	eng, err := newEngine()
	if err != nil {
		return err
	}
	n, err := restoreEngine(ctx, cfg, eng, fill, prog)
	if err != nil {
		return err
	}
	if err := bootstrapWAL(lg, cfg, me.ID, members); err != nil {
		return err
	}
	ok = true
	fmt.Fprintf(stdout, "restored snapshot %s (%d entries) into %s as member %x of cluster %x\n",
		file, n, cfg.DataDir, me.ID, config.ClusterID(members))
	return nil
}

// restoreEngine opens eng, a new engine, in the data dir and restores into
// it the entries fill writes, at consistent index 0. It returns the number
// of entries restored.
func restoreEngine(ctx context.Context, cfg config.Config, eng storage.Engine, fill func(*storage.SnapshotWriter, func()) error, prog *progress) (uint64, error) {
	defer eng.Close(ctx)
	if _, err := eng.Open(ctx, storage.OpenRequest{Dir: filepath.Join(cfg.DataDir, "member", "engine")}); err != nil {
		return 0, fmt.Errorf("open %s engine: %w", cfg.StorageEngine, err)
	}
	pr, pw := io.Pipe()
	var count uint64
	var fillErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		sw := storage.NewSnapshotWriter(pw, 0)
		fillErr = fill(sw, func() {})
		err := fillErr
		if err == nil {
			err = sw.Close()
		}
		count = sw.Count()
		pw.CloseWithError(err)
	}()
	_, err := eng.Restore(ctx, storage.RestoreRequest{Reader: pr})
	pr.CloseWithError(err) // stops fill if the engine gave up first
	<-done
	switch {
	case fillErr != nil:
		return 0, fillErr
	case err != nil:
		return 0, fmt.Errorf("restore into the %s engine: %w", cfg.StorageEngine, err)
	}
	prog.update(prog.total)
	if err := eng.Close(ctx); err != nil {
		return 0, err
	}
	return count, nil
}

// copyEntries copies every entry of sr to sw but those of the cluster
// namespaces, calling tick now and then.
func copyEntries(sr *storage.SnapshotReader, sw *storage.SnapshotWriter, tick func()) error {
	for i := 0; ; i++ {
		ns, k, v, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if clusterNamespaces[ns] {
			continue
		}
		if err := sw.Add(ns, k, v); err != nil {
			return err
		}
		if i%4096 == 0 {
			tick()
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bootstrapWAL creates the WAL of a new cluster for member self: a raft
// node bootstraps the initial members, writes and commits their
// membership entries, and stops. The member replays them when it starts.
func bootstrapWAL(lg *zap.Logger, cfg config.Config, self uint64, members []config.ClusterMember) error {
	rcfg := raft.Config{
		Logger:    lg,
		WALDir:    cfg.WALDir,
		MemberID:  self,
		ClusterID: config.ClusterID(members),
		// A long election timeout: the node only has to persist the
		// bootstrap entries, not to campaign.
		TickInterval:  time.Second,
		ElectionTicks: 1000,
	}
	for _, m := range members {
		rcfg.Peers = append(rcfg.Peers, raft.Peer{ID: m.ID, Name: m.Name, URLs: m.PeerURLs})
	}
	node, err := raft.Start(rcfg, discardApplier{}, 0)
	if err != nil {
		return fmt.Errorf("creating the WAL: %w", err)
	}
	defer node.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := node.WaitApplied(ctx, uint64(len(members))); err != nil {
		return fmt.Errorf("creating the WAL: %w", err)
	}
	return nil
}

// discardApplier takes the bootstrap entries without applying them: the
// member applies them when it starts, as the engine's index is 0.
type discardApplier struct{}

func (discardApplier) Apply([]*raftpb.Entry)  {}
func (discardApplier) PersistedIndex() uint64 { return 0 }
