package validate

import (
	"net"
	"strings"
	"testing"
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
		{"owner:7101", false},
	} {
		host, _, err := net.SplitHostPort(tc.listen)
		if err != nil {
			t.Fatalf("%s: %v", tc.listen, err)
		}
		if got := isLoopback(host); got != tc.want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, tc.want)
		}
	}
}

// FuzzIsLoopback: any host is judged without regard to ASCII case, as the resolver
// reads /etc/hosts and as IPv6 addresses are written, and an IP address without a zone
// is loopback exactly when net.IP says so.
func FuzzIsLoopback(f *testing.F) {
	for _, h := range []string{"localhost.", "ip6-loopback", "127.0.0.1", "::1", "::ffff:127.0.0.1", "::1%lo", "owner", ""} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		got := isLoopback(host)
		if upper := isLoopback(strings.Map(asciiUpper, host)); upper != got {
			t.Fatalf("isLoopback(%q) = %v but %v in capitals", host, got, upper)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() != got {
			t.Fatalf("isLoopback(%q) = %v, net.IP says %v", host, got, ip.IsLoopback())
		}
	})
}

func asciiUpper(r rune) rune {
	if 'a' <= r && r <= 'z' {
		return r - 'a' + 'A'
	}
	return r
}
