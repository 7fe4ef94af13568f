package mongox

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/address"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

const instrumentationName = "github.com/lillvet/register/services/platform/mongox"

// The official instrumentation for the v2 driver is unreleased, so this
// monitor opens one client span per command. It reads only the command name,
// database and collection: never documents, filters or replies.
type monitor struct {
	tracer trace.Tracer
	spans  sync.Map // spanKey → trace.Span
}

type spanKey struct {
	conn string
	req  int64
}

func newMonitor(tp trace.TracerProvider) *event.CommandMonitor {
	m := &monitor{tracer: tp.Tracer(instrumentationName)}
	return &event.CommandMonitor{Started: m.started, Succeeded: m.succeeded, Failed: m.failed}
}

func (m *monitor) started(ctx context.Context, e *event.CommandStartedEvent) {
	coll := collectionOf(e)
	name := e.CommandName
	attrs := []attribute.KeyValue{
		semconv.DBSystemNameMongoDB,
		semconv.DBNamespace(e.DatabaseName),
		semconv.DBOperationName(e.CommandName),
	}
	if coll != "" {
		name += " " + coll
		attrs = append(attrs, semconv.DBCollectionName(coll))
	}
	attrs = append(attrs, serverOf(e.ConnectionID)...)
	_, span := m.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	m.spans.Store(spanKey{e.ConnectionID, e.RequestID}, span)
}

func (m *monitor) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	span, ok := m.take(e.CommandFinishedEvent)
	if !ok {
		return
	}
	// Write errors (a duplicate key on insert) arrive in a successful reply;
	// only their presence is read, not their text.
	for _, key := range []string{"writeErrors", "writeConcernError"} {
		if _, err := e.Reply.LookupErr(key); err == nil {
			span.SetStatus(codes.Error, key)
			span.SetAttributes(attribute.String("error.type", key))
			break
		}
	}
	span.End()
}

func (m *monitor) failed(_ context.Context, e *event.CommandFailedEvent) {
	span, ok := m.take(e.CommandFinishedEvent)
	if !ok {
		return
	}
	// Only the error class: server messages can quote key values.
	span.SetStatus(codes.Error, "command failed")
	span.SetAttributes(attribute.String("error.type", errorType(e.Failure)))
	span.End()
}

func (m *monitor) take(e event.CommandFinishedEvent) (trace.Span, bool) {
	v, ok := m.spans.LoadAndDelete(spanKey{e.ConnectionID, e.RequestID})
	if !ok {
		return nil, false
	}
	return v.(trace.Span), true
}

// collectionOf returns the collection a command addresses: the value of the
// command's own key for most commands, the "collection" field for getMore.
func collectionOf(e *event.CommandStartedEvent) string {
	key := e.CommandName
	if key == "getMore" {
		key = "collection"
	}
	v, err := e.Command.LookupErr(key)
	if err != nil {
		return ""
	}
	s, ok := v.StringValueOK()
	if !ok {
		return ""
	}
	return s
}

// serverOf reads the server's address from the driver's connection id,
// "host:port[-n]", or "path[-n]" for a Unix domain socket (the embedded store's),
// which the driver recognises by its ending.
func serverOf(connID string) []attribute.KeyValue {
	addr, _, _ := strings.Cut(connID, "[")
	if address.Address(addr).Network() == "unix" {
		return []attribute.KeyValue{semconv.ServerAddress(addr), semconv.NetworkTransportUnix}
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil
	}
	return []attribute.KeyValue{semconv.ServerAddress(host), semconv.ServerPort(port)}
}

// errorType names the server's error code (e.g. "DuplicateKey"), which,
// unlike the message, never quotes data.
func errorType(err error) string {
	var de driver.Error
	switch {
	case errors.As(err, &de) && de.Name != "":
		return de.Name
	case mongo.IsTimeout(err):
		return "timeout"
	case mongo.IsNetworkError(err):
		return "network"
	default:
		return "_OTHER"
	}
}
