package validate

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// NamespaceNameLabel is the label every namespace carries with its own name;
// a policy names another namespace only through it.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// AnyWorkload as an Edge's From or To stands for every workload of the
// namespace.
const AnyWorkload = "*"

// Edge is one allowed connection of the call graph: From may connect to To.
// Both are workload names (the AppLabel of a Deployment) or Peer names.
type Edge struct {
	From, To string
}

// Port is a port a workload or peer serves.
type Port struct {
	Protocol corev1.Protocol
	Port     int32
}

// Peer is a workload outside the namespace that the call graph names: the
// database, the collector, the cluster DNS, the ingress controller.
type Peer struct {
	Name      string
	Namespace string
	Labels    map[string]string
	// Ports are those it serves; connections to it may use only these.
	Ports []Port
}

// Graph is the allowed call graph the network policies must implement.
type Graph struct {
	Edges []Edge
	Peers []Peer
}

// CheckNetworkPolicies checks the firewall: a default-deny policy covers
// every pod in both directions; every connection a policy allows is an edge
// of the graph, to a port the destination serves; and every edge of the
// graph between rendered workloads is allowed on both ends, so that the
// system still works.
func CheckNetworkPolicies(o Objects, g Graph) error {
	c := policyCheck{graph: g, apps: map[string]*appsv1.Deployment{}, ingress: map[Edge]bool{}, egress: map[Edge]bool{},
		isolated: map[networkingv1.PolicyType]map[string]bool{networkingv1.PolicyTypeIngress: {}, networkingv1.PolicyTypeEgress: {}}}
	for i := range o.Deployments {
		d := &o.Deployments[i]
		c.apps[d.Spec.Template.Labels[AppLabel]] = d
	}
	c.checkDefaultDeny(o.NetworkPolicies)
	for i := range o.NetworkPolicies {
		c.checkPolicy(&o.NetworkPolicies[i])
	}
	c.checkComplete()
	return errors.Join(c.errs...)
}

type policyCheck struct {
	graph Graph
	apps  map[string]*appsv1.Deployment
	// ingress and egress record the edges allowed at the destination and at
	// the source.
	ingress, egress map[Edge]bool
	// isolated records the workloads some policy isolates, per direction.
	isolated map[networkingv1.PolicyType]map[string]bool
	errs     []error
}

func (c *policyCheck) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

func (c *policyCheck) appNames() []string {
	names := make([]string, 0, len(c.apps))
	for n := range c.apps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *policyCheck) peer(name string) (Peer, bool) {
	for _, p := range c.graph.Peers {
		if p.Name == name {
			return p, true
		}
	}
	return Peer{}, false
}

func (c *policyCheck) allowed(from, to string) bool {
	for _, e := range c.graph.Edges {
		if c.matches(e.From, from) && c.matches(e.To, to) {
			return true
		}
	}
	return false
}

// matches reports whether the graph's end (a name or AnyWorkload) stands
// for name.
func (c *policyCheck) matches(end, name string) bool {
	if end == AnyWorkload {
		_, ok := c.apps[name]
		return ok
	}
	return end == name
}

// expand lists the names an end of an edge stands for.
func (c *policyCheck) expand(end string) []string {
	if end == AnyWorkload {
		return c.appNames()
	}
	return []string{end}
}

func (c *policyCheck) checkDefaultDeny(policies []networkingv1.NetworkPolicy) {
	for _, p := range policies {
		types := policyTypes(&p)
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(types, networkingv1.PolicyTypeIngress) && slices.Contains(types, networkingv1.PolicyTypeEgress) &&
			len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0 {
			return
		}
	}
	c.fail("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
}

func policyTypes(p *networkingv1.NetworkPolicy) []networkingv1.PolicyType {
	if len(p.Spec.PolicyTypes) > 0 {
		return p.Spec.PolicyTypes
	}
	// The API server's defaulting: Ingress always, Egress when rules exist.
	types := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(p.Spec.Egress) > 0 {
		types = append(types, networkingv1.PolicyTypeEgress)
	}
	return types
}

func (c *policyCheck) checkPolicy(p *networkingv1.NetworkPolicy) {
	sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	if err != nil {
		c.fail("networkpolicy %s: pod selector: %w", p.Name, err)
		return
	}
	var selected []string
	for _, name := range c.appNames() {
		if sel.Matches(labels.Set(c.apps[name].Spec.Template.Labels)) {
			selected = append(selected, name)
		}
	}
	if len(selected) == 0 {
		c.fail("networkpolicy %s selects no workload", p.Name)
	}
	types := policyTypes(p)
	for _, t := range types {
		for _, name := range selected {
			c.isolated[t][name] = true
		}
	}
	if len(p.Spec.Ingress) > 0 && !slices.Contains(types, networkingv1.PolicyTypeIngress) {
		c.fail("networkpolicy %s has ingress rules but its policyTypes leave out Ingress, so they do nothing", p.Name)
	}
	if len(p.Spec.Egress) > 0 && !slices.Contains(types, networkingv1.PolicyTypeEgress) {
		c.fail("networkpolicy %s has egress rules but its policyTypes leave out Egress, so they do nothing", p.Name)
	}
	for i, rule := range p.Spec.Ingress {
		where := fmt.Sprintf("networkpolicy %s ingress rule %d", p.Name, i+1)
		if len(rule.From) == 0 {
			c.fail("%s allows every source", where)
		}
		sources := c.resolvePeers(where, rule.From)
		for _, dst := range selected {
			c.checkPorts(where, dst, rule.Ports)
			for _, src := range sources {
				c.record(where, Edge{From: src, To: dst}, c.ingress)
			}
		}
	}
	for i, rule := range p.Spec.Egress {
		where := fmt.Sprintf("networkpolicy %s egress rule %d", p.Name, i+1)
		if len(rule.To) == 0 {
			c.fail("%s allows every destination", where)
		}
		destinations := c.resolvePeers(where, rule.To)
		for _, dst := range destinations {
			c.checkPorts(where, dst, rule.Ports)
			for _, src := range selected {
				c.record(where, Edge{From: src, To: dst}, c.egress)
			}
		}
	}
}

func (c *policyCheck) record(where string, e Edge, into map[Edge]bool) {
	if !c.allowed(e.From, e.To) {
		c.fail("%s allows %s → %s, which is not an edge of the call graph", where, e.From, e.To)
		return
	}
	into[e] = true
}

// resolvePeers names the workloads and peers a rule's peers select.
func (c *policyCheck) resolvePeers(where string, peers []networkingv1.NetworkPolicyPeer) []string {
	var names []string
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			c.fail("%s allows an ipBlock, which no edge of the call graph is: select pods", where)
		case p.NamespaceSelector == nil:
			names = append(names, c.resolveLocal(where, p.PodSelector)...)
		default:
			names = append(names, c.resolveRemote(where, p.NamespaceSelector, p.PodSelector)...)
		}
	}
	return names
}

func (c *policyCheck) resolveLocal(where string, podSel *metav1.LabelSelector) []string {
	sel, err := metav1.LabelSelectorAsSelector(podSel)
	if err != nil || podSel == nil || sel.Empty() {
		c.fail("%s selects every pod of the namespace: select workloads by %s", where, AppLabel)
		return nil
	}
	var names []string
	for _, name := range c.appNames() {
		if sel.Matches(labels.Set(c.apps[name].Spec.Template.Labels)) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		c.fail("%s selects no workload of the namespace (%s)", where, sel)
	}
	return names
}

func (c *policyCheck) resolveRemote(where string, nsSel, podSel *metav1.LabelSelector) []string {
	ns := nsSel.MatchLabels[NamespaceNameLabel]
	if ns == "" || len(nsSel.MatchLabels) != 1 || len(nsSel.MatchExpressions) > 0 {
		c.fail("%s must name exactly one namespace by %s", where, NamespaceNameLabel)
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(podSel)
	if err != nil || podSel == nil || sel.Empty() {
		c.fail("%s selects every pod of namespace %s: select the peer's pods", where, ns)
		return nil
	}
	var names []string
	for _, p := range c.graph.Peers {
		if p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		c.fail("%s selects pods %s in namespace %s, which the call graph does not know", where, sel, ns)
	}
	return names
}

// checkPorts checks that every port a rule opens is one the destination
// serves, and that the rule opens no range and no "every port".
func (c *policyCheck) checkPorts(where, dst string, ports []networkingv1.NetworkPolicyPort) {
	if len(ports) == 0 {
		c.fail("%s opens every port of %s: list them", where, dst)
		return
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		switch {
		case p.Port == nil:
			c.fail("%s opens every %s port of %s", where, proto, dst)
		case p.EndPort != nil:
			c.fail("%s opens a port range on %s", where, dst)
		case !c.serves(dst, proto, *p.Port):
			c.fail("%s opens %s/%s, which %s does not serve", where, proto, p.Port.String(), dst)
		}
	}
}

func (c *policyCheck) serves(dst string, proto corev1.Protocol, port intstr.IntOrString) bool {
	if d, ok := c.apps[dst]; ok {
		return containerHasPort(d, port.String(), proto)
	}
	peer, ok := c.peer(dst)
	if !ok || port.Type != intstr.Int {
		return false
	}
	return slices.Contains(peer.Ports, Port{Protocol: proto, Port: port.IntVal})
}

// checkComplete checks that every edge of the graph that touches a rendered
// workload is allowed at each end inside the namespace.
func (c *policyCheck) checkComplete() {
	for _, e := range c.graph.Edges {
		for _, from := range c.expand(e.From) {
			for _, to := range c.expand(e.To) {
				c.checkEdgeAllowed(Edge{From: from, To: to})
			}
		}
	}
	for _, name := range c.appNames() {
		for _, t := range []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress} {
			if !c.isolated[t][name] {
				c.fail("workload %s is selected by no %s NetworkPolicy", name, t)
			}
		}
		covered := false
		for e := range c.ingress {
			covered = covered || e.To == name
		}
		for e := range c.egress {
			covered = covered || e.From == name
		}
		if !covered {
			c.fail("workload %s has no edge allowed by any policy", name)
		}
	}
}

func (c *policyCheck) checkEdgeAllowed(e Edge) {
	_, fromApp := c.apps[e.From]
	_, toApp := c.apps[e.To]
	_, fromPeer := c.peer(e.From)
	_, toPeer := c.peer(e.To)
	if (!fromApp && !fromPeer) || (!toApp && !toPeer) {
		// A workload that is not rendered yet (a service still to come).
		return
	}
	if fromApp && !c.egress[e] {
		c.fail("edge %s → %s of the call graph is not allowed out of %s: add an egress rule", e.From, e.To, e.From)
	}
	if toApp && !c.ingress[e] {
		c.fail("edge %s → %s of the call graph is not allowed into %s: add an ingress rule", e.From, e.To, e.To)
	}
}
