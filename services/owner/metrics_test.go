package owner_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// scrape reads the metrics endpoint as Prometheus would.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read scrape: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status %d: %s", resp.StatusCode, body)
	}
	return string(body)
}

// series returns the sample lines of a metric whose labels contain every one of labels.
func series(body, metric string, labels ...string) []string {
	var out []string
	for line := range strings.SplitSeq(body, "\n") {
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		matches := true
		for _, l := range labels {
			matches = matches && strings.Contains(line, l)
		}
		if matches {
			out = append(out, line)
		}
	}
	return out
}

func TestMetricsEndpointRecordsEachRPC(t *testing.T) {
	env := servicetest.New(t)
	metricsL := servicetest.Listen(t)
	svc := runOwner(t, env, newKeys(t, "k1"), func(c *owner.Config) { c.MetricsListener = metricsL })
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	created := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Metsälä"), IdentityCode: "131052-308T"})
	if _, err := c.GetOwner(env.As(t, auth.RoleReception), &ownerv1.GetOwnerRequest{OwnerId: created.GetId()}); err != nil {
		t.Fatalf("get owner: %v", err)
	}
	_, err := c.GetOwner(env.As(t, auth.RoleReception), &ownerv1.GetOwnerRequest{OwnerId: uuid.NewString()})
	wantCode(t, err, codes.NotFound)

	const duration = "rpc_server_call_duration_seconds_count"
	getOwner := `rpc_method="lillvet.owner.v1.OwnerService/GetOwner"`
	tests := []struct {
		name   string
		labels []string
	}{
		{"successful GetOwner", []string{getOwner, `rpc_response_status_code="OK"`}},
		{"failed GetOwner", []string{getOwner, `rpc_response_status_code="NOT_FOUND"`}},
		{"CreateOwner", []string{`rpc_method="lillvet.owner.v1.OwnerService/CreateOwner"`}},
	}
	// The server records a call's duration when the call ends on its side, which may be
	// just after the client has its answer: scrape until every call is in, for a while.
	missing := func(body string) bool {
		for _, tt := range tests {
			if len(series(body, duration, tt.labels...)) == 0 {
				return true
			}
		}
		return false
	}
	body := scrape(t, metricsL.Addr().String())
	for deadline := time.Now().Add(5 * time.Second); missing(body) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		body = scrape(t, metricsL.Addr().String())
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := series(body, duration, tt.labels...)
			if len(got) != 1 || !strings.HasSuffix(got[0], " 1") {
				t.Errorf("%s series with %v = %q, want one with count 1; scraped:\n%s", duration, tt.labels, got, series(body, duration))
			}
		})
	}
	for _, personal := range []string{"Metsälä", "Mets", "131052", "308T", created.GetId()} {
		if strings.Contains(body, personal) {
			t.Errorf("the metrics carry %q", personal)
		}
	}
}
