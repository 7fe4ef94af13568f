// Package validate checks the deployment files of deploy/ without a Docker
// engine or a cluster: it renders the kustomize overlays in-process and
// checks the workloads and the network policies against the call graph, and
// it checks the compose file and the Dockerfiles against the repository. In
// both deployments it checks the wiring against the binaries' configuration
// structs (CheckWiring): the variables set and needed, the ports, the health
// checks' and clients' TLS names and the client certificates.
// The tests of this module run those checks on the real files; CI runs them.
package validate
