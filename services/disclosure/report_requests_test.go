package disclosure_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// requestsJSON is the report's sections of the owner's requests as a client reads them.
type requestsJSON struct {
	GeneratedAt    time.Time
	AccessRequests []struct {
		ID, Channel, Identification, IdentifiedBy, Language, DueDate, ExtendedDueDate, ExtensionReason string
		EarlierRequestID, Status, RecordedBy                                                           string
		Current, PossiblyChargeable                                                                    bool
		ReceivedAt, AnsweredAt                                                                         time.Time
	}
	ErasureRequests []struct {
		ID, Channel, Identification, IdentifiedBy, State, RecordedBy string
		FinishedAt                                                   time.Time
		Dispositions                                                 []dispositionJSON
	}
}

type dispositionJSON struct {
	Service, RecordClass, LegalBasis, KeptUntil string
	Kept                                        bool
	Count                                       int
}

// requestsFixture is an owner with two access requests, the later one extended and
// answered by the report, and an erasure request carried out.
type requestsFixture struct {
	ownerID          string
	earlier, current *disclosurev1.AccessRequest
	erasure          *disclosurev1.ErasureRequest
}

const extensionReason = "Many records in the archive of the Kangasala clinic"

func (s *system) requestsFixture(t *testing.T) requestsFixture {
	t.Helper()
	var f requestsFixture
	var patientID string
	f.ownerID, patientID = s.customer(t, "Heikkinen")
	s.erasureHistory(t, f.ownerID, patientID)
	s.object(t, f.ownerID)
	manager := s.as(t, auth.RoleClinicManager)
	f.earlier = s.recordAccess(t, s.as(t, auth.RoleReception), "", &disclosurev1.AccessRequest{
		OwnerId: f.ownerID, ReceiveTime: nil, Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_IN_PERSON,
		Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_IDENTITY_DOCUMENT, IdentifiedBy: "test-reception",
		Language: "sv",
	})
	current := s.recordAccess(t, manager, "", letter(f.ownerID, nil))
	ext, err := s.disclosure.ExtendAccessRequest(manager, &disclosurev1.ExtendAccessRequestRequest{
		AccessRequestId: current.GetId(), Reason: extensionReason,
	})
	if err != nil {
		t.Fatalf("extend: %v", err)
	}
	f.current = ext.GetAccessRequest()
	created := s.requestErasure(t, f.ownerID, "")
	f.erasure = s.waitErasure(t, created.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_DONE))
	return f
}

// TestAccessReportRequests: the JSON report holds the owner's access requests, the
// one it answers marked and shown answered when the copy was made, with how each came
// and was identified, the due dates and the extension's reason as the owner was told;
// and the erasure request with what each service erased and kept, as the request
// itself reads.
func TestAccessReportRequests(t *testing.T) {
	s := start(t)
	f := s.requestsFixture(t)
	manager := s.as(t, auth.RoleClinicManager)
	res, err := s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: f.current.GetId()})
	if err != nil {
		t.Fatalf("report: %v\n%s", err, s.env.Logs())
	}
	var rep requestsJSON
	if err := json.Unmarshal(res.GetReport().GetData(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.AccessRequests) != 2 {
		t.Fatalf("access requests %+v", rep.AccessRequests)
	}
	earlier, current := rep.AccessRequests[0], rep.AccessRequests[1]
	if earlier.ID != f.earlier.GetId() || earlier.Current || earlier.Channel != "in_person" || earlier.Identification != "identity_document" ||
		earlier.IdentifiedBy != "test-reception" || earlier.Language != "sv" || earlier.Status != "received" ||
		earlier.PossiblyChargeable || earlier.DueDate != f.earlier.GetDueDate() || earlier.RecordedBy != "test-reception" ||
		!earlier.AnsweredAt.IsZero() || earlier.ExtensionReason != "" {
		t.Errorf("the earlier request %+v", earlier)
	}
	after, err := s.disclosure.GetAccessRequest(manager, &disclosurev1.GetAccessRequestRequest{AccessRequestId: f.current.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	// The copy is the answer: the request reads answered at the copy's time, as the
	// service records it once the copy is given.
	if current.ID != f.current.GetId() || !current.Current || current.Channel != "letter" || current.Identification != "registered_contact" ||
		current.IdentifiedBy != "staff-manager" || current.Language != "fi" || current.DueDate != f.current.GetDueDate() ||
		current.ExtendedDueDate == "" || current.ExtendedDueDate != f.current.GetExtendedDueDate() || current.ExtensionReason != extensionReason ||
		!current.PossiblyChargeable || current.EarlierRequestID != f.earlier.GetId() || current.Status != "answered" ||
		current.RecordedBy != "test-clinic_manager" || !current.AnsweredAt.Equal(rep.GeneratedAt) ||
		!current.AnsweredAt.Equal(after.GetAccessRequest().GetAnswerTime().AsTime()) {
		t.Errorf("the request answered %+v, generated at %v, stored answer time %v", current, rep.GeneratedAt, after.GetAccessRequest().GetAnswerTime().AsTime())
	}

	if len(rep.ErasureRequests) != 1 {
		t.Fatalf("erasure requests %+v", rep.ErasureRequests)
	}
	e := rep.ErasureRequests[0]
	if e.ID != f.erasure.GetId() || e.State != "done" || e.Channel != "letter" || e.Identification != "identity_document" ||
		e.IdentifiedBy != "reception-7" || e.RecordedBy != "test-clinic_manager" || !e.FinishedAt.Equal(f.erasure.GetFinishTime().AsTime()) {
		t.Errorf("the erasure request %+v", e)
	}
	var want []dispositionJSON
	for _, st := range f.erasure.GetSteps() {
		for _, d := range st.GetDispositions() {
			want = append(want, dispositionJSON{
				Service: st.GetService(), RecordClass: d.GetRecordClass(), LegalBasis: d.GetLegalBasis(), KeptUntil: d.GetKeptUntil(),
				Kept: d.GetKept(), Count: int(d.GetCount()),
			})
		}
	}
	if !slices.Equal(e.Dispositions, want) {
		t.Errorf("dispositions %+v, want those of the request %+v", e.Dispositions, want)
	}
	for _, d := range []dispositionJSON{
		{Service: "disclosure", RecordClass: "disclosure_packages"},
		{Service: "consent", RecordClass: "marketing_suppression", Kept: true, LegalBasis: "basis.marketing_objection", Count: 1},
	} {
		if !slices.Contains(e.Dispositions, d) {
			t.Errorf("no %+v among %+v", d, e.Dispositions)
		}
	}
}

// TestAccessReportDocumentRequests: the readable report shows the owner's access and
// erasure requests in each language: values and what was erased and kept in words,
// staff by name and role as the access log shows them (a subject with no event as a
// user whose name was not recorded), and none of the services' words.
func TestAccessReportDocumentRequests(t *testing.T) {
	s := start(t)
	f := s.requestsFixture(t)
	manager := s.as(t, auth.RoleClinicManager)
	tests := []struct {
		language string
		answered string
		// keptUntil is how the document words the last day a class is kept.
		keptUntil func(day string) string
		want      []string
	}{
		{"fi", "Vastattu", func(day string) string { return day + " asti" }, []string{
			"<h2>Tarkastuspyyntösi</h2>", " · tämä pyyntö</h3>", "<dd>käynti</dd>", "<dt>Tunnistustapa</dt><dd>henkilöllisyystodistus</dd>",
			"<dt>Henkilöllisyyden tarkastaja</dt><dd>Test reception (asiakaspalvelu)</dd>", "<dd>ruotsi</dd>", "<dd>vastaanotettu</dd>",
			"<dd>kirje</dd>", "<dd>rekisteriin merkityt yhteystiedot</dd>",
			"<dt>Henkilöllisyyden tarkastaja</dt><dd>käyttäjä, jonka nimeä ei ole kirjattu</dd>",
			"<dt>Vastattava viimeistään</dt><dd>" + f.current.GetDueDate() + "</dd>",
			"<dt>Pidennetty määräaika</dt><dd>" + f.current.GetExtendedDueDate() + "</dd>",
			"<dt>Määräajan pidentämisen syy</dt><dd>" + extensionReason + "</dd>",
			"<dd>kyllä</dd>", "<dt>Tila</dt><dd>vastattu</dd>", "<dt>Kirjaaja</dt><dd>Test clinic_manager (klinikan johtaja)</dd>",
			"<h2>Poistopyyntösi</h2>", "<dt>Tila</dt><dd>valmis</dd>", "<dt>Valmistui</dt>",
			"<td>luovutettujen tietojen kopiot</td><td>poistettu</td><td></td><td></td><td>0</td>",
			"<th>Poistettu vai säilytetty</th><th>Peruste</th><th>Säilytysaika</th><th>Lukumäärä</th>",
			"<td>suoramarkkinointikielto</td><td>säilytetty</td><td>Suoramarkkinointikieltoasi on noudatettava",
			"(tietosuoja-asetuksen 21 artiklan 3 kohta)</td><td>toistaiseksi</td>",
			"<td>yhteydenotot</td><td>poistettu</td>",
		}},
		{"sv", "Besvarad", func(day string) string { return "till och med " + day }, []string{
			"<h2>Dina begäranden om tillgång</h2>", " · denna begäran</h3>", "<dt>Identifieringssätt</dt><dd>identitetshandling</dd>",
			"<dt>Identiteten kontrollerad av</dt><dd>Test reception (kundtjänst)</dd>", "<dd>registrerade kontaktuppgifter</dd>",
			"<dt>Orsak till förlängningen</dt><dd>" + extensionReason + "</dd>", "<dt>Status</dt><dd>besvarad</dd>",
			"<h2>Dina begäranden om radering</h2>", "<dd>slutförd</dd>",
			"<th>Raderat eller sparat</th><th>Grund</th><th>Lagringstid</th><th>Antal</th>",
			"<td>förbud mot direktmarknadsföring</td><td>sparat</td><td>Ditt förbud mot direktmarknadsföring ska respekteras",
			"(artikel 21.3 i dataskyddsförordningen)</td><td>tills vidare</td>", "<td>kontakter</td><td>raderat</td>",
		}},
		{"en", "Answered", func(day string) string { return "until " + day }, []string{
			"<h2>Your access requests</h2>", " · this request</h3>", "<dd>identity document</dd>",
			"<dt>Identified by</dt><dd>Test reception (reception)</dd>", "<dd>contact details on record</dd>",
			"<dt>Why it was extended</dt><dd>" + extensionReason + "</dd>", "<dt>Status</dt><dd>answered</dd>",
			"<h2>Your erasure requests</h2>", "<dd>completed</dd>",
			"<th>Erased or kept</th><th>Legal basis</th><th>Retention</th><th>Count</th>",
			"<td>objection to direct marketing</td><td>kept</td><td>Your objection to direct marketing must be honoured",
			"(GDPR Article 21(3))</td><td>indefinitely</td>",
			"<td>copies of the data disclosed</td><td>erased</td>",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.language, func(t *testing.T) {
			res, err := s.disclosure.GetAccessReportDocument(manager, &disclosurev1.GetAccessReportDocumentRequest{
				AccessRequestId: f.current.GetId(), Language: tt.language,
			})
			if err != nil {
				t.Fatal(err)
			}
			doc := string(res.GetDocument().GetData())
			want := tt.want
			for _, st := range f.erasure.GetSteps() {
				for _, d := range st.GetDispositions() {
					if d.GetKeptUntil() != "" {
						want = append(want, "<td>"+tt.keptUntil(d.GetKeptUntil())+"</td>")
					}
				}
			}
			for _, w := range want {
				if !strings.Contains(doc, w) {
					t.Errorf("the document lacks %q", w)
				}
			}
			// Only the request answered has an answer time.
			if n := strings.Count(doc, "<dt>"+tt.answered+"</dt><dd>"); n != 1 {
				t.Errorf("%d answer times, want 1", n)
			}
			// Every record class and basis the services answered is in words (a class
			// of one word may read as itself in English); no subject or enum word of
			// the requests shows.
			raws := []string{"identity_document", "registered_contact", "in_person", "staff-manager", "test-reception", "reception-7",
				"test-clinic_manager"}
			for _, st := range f.erasure.GetSteps() {
				for _, d := range st.GetDispositions() {
					if strings.Contains(d.GetRecordClass(), "_") {
						raws = append(raws, d.GetRecordClass())
					}
					raws = append(raws, d.GetLegalBasis())
				}
			}
			for _, raw := range raws {
				if raw != "" && strings.Contains(doc, raw) {
					t.Errorf("the document shows the recorded word %q", raw)
				}
			}
		})
	}
}
