// Package netaddr judges listen addresses: whether one is reachable from loopback
// only. The gateway serves plain HTTP only there, the local runner with its
// development keys listens only there, and deploy/validate fails a deployment whose
// peers would connect to a service listening only there; the three must agree.
package netaddr

import (
	"net"
	"net/netip"
	"strings"
)

// IsLoopback reports whether a listen address's host (a name or an IP address,
// without port or brackets) is loopback only. An empty host listens on every
// address. The names are those a container's /etc/hosts gives loopback addresses
// (Docker and the kubelet write "::1 localhost ip6-localhost ip6-loopback"); the
// resolver reads it without regard to ASCII case, and takes a name with a trailing
// dot as the same name. Other letters are not folded: "ip6-loopbac\u212a", with a
// Kelvin sign, is another name. An address may carry a zone (::1%lo) or be an IPv4
// one mapped into IPv6 (::ffff:127.0.0.1).
func IsLoopback(host string) bool {
	switch strings.Map(asciiLower, strings.TrimSuffix(host, ".")) {
	case "localhost", "ip6-localhost", "ip6-loopback":
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// IsLoopbackHostPort reports whether a host:port listens on loopback only, as
// IsLoopback judges its host.
func IsLoopbackHostPort(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && IsLoopback(host)
}

// asciiLower folds A to Z only, unlike strings.ToLower, which also folds letters
// such as the Kelvin sign to ASCII ones.
func asciiLower(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}
