package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// ErrHelp is returned by Load when --help or -h was given; the usage text has
// already been printed.
var ErrHelp = flag.ErrHelp

// ConfigFlag is the name of the flag that points at the TOML file.
const ConfigFlag = "config"

// EnvName is the environment variable for flag name under prefix.
func EnvName(prefix, name string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Load parses args into fs, then fills every flag not given on the command
// line from the environment (prefix_NAME) and then from the TOML file named
// by --config (if fs defines it and it is set by any of the three). getenv is
// os.Getenv in production.
func Load(fs *flag.FlagSet, prefix string, args []string, getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		env := EnvName(prefix, f.Name)
		if v, ok := lookup(getenv, env); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("environment %s=%q: %w", env, v, err))
				return
			}
			set[f.Name] = true
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	cf := fs.Lookup(ConfigFlag)
	if cf == nil || cf.Value.String() == "" {
		return nil
	}
	return loadFile(fs, cf.Value.String(), set)
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func loadFile(fs *flag.FlagSet, path string, set map[string]bool) error {
	raw := map[string]any{}
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		name := strings.ReplaceAll(k, "_", "-")
		f := fs.Lookup(name)
		if f == nil || name == ConfigFlag {
			errs = append(errs, fmt.Errorf("config file %s: unknown key %q (see --help for the valid names)", path, k))
			continue
		}
		if set[name] {
			continue
		}
		if err := setValue(f, raw[k]); err != nil {
			errs = append(errs, fmt.Errorf("config file %s: key %q: %w", path, k, err))
		}
	}
	return errors.Join(errs...)
}

func setValue(f *flag.Flag, v any) error {
	switch x := v.(type) {
	case []any:
		// Repeated flags take one Set call per element.
		for _, e := range x {
			if err := f.Value.Set(fmt.Sprint(e)); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		return errors.New("tables are not supported; use a plain value")
	default:
		return f.Value.Set(fmt.Sprint(x))
	}
}

// Usage returns a flag.FlagSet Usage function that prints a synopsis, then
// every flag with its default and its environment variable.
func Usage(fs *flag.FlagSet, prefix, synopsis string) func() {
	return func() { PrintUsage(fs.Output(), fs, prefix, synopsis) }
}

// PrintUsage writes the help text of fs to w.
func PrintUsage(w io.Writer, fs *flag.FlagSet, prefix, synopsis string) {
	fmt.Fprintln(w, strings.TrimSpace(synopsis))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Flags (each also read from the environment variable shown, then from the --config TOML file as name_with_underscores):")
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintln(w, line)
		fmt.Fprintf(w, "        %s", strings.ReplaceAll(usage, "\n", "\n        "))
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "[]" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "\n        env %s\n", EnvName(prefix, f.Name))
	})
}

// StringList is a repeatable string flag; a comma-separated value adds each
// element.
type StringList []string

// String implements flag.Value.
func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *StringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}
