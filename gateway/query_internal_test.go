package gateway

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
)

// TestCheckQueryKeyResolvesKeysAsGrpcGatewayBindsThem covers the key forms no query
// route of the API has yet (nested messages, repeated fields), on messages that do.
func TestCheckQueryKeyResolvesKeysAsGrpcGatewayBindsThem(t *testing.T) {
	ownerIDFromPath := utilities.NewDoubleArray([][]string{{"owner_id"}})
	update, list := &ownerv1.UpdateOwnerRequest{}, &ownerv1.ListOwnersResponse{}
	for _, tc := range []struct {
		name  string
		msg   proto.Message
		key   string
		known bool
	}{
		{"nested field by proto names", update, "owner.family_name", true},
		{"nested field by JSON names", update, "owner.familyName", true},
		{"mixed spellings", update, "owner.address.postalCode", true},
		{"well-known type as a whole", update, "updateMask", true},
		{"into a well-known type", update, "update_mask.paths", true},
		{"repeated message field", list, "owners", true},
		{"unknown nested field", update, "owner.nme", false},
		{"through a repeated field", list, "owners.family_name", false},
		{"through a string", update, "owner.phone.number", false},
		{"bound by the path", update, "ownerId", false},
		{"map syntax on a message", update, "owner[phone]", false},
		{"empty key", update, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkQueryKey(tc.msg.ProtoReflect().Descriptor(), tc.key, ownerIDFromPath)
			if tc.known && err != nil {
				t.Errorf("checkQueryKey(%q) = %v, want a known key", tc.key, err)
			}
			if !tc.known && !errors.Is(err, errUnknownQueryKey) {
				t.Errorf("checkQueryKey(%q) = %v, want errUnknownQueryKey", tc.key, err)
			}
		})
	}
}

// FuzzCheckQueryKey: any key either resolves or is refused, and the refusal quotes the
// key only when it is a plain name (never an identity code typed in as a key).
func FuzzCheckQueryKey(f *testing.F) {
	for _, seed := range []string{"pageSize", "owner.address.postalCode", "name[131052-308T]", "131052-308T", "", ".", "a..b", "[]",
		"hetu010105A123B", "name.010105A123B", "_131052Y308T"} {
		f.Add(seed)
	}
	desc := (&ownerv1.UpdateOwnerRequest{}).ProtoReflect().Descriptor()
	filter := utilities.NewDoubleArray([][]string{{"owner_id"}})
	f.Fuzz(func(t *testing.T, key string) {
		err := checkQueryKey(desc, key, filter)
		if err == nil || err.Error() == errUnknownQueryKey.Error() {
			return
		}
		if !errors.Is(err, errUnknownQueryKey) {
			t.Fatalf("checkQueryKey(%q) = %v, want errUnknownQueryKey", key, err)
		}
		quoted, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), errUnknownQueryKey.Error()+" "))
		if uerr != nil || !queryParameterName.MatchString(quoted) || !quotable(quoted) || !strings.HasPrefix(key, quoted) {
			t.Fatalf("checkQueryKey(%q) = %v: quotes more than the key's plain name", key, err)
		}
	})
}
