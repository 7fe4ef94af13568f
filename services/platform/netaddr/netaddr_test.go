package netaddr_test

import (
	"net"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/netaddr"
)

// TestIsLoopback: a listen address is loopback by every spelling a container's
// resolver or Go's address parser takes for it, and by nothing else.
func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen string
		want   bool
	}{
		{"localhost:7101", true},
		{"LocalHost:7101", true},
		{"localhost.:7101", true},
		{"ip6-localhost:7101", true},
		{"IP6-Loopback:7101", true},
		{"ip6-loopback.:7101", true},
		{"127.0.0.1:7101", true},
		{"127.1.2.3:7101", true},
		{"127.255.255.254:7101", true},
		{"[::1]:7101", true},
		{"[0:0:0:0:0:0:0:1]:7101", true},
		{"[::1%lo]:7101", true},
		{"[::ffff:127.0.0.1]:7101", true},
		{"[::FFFF:127.9.9.9]:7101", true},
		{":7101", false},
		{"0.0.0.0:7101", false},
		{"[::]:7101", false},
		{"10.0.0.1:7101", false},
		{"128.0.0.1:7101", false},
		{"[::2]:7101", false},
		{"[fe80::1%eth0]:7101", false},
		{"[::ffff:10.0.0.1]:7101", false},
		{"ip6-localnet:7101", false},
		{"ip6-allnodes:7101", false},
		{"localhost6x:7101", false},
		{"ip6-loopbac\u212a:7101", false}, // a Kelvin sign, which strings.ToLower folds to k
		{"localho\u017ft:7101", false},    // a long s, which strings.EqualFold folds to s
		{"owner:7101", false},
	} {
		host, _, err := net.SplitHostPort(tc.listen)
		if err != nil {
			t.Fatalf("%s: %v", tc.listen, err)
		}
		if got := netaddr.IsLoopback(host); got != tc.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, tc.want)
		}
		if got := netaddr.IsLoopbackHostPort(tc.listen); got != tc.want {
			t.Errorf("IsLoopbackHostPort(%q) = %v, want %v", tc.listen, got, tc.want)
		}
	}
}

// TestIsLoopbackHostPortNeedsAPort: an address that is no host:port is not taken for
// its host.
func TestIsLoopbackHostPortNeedsAPort(t *testing.T) {
	for _, addr := range []string{"", "localhost", "127.0.0.1", "::1", "[::1]", "localhost:1:2"} {
		if netaddr.IsLoopbackHostPort(addr) {
			t.Errorf("IsLoopbackHostPort(%q) = true, want false", addr)
		}
	}
}

// FuzzIsLoopback: any host is judged without regard to ASCII case, as the resolver
// reads /etc/hosts and as IPv6 addresses are written, a name holding anything but
// ASCII is never loopback, an IP address without a zone is loopback exactly when
// net.IP says so, and a host is judged alike with a port.
func FuzzIsLoopback(f *testing.F) {
	for _, h := range []string{"localhost.", "ip6-loopback", "ip6-loopbac\u212a", "127.0.0.1", "::1", "::ffff:127.0.0.1", "::1%lo", "owner", ""} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		got := netaddr.IsLoopback(host)
		if upper := netaddr.IsLoopback(strings.Map(asciiUpper, host)); upper != got {
			t.Fatalf("IsLoopback(%q) = %v but %v in capitals", host, got, upper)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() != got {
			t.Fatalf("IsLoopback(%q) = %v, net.IP says %v", host, got, ip.IsLoopback())
		}
		if got && !strings.Contains(host, "%") && strings.ContainsFunc(host, func(r rune) bool { return r > 0x7f }) {
			t.Fatalf("IsLoopback(%q) = true for a host holding more than ASCII", host)
		}
		// SplitHostPort takes no brackets within a host, zone or not.
		if hp := net.JoinHostPort(host, "80"); !strings.ContainsAny(host, "[]") && netaddr.IsLoopbackHostPort(hp) != got {
			t.Fatalf("IsLoopbackHostPort(%q) = %v, IsLoopback(%q) = %v", hp, !got, host, got)
		}
	})
}

func asciiUpper(r rune) rune {
	if 'a' <= r && r <= 'z' {
		return r - 'a' + 'A'
	}
	return r
}
