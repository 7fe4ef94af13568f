package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/felixge/httpsnoop"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/lillvet/register/proto/gen/openapi"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/telemetry"
)

// Paths the gateway serves itself.
const (
	healthPath  = "/healthz"
	openAPIPath = "/openapi.yaml"
)

// newHandler assembles the gateway, outermost first: what the client wrote hidden
// from tracing, otelhttp, route naming and access log, common headers, then the
// gateway's own paths (open) and the REST routes of every backend (behind
// the token check).
func newHandler(ctx context.Context, cfg Config, tel *telemetry.Telemetry, conns backendConns, verifier *auth.Verifier) (http.Handler, error) {
	errs := errorWriter{
		marshaler: &runtime.JSONPb{
			// lowerCamelCase names; unset fields left out.
			MarshalOptions: protojson.MarshalOptions{},
			// Unknown fields are rejected: a misspelt field is an error for the
			// caller, not a value silently dropped from a person's record.
			UnmarshalOptions: protojson.UnmarshalOptions{},
		},
		logger: tel.Logger,
	}
	api, err := newAPIMux(ctx, cfg, errs, conns, verifier)
	if err != nil {
		return nil, err
	}
	doc, err := openapi.Document()
	if err != nil {
		return nil, fmt.Errorf("OpenAPI document: %w", err)
	}
	mux := http.NewServeMux()
	handleGet(mux, errs, healthPath, healthHandler(conns, tel.Logger))
	handleGet(mux, errs, openAPIPath, serveOpenAPI(doc))
	mux.Handle("/", verbRoutes(api, errs))

	// The edge takes only the W3C traceparent from a client. tel.Propagator also
	// extracts baggage, which the backend calls would carry on to every service and its
	// peers: a client's baggage is text it wrote (a name, an identity code) and stays at
	// the edge, like its other headers. So does its tracestate (edgeTraceContext).
	edgePropagator := edgeTraceContext{}
	traced := otelhttp.NewHandler(restoreRequest(observe(tel.Logger, commonHeaders(cleanPaths(errs, mux)))), serviceName,
		otelhttp.WithTracerProvider(tel.TracerProvider),
		otelhttp.WithMeterProvider(tel.MeterProvider),
		otelhttp.WithPropagators(edgePropagator),
		otelhttp.WithFilter(func(r *http.Request) bool { return requestURL(r).Path != healthPath }),
		otelhttp.WithServerName(serverName(cfg)),
	)
	return hideRequest(edgePropagator, traced), nil
}

// edgeTraceContext is the W3C trace context without the client's tracestate. The
// tracestate is free text the client writes (vendor=value pairs): taken in, it would be
// the state of every span of the trace, sent on as metadata to each service and its
// peers and exported with their spans, like baggage. The traceparent's ids and flags
// are all the edge takes.
type edgeTraceContext struct{ propagation.TraceContext }

// traceparentHeader is the one header edgeTraceContext reads.
const traceparentHeader = "traceparent"

// Extract takes the client's trace and parent span ids and flags, with an empty
// trace state.
func (p edgeTraceContext) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc := trace.SpanContextFromContext(p.TraceContext.Extract(context.Background(), carrier))
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc.WithTraceState(trace.TraceState{}))
}

// Fields names only the header Extract reads, so that hideRequest lets no tracestate
// through to otelhttp.
func (edgeTraceContext) Fields() []string { return []string{traceparentHeader} }

// serverName names the server in its spans and metrics by the port it listens on. Without
// it otelhttp takes the client's Host header, and any client could mint new metric
// series (and put any string in their labels) by changing it.
func serverName(cfg Config) string {
	addr := cfg.Addr
	if cfg.Listener != nil {
		addr = cfg.Listener.Addr().String()
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		port = "0"
	}
	return net.JoinHostPort(serviceName, port)
}

// newAPIMux is the grpc-gateway mux with the REST routes of every backend,
// each calling its service through the backend's gRPC client connection
// once the caller's token has been verified.
func newAPIMux(ctx context.Context, cfg Config, errs errorWriter, conns backendConns, verifier *auth.Verifier) (*runtime.ServeMux, error) {
	readsQuery, err := newQueryRoutes()
	if err != nil {
		return nil, err
	}
	mux := runtime.NewServeMux(
		// A google.api.HttpBody response body (the access report's JSON and HTML) is
		// written as its raw bytes, with its own content type (bodyContentType).
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: errs.marshaler}),
		runtime.WithForwardResponseOption(bodyContentType),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithMetadata(binaryPurpose),
		runtime.WithOutgoingHeaderMatcher(noHeader),
		runtime.WithOutgoingTrailerMatcher(noHeader),
		runtime.WithErrorHandler(errs.handle),
		runtime.WithRoutingErrorHandler(errs.routingError),
		// grpc-gateway keeps the parser in a package variable; every mux sets the same one.
		runtime.SetQueryParameterParser(&strictQueryParser{}),
		// Both would parse a form body before the size limit runs.
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithDisablePathLengthFallback(),
		// Authentication before the body limit: an anonymous caller cannot
		// make the gateway read a body at all.
		// The cap last, so that it bounds the backend call and not the body's upload.
		runtime.WithMiddlewares(stopProbe, nameRoute, authenticate(verifier, errs), refuseQuery(readsQuery, errs), checkHeaders(errs), dropForwarded, limitBody(cfg.MaxBodyBytes, errs), capDeadline(cfg.BackendTimeout)),
	)
	for _, c := range conns {
		if err := c.register(ctx, mux, c.conn); err != nil {
			return nil, fmt.Errorf("register %s routes: %w", c.name, err)
		}
	}
	return mux, nil
}

// bodyContentType sets the content type of a response whose REST body is a
// google.api.HttpBody field (response_body in the http rule): HTTPBodyMarshaler writes
// that body's bytes, but grpc-gateway asks it for the content type of the whole
// response, which is not the HttpBody itself.
func bodyContentType(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	rb, ok := m.(interface{ XXX_ResponseBody() any })
	if !ok {
		return nil
	}
	if body, ok := rb.XXX_ResponseBody().(*httpbody.HttpBody); ok && body.GetContentType() != "" {
		w.Header().Set("Content-Type", body.GetContentType())
	}
	return nil
}

// Metadata keys the services read besides authorization, which grpc-gateway
// always forwards.
const (
	// mdIdempotencyKey is the request id of a create when the body has none.
	mdIdempotencyKey = "idempotency-key"
	// mdPurpose is the caller's stated purpose, audited by the services; one that
	// gRPC text metadata cannot hold goes as x-purpose-bin (checkHeaders).
	mdPurpose = "x-purpose"
)

// incomingHeader forwards exactly the headers the services read; nothing a
// client sends reaches a service as metadata by accident. It is asked about
// every header of every call, so it compares without lower-casing a copy.
func incomingHeader(key string) (string, bool) {
	for _, md := range []string{mdIdempotencyKey, mdPurpose} {
		if strings.EqualFold(key, md) {
			return md, true
		}
	}
	return "", false
}

// dropForwarded keeps the client's X-Forwarded-For and X-Forwarded-Host, and the Host
// it sent, from the services: grpc-gateway forwards them as x-forwarded-for and
// x-forwarded-host metadata itself, whatever the header matcher says, and a client may
// write anything there. What remains is the peer's address, which the gateway knows.
func dropForwarded(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		r = r.WithContext(r.Context()) // a copy: a handler must not change the request it got
		r.Host = ""
		if len(r.Header.Values(xForwardedFor)) > 0 || len(r.Header.Values(xForwardedHost)) > 0 {
			r.Header = r.Header.Clone()
			r.Header.Del(xForwardedFor)
			r.Header.Del(xForwardedHost)
		}
		next(w, r, params)
	}
}

// Headers grpc-gateway turns into metadata of its own accord.
const (
	xForwardedFor  = "X-Forwarded-For"
	xForwardedHost = "X-Forwarded-Host"
)

// noHeader keeps the services' response metadata inside the system.
func noHeader(string) (string, bool) { return "", false }

// routeKey keys the *routeSlot in a request context.
type routeKey struct{}

// routeSlot receives the matched route template from whichever mux matches
// the request, so that spans, metrics and the access log name the route and
// never the URL with its ids.
type routeSlot struct{ template string }

func setRoute(ctx context.Context, template string) {
	if slot, ok := ctx.Value(routeKey{}).(*routeSlot); ok {
		slot.template = template
	}
}

// handleGet registers a gateway path that answers GET (and so HEAD) on mux under its
// route name. Any other method is 405 with Allow, as on the REST routes; the catch-all
// would hand the path to the API mux, which knows it not (404).
func handleGet(mux *http.ServeMux, errs errorWriter, path string, h http.Handler) {
	mux.Handle(http.MethodGet+" "+path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r.Context(), path)
		h.ServeHTTP(w, r)
	}))
	mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodGet+", "+http.MethodHead)
		errs.handle(r.Context(), nil, errs.marshaler, w, r, httpStatusError(http.StatusMethodNotAllowed))
	}))
}

// nameRoute records the REST route grpc-gateway matched, as written in the
// service's *_http.yaml ("/v1/owners/{owner_id}").
func nameRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			setRoute(r.Context(), routeTemplate(p.String()))
		}
		next(w, r, params)
	}
}

// routeTemplate turns grpc-gateway's pattern string, which spells a single
// segment variable "{owner_id=*}", into the template of the HTTP rule.
func routeTemplate(pattern string) string {
	return strings.ReplaceAll(pattern, "=*}", "}")
}

// observe names the server span after the matched route, gives it as the
// span's url.path, labels the HTTP metrics with it and writes one access log
// line per request: method, route, status, duration, and (through the
// telemetry log handler) the trace id. Never the URL, its query or a body.
func observe(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slot := &routeSlot{}
		ctx := context.WithValue(r.Context(), routeKey{}, slot)
		m := httpsnoop.CaptureMetrics(next, w, r.WithContext(ctx))

		route := slot.template
		span := trace.SpanFromContext(ctx)
		method := standardMethod(r.Method)
		if route != "" {
			span.SetName(method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
			if labeler, ok := otelhttp.LabelerFromContext(ctx); ok {
				labeler.Add(semconv.HTTPRoute(route))
			}
		} else {
			route = "unmatched"
		}
		// In place of the path sent, which hideRequest kept from otelhttp.
		span.SetAttributes(semconv.URLPath(route))
		level := slog.LevelInfo
		if route == healthPath {
			level = slog.LevelDebug
		}
		logger.LogAttrs(ctx, level, "http request",
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", m.Code),
			slog.Float64("duration_ms", float64(m.Duration)/float64(time.Millisecond)),
			slog.Int64("bytes_out", m.Written),
		)
	})
}

// commonHeaders marks every response as not to be sniffed or cached: API
// answers carry personal data that no intermediary or browser may keep.
func commonHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// standardMethod is method when HTTP defines it, else "_OTHER" as in OpenTelemetry's
// semantic conventions: a method is any token the client writes.
func standardMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return methodOther
}

// methodOther names every method HTTP does not define.
const methodOther = "_OTHER"

// hiddenKey keys the hidden parts of a request in its context.
type hiddenKey struct{}

// hideRequest keeps what the client wrote away from the instrumentation it wraps, but
// for the trace context and a method HTTP defines. otelhttp records the path as sent
// (url.path; a clinic app may send a typed identity code as the owner id), an unknown
// method as sent (http.request.method_original), the User-Agent, and the first
// X-Forwarded-For address as client.address; queries carry names, phone numbers and
// customer numbers. The hidden request has no path or query, only the propagator's
// headers, no Host, and an unknown method as "_OTHER"; observe sets url.path to the
// matched route, and the handlers get the request back from restoreRequest.
func hideRequest(propagator propagation.TextMapPropagator, next http.Handler) http.Handler {
	fields := propagator.Fields()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hidden := r.WithContext(context.WithValue(r.Context(), hiddenKey{}, hiddenParts{
			method: r.Method, url: r.URL, requestURI: r.RequestURI, header: r.Header, host: r.Host,
		}))
		hidden.Method = standardMethod(r.Method)
		hidden.URL = &url.URL{Scheme: r.URL.Scheme, Host: r.URL.Host}
		hidden.RequestURI, hidden.Host = "", ""
		hidden.Header = make(http.Header, len(fields))
		for _, f := range fields {
			if v := r.Header.Values(f); len(v) > 0 {
				hidden.Header[textproto.CanonicalMIMEHeaderKey(f)] = v
			}
		}
		next.ServeHTTP(w, hidden)
	})
}

// hiddenParts is what hideRequest took away.
type hiddenParts struct {
	method     string
	url        *url.URL
	requestURI string
	header     http.Header
	host       string
}

// requestURL is the URL the client sent, also while hideRequest hides it.
func requestURL(r *http.Request) *url.URL {
	if h, ok := r.Context().Value(hiddenKey{}).(hiddenParts); ok {
		return h.url
	}
	return r.URL
}

// restoreRequest undoes hideRequest for the handlers inside the instrumentation.
func restoreRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := r.Context().Value(hiddenKey{}).(hiddenParts)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		restored := r.WithContext(r.Context())
		restored.Method, restored.URL, restored.RequestURI = h.method, h.url, h.requestURI
		restored.Header, restored.Host = h.header, h.host
		next.ServeHTTP(w, restored)
	})
}

// serveOpenAPI serves the merged OpenAPI document of every backend.
func serveOpenAPI(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(doc)
	})
}
