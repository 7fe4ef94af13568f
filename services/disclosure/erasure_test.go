package disclosure_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/changereason"
)

// jobWait bounds the wait for a job: far longer than it takes, so that only a job that
// never finishes fails the test.
const jobWait = 2 * time.Minute

// The steps in the order the job runs them.
var wantSteps = [][2]string{
	{"owner", "restrict"}, {"consent", "restrict"}, {"disclosure", "erase"}, {"history", "erase"}, {"consent", "erase"}, {"owner", "erase"},
}

// erasureHistory gives the owner's dog a visit with a medicine and an open invoice, and
// logs a call with the owner: records each class of the history service's rules.
func (s *system) erasureHistory(t *testing.T, ownerID, patientID string) {
	t.Helper()
	_, err := s.history.RecordVisit(s.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{PatientId: patientID, Visit: &historyv1.Visit{
		Clinic: historyv1.Clinic_CLINIC_SEINAJOKI, Reason: "Vaccination", Findings: "Healthy.",
		Medications: []*historyv1.Medication{{Product: "Purevax", Dose: "1 ml", Route: historyv1.Route_ROUTE_SUBCUTANEOUS}},
		Invoices:    []*historyv1.InvoiceReference{{Number: "2026-118", State: historyv1.InvoiceState_INVOICE_STATE_OPEN}},
	}})
	if err != nil {
		t.Fatalf("record visit: %v", err)
	}
	_, err = s.history.RecordCommunication(s.as(t, auth.RoleReception), &historyv1.RecordCommunicationRequest{OwnerId: ownerID, Communication: &historyv1.Communication{
		Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: "Booster date",
	}})
	if err != nil {
		t.Fatalf("record communication: %v", err)
	}
}

// object records the owner's objection to e-mail marketing.
func (s *system) object(t *testing.T, ownerID string) {
	t.Helper()
	_, err := s.consents.RecordConsentDecision(s.as(t, auth.RoleReception), &consentv1.RecordConsentDecisionRequest{
		OwnerId: ownerID, Decision: &consentv1.ConsentDecision{
			Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: "email",
			Decision: consentv1.Decision_DECISION_OBJECTED, Method: consentv1.Method_METHOD_IN_PERSON,
		},
	})
	if err != nil {
		t.Fatalf("record objection: %v", err)
	}
}

func erasureRequest(ownerID string) *disclosurev1.ErasureRequest {
	return &disclosurev1.ErasureRequest{
		OwnerId: ownerID, Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_LETTER,
		Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_IDENTITY_DOCUMENT, IdentifiedBy: "reception-7",
	}
}

func (s *system) requestErasure(t *testing.T, ownerID, requestID string) *disclosurev1.ErasureRequest {
	t.Helper()
	res, err := s.disclosure.CreateErasureRequest(s.as(t, auth.RoleClinicManager),
		&disclosurev1.CreateErasureRequestRequest{RequestId: requestID, ErasureRequest: erasureRequest(ownerID)})
	if err != nil {
		t.Fatalf("create erasure request: %v", err)
	}
	return res.GetErasureRequest()
}

// waitErasure reads the request until until says it is where the test wants it.
func (s *system) waitErasure(t *testing.T, id string, until func(*disclosurev1.ErasureRequest) bool) *disclosurev1.ErasureRequest {
	t.Helper()
	deadline := time.Now().Add(jobWait)
	for {
		res, err := s.disclosure.GetErasureRequest(s.as(t, auth.RoleClinicManager), &disclosurev1.GetErasureRequestRequest{ErasureRequestId: id})
		if err != nil {
			t.Fatalf("get erasure request: %v", err)
		}
		if r := res.GetErasureRequest(); until(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("erasure request %s still %v after %s: %v", id, res.GetErasureRequest().GetState(), jobWait, res.GetErasureRequest().GetSteps())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func inState(want disclosurev1.ErasureRequestState) func(*disclosurev1.ErasureRequest) bool {
	return func(r *disclosurev1.ErasureRequest) bool { return r.GetState() == want }
}

func TestErasureEndToEnd(t *testing.T) {
	s := start(t)
	ownerID, patientID := s.customer(t, "Äijälä")
	s.erasureHistory(t, ownerID, patientID)
	s.object(t, ownerID)
	// The insurer got the owner's name and the dog's basics; a kennel club was refused
	// (no grant) and got nothing, so only the insurer is to be notified.
	ins := s.register(t, insurer("LähiTapiola", "FI"))
	s.agree(t, ownerID, ins.GetId())
	sent, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName, patientBasics))
	if err != nil {
		t.Fatalf("disclose: %v", err)
	}
	club := s.register(t, &disclosurev1.Recipient{
		Name: "Kennelliitto", Kind: disclosurev1.RecipientKind_RECIPIENT_KIND_KENNEL_CLUB, BusinessId: "2923530-5", Country: "FI",
		Contact: &disclosurev1.Contact{Email: "info@example.fi"},
	})
	_, err = s.disclosure.CreateDisclosure(s.as(t, auth.RoleVeterinarian), claim(club.GetId(), ownerID, ownerName))
	refusalReason(t, err)

	created := s.requestErasure(t, ownerID, "erasure-letter-1")
	if created.GetRecordedBy() == "" || created.GetOwnerId() != ownerID || len(created.GetSteps()) != len(wantSteps) {
		t.Fatalf("created %v", created)
	}
	retried := s.requestErasure(t, ownerID, "erasure-letter-1")
	if retried.GetId() != created.GetId() {
		t.Fatalf("a retried create made request %s, first was %s", retried.GetId(), created.GetId())
	}
	done := s.waitErasure(t, created.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_DONE))

	t.Run("every step ran once, in order", func(t *testing.T) {
		if done.GetFinishTime() == nil {
			t.Error("no finish time")
		}
		for i, st := range done.GetSteps() {
			if [2]string{st.GetService(), st.GetAction()} != wantSteps[i] || st.GetState() != disclosurev1.ErasureStepState_ERASURE_STEP_STATE_DONE ||
				st.GetAttempts() != 1 || st.GetLastError() != "" {
				t.Errorf("step %d = %v, want %v done in one attempt", i, st, wantSteps[i])
			}
		}
	})
	t.Run("the result is what each service answered", func(t *testing.T) {
		// Each erase answers a retry with the same request id with its first result.
		manager := s.as(t, auth.RoleClinicManager)
		h, err := s.history.EraseOwnerData(manager, &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: created.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.consents.EraseOwnerData(manager, &consentv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: created.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		o, err := s.owners.EraseOwnerData(manager, &ownerv1.EraseOwnerDataRequest{
			OwnerId: ownerID, RequestId: created.GetId(), NameKeptUntil: h.GetOwnerNamedUntil(),
			IdentityCodeKeptUntil: h.GetIdentityCodeNeededUntil(),
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range [][]*disclosurev1.RecordDisposition{
			2: {{RecordClass: "disclosure_packages", Count: 1}},
			3: asDispositions(h.GetDispositions()), 4: asDispositions(c.GetDispositions()), 5: asDispositions(o.GetDispositions()),
		} {
			got := done.GetSteps()[i].GetDispositions()
			if !slices.EqualFunc(got, want, func(a, b *disclosurev1.RecordDisposition) bool { return proto.Equal(a, b) }) {
				t.Errorf("step %v dispositions = %v, want %v", wantSteps[i], got, want)
			}
		}
		if len(h.GetDispositions()) == 0 || len(o.GetDispositions()) == 0 {
			t.Errorf("the services answered no dispositions: history %v, owner %v", h, o)
		}
		if !hasDisposition(c.GetDispositions(), "marketing_suppression", true) {
			t.Errorf("consent kept no marketing suppression: %v", c.GetDispositions())
		}
	})
	t.Run("the package sent is erased, its log entry kept", func(t *testing.T) {
		got, err := s.disclosure.GetDisclosure(s.as(t, auth.RoleClinicManager), &disclosurev1.GetDisclosureRequest{DisclosureId: sent.GetDisclosure().GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if d := got.GetDisclosure(); got.GetContents() != nil || d.GetPayloadSha256() != sent.GetDisclosure().GetPayloadSha256() || d.GetRecipientId() != ins.GetId() {
			t.Errorf("the disclosure after the erasure: %v, want its log entry and hash without the package", got)
		}
	})
	t.Run("the owner is out of search, restricted once", func(t *testing.T) {
		res, err := s.owners.ListOwners(s.as(t, auth.RoleReception), &ownerv1.ListOwnersRequest{Name: "aij"})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.GetOwners() {
			if o.GetId() == ownerID {
				t.Error("the erased owner is still found by name")
			}
		}
		if n := restrictionChanges(t, s, ownerID); n != 1 {
			t.Errorf("%d restriction changes in the owner's history, want 1", n)
		}
	})
	t.Run("the owner's history names the request", func(t *testing.T) {
		// The owner service keeps, through the erasure, only the reasons it can tell
		// it wrote itself; the report names them in the owner's language.
		changes := ownerChanges(t, s, ownerID)
		if len(changes) < 2 || changes[0].GetReason() != changereason.Registered {
			t.Fatalf("the owner's history: %v, want the registration and the erasure's changes", changes)
		}
		for _, c := range changes[1:] {
			if want := changereason.Erasure(created.GetId()); c.GetReason() != want {
				t.Errorf("the change of %v has the reason %q, want %q", c.GetFields(), c.GetReason(), want)
			}
		}
	})
	t.Run("marketing stays suppressed", func(t *testing.T) {
		res, err := s.consents.CheckConsent(s.as(t, auth.RoleClinicManager), &consentv1.CheckConsentRequest{
			OwnerId: ownerID, Purpose: consentv1.Purpose_PURPOSE_DIRECT_MARKETING, Scope: "email",
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.GetAllowed() {
			t.Error("e-mail marketing allowed after the erasure")
		}
	})
	t.Run("the insurer is to be notified, the refused club not", func(t *testing.T) {
		notify := done.GetRecipientsToNotify()
		if len(notify) != 1 {
			t.Fatalf("recipients to notify = %v, want the insurer", notify)
		}
		n := notify[0]
		if n.GetRecipientId() != ins.GetId() || n.GetName() != "LähiTapiola" || n.GetContact().GetEmail() != "claims@example.fi" ||
			!slices.Equal(n.GetCategories(), []disclosurev1.DataCategory{ownerName, patientBasics}) ||
			!slices.Equal(n.GetDisclosureIds(), []string{sent.GetDisclosure().GetId()}) {
			t.Errorf("recipient to notify = %v", n)
		}
	})
	t.Run("a done request is not resumed", func(t *testing.T) {
		_, err := s.disclosure.ResumeErasureRequest(s.as(t, auth.RoleClinicManager), &disclosurev1.ResumeErasureRequestRequest{ErasureRequestId: created.GetId()})
		if got := refusalReason(t, err); got != "ERASURE_REQUEST_NOT_STUCK" {
			t.Errorf("reason %s", got)
		}
	})
	t.Run("a second request answers what is left", func(t *testing.T) {
		again := s.requestErasure(t, ownerID, "erasure-letter-2")
		second := s.waitErasure(t, again.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_DONE))
		if n := restrictionChanges(t, s, ownerID); n != 1 {
			t.Errorf("%d restriction changes after a second request, want 1", n)
		}
		if got := second.GetSteps()[len(wantSteps)-1].GetDispositions(); len(got) == 0 {
			t.Errorf("the owner service answered nothing the second time")
		}
	})
	t.Run("listed under the owner", func(t *testing.T) {
		// An id in capitals passes as a UUID and names the same owner.
		for _, id := range []string{ownerID, strings.ToUpper(ownerID)} {
			res, err := s.disclosure.ListOwnerErasureRequests(s.as(t, auth.RoleClinicManager), &disclosurev1.ListOwnerErasureRequestsRequest{OwnerId: id})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.GetErasureRequests(); len(got) != 2 || got[1].GetId() != created.GetId() {
				t.Errorf("listed under %s: %v", id, res.GetErasureRequests())
			}
		}
	})
}

func asDispositions[D interface {
	GetRecordClass() string
	GetKept() bool
	GetLegalBasis() string
	GetKeptUntil() string
	GetCount() int32
}](in []D) []*disclosurev1.RecordDisposition {
	out := make([]*disclosurev1.RecordDisposition, len(in))
	for i, d := range in {
		out[i] = &disclosurev1.RecordDisposition{
			RecordClass: d.GetRecordClass(), Kept: d.GetKept(), LegalBasis: d.GetLegalBasis(), KeptUntil: d.GetKeptUntil(), Count: d.GetCount(),
		}
	}
	return out
}

func hasDisposition(ds []*consentv1.RecordDisposition, class string, kept bool) bool {
	return slices.ContainsFunc(ds, func(d *consentv1.RecordDisposition) bool { return d.GetRecordClass() == class && d.GetKept() == kept })
}

// restrictionChanges counts the changes of the owner's restricted flag in its history.
func restrictionChanges(t *testing.T, s *system, ownerID string) int {
	t.Helper()
	n := 0
	for _, c := range ownerChanges(t, s, ownerID) {
		if slices.Contains(c.GetFields(), "restricted") {
			n++
		}
	}
	return n
}

// ownerChanges is the owner's change history, as the clinic manager reads it.
func ownerChanges(t *testing.T, s *system, ownerID string) []*ownerv1.Change {
	t.Helper()
	res, err := s.owners.ListOwnerChanges(s.as(t, auth.RoleClinicManager), &ownerv1.ListOwnerChangesRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetChanges()
}

// TestErasureRestrictsWithTheRequestsReason: the restrictions the job sets name its
// request as changereason writes it, the one form the access report names in the
// owner's language: in the owner's change history and in the consent service's ledger,
// read while the job waits for the history service, before the consent's erasure
// removes the ledger's restrictions.
func TestErasureRestrictsWithTheRequestsReason(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Salo")
	s.stopHistory()
	created := s.requestErasure(t, ownerID, "")
	s.waitErasure(t, created.GetId(), stepDone(slices.Index(wantSteps, [2]string{"consent", "restrict"})))
	want := changereason.Erasure(created.GetId())

	var restrictions []string
	for _, c := range ownerChanges(t, s, ownerID) {
		if slices.Contains(c.GetFields(), "restricted") {
			restrictions = append(restrictions, c.GetReason())
		}
	}
	if !slices.Equal(restrictions, []string{want}) {
		t.Errorf("the owner's restriction changes have the reasons %q, want %q", restrictions, want)
	}

	var ledger struct {
		Restrictions []struct {
			Restricted bool   `bson:"restricted"`
			Reason     string `bson:"reason"`
		} `bson:"restrictions"`
	}
	err := s.raw.Database(consentDatabase).Collection("ledgers").FindOne(t.Context(), bson.M{"_id": ownerID}).Decode(&ledger)
	if err != nil {
		t.Fatalf("read the consent ledger: %v", err)
	}
	if r := ledger.Restrictions; len(r) != 1 || !r[0].Restricted || r[0].Reason != want {
		t.Errorf("the consent ledger's restrictions: %+v, want one restriction with the reason %q", r, want)
	}
}

func TestErasureRequestValidation(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Virtanen")
	manager := s.as(t, auth.RoleClinicManager)
	tests := []struct {
		name   string
		req    *disclosurev1.CreateErasureRequestRequest
		code   codes.Code
		fields []string
	}{
		{"no request", &disclosurev1.CreateErasureRequestRequest{}, codes.InvalidArgument, []string{"erasure_request"}},
		{"nothing said", &disclosurev1.CreateErasureRequestRequest{ErasureRequest: &disclosurev1.ErasureRequest{}}, codes.InvalidArgument,
			[]string{"erasure_request.owner_id", "erasure_request.channel", "erasure_request.identification"}},
		{"owner id not an id", &disclosurev1.CreateErasureRequestRequest{ErasureRequest: erasureRequest("owner-1")}, codes.InvalidArgument,
			[]string{"erasure_request.owner_id"}},
		{"received in the future", &disclosurev1.CreateErasureRequestRequest{ErasureRequest: func() *disclosurev1.ErasureRequest {
			r := erasureRequest(ownerID)
			r.ReceiveTime = timestamppb.New(time.Now().Add(time.Hour))
			return r
		}()}, codes.InvalidArgument, []string{"erasure_request.receive_time"}},
		{"unknown owner", &disclosurev1.CreateErasureRequestRequest{ErasureRequest: erasureRequest("0192f5a0-0000-7000-8000-000000000000")}, codes.NotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.disclosure.CreateErasureRequest(manager, tt.req)
			wantCode(t, err, tt.code)
			if tt.fields != nil {
				if got := violations(t, err); !slices.Equal(got, tt.fields) {
					t.Errorf("violations %v, want %v", got, tt.fields)
				}
			}
		})
	}
	t.Run("reception may not erase", func(t *testing.T) {
		_, err := s.disclosure.CreateErasureRequest(s.as(t, auth.RoleReception), &disclosurev1.CreateErasureRequestRequest{ErasureRequest: erasureRequest(ownerID)})
		wantCode(t, err, codes.PermissionDenied)
	})
	t.Run("the same request id for another owner", func(t *testing.T) {
		other, _ := s.customer(t, "Korhonen")
		s.requestErasure(t, ownerID, "letter-9")
		_, err := s.disclosure.CreateErasureRequest(manager, &disclosurev1.CreateErasureRequestRequest{RequestId: "letter-9", ErasureRequest: erasureRequest(other)})
		if got := refusalReason(t, err); got != "REQUEST_ID_REUSED" {
			t.Errorf("reason %s", got)
		}
	})
}

// TestErasureStuckAndResumed gives the job a token whose role may not restrict owners:
// the owner service refuses, which no retry fixes, so the job is stuck. Once the token
// file holds the right role (re-read on every use) the clinic manager resumes it and it
// finishes.
func TestErasureStuckAndResumed(t *testing.T) {
	s := start(t)
	writeJobToken(t, s.env, s.jobTokenFile, auth.RoleReception)
	ownerID, _ := s.customer(t, "Nieminen")
	created := s.requestErasure(t, ownerID, "")
	stuck := s.waitErasure(t, created.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_STUCK))
	first := stuck.GetSteps()[0]
	if first.GetState() != disclosurev1.ErasureStepState_ERASURE_STEP_STATE_FAILED || first.GetLastError() != "PERMISSION_DENIED" || first.GetAttempts() != 1 {
		t.Fatalf("stuck at %v", first)
	}
	writeJobToken(t, s.env, s.jobTokenFile, auth.RoleErasureJob)
	res, err := s.disclosure.ResumeErasureRequest(s.as(t, auth.RoleClinicManager), &disclosurev1.ResumeErasureRequestRequest{ErasureRequestId: created.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetErasureRequest().GetState() != disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_RUNNING {
		t.Fatalf("resumed into %v", res.GetErasureRequest().GetState())
	}
	done := s.waitErasure(t, created.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_DONE))
	if got := done.GetSteps()[0]; got.GetAttempts() != 2 || got.GetLastError() != "" {
		t.Errorf("the owner's restriction after resuming: %v", got)
	}
}

// TestErasureWithoutJobCredentials: a service with no token file refuses erasure
// requests rather than accepting a job it cannot run.
func TestErasureWithoutJobCredentials(t *testing.T) {
	s := start(t, func(c *disclosure.Config) { c.Job.TokenFile = "" })
	ownerID, _ := s.customer(t, "Mäkinen")
	_, err := s.disclosure.CreateErasureRequest(s.as(t, auth.RoleClinicManager), &disclosurev1.CreateErasureRequestRequest{ErasureRequest: erasureRequest(ownerID)})
	if got := refusalReason(t, err); got != "ERASURE_JOBS_NOT_CONFIGURED" {
		t.Errorf("reason %s", got)
	}
}

// TestErasureWaitsForTheJobToken: in Kubernetes the job's token Secret is optional and
// written from outside, so the service may start before it exists (its volume an empty
// folder). The service starts and says so in its log, an erasure request is taken, its
// steps wait JOB_CREDENTIALS_UNAVAILABLE, and once the token is written the job runs.
func TestErasureWaitsForTheJobToken(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	s := start(t, func(c *disclosure.Config) { c.Job.TokenFile = tokenFile })
	if !strings.Contains(s.env.Logs(), "DISCLOSURE_JOB_TOKEN_FILE names no file yet") {
		t.Errorf("the service's log says nothing of the missing token file:\n%s", s.env.Logs())
	}
	ownerID, patientID := s.customer(t, "Odottaja")
	s.erasureHistory(t, ownerID, patientID)
	created := s.requestErasure(t, ownerID, "")
	// A claim counts the attempt before the step runs; its error is stored after.
	waiting := s.waitErasure(t, created.GetId(), func(r *disclosurev1.ErasureRequest) bool {
		return r.GetSteps()[0].GetLastError() != ""
	})
	if e := waiting.GetSteps()[0].GetLastError(); e != "JOB_CREDENTIALS_UNAVAILABLE" {
		t.Fatalf("the first step without a token failed with %q, want JOB_CREDENTIALS_UNAVAILABLE", e)
	}
	writeJobToken(t, s.env, tokenFile, auth.RoleErasureJob)
	s.waitErasure(t, created.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_DONE))
}

// TestErasureWithTwoReplicas runs two disclosure replicas with job credentials on one
// store: both workers race for the same job, and the compare-and-set on its version lets
// only one take each step, so every step runs once and the job finishes once.
func TestErasureWithTwoReplicas(t *testing.T) {
	s := start(t)
	s.replica(t)
	ownerID, patientID := s.customer(t, "Heikkinen")
	s.erasureHistory(t, ownerID, patientID)
	created := s.requestErasure(t, ownerID, "")
	done := s.waitErasure(t, created.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_DONE))
	for i, st := range done.GetSteps() {
		if st.GetAttempts() != 1 {
			t.Errorf("step %v ran %d times", wantSteps[i], st.GetAttempts())
		}
	}
	if n := restrictionChanges(t, s, ownerID); n != 1 {
		t.Errorf("%d restriction changes, want 1", n)
	}
	if n := s.finishEvents(t, created.GetId(), ""); n != 1 {
		t.Errorf("%d finish events, want 1", n)
	}
}

// finishEvents waits until the disclosure service's audit log holds the finish event of
// erasure id (events are written in batches, just after the job's last write), by
// subject when one is given, and returns how many there are.
func (s *system) finishEvents(t *testing.T, id, subject string) int64 {
	t.Helper()
	filter := bson.M{"action": "erasure_request.finish", "resource": "erasureRequests/" + id}
	if subject != "" {
		filter["actor_subject"] = subject
	}
	deadline := time.Now().Add(jobWait)
	for {
		n, err := s.raw.Database(disclosureDatabase).Collection(audit.Collection).CountDocuments(t.Context(), filter)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestErasureRestrictionCannotBeLifted: once the job has restricted the owner, the
// erasure request cannot be cancelled, so the owner service refuses a clinic manager's
// lift (ERASURE_IN_PROGRESS) while the job waits for a service out of reach.
func TestErasureRestrictionCannotBeLifted(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Lahtinen")
	s.stopConsent()
	created := s.requestErasure(t, ownerID, "")
	s.waitErasure(t, created.GetId(), stepDone(0))
	_, err := s.owners.SetOwnerRestriction(s.as(t, auth.RoleClinicManager), &ownerv1.SetOwnerRestrictionRequest{
		OwnerId: ownerID, Restricted: false, Reason: "the customer stays",
	})
	if got := refusalReason(t, err); got != "ERASURE_IN_PROGRESS" {
		t.Errorf("lifting the restriction of an erasure under way: %s, want ERASURE_IN_PROGRESS", got)
	}
}
