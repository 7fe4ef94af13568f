package auth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// ForwardingUnaryClientInterceptor sends the caller's bearer token and stated
// purpose with every outgoing call made while serving that caller, so that
// the downstream service authorises and audits the same person. Values
// already set on the outgoing context win.
func ForwardingUnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(forward(ctx), method, req, reply, cc, opts...)
	}
}

// ForwardingStreamClientInterceptor is the streaming form of
// ForwardingUnaryClientInterceptor.
func ForwardingStreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(forward(ctx), desc, cc, method, opts...)
	}
}

// WithOutgoingToken returns ctx with the bearer token and purpose set for
// outgoing calls, for callers (the gateway, jobs) that do not serve a gRPC
// call themselves.
func WithOutgoingToken(ctx context.Context, token, purpose string) context.Context {
	kv := []string{MetadataAuthorization, "Bearer " + token}
	if purpose != "" {
		kv = append(kv, purposeMetadata(purpose)...)
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// WithOutgoingPurpose returns ctx with purpose stated on its outgoing calls instead of
// the caller's: a service that reads for a task of its own (an access report) names it.
func WithOutgoingPurpose(ctx context.Context, purpose string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, purposeMetadata(purpose)...)
}

func forward(ctx context.Context) context.Context {
	// ValueFromOutgoingContext looks the keys up without copying the metadata, which
	// every call through the gateway would otherwise pay for twice.
	var kv []string
	if len(metadata.ValueFromOutgoingContext(ctx, MetadataAuthorization)) == 0 {
		if id, ok := FromContext(ctx); ok && id.Token != "" {
			kv = append(kv, MetadataAuthorization, "Bearer "+id.Token)
		}
	}
	if len(metadata.ValueFromOutgoingContext(ctx, MetadataPurpose)) == 0 && len(metadata.ValueFromOutgoingContext(ctx, MetadataPurposeBin)) == 0 {
		if p := Purpose(ctx); p != "" {
			kv = append(kv, purposeMetadata(p)...)
		}
	}
	if len(kv) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}
