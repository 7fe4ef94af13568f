package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lillvet/register/proto/gen/openapi"
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
// each bad key, in sorted order, so that the caller can fix them all at once and the
// answer does not depend on map order.
func (p *strictQueryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	var bad []error
	for _, key := range sortedKeys(values) {
		if err := checkQueryKey(msg.ProtoReflect().Descriptor(), key, filter); err != nil {
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		return errors.Join(bad...)
	}
	return p.DefaultQueryParser.Parse(msg, values, filter)
}

func sortedKeys(values url.Values) []string {
	keys := make([]string, 0, len(values))
	for key := range values {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

// refuseQuery answers 400 to a query on a route that reads none: grpc-gateway leaves the
// query of such a route (one whose fields all come from the path or the body) unread,
// so that ?pageSize=10 on the owner's change history, or a misspelt parameter meant for
// another route, was dropped without a word while strictQueryParser refuses the same key
// on a route that reads the query. Every key is named, as strictQueryParser names them.
// readsQuery says which routes read one.
func refuseQuery(readsQuery queryRoutes, errs errorWriter) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			if r.URL.RawQuery != "" && !readsQuery.reads(r) {
				if err := unknownQuery(r.URL.RawQuery); err != nil {
					errs.handle(r.Context(), nil, errs.marshaler, w, r, status.Error(codes.InvalidArgument, err.Error()))
					return
				}
			}
			next(w, r, params)
		}
	}
}

// unknownQuery is the error of a query none of whose keys the route takes; nil for one
// without keys ("&").
func unknownQuery(rawQuery string) error {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		// Parts that are no key=value pair at all (a semicolon): the key cannot be named.
		return errUnknownQueryKey
	}
	var bad []error
	for _, key := range sortedKeys(values) {
		bad = append(bad, unknownQueryKey(key))
	}
	return errors.Join(bad...)
}

// queryRoutes are the routes that read a query, keyed by method and path shape
// (routeShape).
type queryRoutes map[string]bool

// newQueryRoutes takes the routes that read a query from the OpenAPI document, which
// buf generates from the same HTTP rules as the handlers and which lists a route's
// query parameters exactly when grpc-gateway reads its query: grpc-gateway's mux tells
// a middleware the route's pattern but not its request message.
func newQueryRoutes() (queryRoutes, error) {
	ops, err := openapi.Operations()
	if err != nil {
		return nil, fmt.Errorf("routes reading a query: %w", err)
	}
	routes := queryRoutes{}
	for op, query := range ops {
		if len(query) > 0 {
			routes[op.Method+" "+routeShape(op.Path)] = true
		}
	}
	return routes, nil
}

// reads reports whether the route r matched reads a query.
func (q queryRoutes) reads(r *http.Request) bool {
	p, ok := runtime.HTTPPattern(r.Context())
	return ok && q[r.Method+" "+routeShape(p.String())]
}

// pathVariable is a variable of a path template, as the OpenAPI document writes it
// ("{ownerId}") or grpc-gateway's pattern does ("{owner_id=*}").
var pathVariable = regexp.MustCompile(`\{[^}]*\}`)

// routeShape is a path template with its variables unnamed, the same for a route's
// pattern and its path in the OpenAPI document: two routes of one method cannot differ
// in their variables' names alone.
func routeShape(template string) string {
	return pathVariable.ReplaceAllString(template, "{}")
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
