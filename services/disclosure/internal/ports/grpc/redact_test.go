package grpc

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// TestRecipientServedWithoutIdentityCode: every staff-typed text of a stored recipient
// (a foreign business id and an e-mail address are free in form) is served without an
// identity code, in a form (a combining grapheme joiner inside) that the check at
// writing missed before the detector saw through it.
func TestRecipientServedWithoutIdentityCode(t *testing.T) {
	const stored = "131052\u034f-308T"
	got := recipientToProto(domain.Recipient{
		Name: stored, Country: "SE", BusinessID: "ref " + stored, AgreementRef: stored,
		Contact: domain.Contact{Name: stored, Email: stored + "@example.se"},
	})
	if text := prototext.Format(got); strings.Contains(text, "308T") {
		t.Errorf("served with the code:\n%s", text)
	}
}
