package validate

import (
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lillvet/register/deploy/validate/composesetup"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/netaddr"
)

// Workload is a deployed binary as the wiring checks see it, whether a compose
// service or a Kubernetes Deployment.
type Workload struct {
	// Name is the compose service or Deployment, which is named after its binary.
	Name string
	// Env is its environment as far as the deployment files tell.
	Env map[string]string
	// Probes are its health checks' commands.
	Probes [][]string
	// CertNames are the DNS names its certificate is issued for.
	CertNames []string
	// Served are the ports its deployment makes reach its container from outside it:
	// a Kubernetes Service's, a compose published port, an HTTP or TCP probe.
	Served []ServedPort
}

// ServedPort is a way into a workload's container.
type ServedPort struct {
	// By names it in messages: "service gateway port 8443".
	By string
	// Container is the container port it reaches; empty when it reaches none.
	Container string
}

// Stack is one deployment's workloads and how a client's target reaches them.
type Stack struct {
	// Kind names the deployment in messages: "compose service", "deployment".
	Kind      string
	Workloads []Workload
	// Resolve maps a target's host and port to the workload it reaches and the
	// port it reaches in the workload's container.
	Resolve func(host, port string) (workload, containerPort string, err error)
}

// otelPrefix marks the standard OpenTelemetry variables, which the SDK reads.
const otelPrefix = "OTEL_"

// The variables the binaries listen on: the services' gRPC address, the gateway's
// HTTPS one, and every binary's metrics endpoint.
const (
	grpcAddr    = "GRPC_ADDR"
	gatewayAddr = "GATEWAY_ADDR"
	metricsAddr = "METRICS_ADDR"
)

// clientAuthRequire is the server setting that refuses callers without a certificate.
const clientAuthRequire = "require"

// CheckWiring checks the stack's workloads against the variables their binaries
// read (binaries maps a workload's name to them; config.Variables lists them):
// every variable set is one the binary reads, every variable it needs is set,
// the health checks ask the port GRPC_ADDR listens on under a name of the
// certificate, every port the deployment serves reaches the port the binary
// listens on (GRPC_ADDR or GATEWAY_ADDR, or METRICS_ADDR), and every peer's target
// reaches that peer's GRPC_ADDR under a name of its certificate, with the client
// certificate the peer requires.
func CheckWiring(s Stack, binaries map[string][]config.Variable) error {
	var errs []error
	byName := map[string]Workload{}
	for _, w := range s.Workloads {
		byName[w.Name] = w
	}
	for _, w := range s.Workloads {
		vars, ok := binaries[w.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s %s runs no binary the checks know", s.Kind, w.Name))
			continue
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s %s: "+format, append([]any{s.Kind, w.Name}, args...)...))
		}
		for _, err := range checkVariables(w, vars) {
			fail("%w", err)
		}
		for _, err := range checkProbes(w, vars) {
			fail("%w", err)
		}
		for _, err := range checkServed(w, vars) {
			fail("%w", err)
		}
		for _, v := range vars {
			if v.Peer {
				for _, err := range checkPeer(s, byName, binaries, w, v) {
					fail("%w", err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkVariables: every variable w sets is read by its binary (or is the file
// of one, an OTEL_ one, or one another of its variables refers to as $(NAME)),
// and every variable the binary needs is set.
func checkVariables(w Workload, vars []config.Variable) []error {
	var errs []error
	known := map[string]bool{}
	for _, v := range vars {
		known[v.Name] = true
		if v.FromFile {
			known[v.Name+"_FILE"] = true
		}
	}
	for _, k := range sortedKeys(w.Env) {
		if known[k] || strings.HasPrefix(k, otelPrefix) || referenced(w.Env, k) {
			continue
		}
		errs = append(errs, fmt.Errorf("sets %s, which the %s binary does not read: remove it or fix its name", k, w.Name))
	}
	for _, v := range vars {
		if !v.Required && !v.Deployed {
			continue
		}
		if _, ok := w.Env[v.Name]; ok {
			continue
		}
		if _, ok := w.Env[v.Name+"_FILE"]; ok && v.FromFile {
			continue
		}
		why := "the binary refuses to start without it"
		if v.Deployed {
			why = "a deployment must set it (the binary's config tags it deploy:\"required\")"
		}
		errs = append(errs, fmt.Errorf("does not set %s: %s", v.Name, why))
	}
	return errs
}

// referenced reports whether another variable of env refers to name as
// $(name), which Kubernetes expands.
func referenced(env map[string]string, name string) bool {
	for k, v := range env {
		if k != name && strings.Contains(v, "$("+name+")") {
			return true
		}
	}
	return false
}

// checkProbes: a health check with grpc_health_probe asks the port GRPC_ADDR
// listens on, under a name of the workload's certificate.
func checkProbes(w Workload, vars []config.Variable) []error {
	listen, reads := value(w, vars, grpcAddr)
	if !reads {
		return nil
	}
	_, want, err := net.SplitHostPort(listen)
	if err != nil {
		return []error{fmt.Errorf("%s=%s is not HOST:PORT", grpcAddr, listen)}
	}
	var errs []error
	for _, p := range w.Probes {
		args := probeArgs(p)
		if args == nil {
			continue
		}
		if addr, ok := args["addr"]; ok {
			if _, port, err := net.SplitHostPort(addr); err != nil || port != want {
				errs = append(errs, fmt.Errorf("health check asks %s, but %s=%s listens on port %s", addr, grpcAddr, listen, want))
			}
		}
		if name, ok := args["tls-server-name"]; ok && !slices.Contains(w.CertNames, name) {
			errs = append(errs, fmt.Errorf("health check expects -tls-server-name=%s, which its certificate is not issued for (%s)", name, strings.Join(w.CertNames, ", ")))
		}
	}
	return errs
}

// checkServed: every port the deployment serves w on reaches the port its binary
// listens on, GRPC_ADDR for a service and GATEWAY_ADDR for the gateway, or its
// METRICS_ADDR, on an address other than loopback, which nothing outside the
// container's network namespace connects to. Nothing dials the gateway by a variable, so this is what ties the
// gateway's Service and published port to GATEWAY_ADDR, as checkPeer ties a target to
// its peer's GRPC_ADDR.
func checkServed(w Workload, vars []config.Variable) []error {
	name := grpcAddr
	listen, reads := value(w, vars, name)
	if !reads {
		name = gatewayAddr
		if listen, reads = value(w, vars, name); !reads {
			return nil
		}
	}
	host, want, err := net.SplitHostPort(listen)
	if err != nil {
		// checkProbes says so for GRPC_ADDR.
		if name == grpcAddr {
			return nil
		}
		return []error{fmt.Errorf("%s=%s is not HOST:PORT", name, listen)}
	}
	metrics, _ := value(w, vars, metricsAddr)
	metricsHost, metricsPort, _ := net.SplitHostPort(metrics)
	var errs []error
	for _, p := range w.Served {
		switch p.Container {
		// Before the ports: without METRICS_ADDR, metricsPort is "" too.
		case "":
			errs = append(errs, fmt.Errorf("%s reaches no port of the container, and %s=%s listens on port %s", p.By, name, listen, want))
		case want:
			if netaddr.IsLoopback(host) {
				errs = append(errs, fmt.Errorf("%s reaches port %s, but %s=%s listens on loopback, which it cannot reach", p.By, want, name, listen))
			}
		case metricsPort:
			if netaddr.IsLoopback(metricsHost) {
				errs = append(errs, fmt.Errorf("%s reaches port %s, but %s=%s listens on loopback, which it cannot reach", p.By, metricsPort, metricsAddr, metrics))
			}
		default:
			errs = append(errs, fmt.Errorf("%s reaches port %s, but %s=%s listens on port %s", p.By, p.Container, name, listen, want))
		}
	}
	return errs
}

// probeArgs maps the -name=value flags of a grpc_health_probe command (after
// compose's CMD) to their values; nil for another command.
func probeArgs(cmd []string) map[string]string {
	if len(cmd) > 0 && (cmd[0] == "CMD" || cmd[0] == "CMD-SHELL") {
		cmd = cmd[1:]
	}
	if len(cmd) == 0 || path.Base(cmd[0]) != healthProbeBinary {
		return nil
	}
	args := map[string]string{}
	for _, a := range cmd[1:] {
		k, v, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		args[k] = v
	}
	return args
}

// checkPeer: the target of peer variable v reaches a workload whose GRPC_ADDR
// listens on the port reached, under a name of its certificate, and w presents
// a client certificate and trusts a CA when the peer requires client
// certificates.
func checkPeer(s Stack, byName map[string]Workload, binaries map[string][]config.Variable, w Workload, v config.Variable) []error {
	target, _ := value(w, binaries[w.Name], v.Name)
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return []error{fmt.Errorf("%s=%s is not HOST:PORT", v.Name, target)}
	}
	name, containerPort, err := s.Resolve(host, port)
	if err != nil {
		return []error{fmt.Errorf("%s=%s: %w", v.Name, target, err)}
	}
	peer, ok := byName[name]
	if !ok {
		return []error{fmt.Errorf("%s=%s reaches %s, which is not deployed", v.Name, target, name)}
	}
	var errs []error
	listen, _ := value(peer, binaries[peer.Name], grpcAddr)
	if peerHost, want, err := net.SplitHostPort(listen); err == nil {
		switch {
		case want != containerPort:
			errs = append(errs, fmt.Errorf("%s=%s reaches %s on port %s, but %s's %s=%s listens on port %s", v.Name, target, peer.Name, containerPort, peer.Name, grpcAddr, listen, want))
		case netaddr.IsLoopback(peerHost):
			errs = append(errs, fmt.Errorf("%s=%s reaches %s, but %s's %s=%s listens on loopback, which only %s itself can reach", v.Name, target, peer.Name, peer.Name, grpcAddr, listen, peer.Name))
		}
	}
	if !slices.Contains(peer.CertNames, host) {
		errs = append(errs, fmt.Errorf("%s=%s dials %s as %s, which its certificate is not issued for (%s)", v.Name, target, peer.Name, host, strings.Join(peer.CertNames, ", ")))
	}
	if peer.Env["TLS_CLIENT_AUTH"] == clientAuthRequire {
		for _, f := range []string{"TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"} {
			if w.Env[v.PeerTLS+f] == "" {
				errs = append(errs, fmt.Errorf("calls %s (%s), which requires a client certificate (TLS_CLIENT_AUTH=%s), without %s%s", peer.Name, v.Name, clientAuthRequire, v.PeerTLS, f))
			}
		}
	}
	return errs
}

// value is the variable's value in w, or its default; reads says whether the
// binary reads it at all.
func value(w Workload, vars []config.Variable, name string) (v string, reads bool) {
	for _, variable := range vars {
		if variable.Name != name {
			continue
		}
		if set, ok := w.Env[name]; ok {
			return set, true
		}
		return variable.Default, true
	}
	return "", false
}

// ComposeStack is the wiring of the compose services built from the repository:
// a target's host is a compose service, its port the container's. The
// certificate of a service is the one compose-setup issues for the folder under
// certs/ its TLS_CERT_FILE comes from, valid for composesetup.DNSNames of it
// when hosts (compose-setup's -hosts) lists it.
func ComposeStack(c Compose, hosts []string) Stack {
	s := Stack{Kind: "compose service"}
	for _, name := range sortedKeys(c.Services) {
		svc := c.Services[name]
		if svc.Build.Context == "" {
			continue
		}
		w := Workload{Name: name, Env: svc.Environment}
		if svc.Healthcheck != nil {
			w.Probes = [][]string{svc.Healthcheck.Test}
		}
		for _, p := range svc.Ports {
			w.Served = append(w.Served, ServedPort{By: "published port " + p, Container: publishedPort(p)})
		}
		if file, ok := c.FileSource(svc, svc.Environment["TLS_CERT_FILE"]); ok {
			if host := path.Base(path.Dir(file)); path.Dir(path.Dir(file)) == "certs" && slices.Contains(hosts, host) {
				w.CertNames = composesetup.DNSNames(host)
			}
		}
		s.Workloads = append(s.Workloads, w)
	}
	s.Resolve = func(host, port string) (string, string, error) {
		for _, name := range sortedKeys(c.Services) {
			if name == host || c.Services[name].Hostname == host {
				return name, port, nil
			}
		}
		return "", "", fmt.Errorf("%s is no compose service", host)
	}
	return s
}

// publishedPort is the container port of a compose port in the short syntax,
// [HOST:]CONTAINER[/PROTOCOL], HOST an address and port or a port.
func publishedPort(p string) string {
	p, _, _ = strings.Cut(p, "/")
	if i := strings.LastIndex(p, ":"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// KubernetesStack is the wiring of the rendered Deployments: a target's host is
// a Service (alone or followed by its namespace and svc), its port one of the
// Service's, which reaches the container port its targetPort names. The
// certificate of a workload is issued, as docs/OPERATIONS.md has every
// Certificate issued, for each Service selecting its pods: the Service's name
// and <name>.<namespace>.svc.
func KubernetesStack(o Objects) Stack {
	s := Stack{Kind: "deployment"}
	for i := range o.Deployments {
		d := &o.Deployments[i]
		c := mainContainer(d)
		if c == nil {
			continue
		}
		w := Workload{Name: d.Name, Env: containerEnv(o, *c)}
		probes := []struct {
			kind  string
			probe *corev1.Probe
		}{{"startup", c.StartupProbe}, {"readiness", c.ReadinessProbe}, {"liveness", c.LivenessProbe}}
		for _, p := range probes {
			switch {
			case p.probe == nil:
			case p.probe.Exec != nil:
				w.Probes = append(w.Probes, p.probe.Exec.Command)
			case p.probe.HTTPGet != nil:
				w.Served = append(w.Served, ServedPort{By: p.kind + " probe", Container: containerPort(c, p.probe.HTTPGet.Port)})
			case p.probe.TCPSocket != nil:
				w.Served = append(w.Served, ServedPort{By: p.kind + " probe", Container: containerPort(c, p.probe.TCPSocket.Port)})
			}
		}
		for _, svc := range servicesOf(o, d) {
			w.CertNames = append(w.CertNames, svc.Name)
			if svc.Namespace != "" {
				w.CertNames = append(w.CertNames, svc.Name+"."+svc.Namespace+".svc")
			}
			for _, sp := range svc.Spec.Ports {
				target, _ := targetPort(d, sp)
				w.Served = append(w.Served, ServedPort{By: fmt.Sprintf("service %s port %d", svc.Name, sp.Port), Container: target})
			}
		}
		s.Workloads = append(s.Workloads, w)
	}
	s.Resolve = func(host, port string) (string, string, error) {
		name, _, _ := strings.Cut(host, ".")
		for i := range o.Services {
			svc := &o.Services[i]
			if svc.Name != name {
				continue
			}
			for _, sp := range svc.Spec.Ports {
				if fmt.Sprint(sp.Port) != port {
					continue
				}
				for j := range o.Deployments {
					d := &o.Deployments[j]
					if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
						continue
					}
					if target, ok := targetPort(d, sp); ok {
						return d.Name, target, nil
					}
					return "", "", fmt.Errorf("service %s port %d targets %s, which deployment %s does not expose", svc.Name, sp.Port, sp.TargetPort.String(), d.Name)
				}
				return "", "", fmt.Errorf("service %s selects no Deployment", svc.Name)
			}
			return "", "", fmt.Errorf("service %s serves no port %s", svc.Name, port)
		}
		return "", "", fmt.Errorf("%s is no service", name)
	}
	return s
}

// mainContainer is the Deployment's container named after it, or its only one.
func mainContainer(d *appsv1.Deployment) *corev1.Container {
	cs := d.Spec.Template.Spec.Containers
	for i := range cs {
		if cs[i].Name == d.Name {
			return &cs[i]
		}
	}
	if len(cs) == 1 {
		return &cs[0]
	}
	return nil
}

// servicesOf lists the Services selecting the Deployment's pods.
func servicesOf(o Objects, d *appsv1.Deployment) []corev1.Service {
	var out []corev1.Service
	for _, s := range o.Services {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, s)
		}
	}
	return out
}

// containerPort is the port a probe's port (a number or a name of c's ports) reaches
// in c; empty for a name c does not have.
func containerPort(c *corev1.Container, port intstr.IntOrString) string {
	if port.Type != intstr.String {
		return fmt.Sprint(port.IntVal)
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return fmt.Sprint(p.ContainerPort)
		}
	}
	return ""
}

// targetPort is the container port of the Deployment that the Service port
// reaches: its targetPort by number or by name, or its own port without one.
func targetPort(d *appsv1.Deployment, sp corev1.ServicePort) (string, bool) {
	switch {
	case sp.TargetPort.Type == intstr.String:
		cs := d.Spec.Template.Spec.Containers
		for i := range cs {
			if port := containerPort(&cs[i], sp.TargetPort); port != "" {
				return port, true
			}
		}
		return "", false
	case sp.TargetPort.IntVal == 0:
		return fmt.Sprint(sp.Port), true
	default:
		return fmt.Sprint(sp.TargetPort.IntVal), true
	}
}
