// Command image builds MetaStore's OCI image without a container daemon:
// one layer over nothing, holding the static host binary, a passwd and
// group file naming the non-root user it runs as, and its data directory.
// It writes an OCI image layout (-layout) and a tarball that `docker load`
// and `podman load` take (-tar).
//
//	image -bin bin/metastore -tag metastore:dev -layout bin/image -tar bin/metastore-image.tar
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts.
const (
	binPath = "/usr/local/bin/metastore"
	dataDir = "/var/lib/metastore"
	uid     = 65532 // the conventional "nonroot" id of distroless images
	user    = "metastore"
)

func main() {
	bin := flag.String("bin", "bin/metastore", "the static metastore binary")
	tag := flag.String("tag", "metastore:dev", "the image's name in the tarball")
	layoutDir := flag.String("layout", "", "write an OCI image layout here")
	tarPath := flag.String("tar", "", "write a docker/podman loadable tarball here")
	flag.Parse()
	if err := run(*bin, *tag, *layoutDir, *tarPath); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(bin, tag, layoutDir, tarPath string) error {
	if layoutDir == "" && tarPath == "" {
		return fmt.Errorf("nothing to write: give -layout, -tar or both")
	}
	img, err := Build(bin)
	if err != nil {
		return err
	}
	if layoutDir != "" {
		p, err := layout.Write(layoutDir, empty.Index)
		if err != nil {
			return err
		}
		if err := p.AppendImage(img); err != nil {
			return err
		}
	}
	if tarPath != "" {
		ref, err := name.NewTag(tag)
		if err != nil {
			return err
		}
		if err := tarball.WriteToFile(tarPath, ref, img); err != nil {
			return err
		}
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("built %s %s\n", tag, d)
	return nil
}

// Build returns the image of the binary at bin.
func Build(bin string) (v1.Image, error) {
	code, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs(code))), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Entrypoint: []string{binPath},
		// The default data dir, <name>.metastore, lands in the volume;
		// ETCD_DATA_DIR (or METASTORE_DATA_DIR) chooses another.
		WorkingDir:   dataDir,
		ExposedPorts: map[string]struct{}{"2379/tcp": {}, "2380/tcp": {}},
		Volumes:      map[string]struct{}{dataDir: {}},
		Env:          []string{"PATH=/usr/local/bin"},
	}
	return mutate.ConfigFile(img, cfg)
}

// rootfs is the layer: the binary, the user, and the data directory it
// owns. Timestamps are fixed so that the same binary gives the same image.
func rootfs(code []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	dir := func(path string, mode int64, owner int) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: path + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: mtime})
	}
	file := func(path string, mode int64, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path, Mode: mode, Size: int64(len(data)), ModTime: mtime})
		_, _ = tw.Write(data)
	}
	for _, d := range []string{"etc", "usr", "usr/local", "usr/local/bin", "var", "var/lib"} {
		dir(d, 0o755, 0)
	}
	dir("tmp", 0o1777, 0)
	dir(dataDir[1:], 0o700, uid)
	file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:%s:/sbin/nologin\n", user, uid, uid, user, dataDir))
	file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\n%s:x:%d:\n", user, uid))
	file(binPath[1:], 0o755, code)
	_ = tw.Close()
	return buf.Bytes()
}
