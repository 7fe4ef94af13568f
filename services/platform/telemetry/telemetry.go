// Package telemetry builds a process's tracer and meter providers, its W3C
// propagator and its JSON logger, explicitly: nothing is installed as an
// OpenTelemetry global, so every dependency receives them from the
// composition root. Export is configured only by the standard OTEL_*
// environment variables.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	nooptrace "go.opentelemetry.io/otel/trace/noop"
)

// Telemetry holds the providers a service passes down to its dependencies.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	Logger         *slog.Logger
	// MetricsHandler serves the Prometheus scrape endpoint; mount it on an
	// operations listener, not on the public API.
	MetricsHandler http.Handler
	// Tracing says spans are recorded for an exporter. Without it spans carry ids
	// only, and instrumentation that does nothing but build spans (the MongoDB
	// command monitor) stays off.
	Tracing bool

	shutdown []func(context.Context) error
	flush    func(context.Context) error
}

// Options configure Setup.
type Options struct {
	ServiceName string
	// SpanExporter overrides the OTLP exporter, receiving each span as it
	// ends (tests pass tracetest.InMemoryExporter). When nil, spans go to
	// OTLP if OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	// or OTEL_TRACES_EXPORTER=otlp say so; otherwise none is recorded.
	SpanExporter sdktrace.SpanExporter
	// LogWriter receives the JSON log lines; os.Stderr when nil.
	LogWriter io.Writer
	LogLevel  slog.Level
}

// Setup builds the providers. Call Shutdown on exit to flush spans.
func Setup(ctx context.Context, o Options) (*Telemetry, error) {
	if o.ServiceName == "" {
		return nil, errors.New("telemetry: ServiceName is required")
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(o.ServiceName)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("build telemetry resource: %w", err)
	}

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	tracing := true
	switch {
	case o.SpanExporter != nil:
		tpOpts = append(tpOpts, sdktrace.WithSyncer(o.SpanExporter))
	default:
		exp, err := otlpExporter(ctx)
		if err != nil {
			return nil, err
		}
		if exp != nil {
			tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
		} else {
			tracing = false
			// Nothing receives spans, so none is built: every span still gets its
			// trace and span ids (the logs and the audit log carry the trace id, and
			// calls pass it on), but no attributes, events or timings are recorded.
			// Requests leave such a process marked not sampled; a process that
			// exports records them only when every process before it on the path
			// exports too (or when its OTEL_TRACES_SAMPLER says always_on).
			tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.NeverSample()))
		}
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)

	registry := prometheus.NewRegistry()
	if err := registry.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	promExp, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return nil, fmt.Errorf("create prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(promExp))

	w := o.LogWriter
	if w == nil {
		w = os.Stderr
	}
	logger := slog.New(NewLogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: o.LogLevel}))).
		With(slog.String("service", o.ServiceName))

	return &Telemetry{
		TracerProvider: tp,
		MeterProvider:  mp,
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		Logger:         logger,
		MetricsHandler: promhttp.HandlerFor(registry, promhttp.HandlerOpts{}),
		Tracing:        tracing,
		shutdown:       []func(context.Context) error{tp.Shutdown, mp.Shutdown},
		flush:          tp.ForceFlush,
	}, nil
}

// otlpExporter returns an OTLP span exporter when the standard variables ask
// for one, using the protocol they name (http/protobuf by default, as the
// specification says). The exporters read their endpoint, headers and TLS
// variables themselves.
func otlpExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	switch strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")) {
	case "none":
		return nil, nil
	case "otlp":
	case "":
		if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, nil
		}
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER: only otlp and none are supported, got %q", os.Getenv("OTEL_TRACES_EXPORTER"))
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported (grpc, http/protobuf)", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("create OTLP trace exporter: %w", err)
	}
	return exp, nil
}

// ForceFlush exports every span ended so far.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	if t.flush == nil {
		return nil
	}
	if err := t.flush(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

// Shutdown flushes pending spans and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		if err := f(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shut down telemetry: %w", err)
	}
	return nil
}

// Noop returns telemetry that records nothing and logs to w (io.Discard
// when nil), for tests and tools that do not care.
func Noop(w io.Writer) *Telemetry {
	if w == nil {
		w = io.Discard
	}
	return &Telemetry{
		TracerProvider: nooptrace.NewTracerProvider(),
		MeterProvider:  noopmetric.NewMeterProvider(),
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		Logger:         slog.New(NewLogHandler(slog.NewJSONHandler(w, nil))),
	}
}
