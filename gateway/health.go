package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// healthTimeout bounds the check of every backend together, so a probe
// never hangs on a dead one.
const healthTimeout = 2 * time.Second

// statusUnreachable reports a backend whose health service did not answer.
const statusUnreachable = "UNREACHABLE"

type healthReport struct {
	Status   string            `json:"status"`
	Services map[string]string `json:"services"`
}

// healthHandler asks each backend's standard gRPC health service about the
// server as a whole and answers 200 when all serve, 503 otherwise, with the
// state of each.
func healthHandler(conns backendConns, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		states := make([]string, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() { states[i] = checkHealth(ctx, c, logger) })
		}
		wg.Wait()

		report := healthReport{Status: healthpb.HealthCheckResponse_SERVING.String(), Services: map[string]string{}}
		code := http.StatusOK
		for i, c := range conns {
			report.Services[c.name] = states[i]
			if states[i] != healthpb.HealthCheckResponse_SERVING.String() {
				report.Status = healthpb.HealthCheckResponse_NOT_SERVING.String()
				code = http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		// A failed write means the prober has gone.
		_ = json.NewEncoder(w).Encode(report)
	})
}

func checkHealth(ctx context.Context, c backendConn, logger *slog.Logger) string {
	resp, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		logger.WarnContext(ctx, "backend health check failed", "backend", c.name, "code", status.Code(err).String())
		return statusUnreachable
	}
	return resp.GetStatus().String()
}
