package validate_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

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
    secrets: [k, {source: k, target: keys/k, mode: 0400}]
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
				if len(a.Secrets) != 2 || a.Secrets[0].Path() != "/run/secrets/k" || a.Secrets[1].Path() != "/run/secrets/keys/k" || a.Secrets[1].Mode != "0400" {
					t.Errorf("service a's secrets: %+v", a.Secrets)
				}
				if b.Build.Dockerfile != "b.Dockerfile" || b.DependsOn["a"] != "service_healthy" || b.Environment["K"] != "v" {
					t.Errorf("service b: %+v", b)
				}
			},
		},
		{name: "misspelt service key", src: "services:\n  a:\n    image: a\n    depend_on: [b]\n", wantErr: "depend_on"},
		{name: "misspelt build key", src: "services:\n  a:\n    build: {context: ., dockerfle: x}\n", wantErr: "dockerfle"},
		{name: "unknown condition key", src: "services:\n  a:\n    image: a\n    depends_on:\n      b: {state: service_healthy}\n", wantErr: `unknown key "state"`},
		{name: "misspelt secret key", src: "services:\n  a:\n    image: a\n    secrets: [{sorce: k}]\n", wantErr: `unknown key "sorce"`},
		{name: "secret from the environment", src: "services:\n  a: {image: a}\nsecrets:\n  k: {environment: K}\n", wantErr: "environment"},
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
	for _, seed := range composeSeeds(f, raw) {
		f.Add(seed)
	}
	f.Add("services:\n  a:\n    depends_on: {b: {}}\n    environment: [X]\n    volumes: [\"v:/x\"]\n")
	f.Add("services:\n  owner:\n    build: .\n    environment: [GRPC_ADDR=x, TLS_CERT_FILE=/c, TLS_CLIENT_AUTH=require]\n    volumes: [\"./certs/owner:/c\"]\n" +
		"    healthcheck: {test: [CMD, grpc_health_probe, -addr, -tls-server-name=]}\n  gateway:\n    build: .\n    environment: [OWNER_GRPC_TARGET=owner:1]\n")
	vars := binaryVariables(f)
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
		_ = validate.CheckWiring(validate.ComposeStack(c, composesetup.DefaultHosts()), vars)
	})
}

// composeSeeds cuts a compose file into one small document per key of each service,
// without comments: every service, key and syntax of the real file seeds the fuzzer.
// A piece that refers to an anchor keeps the file's other top-level keys, where the
// anchors are. The whole file (12 KB) as one seed held the fuzzer still for most of its
// first minute: the fuzzer minimizes every input that finds new coverage, with tries
// that grow with the square of its size and cost about a millisecond each in this
// package's test binary (it links every service and the Kubernetes API, all
// instrumented), so each mutation of the big seed held a worker for the minimization
// limit of a minute. Pieces of at most 1.4 KB are minimized within a second.
func composeSeeds(f *testing.F, raw []byte) []string {
	f.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		f.Fatal(err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		f.Fatal("the compose file is not a mapping")
	}
	top := doc.Content[0]
	var services *yaml.Node
	var others []*yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "services" {
			services = top.Content[i+1]
			continue
		}
		others = append(others, top.Content[i:i+2]...)
	}
	if services == nil || services.Kind != yaml.MappingNode {
		f.Fatal("the compose file has no services")
	}
	var seeds []string
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, service := services.Content[i], services.Content[i+1]
		for j := 0; j+1 < len(service.Content); j += 2 {
			key := service.Content[j : j+2]
			piece := mapping(scalar("services"), mapping(name, mapping(key...)))
			if hasAlias(key[1]) {
				piece.Content = append(slices.Clone(others), piece.Content...)
			}
			seeds = append(seeds, marshalSeed(f, piece))
		}
	}
	return seeds
}

func mapping(content ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Content: content}
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// hasAlias reports whether n refers to an anchor.
func hasAlias(n *yaml.Node) bool {
	return n.Kind == yaml.AliasNode || slices.ContainsFunc(n.Content, hasAlias)
}

// marshalSeed writes n as YAML without its comments.
func marshalSeed(f *testing.F, n *yaml.Node) string {
	f.Helper()
	out, err := yaml.Marshal(withoutComments(n))
	if err != nil {
		f.Fatal(err)
	}
	return string(out)
}

// withoutComments is a copy of n and its content without their comments.
func withoutComments(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = withoutComments(child)
	}
	return &c
}

// goodCompose lives in a folder with a Dockerfile, a config file, a key file
// and an .env.example documenting SECRET; ./certs and ./secrets are generated.
const goodCompose = `services:
  app:
    build: {context: ., dockerfile: app.Dockerfile}
    ports: ["127.0.0.1:8443:8443"]
    depends_on: [db]
    volumes:
      - "./config.yaml:/etc/app/config.yaml:ro"
      - "./certs/app:/etc/app/tls:ro"
    secrets: [blind_index_key, {source: identity_keys, target: /etc/app/keys}]
    environment:
      TLS_CERT_FILE: /etc/app/tls/cert.pem
      SECRET: ${SECRET:?set it}
      MONGO_URI: mongodb://db:27017
      BLIND_INDEX_KEY_FILE: /run/secrets/blind_index_key
      IDENTITY_KEYS_FILE: /etc/app/keys
  db:
    image: mongo:7.0
    volumes: ["data:/data/db"]
secrets:
  blind_index_key: {file: ./secrets/blind_index_key}
  identity_keys: {file: ./keys.txt}
volumes:
  data:
`

func TestCheckCompose(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"app.Dockerfile", "config.yaml", "keys.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const envExample = "# documented\nSECRET=change-me\n"
	tests := []struct {
		name       string
		old, new   string
		envExample string
		want       string
	}{
		{name: "as it is"},
		{name: "missing Dockerfile", old: "dockerfile: app.Dockerfile", new: "dockerfile: other.Dockerfile", want: "other.Dockerfile does not exist"},
		{name: "missing build context", old: "context: .", new: "context: ./nowhere", want: "not a folder"},
		{name: "missing bind source", old: "./config.yaml:", new: "./conf.yaml:", want: "mounts ./conf.yaml, which does not exist"},
		{name: "undeclared volume", old: `"data:/data/db"`, new: `"db-data:/data/db"`, want: "volume db-data, which is not declared"},
		{name: "unknown dependency", old: "depends_on: [db]", new: "depends_on: [mongo]", want: "depends on mongo"},
		{name: "published beyond loopback", old: "127.0.0.1:8443:8443", new: "8443:8443", want: "beyond loopback"},
		{name: "undocumented variable", old: "${SECRET:?set it}", new: "${TOKEN}", want: "${TOKEN}"},
		{name: "file outside every mount", old: "/etc/app/tls/cert.pem", new: "/run/cert.pem", want: "TLS_CERT_FILE=/run/cert.pem is in no bind mount or secret"},
		{name: "key in the environment", old: "BLIND_INDEX_KEY_FILE: /run/secrets/blind_index_key", new: "BLIND_INDEX_KEY: AAAA",
			want: "service app takes BLIND_INDEX_KEY from its environment"},
		{name: "key passed through from the host", old: "IDENTITY_KEYS_FILE: /etc/app/keys", new: "IDENTITY_KEYS:",
			want: "service app takes IDENTITY_KEYS from its environment"},
		{name: "key interpolated", old: "${SECRET:?set it}", new: "${IDENTITY_ACTIVE_KEY}", want: "uses ${IDENTITY_ACTIVE_KEY}, which makes a secret"},
		{name: "key and its file", old: "      IDENTITY_KEYS_FILE:", new: "      IDENTITY_KEYS: k1:AAAA\n      IDENTITY_KEYS_FILE:",
			want: "sets both IDENTITY_KEYS and IDENTITY_KEYS_FILE"},
		{name: "credentials in the MongoDB URI", old: "mongodb://db:27017", new: "mongodb://app:pw@db:27017", want: "takes MONGO_URI from its environment"}, //nolint:gosec // a made-up password the check must refuse
		{name: "key in .env.example", envExample: envExample + "BLIND_INDEX_KEY=AAAA\n", want: ".env.example assigns BLIND_INDEX_KEY"},
		{name: "key exported in .env.example", envExample: envExample + "export BLIND_INDEX_KEY=AAAA\n", want: ".env.example assigns BLIND_INDEX_KEY"},
		{name: "variable documented with export", envExample: "export SECRET=change-me\n"},
		{name: "key interpolated without braces", old: "${SECRET:?set it}", new: "$IDENTITY_ACTIVE_KEY", want: "uses $IDENTITY_ACTIVE_KEY, which makes a secret"},
		{name: "undocumented variable without braces", old: "${SECRET:?set it}", new: "$TOKEN", want: "uses $TOKEN, which .env.example does not document"},
		{name: "escaped dollar", old: "${SECRET:?set it}", new: "$$TOKEN$${IDENTITY_KEYS}"},
		{name: "key file no secret provides", old: "/run/secrets/blind_index_key", new: "/run/secrets/index_key",
			want: "BLIND_INDEX_KEY_FILE=/run/secrets/index_key is in no bind mount or secret"},
		{name: "secret mounted elsewhere", old: "target: /etc/app/keys", new: "target: keys", want: "IDENTITY_KEYS_FILE=/etc/app/keys is in no bind mount or secret"},
		{name: "undeclared secret", old: "secrets: [blind_index_key,", new: "secrets: [index_key,", want: "uses secret index_key, which is not declared"},
		{name: "missing secret file", old: "./keys.txt", new: "./keys.text", want: "secret identity_keys is ./keys.text, which does not exist"},
		{name: "owner and mode of a file secret", old: "target: /etc/app/keys}", new: `target: /etc/app/keys, uid: "65532", mode: 0400}`,
			want: "sets uid, gid or mode of secret identity_keys, which compose ignores"},
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
			env := envExample
			if tt.envExample != "" {
				env = tt.envExample
			}
			expect(t, validate.CheckCompose(dir, []byte(src), c, []byte(env), []string{"./certs", "./secrets"}), tt.want)
		})
	}
}

// TestCheckComposeRefusesKeysInTheEnvironment puts the real compose stack back
// to the layout it had before its keys moved to secret files: the owner service
// given IDENTITY_KEYS, IDENTITY_ACTIVE_KEY and BLIND_INDEX_KEY from .env.
func TestCheckComposeRefusesKeysInTheEnvironment(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "compose")
	raw, err := os.ReadFile(filepath.Clean(filepath.Join(dir, "compose.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	envExample, err := os.ReadFile(filepath.Clean(filepath.Join(dir, ".env.example")))
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	env := string(envExample)
	var want []string
	for _, k := range []string{"IDENTITY_KEYS", "IDENTITY_ACTIVE_KEY", "BLIND_INDEX_KEY"} {
		line := regexp.MustCompile(`(?m)^(\s+)` + k + `_FILE: .*$`)
		if n := len(line.FindAllString(src, -1)); n != 1 {
			t.Fatalf("compose.yaml sets %s_FILE %d times, want once", k, n)
		}
		src = line.ReplaceAllString(src, "${1}"+k+": $${"+k+":?run compose-setup or copy .env.example to .env}")
		env += k + "=REPLACE_ME\n"
		want = append(want,
			"service owner takes "+k+" from its environment",
			"compose file uses ${"+k+"}, which makes a secret",
			".env.example assigns "+k)
	}
	c, err := validate.ParseCompose([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	err = validate.CheckCompose(dir, []byte(src), c, []byte(env), []string{"./certs", "./secrets"})
	for _, w := range want {
		expect(t, err, w)
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
// probe's certificates, the JWKS, the job token, the secret files) is one it
// writes, under the path compose mounts.
func TestComposeSetupProvidesEveryFile(t *testing.T) {
	root := repoRoot(t)
	c := loadCompose(t, root)
	tmp := t.TempDir()
	o := composesetup.Options{
		DataDir: filepath.Join(tmp, "var"), CertDir: filepath.Join(tmp, "certs"), SecretDir: filepath.Join(tmp, "secrets"),
		EnvFile: filepath.Join(tmp, ".env"), Hosts: composesetup.DefaultHosts(),
	}
	if err := composesetup.Run(o); err != nil {
		t.Fatal(err)
	}
	written := map[string]string{"certs": o.CertDir, "secrets": o.SecretDir}
	checked := map[string]int{}
	for name, s := range c.Services {
		var paths []string
		for k, v := range s.Environment {
			if strings.HasSuffix(k, "_FILE") || strings.HasPrefix(v, "/etc/lillvet/") {
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
			src, _, _ := strings.Cut(m, ":")
			paths = append(paths, "host:"+src)
		}
		for _, u := range s.Secrets {
			paths = append(paths, "host:"+c.Secrets[u.Source].File)
		}
		for _, p := range paths {
			host, ok := strings.CutPrefix(p, "host:")
			if !ok {
				if host, ok = c.FileSource(s, p); !ok {
					t.Errorf("service %s: %s is in no bind mount or secret", name, p)
					continue
				}
			}
			top, rel, _ := strings.Cut(filepath.ToSlash(filepath.Clean(host)), "/")
			dir, generated := written[top]
			if !generated {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
				t.Errorf("service %s needs %s/%s, which compose-setup does not write", name, top, rel)
			}
			checked[top]++
		}
	}
	for top := range written {
		if checked[top] == 0 {
			t.Errorf("no compose service uses anything from %s/", top)
		}
	}
}
