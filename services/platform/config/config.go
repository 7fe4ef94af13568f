// Package config loads a service's configuration from the environment into a
// struct once, at start-up, so that nothing deeper in the service reads the
// environment. Error messages name the variable but never repeat the value of
// a secret one.
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by configuration structs that check their values
// beyond what parsing can (ranges, combinations, file existence).
type Validator interface {
	Validate() error
}

// Load parses the process environment into cfg (a pointer to a struct tagged
// for caarlos0/env) and then calls its Validate method when it has one.
func Load(cfg any) error {
	return LoadFrom(cfg, env.ToMap(os.Environ()))
}

// LoadFrom is Load with an explicit environment instead of the process's:
// used by tests and by the all-in-one runner, which configures several
// services in one process.
func LoadFrom(cfg any, environ map[string]string) error {
	if err := env.ParseWithOptions(cfg, env.Options{Environment: environ}); err != nil {
		return describe(cfg, err)
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("invalid configuration: %w", err)
		}
	}
	return nil
}

// IsSecret reports whether an environment variable holds a secret, judged by
// its name, so that its value is never repeated in messages.
func IsSecret(name string) bool {
	upper := strings.ToUpper(name)
	for _, marker := range []string{"KEY", "SECRET", "TOKEN", "PASSWORD"} {
		if strings.Contains(upper, marker) {
			return true
		}
	}
	return false
}

// describe rewrites caarlos0/env errors, which name Go struct fields and may
// include the offending value, into messages that name the variable and leave
// out secret values.
func describe(cfg any, err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("load configuration: %w", err)
	}
	keys := fieldKeys(reflect.TypeOf(cfg), "")
	msgs := make([]string, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		msgs = append(msgs, describeOne(keys, e))
	}
	return fmt.Errorf("load configuration: %s", strings.Join(msgs, "; "))
}

func describeOne(keys map[string][]string, err error) string {
	var pe env.ParseError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	names := keys[pe.Name]
	if len(names) == 0 {
		names = []string{"field " + pe.Name}
	}
	name := strings.Join(names, " or ")
	for _, n := range names {
		if IsSecret(n) {
			return fmt.Sprintf("%s: value is not a valid %s", name, pe.Type)
		}
	}
	return fmt.Sprintf("%s: value is not a valid %s: %v", name, pe.Type, pe.Err)
}

// fieldKeys maps each struct field name to the environment variables it is
// read from. A name can map to several variables when nested structs reuse a
// field name.
func fieldKeys(t reflect.Type, prefix string) map[string][]string {
	out := map[string][]string{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && key == "" {
			for name, ks := range fieldKeys(ft, prefix+f.Tag.Get("envPrefix")) {
				out[name] = append(out[name], ks...)
			}
			continue
		}
		if key != "" {
			out[f.Name] = append(out[f.Name], prefix+key)
		}
	}
	return out
}
