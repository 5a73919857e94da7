package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// ErrHelp is returned by Load when -h or --help was given; the caller
// prints the help.
var ErrHelp = flag.ErrHelp

// Options is what the command line asks for beyond the configuration.
type Options struct {
	Version bool
	// Warnings are problems worth logging that do not stop the start,
	// such as an unrecognized METASTORE_* or ETCD_* environment variable
	// (the environment is shared with other programs, so, as etcd does
	// with ETCD_*, those are reported, not refused), or a METASTORE_*
	// variable that shadows an ETCD_* one.
	Warnings []string
	// ConfigFile is the config file loaded, if any, and ConfigFileFormat
	// its format: FormatMetaStore or FormatEtcd (see etcdfile.go).
	ConfigFile       string
	ConfigFileFormat string
}

// Load builds the configuration from, in increasing precedence: defaults,
// the file named by --config-file (or METASTORE_CONFIG_FILE, or
// ETCD_CONFIG_FILE), METASTORE_* and ETCD_* environment variables (see
// env.go), and the flags given. Unknown keys in the file or flags are an
// error naming them, and so is an etcd flag MetaStore does not implement,
// however it is given.
func Load(args, environ []string) (Config, Options, error) {
	var opts Options
	defs := Defaults()
	var configFile string
	var aliases flagAliases
	fs := loadFlags(defs, &opts, &configFile, &aliases)
	if err := checkUnimplementedFlags(args); err != nil {
		return Config{}, opts, err
	}
	if err := parseFlags(fs, args); err != nil {
		return Config{}, opts, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	env, err := readEnv(environ, defs, given)
	if err != nil {
		return Config{}, opts, err
	}
	opts.Warnings = env.warnings
	if configFile == "" {
		configFile = env.configFile
	}

	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defs, "."), nil); err != nil {
		return Config{}, opts, err
	}
	opts.ConfigFile = configFile
	explicit := map[string]any{} // what the file, environment and flags set
	if configFile != "" {
		settings, format, err := loadFile(k, configFile, defs)
		if err != nil {
			return Config{}, opts, err
		}
		opts.ConfigFileFormat = format
		maps.Copy(explicit, settings)
	}
	if err := k.Load(confmap.Provider(env.settings, "."), nil); err != nil {
		return Config{}, opts, err
	}
	flags := setFlags(fs)
	if err := k.Load(confmap.Provider(flags, "."), nil); err != nil {
		return Config{}, opts, err
	}
	maps.Copy(explicit, env.settings)
	maps.Copy(explicit, flags)
	derived, err := aliases.settings()
	if err == nil {
		err = aliasConflicts(derived, explicit)
	}
	if err == nil {
		err = k.Load(confmap.Provider(derived, "."), nil)
	}
	if err != nil {
		return Config{}, opts, err
	}
	if err := checkValues(defs, k.Get); err != nil {
		return Config{}, opts, err
	}
	var cfg Config
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return Config{}, opts, fmt.Errorf("config: %w", err)
	}
	if err := cfg.addBundledRocksDB(&aliases); err != nil {
		return Config{}, opts, err
	}
	if err := cfg.finish(); err != nil {
		return Config{}, opts, err
	}
	return cfg, opts, nil
}

// newFlagSet returns the flags of the settings of defs, with --version.
// It prints nothing: Load reports its errors and the caller the help.
func newFlagSet(defs map[string]any, opts *Options) *flag.FlagSet {
	fs := flag.NewFlagSet("metastore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, name := range sortedKeys(defs) {
		switch v := defs[name].(type) {
		case string:
			fs.String(name, v, help(name))
		case int:
			fs.Int(name, v, help(name))
		case int64:
			fs.Int64(name, v, help(name))
		case uint64:
			fs.Uint64(name, v, help(name))
		case bool:
			fs.Bool(name, v, help(name))
		}
	}
	fs.BoolVar(&opts.Version, "version", false, help("version"))
	return fs
}

// loadFlags returns the flags Load parses: the settings', --version,
// --config-file and the aliases.
func loadFlags(defs map[string]any, opts *Options, configFile *string, aliases *flagAliases) *flag.FlagSet {
	fs := newFlagSet(defs, opts)
	fs.StringVar(configFile, "config-file", "", help("config-file"))
	aliases.register(fs)
	return fs
}

// setFlags returns the flags given on the command line, by name.
func setFlags(fs *flag.FlagSet) map[string]any {
	out := make(map[string]any)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config-file" || f.Name == "version" || isAlias(f.Name) {
			return
		}
		out[f.Name] = f.Value.(flag.Getter).Get()
	})
	return out
}

// loadFile loads the config file into k and returns the settings it has
// and its format.
func loadFile(k *koanf.Koanf, path string, defs map[string]any) (map[string]any, string, error) {
	fk := koanf.New(".")
	if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
		return nil, "", fmt.Errorf("config file %s: %w", path, err)
	}
	m, format, err := fileSettings(fk.All(), defs)
	if err == nil && m["plugins"] != nil {
		err = checkPluginEntries(m["plugins"])
	}
	if err != nil {
		return nil, "", fmt.Errorf("config file %s (%s's format): %w", path, format, err)
	}
	return m, format, k.Load(confmap.Provider(m, "."), nil)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkUnimplementedFlags refuses etcd flags that MetaStore does not
// implement yet with an error that names them, rather than the generic
// "flag provided but not defined".
func checkUnimplementedFlags(args []string) error {
	var bad []string
	for _, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if unimplementedEtcdFlags[name] {
			bad = append(bad, "--"+name)
		}
	}
	if len(bad) > 0 {
		return errors.New("etcd flag not implemented by MetaStore: " + strings.Join(bad, ", "))
	}
	return nil
}
