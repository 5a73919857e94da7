package pluginscmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/plugin"
	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/quota/backendbytes"
)

// Commands are the plugins subcommands, as the help lists them.
var Commands = []config.Command{
	{Usage: "metastore plugins list [flags]", Summary: "List the built-in plugins and the config file's catalog: kind, name, " +
		"built-in or process, path, configured and actual sha256, and the version and capabilities each plugin reports " +
		"(a catalog plugin is started briefly to ask it)."},
	{Usage: "metastore plugins verify [flags]", Summary: "Check every catalog plugin: its binary's sha256 is the configured one, " +
		"and it starts and answers the handshake; exit status 1 and a message naming each failure otherwise."},
	{Usage: "metastore plugins pin [--config-file FILE] [--dry-run]", Summary: "Write each catalog binary's sha256 into its entry " +
		"of the config file, changing nothing else in it; with --dry-run, print the lines instead."},
}

// writePluginsUsage writes the plugins subcommands.
func writePluginsUsage(w io.Writer) {
	config.WriteCommands(w, Commands)
	fmt.Fprintln(w)
	config.WriteText(w, "list and verify take the member's flags, environment and --config-file (see metastore --help); "+
		"metastore plugins pin --help shows pin's flags.")
}

// didYouMean suggests the command of commands nearest to cmd, if any.
func didYouMean(cmd string, commands ...string) string {
	if near := config.Nearest(cmd, commands); near != "" {
		return " (did you mean " + near + "?)"
	}
	return ""
}

// pluginReport is what list and verify learn about one plugin.
type pluginReport struct {
	kind, name, path string
	builtin          bool
	configuredSum    string
	actualSum        string
	version          string
	capabilities     []string
	err              error // why the plugin fails verification
}

// Builtins are the plugins linked into the member: its storage engines by
// name (each call makes a new, unopened engine) and its version, which
// the built-in auth provider reports.
type Builtins struct {
	Engines map[string]func() storage.Engine
	Version string
}

// Main runs `metastore plugins` with args, the arguments after "plugins",
// and returns its exit code.
func Main(args, environ []string, stdout, stderr io.Writer, builtins Builtins) int {
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help"):
		writePluginsUsage(stdout)
		return 0
	case len(args) == 0 || (args[0] != "list" && args[0] != "verify" && args[0] != "pin"):
		if len(args) > 0 {
			fmt.Fprintf(stderr, "metastore plugins: unknown command %q%s; ", args[0], didYouMean(args[0], "list", "verify", "pin"))
		}
		fmt.Fprint(stderr, "usage: metastore plugins list|verify|pin [flags]\n\n")
		writePluginsUsage(stderr)
		return 2
	}
	verb := args[0]
	if verb == "pin" {
		return pinMain(args[1:], environ, stdout, stderr)
	}
	cfg, _, err := config.Load(args[1:], environ)
	switch {
	case errors.Is(err, config.ErrHelp):
		writePluginsUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "metastore plugins %s: %v\n", verb, err)
		return 2
	}
	var reports []pluginReport
	if verb == "list" {
		reports = builtinPluginReports(cfg, builtins)
	}
	for _, p := range cfg.Plugins {
		reports = append(reports, inspectPlugin(p))
	}
	if verb == "list" {
		writePluginTable(stdout, reports)
		return 0
	}
	return writeVerification(stdout, stderr, reports)
}

// builtinPluginReports describes the plugins linked into the host.
func builtinPluginReports(cfg config.Config, builtins Builtins) []pluginReport {
	ctx := context.Background()
	var out []pluginReport
	for _, name := range config.BuiltinEngines() {
		r := pluginReport{kind: config.KindStorage, name: name, builtin: true}
		info, err := builtins.Engines[name]().Info(ctx)
		r.version, r.capabilities, r.err = info.Version, info.Capabilities, err
		out = append(out, r)
	}
	out = append(out, pluginReport{kind: config.KindAuth, name: "etcd", builtin: true, version: builtins.Version,
		capabilities: []string{auth.CapabilityPassword, auth.CapabilityToken}})
	info, err := backendbytes.New(cfg.QuotaBytes()).Info(ctx)
	out = append(out, pluginReport{kind: config.KindQuota, name: info.Name, builtin: true, version: info.Version, capabilities: info.Capabilities, err: err})
	return out
}

// inspectPlugin checksums a catalog entry's binary and, if the checksum
// is the configured one, starts it to ask for its Info.
func inspectPlugin(p config.PluginEntry) pluginReport {
	r := pluginReport{kind: p.Kind, name: p.Name, path: p.Path, configuredSum: p.SHA256}
	data, err := os.ReadFile(p.Path)
	if err != nil {
		r.err = err
		return r
	}
	sum := sha256.Sum256(data)
	r.actualSum = hex.EncodeToString(sum[:])
	if !strings.EqualFold(r.actualSum, p.SHA256) {
		r.err = fmt.Errorf("checksum mismatch: the config says sha256 %s, the binary's is %s; not started", p.SHA256, r.actualSum)
		return r
	}
	r.version, r.capabilities, r.err = plugin.Inspect(p, sum[:])
	return r
}

func writePluginTable(w io.Writer, reports []pluginReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tTYPE\tPATH\tSHA256 (CONFIGURED)\tSHA256 (ACTUAL)\tVERSION\tCAPABILITIES\tSTATUS")
	for _, r := range reports {
		typ, status := "process", "ok"
		if r.builtin {
			typ = "built-in"
		}
		if r.err != nil {
			status = r.err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.kind, r.name, typ, dash(r.path), dash(r.configuredSum),
			dash(r.actualSum), dash(r.version), dash(strings.Join(r.capabilities, ",")), status)
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeVerification prints one line per catalog plugin and returns the
// exit status: 1 if any failed.
func writeVerification(stdout, stderr io.Writer, reports []pluginReport) int {
	failed := 0
	for _, r := range reports {
		if r.err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s %s (%s): %v\n", r.kind, r.name, r.path, r.err)
			continue
		}
		fmt.Fprintf(stdout, "OK   %s %s (%s): sha256 %s, version %s\n", r.kind, r.name, r.path, r.actualSum, r.version)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "metastore plugins verify: %d of %d catalog plugins failed verification\n", failed, len(reports))
		return 1
	}
	fmt.Fprintf(stdout, "%d catalog plugins verified\n", len(reports))
	return 0
}

// pinMain parses pin's flags: --config-file (or METASTORE_CONFIG_FILE)
// and --dry-run.
func pinMain(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("metastore plugins pin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	file := fs.String("config-file", "", "The config file whose catalog to pin (default: METASTORE_CONFIG_FILE).")
	dryRun := fs.Bool("dry-run", false, "Print the sha256 lines instead of writing them.")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writePluginsUsage(stdout)
			config.WriteFlagSet(stdout, "Flags of "+fs.Name(), fs)
			return 0
		}
		fmt.Fprintf(stderr, "metastore plugins pin: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "metastore plugins pin: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *file == "" {
		*file = config.Getenv(environ, "METASTORE_CONFIG_FILE")
	}
	if err := pinPlugins(*file, *dryRun, stdout); err != nil {
		fmt.Fprintf(stderr, "metastore plugins pin: %v\n", err)
		return 1
	}
	return 0
}
