package snapshotcmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/pluginapi/storage"
)

// Commands are the snapshot subcommands, as the help lists them.
var Commands = []config.Command{
	{Usage: "metastore snapshot restore <file> [flags]",
		Summary: "Restore a MetaStore snapshot or an etcd backend (etcd's snapshot or member/snap/db) into the data dir of a member of a new cluster."},
	{Usage: "metastore snapshot export --format etcd <file> <etcd-file>",
		Summary: "Write a MetaStore snapshot as an etcd backend that etcdutl and etcd restore."},
	{Usage: "metastore snapshot status <file> [-w simple|table|json]",
		Summary: "Show a snapshot's hash, revision, key count and size, as etcdutl does."},
}

// writeUsage writes the commands and, when fs is not nil, its flags.
func writeUsage(w io.Writer, fs *flag.FlagSet) {
	config.WriteCommands(w, Commands)
	if fs == nil {
		fmt.Fprintln(w, "\nmetastore snapshot <command> --help shows the flags of a command.")
		return
	}
	config.WriteFlagSet(w, "Flags of "+fs.Name(), fs)
}

// newFlagSet returns a subcommand's flags; they print nothing themselves.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args into fs and, on -h or --help, writes the usage with
// fs's flags to stdout.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		writeUsage(stdout, fs)
	case err != nil:
		err = fmt.Errorf("%w: %v", errUsage, err)
	}
	return err
}

// Main runs `metastore snapshot <subcommand>` with args, the arguments
// after "snapshot", and returns its exit code: restore turns a file saved
// with `etcdctl snapshot save` into the data dir of a new member of a new
// cluster, in an engine engines makes; status describes such a file.
func Main(args []string, stdout, stderr io.Writer, engines Engines) int {
	if len(args) == 0 {
		writeUsage(stderr, nil)
		return 2
	}
	var err error
	switch args[0] {
	case "restore":
		err = restoreCommand(args[1:], stdout, stderr, engines)
	case "status":
		err = statusCommand(args[1:], stdout, stderr)
	case "export":
		err = exportCommand(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		writeUsage(stdout, nil)
		return 0
	default:
		err = fmt.Errorf("%w: unknown snapshot subcommand %q", errUsage, args[0])
		if near := config.Nearest(args[0], []string{"restore", "export", "status"}); near != "" {
			err = fmt.Errorf("%w (did you mean %s?)", err, near)
		}
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "metastore snapshot: %v\n\n", err)
		writeUsage(stderr, nil)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "metastore snapshot %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// Engines makes the storage engine a restore writes: name is
// --storage-engine, configFile --config-file ("" when not given), whose
// plugin catalog may name a storage plugin. It returns a new, unopened
// engine; closing it ends a plugin's process.
type Engines func(name, configFile string) (storage.Engine, error)

// fileArg parses fs from args, allowing the file argument before or after
// the flags, and returns the one file named.
func fileArg(fs *flag.FlagSet, args []string, stdout io.Writer) (string, error) {
	var files []string
	for {
		if err := parse(fs, args, stdout); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		return "", fmt.Errorf("%w: exactly one snapshot file is needed, got %d", errUsage, len(files))
	}
	return files[0], nil
}

// progress reports how far a long pass over a file has got, on w, at most
// once a second, for files of at least progressMinBytes only. On a
// terminal it redraws one line.
type progress struct {
	w        io.Writer
	what     string
	total    int64
	terminal bool
	last     time.Time
	done     bool
}

// progressMinBytes is the smallest file whose passes report progress.
const progressMinBytes = 16 << 20

func newProgress(w io.Writer, what string, total int64) *progress {
	p := &progress{w: w, what: what, total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			p.terminal = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return p
}

// update reports n bytes of total done.
func (p *progress) update(n int64) {
	if p.total < progressMinBytes || p.done {
		return
	}
	finished := n >= p.total
	if !finished && time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	end := "\n"
	if p.terminal && !finished {
		end = "\r"
	}
	fmt.Fprintf(p.w, "%s: %3d%% (%s of %s)%s", p.what, n*100/p.total, humanBytes(n), humanBytes(p.total), end)
	p.done = finished
}

// humanBytes formats n in SI units as etcdutl does ("25 kB", "2.1 MB").
func humanBytes(n int64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	e := math.Floor(math.Log(float64(n)) / math.Log(1000))
	v := math.Floor(float64(n)/math.Pow(1000, e)*10+0.5) / 10
	format := "%.0f %s"
	if v < 10 {
		format = "%.1f %s"
	}
	return fmt.Sprintf(format, v, units[int(e)])
}
