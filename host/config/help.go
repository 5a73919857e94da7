package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// The command line's help, from the settings table: the flags of each
// group with their defaults, environment variables and config file keys,
// and the commands of a usage section, in one style for metastore and its
// subcommands.

// helpWidth is the width help text is wrapped to.
const helpWidth = 80

// Command is one line of a usage section: how to call it and what it does.
type Command struct {
	Usage, Summary string
}

// WriteCommands writes a usage section listing commands.
func WriteCommands(w io.Writer, commands []Command) {
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %s\n", c.Usage)
		writeWrapped(w, "      ", c.Summary)
	}
}

// WriteFlagSet writes the flags of a subcommand's fs under a title.
func WriteFlagSet(w io.Writer, title string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "\n%s:\n", title)
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(w, "  --%s%s\n", f.Name, quotedDefault(f.DefValue))
		writeWrapped(w, "      ", f.Usage)
	})
}

// WriteFlagHelp writes the flags of the settings table, group by group.
func WriteFlagHelp(w io.Writer) {
	defs := Defaults()
	for _, g := range settingGroups {
		fmt.Fprintf(w, "\n%s:\n", g.Name)
		for _, s := range g.Settings {
			if s.FileOnly {
				fmt.Fprintf(w, "  %s (config file only)\n", s.Key)
			} else {
				d, ok := s.Default(defs)
				if ok {
					d = " '" + d + "'"
				}
				fmt.Fprintf(w, "  --%s%s\n", s.Key, d)
			}
			writeWrapped(w, "      ", s.Help)
			for _, line := range s.sources() {
				writeWrapped(w, "      ", line)
			}
		}
	}
}

// Default is the default of s as help shows it, and false for a flag
// that is no setting (an alias, --config-file, --version).
func (s Setting) Default(defs map[string]any) (string, bool) {
	if s.DefaultText != "" {
		return s.DefaultText, true
	}
	v, ok := defs[s.Key]
	if !ok {
		return "", false
	}
	return fmt.Sprint(v), true
}

// quotedDefault is a default as it follows a flag's name, as etcd's help
// shows it.
func quotedDefault(d string) string {
	if d == "" {
		return ""
	}
	return " '" + d + "'"
}

// sources names the environment variables and config file keys of s, and
// says whether it reloads live: one line each.
func (s Setting) sources() []string {
	var lines []string
	if env := s.EnvVars(); len(env) > 0 {
		lines = append(lines, "env: "+strings.Join(env, ", "))
	}
	if keys := s.FileKeys(); len(keys) > 0 {
		lines = append(lines, "file: "+strings.Join(keys, ", "))
	}
	if live := s.liveText(); live != "no" {
		lines = append(lines, "reloads live: "+live)
	}
	return lines
}

// liveText says whether s reloads live: no, yes, or when.
func (s Setting) liveText() string {
	switch s.Live {
	case Live:
		return "yes"
	case LiveSometimes:
		return s.LiveNote
	}
	return "no"
}

// WriteText writes a paragraph of help text, wrapped.
func WriteText(w io.Writer, text string) { writeWrapped(w, "", text) }

// WriteIndented writes a paragraph of help text, wrapped, each line behind
// indent.
func WriteIndented(w io.Writer, indent, text string) { writeWrapped(w, indent, text) }

// writeWrapped writes text in lines of at most helpWidth columns, each
// behind indent; a word longer than a line gets a line of its own.
func writeWrapped(w io.Writer, indent, text string) {
	if text == "" {
		return
	}
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > helpWidth {
			fmt.Fprintln(w, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	fmt.Fprintln(w, line)
}
