// Package request holds the checks of a request's shape that every service's gRPC
// port makes the same way: ids the register issues, and the client's request id that
// makes a create idempotent.
package request

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"

	"github.com/lillvet/register/services/platform/apperr"
)

// IdempotencyKeyMetadata is the metadata key the gateway fills from the REST
// Idempotency-Key header.
const IdempotencyKeyMetadata = "idempotency-key"

// MaxRequestIDLen bounds client request ids.
const MaxRequestIDLen = 128

// RequireID records field as invalid unless id is a UUID, as every id the register
// issues is.
func RequireID(v *apperr.ValidationError, field, id string) {
	if id == "" {
		v.Add(field, "is required")
		return
	}
	if _, err := uuid.Parse(id); err != nil {
		v.Add(field, "must be a UUID")
	}
}

// OptionalID is RequireID for an id that may be left empty.
func OptionalID(v *apperr.ValidationError, field, id string) {
	if id != "" {
		RequireID(v, field, id)
	}
}

// ClientRequestID returns the client's request id of a create: the body's, else the
// Idempotency-Key the gateway forwarded; "" when there is none.
func ClientRequestID(ctx context.Context, v *apperr.ValidationError, fromBody string) string {
	id := strings.TrimSpace(fromBody)
	if id == "" {
		if vals := metadata.ValueFromIncomingContext(ctx, IdempotencyKeyMetadata); len(vals) > 0 {
			id = strings.TrimSpace(vals[0])
		}
	}
	if len(id) > MaxRequestIDLen {
		v.Add("request_id", "must be at most 128 characters")
	}
	return id
}
