// Package config loads a service's configuration from the environment into a
// struct once, at start-up, so that nothing deeper in the service reads the
// environment. Error messages name the variable but never repeat the value of
// a secret one.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
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
//
// A field also tagged secret:"file" comes from a Secret (a secret, or a setting
// that must change together with one), and may instead be read from the file that
// NAME_FILE names (one trailing newline dropped), as Kubernetes mounts a Secret:
// the value then stays out of the process's environment. Setting both NAME and
// NAME_FILE is an error, and so is a file holding nothing but white space.
func Load(cfg any) error {
	return LoadFrom(cfg, env.ToMap(os.Environ()))
}

// LoadFrom is Load with an explicit environment instead of the process's:
// used by tests and by the all-in-one runner, which configures several
// services in one process.
func LoadFrom(cfg any, environ map[string]string) error {
	withFiles, err := withSecretFiles(cfg, environ)
	if err != nil {
		return fmt.Errorf("load configuration: %w", err)
	}
	if err := env.ParseWithOptions(cfg, env.Options{Environment: withFiles}); err != nil {
		return describe(cfg, err)
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("invalid configuration: %w", err)
		}
	}
	return nil
}

// fileSuffix turns a secret variable's name into the name of the variable that
// may name a file holding it.
const fileSuffix = "_FILE"

// withSecretFiles returns environ with the value of each secret variable of cfg
// whose NAME_FILE is set read from that file, which must hold more than white
// space. Messages name the variables and the file, never its contents.
func withSecretFiles(cfg any, environ map[string]string) (map[string]string, error) {
	var errs []error
	out := maps.Clone(environ)
	walkFields(reflect.TypeOf(cfg), "", func(f reflect.StructField, name string) {
		if f.Tag.Get("secret") != "file" || environ[name+fileSuffix] == "" {
			return
		}
		if environ[name] != "" {
			errs = append(errs, fmt.Errorf("%s and %s%s are both set: set one of them", name, name, fileSuffix))
			return
		}
		value, err := ReadSecretFile(name+fileSuffix, environ[name+fileSuffix])
		if err != nil {
			errs = append(errs, err)
			return
		}
		out[name] = value
	})
	return out, errors.Join(errs...)
}

// ReadSecretFile reads the secret in the file at path, which the variable names:
// its contents with one trailing newline dropped, which must be more than white
// space. Messages name the variable, and the file when it is empty, never the
// contents. Load reads every NAME_FILE with it, and a service that reads a secret
// file again on every use (a token renewed from outside) reads it so too.
func ReadSecretFile(variable, path string) (string, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		// The path stays out of the message: an operator who put the secret itself
		// into the variable would see it repeated in the logs.
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return "", fmt.Errorf("%s: cannot read the file it names: %w", variable, err)
	}
	value := strings.TrimSuffix(string(b), "\n")
	// A file named but empty is a mount gone wrong, never a way to leave a setting
	// unset: said so here, or the operator is told of the variable.
	if strings.TrimSpace(value) == "" {
		return "", fmt.Errorf("%s: %s is empty", variable, path)
	}
	return value, nil
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
	fromFile := map[string]bool{}
	for _, v := range Variables(cfg) {
		fromFile[v.Name] = v.FromFile
	}
	msgs := make([]string, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		msgs = append(msgs, describeOne(keys, fromFile, e))
	}
	return fmt.Errorf("load configuration: %s", strings.Join(msgs, "; "))
}

// describeOne rewrites one caarlos0/env error. A missing required variable says
// it may come from a file when it may: an operator who mounted the file under
// another name would otherwise be told only of the variable.
func describeOne(keys map[string][]string, fromFile map[string]bool, err error) string {
	var notSet env.VarIsNotSetError
	var empty env.EmptyVarError
	switch {
	case errors.As(err, &notSet):
		return required(notSet.Key, fromFile[notSet.Key])
	case errors.As(err, &empty):
		return required(empty.Key, fromFile[empty.Key])
	}
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

// required says that the variable name must be set, or its NAME_FILE when it may
// come from a file.
func required(name string, fromFile bool) string {
	if fromFile {
		return fmt.Sprintf("%s is required: set it, or %s%s to a file holding it", name, name, fileSuffix)
	}
	return name + " is required"
}

// fieldKeys maps each struct field name to the environment variables it is
// read from. A name can map to several variables when nested structs reuse a
// field name.
func fieldKeys(t reflect.Type, prefix string) map[string][]string {
	out := map[string][]string{}
	walkFields(t, prefix, func(f reflect.StructField, name string) {
		out[f.Name] = append(out[f.Name], name)
	})
	return out
}

// walkFields calls fn with every field of the struct t that is read from an
// environment variable, and that variable's name: nested structs without a
// variable of their own are walked with their envPrefix added.
func walkFields(t reflect.Type, prefix string, fn func(f reflect.StructField, name string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
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
			walkFields(ft, prefix+f.Tag.Get("envPrefix"), fn)
			continue
		}
		if key != "" && key != "-" {
			fn(f, prefix+key)
		}
	}
}

// Variable is an environment variable a configuration struct reads, with what its
// tags say about it: what deploy/validate checks the deployments against.
type Variable struct {
	Name string
	// Default is the envDefault value, used when the variable is not set.
	Default string
	// Required: loading fails without it (the env tag's required or notEmpty).
	Required bool
	// Deployed: tagged deploy:"required". The binary starts without it, for
	// development and tests, but a deployment that leaves it out lacks a feature.
	Deployed bool
	// FromFile: tagged secret:"file", so NAME_FILE may name a file holding it.
	FromFile bool
	// Peer: tagged peerTLS, the variable is another service's gRPC target, called
	// with the client certificate, key and CA of the TLS_CERT_FILE, TLS_KEY_FILE
	// and TLS_CA_FILE variables under the prefix PeerTLS (empty: the server's own).
	Peer    bool
	PeerTLS string
}

// Variables lists the environment variables cfg, a configuration struct or a
// pointer to one, reads.
func Variables(cfg any) []Variable {
	var out []Variable
	walkFields(reflect.TypeOf(cfg), "", func(f reflect.StructField, name string) {
		_, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		peerTLS, peer := f.Tag.Lookup("peerTLS")
		v := Variable{
			Name:     name,
			Default:  f.Tag.Get("envDefault"),
			Deployed: f.Tag.Get("deploy") == "required",
			FromFile: f.Tag.Get("secret") == "file",
			Peer:     peer,
			PeerTLS:  peerTLS,
		}
		for _, o := range strings.Split(opts, ",") {
			v.Required = v.Required || o == "required" || o == "notEmpty"
		}
		out = append(out, v)
	})
	return out
}
