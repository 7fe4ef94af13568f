package telemetry_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lillvet/register/services/platform/telemetry"
)

func TestSetupTracesLogsAndMetrics(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	var logs bytes.Buffer
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "svc", SpanExporter: exp, LogWriter: &logs})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	ctx, span := tel.TracerProvider.Tracer("test").Start(t.Context(), "op")
	tel.Logger.InfoContext(ctx, "inside")
	span.End()
	tel.Logger.Info("outside")

	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "op" {
		t.Fatalf("spans = %v", spans)
	}
	if got, _ := spans[0].Resource.Set().Value("service.name"); got.AsString() != "svc" {
		t.Errorf("service.name = %q", got.AsString())
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines = %q", lines)
	}
	var inside, outside map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &inside); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &outside); err != nil {
		t.Fatal(err)
	}
	if inside["trace_id"] != spans[0].SpanContext.TraceID().String() || inside["span_id"] != spans[0].SpanContext.SpanID().String() {
		t.Errorf("inside log = %v, want trace and span ids of %v", inside, spans[0].SpanContext)
	}
	if _, ok := outside["trace_id"]; ok {
		t.Errorf("log without span has trace_id: %v", outside)
	}
	if inside["service"] != "svc" {
		t.Errorf("log service = %v", inside["service"])
	}

	counter, err := tel.MeterProvider.Meter("test").Int64Counter("lillvet.test.calls")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(ctx, 3)
	rec := httptest.NewRecorder()
	tel.MetricsHandler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "lillvet_test_calls_total") || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Errorf("metrics output lacks counter or runtime metrics:\n%s", rec.Body.String())
	}

	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestSetupExporterSelection(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
		// recording: spans are built for an exporter.
		recording bool
	}{
		{name: "nothing set exports nothing"},
		{name: "none", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}},
		{name: "otlp http", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, recording: true},
		{name: "otlp grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, recording: true},
		{name: "unsupported exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: true},
		{name: "unsupported protocol", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
				t.Setenv(k, tt.env[k])
			}
			var logs bytes.Buffer
			tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "svc", LogWriter: &logs})
			if tt.wantErr {
				if err == nil {
					t.Fatal("Setup succeeded")
				}
				return
			}
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			// Whether or not a span is recorded, it has ids, and the logs written
			// inside it carry its trace id (as the audit events do). It is not
			// ended: nothing listens on the endpoint to take it.
			ctx, span := tel.TracerProvider.Tracer("test").Start(t.Context(), "op")
			tel.Logger.InfoContext(ctx, "inside")
			if span.IsRecording() != tt.recording || tel.Tracing != tt.recording {
				t.Errorf("span recording = %v, Tracing = %v, want %v", span.IsRecording(), tel.Tracing, tt.recording)
			}
			traceID := span.SpanContext().TraceID()
			if !traceID.IsValid() || !strings.Contains(logs.String(), `"trace_id":"`+traceID.String()+`"`) {
				t.Errorf("span context %v, log %q: want a trace id in both", span.SpanContext(), logs.String())
			}
			// Nothing listens on the endpoint: shutting down must not hang on
			// a span-less exporter.
			if err := tel.Shutdown(t.Context()); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		})
	}
}

// TestShutdownFlushesSpansToOTLP: with the standard variables pointing OTLP/HTTP at a
// receiver, and a batch delay no test waits out, a span ended just before Shutdown
// reaches the receiver by the time Shutdown returns: a process that stops loses none of
// its last spans.
func TestShutdownFlushesSpansToOTLP(t *testing.T) {
	received := make(chan *coltracepb.ExportTraceServiceRequest, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		export := &coltracepb.ExportTraceServiceRequest{}
		if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, export) != nil {
			http.Error(w, "not an OTLP/HTTP trace export", http.StatusBadRequest)
			return
		}
		received <- export
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(receiver.Close)
	for k, v := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.URL, "OTEL_BSP_SCHEDULE_DELAY": "3600000",
		"OTEL_TRACES_EXPORTER": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "", "OTEL_EXPORTER_OTLP_PROTOCOL": "",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "", "OTEL_EXPORTER_OTLP_COMPRESSION": "", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "",
		"OTEL_SERVICE_NAME": "", "OTEL_RESOURCE_ATTRIBUTES": "", "OTEL_TRACES_SAMPLER": "", "OTEL_TRACES_SAMPLER_ARG": "",
	} {
		t.Setenv(k, v)
	}
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "svc", LogWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider.Tracer("test").Start(t.Context(), "the last request")
	span.End()
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Close waits for the receiver's handlers, so none sends on the closed channel.
	receiver.Close()
	close(received)
	var got []string
	for export := range received {
		for _, rs := range export.GetResourceSpans() {
			var service string
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, sp := range ss.GetSpans() {
					got = append(got, service+": "+sp.GetName())
				}
			}
		}
	}
	if !slices.Equal(got, []string{"svc: the last request"}) {
		t.Errorf("the receiver got %q, want the span ended before Shutdown", got)
	}
}
