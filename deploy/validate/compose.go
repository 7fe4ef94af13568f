package validate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Compose is the part of a compose file the checks read. It is decoded
// strictly: a key these types do not list is an error, which catches
// misspellings that compose would reject.
type Compose struct {
	Name     string                    `yaml:"name"`
	Services map[string]ComposeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	Secrets  map[string]ComposeSecret  `yaml:"secrets"`
	// Extensions are the top-level x- fields (YAML anchors to share).
	Extensions map[string]any `yaml:",inline"`
}

// ComposeService is one service of a compose file.
type ComposeService struct {
	Image       string       `yaml:"image"`
	Build       Build        `yaml:"build"`
	Command     StringList   `yaml:"command"`
	Entrypoint  StringList   `yaml:"entrypoint"`
	DependsOn   DependsOn    `yaml:"depends_on"`
	Volumes     []string     `yaml:"volumes"`
	Environment Environment  `yaml:"environment"`
	Ports       []string     `yaml:"ports"`
	Restart     string       `yaml:"restart"`
	Hostname    string       `yaml:"hostname"`
	User        string       `yaml:"user"`
	Healthcheck *Healthcheck `yaml:"healthcheck"`
	Secrets     []SecretUse  `yaml:"secrets"`
}

// ComposeSecret is a top-level secret. Only the file form is read: a secret from
// compose's environment would come from the .env file again.
type ComposeSecret struct {
	File string `yaml:"file"`
}

// SecretUse is a service's use of a secret, in its short (the secret's name) or
// long form. UID, GID and Mode are kept only to be refused: compose mounts a file
// secret as a bind mount with the host file's owner and mode, and ignores them.
type SecretUse struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
	UID    string `yaml:"uid"`
	GID    string `yaml:"gid"`
	Mode   string `yaml:"mode"`
}

// UnmarshalYAML accepts both forms.
func (u *SecretUse) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		u.Source = n.Value
		return nil
	}
	if err := checkKeys(n, "source", "target", "uid", "gid", "mode"); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	type plain SecretUse
	var p plain
	if err := n.Decode(&p); err != nil {
		return fmt.Errorf("decode secret: %w", err)
	}
	*u = SecretUse(p)
	return nil
}

// Path is where the secret appears in the container: its target under
// /run/secrets/, the source's name there without one, or an absolute target.
func (u SecretUse) Path() string {
	target := u.Target
	if target == "" {
		target = u.Source
	}
	if path.IsAbs(target) {
		return path.Clean(target)
	}
	return path.Join("/run/secrets", target)
}

// Build is a service's build section, in its short (context only) or long form.
type Build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// UnmarshalYAML accepts both forms.
func (b *Build) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	if err := checkKeys(n, "context", "dockerfile"); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	type plain Build
	var p plain
	if err := n.Decode(&p); err != nil {
		return fmt.Errorf("decode build: %w", err)
	}
	*b = Build(p)
	return nil
}

// Healthcheck is a service's health check.
type Healthcheck struct {
	Test        StringList `yaml:"test"`
	Interval    string     `yaml:"interval"`
	Timeout     string     `yaml:"timeout"`
	Retries     int        `yaml:"retries"`
	StartPeriod string     `yaml:"start_period"`
}

// StringList is a command in its string or list form.
type StringList []string

// UnmarshalYAML accepts both forms.
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = strings.Fields(n.Value)
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return fmt.Errorf("decode command list: %w", err)
	}
	*s = list
	return nil
}

// DependsOn maps each service depended on to its condition
// (service_started for the list form).
type DependsOn map[string]string

// UnmarshalYAML accepts the list and the map form.
func (d *DependsOn) UnmarshalYAML(n *yaml.Node) error {
	out := DependsOn{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return fmt.Errorf("decode depends_on list: %w", err)
		}
		for _, s := range list {
			out[s] = "service_started"
		}
		*d = out
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 1; i < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i], "condition", "restart", "required"); err != nil {
				return fmt.Errorf("depends_on %s: %w", n.Content[i-1].Value, err)
			}
		}
	}
	var long map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&long); err != nil {
		return fmt.Errorf("decode depends_on: %w", err)
	}
	for s, v := range long {
		out[s] = v.Condition
	}
	*d = out
	return nil
}

// Environment is a service's environment, in its map or KEY=VALUE list form.
type Environment map[string]string

// UnmarshalYAML accepts both forms.
func (e *Environment) UnmarshalYAML(n *yaml.Node) error {
	out := Environment{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return fmt.Errorf("decode environment list: %w", err)
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
		*e = out
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return fmt.Errorf("decode environment: %w", err)
	}
	*e = m
	return nil
}

// checkKeys refuses a mapping key not in allowed: a custom unmarshaler's
// Decode does not inherit the decoder's strictness.
func checkKeys(n *yaml.Node, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(allowed, k) {
			return fmt.Errorf("line %d: unknown key %q", n.Content[i].Line, k)
		}
	}
	return nil
}

// ParseCompose decodes a compose file strictly. Top-level keys other than
// name, services, volumes and secrets are refused, except x- extension fields.
func ParseCompose(raw []byte) (Compose, error) {
	var c Compose
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Compose{}, fmt.Errorf("decode compose file: %w", err)
	}
	for k := range c.Extensions {
		if !strings.HasPrefix(k, "x-") {
			return Compose{}, fmt.Errorf("compose file: top-level key %q is not checked by deploy/validate", k)
		}
	}
	if len(c.Services) == 0 {
		return Compose{}, errors.New("compose file has no services")
	}
	return c, nil
}

// Mount is a bind mount or named volume of a service, in short syntax.
type Mount struct {
	Source, Target string
	Bind           bool
}

// Mounts parses the service's volumes.
func (s ComposeService) Mounts() ([]Mount, error) {
	var out []Mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Errorf("volume %q: want SOURCE:TARGET[:MODE]", v)
		}
		src := parts[0]
		out = append(out, Mount{
			Source: src,
			Target: parts[1],
			Bind:   strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") || strings.HasPrefix(src, "~"),
		})
	}
	return out, nil
}

// HostPath maps a path inside the service's container to the host path,
// relative to the compose file's folder, of the bind mount that provides it.
func (s ComposeService) HostPath(containerPath string) (string, bool) {
	mounts, err := s.Mounts()
	if err != nil {
		return "", false
	}
	best := Mount{}
	for _, m := range mounts {
		if m.Bind && (containerPath == m.Target || strings.HasPrefix(containerPath, m.Target+"/")) && len(m.Target) > len(best.Target) {
			best = m
		}
	}
	if best.Target == "" {
		return "", false
	}
	return path.Join(best.Source, strings.TrimPrefix(containerPath, best.Target)), true
}

// FileSource maps a path inside service s's container to the host path, relative to
// the compose file's folder, of the file secret or bind mount that provides it.
func (c Compose) FileSource(s ComposeService, containerPath string) (string, bool) {
	for _, u := range s.Secrets {
		if u.Path() == path.Clean(containerPath) {
			if sec, ok := c.Secrets[u.Source]; ok && sec.File != "" {
				return path.Clean(sec.File), true
			}
		}
	}
	return s.HostPath(containerPath)
}

// interpolation finds what compose fills from the environment and .env: ${VAR...} and
// $VAR alike. It matches $$, compose's literal $, too, so that FindAll moves past it
// and $$VAR is not taken for $VAR.
var interpolation = regexp.MustCompile(`\$(?:\$|(\{?)([A-Za-z_][A-Za-z0-9_]*))`)

// CheckCompose checks a compose file against the folder it lives in: every
// build context and Dockerfile exists, every bind-mounted or secret file exists
// unless it is one of the generated paths (created by a documented command),
// every named volume and secret is declared, dependencies name services,
// published ports bind to loopback only, every ${VAR} and $VAR is documented in
// envExample, and every *_FILE variable names a file a bind mount or a secret
// provides. Secrets (sensitiveEnv) are read from such files: neither a service's
// environment nor .env holds them, where docker inspect and every process of the
// container would show them.
func CheckCompose(dir string, raw []byte, c Compose, envExample []byte, generated []string) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	for _, name := range sortedKeys(c.Secrets) {
		file := c.Secrets[name].File
		switch {
		case file == "":
			fail("secret %s names no file", name)
		case isGenerated(file, generated):
		default:
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(file))); err != nil {
				fail("secret %s is %s, which does not exist", name, file)
			}
		}
	}

	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if s.Image == "" && s.Build.Context == "" {
			fail("service %s has neither image nor build", name)
		}
		if s.Build.Context != "" {
			errs = append(errs, checkBuild(dir, name, s.Build)...)
		}
		mounts, err := s.Mounts()
		if err != nil {
			fail("service %s: %w", name, err)
		}
		for _, m := range mounts {
			switch {
			case !m.Bind:
				if _, ok := c.Volumes[m.Source]; !ok {
					fail("service %s mounts volume %s, which is not declared", name, m.Source)
				}
			case isGenerated(m.Source, generated):
			default:
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(m.Source))); err != nil {
					fail("service %s mounts %s, which does not exist", name, m.Source)
				}
			}
		}
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				fail("service %s depends on %s, which is not a service", name, dep)
			}
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				fail("service %s publishes %s beyond loopback", name, p)
			}
		}
		for _, u := range s.Secrets {
			if _, ok := c.Secrets[u.Source]; !ok {
				fail("service %s uses secret %s, which is not declared", name, u.Source)
			}
			if u.UID != "" || u.GID != "" || u.Mode != "" {
				fail("service %s sets uid, gid or mode of secret %s, which compose ignores for a file secret (a bind mount keeps the host file's owner and mode): set them on the file", name, u.Source)
			}
		}
		for _, k := range sortedKeys(s.Environment) {
			if strings.HasSuffix(k, "_FILE") {
				if _, ok := c.FileSource(s, s.Environment[k]); !ok {
					fail("service %s: %s=%s is in no bind mount or secret", name, k, s.Environment[k])
				}
			}
		}
		for _, k := range sensitiveEnv() {
			v, inEnv := s.Environment[k]
			_, fromFile := s.Environment[k+"_FILE"]
			switch {
			case inEnv && fromFile:
				fail("service %s sets both %s and %s_FILE, which the service refuses", name, k, k)
			case inEnv && holdsSecret(k, v):
				fail("service %s takes %s from its environment, where docker inspect shows it: hand it over as a secret file and set %s_FILE", name, k, k)
			}
		}
	}
	documented := envKeys(envExample)
	for _, k := range sensitiveEnv() {
		if slices.Contains(documented, k) {
			fail(".env.example assigns %s: compose reads .env to fill the compose file's ${...}, which put a secret in a container's configuration; hand it over as a secret file", k)
		}
	}
	for _, m := range interpolation.FindAllSubmatch(raw, -1) {
		v := string(m[2])
		if v == "" {
			continue // $$
		}
		use := "$" + v
		if len(m[1]) > 0 {
			use = "${" + v + "}"
		}
		if slices.Contains(sensitiveEnv(), v) {
			fail("compose file uses %s, which makes a secret a compose value (an environment variable or an argument, shown by docker inspect): hand it over as a secret file", use)
		}
		if !slices.Contains(documented, v) {
			fail("compose file uses %s, which .env.example does not document", use)
		}
	}
	return errors.Join(errs...)
}

// holdsSecret reports whether value of the sensitive variable name may hold a
// secret. A MongoDB URI without credentials and without interpolation holds none:
// the compose stack's MongoDB runs without authentication.
func holdsSecret(name, value string) bool {
	if name == "MONGO_URI" {
		return strings.ContainsAny(value, "@$")
	}
	return true
}

func checkBuild(dir, name string, b Build) []error {
	ctx := filepath.Join(dir, filepath.FromSlash(b.Context))
	if info, err := os.Stat(ctx); err != nil || !info.IsDir() {
		return []error{fmt.Errorf("service %s: build context %s is not a folder", name, b.Context)}
	}
	dockerfile := b.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if _, err := os.Stat(filepath.Join(ctx, filepath.FromSlash(dockerfile))); err != nil {
		return []error{fmt.Errorf("service %s: dockerfile %s does not exist in context %s", name, dockerfile, b.Context)}
	}
	return nil
}

func isGenerated(src string, generated []string) bool {
	clean := path.Clean(src)
	for _, g := range generated {
		g = path.Clean(g)
		if clean == g || strings.HasPrefix(clean, g+"/") {
			return true
		}
	}
	return false
}

// envKeys lists the variables a .env file assigns, with or without the export prefix
// compose's dotenv parser accepts.
func envKeys(raw []byte) []string {
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = rest
		}
		if k, _, ok := strings.Cut(line, "="); ok {
			keys = append(keys, strings.TrimSpace(k))
		}
	}
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
