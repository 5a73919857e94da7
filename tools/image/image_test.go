package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestImageRunsItsEntrypoint builds the image of $METASTORE_BIN, unpacks
// it as a container runtime would (the layout written, read back, its
// layers extracted into a root file system with their owners), and runs
// its entrypoint chrooted there as the image's user, in its working
// directory, configured only through ETCD_* variables; etcdctl then writes
// and reads through it. It runs as root, as `make test` does (chroot and a
// user switch need it).
func TestImageRunsItsEntrypoint(t *testing.T) {
	bin, ctl := os.Getenv("METASTORE_BIN"), os.Getenv("ETCDCTL_BIN")
	if bin == "" || ctl == "" {
		t.Fatal("METASTORE_BIN and ETCDCTL_BIN must name bin/metastore and bin/etcdctl: run it with `make test`")
	}
	if os.Geteuid() != 0 {
		t.Fatal("unpacking and running the image needs root (chroot, a user switch): run `make test` as root")
	}
	dir := t.TempDir()
	if err := run(bin, "metastore:test", filepath.Join(dir, "layout"), filepath.Join(dir, "image.tar")); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	man, err := idx.IndexManifest()
	if err != nil || len(man.Manifests) != 1 {
		t.Fatalf("the layout holds %v manifests (%v), want 1", man, err)
	}
	img, err := idx.Image(man.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "rootfs")
	if err := unpack(mutate.Extract(img), root); err != nil {
		t.Fatal(err)
	}
	var uid, gid uint32
	if _, err := fmt.Sscanf(cfg.Config.User, "%d:%d", &uid, &gid); err != nil || uid == 0 {
		t.Fatalf("the image runs as %q, want a numeric non-root user", cfg.Config.User)
	}

	client, peer := freeAddr(t), freeAddr(t)
	cmd := exec.Command(cfg.Config.Entrypoint[0], cfg.Config.Cmd...)
	cmd.Dir = cfg.Config.WorkingDir
	cmd.Env = append(cfg.Config.Env,
		"ETCD_NAME=img",
		"ETCD_LISTEN_CLIENT_URLS=http://"+client, "ETCD_ADVERTISE_CLIENT_URLS=http://"+client,
		"ETCD_LISTEN_PEER_URLS=http://"+peer, "ETCD_INITIAL_ADVERTISE_PEER_URLS=http://"+peer,
		"ETCD_INITIAL_CLUSTER=img=http://"+peer)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("the entrypoint's output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "ready to serve client requests") {
		if time.Now().After(deadline) {
			t.Fatal("the entrypoint did not get ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	etcdctl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(ctl, append([]string{"--endpoints=" + client}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("etcdctl %v: %v\n%s%s", args, err, b, stderr.String())
		}
		return string(b)
	}
	etcdctl("put", "from", "image")
	if got := etcdctl("get", "from", "--print-value-only"); got != "image\n" {
		t.Fatalf("get = %q", got)
	}
	if entries, err := os.ReadDir(filepath.Join(root, cfg.Config.WorkingDir)); err != nil || len(entries) == 0 {
		t.Fatalf("the member keeps its data under %s in the image: %v %v", cfg.Config.WorkingDir, entries, err)
	}
}

// unpack writes the tar stream r under root, with the owners and modes it
// names.
func unpack(r io.ReadCloser, root string) error {
	defer r.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		path := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, os.FileMode(h.Mode)&os.ModePerm)
		case tar.TypeReg:
			var f *os.File
			f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&os.ModePerm)
			if err == nil {
				_, err = io.Copy(f, tr)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		default:
			continue
		}
		if err == nil {
			err = os.Lchown(path, h.Uid, h.Gid)
		}
		if err == nil {
			err = os.Chmod(path, os.FileMode(h.Mode)&os.ModePerm|modeBits(h.Mode))
		}
		if err != nil {
			return err
		}
	}
}

// modeBits carries a tar mode's sticky bit over to os.FileMode.
func modeBits(mode int64) os.FileMode {
	if mode&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
