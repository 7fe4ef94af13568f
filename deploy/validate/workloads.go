package validate

import (
	"errors"
	"fmt"
	"path"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// AppLabel names the workload on every pod, Service and policy.
const AppLabel = "app.kubernetes.io/name"

// GRPCPortName marks a container port that serves gRPC; its probes must use
// the standard health service.
const GRPCPortName = "grpc"

// healthProbeBinary is the gRPC health client shipped in the service images.
const healthProbeBinary = "grpc_health_probe"

// sensitiveEnv are the variables that hold secrets: they must come from a
// Secret, never from a literal or a ConfigMap, either in the environment or from
// the file that NAME_FILE names, which must be one of a mounted Secret.
func sensitiveEnv() []string {
	return []string{"IDENTITY_KEYS", "IDENTITY_ACTIVE_KEY", "BLIND_INDEX_KEY", "REQUEST_DIGEST_KEY", "MONGO_URI"}
}

// tokenFileEnv are the variables naming a service's own job's token file, which a
// Secret renewed from outside holds: a path in no mounted Secret is a file that never
// comes, and the job never runs.
func tokenFileEnv() []string {
	return []string{"DISCLOSURE_JOB_TOKEN_FILE", "NAME_RETENTION_JOB_TOKEN_FILE"}
}

// CheckWorkloads checks what every overlay must keep: no Secret in the
// repository, and every Deployment with probes, resource requests and limits,
// a non-root restricted security context, secrets from Secrets (in the
// environment or as mounted files), an autoscaler, a disruption budget and a
// Service.
func CheckWorkloads(o Objects) error {
	var errs []error
	for _, s := range o.Secrets {
		errs = append(errs, fmt.Errorf("secret %s is committed: reference Secrets by name, create them outside the repository", s.Name))
	}
	for _, cm := range o.ConfigMaps {
		for _, name := range sensitiveEnv() {
			if _, ok := cm.Data[name]; ok {
				errs = append(errs, fmt.Errorf("configmap %s holds %s: secrets belong in a Secret", cm.Name, name))
			}
		}
		errs = append(errs, checkTokenIssuer(cm)...)
	}
	for i := range o.Deployments {
		errs = append(errs, checkDeployment(&o.Deployments[i])...)
		errs = append(errs, checkSecretFiles(o, &o.Deployments[i])...)
		errs = append(errs, checkCompanions(o, &o.Deployments[i])...)
	}
	for _, h := range o.HPAs {
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			errs = append(errs, fmt.Errorf("hpa %s: minReplicas must be set, at least 1 and at most maxReplicas", h.Name))
		}
		if !hasDeployment(o, h.Spec.ScaleTargetRef.Name) || h.Spec.ScaleTargetRef.Kind != "Deployment" {
			errs = append(errs, fmt.Errorf("hpa %s scales %s %s, which is not rendered", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name))
		}
	}
	return errors.Join(errs...)
}

// devIssuer is the development token issuer's name, the services' default AUTH_ISSUER.
const devIssuer = "lillvet-dev-issuer"

// checkTokenIssuer: a workload that verifies tokens names the identity provider's issuer
// and audience; left out, the services expect the development issuer's tokens and
// refuse every real one.
func checkTokenIssuer(cm corev1.ConfigMap) []error {
	if _, verifies := cm.Data["AUTH_JWKS_URL"]; !verifies {
		return nil
	}
	var errs []error
	for _, name := range []string{"AUTH_ISSUER", "AUTH_AUDIENCE"} {
		if strings.TrimSpace(cm.Data[name]) == "" {
			errs = append(errs, fmt.Errorf("configmap %s sets AUTH_JWKS_URL but not %s: the development default would refuse every real token", cm.Name, name))
		}
	}
	if cm.Data["AUTH_ISSUER"] == devIssuer {
		errs = append(errs, fmt.Errorf("configmap %s expects tokens of the development issuer", cm.Name))
	}
	return errs
}

func hasDeployment(o Objects, name string) bool {
	for _, d := range o.Deployments {
		if d.Name == name {
			return true
		}
	}
	return false
}

func checkDeployment(d *appsv1.Deployment) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("deployment %s: "+format, append([]any{d.Name}, args...)...))
	}
	pod := d.Spec.Template.Spec
	if d.Spec.Template.Labels[AppLabel] == "" {
		fail("pod template has no %s label", AppLabel)
	}
	if d.Spec.Selector == nil {
		fail("has no selector")
	} else if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		fail("selector does not match its pod template")
	}
	if d.Spec.Replicas != nil {
		fail("sets replicas, which its HorizontalPodAutoscaler owns")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		fail("shares a host namespace")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		fail("mounts a service account token; the services never call the Kubernetes API")
	}
	if len(pod.InitContainers) > 0 || len(pod.EphemeralContainers) > 0 {
		fail("has init or ephemeral containers, which these checks do not cover")
	}
	if len(pod.Containers) == 0 {
		fail("has no containers")
	}
	for i := range pod.Containers {
		for _, err := range checkContainer(pod.SecurityContext, &pod.Containers[i]) {
			fail("container %s: %w", pod.Containers[i].Name, err)
		}
	}
	return errs
}

func checkContainer(podSC *corev1.PodSecurityContext, c *corev1.Container) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := checkImage(c.Image); err != nil {
		errs = append(errs, err)
	}
	grpc := false
	for _, p := range c.Ports {
		grpc = grpc || p.Name == GRPCPortName
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}} {
		switch {
		case p.probe == nil:
			fail("has no %s", p.name)
		case grpc && !isGRPCHealthProbe(p.probe):
			fail("%s of a gRPC container must ask the gRPC health service (grpc: or exec %s)", p.name, healthProbeBinary)
		case !grpc && !hasHandler(p.probe):
			fail("%s has no handler", p.name)
		}
	}

	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		rq, okReq := req[r]
		lm, okLim := lim[r]
		switch {
		case !okReq || rq.IsZero():
			fail("has no %s request", r)
		case !okLim || lm.IsZero():
			fail("has no %s limit", r)
		case rq.Cmp(lm) > 0:
			fail("requests more %s than its limit", r)
		}
	}

	sc := c.SecurityContext
	if sc == nil {
		fail("has no securityContext")
		return errs
	}
	if !nonRoot(podSC, sc) {
		fail("may run as root: set runAsNonRoot")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		fail("allows privilege escalation")
	}
	if sc.Privileged != nil && *sc.Privileged {
		fail("is privileged")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		fail("has a writable root filesystem")
	}
	if sc.Capabilities == nil || !dropsAll(sc.Capabilities.Drop) || len(sc.Capabilities.Add) > 0 {
		fail("must drop ALL capabilities and add none")
	}
	if !runtimeDefaultSeccomp(podSC, sc) {
		fail("has no RuntimeDefault seccomp profile")
	}
	for _, e := range c.Env {
		for _, name := range sensitiveEnv() {
			if e.Name == name && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
				fail("takes %s from somewhere other than a Secret", name)
			}
		}
	}
	return errs
}

// checkSecretFiles: a sensitive variable read from a file (NAME_FILE, set in the
// container's environment or its ConfigMaps) names a file of a Secret the container
// mounts, and the container does not set NAME as well, which the service refuses. A
// whole Secret taken into the environment (envFrom) may set NAME without the
// manifests saying so: such a container reads no variable from a file.
func checkSecretFiles(o Objects, d *appsv1.Deployment) []error {
	var errs []error
	pod := d.Spec.Template.Spec
	for _, c := range pod.Containers {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("deployment %s: container %s: "+format, append([]any{d.Name, c.Name}, args...)...))
		}
		env := containerEnv(o, c)
		for _, name := range sensitiveEnv() {
			file, ok := env[name+"_FILE"]
			if !ok {
				continue
			}
			if secret := secretEnvFrom(c); secret != "" {
				fail("reads %s_FILE but takes Secret %s whole into its environment, which may set %s too", name, secret, name)
			}
			if _, both := env[name]; both {
				fail("sets both %s and %s_FILE, which the service refuses", name, name)
			}
			if !inMountedSecret(pod, c, file) {
				fail("reads %s_FILE from %s, which is no file of a Secret it mounts", name, file)
			}
		}
		for _, name := range tokenFileEnv() {
			if file, ok := env[name]; ok && !inMountedSecret(pod, c, file) {
				fail("reads its job's token from %s=%s, which is no file of a Secret it mounts", name, file)
			}
		}
	}
	return errs
}

// containerEnv is the container's environment as far as the manifests tell: its
// variables (valueFrom ones with an empty value) over its ConfigMaps' data.
func containerEnv(o Objects, c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		for _, cm := range o.ConfigMaps {
			if cm.Name == from.ConfigMapRef.Name {
				for k, v := range cm.Data {
					env[from.Prefix+k] = v
				}
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// secretEnvFrom names a Secret c takes whole into its environment, if any.
func secretEnvFrom(c corev1.Container) string {
	for _, from := range c.EnvFrom {
		if from.SecretRef != nil {
			return from.SecretRef.Name
		}
	}
	return ""
}

// inMountedSecret reports whether file is a file of a Secret volume c mounts whole
// (no subPath): one of the volume's items when it lists them.
func inMountedSecret(pod corev1.PodSpec, c corev1.Container, file string) bool {
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path.Clean(file), strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok || m.SubPath != "" || m.SubPathExpr != "" {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			if len(v.Secret.Items) == 0 {
				return !strings.Contains(rel, "/")
			}
			for _, item := range v.Secret.Items {
				if item.Path == rel {
					return true
				}
			}
		}
	}
	return false
}

func checkImage(image string) error {
	if _, digest, ok := strings.Cut(image, "@"); ok && digest != "" {
		return nil
	}
	tag := ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		tag = image[i+1:]
	}
	if tag == "" || tag == "latest" {
		return fmt.Errorf("image %q has no tag or digest (or is latest): the overlay must pin it", image)
	}
	return nil
}

func hasHandler(p *corev1.Probe) bool {
	h := p.ProbeHandler
	return h.Exec != nil || h.HTTPGet != nil || h.TCPSocket != nil || h.GRPC != nil
}

func isGRPCHealthProbe(p *corev1.Probe) bool {
	if p.GRPC != nil {
		return true
	}
	return p.Exec != nil && len(p.Exec.Command) > 0 && path.Base(p.Exec.Command[0]) == healthProbeBinary
}

func nonRoot(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) bool {
	if c.RunAsNonRoot != nil {
		return *c.RunAsNonRoot
	}
	return pod != nil && pod.RunAsNonRoot != nil && *pod.RunAsNonRoot
}

func runtimeDefaultSeccomp(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) bool {
	if c.SeccompProfile != nil {
		return c.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault
	}
	return pod != nil && pod.SeccompProfile != nil && pod.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault
}

func dropsAll(caps []corev1.Capability) bool {
	for _, c := range caps {
		if c == "ALL" {
			return true
		}
	}
	return false
}

// checkCompanions checks that the Deployment has exactly one autoscaler, one
// disruption budget and at least one Service selecting its pods.
func checkCompanions(o Objects, d *appsv1.Deployment) []error {
	var errs []error
	podLabels := labels.Set(d.Spec.Template.Labels)
	hpas := 0
	for _, h := range o.HPAs {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name {
			hpas++
		}
	}
	if hpas != 1 {
		errs = append(errs, fmt.Errorf("deployment %s has %d HorizontalPodAutoscalers, want 1", d.Name, hpas))
	}
	pdbs := 0
	for _, p := range o.PDBs {
		if sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(podLabels) {
			pdbs++
		}
	}
	if pdbs != 1 {
		errs = append(errs, fmt.Errorf("deployment %s is covered by %d PodDisruptionBudgets, want 1", d.Name, pdbs))
	}
	services := servicesOf(o, d)
	for i := range services {
		errs = append(errs, checkServicePorts(&services[i], d)...)
	}
	if len(services) == 0 {
		errs = append(errs, fmt.Errorf("deployment %s has no Service", d.Name))
	}
	return errs
}

// checkServicePorts checks that every target port of a Service exists on
// the pods it selects.
func checkServicePorts(s *corev1.Service, d *appsv1.Deployment) []error {
	var errs []error
	for _, sp := range s.Spec.Ports {
		if !containerHasPort(d, sp.TargetPort.String(), sp.Protocol) {
			errs = append(errs, fmt.Errorf("service %s port %s targets %s, which deployment %s does not expose", s.Name, sp.Name, sp.TargetPort.String(), d.Name))
		}
	}
	return errs
}

func containerHasPort(d *appsv1.Deployment, port string, proto corev1.Protocol) bool {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			pp := p.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if pp == proto && (p.Name == port || fmt.Sprint(p.ContainerPort) == port) {
				return true
			}
		}
	}
	return false
}
