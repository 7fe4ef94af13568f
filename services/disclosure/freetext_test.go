package disclosure_test

import (
	"testing"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestFreeTextRefusesIdentityCodes: an identity code typed into a case reference, an
// extension's reason, who identified a requester, a recipient's contact or the stated
// purpose is refused on that field, never stored (disclosure log, requests, recipients
// or audit log) and not repeated in the error.
func TestFreeTextRefusesIdentityCodes(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Mäkinen")
	ins := s.register(t, insurer("Lähitapiola", "FI"))
	s.agree(t, ownerID, ins.GetId())
	manager := s.as(t, auth.RoleClinicManager)
	request := s.recordAccess(t, manager, "", letter(ownerID, nil))
	// Not the owner's own code, which the owner service holds encrypted.
	const text = "asiakkaan hetu 010190Y123M"
	servicetest.Refused(t, "010190", []servicetest.Refusal{
		{Name: "case reference", Field: "case_reference", Call: func() error {
			req := claim(ins.GetId(), ownerID, ownerName)
			req.CaseReference = text
			_, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), req)
			return err
		}},
		{Name: "extension reason", Field: "reason", Call: func() error {
			_, err := s.disclosure.ExtendAccessRequest(manager, &disclosurev1.ExtendAccessRequestRequest{AccessRequestId: request.GetId(), Reason: text})
			return err
		}},
		{Name: "who identified an access request", Field: "access_request.identified_by", Call: func() error {
			r := letter(ownerID, nil)
			r.IdentifiedBy = "staff-desk 010190y123m"
			_, err := s.disclosure.RecordAccessRequest(manager, &disclosurev1.RecordAccessRequestRequest{AccessRequest: r})
			return err
		}},
		{Name: "who identified an erasure request", Field: "erasure_request.identified_by", Call: func() error {
			_, err := s.disclosure.CreateErasureRequest(manager, &disclosurev1.CreateErasureRequestRequest{ErasureRequest: &disclosurev1.ErasureRequest{
				OwnerId: ownerID, Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_LETTER,
				Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_REGISTERED_CONTACT, IdentifiedBy: text,
			}})
			return err
		}},
		{Name: "recipient's contact", Field: "recipient.contact.name", Call: func() error {
			r := insurer("Pohjola", "FI")
			r.Contact.Name = text
			_, err := s.disclosure.CreateRecipient(manager, &disclosurev1.CreateRecipientRequest{Recipient: r})
			return err
		}},
		{Name: "recipient's contact e-mail", Field: "recipient.contact.email", Call: func() error {
			r := insurer("Pohjola", "FI")
			r.Contact.Email = "010190Y123M@example.fi"
			_, err := s.disclosure.CreateRecipient(manager, &disclosurev1.CreateRecipientRequest{Recipient: r})
			return err
		}},
		{Name: "stated purpose", Field: "purpose", Call: func() error {
			ctx := auth.WithOutgoingToken(t.Context(), s.env.Token(t, auth.RoleMaintainer), text)
			_, err := s.disclosure.GetAccessRequest(ctx, &disclosurev1.GetAccessRequestRequest{AccessRequestId: request.GetId()})
			return err
		}},
	})
	if log := s.ownerLog(t, ownerID); len(log) != 0 {
		t.Errorf("the disclosure log after a refused disclosure: %v", log)
	}
	s.stopDisclosure()
	servicetest.NotStored(t, s.env, "010190Y123", disclosureDatabase)
}

// TestRecipientPhoneRefusesIdentityCode: a contact phone number written as a code with a
// country code before it ("+358 131052-0040", where 131052-0040 is a valid code) is
// refused on the phone field, and its digits are not stored without the separators: a
// recipient's contact is shown to everyone who reads recipients and in Art. 19 lists.
func TestRecipientPhoneRefusesIdentityCode(t *testing.T) {
	const phone = "+358 131052-0040"
	if _, err := identitycode.Parse("131052-0040", false); err != nil || !identitycode.Contains(phone) {
		t.Fatalf("test vector: %v, contains %v", err, identitycode.Contains(phone))
	}
	s := start(t)
	s.register(t, insurer("Lähitapiola", "FI")) // something stored, for NotStored to search
	servicetest.Refused(t, "1310520040", []servicetest.Refusal{
		{Name: "recipient's contact phone", Field: "recipient.contact.phone", Call: func() error {
			r := insurer("Pohjola", "FI")
			r.Contact.Phone = phone
			_, err := s.disclosure.CreateRecipient(s.as(t, auth.RoleClinicManager), &disclosurev1.CreateRecipientRequest{Recipient: r})
			return err
		}},
	})
	s.stopDisclosure()
	servicetest.NotStored(t, s.env, "1310520040", disclosureDatabase)
}
