package validate_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/lillvet/register/deploy/validate"
)

// renderMutated renders the real base with the given kustomize patches (and
// extra resource files) applied, in memory: each case below breaks one rule
// of a known-good set of manifests.
func renderMutated(t *testing.T, patches string, extra map[string]string) (validate.Objects, error) {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	base := os.DirFS(filepath.Join(repoRoot(t), "deploy", "k8s", "base"))
	err := fs.WalkDir(base, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(base, p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/base", p), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\n"
	for name, content := range extra {
		k += "  - " + name + "\n"
		if err := mem.WriteFile("/case/"+name, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	k += "images:\n  - {name: lillvet/owner, newTag: test}\n  - {name: lillvet/consent, newTag: test}\n  - {name: lillvet/disclosure, newTag: test}\n  - {name: lillvet/history, newTag: test}\n  - {name: lillvet/gateway, newTag: test}\n"
	if patches != "" {
		k += "patches:\n" + patches
	}
	if err := mem.WriteFile("/case/kustomization.yaml", []byte(k)); err != nil {
		t.Fatal(err)
	}
	return validate.Render(mem, "/case")
}

// jsonPatch is a kustomize patch of one object with JSON 6902 operations.
func jsonPatch(kind, name string, ops ...string) string {
	p := "  - target: {kind: " + kind + ", name: " + name + "}\n    patch: |-\n"
	for _, op := range ops {
		p += "      - " + op + "\n"
	}
	return p
}

const ownerContainer = "/spec/template/spec/containers/0"

func TestCheckWorkloads(t *testing.T) {
	tests := []struct {
		name    string
		patches string
		extra   map[string]string
		want    string
	}{
		{name: "the base as it is"},
		{name: "no readiness probe", want: "has no readinessProbe",
			patches: jsonPatch("Deployment", "owner", `{op: remove, path: `+ownerContainer+`/readinessProbe}`)},
		{name: "no liveness probe", want: "has no livenessProbe",
			patches: jsonPatch("Deployment", "gateway", `{op: remove, path: `+ownerContainer+`/livenessProbe}`)},
		{name: "gRPC container probed over HTTP", want: "must ask the gRPC health service",
			patches: jsonPatch("Deployment", "owner", `{op: replace, path: `+ownerContainer+`/livenessProbe, value: {httpGet: {path: /, port: 9090}}}`)},
		{name: "the kubelet's gRPC probe is accepted",
			patches: jsonPatch("Deployment", "owner", `{op: replace, path: `+ownerContainer+`/livenessProbe, value: {grpc: {port: 7101}}}`)},
		{name: "no memory limit", want: "has no memory limit",
			patches: jsonPatch("Deployment", "owner", `{op: remove, path: `+ownerContainer+`/resources/limits/memory}`)},
		{name: "no cpu request", want: "has no cpu request",
			patches: jsonPatch("Deployment", "gateway", `{op: remove, path: `+ownerContainer+`/resources/requests/cpu}`)},
		{name: "request above limit", want: "requests more memory than its limit",
			patches: jsonPatch("Deployment", "owner", `{op: replace, path: `+ownerContainer+`/resources/requests/memory, value: 2Gi}`)},
		{name: "root allowed", want: "may run as root",
			patches: jsonPatch("Deployment", "owner", `{op: replace, path: `+ownerContainer+`/securityContext/runAsNonRoot, value: false}`)},
		{name: "privilege escalation", want: "allows privilege escalation",
			patches: jsonPatch("Deployment", "owner", `{op: replace, path: `+ownerContainer+`/securityContext/allowPrivilegeEscalation, value: true}`)},
		{name: "writable root filesystem", want: "writable root filesystem",
			patches: jsonPatch("Deployment", "gateway", `{op: remove, path: `+ownerContainer+`/securityContext/readOnlyRootFilesystem}`)},
		{name: "added capability", want: "must drop ALL capabilities",
			patches: jsonPatch("Deployment", "owner", `{op: add, path: `+ownerContainer+`/securityContext/capabilities/add, value: [NET_ADMIN]}`)},
		{name: "unconfined seccomp", want: "RuntimeDefault seccomp",
			patches: jsonPatch("Deployment", "owner", `{op: replace, path: `+ownerContainer+`/securityContext/seccompProfile/type, value: Unconfined}`)},
		{name: "latest image", want: "no tag or digest",
			patches: jsonPatch("Deployment", "owner", `{op: replace, path: `+ownerContainer+`/image, value: "registry.example/owner:latest"}`)},
		{name: "key as a literal", want: "takes IDENTITY_KEYS from somewhere other than a Secret",
			patches: jsonPatch("Deployment", "owner", `{op: replace, path: `+ownerContainer+`/env/0, value: {name: IDENTITY_KEYS, value: "k1:AAAA"}}`)},
		{name: "key file outside a Secret", want: "reads IDENTITY_KEYS_FILE from /tmp/keys, which is no file of a Secret it mounts",
			patches: jsonPatch("ConfigMap", "owner-config", `{op: replace, path: /data/IDENTITY_KEYS_FILE, value: /tmp/keys}`)},
		{name: "key file the Secret's items leave out", want: "reads BLIND_INDEX_KEY_FILE from /var/run/secrets/lillvet/identity/PAGE_KEY",
			patches: jsonPatch("ConfigMap", "owner-config", `{op: replace, path: /data/BLIND_INDEX_KEY_FILE, value: /var/run/secrets/lillvet/identity/PAGE_KEY}`)},
		{name: "a whole Secret in the environment beside key files", want: "takes Secret owner-identity-keys whole into its environment",
			patches: jsonPatch("Deployment", "owner", `{op: add, path: `+ownerContainer+`/envFrom/-, value: {secretRef: {name: owner-identity-keys}}}`)},
		{name: "request digest key file outside a Secret", want: "reads REQUEST_DIGEST_KEY_FILE from /tmp/key, which is no file of a Secret it mounts",
			patches: jsonPatch("ConfigMap", "history-config", `{op: replace, path: /data/REQUEST_DIGEST_KEY_FILE, value: /tmp/key}`)},
		{name: "erasure job token outside a Secret", want: "reads its job's token from DISCLOSURE_JOB_TOKEN_FILE=/tmp/token, which is no file of a Secret it mounts",
			patches: jsonPatch("ConfigMap", "disclosure-config", `{op: replace, path: /data/DISCLOSURE_JOB_TOKEN_FILE, value: /tmp/token}`)},
		{name: "name retention job token outside a Secret", want: "reads its job's token from NAME_RETENTION_JOB_TOKEN_FILE=/var/run/secrets/lillvet/name/token, which is no file of a Secret it mounts",
			patches: jsonPatch("ConfigMap", "history-config", `{op: replace, path: /data/NAME_RETENTION_JOB_TOKEN_FILE, value: /var/run/secrets/lillvet/name/token}`)},
		{name: "URI file out of the mount", want: "reads MONGO_URI_FILE from /var/run/secrets/lillvet/mongodb/../MONGO_URI",
			patches: jsonPatch("ConfigMap", "history-config", `{op: replace, path: /data/MONGO_URI_FILE, value: /var/run/secrets/lillvet/mongodb/../MONGO_URI}`)},
		{name: "both a key and its file", want: "sets both MONGO_URI and MONGO_URI_FILE",
			patches: jsonPatch("Deployment", "consent", `{op: add, path: `+ownerContainer+`/env/0, value: {name: MONGO_URI, valueFrom: {secretKeyRef: {name: consent-mongodb, key: MONGO_URI}}}}`)},
		{name: "key in a ConfigMap", want: "holds BLIND_INDEX_KEY",
			patches: jsonPatch("ConfigMap", "owner-config", `{op: add, path: /data/BLIND_INDEX_KEY, value: AAAA}`)},
		{name: "no token issuer", want: "sets AUTH_JWKS_URL but not AUTH_ISSUER",
			patches: jsonPatch("ConfigMap", "owner-config", `{op: remove, path: /data/AUTH_ISSUER}`)},
		{name: "development issuer", want: "expects tokens of the development issuer",
			patches: jsonPatch("ConfigMap", "gateway-config", `{op: replace, path: /data/AUTH_ISSUER, value: lillvet-dev-issuer}`)},
		{name: "committed Secret", want: "is committed",
			extra: map[string]string{"leaked.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: leaked}\n"}},
		{name: "replicas beside an autoscaler", want: "sets replicas",
			patches: jsonPatch("Deployment", "owner", `{op: add, path: /spec/replicas, value: 3}`)},
		{name: "service account token", want: "mounts a service account token",
			patches: jsonPatch("Deployment", "gateway", `{op: replace, path: /spec/template/spec/automountServiceAccountToken, value: true}`)},
		{name: "no autoscaler", want: "has 0 HorizontalPodAutoscalers",
			patches: "  - patch: |-\n      apiVersion: autoscaling/v2\n      kind: HorizontalPodAutoscaler\n      metadata: {name: owner}\n      $patch: delete\n"},
		{name: "service to a missing port", want: "does not expose",
			patches: jsonPatch("Service", "owner", `{op: replace, path: /spec/ports/0/targetPort, value: rpc}`)},
		{name: "misspelt field", want: "unknown field",
			patches: jsonPatch("Deployment", "owner", `{op: add, path: `+ownerContainer+`/readinesProbe, value: {tcpSocket: {port: 7101}}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := renderMutated(t, tt.patches, tt.extra)
			if err == nil {
				err = validate.CheckWorkloads(objs)
			}
			expect(t, err, tt.want)
		})
	}
}

func TestCheckNetworkPolicies(t *testing.T) {
	const toGateway = `{podSelector: {matchLabels: {app.kubernetes.io/name: gateway}}}`
	tests := []struct {
		name    string
		patches string
		want    string
	}{
		{name: "the base as it is"},
		{name: "no default deny", want: "no default-deny",
			patches: "  - patch: |-\n      apiVersion: networking.k8s.io/v1\n      kind: NetworkPolicy\n      metadata: {name: default-deny}\n      $patch: delete\n"},
		{name: "an edge the graph lacks", want: "allows owner → gateway, which is not an edge",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: add, path: /spec/egress/-, value: {to: [`+toGateway+`], ports: [{port: 8443}]}}`)},
		{name: "ingress from anywhere", want: "allows every source",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: add, path: /spec/ingress/-, value: {ports: [{port: 7101}]}}`)},
		{name: "every port", want: "opens every port of owner",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: remove, path: /spec/ingress/0/ports}`)},
		{name: "a port the destination does not serve", want: "which owner does not serve",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: replace, path: /spec/ingress/0/ports/0/port, value: 27017}`)},
		{name: "an address block", want: "ipBlock",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: add, path: /spec/egress/-, value: {to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: 443}]}}`)},
		{name: "the whole namespace", want: "every pod of the namespace",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: replace, path: /spec/ingress/0/from/0, value: {podSelector: {}}}`)},
		{name: "every pod of another namespace", want: "every pod of namespace identity",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: remove, path: /spec/egress/1/to/0/podSelector}`)},
		{name: "an unknown peer", want: "which the call graph does not know",
			patches: jsonPatch("NetworkPolicy", "gateway", `{op: replace, path: /spec/egress/0/to/0, value: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: elsewhere}}, podSelector: {matchLabels: {app: x}}}}`)},
		{name: "an edge not allowed out", want: "gateway → owner of the call graph is not allowed out of gateway",
			patches: jsonPatch("NetworkPolicy", "gateway", `{op: remove, path: /spec/egress/0}`)},
		{name: "an edge not allowed in", want: "gateway → owner of the call graph is not allowed into owner",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: remove, path: /spec/ingress/0}`)},
		{name: "rules outside the policy types", want: "leave out Egress, so they do nothing",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: replace, path: /spec/policyTypes, value: [Ingress]}`)},
		{name: "a policy for nothing", want: "selects no workload",
			patches: jsonPatch("NetworkPolicy", "owner", `{op: replace, path: /spec/podSelector/matchLabels/app.kubernetes.io~1name, value: nobody}`)},
		{name: "a scrape port missing", want: "9090, which gateway does not serve",
			patches: jsonPatch("Deployment", "gateway", `{op: remove, path: `+ownerContainer+`/ports/1}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := renderMutated(t, tt.patches, nil)
			if err != nil {
				t.Fatal(err)
			}
			expect(t, validate.CheckNetworkPolicies(objs, callGraph()), tt.want)
		})
	}
}

// expect fails unless err is nil (want empty) or mentions want.
func expect(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error:\n%v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one mentioning %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error does not mention %q:\n%v", want, err)
	}
}
