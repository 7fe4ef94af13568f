package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/lillvet/register/deploy/validate"
	"github.com/lillvet/register/deploy/validate/composesetup"
	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/config"
)

// binaryVariables are the variables each binary's Config reads, by the name of
// its command (and of its compose service and Deployment).
func binaryVariables(t testing.TB) map[string][]config.Variable {
	t.Helper()
	vars := map[string][]config.Variable{
		"owner":      config.Variables(owner.Config{}),
		"consent":    config.Variables(consent.Config{}),
		"disclosure": config.Variables(disclosure.Config{}),
		"history":    config.Variables(history.Config{}),
		"gateway":    config.Variables(gateway.Config{}),
	}
	bins, err := validate.Binaries(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bins {
		if _, ok := vars[b.Name]; !ok {
			t.Fatalf("%s is not in binaryVariables: add its Config there", b.Package)
		}
	}
	return vars
}

// Mutations of the real files: each breaks one wire that the services would
// trip over only once deployed.
const consentOwnerClient = `      OWNER_GRPC_TARGET: owner:7101
      OWNER_TLS_CERT_FILE: /etc/lillvet/tls/cert.pem
      OWNER_TLS_KEY_FILE: /etc/lillvet/tls/key.pem
      OWNER_TLS_CA_FILE: /etc/lillvet/ca.pem
      AUTH_JWKS_URL: https://jwks:8443/jwks.json
      AUTH_CA_FILE: /etc/lillvet/ca.pem
      OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4318
      OTEL_RESOURCE_ATTRIBUTES: deployment.environment.name=compose
    healthcheck:
      test:
        - CMD
        - /bin/grpc_health_probe
        - -addr=127.0.0.1:7102`

func TestComposeWiring(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "compose")
	raw, err := os.ReadFile(filepath.Clean(filepath.Join(dir, "compose.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	vars := binaryVariables(t)
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{name: "the compose file as it is"},
		{name: "health check on another port than GRPC_ADDR", old: "-addr=127.0.0.1:7102", new: "-addr=127.0.0.1:7109",
			want: []string{"compose service consent: health check asks 127.0.0.1:7109, but GRPC_ADDR=:7102 listens on port 7102"}},
		{name: "GRPC_ADDR its clients do not dial", old: `GRPC_ADDR: ":7101"`, new: `GRPC_ADDR: ":7109"`,
			want: []string{
				"compose service gateway: OWNER_GRPC_TARGET=owner:7101 reaches owner on port 7101, but owner's GRPC_ADDR=:7109 listens on port 7109",
				"compose service consent: OWNER_GRPC_TARGET=owner:7101 reaches owner on port 7101",
				"compose service history: OWNER_GRPC_TARGET=owner:7101 reaches owner on port 7101",
				"compose service owner: health check asks 127.0.0.1:7101, but GRPC_ADDR=:7109",
			}},
		{name: "a target on another port", old: "DISCLOSURE_GRPC_TARGET: disclosure:7103", new: "DISCLOSURE_GRPC_TARGET: disclosure:7101",
			want: []string{"compose service gateway: DISCLOSURE_GRPC_TARGET=disclosure:7101 reaches disclosure on port 7101, but disclosure's GRPC_ADDR=:7103 listens on port 7103"}},
		{name: "GATEWAY_ADDR its published port does not reach", old: `GATEWAY_ADDR: ":8443"`, new: `GATEWAY_ADDR: ":8444"`,
			want: []string{"compose service gateway: published port 127.0.0.1:8443:8443 reaches port 8443, but GATEWAY_ADDR=:8444 listens on port 8444"}},
		{name: "GATEWAY_ADDR on loopback", old: `GATEWAY_ADDR: ":8443"`, new: `GATEWAY_ADDR: "127.0.0.1:8443"`,
			want: []string{"compose service gateway: published port 127.0.0.1:8443:8443 reaches port 8443, but GATEWAY_ADDR=127.0.0.1:8443 listens on loopback"}},
		{name: "GRPC_ADDR on loopback", old: `GRPC_ADDR: ":7103"`, new: `GRPC_ADDR: "127.0.0.1:7103"`,
			want: []string{"compose service gateway: DISCLOSURE_GRPC_TARGET=disclosure:7103 reaches disclosure, but disclosure's GRPC_ADDR=127.0.0.1:7103 listens on loopback"}},
		{name: "a published port beside GATEWAY_ADDR", old: `ports: ["127.0.0.1:8443:8443"]`, new: `ports: ["127.0.0.1:8443:8080/tcp"]`,
			want: []string{"compose service gateway: published port 127.0.0.1:8443:8080/tcp reaches port 8080, but GATEWAY_ADDR=:8443 listens on port 8443"}},
		{name: "a target that is no service", old: "HISTORY_GRPC_TARGET: history:7104\n      AUTH", new: "HISTORY_GRPC_TARGET: patient-history:7104\n      AUTH",
			want: []string{"compose service gateway: HISTORY_GRPC_TARGET=patient-history:7104: patient-history is no compose service"}},
		{name: "a health check under a name the certificate lacks", old: "-tls-server-name=history", new: "-tls-server-name=wrong",
			want: []string{"compose service history: health check expects -tls-server-name=wrong, which its certificate is not issued for (history, localhost)"}},
		{name: "a certificate compose-setup does not issue", old: "./certs/history:/etc/lillvet/tls:ro", new: "./certs/jwks:/etc/lillvet/tls:ro",
			want: []string{"compose service history: health check expects -tls-server-name=history, which its certificate is not issued for (jwks, localhost)",
				"compose service disclosure: HISTORY_GRPC_TARGET=history:7104 dials history as history, which its certificate is not issued for (jwks, localhost)"}},
		{name: "no erasure job token", old: "      DISCLOSURE_JOB_TOKEN_FILE: /etc/lillvet/job/token\n", new: "",
			want: []string{"compose service disclosure: does not set DISCLOSURE_JOB_TOKEN_FILE: a deployment must set it"}},
		{name: "no name retention job token", old: "      NAME_RETENTION_JOB_TOKEN_FILE: /etc/lillvet/job/token\n", new: "",
			want: []string{"compose service history: does not set NAME_RETENTION_JOB_TOKEN_FILE: a deployment must set it"}},
		{name: "no request digest key", old: "      REQUEST_DIGEST_KEY_FILE: /run/secrets/request_digest_key\n", new: "",
			want: []string{"compose service history: does not set REQUEST_DIGEST_KEY: the binary refuses to start without it"}},
		{name: "a variable the binary does not read", old: "      MONGO_DATABASE: history\n", new: "      MONGO_DATABASE: history\n      OWNER_STATUS_TTL: 5s\n",
			want: []string{"compose service history: sets OWNER_STATUS_TTL, which the history binary does not read"}},
		{name: "a misspelt variable", old: "      MONGO_DATABASE: owner\n", new: "      MONGO_DATABSE: owner\n",
			want: []string{"compose service owner: sets MONGO_DATABSE, which the owner binary does not read"}},
		{name: "no client certificate towards the owner service",
			old: consentOwnerClient,
			new: strings.Replace(strings.Replace(consentOwnerClient, "      OWNER_TLS_CERT_FILE: /etc/lillvet/tls/cert.pem\n", "", 1), "      OWNER_TLS_KEY_FILE: /etc/lillvet/tls/key.pem\n", "", 1),
			want: []string{
				"compose service consent: calls owner (OWNER_GRPC_TARGET), which requires a client certificate (TLS_CLIENT_AUTH=require), without OWNER_TLS_CERT_FILE",
				"compose service consent: calls owner (OWNER_GRPC_TARGET), which requires a client certificate (TLS_CLIENT_AUTH=require), without OWNER_TLS_KEY_FILE",
			}},
		{name: "no client certificate at the gateway", old: "      BACKEND_TLS_CERT_FILE: /etc/lillvet/tls/cert.pem\n", new: "",
			want: []string{"compose service gateway: calls owner (OWNER_GRPC_TARGET), which requires a client certificate (TLS_CLIENT_AUTH=require), without BACKEND_TLS_CERT_FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := string(raw)
			if tt.old != "" {
				if n := strings.Count(src, tt.old); n != 1 {
					t.Fatalf("compose.yaml holds %q %d times, want once", tt.old, n)
				}
				src = strings.Replace(src, tt.old, tt.new, 1)
			}
			c, err := validate.ParseCompose([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			err = validate.CheckWiring(validate.ComposeStack(c, composesetup.DefaultHosts()), vars)
			expectAll(t, err, tt.want)
		})
	}
}

func TestKubernetesWiring(t *testing.T) {
	vars := binaryVariables(t)
	probe := func(name string) string {
		return ownerContainer + "/" + name + "/exec/command/6"
	}
	tests := []struct {
		name    string
		patches string
		want    []string
	}{
		{name: "the base as it is"},
		{name: "GRPC_ADDR its Service does not reach",
			patches: jsonPatch("ConfigMap", "owner-config", `{op: replace, path: /data/GRPC_ADDR, value: ":7109"}`),
			want: []string{
				"deployment gateway: OWNER_GRPC_TARGET=owner:7101 reaches owner on port 7101, but owner's GRPC_ADDR=:7109 listens on port 7109",
				"deployment disclosure: OWNER_GRPC_TARGET=owner:7101 reaches owner on port 7101",
				"deployment owner: health check asks 127.0.0.1:7101, but GRPC_ADDR=:7109 listens on port 7109",
			}},
		{name: "a Service port its clients do not dial",
			patches: jsonPatch("Service", "consent", `{op: replace, path: /spec/ports/0/port, value: 7109}`),
			want:    []string{"deployment gateway: CONSENT_GRPC_TARGET=consent:7102: service consent serves no port 7102"}},
		{name: "a container port beside GRPC_ADDR",
			patches: jsonPatch("Deployment", "history", `{op: replace, path: `+ownerContainer+`/ports/0/containerPort, value: 7109}`),
			want:    []string{"deployment disclosure: HISTORY_GRPC_TARGET=history:7104 reaches history on port 7109, but history's GRPC_ADDR=:7104 listens on port 7104"}},
		{name: "GATEWAY_ADDR its Service and probes do not reach",
			patches: jsonPatch("ConfigMap", "gateway-config", `{op: replace, path: /data/GATEWAY_ADDR, value: ":8444"}`),
			want: []string{
				"deployment gateway: service gateway port 8443 reaches port 8443, but GATEWAY_ADDR=:8444 listens on port 8444",
				"deployment gateway: readiness probe reaches port 8443, but GATEWAY_ADDR=:8444",
				"deployment gateway: liveness probe reaches port 8443, but GATEWAY_ADDR=:8444",
			}},
		{name: "a gateway Service targeting another port",
			patches: jsonPatch("Service", "gateway", `{op: replace, path: /spec/ports/0/targetPort, value: 9443}`),
			want:    []string{"deployment gateway: service gateway port 8443 reaches port 9443, but GATEWAY_ADDR=:8443 listens on port 8443"}},
		{name: "a gateway Service targeting a port name the container lacks",
			patches: jsonPatch("Service", "gateway", `{op: replace, path: /spec/ports/0/targetPort, value: http}`),
			want:    []string{"deployment gateway: service gateway port 8443 reaches no port of the container, and GATEWAY_ADDR=:8443 listens on port 8443"}},
		{name: "a gateway Service targeting a port name the container lacks, without METRICS_ADDR",
			patches: jsonPatch("ConfigMap", "gateway-config", `{op: remove, path: /data/METRICS_ADDR}`) +
				jsonPatch("Service", "gateway", `{op: replace, path: /spec/ports/0/targetPort, value: htps}`),
			want: []string{"deployment gateway: service gateway port 8443 reaches no port of the container, and GATEWAY_ADDR=:8443 listens on port 8443"}},
		{name: "GATEWAY_ADDR on loopback",
			patches: jsonPatch("ConfigMap", "gateway-config", `{op: replace, path: /data/GATEWAY_ADDR, value: "127.0.0.1:8443"}`),
			want: []string{
				"deployment gateway: service gateway port 8443 reaches port 8443, but GATEWAY_ADDR=127.0.0.1:8443 listens on loopback",
				"deployment gateway: readiness probe reaches port 8443, but GATEWAY_ADDR=127.0.0.1:8443 listens on loopback",
			}},
		{name: "GRPC_ADDR on loopback",
			patches: jsonPatch("ConfigMap", "owner-config", `{op: replace, path: /data/GRPC_ADDR, value: "localhost:7101"}`),
			want: []string{
				"deployment owner: service owner port 7101 reaches port 7101, but GRPC_ADDR=localhost:7101 listens on loopback",
				"deployment gateway: OWNER_GRPC_TARGET=owner:7101 reaches owner, but owner's GRPC_ADDR=localhost:7101 listens on loopback",
			}},
		{name: "GATEWAY_ADDR on localhost in capitals",
			patches: jsonPatch("ConfigMap", "gateway-config", `{op: replace, path: /data/GATEWAY_ADDR, value: "LOCALHOST:8443"}`),
			want: []string{
				"deployment gateway: service gateway port 8443 reaches port 8443, but GATEWAY_ADDR=LOCALHOST:8443 listens on loopback",
				"deployment gateway: readiness probe reaches port 8443, but GATEWAY_ADDR=LOCALHOST:8443 listens on loopback",
			}},
		{name: "GRPC_ADDR on localhost with a trailing dot",
			patches: jsonPatch("ConfigMap", "owner-config", `{op: replace, path: /data/GRPC_ADDR, value: "Localhost.:7101"}`),
			want: []string{
				"deployment owner: service owner port 7101 reaches port 7101, but GRPC_ADDR=Localhost.:7101 listens on loopback",
				"deployment gateway: OWNER_GRPC_TARGET=owner:7101 reaches owner, but owner's GRPC_ADDR=Localhost.:7101 listens on loopback",
			}},
		{name: "GRPC_ADDR on ip6-localhost, the container's name of ::1",
			patches: jsonPatch("ConfigMap", "owner-config", `{op: replace, path: /data/GRPC_ADDR, value: "ip6-localhost:7101"}`),
			want: []string{
				"deployment owner: service owner port 7101 reaches port 7101, but GRPC_ADDR=ip6-localhost:7101 listens on loopback",
				"deployment gateway: OWNER_GRPC_TARGET=owner:7101 reaches owner, but owner's GRPC_ADDR=ip6-localhost:7101 listens on loopback",
			}},
		{name: "a Service reaching METRICS_ADDR on loopback",
			patches: jsonPatch("ConfigMap", "gateway-config", `{op: replace, path: /data/METRICS_ADDR, value: "127.0.0.1:9090"}`) +
				jsonPatch("Service", "gateway", `{op: add, path: /spec/ports/-, value: {name: metrics, port: 9090, targetPort: metrics}}`),
			want: []string{"deployment gateway: service gateway port 9090 reaches port 9090, but METRICS_ADDR=127.0.0.1:9090 listens on loopback"}},
		{name: "a target that is no Service",
			patches: jsonPatch("ConfigMap", "gateway-config", `{op: replace, path: /data/HISTORY_GRPC_TARGET, value: "patient-history:7104"}`),
			want:    []string{"deployment gateway: HISTORY_GRPC_TARGET=patient-history:7104: patient-history is no service"}},
		{name: "a probe under a name the certificate lacks",
			patches: jsonPatch("Deployment", "consent", `{op: replace, path: `+probe("readinessProbe")+`, value: -tls-server-name=wrong}`),
			want:    []string{"deployment consent: health check expects -tls-server-name=wrong, which its certificate is not issued for (consent)"}},
		{name: "a startup probe on another port",
			patches: jsonPatch("Deployment", "history", `{op: replace, path: `+ownerContainer+`/startupProbe/exec/command/1, value: -addr=127.0.0.1:7101}`),
			want:    []string{"deployment history: health check asks 127.0.0.1:7101, but GRPC_ADDR=:7104 listens on port 7104"}},
		{name: "no erasure job token",
			patches: jsonPatch("ConfigMap", "disclosure-config", `{op: remove, path: /data/DISCLOSURE_JOB_TOKEN_FILE}`),
			want:    []string{"deployment disclosure: does not set DISCLOSURE_JOB_TOKEN_FILE: a deployment must set it"}},
		{name: "no name retention job token",
			patches: jsonPatch("ConfigMap", "history-config", `{op: remove, path: /data/NAME_RETENTION_JOB_TOKEN_FILE}`),
			want:    []string{"deployment history: does not set NAME_RETENTION_JOB_TOKEN_FILE: a deployment must set it"}},
		{name: "no request digest key",
			patches: jsonPatch("ConfigMap", "history-config", `{op: remove, path: /data/REQUEST_DIGEST_KEY_FILE}`),
			want:    []string{"deployment history: does not set REQUEST_DIGEST_KEY: the binary refuses to start without it"}},
		{name: "a variable the binary does not read",
			patches: jsonPatch("ConfigMap", "history-config", `{op: add, path: /data/OWNER_STATUS_TTL, value: 5s}`),
			want:    []string{"deployment history: sets OWNER_STATUS_TTL, which the history binary does not read"}},
		{name: "a variable in the container's env the binary does not read",
			patches: jsonPatch("Deployment", "owner", `{op: add, path: `+ownerContainer+`/env/-, value: {name: GRPC_ADRR, value: ":7101"}}`),
			want:    []string{"deployment owner: sets GRPC_ADRR, which the owner binary does not read"}},
		{name: "no client certificate towards the owner service",
			patches: jsonPatch("ConfigMap", "consent-config", `{op: remove, path: /data/OWNER_TLS_CERT_FILE}`, `{op: remove, path: /data/OWNER_TLS_KEY_FILE}`),
			want: []string{
				"deployment consent: calls owner (OWNER_GRPC_TARGET), which requires a client certificate (TLS_CLIENT_AUTH=require), without OWNER_TLS_CERT_FILE",
				"deployment consent: calls owner (OWNER_GRPC_TARGET), which requires a client certificate (TLS_CLIENT_AUTH=require), without OWNER_TLS_KEY_FILE",
			}},
		{name: "no CA towards the history service",
			patches: jsonPatch("ConfigMap", "disclosure-config", `{op: remove, path: /data/HISTORY_TLS_CA_FILE}`),
			want:    []string{"deployment disclosure: calls history (HISTORY_GRPC_TARGET), which requires a client certificate (TLS_CLIENT_AUTH=require), without HISTORY_TLS_CA_FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := renderMutated(t, tt.patches, nil)
			if err != nil {
				t.Fatal(err)
			}
			expectAll(t, validate.CheckWiring(validate.KubernetesStack(objs), vars), tt.want)
		})
	}
}

// TestOverlaysWiring checks the overlays' wiring, where the Services have a
// namespace and the certificates its names.
func TestOverlaysWiring(t *testing.T) {
	vars := binaryVariables(t)
	for _, ov := range []string{"dev", "prod"} {
		t.Run(ov, func(t *testing.T) {
			objs, err := validate.Render(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(t), "deploy", "k8s", "overlays", ov))
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.CheckWiring(validate.KubernetesStack(objs), vars); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// expectAll fails unless err is nil (want empty) or mentions every want.
func expectAll(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		expect(t, err, "")
	}
	for _, w := range want {
		expect(t, err, w)
	}
}
