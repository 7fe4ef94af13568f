package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Port     int    `env:"PORT" envDefault:"80"`
	Password string `env:"PASSWORD" secret:"file"`
}

type sample struct {
	Name    string        `env:"NAME,required"`
	Timeout time.Duration `env:"TIMEOUT" envDefault:"1s"`
	APIKey  int           `env:"API_KEY"`
	Token   string        `env:"TOKEN" secret:"file"`
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
		{name: "required missing", environ: map[string]string{}, want: []string{"NAME is required"}, absent: "NAME_FILE"},
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

// TestSecretFiles reads the secret settings from the files their NAME_FILE names, as
// Kubernetes mounts Secrets, and refuses both ways at once, or a file that holds
// nothing, without repeating either value.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	token, twoLines, password := file("token", "s3cret-token\n"), file("two", "s3cret-token\n\n"), file("password", "pa55")
	empty, newline, blank := file("empty", ""), file("newline", "\n"), file("blank", " \t\n\n")
	tests := []struct {
		name         string
		environ      map[string]string
		wantToken    string
		wantPassword string
		wantErr      []string // substrings of the error; nil means success
	}{
		{name: "from the environment", environ: map[string]string{"NAME": "x", "TOKEN": "env-token"}, wantToken: "env-token"},
		{name: "from a file, its newline dropped", environ: map[string]string{"NAME": "x", "TOKEN_FILE": token}, wantToken: "s3cret-token"},
		{name: "one newline only", environ: map[string]string{"NAME": "x", "TOKEN_FILE": twoLines}, wantToken: "s3cret-token\n"},
		{name: "under a prefix", environ: map[string]string{"NAME": "x", "NESTED_PASSWORD_FILE": password}, wantPassword: "pa55"},
		{name: "an empty NAME_FILE is unset", environ: map[string]string{"NAME": "x", "TOKEN": "env-token", "TOKEN_FILE": ""}, wantToken: "env-token"},
		{name: "not for a setting that is no secret", environ: map[string]string{"NAME_FILE": token}, wantErr: []string{"NAME is required"}},
		{name: "both set", environ: map[string]string{"NAME": "x", "TOKEN": "env-token", "TOKEN_FILE": token},
			wantErr: []string{"TOKEN and TOKEN_FILE are both set"}},
		{name: "an empty file", environ: map[string]string{"NAME": "x", "TOKEN_FILE": empty}, wantErr: []string{"TOKEN_FILE: " + empty + " is empty"}},
		{name: "a file holding a newline", environ: map[string]string{"NAME": "x", "NESTED_PASSWORD_FILE": newline},
			wantErr: []string{"NESTED_PASSWORD_FILE: " + newline + " is empty"}},
		{name: "a file holding white space", environ: map[string]string{"NAME": "x", "TOKEN_FILE": blank}, wantErr: []string{"TOKEN_FILE: " + blank + " is empty"}},
		{name: "no such file", environ: map[string]string{"NAME": "x", "NESTED_PASSWORD_FILE": filepath.Join(dir, "missing")},
			wantErr: []string{"NESTED_PASSWORD_FILE", "no such file"}},
		{name: "the secret itself in NAME_FILE", environ: map[string]string{"NAME": "x", "TOKEN_FILE": "s3cret-token-value"},
			wantErr: []string{"TOKEN_FILE: cannot read the file it names", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sample
			err := LoadFrom(&s, tt.environ)
			if tt.wantErr == nil {
				if err != nil || s.Token != tt.wantToken || s.Nested.Password != tt.wantPassword {
					t.Fatalf("loaded token %q, password %q, %v; want %q, %q", s.Token, s.Nested.Password, err, tt.wantToken, tt.wantPassword)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadFrom succeeded, want error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, secret := range []string{"s3cret", "env-token", "pa55"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q repeats a secret", err)
				}
			}
		})
	}
}

// TestRequiredSecret: a secret that must be set is refused when it is missing or empty,
// by a message naming both ways to set it, or the empty file it was read from.
func TestRequiredSecret(t *testing.T) {
	type keyed struct {
		Key string `env:"SIGNING_KEY,notEmpty" secret:"file"`
	}
	dir := t.TempDir()
	empty, full := filepath.Join(dir, "empty"), filepath.Join(dir, "full")
	for path, content := range map[string]string{empty: "\n", full: "s3cret\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const refused = "load configuration: SIGNING_KEY is required: set it, or SIGNING_KEY_FILE to a file holding it"
	for _, tc := range []struct {
		name    string
		environ map[string]string
		want    string // the error; empty means success
	}{
		{"unset", map[string]string{}, refused},
		{"empty", map[string]string{"SIGNING_KEY": ""}, refused},
		{"empty file", map[string]string{"SIGNING_KEY_FILE": empty}, "load configuration: SIGNING_KEY_FILE: " + empty + " is empty"},
		{"from the environment", map[string]string{"SIGNING_KEY": "s3cret"}, ""},
		{"from a file", map[string]string{"SIGNING_KEY_FILE": full}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var k keyed
			err := LoadFrom(&k, tc.environ)
			if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && got != tc.want {
				t.Fatalf("LoadFrom = %v, want %q", err, tc.want)
			}
			if err == nil && k.Key != "s3cret" {
				t.Fatalf("loaded %q", k.Key)
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

func TestVariables(t *testing.T) {
	type client struct {
		Target  string `env:"PEER_GRPC_TARGET" envDefault:"127.0.0.1:1" peerTLS:"PEER_"`
		Job     string `env:"JOB_TOKEN_FILE" deploy:"required"`
		Strict  string `env:"STRICT,notEmpty"`
		Ignored string `env:"-"`
	}
	type both struct {
		Sample sample
		Client client
	}
	got := map[string]Variable{}
	for _, v := range Variables(&both{}) {
		got[v.Name] = v
	}
	want := map[string]Variable{
		"NAME":             {Name: "NAME", Required: true},
		"TIMEOUT":          {Name: "TIMEOUT", Default: "1s"},
		"API_KEY":          {Name: "API_KEY"},
		"TOKEN":            {Name: "TOKEN", FromFile: true},
		"NESTED_PORT":      {Name: "NESTED_PORT", Default: "80"},
		"NESTED_PASSWORD":  {Name: "NESTED_PASSWORD", FromFile: true},
		"PEER_GRPC_TARGET": {Name: "PEER_GRPC_TARGET", Default: "127.0.0.1:1", Peer: true, PeerTLS: "PEER_"},
		"JOB_TOKEN_FILE":   {Name: "JOB_TOKEN_FILE", Deployed: true},
		"STRICT":           {Name: "STRICT", Required: true},
	}
	if len(got) != len(want) {
		t.Errorf("Variables = %+v, want %d variables", got, len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %+v, want %+v", name, got[name], w)
		}
	}
}

// FuzzSecretFile: a secret file is refused exactly when it holds nothing but white
// space, by a message naming the variable and the file and never the contents, and
// otherwise read with one trailing newline dropped.
func FuzzSecretFile(f *testing.F) {
	for _, seed := range []string{"", "\n", " \t\n", "s3cret\n", "s3cret\n\n", "\n\n"} {
		f.Add(seed)
	}
	path := filepath.Join(f.TempDir(), "token")
	f.Fuzz(func(t *testing.T, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		var s sample
		err := LoadFrom(&s, map[string]string{"NAME": "x", "TOKEN_FILE": path})
		value := strings.TrimSuffix(content, "\n")
		if strings.TrimSpace(value) == "" {
			if want := "load configuration: TOKEN_FILE: " + path + " is empty"; fmt.Sprint(err) != want {
				t.Fatalf("LoadFrom = %v, want %q", err, want)
			}
			return
		}
		if err != nil || s.Token != value {
			t.Fatalf("LoadFrom = %v, token %q; want %q", err, s.Token, value)
		}
	})
}
