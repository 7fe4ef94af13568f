package auth_test

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	auditv1 "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/servicetest"
)

const getOwner = "/lillvet.owner.v1.OwnerService/GetOwner"

func TestUnaryServerInterceptor(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	v := newVerifier(t, iss)
	policy := auth.Policy{getOwner: {Roles: []auth.Role{auth.RoleReception}, WithPurpose: []auth.Role{auth.RoleMaintainer}}}
	token := func(roles ...auth.Role) string {
		tok, err := iss.Mint(devauth.Claims{Subject: "s1", Roles: roles}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name       string
		method     string
		md         metadata.MD
		want       codes.Code
		wantDenied bool
	}{
		{name: "allowed", method: getOwner, md: metadata.Pairs("authorization", "Bearer "+token(auth.RoleReception)), want: codes.OK},
		{name: "scheme is case-insensitive", method: getOwner, md: metadata.Pairs("authorization", "bearer "+token(auth.RoleReception)), want: codes.OK},
		{name: "no token", method: getOwner, want: codes.Unauthenticated},
		{name: "basic auth", method: getOwner, md: metadata.Pairs("authorization", "Basic dXNlcjpwYXNz"), want: codes.Unauthenticated},
		{name: "invalid token", method: getOwner, md: metadata.Pairs("authorization", "Bearer x.y.z"), want: codes.Unauthenticated},
		{name: "wrong role", method: getOwner, md: metadata.Pairs("authorization", "Bearer "+token(auth.RoleNurse)), want: codes.PermissionDenied, wantDenied: true},
		{name: "maintainer without purpose", method: getOwner, md: metadata.Pairs("authorization", "Bearer "+token(auth.RoleMaintainer)), want: codes.PermissionDenied, wantDenied: true},
		{name: "maintainer with purpose", method: getOwner, md: metadata.Pairs("authorization", "Bearer "+token(auth.RoleMaintainer), "x-purpose", "incident 7"), want: codes.OK},
		{name: "method not in policy", method: "/lillvet.owner.v1.OwnerService/Other", md: metadata.Pairs("authorization", "Bearer "+token(auth.RoleReception)), want: codes.PermissionDenied, wantDenied: true},
		{name: "health is open", method: "/grpc.health.v1.Health/Check", want: codes.OK},
		{name: "reflection is open", method: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", want: codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var denied bool
			req := wrapperspb.String("request")
			onDenied := func(_ context.Context, method string, id auth.Identity, reason string, got any) {
				denied = true
				if method != tt.method || id.Subject != "s1" || reason == "" || got != req {
					t.Errorf("onDenied(%q, %+v, %q, %v)", method, id, reason, got)
				}
			}
			icpt := auth.UnaryServerInterceptor(v, policy, onDenied)
			ctx := metadata.NewIncomingContext(t.Context(), tt.md)
			_, err := icpt(ctx, req, &grpc.UnaryServerInfo{FullMethod: tt.method}, func(ctx context.Context, _ any) (any, error) {
				if id, ok := auth.FromContext(ctx); tt.method == getOwner && (!ok || id.Subject != "s1") {
					t.Errorf("handler sees identity %+v, %v", id, ok)
				}
				return nil, nil
			})
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if denied != tt.wantDenied {
				t.Fatalf("onDenied called = %v, want %v", denied, tt.wantDenied)
			}
		})
	}
}

func TestInterceptorRefusesBadPurpose(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	v := newVerifier(t, iss)
	policy := auth.Policy{getOwner: {Roles: []auth.Role{auth.RoleReception}, WithPurpose: []auth.Role{auth.RoleMaintainer}}}
	text, bin := auth.MetadataPurpose, auth.MetadataPurposeBin
	tests := []struct {
		name string
		role auth.Role
		// purpose holds metadata key and value pairs.
		purpose []string
	}{
		{"maintainer", auth.RoleMaintainer, []string{text, "asiakas 131052-308T soitti"}},
		{"role that needs no purpose", auth.RoleReception, []string{text, "check 010190y123m"}},
		{"role the policy denies", auth.RoleNurse, []string{text, "131052-308T"}},
		{"past the part Purpose keeps", auth.RoleMaintainer, []string{text, strings.Repeat("x", 195) + " 131052-308T"}},
		{"second value", auth.RoleMaintainer, []string{text, "incident 7", text, "131052-308T"}},
		{"binary with a code", auth.RoleMaintainer, []string{bin, "Häiriöselvitys, asiakas 131052-308T"}},
		{"binary past the part Purpose keeps", auth.RoleMaintainer, []string{bin, strings.Repeat("ä", 100) + " 131052-308T"}},
		// Purpose keeps 200 bytes: the cut ends a code the whole value runs into a word.
		{"cut into a code", auth.RoleMaintainer, []string{text, strings.Repeat("x", 188) + " 131052-308TX"}},
		{"binary cut into a code", auth.RoleMaintainer, []string{bin, strings.Repeat("ä", 94) + " 131052-308Tä"}},
		{"binary not UTF-8", auth.RoleMaintainer, []string{bin, "H\xe4iri\xf6selvitys"}},
		{"binary with a line break", auth.RoleMaintainer, []string{bin, "Häiriö\nselvitys"}},
		{"binary with a NUL", auth.RoleMaintainer, []string{bin, "Häiriö\x00"}},
		// Format characters display as nothing or reorder the text the audit shows.
		{"zero-width space", auth.RoleMaintainer, []string{bin, "\u200b"}},
		{"byte order mark", auth.RoleMaintainer, []string{bin, "\ufeff"}},
		{"word joiners", auth.RoleMaintainer, []string{bin, "\u2060\u2060"}},
		{"bidi override", auth.RoleMaintainer, []string{bin, "\u202e"}},
		{"format character in words", auth.RoleMaintainer, []string{bin, "Häiriö\u202eselvitys"}},
		{"punctuation only", auth.RoleMaintainer, []string{text, "-"}},
		{"Hangul fillers only", auth.RoleMaintainer, []string{bin, "\u3164\u3164"}},
		{"role that needs no purpose states nothing", auth.RoleReception, []string{text, " . "}},
		// Which of two purposes the audit would record cannot be known.
		{"both keys", auth.RoleMaintainer, []string{text, "incident 7", bin, "Häiriöselvitys"}},
		{"both keys, role that needs no purpose", auth.RoleReception, []string{bin, "Häiriöselvitys", text, "incident 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint(devauth.Claims{Subject: "s1", Roles: []auth.Role{tt.role}}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			md := metadata.Join(metadata.Pairs("authorization", "Bearer "+tok), metadata.Pairs(tt.purpose...))
			onDenied := func(context.Context, string, auth.Identity, string, any) {
				t.Error("a refused purpose was audited as a denied call")
			}
			icpt := auth.UnaryServerInterceptor(v, policy, onDenied)
			_, err = icpt(metadata.NewIncomingContext(t.Context(), md), nil, &grpc.UnaryServerInfo{FullMethod: getOwner},
				func(context.Context, any) (any, error) {
					t.Error("the handler ran")
					return nil, nil
				})
			if got := servicetest.Violations(t, err); !slices.Equal(got, []string{"purpose"}) {
				t.Errorf("violations on %v, want purpose", got)
			}
			if msg := strings.ToUpper(status.Convert(err).Message()); strings.Contains(msg, "308T") || strings.Contains(msg, "123M") {
				t.Errorf("message %q repeats the code", msg)
			}
		})
	}
}

// A purpose in Finnish travels as x-purpose-bin (gRPC text metadata is printable ASCII
// only): it satisfies the policy, is what Purpose (and so the audit) reads, and is
// forwarded downstream intact.
func TestInterceptorTakesPurposeBin(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	v := newVerifier(t, iss)
	policy := auth.Policy{getOwner: {WithPurpose: []auth.Role{auth.RoleMaintainer}}}
	tok, err := iss.Mint(devauth.Claims{Subject: "s1", Roles: []auth.Role{auth.RoleMaintainer}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Häiriö ", 40)
	tests := []struct {
		name, purpose, want string
	}{
		{"Finnish", "Häiriöselvitys, tiketti 42", "Häiriöselvitys, tiketti 42"},
		{"Swedish", "Felsökning, ärende 7", "Felsökning, ärende 7"},
		// Cut to the 200 bytes the ASCII purpose keeps, never inside a letter: 22 words
		// of 9 bytes and an H, the ä across byte 200 left out.
		{"long", long, strings.Repeat("Häiriö ", 22) + "H"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.Pairs("authorization", "Bearer "+tok, auth.MetadataPurposeBin, tt.purpose)
			icpt := auth.UnaryServerInterceptor(v, policy, func(_ context.Context, _ string, _ auth.Identity, reason string, _ any) {
				t.Errorf("denied: %s", reason)
			})
			var forwarded metadata.MD
			_, err := icpt(metadata.NewIncomingContext(t.Context(), md), nil, &grpc.UnaryServerInfo{FullMethod: getOwner},
				func(ctx context.Context, _ any) (any, error) {
					if got := auth.Purpose(ctx); got != tt.want {
						t.Errorf("Purpose = %q, want %q", got, tt.want)
					}
					return nil, auth.ForwardingUnaryClientInterceptor()(ctx, "/m", nil, nil, nil,
						func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
							forwarded, _ = metadata.FromOutgoingContext(ctx)
							return nil
						})
				})
			if err != nil {
				t.Fatalf("interceptor: %v", err)
			}
			if got := forwarded.Get(auth.MetadataPurposeBin); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("forwarded x-purpose-bin = %q, want [%q]", got, tt.want)
			}
			if got := forwarded.Get(auth.MetadataPurpose); len(got) != 0 {
				t.Errorf("forwarded x-purpose = %q as well", got)
			}
		})
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
	// req is the message the client sent.
	req proto.Message
}

func (f fakeStream) Context() context.Context { return f.ctx }

func (f fakeStream) RecvMsg(m any) error {
	proto.Merge(m.(proto.Message), f.req)
	return nil
}

func TestStreamServerInterceptor(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	v := newVerifier(t, iss)
	tok, err := iss.Mint(devauth.Claims{Subject: "s1", Roles: []auth.Role{auth.RoleReception}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	icpt := auth.StreamServerInterceptor(v, auth.Policy{getOwner: {Roles: []auth.Role{auth.RoleReception}}}, nil)
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+tok))
	err = icpt(nil, fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: getOwner}, func(_ any, ss grpc.ServerStream) error {
		if _, ok := auth.FromContext(ss.Context()); !ok {
			t.Error("stream handler has no identity")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("allowed stream: %v", err)
	}
	err = icpt(nil, fakeStream{ctx: t.Context()}, &grpc.StreamServerInfo{FullMethod: getOwner}, func(any, grpc.ServerStream) error { return nil })
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous stream: %v", err)
	}
}

// TestStreamServerInterceptorGivesARefusedRequest: a refused server-streaming call's one
// request is read for onDenied, as the handler would have read it, so that the audit can
// name the owner it asked about; a client stream's is not.
func TestStreamServerInterceptorGivesARefusedRequest(t *testing.T) {
	const export = "/lillvet.audit.v1.AuditService/ExportOwnerAccessEvents"
	iss := newIssuer(t, testIssuer, testAudience)
	v := newVerifier(t, iss)
	tok, err := iss.Mint(devauth.Claims{Subject: "s1", Roles: []auth.Role{auth.RoleNurse}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+tok))
	ss := fakeStream{ctx: ctx, req: &auditv1.ExportOwnerAccessEventsRequest{OwnerId: "o-1"}}
	for _, tt := range []struct {
		name      string
		info      grpc.StreamServerInfo
		wantOwner string
	}{
		{"server stream", grpc.StreamServerInfo{FullMethod: export, IsServerStream: true}, "o-1"},
		{"client stream", grpc.StreamServerInfo{FullMethod: export, IsClientStream: true}, ""},
		{"unknown method", grpc.StreamServerInfo{FullMethod: "/lillvet.audit.v1.AuditService/Other", IsServerStream: true}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var owner string
			icpt := auth.StreamServerInterceptor(v, auth.Policy{export: {Roles: []auth.Role{auth.RoleReception}}},
				func(_ context.Context, _ string, _ auth.Identity, _ string, req any) {
					if r, ok := req.(interface{ GetOwnerId() string }); ok {
						owner = r.GetOwnerId()
					}
				})
			err := icpt(nil, ss, &tt.info, func(any, grpc.ServerStream) error {
				t.Error("the handler ran")
				return nil
			})
			if status.Code(err) != codes.PermissionDenied || owner != tt.wantOwner {
				t.Errorf("%v, the refused request named %q; want PERMISSION_DENIED and %q", err, owner, tt.wantOwner)
			}
		})
	}
}

func TestForwardingUnaryClientInterceptor(t *testing.T) {
	in := metadata.NewIncomingContext(t.Context(), metadata.Pairs("x-purpose", "billing run"))
	ctx := auth.WithIdentity(in, auth.Identity{Subject: "s1", Token: "tok"})
	tests := []struct {
		name     string
		ctx      context.Context
		wantAuth string
		wantPurp string
		// wantKey is the purpose's metadata key (x-purpose when empty).
		wantKey   string
		wantEmpty bool
	}{
		{name: "forwards identity and purpose", ctx: ctx, wantAuth: "Bearer tok", wantPurp: "billing run"},
		{name: "explicit outgoing wins", ctx: auth.WithOutgoingToken(ctx, "other", "mine"), wantAuth: "Bearer other", wantPurp: "mine"},
		{name: "explicit outgoing in Finnish", ctx: auth.WithOutgoingToken(ctx, "other", "Häiriöselvitys"), wantAuth: "Bearer other", wantPurp: "Häiriöselvitys", wantKey: auth.MetadataPurposeBin},
		{name: "service's own purpose in Finnish", ctx: auth.WithOutgoingPurpose(ctx, "pääsypyyntö 7"), wantAuth: "Bearer tok", wantPurp: "pääsypyyntö 7", wantKey: auth.MetadataPurposeBin},
		{name: "nothing to forward", ctx: t.Context(), wantEmpty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			icpt := auth.ForwardingUnaryClientInterceptor()
			err := icpt(tt.ctx, "/m", nil, nil, nil, func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
				md, _ := metadata.FromOutgoingContext(ctx)
				if tt.wantEmpty {
					if md.Len() != 0 {
						t.Errorf("outgoing metadata %v, want none", md)
					}
					return nil
				}
				if got := md.Get("authorization"); len(got) != 1 || got[0] != tt.wantAuth {
					t.Errorf("authorization = %v, want %q", got, tt.wantAuth)
				}
				key := cmp.Or(tt.wantKey, auth.MetadataPurpose)
				if got := md.Get(key); len(got) != 1 || got[0] != tt.wantPurp {
					t.Errorf("%s = %v, want %q", key, got, tt.wantPurp)
				}
				if n := len(md.Get(auth.MetadataPurpose)) + len(md.Get(auth.MetadataPurposeBin)); n != 1 {
					t.Errorf("%d purposes sent: %v", n, md)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// FuzzPurposeBin states arbitrary bytes as x-purpose-bin: the interceptor refuses them
// on purpose or passes a purpose that is text fit for the audit (valid UTF-8, at most
// 200 bytes, no control or format characters, a letter or digit, no identity code) and
// that grpc-go can send on.
func FuzzPurposeBin(f *testing.F) {
	iss := newIssuer(f, testIssuer, testAudience)
	v := newVerifier(f, iss)
	tok, err := iss.Mint(devauth.Claims{Subject: "s1", Roles: []auth.Role{auth.RoleMaintainer}}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	icpt := auth.UnaryServerInterceptor(v, auth.Policy{getOwner: {WithPurpose: []auth.Role{auth.RoleMaintainer}}}, nil)
	for _, seed := range []string{"Häiriöselvitys, tiketti 42", "incident 7", "asiakas 131052-308T", "H\xe4iri\xf6", "a\tb", strings.Repeat("ö", 150), " ", "\u200b", strings.Repeat("ä", 94) + " 131052-308Tä"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, purpose string) {
		md := metadata.Pairs("authorization", "Bearer "+tok, auth.MetadataPurposeBin, purpose)
		_, err := icpt(metadata.NewIncomingContext(t.Context(), md), nil, &grpc.UnaryServerInfo{FullMethod: getOwner},
			func(ctx context.Context, _ any) (any, error) {
				p := auth.Purpose(ctx)
				if !utf8.ValidString(p) || len(p) > 200 || strings.ContainsFunc(p, unicode.IsControl) ||
					strings.ContainsFunc(p, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) ||
					!strings.ContainsFunc(p, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) ||
					identitycode.Contains(p) {
					t.Errorf("Purpose = %q", p)
				}
				return nil, auth.ForwardingUnaryClientInterceptor()(ctx, "/m", nil, nil, nil,
					func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
						out, _ := metadata.FromOutgoingContext(ctx)
						for _, text := range out.Get(auth.MetadataPurpose) {
							if !auth.IsPrintableASCII(text) {
								t.Errorf("forwarded x-purpose %q, which grpc-go would not send", text)
							}
						}
						return nil
					})
			})
		switch code := status.Code(err); code {
		case codes.OK:
		case codes.InvalidArgument:
			if got := servicetest.Violations(t, err); !slices.Equal(got, []string{"purpose"}) {
				t.Errorf("violations on %v, want purpose", got)
			}
		default:
			// Only a blank purpose states none.
			if strings.TrimSpace(purpose) != "" || code != codes.PermissionDenied {
				t.Errorf("code %v: %v", code, err)
			}
		}
	})
}
