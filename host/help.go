package host

import (
	"fmt"
	"io"
	"strings"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/pluginscmd"
	"github.com/metastore/metastore/host/snapshotcmd"
)

// The help of `metastore --help`: the commands, the flags of config's
// settings table group by group, and examples.

// commands are the ways to run metastore, as the help lists them.
func commands() []config.Command {
	out := []config.Command{
		{Usage: "metastore [flags]", Summary: "Start a MetaStore member, an etcd v3 API compatible, raft-replicated key-value store."},
		{Usage: "metastore --version", Summary: "Show the version."},
		{Usage: "metastore -h | --help", Summary: "Show this help."},
	}
	out = append(out, snapshotcmd.Commands...)
	return append(out, pluginscmd.Commands...)
}

// helpExample is one example of the help: what it does and the command
// lines.
type helpExample struct {
	comment string
	lines   []string
}

// helpExamples are the help's examples; a test loads the configuration of
// each metastore line.
var helpExamples = []helpExample{
	{"One member: data in ./default.metastore, clients on http://127.0.0.1:2379.", []string{"metastore"}},
	{"A 3-member cluster: run on each machine with its own name and addresses (m1 on 10.0.0.1 here).", []string{
		"metastore --name m1 --listen-peer-urls http://10.0.0.1:2380 --initial-advertise-peer-urls http://10.0.0.1:2380 " +
			"--listen-client-urls http://10.0.0.1:2379 --advertise-client-urls http://10.0.0.1:2379 " +
			"--initial-cluster m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380,m3=http://10.0.0.3:2380",
	}},
	{"The same member with the short aliases.", []string{
		"metastore --id m1 --listen 10.0.0.1:2379 --cluster m1=10.0.0.1:2380,m2=10.0.0.2:2380,m3=10.0.0.3:2380",
	}},
	{"Settings from a config file (MetaStore's keys or etcd's YAML; configs/ of the source tree has samples); the environment and flags still win.", []string{
		"metastore --config-file configs/metastore.yaml --log-level debug",
	}},
	{"A plugin catalog: pin the plugin binaries' checksums into the file, check them, start with them.", []string{
		"metastore plugins pin --config-file configs/rocksdb-plugin.yaml",
		"metastore plugins verify --config-file configs/rocksdb-plugin.yaml",
		"metastore --config-file configs/rocksdb-plugin.yaml",
	}},
}

// writeHelp writes the help of metastore.
func writeHelp(w io.Writer) {
	config.WriteCommands(w, commands())
	fmt.Fprintln(w)
	config.WriteText(w, "metastore snapshot --help and metastore plugins --help show the flags of the subcommands.")
	fmt.Fprintln(w)
	config.WriteText(w, "Settings come from, in increasing precedence: the defaults, the config file, the METASTORE_* and "+
		"ETCD_* environment variables, and the flags. A running member reloads the configuration on SIGHUP and when "+
		"the config file changes, and applies the settings that say \"reloads live\"; docs/configuration.md describes each one.")
	config.WriteFlagHelp(w)
	fmt.Fprintln(w, "\nExamples:")
	for _, e := range helpExamples {
		fmt.Fprintln(w)
		config.WriteIndented(w, "  # ", e.comment)
		for _, l := range e.lines {
			fmt.Fprintf(w, "  %s\n", wrapCommand(l))
		}
	}
}

// wrapCommand breaks a long command line between its flags, shell style.
func wrapCommand(line string) string {
	const width = 76
	var groups []string // the command, then each flag with its value
	for _, word := range strings.Fields(line) {
		if len(groups) == 0 || strings.HasPrefix(word, "-") {
			groups = append(groups, word)
		} else {
			groups[len(groups)-1] += " " + word
		}
	}
	var b strings.Builder
	col := 0
	for i, g := range groups {
		switch {
		case i == 0:
		case col+1+len(g) > width:
			b.WriteString(" \\\n     ")
			col = 4
		default:
			b.WriteByte(' ')
		}
		b.WriteString(g)
		col += 1 + len(g)
	}
	return b.String()
}
