package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lillvet/register/deploy/validate"
	"github.com/lillvet/register/deploy/validate/composesetup"
)

func TestParseCompose(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string
		check   func(t *testing.T, c validate.Compose)
	}{
		{
			name: "short and long forms, anchors",
			src: `x-base: &base
  restart: always
services:
  a:
    <<: *base
    build: ./a
    depends_on: [b]
    environment: ["K=v", "E="]
    command: run --fast
  b:
    image: b:1
    build: {context: ../.., dockerfile: b.Dockerfile}
    depends_on:
      a: {condition: service_healthy}
    environment: {K: v}
`,
			check: func(t *testing.T, c validate.Compose) {
				a, b := c.Services["a"], c.Services["b"]
				if a.Restart != "always" || a.Build.Context != "./a" || a.DependsOn["b"] != "service_started" ||
					a.Environment["K"] != "v" || len(a.Command) != 2 {
					t.Errorf("service a: %+v", a)
				}
				if b.Build.Dockerfile != "b.Dockerfile" || b.DependsOn["a"] != "service_healthy" || b.Environment["K"] != "v" {
					t.Errorf("service b: %+v", b)
				}
			},
		},
		{name: "misspelt service key", src: "services:\n  a:\n    image: a\n    depend_on: [b]\n", wantErr: "depend_on"},
		{name: "misspelt build key", src: "services:\n  a:\n    build: {context: ., dockerfle: x}\n", wantErr: "dockerfle"},
		{name: "unknown condition key", src: "services:\n  a:\n    image: a\n    depends_on:\n      b: {state: service_healthy}\n", wantErr: `unknown key "state"`},
		{name: "unknown top-level key", src: "services:\n  a: {image: a}\nnetworkz: {}\n", wantErr: "networkz"},
		{name: "no services", src: "name: x\n", wantErr: "no services"},
		{name: "not YAML", src: "services: [\n", wantErr: "decode compose file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := validate.ParseCompose([]byte(tt.src))
			if tt.wantErr != "" {
				expect(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func FuzzParseCompose(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("..", "compose", "compose.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(raw))
	f.Add("services:\n  a:\n    depends_on: {b: {}}\n    environment: [X]\n    volumes: [\"v:/x\"]\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := validate.ParseCompose([]byte(src))
		if err != nil {
			return
		}
		if len(c.Services) == 0 {
			t.Fatal("parsed without services")
		}
		for _, s := range c.Services {
			_, _ = s.Mounts()
			_, _ = s.HostPath("/etc/x")
		}
	})
}

// goodCompose lives in a folder with a Dockerfile, a config file and an
// .env.example documenting SECRET; ./certs is generated.
const goodCompose = `services:
  app:
    build: {context: ., dockerfile: app.Dockerfile}
    ports: ["127.0.0.1:8443:8443"]
    depends_on: [db]
    volumes:
      - "./config.yaml:/etc/app/config.yaml:ro"
      - "./certs/app:/etc/app/tls:ro"
    environment:
      TLS_CERT_FILE: /etc/app/tls/cert.pem
      SECRET: ${SECRET:?set it}
  db:
    image: mongo:7.0
    volumes: ["data:/data/db"]
volumes:
  data:
`

func TestCheckCompose(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"app.Dockerfile", "config.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	envExample := []byte("# documented\nSECRET=change-me\n")
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{name: "as it is"},
		{name: "missing Dockerfile", old: "dockerfile: app.Dockerfile", new: "dockerfile: other.Dockerfile", want: "other.Dockerfile does not exist"},
		{name: "missing build context", old: "context: .", new: "context: ./nowhere", want: "not a folder"},
		{name: "missing bind source", old: "./config.yaml:", new: "./conf.yaml:", want: "mounts ./conf.yaml, which does not exist"},
		{name: "undeclared volume", old: `"data:/data/db"`, new: `"db-data:/data/db"`, want: "volume db-data, which is not declared"},
		{name: "unknown dependency", old: "depends_on: [db]", new: "depends_on: [mongo]", want: "depends on mongo"},
		{name: "published beyond loopback", old: "127.0.0.1:8443:8443", new: "8443:8443", want: "beyond loopback"},
		{name: "undocumented variable", old: "${SECRET:?set it}", new: "${TOKEN}", want: "${TOKEN}"},
		{name: "file outside every mount", old: "/etc/app/tls/cert.pem", new: "/run/cert.pem", want: "TLS_CERT_FILE=/run/cert.pem is in no bind mount"},
		{name: "neither image nor build", old: "    image: mongo:7.0\n", new: "", want: "neither image nor build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := goodCompose
			if tt.old != "" {
				if !strings.Contains(src, tt.old) {
					t.Fatalf("fixture lacks %q", tt.old)
				}
				src = strings.Replace(src, tt.old, tt.new, 1)
			}
			c, err := validate.ParseCompose([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			expect(t, validate.CheckCompose(dir, []byte(src), c, envExample, []string{"./certs"}), tt.want)
		})
	}
}

func TestHostPath(t *testing.T) {
	s := validate.ComposeService{Volumes: []string{"./certs/owner:/etc/lillvet/tls:ro", "./certs/ca.pem:/etc/lillvet/ca.pem:ro", "data:/etc/lillvet/data"}}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{in: "/etc/lillvet/tls/cert.pem", want: "certs/owner/cert.pem", ok: true},
		{in: "/etc/lillvet/ca.pem", want: "certs/ca.pem", ok: true},
		{in: "/etc/lillvet/tlsx/cert.pem"},
		{in: "/etc/lillvet/data/x"},
	}
	for _, tt := range tests {
		got, ok := s.HostPath(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("HostPath(%s) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestComposeSetupProvidesEveryFile runs compose-setup and checks that every
// file the compose services are told about (TLS and CA files, the health
// probe's certificates, the JWKS) is one it writes, under the path compose
// mounts.
func TestComposeSetupProvidesEveryFile(t *testing.T) {
	root := repoRoot(t)
	c := loadCompose(t, root)
	tmp := t.TempDir()
	certs := filepath.Join(tmp, "certs")
	err := composesetup.Run(composesetup.Options{
		DataDir: filepath.Join(tmp, "var"), CertDir: certs, EnvFile: filepath.Join(tmp, ".env"), Hosts: composesetup.DefaultHosts(),
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name, s := range c.Services {
		var paths []string
		for _, v := range s.Environment {
			if strings.HasPrefix(v, "/etc/lillvet/") {
				paths = append(paths, v)
			}
		}
		if s.Healthcheck != nil {
			for _, arg := range s.Healthcheck.Test {
				if _, v, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(v, "/etc/lillvet/") {
					paths = append(paths, v)
				}
			}
		}
		for _, m := range s.Volumes {
			if strings.HasPrefix(m, "./certs/") {
				src, _, _ := strings.Cut(m, ":")
				paths = append(paths, "host:"+src)
			}
		}
		for _, p := range paths {
			host, ok := strings.CutPrefix(p, "host:")
			if !ok {
				if host, ok = s.HostPath(p); !ok {
					t.Errorf("service %s: %s is in no bind mount", name, p)
					continue
				}
			}
			rel, under := strings.CutPrefix(filepath.ToSlash(filepath.Clean(host)), "certs/")
			if !under {
				continue
			}
			if _, err := os.Stat(filepath.Join(certs, filepath.FromSlash(rel))); err != nil {
				t.Errorf("service %s needs certs/%s, which compose-setup does not write", name, rel)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no compose service uses anything from certs/")
	}
}
