package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// Errors a person can read: an unknown flag names the nearest known one,
// and a bad value names the flag, the value and what the flag takes.

// parseFlags parses args into fs, reporting a bad value or an unknown
// flag readably.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var bad error // the first value a flag refused
	fs.VisitAll(func(f *flag.Flag) {
		f.Value = &checkedValue{Value: f.Value, fl: f, bad: &bad}
	})
	err := fs.Parse(args)
	switch {
	case err == nil && fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q; flags start with --, see metastore --help", fs.Arg(0))
	case err == nil || errors.Is(err, flag.ErrHelp):
		return err
	case bad != nil:
		return bad
	}
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
		if near := Nearest(name, known); near != "" {
			return fmt.Errorf("%w (did you mean --%s?)", err, near)
		}
		return fmt.Errorf("%w; see metastore --help", err)
	}
	return err
}

// checkedValue is a flag's value that words a refused value for people.
type checkedValue struct {
	flag.Value
	fl  *flag.Flag
	bad *error // where the first refused value of any flag goes
}

func (v *checkedValue) Set(s string) error {
	err := v.Value.Set(s)
	if err != nil && *v.bad == nil {
		*v.bad = fmt.Errorf("invalid value %q for --%s: want %s (default %s)", s, v.fl.Name, valueKind(v.Get()), v.fl.DefValue)
	}
	return err
}

// Get returns the value's value (flag.Getter).
func (v *checkedValue) Get() any { return v.Value.(flag.Getter).Get() }

// IsBoolFlag reports whether the flag takes no value, as the flag package
// asks of boolean flags.
func (v *checkedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// valueKind says what a setting with a value like v takes.
func valueKind(v any) string {
	switch v.(type) {
	case bool:
		return "true or false"
	case int, int64:
		return "an integer"
	case uint64:
		return "a non-negative integer"
	}
	return "a string"
}

// checkValues refuses a value the environment or the config file gave as
// a string that its setting cannot take: a duration setting's that is no
// duration, a number's or a boolean's that is none. get returns a setting's
// value as loaded; other kinds of value are left to the decoding.
func checkValues(defs map[string]any, get func(string) any) error {
	parser := newFlagSet(defs, &Options{})
	var errs []error
	for _, key := range sortedKeys(defs) {
		v, ok := get(key).(string)
		switch _, isString := defs[key].(string); {
		case !ok:
		case durationSettings[key]:
			if _, err := time.ParseDuration(v); err != nil {
				errs = append(errs, fmt.Errorf("invalid --%s %q: want a duration such as 500ms, 10s or 1h30m", key, v))
			}
		case !isString && parser.Set(key, v) != nil:
			errs = append(errs, fmt.Errorf("invalid value %q for %s: want %s (default %v)", v, key, valueKind(defs[key]), defs[key]))
		}
	}
	return errors.Join(errs...)
}

// Nearest returns the name of names nearest to name, if one is near
// enough to be a likely misspelling of it; "" otherwise.
func Nearest(name string, names []string) string {
	limit := 1
	switch {
	case len(name) > 12:
		limit = 3
	case len(name) > 4:
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, n := range names {
		if d := editDistance(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b: the
// insertions, deletions, substitutions and swaps of adjacent letters that
// turn one into the other.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
