package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const segmentExt = ".wal"

// segment names one segment file.
type segment struct {
	seq        uint64
	firstIndex uint64
}

func (s segment) name() string {
	return fmt.Sprintf("%016x-%016x%s", s.seq, s.firstIndex, segmentExt)
}

// parseSegmentName parses "<seq>-<firstindex>.wal"; ok is false for any
// other name.
func parseSegmentName(name string) (segment, bool) {
	base, found := strings.CutSuffix(name, segmentExt)
	if !found {
		return segment{}, false
	}
	seqHex, idxHex, found := strings.Cut(base, "-")
	if !found || len(seqHex) != 16 || len(idxHex) != 16 {
		return segment{}, false
	}
	seq, err1 := strconv.ParseUint(seqHex, 16, 64)
	idx, err2 := strconv.ParseUint(idxHex, 16, 64)
	if err1 != nil || err2 != nil {
		return segment{}, false
	}
	return segment{seq: seq, firstIndex: idx}, true
}

// listSegments returns the segments in dir ordered by sequence number. It
// reports a gap in the sequence as corruption.
func listSegments(dir string) ([]segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, de := range des {
		if s, ok := parseSegmentName(de.Name()); ok && de.Type().IsRegular() {
			segs = append(segs, s)
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].seq < segs[j].seq })
	for i := 1; i < len(segs); i++ {
		if segs[i].seq != segs[i-1].seq+1 {
			return nil, fmt.Errorf("%w log: segment %s follows %s: missing segment", ErrCorrupt, segs[i].name(), segs[i-1].name())
		}
	}
	return segs, nil
}

// createSegmentFile atomically creates segment s holding header: it writes a
// temporary file, preallocates it to prealloc bytes (best effort: a file
// system without room or support keeps the file growing as written), syncs
// it, renames it into place and syncs the directory. The returned file is
// positioned at the end of the header, ready to append.
func createSegmentFile(dir string, s segment, header []byte, prealloc int64) (*os.File, error) {
	path := filepath.Join(dir, s.name())
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(header); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	preallocate(f, prealloc)
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// syncDir makes renames, creations and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeTempFiles deletes leftovers of segment creations that crashed before
// their rename.
func removeTempFiles(dir string) error {
	tmps, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt+".tmp"))
	if err != nil {
		return err
	}
	for _, t := range tmps {
		if err := os.Remove(t); err != nil {
			return err
		}
	}
	return nil
}
