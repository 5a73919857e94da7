package config

import (
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"
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
	ours, etcds := splitEnv(environ)
	for _, v := range ours {
		env.addOurs(v, defs)
	}
	err := env.addEtcd(etcds, defs, given)
	sort.Strings(env.warnings)
	return env, err
}

// addOurs takes a METASTORE_* variable.
func (env *envSettings) addOurs(v envVar, defs map[string]any) {
	switch _, known := defs[v.key]; {
	case v.key == "config-file":
		env.configFile = v.value
	case known:
		env.settings[v.key] = v.value
		env.ours[v.key] = v.name
	default:
		env.warnings = append(env.warnings, "unrecognized environment variable "+v.name)
	}
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

// splitEnv returns the METASTORE_* and the ETCD_* variables of environ, in
// the order of their names. A METASTORE_* name is read in any case; an
// ETCD_* name only as etcd spells it, upper case.
func splitEnv(environ []string) (ours, etcds []envVar) {
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(name, envPrefix):
			ours = append(ours, envVar{name: name, key: envKey(envPrefix, name), value: value})
		case strings.HasPrefix(name, etcdEnvPrefix):
			key := envKey(etcdEnvPrefix, name)
			if name != etcdEnvPrefix+strings.ToUpper(strings.ReplaceAll(key, "-", "_")) {
				key = "" // names no flag, as etcd reads them
			}
			etcds = append(etcds, envVar{name: name, key: key, value: value})
		}
	}
	byName := func(vars []envVar) { sort.Slice(vars, func(i, j int) bool { return vars[i].name < vars[j].name }) }
	byName(ours)
	byName(etcds)
	return ours, etcds
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
