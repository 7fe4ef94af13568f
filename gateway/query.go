package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// strictQueryParser is grpc-gateway's query parser refusing any key it would ignore.
// The default parser skips a key that names no field of the request, so a misspelt
// filter (?customernumber=, ?nme=) lists every owner's first page instead of the ones
// asked for, and each owner listed gets an audited read; a misspelt body field is
// already an error. The keys it accepts are the ones grpc-gateway binds: a field's
// proto or JSON name, a dotted path through singular message fields, a repeated field
// given more than once, and field[key] for a map field.
type strictQueryParser struct{ runtime.DefaultQueryParser }

// Parse checks every key before the default parser binds the values. The error names
// the first bad key in sorted order, so that the answer does not depend on map order.
func (p *strictQueryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	keys := make([]string, 0, len(values))
	for key := range values {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		if err := checkQueryKey(msg.ProtoReflect().Descriptor(), key, filter); err != nil {
			return err
		}
	}
	return p.DefaultQueryParser.Parse(msg, values, filter)
}

// mapKeySyntax is grpc-gateway's field[key] form of a map entry.
var mapKeySyntax = regexp.MustCompile(`^(.*)\[(.*)\]$`)

// checkQueryKey resolves key the way grpc-gateway does: each dotted segment a field by
// its proto or JSON name, every segment but the last a singular message field, and the
// field[key] form only for a map. A key naming a field the path binds is refused too:
// grpc-gateway would ignore it as well.
func checkQueryKey(desc protoreflect.MessageDescriptor, key string, filter *utilities.DoubleArray) error {
	fieldKey, isMapEntry := key, false
	if m := mapKeySyntax.FindStringSubmatch(key); m != nil {
		fieldKey, isMapEntry = m[1], true
	}
	segments := strings.Split(fieldKey, ".")
	path := make([]string, 0, len(segments))
	var field protoreflect.FieldDescriptor
	for i, segment := range segments {
		if i > 0 && (field.Message() == nil || field.IsList() || field.IsMap()) {
			return unknownQueryKey(fieldKey)
		}
		if i > 0 {
			desc = field.Message()
		}
		field = desc.Fields().ByName(protoreflect.Name(segment))
		if field == nil {
			field = desc.Fields().ByJSONName(segment)
		}
		if field == nil {
			return unknownQueryKey(fieldKey)
		}
		path = append(path, string(field.Name()))
	}
	if isMapEntry && !field.IsMap() {
		return unknownQueryKey(fieldKey)
	}
	if filter.HasCommonPrefix(path) {
		return unknownQueryKey(fieldKey)
	}
	return nil
}

// errUnknownQueryKey is a key the request cannot take; decodeMessages turns it into a
// field violation.
var errUnknownQueryKey = errors.New("unknown query parameter")

// queryParameterName is a key that reads as a parameter's name (letters, digits,
// underscores, dots); quotable also keeps out one holding an identity code.
var queryParameterName = regexp.MustCompile(`^` + parameterName + `$`)

// parameterName is the pattern of a query parameter's name, which decodeMessages reads
// back from the error unknownQueryKey makes.
const parameterName = `[A-Za-z_][\w.]{0,63}`

// unknownQueryKey names the key when it reads as a name; the caller's other text stays
// out of the error, which grpc-gateway makes the status message.
func unknownQueryKey(key string) error {
	if !queryParameterName.MatchString(key) || !quotable(key) {
		return errUnknownQueryKey
	}
	return fmt.Errorf("%w %q", errUnknownQueryKey, key)
}
