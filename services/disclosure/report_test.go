package disclosure_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
)

// reportJSON is the access report as a client reads it.
type reportJSON struct {
	AccessRequestID string
	DisclosureID    string
	Language        string
	Owner           struct {
		ID, GivenNames, FamilyName, IdentityCode, Email string
		Changes                                         []map[string]any
	}
	Patients []struct {
		ID, Name, CustomerNumber, Microchip string
		Changes                             []map[string]any
	}
	FormerPatients []struct {
		ID, CustomerNumber string
		Changes            []map[string]any
	}
	Visits []struct {
		Visit      struct{ ID, Findings, PatientID string }
		Original   *struct{ Findings string }
		Amendments []struct{ Reason string }
	}
	Communications []struct{ Subject string }
	Consents       struct {
		Current   []struct{ Purpose, Scope string }
		Decisions []struct{ ID, Purpose, Decision string }
	}
	Disclosures []struct {
		ID        string
		Outcome   string
		Recipient struct{ ID, Name, Kind string }
	}
	Recipients  []struct{ ID, Name string }
	AccessLog   []struct{ Service, Action, ActorSubject string }
	Information struct {
		Rights    []string
		Retention []string
		Purposes  []string
	}
}

// reportFixture is one customer with everything the report gathers: two pets (one
// named to test escaping), an amended visit, a call, an insurer agreement and an
// objection, a disclosure to the insurer and a refused one, and an access request.
type reportFixture struct {
	ownerID, musti, script, visitID string
	insurer                         *disclosurev1.Recipient
	disclosed                       string
	grant                           *consentv1.ConsentDecision
	request                         *disclosurev1.AccessRequest
}

const scriptName = `<script>alert("x")</script>`

func (s *system) reportFixture(t *testing.T) reportFixture {
	t.Helper()
	var f reportFixture
	f.ownerID, f.musti = s.customer(t, "Lindqvist")
	f.script = s.pet(t, f.ownerID, scriptName)
	v := s.visit(t, f.musti, "ears", 3)
	f.visitID = v.GetId()
	if _, err := s.history.AmendVisit(s.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "mistyped", Visit: &historyv1.Visit{Findings: "Red ear canals."},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
	}); err != nil {
		t.Fatal(err)
	}
	s.communicate(t, f.ownerID, f.musti, "Ear drops")
	f.insurer = s.register(t, insurer("LähiTapiola", "FI"))
	refused := s.register(t, insurer("Pohjola", "FI"))
	if _, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(refused.GetId(), f.ownerID, ownerName)); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("refusal: %v", err)
	}
	f.grant = s.agree(t, f.ownerID, f.insurer.GetId())
	if _, err := s.consents.RecordConsentDecision(s.as(t, auth.RoleReception), &consentv1.RecordConsentDecisionRequest{
		OwnerId: f.ownerID, Decision: &consentv1.ConsentDecision{
			Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: "email",
			Decision: consentv1.Decision_DECISION_OBJECTED, Method: consentv1.Method_METHOD_IN_PERSON,
		},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(f.insurer.GetId(), f.ownerID, ownerName, visits))
	if err != nil {
		t.Fatal(err)
	}
	f.disclosed = res.GetDisclosure().GetId()
	f.request = s.recordAccess(t, s.as(t, auth.RoleClinicManager), "", letter(f.ownerID, nil))
	return f
}

// TestAccessReport is the scenario "access report lists that recipient": the
// JSON report holds every section with the seeded data, the identity code in full and
// the insurer the data went to; it is logged as a disclosure to the data subject whose
// hash is that of the bytes, and the request is answered.
func TestAccessReport(t *testing.T) {
	s := start(t)
	f := s.reportFixture(t)
	manager := s.as(t, auth.RoleClinicManager)

	res, err := s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: f.request.GetId()})
	if err != nil {
		t.Fatalf("report: %v\n%s", err, s.env.Logs())
	}
	body, d := res.GetReport().GetData(), res.GetDisclosure()
	if res.GetReport().GetContentType() != "application/json" {
		t.Fatalf("content type %q", res.GetReport().GetContentType())
	}
	var rep reportJSON
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if rep.AccessRequestID != f.request.GetId() || rep.DisclosureID != d.GetId() || rep.Language != "fi" {
		t.Fatalf("header %+v", rep)
	}
	if rep.Owner.ID != f.ownerID || rep.Owner.IdentityCode != identityCode || rep.Owner.FamilyName != "Lindqvist" ||
		rep.Owner.Email != "aino@example.fi" || len(rep.Owner.Changes) == 0 {
		t.Errorf("owner %+v", rep.Owner)
	}
	if len(rep.Patients) != 2 || rep.Patients[0].Name != "Musti" || rep.Patients[0].Microchip == "" ||
		rep.Patients[0].CustomerNumber == "" || rep.Patients[1].Name != scriptName {
		t.Errorf("patients %+v", rep.Patients)
	}
	if len(rep.Visits) != 1 || rep.Visits[0].Visit.Findings != "Red ear canals." || rep.Visits[0].Original == nil ||
		rep.Visits[0].Original.Findings != "Healthy." || len(rep.Visits[0].Amendments) != 1 ||
		rep.Visits[0].Amendments[0].Reason != "mistyped" {
		t.Errorf("visits %+v", rep.Visits)
	}
	if len(rep.Communications) != 1 || rep.Communications[0].Subject != "Ear drops" {
		t.Errorf("communications %+v", rep.Communications)
	}
	if len(rep.Consents.Decisions) != 2 || rep.Consents.Decisions[0].ID != f.grant.GetId() ||
		rep.Consents.Decisions[1].Decision != "objected" || len(rep.Consents.Current) == 0 {
		t.Errorf("consents %+v", rep.Consents)
	}
	// Both disclosures, oldest first; the insurer that received data is a recipient,
	// the one that was refused is not.
	if len(rep.Disclosures) != 2 || rep.Disclosures[0].Outcome != "refused" || rep.Disclosures[1].ID != f.disclosed ||
		rep.Disclosures[1].Recipient.Name != "LähiTapiola" || rep.Disclosures[1].Recipient.Kind != "insurer" {
		t.Errorf("disclosures %+v", rep.Disclosures)
	}
	if len(rep.Recipients) != 1 || rep.Recipients[0].ID != f.insurer.GetId() {
		t.Errorf("recipients %+v", rep.Recipients)
	}
	services := map[string]bool{}
	for _, e := range rep.AccessLog {
		services[e.Service] = true
	}
	for _, svc := range []string{"owner", "history", "consent", "disclosure"} {
		if !services[svc] {
			t.Errorf("no access events from the %s service: %+v", svc, rep.AccessLog)
		}
	}
	if !slices.ContainsFunc(rep.AccessLog, func(e struct{ Service, Action, ActorSubject string }) bool {
		return e.Service == "history" && e.Action == "visit.amend" || e.Action == "disclosure.create" && e.ActorSubject == "test-reception"
	}) {
		t.Errorf("the staff's actions are not in the access log: %+v", rep.AccessLog)
	}
	if !slices.ContainsFunc(rep.Information.Rights, func(r string) bool { return strings.Contains(r, "Tietosuojavaltuutetun toimisto") }) ||
		len(rep.Information.Retention) != 8 || len(rep.Information.Purposes) != 5 {
		t.Errorf("information %+v", rep.Information)
	}
	// The periods of the logs about the owner are stated with the configured years.
	if !slices.Contains(rep.Information.Retention, "Tiedot siitä, kuka klinikalla on käsitellyt tietojasi, säilytetään 5 vuotta.") {
		t.Errorf("the access log's period is not stated: %q", rep.Information.Retention)
	}

	// Logged as a disclosure to the data subject, with the hash of these bytes.
	sum := sha256.Sum256(body)
	if d.GetRecipientKind() != disclosurev1.RecipientKind_RECIPIENT_KIND_DATA_SUBJECT ||
		d.GetBasis() != disclosurev1.LegalBasis_LEGAL_BASIS_RIGHT_OF_ACCESS || d.GetPayloadSha256() != hex.EncodeToString(sum[:]) ||
		d.GetOwnerId() != f.ownerID || d.GetRequestedBy() != "test-clinic_manager" ||
		!slices.Equal(d.GetPatientIds(), []string{f.musti, f.script}) {
		t.Errorf("log entry %v", d)
	}
	if log := s.ownerLog(t, f.ownerID); len(log) != 3 || log[0].GetId() != d.GetId() {
		t.Errorf("owner's log %v", log)
	}
	got, err := s.disclosure.GetAccessRequest(manager, &disclosurev1.GetAccessRequestRequest{AccessRequestId: f.request.GetId()})
	if err != nil || got.GetAccessRequest().GetStatus() != disclosurev1.AccessRequestStatus_ACCESS_REQUEST_STATUS_ANSWERED ||
		got.GetAccessRequest().GetAnswerTime() == nil {
		t.Fatalf("request after the report: %v, %v", got, err)
	}

	// A second copy is another log entry; the answer time stays the first.
	again, err := s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: f.request.GetId()})
	if err != nil || again.GetDisclosure().GetId() == d.GetId() {
		t.Fatalf("second copy: %v", err)
	}
	second, err := s.disclosure.GetAccessRequest(manager, &disclosurev1.GetAccessRequestRequest{AccessRequestId: f.request.GetId()})
	if err != nil || !second.GetAccessRequest().GetAnswerTime().AsTime().Equal(got.GetAccessRequest().GetAnswerTime().AsTime()) {
		t.Fatalf("answer time moved: %v, %v", second, err)
	}
}

// TestAccessReportDocument: the readable report in Finnish by default and in Swedish
// and English on request, naming the Data Protection Ombudsman and the resource of
// each access in words, with every value escaped.
func TestAccessReportDocument(t *testing.T) {
	s := start(t)
	f := s.reportFixture(t)
	manager := s.as(t, auth.RoleClinicManager)
	// Accesses whose resources the fixture's do not have: a marketing check by text
	// message, a pet's visits listed, and a partner's refused consent check.
	if _, err := s.consents.CheckConsent(manager, &consentv1.CheckConsentRequest{
		OwnerId: f.ownerID, Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: "sms",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.history.ListPatientVisits(s.as(t, auth.RoleVeterinarian), &historyv1.ListPatientVisitsRequest{PatientId: f.musti}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.consents.CheckConsent(s.asPartner(t, f.insurer.GetId()), &consentv1.CheckConsentRequest{
		OwnerId: f.ownerID, Purpose: consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, Scope: f.insurer.GetId(),
	}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a partner's consent check: %v", err)
	}
	s.waitAudited(t, consentDatabase, bson.M{"action": "consent.check", "subject_owner_id": f.ownerID})
	s.waitAudited(t, historyDatabase, bson.M{"action": "visit.list", "subject_owner_id": f.ownerID})
	s.waitAudited(t, consentDatabase, bson.M{"action": "rpc.denied", "subject_owner_id": f.ownerID})
	// An erasure request the job cannot carry out (its token's role may not restrict
	// owners), read and resumed, and a retention sweep of an access request received
	// years ago: the disclosure service's own actions on the owner's data.
	writeJobToken(t, s.env, s.jobTokenFile, auth.RoleReception)
	erasure := s.requestErasure(t, f.ownerID, "")
	s.waitErasure(t, erasure.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_STUCK))
	if _, err := s.disclosure.ResumeErasureRequest(manager, &disclosurev1.ResumeErasureRequestRequest{ErasureRequestId: erasure.GetId()}); err != nil {
		t.Fatal(err)
	}
	s.waitErasure(t, erasure.GetId(), func(r *disclosurev1.ErasureRequest) bool {
		return r.GetState() == disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_STUCK && r.GetSteps()[0].GetAttempts() == 2
	})
	s.recordAccess(t, manager, "", letter(f.ownerID, receivedOn(2020, time.March, 2)))
	if _, err := s.disclosure.RunRetentionSweep(manager, &disclosurev1.RunRetentionSweepRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"erasure_request.create", "erasure_request.read", "erasure_request.step", "erasure_request.resume", "disclosure.retention_sweep"} {
		s.waitAudited(t, disclosureDatabase, bson.M{"action": action, "subject_owner_id": f.ownerID})
	}
	// A copy gathered once, so that each language's shows the reads of the services'
	// logs that gathering a report makes, as a later copy does.
	if _, err := s.disclosure.GetAccessReportDocument(manager, &disclosurev1.GetAccessReportDocumentRequest{AccessRequestId: f.request.GetId()}); err != nil {
		t.Fatal(err)
	}
	for _, database := range []string{ownerDatabase, historyDatabase, consentDatabase} {
		s.waitAudited(t, database, bson.M{"action": "audit.export", "subject_owner_id": f.ownerID})
	}
	resources := func(names ...string) []string {
		cells := make([]string, len(names))
		for i, n := range names {
			cells[i] = `<td class="resource">` + n + `</td>`
		}
		return cells
	}
	// Every resource and action the fixture's events have is named, so the generic
	// words for an unknown one appear nowhere: a service that changes the shape of a
	// resource, or an action's code, fails here until the texts name it.
	tests := []struct {
		language string
		want     []string
		actions  []string
		purpose  string
		generic  []string // an unknown resource's and action's words
	}{
		{"", append([]string{`<html lang="fi">`, "Tietosi Lillvet Oy:n asiakasrekisterissä", "Lemmikkisi", "Tietosuojavaltuutetun toimisto", "Hoito- ja käyntihistoria",
			"suoramarkkinointi (sähköposti)", "<td>vastustettu</td><td>käynnillä</td>", "ei luovutettu: luovutukselle ei ollut suostumustasi", "asiakastietojen katselu", "asiakaspalvelu"},
			resources("Omat tietosi", "Suostumukset ja kiellot: suoramarkkinointi (tekstiviesti)", "Lemmikin tiedot: Musti",
				"Hoito- ja käyntihistoria: Musti", "Käyntimerkintä", "Tietojesi luovutus", "Päätöstesi historia", "Yhteydenpito klinikan kanssa",
				"Tarkastuspyyntö "+f.request.GetId(), "Suostumukset ja kiellot")...),
			[]string{"poistopyynnön kirjaus", "poistopyynnön katselu", "tietojen poiston vaihe", "keskeytyneen tietojen poiston jatkaminen",
				"säilytysajan päättyneiden tietojen poisto", "tiedot koottu tarkastusta varten"},
			"Tarkastuspyyntö", []string{"Muu tieto", "muu toiminto"}},
		{"sv", append([]string{`<html lang="sv">`, "Dina uppgifter i Lillvet Oy:s kundregister", "Dina husdjur", "Dataombudsmannens byrå",
			"direktmarknadsföring (e-post)", "<td>invändning</td><td>vid besök</td>", "inte utlämnat: det fanns varken", "kunduppgifterna visade", "kundtjänst"},
			resources("Dina uppgifter", "Samtycken och förbud: direktmarknadsföring (sms)", "Djurets uppgifter: Musti",
				"Vård- och besökshistorik: Musti", "Besöksanteckning", "Utlämnande av dina uppgifter", "Historik över dina beslut",
				"Kontakter med kliniken", "Begäran om tillgång "+f.request.GetId(), "Samtycken och förbud")...),
			[]string{"begäran om radering registrerad", "begäran om radering visad", "ett steg i raderingen", "avbruten radering återupptagen",
				"radering efter lagringstiden", "uppgifterna sammanställda för tillgång"},
			"Begäran om tillgång", []string{"Övrig uppgift", "annan åtgärd"}},
		{"en-GB", append([]string{`<html lang="en">`, "Your data in the customer register of Lillvet Oy", "Your pets", "Office of the Data Protection Ombudsman", "Who at the clinic accessed your data",
			"direct marketing (e-mail)", "<td>objected</td><td>in person</td>", "refused: there was neither", "customer details viewed", "reception"},
			resources("Your details", "Consents and prohibitions: direct marketing (text message)", "Pet&#39;s details: Musti",
				"Treatment and visit history: Musti", "Visit record", "A disclosure of your data", "History of your decisions",
				"Communication with the clinic", "Access request "+f.request.GetId(), "Consents and prohibitions")...),
			[]string{"erasure request recorded", "erasure request viewed", "a step of the erasure", "halted erasure resumed",
				"removal after the retention period", "data compiled for access"},
			"Access request", []string{"Other record", "other action"}},
	}
	for _, tt := range tests {
		t.Run("language "+tt.language, func(t *testing.T) {
			res, err := s.disclosure.GetAccessReportDocument(manager, &disclosurev1.GetAccessReportDocumentRequest{
				AccessRequestId: f.request.GetId(), Language: tt.language,
			})
			if err != nil {
				t.Fatal(err)
			}
			doc := string(res.GetDocument().GetData())
			if res.GetDocument().GetContentType() != "text/html; charset=utf-8" || !strings.HasPrefix(doc, "<!doctype html>") {
				t.Fatalf("not an HTML document: %q", res.GetDocument().GetContentType())
			}
			want := append(tt.want, identityCode, "LähiTapiola", "Red ear canals.", "Ear drops", "@media print",
				// The purpose the report's reads stated, in the purpose's cell.
				"<td>"+tt.purpose+" "+f.request.GetId()+"</td>")
			for _, a := range tt.actions {
				want = append(want, "<td>"+a+`</td><td class="resource">`)
			}
			for _, w := range want {
				if !strings.Contains(doc, w) {
					t.Errorf("the document lacks %q", w)
				}
			}
			// Recorded values are named in the report's language, never as the
			// services' words (no action any service logged about the owner, the
			// purpose this service states), and the resources without their paths and
			// ids.
			raws := append(s.auditedActions(t, f.ownerID), "access request "+f.request.GetId(), "direct_marketing", "in_person", "NO_LEGAL_BASIS", "success",
				"owners/", "patients/", "visits/", "disclosures/", "accessRequests/", "/lillvet.", f.ownerID, f.musti, f.visitID)
			for _, raw := range raws {
				if strings.Contains(doc, raw) {
					t.Errorf("the document shows the recorded word %q", raw)
				}
			}
			for _, g := range tt.generic {
				if strings.Contains(strings.ToLower(doc), strings.ToLower(g)) {
					t.Errorf("the document has %q, the words for an unknown resource or action", g)
				}
			}
			if strings.Contains(doc, scriptName) || !strings.Contains(doc, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
				t.Error("the pet's name is not escaped")
			}
			if strings.Contains(doc, "http://") || strings.Contains(doc, "https://") || strings.Contains(doc, "<link") {
				t.Error("the document refers to external assets")
			}
			sum := sha256.Sum256(res.GetDocument().GetData())
			if res.GetDisclosure().GetPayloadSha256() != hex.EncodeToString(sum[:]) {
				t.Error("the log's hash is not the document's")
			}
		})
	}
}

// auditedActions are the actions of every event about ownerID in the services' audit
// logs.
func (s *system) auditedActions(t *testing.T, ownerID string) []string {
	t.Helper()
	var all []string
	for _, database := range []string{ownerDatabase, historyDatabase, consentDatabase, disclosureDatabase} {
		var actions []string
		res := s.raw.Database(database).Collection(audit.Collection).Distinct(t.Context(), "action", bson.M{"subject_owner_id": ownerID})
		if err := res.Decode(&actions); err != nil {
			t.Fatalf("actions in %s: %v", database, err)
		}
		all = append(all, actions...)
	}
	return all
}

// waitAudited waits until the audit log in database holds an event matching filter:
// the services queue their events and write them in batches, after the call answered.
func (s *system) waitAudited(t *testing.T, database string, filter bson.M) {
	t.Helper()
	deadline := time.Now().Add(jobWait)
	for {
		n, err := s.raw.Database(database).Collection(audit.Collection).CountDocuments(t.Context(), filter)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit event %v in %s", filter, database)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAccessReportTransferredPet: a dog whose history has a reason typed about each of
// its two owners is transferred from one to the other. The first owner's report lists
// it among the pets they transferred away, with the changes of their time only; the
// second owner's lists it among their pets with the changes of theirs; the transfer is
// in both with its reason withheld, and neither report holds the other owner's id or
// what was typed about them.
func TestAccessReportTransferredPet(t *testing.T) {
	const (
		firstReason  = "Aino Lindqvist called from 040 765 4321: Musti is black"
		secondReason = "Eero Salo called from 050 111 2222: Musti is a collie"
	)
	s := start(t)
	first, musti := s.customer(t, "Lindqvist")
	second, _ := s.customer(t, "Salo")
	nurse := s.as(t, auth.RoleNurse)
	res, err := s.owners.UpdatePatient(nurse, &ownerv1.UpdatePatientRequest{
		PatientId: musti, Patient: &ownerv1.Patient{Colour: "black"}, Version: 1, Reason: firstReason,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := s.owners.TransferPatient(s.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: musti, NewOwnerId: second, Version: res.GetPatient().GetVersion(), Reason: "Aino Lindqvist sold Musti to Eero Salo",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.owners.UpdatePatient(nurse, &ownerv1.UpdatePatientRequest{
		PatientId: musti, Patient: &ownerv1.Patient{Breed: "collie"}, Version: moved.GetPatient().GetVersion(), Reason: secondReason,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"breed"}},
	}); err != nil {
		t.Fatal(err)
	}
	reasons := func(changes []map[string]any) []any {
		var out []any
		for _, c := range changes {
			out = append(out, c["reason"])
		}
		return out
	}
	manager := s.as(t, auth.RoleClinicManager)
	tests := []struct {
		name                     string
		owner, other             string
		patients, formerPatients [][]any
		absent                   []string
	}{
		{
			name: "the owner who transferred it away", owner: first, other: second,
			formerPatients: [][]any{{"registered", firstReason, "(withheld)"}},
			absent:         []string{"Salo", "111 2222"},
		},
		{
			name: "the owner it was transferred to", owner: second, other: first,
			patients: [][]any{{"(withheld)", secondReason}, {"registered"}}, // and their own dog
			absent:   []string{"Lindqvist", "765 4321"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			request := s.recordAccess(t, manager, "", letter(tt.owner, nil))
			res, err := s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: request.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			var rep reportJSON
			if err := json.Unmarshal(res.GetReport().GetData(), &rep); err != nil {
				t.Fatal(err)
			}
			var patients, former [][]any
			for _, p := range rep.Patients {
				patients = append(patients, reasons(p.Changes))
			}
			for _, p := range rep.FormerPatients {
				if p.ID != musti || p.CustomerNumber == "" {
					t.Errorf("former patient %+v, want Musti with its customer number", p)
				}
				former = append(former, reasons(p.Changes))
			}
			if transfers := strings.Count(string(res.GetReport().GetData()), `"field":"owner_id"`); transfers != 1 ||
				!strings.Contains(string(res.GetReport().GetData()), `Value":"`+tt.owner+`"`) {
				t.Errorf("the report shows %d transfer values, want one naming the owner's own id", transfers)
			}
			for _, d := range s.ownerLog(t, tt.owner) {
				if d.GetRecipientKind() == disclosurev1.RecipientKind_RECIPIENT_KIND_DATA_SUBJECT && !slices.Contains(d.GetPatientIds(), musti) {
					t.Errorf("the copy's log entry names the pets %v, not the dog it speaks of", d.GetPatientIds())
				}
			}
			if !reflect.DeepEqual(patients, tt.patients) || !reflect.DeepEqual(former, tt.formerPatients) {
				t.Errorf("the pets' change reasons: %v, the former pets': %v; want %v and %v", patients, former, tt.patients, tt.formerPatients)
			}
			doc, err := s.disclosure.GetAccessReportDocument(manager, &disclosurev1.GetAccessReportDocumentRequest{
				AccessRequestId: request.GetId(), Language: "en",
			})
			if err != nil {
				t.Fatal(err)
			}
			heading := strings.Contains(string(doc.GetDocument().GetData()), "Pets you transferred to another owner")
			if heading != (len(tt.formerPatients) > 0) {
				t.Errorf("the document has the transferred pets' section: %v, want %v", heading, !heading)
			}
			for _, copied := range []string{string(res.GetReport().GetData()), string(doc.GetDocument().GetData())} {
				for _, a := range append(tt.absent, tt.other) {
					if strings.Contains(copied, a) {
						t.Errorf("the report holds %q of the other owner", a)
					}
				}
			}
		})
	}
}

// TestAccessReportRefusals: an unknown request, a bad id or language, and every role
// but the clinic manager.
func TestAccessReportRefusals(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Salo")
	r := s.recordAccess(t, s.as(t, auth.RoleClinicManager), "", letter(ownerID, nil))
	manager := s.as(t, auth.RoleClinicManager)

	_, err := s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: uuid.NewString()})
	wantCode(t, err, codes.NotFound)
	_, err = s.disclosure.GetAccessReportDocument(manager, &disclosurev1.GetAccessReportDocumentRequest{AccessRequestId: uuid.NewString()})
	wantCode(t, err, codes.NotFound)
	_, err = s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: "x"})
	if got := violations(t, err); !slices.Equal(got, []string{"access_request_id"}) {
		t.Errorf("bad id: %v", got)
	}
	_, err = s.disclosure.GetAccessReportDocument(manager, &disclosurev1.GetAccessReportDocumentRequest{AccessRequestId: r.GetId(), Language: "de"})
	if got := violations(t, err); !slices.Equal(got, []string{"language"}) {
		t.Errorf("bad language: %v", got)
	}

	calls := map[string]func(ctx context.Context) error{
		"GetAccessReport": func(ctx context.Context) error {
			_, err := s.disclosure.GetAccessReport(ctx, &disclosurev1.GetAccessReportRequest{AccessRequestId: r.GetId()})
			return err
		},
		"GetAccessReportDocument": func(ctx context.Context) error {
			_, err := s.disclosure.GetAccessReportDocument(ctx, &disclosurev1.GetAccessReportDocumentRequest{AccessRequestId: r.GetId()})
			return err
		},
	}
	for name, call := range calls {
		for _, role := range auth.Roles() {
			for _, purpose := range []string{"", "support case 7"} {
				err := call(auth.WithOutgoingToken(t.Context(), s.env.Token(t, role), purpose))
				if allowed := role == auth.RoleClinicManager; allowed != (err == nil) {
					t.Errorf("%s as %s (purpose %q): %v", name, role, purpose, err)
				}
			}
		}
	}
	// Nothing was logged for the refused calls: only the manager's four copies.
	if log := s.ownerLog(t, ownerID); len(log) != 4 {
		t.Errorf("%d log entries, want 4", len(log))
	}
}

// TestAccessReportTextStoredWithAnIdentityCode: text stored before the services
// refused an identity code in it (here with a soft hyphen for the hyphen, which the
// checks saw only later) is given in the report without the code: a disclosure's case
// reference and its recipient's name, a visit's findings, a consent decision's
// evidence reference, and an access request's extension reason and who identified the
// person.
func TestAccessReportTextStoredWithAnIdentityCode(t *testing.T) {
	s := start(t)
	f := s.reportFixture(t)
	const legacy, want = "omistaja 131052\u00ad308T soitti", "omistaja [identity code removed] soitti"
	for _, u := range []struct {
		db, coll string
		id       any
		set      bson.M
	}{
		{disclosureDatabase, "disclosures", f.disclosed, bson.M{"case_reference": legacy}},
		{disclosureDatabase, "recipients", f.insurer.GetId(), bson.M{"name": legacy}},
		{historyDatabase, "visits", f.visitID, bson.M{"current.findings": legacy}},
		{consentDatabase, "ledgers", f.ownerID, bson.M{"entries.0.evidence_ref": legacy}},
		{disclosureDatabase, "access_requests", f.request.GetId(), bson.M{"identified_by": legacy, "extension_reason": legacy}},
	} {
		if res, err := s.raw.Database(u.db).Collection(u.coll).UpdateByID(t.Context(), u.id, bson.M{"$set": u.set}); err != nil || res.MatchedCount != 1 {
			t.Fatalf("store %s.%s: %v, %v", u.db, u.coll, res, err)
		}
	}
	res, err := s.disclosure.GetAccessReport(s.as(t, auth.RoleClinicManager), &disclosurev1.GetAccessReportRequest{AccessRequestId: f.request.GetId()})
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var rep struct {
		Visits   []struct{ Visit struct{ Findings string } }
		Consents struct {
			Decisions []struct{ EvidenceRef string }
		}
		Disclosures []struct {
			CaseReference string
			Recipient     struct{ Name string }
		}
		Recipients     []struct{ Name string }
		AccessRequests []struct{ IdentifiedBy, ExtensionReason string }
	}
	if err := json.Unmarshal(res.GetReport().GetData(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Visits) != 1 || len(rep.Consents.Decisions) == 0 || len(rep.Disclosures) != 2 || len(rep.Recipients) != 1 ||
		len(rep.AccessRequests) != 1 {
		t.Fatalf("report %+v", rep)
	}
	for name, got := range map[string]string{
		"visit findings":         rep.Visits[0].Visit.Findings,
		"evidence reference":     rep.Consents.Decisions[0].EvidenceRef,
		"case reference":         rep.Disclosures[1].CaseReference,
		"disclosure's recipient": rep.Disclosures[1].Recipient.Name,
		"recipient":              rep.Recipients[0].Name,
		"identified by":          rep.AccessRequests[0].IdentifiedBy,
		"extension reason":       rep.AccessRequests[0].ExtensionReason,
	} {
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// The owner's own code is in the report where it belongs, as 131052-308T.
	if strings.Contains(string(res.GetReport().GetData()), "131052\u00ad308T") {
		t.Errorf("the report holds the stored code: %s", res.GetReport().GetData())
	}
	// The service's own reads serve the same text without it.
	as := s.as(t, auth.RoleClinicManager)
	d, err := s.disclosure.GetDisclosure(as, &disclosurev1.GetDisclosureRequest{DisclosureId: f.disclosed})
	if err != nil {
		t.Fatalf("get disclosure: %v", err)
	}
	r, err := s.disclosure.GetRecipient(as, &disclosurev1.GetRecipientRequest{RecipientId: f.insurer.GetId()})
	if err != nil {
		t.Fatalf("get recipient: %v", err)
	}
	for name, got := range map[string]string{
		"GetDisclosure's case reference": d.GetDisclosure().GetCaseReference(),
		"GetRecipient's name":            r.GetRecipient().GetName(),
	} {
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
