package grpc

import (
	"testing"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// TestEnumsMatchTheDomain checks that the API's enums and the domain's values map onto
// each other both ways, so a value added on one side only fails here.
func TestEnumsMatchTheDomain(t *testing.T) {
	for _, k := range domain.Kinds() {
		p := kindToProto(k)
		if p == disclosurev1.RecipientKind_RECIPIENT_KIND_UNSPECIFIED || kindFromProto(p) != k {
			t.Errorf("kind %s maps to %v", k, p)
		}
	}
	if n := len(disclosurev1.RecipientKind_value) - 1; n != len(domain.Kinds()) {
		t.Errorf("%d kinds in the API, %d in the domain", n, len(domain.Kinds()))
	}
	for _, c := range domain.Categories() {
		p := categoriesToProto([]domain.Category{c})[0]
		if p == disclosurev1.DataCategory_DATA_CATEGORY_UNSPECIFIED {
			t.Errorf("category %s has no API value", c)
		}
		if got := categoriesFromProto([]disclosurev1.DataCategory{p})[0]; got != c {
			t.Errorf("category %s round-trips to %s", c, got)
		}
	}
	if n := len(disclosurev1.DataCategory_value) - 1; n != len(domain.Categories()) {
		t.Errorf("%d categories in the API, %d in the domain", n, len(domain.Categories()))
	}
	for _, b := range []domain.Basis{domain.BasisConsent, domain.BasisInsurerAgreement, domain.BasisProcessorContract, domain.BasisRightOfAccess} {
		if basisToProto(b) == disclosurev1.LegalBasis_LEGAL_BASIS_UNSPECIFIED {
			t.Errorf("basis %s has no API value", b)
		}
	}
	if kindFromProto(disclosurev1.RecipientKind_RECIPIENT_KIND_UNSPECIFIED) != "" {
		t.Error("UNSPECIFIED maps to a kind")
	}
}

// TestAccessEnumsMatchTheDomain does the same for the access request's enums.
func TestAccessEnumsMatchTheDomain(t *testing.T) {
	channels := []domain.Channel{domain.ChannelLetter, domain.ChannelEmail, domain.ChannelInPerson, domain.ChannelPortal}
	methods := []domain.Identification{domain.IdentifiedByDocument, domain.IdentifiedStrongElectronic, domain.IdentifiedRegisteredContact}
	for _, c := range channels {
		for _, m := range methods {
			r := domain.AccessRequest{Channel: c, Identification: m, Status: domain.AccessReceived}
			p := accessRequestToProto(r)
			back := accessRequestFromProto(p)
			if p.GetChannel() == disclosurev1.AccessChannel_ACCESS_CHANNEL_UNSPECIFIED ||
				p.GetIdentification() == disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_UNSPECIFIED ||
				back.Channel != c || back.Identification != m {
				t.Errorf("%s/%s maps to %v/%v and back to %s/%s", c, m, p.GetChannel(), p.GetIdentification(), back.Channel, back.Identification)
			}
		}
	}
	if n := len(disclosurev1.AccessChannel_value) - 1; n != len(channels) {
		t.Errorf("%d channels in the API, %d in the domain", n, len(channels))
	}
	if n := len(disclosurev1.IdentificationMethod_value) - 1; n != len(methods) {
		t.Errorf("%d identification methods in the API, %d in the domain", n, len(methods))
	}
	for _, s := range []domain.AccessStatus{domain.AccessReceived, domain.AccessAnswered} {
		if accessRequestToProto(domain.AccessRequest{Status: s}).GetStatus() == disclosurev1.AccessRequestStatus_ACCESS_REQUEST_STATUS_UNSPECIFIED {
			t.Errorf("status %s has no API value", s)
		}
	}
}

func TestErasureEnumsMatchTheDomain(t *testing.T) {
	states := []domain.JobState{domain.JobRunning, domain.JobDone, domain.JobStuck}
	for _, s := range states {
		if erasureRequestToProto(domain.ErasureJob{State: s}).GetState() == disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_UNSPECIFIED {
			t.Errorf("job state %s has no API value", s)
		}
	}
	if n := len(disclosurev1.ErasureRequestState_value) - 1; n != len(states) {
		t.Errorf("%d request states in the API, %d in the domain", n, len(states))
	}
	steps := []domain.StepState{domain.StepPending, domain.StepRunning, domain.StepDone, domain.StepFailed}
	for _, s := range steps {
		if stepToProto(domain.Step{State: s}).GetState() == disclosurev1.ErasureStepState_ERASURE_STEP_STATE_UNSPECIFIED {
			t.Errorf("step state %s has no API value", s)
		}
	}
	if n := len(disclosurev1.ErasureStepState_value) - 1; n != len(steps) {
		t.Errorf("%d step states in the API, %d in the domain", n, len(steps))
	}
}
