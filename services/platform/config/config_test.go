package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Port int `env:"PORT" envDefault:"80"`
}

type sample struct {
	Name    string        `env:"NAME,required"`
	Timeout time.Duration `env:"TIMEOUT" envDefault:"1s"`
	APIKey  int           `env:"API_KEY"`
	Nested  inner         `envPrefix:"NESTED_"`
}

func (s *sample) Validate() error {
	if s.Name == "reject" {
		return errors.New("NAME: must not be reject")
	}
	return nil
}

func TestLoadFrom(t *testing.T) {
	tests := []struct {
		name    string
		environ map[string]string
		want    []string // substrings of the error; nil means success
		absent  string   // must not appear in the error
	}{
		{name: "ok", environ: map[string]string{"NAME": "x", "NESTED_PORT": "8"}},
		{name: "required missing", environ: map[string]string{}, want: []string{`"NAME"`, "not set"}},
		{name: "bad duration", environ: map[string]string{"NAME": "x", "TIMEOUT": "soon"}, want: []string{"TIMEOUT", "not a valid", "soon"}},
		{name: "nested prefix named", environ: map[string]string{"NAME": "x", "NESTED_PORT": "eighty"}, want: []string{"NESTED_PORT", "int"}},
		{name: "secret value hidden", environ: map[string]string{"NAME": "x", "API_KEY": "hunter2"}, want: []string{"API_KEY", "not a valid int"}, absent: "hunter2"},
		{name: "validate runs", environ: map[string]string{"NAME": "reject"}, want: []string{"invalid configuration", "NAME"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sample
			err := LoadFrom(&s, tt.environ)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("LoadFrom: %v", err)
				}
				if s.Timeout != time.Second || s.Nested.Port != 8 {
					t.Fatalf("parsed %+v", s)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadFrom succeeded, want error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.absent != "" && strings.Contains(err.Error(), tt.absent) {
				t.Errorf("error %q leaks %q", err, tt.absent)
			}
		})
	}
}

func TestLoadReadsProcessEnvironment(t *testing.T) {
	t.Setenv("NAME", "from-env")
	var s sample
	if err := Load(&s); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Name != "from-env" {
		t.Fatalf("Name = %q", s.Name)
	}
}

func TestIsSecret(t *testing.T) {
	tests := map[string]bool{
		"MONGO_URI": false, "TLS_KEY_FILE": true, "auth_token": true,
		"DB_PASSWORD": true, "CLIENT_SECRET": true, "GRPC_ADDR": false,
	}
	for name, want := range tests {
		if got := IsSecret(name); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", name, got, want)
		}
	}
}
