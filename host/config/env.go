package config

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	kenv "github.com/knadh/koanf/providers/env/v2"
)

// The environment. A setting is read from METASTORE_<KEY> and, when it is
// one of etcd's flags, from ETCD_<KEY>, the name etcd gives it (pkg/flags
// FlagToEnv): the key upper-cased, dashes as underscores, so that etcd's
// systemd units, container images and Helm charts configure a member
// through the variables they already set.
//
// Both kinds sit at the same level, above the config file and below the
// flags. When both name a setting METASTORE_* wins, and the member warns
// of it naming both variables. An ETCD_* value is parsed as etcd parses it,
// by the flag it stands for (its type: booleans as strconv.ParseBool, Go
// durations, plain integers, comma-separated lists), and an empty one is
// ignored, as etcd ignores it. A variable for an etcd flag MetaStore
// refuses is refused by name, as the flag is; an ETCD_* variable that
// names no etcd flag MetaStore takes is a warning, as etcd warns of an
// unrecognized one and starts.
//
// A flag given together with its ETCD_* variable stops the start: etcd
// does the same (pkg/flags verifyEnv logs "conflicting environment
// variable is shadowed by corresponding command-line flag" at fatal level
// and exits, even when the variable is empty; checked against etcd 3.7.3).
// A flag given with its METASTORE_* variable simply wins, as it always
// has. --config-file with ETCD_CONFIG_FILE is no conflict either: etcd
// then reads only the file.
//
// Where MetaStore differs: etcd ignores the environment altogether once
// it has a config file, while MetaStore keeps one order for both kinds of
// file (defaults < file < environment < flags).

const (
	envPrefix     = "METASTORE_"
	etcdEnvPrefix = "ETCD_"
)

// envSettings is what the environment sets.
type envSettings struct {
	settings   map[string]any // by key
	configFile string         // METASTORE_CONFIG_FILE, else ETCD_CONFIG_FILE
	warnings   []string
	ours       map[string]string // key -> the METASTORE_* variable that set it
}

// envVar is one variable of the environment, with the key it names.
type envVar struct{ name, key, value string }

// readEnv reads the METASTORE_* and ETCD_* variables of environ. given
// holds the flags of the command line, by name.
func readEnv(environ []string, defs map[string]any, given map[string]bool) (envSettings, error) {
	env := envSettings{settings: map[string]any{}, ours: map[string]string{}}
	if err := env.addOurs(environ, defs); err != nil {
		return env, err
	}
	err := env.addEtcd(etcdVars(environ), defs, given)
	sort.Strings(env.warnings)
	return env, err
}

// addOurs takes the METASTORE_* variables, read by koanf's env provider:
// a name is read in any case after the prefix (METASTORE_DATA_DIR and
// METASTORE_data_dir both set data-dir; of two, the later name in sorted
// order wins), METASTORE_CONFIG_FILE names the config file, and a name
// that is no setting is a warning. The values stay strings, which the
// loader parses as the settings' types, as it does the config file's.
//
// The ETCD_* variables are not read through it: each is parsed as etcd's
// flag of its name would be, refused by name or in conflict with a flag
// given with it, and both only once every METASTORE_* variable is known
// (see addEtcd); the provider's transform can neither fail nor see the
// variables' order.
func (env *envSettings) addOurs(environ []string, defs map[string]any) error {
	settings, err := kenv.Provider("", kenv.Opt{
		Prefix:      envPrefix,
		EnvironFunc: func() []string { return slices.Sorted(slices.Values(environ)) },
		TransformFunc: func(name, value string) (string, any) {
			key := envKey(envPrefix, name)
			switch _, known := defs[key]; {
			case key == "config-file":
				env.configFile = value
				return "", nil
			case known:
				env.ours[key] = name
				return key, value
			default:
				env.warnings = append(env.warnings, "unrecognized environment variable "+name)
				return "", nil
			}
		},
	}).Read()
	if err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	maps.Copy(env.settings, settings)
	return nil
}

// addEtcd takes the ETCD_* variables, after the METASTORE_* ones.
func (env *envSettings) addEtcd(etcds []envVar, defs map[string]any, given map[string]bool) error {
	parser := newFlagSet(defs, &Options{})
	var refused []string
	var errs []error
	for _, v := range etcds {
		_, known := defs[v.key]
		etcdSetting := known && !metastoreOnlySettings[v.key]
		switch {
		case given[v.key] && etcdSetting:
			errs = append(errs, fmt.Errorf("conflicting environment variable %s is shadowed by the flag --%s, as etcd refuses it: unset the variable or drop the flag", v.name, v.key))
		case v.value == "":
			// ignored, as etcd ignores it
		case v.key == "config-file":
			if env.configFile == "" {
				env.configFile = v.value
			}
		case v.key == "version":
			env.warnings = append(env.warnings, "cannot set special environment variable "+v.name)
		case unimplementedEtcdFlags[v.key]:
			refused = append(refused, v.name)
		case !etcdSetting:
			env.warnings = append(env.warnings, "unrecognized environment variable "+v.name)
		case env.ours[v.key] != "":
			env.warnings = append(env.warnings, fmt.Sprintf("environment variables %s and %s both set %s: %s wins",
				env.ours[v.key], v.name, v.key, env.ours[v.key]))
		default:
			value, err := parseAsFlag(parser, v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			env.settings[v.key] = value
		}
	}
	if len(refused) > 0 {
		errs = append(errs, errors.New("etcd flag not implemented by MetaStore: "+strings.Join(refused, ", ")))
	}
	return errors.Join(errs...)
}

// etcdVars returns the ETCD_* variables of environ, in the order of their
// names. A name names a setting only as etcd spells it, upper case;
// otherwise its key is "".
func etcdVars(environ []string) []envVar {
	var etcds []envVar
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, etcdEnvPrefix) {
			continue
		}
		key := envKey(etcdEnvPrefix, name)
		if name != etcdEnvPrefix+strings.ToUpper(strings.ReplaceAll(key, "-", "_")) {
			key = "" // names no flag, as etcd reads them
		}
		etcds = append(etcds, envVar{name: name, key: key, value: value})
	}
	sort.Slice(etcds, func(i, j int) bool { return etcds[i].name < etcds[j].name })
	return etcds
}

// envKey turns <prefix>DATA_DIR into data-dir.
func envKey(prefix, name string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, prefix), "_", "-"))
}

// parseAsFlag parses v's value as etcd's flag of its key would be, and
// reports an error as etcd words it. Durations are Go durations, as
// etcd's flags take them; MetaStore keeps them as strings.
func parseAsFlag(fs *flag.FlagSet, v envVar) (any, error) {
	if durationSettings[v.key] {
		d, err := time.ParseDuration(v.value)
		if err != nil {
			return nil, fmt.Errorf("invalid value %q for %s: parse error", v.value, v.name)
		}
		return d.String(), nil
	}
	if err := fs.Set(v.key, v.value); err != nil {
		return nil, fmt.Errorf("invalid value %q for %s: %w", v.value, v.name, err)
	}
	return fs.Lookup(v.key).Value.(flag.Getter).Get(), nil
}

// Getenv is the last value environ (as os.Environ gives it) holds for
// name, "" if none: os.Getenv over an environment passed in, as Load takes
// one.
func Getenv(environ []string, name string) string {
	value := ""
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			value = v
		}
	}
	return value
}
