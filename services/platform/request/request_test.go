package request_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/request"
)

func TestRequireID(t *testing.T) {
	for _, tc := range []struct {
		id, want string
		optional bool
	}{
		{"0b6d4f3e-2c59-4f0a-9e57-8d1f3a6c2b74", "", false},
		{"", "is required", false},
		{"", "", true},
		{"nappi", "must be a UUID", false},
		{"nappi", "must be a UUID", true},
	} {
		var v apperr.ValidationError
		if tc.optional {
			request.OptionalID(&v, "id", tc.id)
		} else {
			request.RequireID(&v, "id", tc.id)
		}
		got := ""
		if len(v.Violations) > 0 {
			got = v.Violations[0].Description
		}
		if got != tc.want {
			t.Errorf("id %q (optional %v): %q, want %q", tc.id, tc.optional, got, tc.want)
		}
	}
}

func TestClientRequestID(t *testing.T) {
	header := metadata.NewIncomingContext(context.Background(), metadata.Pairs(request.IdempotencyKeyMetadata, " key-1 "))
	for _, tc := range []struct {
		name       string
		ctx        context.Context
		body, want string
		invalid    bool
	}{
		{"none", context.Background(), "", "", false},
		{"body", header, " body-1 ", "body-1", false},
		{"header", header, "", "key-1", false},
		{"too long", context.Background(), strings.Repeat("x", request.MaxRequestIDLen+1), strings.Repeat("x", request.MaxRequestIDLen+1), true},
	} {
		var v apperr.ValidationError
		if got := request.ClientRequestID(tc.ctx, &v, tc.body); got != tc.want || (v.Err() != nil) != tc.invalid {
			t.Errorf("%s: %q (%v)", tc.name, got, v.Err())
		}
	}
}
