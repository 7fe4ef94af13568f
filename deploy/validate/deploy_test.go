package validate_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/go/packages"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/lillvet/register/deploy/validate"
)

// callGraph is the firewall the statement promises, as DESIGN.md draws it:
// gateway → every service; disclosure → owner, history (patient-history),
// consent; history and consent → owner; every service → its MongoDB and the
// identity provider's JWKS, and so does the gateway; every workload → DNS
// and the collector; the ingress controller → gateway; Prometheus → every
// workload's metrics port. Edges of services not deployed yet are
// checked once their manifests exist.
func callGraph() validate.Graph {
	return validate.Graph{
		Edges: []validate.Edge{
			{From: "ingress-controller", To: "gateway"},
			{From: "gateway", To: "owner"},
			{From: "gateway", To: "history"},
			{From: "gateway", To: "consent"},
			{From: "gateway", To: "disclosure"},
			{From: "disclosure", To: "owner"},
			{From: "disclosure", To: "history"},
			{From: "disclosure", To: "consent"},
			{From: "history", To: "owner"},
			{From: "consent", To: "owner"},
			{From: "owner", To: "mongodb"},
			{From: "history", To: "mongodb"},
			{From: "consent", To: "mongodb"},
			{From: "disclosure", To: "mongodb"},
			{From: "gateway", To: "identity-provider"},
			{From: "owner", To: "identity-provider"},
			{From: "history", To: "identity-provider"},
			{From: "consent", To: "identity-provider"},
			{From: "disclosure", To: "identity-provider"},
			{From: validate.AnyWorkload, To: "otel-collector"},
			{From: validate.AnyWorkload, To: "dns"},
			{From: "prometheus", To: validate.AnyWorkload},
		},
		Peers: []validate.Peer{
			{Name: "dns", Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"},
				Ports: []validate.Port{{Protocol: "UDP", Port: 53}, {Protocol: "TCP", Port: 53}}},
			{Name: "otel-collector", Namespace: "observability", Labels: map[string]string{validate.AppLabel: "otel-collector"},
				Ports: []validate.Port{{Protocol: "TCP", Port: 4318}}},
			{Name: "mongodb", Namespace: "lillvet-data", Labels: map[string]string{validate.AppLabel: "mongodb"},
				Ports: []validate.Port{{Protocol: "TCP", Port: 27017}}},
			{Name: "identity-provider", Namespace: "identity", Labels: map[string]string{validate.AppLabel: "identity-provider"},
				Ports: []validate.Port{{Protocol: "TCP", Port: 8443}}},
			{Name: "ingress-controller", Namespace: "ingress-nginx", Labels: map[string]string{validate.AppLabel: "ingress-nginx"}},
			{Name: "prometheus", Namespace: "monitoring", Labels: map[string]string{validate.AppLabel: "prometheus"}},
		},
	}
}

// repoRoot is the workspace root, two levels above this module.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("no go.work at %s: %v", root, err)
	}
	return root
}

func TestOverlays(t *testing.T) {
	root := repoRoot(t)
	overlays := []struct {
		name, namespace  string
		minReplicas, max int32
	}{
		{name: "dev", namespace: "lillvet-dev", minReplicas: 1, max: 1},
		{name: "prod", namespace: "lillvet", minReplicas: 3, max: 10},
	}
	memoryLimits := map[string]map[string]resource.Quantity{}
	for _, ov := range overlays {
		t.Run(ov.name, func(t *testing.T) {
			objs, err := validate.Render(filesys.MakeFsOnDisk(), filepath.Join(root, "deploy", "k8s", "overlays", ov.name))
			if err != nil {
				t.Fatal(err)
			}
			if len(objs.Deployments) == 0 {
				t.Fatal("no Deployments rendered")
			}
			if err := validate.CheckWorkloads(objs); err != nil {
				t.Errorf("workloads:\n%v", err)
			}
			if err := validate.CheckNetworkPolicies(objs, callGraph()); err != nil {
				t.Errorf("network policies:\n%v", err)
			}
			if len(objs.Namespaces) != 1 || objs.Namespaces[0].Name != ov.namespace ||
				objs.Namespaces[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
				t.Errorf("want one namespace %s enforcing the restricted pod security profile", ov.namespace)
			}
			for _, d := range objs.Deployments {
				if d.Namespace != ov.namespace {
					t.Errorf("deployment %s is in namespace %q, want %q", d.Name, d.Namespace, ov.namespace)
				}
			}
			for _, h := range objs.HPAs {
				if *h.Spec.MinReplicas != ov.minReplicas || h.Spec.MaxReplicas != ov.max {
					t.Errorf("hpa %s scales %d..%d, want %d..%d", h.Name, *h.Spec.MinReplicas, h.Spec.MaxReplicas, ov.minReplicas, ov.max)
				}
			}
			memoryLimits[ov.name] = map[string]resource.Quantity{}
			for _, d := range objs.Deployments {
				memoryLimits[ov.name][d.Name] = d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().DeepCopy()
			}
		})
	}
	for name, prod := range memoryLimits["prod"] {
		if dev, ok := memoryLimits["dev"][name]; ok && prod.Cmp(dev) <= 0 {
			t.Errorf("deployment %s: prod memory limit %s is not above dev's %s", name, prod.String(), dev.String())
		}
	}
}

// TestEveryBinaryIsDeployed keeps deploy/ in step with the code: each
// command under <module>/cmd/ has an image, a compose service and a
// Kubernetes folder. A new service copies the owner's three.
func TestEveryBinaryIsDeployed(t *testing.T) {
	root := repoRoot(t)
	bins, err := validate.Binaries(root)
	if err != nil {
		t.Fatal(err)
	}
	compose := loadCompose(t, root)
	base, err := validate.Render(filesys.MakeFsOnDisk(), filepath.Join(root, "deploy", "k8s", "base"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bins {
		dockerfile := filepath.ToSlash(filepath.Join("deploy", "docker", b.Name+".Dockerfile"))
		if _, err := os.Stat(filepath.Join(root, dockerfile)); err != nil {
			t.Errorf("%s has no image: copy deploy/docker/owner.Dockerfile to %s", b.Package, dockerfile)
		}
		svc, ok := compose.Services[b.Name]
		if !ok || svc.Build.Dockerfile != dockerfile {
			t.Errorf("%s has no compose service %s built from %s: copy the owner's block in deploy/compose/compose.yaml", b.Package, b.Name, dockerfile)
		}
		deployed := false
		for _, d := range base.Deployments {
			deployed = deployed || d.Name == b.Name
		}
		if !deployed {
			t.Errorf("%s has no Deployment %s: copy deploy/k8s/base/owner to deploy/k8s/base/%s and list it in base/kustomization.yaml", b.Package, b.Name, b.Name)
		}
		df := readDockerfile(t, filepath.Join(root, dockerfile))
		if target, err := df.BuildTarget(); err == nil && target != b.Package {
			t.Errorf("%s builds %s, want %s", dockerfile, target, b.Package)
		}
	}
}

func readDockerfile(t *testing.T, path string) validate.Dockerfile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	df, err := validate.ParseDockerfile(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return df
}

func imagePolicy() validate.ImagePolicy {
	return validate.ImagePolicy{
		Builder: "golang:1.26.9-bookworm",
		Runtime: "gcr.io/distroless/static-debian12:nonroot",
		User:    "nonroot:nonroot",
	}
}

// TestDockerfiles checks every image's Dockerfile, then stages exactly what
// its COPY instructions take from the context and asks the go command to
// load the binary's packages there: a missing module or file fails here
// rather than in a Docker build.
func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	modules, err := validate.WorkspaceModules(root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "deploy", "docker", "*.Dockerfile"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Dockerfiles in deploy/docker (%v)", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			df := readDockerfile(t, file)
			if err := validate.CheckDockerfile(root, df, imagePolicy(), modules); err != nil {
				t.Fatal(err)
			}
			ignore, err := os.ReadFile(filepath.Clean(file + ".dockerignore"))
			if err != nil {
				t.Errorf("no %s.dockerignore: keep var/ and the compose secrets out of the build context", filepath.Base(file))
			}
			for _, generated := range []string{"deploy/compose/certs", "deploy/compose/secrets", "deploy/compose/.env"} {
				if !slices.Contains(strings.Fields(string(ignore)), generated) {
					t.Errorf("%s.dockerignore lets %s, which compose-setup writes, into the build context", filepath.Base(file), generated)
				}
			}
			target, err := df.BuildTarget()
			if err != nil {
				t.Fatal(err)
			}
			staged := t.TempDir()
			if err := validate.StageContext(root, df.ContextCopies(), staged); err != nil {
				t.Fatal(err)
			}
			cfg := &packages.Config{
				Mode: packages.NeedName | packages.NeedImports | packages.NeedDeps,
				Dir:  staged,
				Env:  append(os.Environ(), "GOWORK="+filepath.Join(staged, "go.work"), "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local"),
			}
			pkgs, err := packages.Load(cfg, target)
			if err != nil {
				t.Fatalf("load %s from the image's build context: %v", target, err)
			}
			var problems []string
			packages.Visit(pkgs, nil, func(p *packages.Package) {
				for _, e := range p.Errors {
					problems = append(problems, e.Error())
				}
			})
			if len(pkgs) != 1 || len(problems) > 0 {
				t.Fatalf("the image's build context cannot build %s:\n%s", target, strings.Join(problems, "\n"))
			}
		})
	}
}

func loadCompose(t *testing.T, root string) validate.Compose {
	t.Helper()
	raw, err := os.ReadFile(filepath.Clean(filepath.Join(root, "deploy", "compose", "compose.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := validate.ParseCompose(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompose(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(root, "deploy", "compose")
	raw, err := os.ReadFile(filepath.Clean(filepath.Join(dir, "compose.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	envExample, err := os.ReadFile(filepath.Clean(filepath.Join(dir, ".env.example")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := validate.ParseCompose(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.CheckCompose(dir, raw, c, envExample, []string{"./certs", "./secrets"}); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"mongo1", "mongo2", "mongo3"} {
		s := c.Services[name]
		if !strings.HasPrefix(s.Image, "mongo:7") || !strings.Contains(strings.Join(s.Command, " "), "--replSet rs0") {
			t.Errorf("%s is not a mongo:7 member of replica set rs0: %s %v", name, s.Image, s.Command)
		}
	}
	initScript, err := os.ReadFile(filepath.Clean(filepath.Join(dir, "mongo-init.js")))
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"mongo1:27017", "mongo2:27017", "mongo3:27017", "rs.initiate"} {
		if !strings.Contains(string(initScript), member) {
			t.Errorf("mongo-init.js does not mention %s", member)
		}
	}
	if init := c.Services["mongo-init"]; len(init.Entrypoint) == 0 || init.Entrypoint[0] != "mongosh" {
		t.Errorf("mongo-init does not run mongosh: %v", init.Entrypoint)
	}
	if !strings.HasPrefix(c.Services["otel-collector"].Image, "otel/opentelemetry-collector-contrib:") {
		t.Errorf("otel-collector image is %s", c.Services["otel-collector"].Image)
	}
	if !strings.HasPrefix(c.Services["jaeger"].Image, "jaegertracing/jaeger:") {
		t.Errorf("jaeger image is %s", c.Services["jaeger"].Image)
	}
	for name, s := range c.Services {
		if s.Build.Context == "" {
			continue
		}
		if s.Environment["TLS_CLIENT_AUTH"] != "" && s.Environment["TLS_CLIENT_AUTH"] != "require" {
			t.Errorf("service %s accepts clients without a certificate", name)
		}
		if !strings.HasPrefix(s.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector:") {
			t.Errorf("service %s does not export traces to the collector", name)
		}
	}
	checkCollectorConfig(t, filepath.Join(dir, "otel-collector.yaml"))
}

// checkCollectorConfig checks that the collector receives OTLP on both
// protocols and sends its traces pipeline to Jaeger over OTLP.
func checkCollectorConfig(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Receivers map[string]struct {
			Protocols map[string]any `yaml:"protocols"`
		} `yaml:"receivers"`
		Exporters map[string]struct {
			Endpoint string `yaml:"endpoint"`
		} `yaml:"exporters"`
		Service struct {
			Pipelines map[string]struct {
				Receivers  []string `yaml:"receivers"`
				Processors []string `yaml:"processors"`
				Exporters  []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("collector config: %v", err)
	}
	if p := cfg.Receivers["otlp"].Protocols; p["grpc"] == nil && p["http"] == nil {
		t.Error("collector has no OTLP receiver")
	}
	traces, ok := cfg.Service.Pipelines["traces"]
	if !ok || len(traces.Receivers) == 0 || len(traces.Exporters) == 0 {
		t.Fatal("collector has no traces pipeline")
	}
	toJaeger := false
	for _, e := range traces.Exporters {
		exp, ok := cfg.Exporters[e]
		if !ok {
			t.Errorf("traces pipeline names exporter %s, which is not configured", e)
		}
		toJaeger = toJaeger || (strings.HasPrefix(e, "otlp") && strings.HasPrefix(exp.Endpoint, "jaeger:"))
	}
	if !toJaeger {
		t.Error("traces pipeline does not export to Jaeger over OTLP")
	}
}
