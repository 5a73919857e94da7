package snapshotcmd

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/etcdapi/snapfile"
	"github.com/metastore/metastore/pluginapi/storage"
)

// status describes a snapshot file as etcdutl's status does.
type status struct {
	Hash      uint32 `json:"hash"`
	Revision  int64  `json:"revision"`
	TotalKey  int    `json:"totalKey"`
	TotalSize int64  `json:"totalSize"`
	Version   string `json:"version"`
}

// statusCommand parses `metastore snapshot status` and runs it.
func statusCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("metastore snapshot status")
	var format string
	fs.StringVar(&format, "w", "simple", "Output format: simple, table or json.")
	fs.StringVar(&format, "write-out", "simple", "Output format: simple, table or json.")
	file, err := fileArg(fs, args, stdout)
	if err != nil {
		return err
	}
	if format != "simple" && format != "table" && format != "json" {
		return fmt.Errorf("%w: unknown output format %q", errUsage, format)
	}
	st, err := readStatus(file, stderr)
	if err != nil {
		return err
	}
	return printStatus(stdout, format, st)
}

// readStatus verifies file and reads it through: the hash is a CRC-32
// (Castagnoli) over every namespace, key and value; the revision is the
// newest of the key space; the key count covers every namespace.
func readStatus(file string, stderr io.Writer) (status, error) {
	f, err := os.Open(file)
	if err != nil {
		return status{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return status{}, err
	}
	stream, err := snapfile.Verify(f, fi.Size(), newProgress(stderr, "verifying", fi.Size()).update)
	if err != nil {
		return status{}, fmt.Errorf("%s: %w", file, err)
	}
	sr, err := storage.NewSnapshotReader(stream)
	if err != nil {
		return status{}, err
	}
	st := status{TotalSize: fi.Size(), Version: etcdapi.StorageVersion}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	for {
		ns, k, v, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return status{}, err
		}
		h.Write([]byte(ns))
		h.Write(k)
		h.Write(v)
		st.TotalKey++
		// Keys of the key space begin with their 8-byte big-endian
		// main revision, as etcd's.
		if ns == "key" && len(k) >= 8 {
			st.Revision = max(st.Revision, int64(binary.BigEndian.Uint64(k)))
		}
	}
	st.Hash = h.Sum32()
	return st, nil
}

func printStatus(w io.Writer, format string, st status) error {
	row := []string{fmt.Sprintf("%x", st.Hash), fmt.Sprint(st.Revision), fmt.Sprint(st.TotalKey), humanBytes(st.TotalSize), st.Version}
	switch format {
	case "json":
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	case "table":
		printTable(w, []string{"HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE", "VERSION"}, row)
		return nil
	default:
		_, err := fmt.Fprintln(w, strings.Join(row, ", "))
		return err
	}
}

// printTable prints one row under a header, boxed as etcdutl's tables.
func printTable(w io.Writer, header, row []string) {
	widths := make([]int, len(header))
	for i := range header {
		widths[i] = max(len(header[i]), len(row[i]))
	}
	line := "+"
	for _, n := range widths {
		line += strings.Repeat("-", n+2) + "+"
	}
	cells := func(vals []string) string {
		s := "|"
		for i, v := range vals {
			pad := widths[i] - len(v)
			s += " " + strings.Repeat(" ", pad/2) + v + strings.Repeat(" ", pad-pad/2) + " |"
		}
		return s
	}
	fmt.Fprintln(w, line)
	fmt.Fprintln(w, cells(header))
	fmt.Fprintln(w, line)
	fmt.Fprintln(w, cells(row))
	fmt.Fprintln(w, line)
}
