package node

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	cmtcfg "github.com/cometbft/cometbft/config"
)

// LoadCometConfig reads home/config/config.toml over CometBFT's defaults.
// Keys follow CometBFT's mapstructure names (the file `chain init` writes).
func LoadCometConfig(home string) (*cmtcfg.Config, error) {
	cfg := cmtcfg.DefaultConfig()
	path := filepath.Join(home, "config", "config.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read node config (run `chain init --home %s` first): %w", home, err)
	}
	var m map[string]any
	if err := toml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if err := apply(reflect.ValueOf(cfg).Elem(), m, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.SetRoot(home)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// apply sets the fields of struct v from m by their mapstructure tags.
func apply(v reflect.Value, m map[string]any, section string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		tag := f.Tag.Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "squash" {
			if err := apply(fv, m, section); err != nil {
				return err
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		raw, ok := m[name]
		if !ok {
			continue
		}
		key := section + name
		if fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct {
			sub, ok := raw.(map[string]any)
			if !ok {
				return fmt.Errorf("[%s] must be a table", key)
			}
			if fv.IsNil() {
				fv.Set(reflect.New(fv.Type().Elem()))
			}
			if err := apply(fv.Elem(), sub, key+"."); err != nil {
				return err
			}
			continue
		}
		if err := setField(fv, raw); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

func setField(fv reflect.Value, raw any) error {
	switch {
	case fv.Type() == durationType:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("want a duration string like \"1s\"")
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("want a string")
		}
		fv.SetString(s)
	case fv.Kind() == reflect.Bool:
		// CometBFT's template quotes some values; accept both forms.
		b, err := strconv.ParseBool(fmt.Sprint(raw))
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		fv.SetBool(b)
	case fv.CanInt():
		n, err := strconv.ParseInt(fmt.Sprint(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		fv.SetInt(n)
	case fv.CanUint():
		n, err := strconv.ParseUint(fmt.Sprint(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("want a non-negative integer")
		}
		fv.SetUint(n)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		list, ok := raw.([]any)
		if str, isStr := raw.(string); isStr {
			// CometBFT writes some lists as one comma-separated string.
			ok = true
			for _, e := range strings.Split(str, ",") {
				if e = strings.TrimSpace(e); e != "" {
					list = append(list, e)
				}
			}
		}
		if !ok {
			return fmt.Errorf("want a list of strings")
		}
		out := reflect.MakeSlice(fv.Type(), 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("want a list of strings")
			}
			out = reflect.Append(out, reflect.ValueOf(s))
		}
		fv.Set(out)
	default:
		// Fields CometBFT itself does not read from the file.
	}
	return nil
}
