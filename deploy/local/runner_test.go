package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/tlsconf"
)

// TestPrintEndpoints pins what the runner prints once everything is up: the README
// shows it and the end-to-end tests read the gateway line.
func TestPrintEndpoints(t *testing.T) {
	l := map[string]net.Listener{}
	for _, name := range []string{"gateway", "jwks", "owner", "consent", "disclosure", "history",
		"gateway-metrics", "owner-metrics", "consent-metrics", "disclosure-metrics", "history-metrics"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		l[name] = ln
	}
	a := func(name string) string { return l[name].Addr().String() }
	cfg := Config{DataDir: "/data", JaegerQueryAddr: "127.0.0.1:16686"}
	pki := tlsconf.Files{CAFile: "/data/pki/ca.pem"}
	want := "Lillvet register is running on the embedded store (data in /data).\n" +
		"  gateway  https://" + a("gateway") + "  (OpenAPI /openapi.yaml, health /healthz)\n" +
		"  owner    " + a("owner") + "  (gRPC, TLS)\n" +
		"  consent  " + a("consent") + "  (gRPC, TLS)\n" +
		"  disclosure " + a("disclosure") + "  (gRPC, TLS)\n" +
		"  history  " + a("history") + "  (gRPC, TLS)\n" +
		"  jwks     https://" + a("jwks") + "/jwks.json\n" +
		"  metrics  http://" + a("gateway-metrics") + "/metrics (gateway), http://" + a("owner-metrics") + "/metrics (owner), http://" +
		a("consent-metrics") + "/metrics (consent), http://" + a("disclosure-metrics") + "/metrics (disclosure), http://" +
		a("history-metrics") + "/metrics (history)\n" +
		"  CA       /data/pki/ca.pem\n" +
		"  store    mongodb://%2Ftmp%2Fs%2Fstore.sock/  (a Unix socket only this user can reach, for mongosh)\n" +
		"%sGet a token:  go run ./deploy/local token --role reception\n" +
		"Press Ctrl-C to stop.\n"
	for _, tc := range []struct {
		name, jaeger, traces string
	}{
		{"plain", "", ""},
		{"traced", "/bin/jaeger", "  traces   http://127.0.0.1:16686/api/traces?service=gateway (Jaeger query API)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg.Jaeger = tc.jaeger
			var out bytes.Buffer
			if err := printEndpoints(&out, cfg, l, pki, "mongodb://%2Ftmp%2Fs%2Fstore.sock/"); err != nil {
				t.Fatal(err)
			}
			if want := strings.Replace(want, "%s", tc.traces, 1); out.String() != want {
				t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
			}
		})
	}
}

// TestValidateCoversEveryAddress checks that Validate looks at every LILLVET_*_ADDR of
// Config, so that no listener of a new service escapes the loopback rule.
func TestValidateCoversEveryAddress(t *testing.T) {
	var fields []string
	var cfg Config
	v := reflect.ValueOf(&cfg).Elem()
	for i := range v.NumField() {
		if env := v.Type().Field(i).Tag.Get("env"); strings.HasSuffix(env, "_ADDR") {
			fields = append(fields, env)
			v.Field(i).SetString("192.0.2.1:80")
		}
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted addresses off loopback")
	}
	var rejected []string
	for _, line := range strings.Split(err.Error(), "\n") {
		rejected = append(rejected, strings.Fields(line)[0])
	}
	slices.Sort(fields)
	slices.Sort(rejected)
	if !slices.Equal(fields, rejected) {
		t.Errorf("Validate rejected %v, want every address variable %v", rejected, fields)
	}
}

// TestValidateLoopbackSpellings: the runner listens on any spelling of loopback the
// other loopback checks take (netaddr.IsLoopback), and on nothing else.
func TestValidateLoopbackSpellings(t *testing.T) {
	for _, tc := range []struct {
		host  string
		valid bool
	}{
		{"127.0.0.1", true},
		{"localhost", true},
		{"LocalHost.", true},
		{"ip6-localhost", true},
		{"[::1]", true},
		{"[::1%lo]", true},
		{"ip6-loopbac\u212a", false}, // a Kelvin sign
		{"ip6-localnet", false},
		{"", false},
		{"192.0.2.1", false},
	} {
		t.Run(tc.host, func(t *testing.T) {
			var cfg Config
			v := reflect.ValueOf(&cfg).Elem()
			for i := range v.NumField() {
				if strings.HasSuffix(v.Type().Field(i).Tag.Get("env"), "_ADDR") {
					v.Field(i).SetString(tc.host + ":0")
				}
			}
			if err := cfg.Validate(); (err == nil) != tc.valid {
				t.Errorf("Validate() = %v, want valid %v", err, tc.valid)
			}
		})
	}
}

// TestListenRefusesABoundAddressOffLoopback: a listener that bound an address other
// than loopback is closed with the others, whatever name it was given.
func TestListenRefusesABoundAddressOffLoopback(t *testing.T) {
	l, err := listen(map[string]string{"gateway": ":0"})
	if err == nil {
		for _, ln := range l {
			_ = ln.Close()
		}
		t.Fatal("listen took a listener on every address")
	}
	if !strings.Contains(err.Error(), "not loopback") {
		t.Errorf("listen = %v, want a refusal of the bound address", err)
	}
	l, err = listen(map[string]string{"gateway": "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range l {
		_ = ln.Close()
	}
}

// TestDevKeysGainARequestDigestKey: a first start creates every key; an installation
// whose keys file predates the history service's request digest key gets one, written
// back, its identity keys unchanged.
func TestDevKeysGainARequestDigestKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity-keys.json")
	first, err := loadOrCreateKeys(path)
	if err != nil || first.RequestDigestKey == "" || first.BlindIndexKey == "" {
		t.Fatalf("first start: %+v, %v", first, err)
	}
	old := first
	old.RequestDigestKey = ""
	b, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	upgraded, err := loadOrCreateKeys(path)
	if err != nil || upgraded.RequestDigestKey == "" || upgraded.IdentityKeys != old.IdentityKeys || upgraded.BlindIndexKey != old.BlindIndexKey {
		t.Fatalf("upgraded: %+v, %v", upgraded, err)
	}
	if again, err := loadOrCreateKeys(path); err != nil || again != upgraded {
		t.Errorf("the next start read %+v, %v; want the upgraded keys", again, err)
	}
}
