package auth_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
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
			onDenied := func(_ context.Context, method string, id auth.Identity, reason string) {
				denied = true
				if method != tt.method || id.Subject != "s1" || reason == "" {
					t.Errorf("onDenied(%q, %+v, %q)", method, id, reason)
				}
			}
			icpt := auth.UnaryServerInterceptor(v, policy, onDenied)
			ctx := metadata.NewIncomingContext(t.Context(), tt.md)
			_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, func(ctx context.Context, _ any) (any, error) {
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

func TestInterceptorRefusesIdentityCodeInPurpose(t *testing.T) {
	iss := newIssuer(t, testIssuer, testAudience)
	v := newVerifier(t, iss)
	policy := auth.Policy{getOwner: {Roles: []auth.Role{auth.RoleReception}, WithPurpose: []auth.Role{auth.RoleMaintainer}}}
	tests := []struct {
		name    string
		role    auth.Role
		purpose []string
	}{
		{"maintainer", auth.RoleMaintainer, []string{"asiakas 131052-308T soitti"}},
		{"role that needs no purpose", auth.RoleReception, []string{"check 010190y123m"}},
		{"role the policy denies", auth.RoleNurse, []string{"131052-308T"}},
		{"past the part Purpose keeps", auth.RoleMaintainer, []string{strings.Repeat("x", 195) + " 131052-308T"}},
		{"second value", auth.RoleMaintainer, []string{"incident 7", "131052-308T"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint(devauth.Claims{Subject: "s1", Roles: []auth.Role{tt.role}}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			md := metadata.Pairs("authorization", "Bearer "+tok)
			md.Append(auth.MetadataPurpose, tt.purpose...)
			onDenied := func(context.Context, string, auth.Identity, string) {
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

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f fakeStream) Context() context.Context { return f.ctx }

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

func TestForwardingUnaryClientInterceptor(t *testing.T) {
	in := metadata.NewIncomingContext(t.Context(), metadata.Pairs("x-purpose", "billing run"))
	ctx := auth.WithIdentity(in, auth.Identity{Subject: "s1", Token: "tok"})
	tests := []struct {
		name      string
		ctx       context.Context
		wantAuth  string
		wantPurp  string
		wantEmpty bool
	}{
		{name: "forwards identity and purpose", ctx: ctx, wantAuth: "Bearer tok", wantPurp: "billing run"},
		{name: "explicit outgoing wins", ctx: auth.WithOutgoingToken(ctx, "other", "mine"), wantAuth: "Bearer other", wantPurp: "mine"},
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
				if got := md.Get("x-purpose"); len(got) != 1 || got[0] != tt.wantPurp {
					t.Errorf("x-purpose = %v, want %q", got, tt.wantPurp)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
