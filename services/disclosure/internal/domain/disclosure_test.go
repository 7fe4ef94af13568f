package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lillvet/register/services/platform/apperr"
)

func TestLegalBasis(t *testing.T) {
	for _, tc := range []struct {
		kind    Kind
		basis   Basis
		consent *ConsentCheck
	}{
		{KindInsurer, BasisInsurerAgreement, &ConsentCheck{ConsentInsurerDisclosure, "rcp-1"}},
		{KindKennelClub, BasisConsent, &ConsentCheck{Purpose: ConsentKennelClubDisclosure}},
		{KindCatFederation, BasisConsent, &ConsentCheck{Purpose: ConsentCatFederationDisclosure}},
		{KindMicrochipRegistry, BasisConsent, &ConsentCheck{ConsentMicrochipRegistryDisclosure, "rcp-1"}},
		{KindSubcontractor, BasisProcessorContract, nil},
		{KindDataSubject, BasisRightOfAccess, nil},
	} {
		basis, consent, ok := LegalBasis(Recipient{ID: "rcp-1", Kind: tc.kind})
		if !ok || basis != tc.basis || (consent == nil) != (tc.consent == nil) || (consent != nil && *consent != *tc.consent) {
			t.Errorf("%s: %s %+v %v, want %s %+v", tc.kind, basis, consent, ok, tc.basis, tc.consent)
		}
	}
	if _, _, ok := LegalBasis(Recipient{Kind: "police"}); ok {
		t.Error("an unknown kind has a legal basis")
	}
}

func validRequest() DisclosureRequest {
	return DisclosureRequest{
		RecipientID: " rcp-1 ", OwnerID: "own-1", PatientIDs: []string{"pat-1", " pat-2", "pat-1"},
		Categories: []Category{"visit_history", "owner_name"}, CaseReference: " claim 2026-4711 ", RequestID: "req-1",
	}
}

func TestValidateDisclosureRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*DisclosureRequest)
		fields []string
	}{
		{"valid", func(*DisclosureRequest) {}, nil},
		{"recipient required", func(r *DisclosureRequest) { r.RecipientID = "" }, []string{"d.recipient_id"}},
		{"owner required", func(r *DisclosureRequest) { r.OwnerID = " " }, []string{"d.owner_id"}},
		{"owner id too long", func(r *DisclosureRequest) { r.OwnerID = strings.Repeat("o", 129) }, []string{"d.owner_id"}},
		{"all patients", func(r *DisclosureRequest) { r.PatientIDs = nil }, nil},
		{"empty patient id", func(r *DisclosureRequest) { r.PatientIDs = []string{"pat-1", ""} }, []string{"d.patient_ids[1]"}},
		{"too many patients", func(r *DisclosureRequest) { r.PatientIDs = make([]string, 51) }, []string{"d.patient_ids"}},
		{"no categories", func(r *DisclosureRequest) { r.Categories = nil }, []string{"d.categories"}},
		{"too many categories", func(r *DisclosureRequest) { r.Categories = make([]Category, 33) }, []string{"d.categories"}},
		{"unknown category", func(r *DisclosureRequest) { r.Categories = []Category{"owner_name", "x"} }, []string{"d.categories[1]"}},
		{"case reference required", func(r *DisclosureRequest) { r.CaseReference = "" }, []string{"d.case_reference"}},
		{"case reference control", func(r *DisclosureRequest) { r.CaseReference = "a\x00" }, []string{"d.case_reference"}},
		{"request id optional", func(r *DisclosureRequest) { r.RequestID = "" }, nil},
		{"request id too long", func(r *DisclosureRequest) { r.RequestID = strings.Repeat("r", 129) }, []string{"d.request_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validRequest()
			tc.change(&r)
			var v apperr.ValidationError
			ValidateDisclosureRequest(&r, "d", &v)
			if got := violationFields(&v); !slices.Equal(got, tc.fields) {
				t.Fatalf("violations on %v, want %v (%v)", got, tc.fields, v.Err())
			}
		})
	}
	r := validRequest()
	var v apperr.ValidationError
	ValidateDisclosureRequest(&r, "d", &v)
	if r.RecipientID != "rcp-1" || r.CaseReference != "claim 2026-4711" ||
		!slices.Equal(r.PatientIDs, []string{"pat-1", "pat-2"}) ||
		!slices.Equal(r.Categories, []Category{CategoryOwnerName, CategoryVisitHistory}) {
		t.Fatalf("normalised to %+v", r)
	}
}

// FuzzValidateDisclosureRequest checks that no input panics, violations stay under the
// prefix, and what passes is in normal form.
func FuzzValidateDisclosureRequest(f *testing.F) {
	f.Add("rcp-1", "own-1", "pat-1,pat-1", "owner_name,invoices", "claim 1", "req-1")
	f.Add("", "\xff", ",", "IDENTITY_CODE", "\x00", "")
	f.Fuzz(func(t *testing.T, recipient, owner, patients, cats, caseRef, requestID string) {
		r := DisclosureRequest{RecipientID: recipient, OwnerID: owner, CaseReference: caseRef, RequestID: requestID}
		if patients != "" {
			r.PatientIDs = strings.Split(patients, ",")
		}
		for c := range strings.SplitSeq(cats, ",") {
			r.Categories = append(r.Categories, Category(c))
		}
		var v apperr.ValidationError
		ValidateDisclosureRequest(&r, "d", &v)
		for _, fv := range v.Violations {
			if !strings.HasPrefix(fv.Field, "d.") {
				t.Fatalf("violation field %q is not under the prefix", fv.Field)
			}
		}
		if v.Err() != nil {
			return
		}
		again := r
		again.PatientIDs, again.Categories = slices.Clone(r.PatientIDs), slices.Clone(r.Categories)
		ValidateDisclosureRequest(&again, "d", &v)
		if v.Err() != nil || !slices.Equal(again.PatientIDs, r.PatientIDs) || !slices.Equal(again.Categories, r.Categories) ||
			again.CaseReference != r.CaseReference || again.OwnerID != r.OwnerID || len(r.Categories) == 0 {
			t.Fatalf("validating %+v again gives %+v, %v", r, again, v.Err())
		}
	})
}

func TestEvaluate(t *testing.T) {
	insurer := Recipient{
		ID: "rcp-1", Kind: KindInsurer, Country: "FI", Active: true,
		Categories: []Category{CategoryOwnerName, CategoryPatientBasics, CategoryVisitHistory, CategoryInvoices},
	}
	granted := &ConsentVerdict{Allowed: true, Reason: "explicit_grant", EntryID: "ce-9"}
	request := DisclosureRequest{Categories: []Category{CategoryOwnerName, CategoryVisitHistory}}
	for _, tc := range []struct {
		name       string
		recipient  func(*Recipient)
		categories []Category
		restricted bool
		verdict    *ConsentVerdict
		refusal    *Refusal
		basis      Basis
		entry      string
	}{
		{name: "insurer with agreement", verdict: granted, basis: BasisInsurerAgreement, entry: "ce-9"},
		{name: "inactive", recipient: func(r *Recipient) { r.Active = false }, verdict: granted,
			refusal: &Refusal{Reason: RefusalRecipientInactive}},
		{name: "moved outside the EEA", recipient: func(r *Recipient) { r.Country = "US" }, verdict: granted,
			refusal: &Refusal{Reason: RefusalOutsideEEA}},
		{name: "category narrowed away", categories: []Category{CategoryOwnerName, CategoryMedications}, verdict: granted,
			refusal: &Refusal{Reason: RefusalCategoryNotAllowed, Categories: []Category{CategoryMedications}}},
		{name: "identity code never to an insurer", categories: []Category{CategoryIdentityCode}, verdict: granted,
			refusal: &Refusal{Reason: RefusalCategoryNotAllowed, Categories: []Category{CategoryIdentityCode}}},
		{name: "stored set wider than the kind is cut back",
			recipient:  func(r *Recipient) { r.Categories = append(r.Categories, CategoryIdentityCode) },
			categories: []Category{CategoryIdentityCode}, verdict: granted,
			refusal: &Refusal{Reason: RefusalCategoryNotAllowed, Categories: []Category{CategoryIdentityCode}}},
		{name: "owner restricted", restricted: true, verdict: granted, refusal: &Refusal{Reason: RefusalOwnerRestricted}},
		{name: "no agreement", verdict: &ConsentVerdict{Reason: "no_grant"},
			refusal: &Refusal{Reason: RefusalNoLegalBasis, ConsentReason: "no_grant"}},
		{name: "agreement withdrawn", verdict: &ConsentVerdict{Reason: "withdrawal", EntryID: "ce-10"},
			refusal: &Refusal{Reason: RefusalNoLegalBasis, ConsentReason: "withdrawal"}},
		{name: "consent not checked", refusal: &Refusal{Reason: RefusalNoLegalBasis, ConsentReason: ConsentReasonNotChecked}},
		{name: "allowed without an entry", verdict: &ConsentVerdict{Allowed: true, Reason: "default_opt_out"},
			refusal: &Refusal{Reason: RefusalNoLegalBasis, ConsentReason: ConsentReasonNoEntry}},
		{name: "inactive outranks everything", recipient: func(r *Recipient) { r.Active, r.Country = false, "US" },
			categories: []Category{CategoryIdentityCode}, restricted: true, refusal: &Refusal{Reason: RefusalRecipientInactive}},
		{name: "category before restriction", categories: []Category{CategoryOwnerContact}, restricted: true,
			refusal: &Refusal{Reason: RefusalCategoryNotAllowed, Categories: []Category{CategoryOwnerContact}}},
		{name: "subcontractor under contract",
			recipient: func(r *Recipient) {
				r.Kind, r.AgreementRef, r.Categories = KindSubcontractor, "DPA-1", DefaultCategories(KindSubcontractor)
			}, basis: BasisProcessorContract},
		{name: "subcontractor without contract",
			recipient: func(r *Recipient) { r.Kind, r.Categories = KindSubcontractor, DefaultCategories(KindSubcontractor) },
			refusal:   &Refusal{Reason: RefusalNoLegalBasis, ConsentReason: ConsentReasonNoContract}},
		{name: "kennel club with grant",
			recipient: func(r *Recipient) { r.Kind, r.Categories = KindKennelClub, DefaultCategories(KindKennelClub) },
			verdict:   granted, basis: BasisConsent, entry: "ce-9"},
		{name: "data subject's copy", recipient: func(r *Recipient) { *r = DataSubjectRecipient() },
			categories: Categories(), basis: BasisRightOfAccess},
		{name: "unknown kind", recipient: func(r *Recipient) { r.Kind = "police" },
			refusal: &Refusal{Reason: RefusalCategoryNotAllowed, Categories: request.Categories}},
		{name: "data subject gets the identity code even when restricted and abroad",
			recipient:  func(r *Recipient) { *r = DataSubjectRecipient(); r.Country = "US" },
			categories: Categories(), restricted: true, basis: BasisRightOfAccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := insurer
			r.Categories = slices.Clone(insurer.Categories)
			if tc.recipient != nil {
				tc.recipient(&r)
			}
			req := request
			if tc.categories != nil {
				req.Categories = tc.categories
			}
			got := Evaluate(r, req, tc.restricted, tc.verdict)
			if !refusalsEqual(got.Refusal, tc.refusal) {
				t.Fatalf("refusal %+v, want %+v", got.Refusal, tc.refusal)
			}
			if !slices.Equal(got.Categories, req.Categories) {
				t.Errorf("categories %v, want the requested %v", got.Categories, req.Categories)
			}
			if tc.refusal == nil && (got.Basis != tc.basis || got.ConsentEntryID != tc.entry) {
				t.Errorf("basis %s entry %q, want %s %q", got.Basis, got.ConsentEntryID, tc.basis, tc.entry)
			}
		})
	}
}

func TestRefusalErr(t *testing.T) {
	for _, tc := range []struct {
		refusal Refusal
		says    string
	}{
		{Refusal{Reason: RefusalRecipientInactive}, "deactivated"},
		{Refusal{Reason: RefusalOutsideEEA}, "outside the EU/EEA"},
		{Refusal{Reason: RefusalCategoryNotAllowed, Categories: []Category{CategoryIdentityCode, CategoryMicrochip}},
			"identity_code, microchip"},
		{Refusal{Reason: RefusalOwnerRestricted}, "restricted"},
		{Refusal{Reason: RefusalNoLegalBasis, ConsentReason: "no_grant"}, "no legal basis for the disclosure now: no_grant"},
		{Refusal{Reason: RefusalNoLegalBasis}, "no legal basis for the disclosure now"},
		{Refusal{Reason: "NEW"}, "refused"},
	} {
		var pe *apperr.PreconditionError
		if err := tc.refusal.Err(); !errors.As(err, &pe) || pe.Reason != string(tc.refusal.Reason) ||
			!strings.Contains(pe.Description, tc.says) {
			t.Errorf("%+v: %v, want reason %s saying %q", tc.refusal, err, tc.refusal.Reason, tc.says)
		}
	}
}

func refusalsEqual(a, b *Refusal) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Reason == b.Reason && a.ConsentReason == b.ConsentReason && slices.Equal(a.Categories, b.Categories)
}

// TestSameRequest: a request id's retry is the request that logged the entry, whatever
// the order of its categories and patients; the id sent with other categories, patients,
// case reference, recipient or owner is another request. An entry logged before the
// patients named were kept cannot tell its patients apart, and is compared without them.
func TestSameRequest(t *testing.T) {
	logged := Record{
		RecipientID: "rcp-1", OwnerID: "own-1", PatientIDs: []string{"pat-1", "pat-2", "pat-3"},
		Requested:  &Requested{PatientIDs: []string{"pat-1", "pat-2"}},
		Categories: []Category{CategoryOwnerName, CategoryMicrochip}, CaseReference: "claim 2026-117",
	}
	before := logged
	before.Requested = nil
	request := func(change func(*DisclosureRequest)) DisclosureRequest {
		r := DisclosureRequest{
			RecipientID: "rcp-1", OwnerID: "own-1", PatientIDs: []string{"pat-1", "pat-2"},
			Categories: []Category{CategoryOwnerName, CategoryMicrochip}, CaseReference: "claim 2026-117",
		}
		change(&r)
		return r
	}
	for _, tc := range []struct {
		name   string
		logged Record
		req    DisclosureRequest
		same   bool
	}{
		{"the same request", logged, request(func(*DisclosureRequest) {}), true},
		{"in another order", logged, request(func(r *DisclosureRequest) {
			r.Categories = []Category{CategoryMicrochip, CategoryOwnerName}
			r.PatientIDs = []string{"pat-2", "pat-1"}
		}), true},
		{"other categories", logged, request(func(r *DisclosureRequest) { r.Categories = []Category{CategoryOwnerName} }), false},
		{"another case reference", logged, request(func(r *DisclosureRequest) { r.CaseReference = "claim 2026-999" }), false},
		{"other patients", logged, request(func(r *DisclosureRequest) { r.PatientIDs = []string{"pat-1"} }), false},
		{"every patient, the entry's named", logged, request(func(r *DisclosureRequest) { r.PatientIDs = nil }), false},
		{"every patient as the package covered them", logged, request(func(r *DisclosureRequest) {
			r.PatientIDs = []string{"pat-1", "pat-2", "pat-3"}
		}), false},
		{"another recipient", logged, request(func(r *DisclosureRequest) { r.RecipientID = "rcp-2" }), false},
		{"another owner", logged, request(func(r *DisclosureRequest) { r.OwnerID = "own-2" }), false},
		{"logged before: the same request", before, request(func(*DisclosureRequest) {}), true},
		{"logged before: other patients cannot be told", before, request(func(r *DisclosureRequest) { r.PatientIDs = nil }), true},
		{"logged before: other categories", before, request(func(r *DisclosureRequest) { r.Categories = []Category{CategoryOwnerName} }), false},
		{"logged before: another case reference", before, request(func(r *DisclosureRequest) { r.CaseReference = "x" }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SameRequest(tc.logged, tc.req); got != tc.same {
				t.Errorf("SameRequest = %v, want %v", got, tc.same)
			}
		})
	}
}

// TestSingleActiveKinds: exactly the kinds whose consent check names no recipient allow
// one active recipient only, since a grant for the kind would reach every one of them.
func TestSingleActiveKinds(t *testing.T) {
	for _, k := range Kinds() {
		if !k.Registrable() {
			continue
		}
		_, check, _ := LegalBasis(Recipient{ID: "r1", Kind: k})
		unscoped := check != nil && check.Scope == ""
		if k.SingleActive() != unscoped {
			t.Errorf("%s: single active %t, but its consent check is %+v", k, k.SingleActive(), check)
		}
	}
}
