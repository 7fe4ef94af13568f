package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// startTimeout covers the embedded store's first start on a slow machine.
const startTimeout = 2 * time.Minute

// runner is the all-in-one binary started the way the README starts it, on free ports.
type runner struct {
	bin, data string
	gateway   string
	// store is the embedded store's URI as the runner prints it.
	store  string
	client *http.Client
	// stop stops the runner started last, as Ctrl-C does.
	stop func()
}

// builtRunner builds this package once for every test that starts the runner.
var builtRunner = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lillvet-runner-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "lillvet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput() //nolint:gosec // builds this package into its own temp folder
	if err != nil {
		return "", fmt.Errorf("build runner: %w\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := builtRunner(); err == nil {
		_ = os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// startRunner builds the runner, starts it on free ports with a fresh data folder and
// returns it with a REST client that trusts its CA.
func startRunner(t *testing.T) *runner {
	t.Helper()
	bin, err := builtRunner()
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{bin: bin, data: t.TempDir()}
	r.start(t)
	r.client = caClient(t, filepath.Join(r.data, "pki", "ca.pem"))
	return r
}

// env puts the runner's data in the test's folder and every listener on a free port.
func (r *runner) env() []string {
	env := append(os.Environ(), "LILLVET_DATA_DIR="+r.data)
	for name := range (Config{}).listenAddrs() {
		env = append(env, envVar(name)+"=127.0.0.1:0")
	}
	return env
}

// start runs the runner until the test ends (or stop is called) and waits for its
// "gateway" line.
func (r *runner) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(r.bin) //nolint:gosec // the binary this test just built
	cmd.Env = r.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The endpoints are printed at once; the last line ends them.
	type endpoints struct{ gateway, store string }
	printed := make(chan endpoints, 1)
	go func() {
		gateway, store := regexp.MustCompile(`gateway\s+https://(\S+)`), regexp.MustCompile(`store\s+(mongodb://\S+)`)
		var got endpoints
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := gateway.FindStringSubmatch(sc.Text()); m != nil {
				got.gateway = m[1]
			}
			if m := store.FindStringSubmatch(sc.Text()); m != nil {
				got.store = m[1]
			}
			if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
				printed <- got
			}
		}
		close(printed)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runner did not stop cleanly on Ctrl-C: %v\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("runner did not stop within 30 s of Ctrl-C")
		}
	}
	t.Cleanup(stop)
	select {
	case got, ok := <-printed:
		if !ok {
			t.Fatalf("runner exited before it was ready:\n%s", stderr.String())
		}
		r.gateway, r.store = "https://"+got.gateway, got.store
	case <-time.After(startTimeout):
		t.Fatalf("runner not ready after %v:\n%s", startTimeout, stderr.String())
	}
	r.stop = stop
}

// token mints a development token for role with the runner's token command; flags are
// its further flags, such as --recipient.
func (r *runner) token(t *testing.T, role string, flags ...string) string {
	t.Helper()
	cmd := exec.Command(r.bin, append([]string{"token", "--role", role}, flags...)...) //nolint:gosec // the binary this test just built, with the test's own roles
	cmd.Env = r.env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token for %s %v: %v", role, flags, err)
	}
	return strings.TrimSpace(string(out))
}

// caClient is a REST client that trusts the development CA in caFile.
func caClient(tb testing.TB, caFile string) *http.Client {
	tb.Helper()
	pem, err := os.ReadFile(caFile) //nolint:gosec // the test environment's own CA file
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// call sends one request through the gateway.
func (r *runner) call(t *testing.T, method, path, token string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, r.gateway+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (r *runner) expect(t *testing.T, want int, method, path, token string, body any, headers ...string) response {
	t.Helper()
	res := r.call(t, method, path, token, body, headers...)
	if res.status != want {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, res.status, want, res.raw)
	}
	return res
}

// ownerBody is a create-owner request for Aino <family> of the Seinäjoki clinic, with
// identityCode when one is given.
func ownerBody(family, identityCode string) map[string]any {
	body := map[string]any{"owner": map[string]any{
		"givenNames": "Aino", "familyName": family, "phone": "040 123 4567",
		"address":    map[string]any{"street": "Ruukintie 1", "postalCode": "60100", "city": "Seinäjoki"},
		"homeClinic": "CLINIC_SEINAJOKI",
	}}
	if identityCode != "" {
		body["identityCode"] = identityCode
	}
	return body
}

// createOwner creates an owner through the gateway and returns its id.
func (r *runner) createOwner(t *testing.T, token, family, identityCode string) string {
	t.Helper()
	res := r.expect(t, 200, "POST", "/v1/owners", token, ownerBody(family, identityCode))
	id, _ := field(res.body, "owner", "id").(string)
	if id == "" {
		t.Fatalf("create owner: %s", res.raw)
	}
	return id
}

// createTwice posts a create with an Idempotency-Key twice, as a client retrying it
// does, checks that the retry answers with the same object, and returns the first
// answer and the object's id.
func (r *runner) createTwice(t *testing.T, path, token string, body any, key, object string) (response, string) {
	t.Helper()
	first := r.expect(t, 200, "POST", path, token, body, "Idempotency-Key", key)
	id, _ := field(first.body, object, "id").(string)
	if id == "" {
		t.Fatalf("POST %s: no %s id in %s", path, object, first.raw)
	}
	if again := r.expect(t, 200, "POST", path, token, body, "Idempotency-Key", key); field(again.body, object, "id") != id {
		t.Fatalf("a retried POST %s with the same Idempotency-Key made another %s: %s", path, object, again.raw)
	}
	return first, id
}

// expectServing checks that the gateway reports itself and service SERVING and that
// its OpenAPI document has route.
func (r *runner) expectServing(t *testing.T, service, route string) {
	t.Helper()
	if res := r.expect(t, 200, "GET", "/healthz", "", nil); field(res.body, "status") != "SERVING" || field(res.body, "services", service) != "SERVING" {
		t.Fatalf("healthz does not report the %s service serving: %s", service, res.raw)
	}
	if res := r.expect(t, 200, "GET", "/openapi.yaml", "", nil); !bytes.Contains(res.raw, []byte(route)) {
		t.Fatalf("openapi.yaml lacks %s", route)
	}
}

// errorReason is the reason of an error body's ErrorInfo detail; empty without one.
func errorReason(body map[string]any) string {
	details, _ := field(body, "details").([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		if dm["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			reason, _ := dm["reason"].(string)
			return reason
		}
	}
	return ""
}

// violatedFields are the fields the field violations of an error body name.
func violatedFields(body map[string]any) []any {
	details, _ := field(body, "details").([]any)
	var fields []any
	for _, d := range details {
		dm, _ := d.(map[string]any)
		vs, _ := field(dm, "fieldViolations").([]any)
		for _, v := range vs {
			vm, _ := v.(map[string]any)
			fields = append(fields, field(vm, "field"))
		}
	}
	return fields
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// TestEndToEnd starts the runner as the README does and drives the owner API over HTTP.
func TestEndToEnd(t *testing.T) {
	r := startRunner(t)
	reception, billing := r.token(t, "reception"), r.token(t, "billing")

	r.expectServing(t, "owner", "/v1/owners/{ownerId}:revealIdentityCode")
	r.expect(t, 401, "GET", "/v1/owners", "", nil)

	newOwner := ownerBody("Äijälä", "131052-308T")
	created, id := r.createTwice(t, "/v1/owners", reception, newOwner, "e2e-owner-1", "owner")
	if field(created.body, "owner", "identityCodeMasked") != "******-***T" {
		t.Fatalf("create owner: %s", created.raw)
	}
	if dup := r.expect(t, 409, "POST", "/v1/owners", reception, newOwner); errorReason(dup.body) != "IDENTITY_CODE_REGISTERED" {
		t.Fatalf("a second owner with the same identity code: 409 without the reason IDENTITY_CODE_REGISTERED: %s", dup.raw)
	}
	// Another person under the used Idempotency-Key (a namesake, another identity code)
	// is refused on request_id, not answered with the first person's record.
	namesake := ownerBody("Äijälä", "010190-123M")
	namesake["owner"].(map[string]any)["phone"] = "050 765 4321"
	reused := r.expect(t, 400, "POST", "/v1/owners", reception, namesake, "Idempotency-Key", "e2e-owner-1")
	if fields := violatedFields(reused.body); !bytes.Contains(reused.raw, []byte("REQUEST_ID_REUSED")) ||
		!slices.Equal(fields, []any{"request_id"}) || bytes.Contains(reused.raw, []byte(id)) {
		t.Fatalf("another owner under a used Idempotency-Key: %s", reused.raw)
	}

	bad := r.expect(t, 400, "POST", "/v1/owners", reception, map[string]any{"owner": map[string]any{"familyName": "X", "phone": "12"}})
	if !bytes.Contains(bad.raw, []byte("fieldViolations")) || !bytes.Contains(bad.raw, []byte("owner.phone")) {
		t.Fatalf("bad input without field violations: %s", bad.raw)
	}

	got := r.expect(t, 200, "GET", "/v1/owners/"+id, reception, nil)
	if field(got.body, "owner", "phone") != "+358401234567" {
		t.Fatalf("get owner: %s", got.raw)
	}
	// A record that is not there is answered in words written for the client, naming the
	// id asked for and nothing of the service's inside (its calls, its store's wording).
	const unknown = "0190b1b4-0000-7000-8000-00000000abcd"
	if missing := r.expect(t, 404, "GET", "/v1/owners/"+unknown, reception, nil); field(missing.body, "message") != "owner "+unknown+" not found" {
		t.Fatalf("an unknown owner: %s", missing.raw)
	}
	// An identity code typed into the stated purpose (a header) or into a reason (the
	// body) is refused by the service, the field named and the code not repeated.
	for _, tc := range []struct {
		method  string
		body    any
		headers []string
		field   string
	}{
		{"GET", nil, []string{"X-Purpose", "asiakas 131052-308T"}, "purpose"},
		{"GET", nil, []string{"X-Purpose", "Häiriöselvitys, asiakas 131052-308T"}, "purpose"},
		{"PATCH", map[string]any{"owner": map[string]any{"email": "aino@example.fi"}, "updateMask": "email", "version": 1,
			"reason": "asiakas 131052-308T"}, nil, "reason"},
	} {
		res := r.expect(t, 400, tc.method, "/v1/owners/"+id, reception, tc.body, tc.headers...)
		if fields := violatedFields(res.body); len(fields) != 1 || fields[0] != tc.field || bytes.Contains(res.raw, []byte("131052")) {
			t.Fatalf("%s with an identity code in %s: %s", tc.method, tc.field, res.raw)
		}
	}
	// A purpose in Finnish reaches the services (as x-purpose-bin metadata: gRPC text
	// metadata is printable ASCII only), so a maintainer stating one may read.
	r.expect(t, 200, "GET", "/v1/owners/"+id, r.token(t, "maintainer"), nil, "X-Purpose", "Häiriöselvitys, tiketti 42")
	patch := map[string]any{"owner": map[string]any{"email": "aino@example.fi"}, "updateMask": "email", "version": 1, "reason": "customer asked"}
	r.expect(t, 200, "PATCH", "/v1/owners/"+id, reception, patch)
	stale := r.expect(t, 409, "PATCH", "/v1/owners/"+id, reception, patch)
	if errorReason(stale.body) != "VERSION_MISMATCH" {
		t.Fatalf("a stale update's 409 carries no VERSION_MISMATCH reason: %s", stale.raw)
	}
	if want := "version 1 is not the current version of owner " + id + "; read it again"; field(stale.body, "message") != want {
		t.Fatalf("a stale update's 409 says %q, want %q", field(stale.body, "message"), want)
	}

	pet := r.expect(t, 200, "POST", "/v1/owners/"+id+"/patients", reception, map[string]any{
		"patient": map[string]any{"name": "Nappi", "species": "SPECIES_CAT", "microchip": "246098100123456"},
	})
	petID, _ := field(pet.body, "patient", "id").(string)
	number, _ := field(pet.body, "patient", "customerNumber").(string)
	if petID == "" || number == "" {
		t.Fatalf("register patient: %s", pet.raw)
	}
	list := r.expect(t, 200, "GET", "/v1/owners/"+id+"/patients", reception, nil)
	if ps, _ := field(list.body, "patients").([]any); len(ps) != 1 {
		t.Fatalf("owner's patients: %s", list.raw)
	}
	r.expect(t, 200, "GET", "/v1/patients/"+petID, reception, nil)
	search := r.expect(t, 200, "GET", "/v1/owners?name=aija", reception, nil)
	if os, _ := field(search.body, "owners").([]any); len(os) != 1 {
		t.Fatalf("name search: %s", search.raw)
	}
	wrong := number[:len(number)-1] + fmt.Sprint((int(number[len(number)-1]-'0')+1)%10)
	r.expect(t, 400, "GET", "/v1/patients:findByCustomerNumber?customerNumber="+wrong, reception, nil)

	reveal := map[string]any{"purpose": "invoice 2026-7 to collection"}
	r.expect(t, 403, "POST", "/v1/owners/"+id+":revealIdentityCode", reception, reveal)
	code := r.expect(t, 200, "POST", "/v1/owners/"+id+":revealIdentityCode", billing, reveal)
	if field(code.body, "identityCode") != "131052-308T" {
		t.Fatalf("reveal: %s", code.raw)
	}

	huge := map[string]any{"owner": map[string]any{"familyName": strings.Repeat("x", 2<<20)}}
	r.expect(t, 413, "POST", "/v1/owners", reception, huge)

	r.stop()
	// The data folder survives a restart.
	r.start(t)
	r.expect(t, 200, "GET", "/v1/owners/"+id, r.token(t, "reception"), nil)

	// The printed store line is what the README gives mongosh: a driver reaches the data
	// through it.
	owners := embeddedtest.Client(t, r.store).Database("lillvet_owner").Collection("owners")
	if n, err := owners.CountDocuments(t.Context(), bson.D{{Key: "_id", Value: id}}); err != nil || n != 1 {
		t.Fatalf("owner %s through the printed store URI %q: %d found, %v", id, r.store, n, err)
	}
}
