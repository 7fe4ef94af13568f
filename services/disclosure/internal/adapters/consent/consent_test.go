package consent

import (
	"testing"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// TestEveryConsentPurposeHasAnEnumValue keeps the domain's purposes in step with the
// consent API: a purpose without a value would make every such disclosure fail.
func TestEveryConsentPurposeHasAnEnumValue(t *testing.T) {
	for _, k := range domain.Kinds() {
		_, check, _ := domain.LegalBasis(domain.Recipient{Kind: k, ID: "r"})
		if check == nil {
			continue
		}
		if Purpose(check.Purpose) == consentv1.Purpose_PURPOSE_UNSPECIFIED {
			t.Errorf("kind %s: purpose %s has no consent enum value", k, check.Purpose)
		}
	}
}

func TestReason(t *testing.T) {
	for r, want := range map[consentv1.Reason]string{
		consentv1.Reason_REASON_NO_GRANT:         "no_grant",
		consentv1.Reason_REASON_EXPLICIT_GRANT:   "explicit_grant",
		consentv1.Reason_REASON_OWNER_RESTRICTED: "owner_restricted",
	} {
		if got := reason(r); got != want {
			t.Errorf("reason(%v) = %q, want %q", r, got, want)
		}
	}
}
