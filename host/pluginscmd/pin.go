package pluginscmd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// pinPlugins is `metastore plugins pin --config-file F [--dry-run]`: it
// writes each catalog binary's SHA-256 into the entry's sha256 line of F
// (adding the line after path where there is none), changing nothing else
// in the file (comments and layout stay), or with dryRun prints the lines
// to paste. The file is edited as text at the lines its YAML parse names,
// so that what an operator wrote stays theirs. It reads the catalog itself
// rather than through config.Load, which refuses the very placeholder and
// missing checksums pin is for; a relative path is resolved against the
// working directory, as the member resolves it.
func pinPlugins(file string, dryRun bool, stdout io.Writer) error {
	if file == "" {
		return fmt.Errorf("pin needs --config-file: the catalog lives only in the config file")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	entries, err := catalogNodes(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	lines := strings.SplitAfter(string(raw), "\n")
	var inserts []pinInsert
	for _, e := range entries {
		if e.path == nil || e.path.Value == "" {
			return fmt.Errorf("%s: the plugins entry at line %d has no path", file, e.line)
		}
		path, err := filepath.Abs(e.path.Value)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("plugin %s %s: %w (run `make build` first?)", e.kind, e.name, err)
		}
		sum := sha256.Sum256(data)
		hexSum := hex.EncodeToString(sum[:])
		fmt.Fprintf(stdout, "%s %s: sha256: %s  # %s\n", e.kind, e.name, hexSum, path)
		if e.sum != nil {
			l := e.sum.Line - 1
			lines[l] = lines[l][:e.sum.Column-1] + hexSum + lineRest(lines[l][e.sum.Column-1:], e.sum.Value)
			continue
		}
		inserts = append(inserts, pinInsert{after: e.path.Line, indent: e.keyColumn - 1, sum: hexSum})
	}
	for i := len(inserts) - 1; i >= 0; i-- {
		in := inserts[i]
		line := strings.Repeat(" ", in.indent) + "sha256: " + in.sum + "\n"
		lines = append(lines[:in.after], append([]string{line}, lines[in.after:]...)...)
	}
	if dryRun {
		return nil
	}
	out := strings.Join(lines, "")
	if _, err := catalogNodes([]byte(out)); err != nil {
		return fmt.Errorf("%s: the pinned file would not parse, left unchanged: %w", file, err)
	}
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	tmp := file + ".pin.tmp"
	if err := os.WriteFile(tmp, []byte(out), info.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	fmt.Fprintf(stdout, "pinned %d catalog plugins in %s\n", len(entries), file)
	return nil
}

// pinInsert is a sha256 line to add after line `after` (1-based) of the
// file, for an entry that has none.
type pinInsert struct {
	after, indent int
	sum           string
}

// catalogEntry locates one plugins entry in the file: its sha256 value
// (nil when absent), its path value (a sha256 line is added after it), the
// line and column its keys start at, and its kind and name.
type catalogEntry struct {
	sum, path       *yaml.Node
	line, keyColumn int
	kind, name      string
}

// catalogNodes parses raw and returns the entries of its plugins list.
func catalogNodes(raw []byte) ([]catalogEntry, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "plugins" {
			list = root.Content[i+1]
		}
	}
	if list == nil {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("plugins is not a list")
	}
	entries := make([]catalogEntry, 0, len(list.Content))
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode || len(item.Content) == 0 {
			return nil, fmt.Errorf("a plugins entry at line %d is not a mapping", item.Line)
		}
		if item.Style&yaml.FlowStyle != 0 {
			return nil, fmt.Errorf("the plugins entry at line %d is written in flow style ({...}); write it as a block to pin it", item.Line)
		}
		e := catalogEntry{line: item.Line, keyColumn: item.Content[0].Column}
		for i := 0; i+1 < len(item.Content); i += 2 {
			switch v := item.Content[i+1]; item.Content[i].Value {
			case "sha256":
				e.sum = v
			case "path":
				e.path = v
			case "kind":
				e.kind = v.Value
			case "name":
				e.name = v.Value
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// lineRest is what follows a scalar value old at the start of rest: the
// rest of the line (a comment, the newline), with the value, quoted or not,
// cut off.
func lineRest(rest, old string) string {
	for _, v := range []string{`"` + old + `"`, `'` + old + `'`, old} {
		if strings.HasPrefix(rest, v) {
			return rest[len(v):]
		}
	}
	return rest[len(old):]
}
