// Package protomap holds the small helpers every service's gRPC port uses to map
// between protobuf messages and domain values, so that each is written once.
package protomap

import (
	"math"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// Reverse returns the inverse of an enum map (proto value → domain value), for the
// way out. The map must be one-to-one.
func Reverse[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// Timestamp maps the zero time (unset in the domain) to an absent timestamp.
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// All maps every element of in with f; an empty in gives nil, which protobuf and
// BSON both treat as absent.
func All[A, B any](in []A, f func(A) B) []B {
	if len(in) == 0 {
		return nil
	}
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

// EnumName turns a protobuf enum value's name into the lower-case word other
// services' APIs and JSON documents use: EnumName("SPECIES_DOG", "SPECIES_") is "dog".
// The unspecified value gives "", which JSON leaves out.
func EnumName(name, prefix string) string {
	s := strings.ToLower(strings.TrimPrefix(name, prefix))
	if s == "unspecified" {
		return ""
	}
	return s
}

// JSONName is the JSON name protobuf gives the field named name in a .proto file, by
// the rule protojson writes and reads it with ("start_time" is "startTime"): the names
// a REST client writes, in an update mask's paths too, where the gateway turns them
// back into the proto names a service sees and names in its errors.
func JSONName(name string) string {
	var b strings.Builder
	afterUnderscore := false
	for _, c := range []byte(name) {
		if c == '_' {
			afterUnderscore = true
			continue
		}
		if afterUnderscore && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
		afterUnderscore = false
	}
	return b.String()
}

// Time is the inverse of Timestamp: an absent or invalid timestamp is the zero time.
func Time(t *timestamppb.Timestamp) time.Time {
	if !t.IsValid() {
		return time.Time{}
	}
	return t.AsTime()
}

// Count32 is a count in the int32 protobuf APIs use, saturated at its bounds (a count
// that large is a bug elsewhere; the answer stays well-formed).
func Count32(n int) int32 {
	switch {
	case n < 0:
		return 0
	case n > math.MaxInt32:
		return math.MaxInt32
	default:
		return int32(n)
	}
}
