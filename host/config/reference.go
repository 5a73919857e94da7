package config

import (
	"fmt"
	"io"
	"strings"
)

// WriteReference writes docs/configuration.md, the configuration
// reference, from the settings table.
func WriteReference(w io.Writer) {
	fmt.Fprint(w, referenceIntro)
	defs := Defaults()
	for _, g := range settingGroups {
		fmt.Fprintf(w, "\n## %s\n\n", g.Name)
		fmt.Fprintln(w, "| Flag | Description | Default | Environment | Config file key | Reloads live |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		for _, s := range g.Settings {
			flagName := "`--" + s.Key + "`"
			if s.FileOnly {
				flagName = "(none)"
			}
			def := "(none)"
			switch d, ok := s.Default(defs); {
			case ok && d == "":
				def = "(empty)"
			case ok:
				def = "`" + d + "`"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", flagName, strings.ReplaceAll(s.Help, "|", `\|`), def,
				codeList(s.EnvVars()), codeList(s.FileKeys()), s.liveText())
		}
	}
	fmt.Fprint(w, refusedIntro)
	var refused []string
	for _, name := range sortedKeys(unimplementedEtcdFlags) {
		refused = append(refused, "`--"+name+"`")
	}
	fmt.Fprintln(w, strings.Join(refused, ", "))
}

// codeList formats names as code, comma-separated, or "(none)".
func codeList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return "`" + strings.Join(names, "`, `") + "`"
}

const referenceIntro = `# Configuration reference

<!-- Generated from host/config/settings.go by
     go test ./host/config -run TestConfigurationDoc -update
     Do not edit by hand. -->

Every setting of a member, grouped as ` + "`metastore --help`" + ` groups them (etcd's
groups first, then MetaStore's own). A setting is read from, in increasing
precedence:

1. its default;
2. the config file named by ` + "`--config-file`" + ` (or ` + "`METASTORE_CONFIG_FILE`" + `, or
   ` + "`ETCD_CONFIG_FILE`" + `), in MetaStore's format (the keys below, flat) or etcd's
   YAML (the same keys, with etcd's nested TLS and socket blocks, listed
   beside the key where etcd spells it otherwise);
3. its ` + "`METASTORE_*`" + ` environment variable and, for etcd's settings, its ` + "`ETCD_*`" + `
   one (` + "`METASTORE_*`" + ` wins when both are set; a flag given with its ` + "`ETCD_*`" + `
   variable is refused, as etcd refuses it);
4. its flag.

Durations are Go durations (` + "`500ms`" + `, ` + "`10s`" + `, ` + "`1h30m`" + `); etcd's config file may
also give them as integer nanoseconds. An unknown flag or config file key is
refused by name, and so is an etcd flag MetaStore does not implement (listed
at the end).

A running member loads its configuration again on SIGHUP and when the config
file changes. It applies at once the settings whose "Reloads live" column
says so, and refuses a change to any other one with a log line naming it: a
restart applies those.
`

const refusedIntro = `
## etcd flags MetaStore refuses

These etcd 3.7 flags, their ` + "`ETCD_*`" + ` variables and (except at etcd's default
values) their config file keys stop the start with an error naming them:

`
