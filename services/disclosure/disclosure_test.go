package disclosure_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	consentv1 "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner/ownertest"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

const (
	ownerDatabase      = "lillvet_owner_test"
	consentDatabase    = "lillvet_consent_test"
	historyDatabase    = "lillvet_history_test"
	disclosureDatabase = "lillvet_disclosure_test"
	// identityCode is the owner's code in every test; it must never leave.
	identityCode = "131052-308T"
)

// system is the disclosure service with the real owner, consent and patient-history
// services it asks, on one embedded store.
type system struct {
	env        *servicetest.Env
	owners     ownerv1.OwnerServiceClient
	consents   consentv1.ConsentServiceClient
	history    historyv1.HistoryServiceClient
	disclosure disclosurev1.DisclosureServiceClient
	// cfg is the disclosure service's configuration, jobTokenFile its job's token.
	cfg          disclosure.Config
	jobTokenFile string
	raw          *mongo.Client
	customers    int
	// stopConsent and stopHistory stop the consent and the patient-history service.
	stopConsent, stopHistory func()
	// stopDisclosure stops the disclosure service, which drains its audit queue.
	stopDisclosure func()
}

// start runs the system; opts adjust the disclosure service's configuration. The
// erasure job gets a token of a service subject with the erasure_job role.
func start(t testing.TB, opts ...func(*disclosure.Config)) *system {
	t.Helper()
	env := servicetest.New(t)
	ownerSvc, ownerAddr := ownertest.Start(t, env, ownerDatabase)
	historyL := servicetest.Listen(t)
	historyCfg := history.Config{
		Base: env.Base(historyL, historyDatabase), OwnerTarget: ownerAddr,
	}
	historySvc := env.Serve(t, historyL.Addr().String(), func(ctx context.Context) error { return history.Run(ctx, historyCfg) })

	consentL := servicetest.Listen(t)
	consentCfg := consent.Config{
		Base: env.Base(consentL, consentDatabase), OwnerAddr: ownerAddr, OwnerTLS: env.TLS,
	}
	consentSvc := env.Serve(t, consentL.Addr().String(), func(ctx context.Context) error { return consent.Run(ctx, consentCfg) })

	l := servicetest.Listen(t)
	cfg := disclosure.Config{
		Base:      env.Base(l, disclosureDatabase),
		OwnerAddr: ownerAddr, OwnerTLS: env.TLS, ConsentAddr: consentL.Addr().String(), ConsentTLS: env.TLS,
		HistoryAddr: historyL.Addr().String(), HistoryTLS: env.TLS,
		Job: disclosure.JobConfig{
			TokenFile: filepath.Join(t.TempDir(), "job-token"), Poll: time.Second, CallTimeout: 10 * time.Second, Lease: time.Minute,
		},
	}
	tokenFile := cfg.Job.TokenFile
	writeJobToken(t, env, tokenFile, auth.RoleErasureJob)
	for _, o := range opts {
		o(&cfg)
	}
	svc := env.Serve(t, l.Addr().String(), func(ctx context.Context) error { return disclosure.Run(ctx, cfg) })
	raw := embeddedtest.Client(t, env.Store.URI())
	return &system{
		env: env, owners: ownerv1.NewOwnerServiceClient(ownerSvc.Conn), consents: consentv1.NewConsentServiceClient(consentSvc.Conn),
		history: historyv1.NewHistoryServiceClient(historySvc.Conn), cfg: cfg, jobTokenFile: tokenFile,
		disclosure: disclosurev1.NewDisclosureServiceClient(svc.Conn), raw: raw, stopConsent: consentSvc.Stop,
		stopHistory: historySvc.Stop, stopDisclosure: svc.Stop,
	}
}

// replica starts a second disclosure service on the same store and configuration, a
// worker of its own included.
func (s *system) replica(t *testing.T) {
	t.Helper()
	l := servicetest.Listen(t)
	cfg := s.cfg
	cfg.GRPC, cfg.Listener = s.env.GRPCConfig(l), l
	s.env.Serve(t, l.Addr().String(), func(ctx context.Context) error { return disclosure.Run(ctx, cfg) })
}

// jobSubject is the erasure job's service subject in the tests.
const jobSubject = "service:disclosure-erasure"

// writeJobToken writes a token for the job's subject with role into file, as a
// Kubernetes projected token or the local runner does.
func writeJobToken(t testing.TB, env *servicetest.Env, file string, role auth.Role) {
	t.Helper()
	tok, err := env.Issuer.Mint(devauth.Claims{Subject: jobSubject, Roles: []auth.Role{role}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *system) as(t *testing.T, roles ...auth.Role) context.Context {
	t.Helper()
	return s.env.As(t, roles...)
}

// asPartner calls as a partner acting for recipientID.
func (s *system) asPartner(t *testing.T, recipientID string) context.Context {
	t.Helper()
	tok, err := s.env.Issuer.Mint(devauth.Claims{
		Subject: "partner-" + recipientID, Roles: []auth.Role{auth.RolePartner}, RecipientID: recipientID,
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return auth.WithOutgoingToken(t.Context(), tok, "")
}

// customer registers an owner and one dog, and returns their ids. The first customer
// of a test has an identity code and a microchip on record (both are unique).
func (s *system) customer(t *testing.T, family string) (ownerID, patientID string) {
	t.Helper()
	code, chip := "", ""
	if s.customers == 0 {
		code, chip = identityCode, "246098100123456"
	}
	s.customers++
	res, err := s.owners.CreateOwner(s.as(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{
		IdentityCode: code, Owner: &ownerv1.Owner{
			GivenNames: "Aino", FamilyName: family, Phone: "040 123 4567", Email: "aino@example.fi",
			Address:    &ownerv1.Address{Street: "Ruukintie 1", PostalCode: "60100", City: "Seinäjoki"},
			HomeClinic: ownerv1.Clinic_CLINIC_SEINAJOKI,
		},
	})
	if err != nil {
		t.Fatalf("create owner: %v", err)
	}
	ownerID = res.GetOwner().GetId()
	p, err := s.owners.RegisterPatient(s.as(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: ownerID, Patient: &ownerv1.Patient{
		Name: "Musti", Species: ownerv1.Species_SPECIES_DOG, Sex: ownerv1.Sex_SEX_FEMALE, BirthDate: "2020-05-01",
		Microchip: chip,
	}})
	if err != nil {
		t.Fatalf("register patient: %v", err)
	}
	return ownerID, p.GetPatient().GetId()
}

func insurer(name, country string) *disclosurev1.Recipient {
	return &disclosurev1.Recipient{
		Name: name, Kind: disclosurev1.RecipientKind_RECIPIENT_KIND_INSURER, BusinessId: "2923530-5", Country: country,
		Contact: &disclosurev1.Contact{Name: "Claims desk", Email: "claims@example.fi"},
	}
}

func (s *system) register(t *testing.T, r *disclosurev1.Recipient) *disclosurev1.Recipient {
	t.Helper()
	res, err := s.disclosure.CreateRecipient(s.as(t, auth.RoleClinicManager), &disclosurev1.CreateRecipientRequest{Recipient: r})
	if err != nil {
		t.Fatalf("register recipient: %v", err)
	}
	return res.GetRecipient()
}

// agree records the customer's agreement with the insurer: a grant scoped to its id.
func (s *system) agree(t *testing.T, ownerID, insurerID string) *consentv1.ConsentDecision {
	t.Helper()
	return s.grant(t, ownerID, consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, insurerID)
}

// grant records the customer's written grant of purpose with scope (form-7 on file).
func (s *system) grant(t *testing.T, ownerID string, purpose consentv1.Purpose, scope string) *consentv1.ConsentDecision {
	t.Helper()
	res, err := s.consents.RecordConsentDecision(s.as(t, auth.RoleReception), &consentv1.RecordConsentDecisionRequest{
		OwnerId: ownerID, Decision: &consentv1.ConsentDecision{
			Purpose: purpose, Scope: scope,
			Decision: consentv1.Decision_DECISION_GRANTED, Method: consentv1.Method_METHOD_WRITTEN,
			EvidenceRef: "form-7", StatementVersion: "2026-01",
		},
	})
	if err != nil {
		t.Fatalf("record a grant of %s: %v", purpose, err)
	}
	return res.GetDecision()
}

var (
	wantCode   = servicetest.WantCode
	violations = servicetest.Violations
)

const (
	ownerName     = disclosurev1.DataCategory_DATA_CATEGORY_OWNER_NAME
	ownerContact  = disclosurev1.DataCategory_DATA_CATEGORY_OWNER_CONTACT
	patientBasics = disclosurev1.DataCategory_DATA_CATEGORY_PATIENT_BASICS
	microchip     = disclosurev1.DataCategory_DATA_CATEGORY_MICROCHIP
	identity      = disclosurev1.DataCategory_DATA_CATEGORY_IDENTITY_CODE
	visits        = disclosurev1.DataCategory_DATA_CATEGORY_VISIT_HISTORY
)

func claim(recipientID, ownerID string, cats ...disclosurev1.DataCategory) *disclosurev1.CreateDisclosureRequest {
	return &disclosurev1.CreateDisclosureRequest{
		RecipientId: recipientID, OwnerId: ownerID, Categories: cats, CaseReference: "claim 2026-117",
	}
}

// discloseUnder sends req under requestID as reception, and answers the disclosure.
func (s *system) discloseUnder(t *testing.T, req *disclosurev1.CreateDisclosureRequest, requestID string) *disclosurev1.CreateDisclosureResponse {
	t.Helper()
	req.RequestId = requestID
	res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), req)
	if err != nil {
		t.Fatalf("disclose under %s: %v", requestID, err)
	}
	return res
}

// refusalReason returns the ErrorInfo reason of a FAILED_PRECONDITION.
func refusalReason(t *testing.T, err error) string {
	t.Helper()
	st := wantCode(t, err, codes.FailedPrecondition)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	t.Fatalf("no ErrorInfo in %v", err)
	return ""
}

func (s *system) ownerLog(t *testing.T, ownerID string) []*disclosurev1.Disclosure {
	t.Helper()
	res, err := s.disclosure.ListOwnerDisclosures(s.as(t, auth.RoleClinicManager), &disclosurev1.ListOwnerDisclosuresRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatalf("list disclosures: %v", err)
	}
	return res.GetDisclosures()
}

func TestRecipientOutsideEEAIsRefused(t *testing.T) {
	s := start(t)
	_, err := s.disclosure.CreateRecipient(s.as(t, auth.RoleClinicManager),
		&disclosurev1.CreateRecipientRequest{Recipient: insurer("Acme Pet Insurance Inc.", "US")})
	if got := refusalReason(t, err); got != "RECIPIENT_OUTSIDE_EEA" {
		t.Fatalf("reason %q", got)
	}
	if !strings.Contains(err.Error(), "outside the EU/EEA") {
		t.Fatalf("the message does not say why: %v", err)
	}
	res, err := s.disclosure.ListRecipients(s.as(t, auth.RoleReception), &disclosurev1.ListRecipientsRequest{})
	if err != nil || len(res.GetRecipients()) != 0 {
		t.Fatalf("a refused recipient was stored: %v, %v", res, err)
	}
	// Norway is in the EEA.
	if r := s.register(t, insurer("Gjensidige", "no")); r.GetCountry() != "NO" || !r.GetActive() {
		t.Fatalf("EEA recipient: %v", r)
	}
}

// TestInsurerClaim is the scenario: without the customer's agreement the insurer
// gets nothing and the refusal is logged; with it, the package goes out without the
// identity code, logged with the consent decision that allowed it, and its hash checks.
// TestOwnerListTakesTheIdInCapitals: an owner id written in capitals, which passes as
// a UUID, lists the owner's disclosures, and the reading is audited under the owner id
// as issued, where the owner's access report looks for it.
func TestOwnerListTakesTheIdInCapitals(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Virtanen")
	ins := s.register(t, insurer("LähiTapiola", "FI"))
	s.agree(t, ownerID, ins.GetId())
	sent, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName))
	if err != nil {
		t.Fatalf("disclose: %v", err)
	}
	if log := s.ownerLog(t, strings.ToUpper(ownerID)); len(log) != 1 || log[0].GetId() != sent.GetDisclosure().GetId() {
		t.Fatalf("listed under the id in capitals: %v, want the disclosure", log)
	}
	s.stopDisclosure() // drains the audit queue
	read, err := s.raw.Database(disclosureDatabase).Collection("audit_events").CountDocuments(t.Context(), bson.M{
		"action": "disclosure.list", "subject_owner_id": ownerID, "resource": "owners/" + ownerID + "/disclosures",
	})
	if err != nil || read != 1 {
		t.Errorf("%d readings audited under the issued owner id (%v), want 1", read, err)
	}
}

func TestInsurerClaim(t *testing.T) {
	s := start(t)
	ownerID, patientID := s.customer(t, "Mäkinen")
	ins := s.register(t, insurer("LähiTapiola", "FI"))

	_, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName, patientBasics))
	if got := refusalReason(t, err); got != "NO_LEGAL_BASIS" || !strings.Contains(err.Error(), "no_grant") {
		t.Fatalf("without agreement: %v", err)
	}
	log := s.ownerLog(t, ownerID)
	if len(log) != 1 || log[0].GetOutcome() != disclosurev1.DisclosureOutcome_DISCLOSURE_OUTCOME_REFUSED ||
		log[0].GetRefusalReason() != "NO_LEGAL_BASIS" || log[0].GetConsentReason() != "no_grant" ||
		log[0].GetPayloadSha256() != "" || log[0].GetRequestedBy() != "test-reception" {
		t.Fatalf("the refusal is not logged as such: %v", log)
	}

	grant := s.agree(t, ownerID, ins.GetId())
	res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName, patientBasics))
	if err != nil {
		t.Fatalf("with agreement: %v", err)
	}
	d, pkg := res.GetDisclosure(), res.GetContents()
	if d.GetOutcome() != disclosurev1.DisclosureOutcome_DISCLOSURE_OUTCOME_DISCLOSED ||
		d.GetBasis() != disclosurev1.LegalBasis_LEGAL_BASIS_INSURER_AGREEMENT || d.GetConsentDecisionId() != grant.GetId() ||
		!slices.Equal(d.GetPatientIds(), []string{patientID}) || d.GetCaseReference() != "claim 2026-117" {
		t.Fatalf("disclosure %v", d)
	}
	sum := sha256.Sum256(pkg.GetPayload())
	if hex.EncodeToString(sum[:]) != d.GetPayloadSha256() || pkg.GetMediaType() != "application/json" {
		t.Fatalf("the hash %s does not match the payload", d.GetPayloadSha256())
	}
	var payload struct {
		DisclosureID string
		Owner        map[string]any
		Patients     []map[string]any
	}
	if err := json.Unmarshal(pkg.GetPayload(), &payload); err != nil {
		t.Fatal(err)
	}
	if payload.DisclosureID != d.GetId() || payload.Owner["familyName"] != "Mäkinen" || len(payload.Patients) != 1 ||
		payload.Patients[0]["name"] != "Musti" || payload.Patients[0]["species"] != "dog" {
		t.Fatalf("payload %s", pkg.GetPayload())
	}
	// Only what was asked for and allowed: no identity code, no contact data, no chip.
	for _, leak := range []string{"131052", "308T", "identity", "aino@example.fi", "phone", "Ruukintie", "246098100123456"} {
		if strings.Contains(string(pkg.GetPayload()), leak) {
			t.Errorf("the package holds %q: %s", leak, pkg.GetPayload())
		}
	}
	log = s.ownerLog(t, ownerID)
	if len(log) != 2 || log[0].GetId() != d.GetId() || log[0].GetConsentDecisionId() != grant.GetId() {
		t.Fatalf("log newest first: %v", log)
	}
	// Paged one at a time: the disclosure, then the refusal, then the end.
	var paged []string
	token := ""
	for range 3 {
		page, err := s.disclosure.ListOwnerDisclosures(s.as(t, auth.RoleNurse),
			&disclosurev1.ListOwnerDisclosuresRequest{OwnerId: ownerID, PageSize: 1, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.GetDisclosures() {
			paged = append(paged, e.GetOutcome().String())
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if !slices.Equal(paged, []string{"DISCLOSURE_OUTCOME_DISCLOSED", "DISCLOSURE_OUTCOME_REFUSED"}) {
		t.Fatalf("pages %v", paged)
	}
	got, err := s.disclosure.GetDisclosure(s.as(t, auth.RoleClinicManager), &disclosurev1.GetDisclosureRequest{DisclosureId: d.GetId()})
	if err != nil || string(got.GetContents().GetPayload()) != string(pkg.GetPayload()) {
		t.Fatalf("get: %v, %v", got, err)
	}
	// The disclosure is audited with the owner as its subject.
	var ev bson.M
	err = s.raw.Database(disclosureDatabase).Collection("audit_events").
		FindOne(t.Context(), bson.M{"action": "disclosure.create", "resource": "disclosures/" + d.GetId()}).Decode(&ev)
	if err != nil || ev["subject_owner_id"] != ownerID || ev["actor_subject"] != "test-reception" || ev["outcome"] != "success" {
		t.Fatalf("audit event %v: %v", ev, err)
	}
}

func TestRefusals(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Virtanen")
	ins := s.register(t, insurer("If", "FI"))
	s.agree(t, ownerID, ins.GetId())
	gone := s.register(t, insurer("Old Insurer", "SE"))
	if _, err := s.disclosure.DeactivateRecipient(s.as(t, auth.RoleClinicManager),
		&disclosurev1.DeactivateRecipientRequest{RecipientId: gone.GetId()}); err != nil {
		t.Fatal(err)
	}
	restricted, _ := s.customer(t, "Nieminen")
	s.agree(t, restricted, ins.GetId())
	if _, err := s.raw.Database(ownerDatabase).Collection("owners").UpdateByID(t.Context(), restricted,
		bson.M{"$set": bson.M{"restricted": true}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		req    *disclosurev1.CreateDisclosureRequest
		reason string
	}{
		{"deactivated recipient", claim(gone.GetId(), ownerID, ownerName), "RECIPIENT_INACTIVE"},
		{"contact data to an insurer", claim(ins.GetId(), ownerID, ownerName, ownerContact), "CATEGORY_NOT_ALLOWED"},
		{"identity code", claim(ins.GetId(), ownerID, identity), "CATEGORY_NOT_ALLOWED"},
		{"restricted owner", claim(ins.GetId(), restricted, ownerName), "OWNER_RESTRICTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleClinicManager), tc.req)
			if got := refusalReason(t, err); got != tc.reason {
				t.Fatalf("reason %s, want %s (%v)", got, tc.reason, err)
			}
			if log := s.ownerLog(t, tc.req.GetOwnerId()); log[0].GetRefusalReason() != tc.reason {
				t.Fatalf("not logged: %v", log)
			}
		})
	}
}

func TestRetriedDisclosureIsLoggedOnce(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Heikkinen")
	ins := s.register(t, insurer("Pohjola", "FI"))
	refused := claim(ins.GetId(), ownerID, ownerName)
	refused.RequestId = "claim-117-try"
	for range 2 {
		_, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), refused)
		if got := refusalReason(t, err); got != "NO_LEGAL_BASIS" {
			t.Fatalf("reason %s", got)
		}
	}
	s.agree(t, ownerID, ins.GetId())
	req := claim(ins.GetId(), ownerID, ownerName, microchip)
	first := s.discloseUnder(t, req, "claim-117")
	again, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), req)
	if err != nil || again.GetDisclosure().GetId() != first.GetDisclosure().GetId() ||
		string(again.GetContents().GetPayload()) != string(first.GetContents().GetPayload()) {
		t.Fatalf("retry: %v, %v", again, err)
	}
	if log := s.ownerLog(t, ownerID); len(log) != 2 {
		t.Fatalf("%d log entries, want one refusal and one disclosure", len(log))
	}
	// The same request id about another owner is not answered with this owner's data.
	other, _ := s.customer(t, "Salo")
	req.OwnerId = other
	_, err = s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), req)
	if got := refusalReason(t, err); got != "REQUEST_ID_REUSED" {
		t.Fatalf("reused request id: %s", got)
	}
}

// TestRetryOfADisclosureChecksTheBasisAgain: reception discloses to an insurer under a
// request id; then the basis ends (the owner withdraws the agreement, the clinic manager
// deactivates the insurer, or restricts the owner), and reception resends the request
// under the same id. Handing the package out again is a disclosure that rests on the
// basis at that moment (DESIGN rule 5): the retry is refused, the refusal audited about
// the owner, and the log keeps the one entry, a disclosure, as the package did go out
// the first time.
func TestRetryOfADisclosureChecksTheBasisAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		end    func(t *testing.T, s *system, ownerID, insurerID string)
		reason string
	}{
		{"the owner withdrew the agreement", withdraw, "NO_LEGAL_BASIS"},
		{"the insurer was deactivated", func(t *testing.T, s *system, _, insurerID string) {
			if _, err := s.disclosure.DeactivateRecipient(s.as(t, auth.RoleClinicManager),
				&disclosurev1.DeactivateRecipientRequest{RecipientId: insurerID}); err != nil {
				t.Fatal(err)
			}
		}, "RECIPIENT_INACTIVE"},
		{"the owner was restricted", func(t *testing.T, s *system, ownerID, _ string) {
			if _, err := s.raw.Database(ownerDatabase).Collection("owners").UpdateByID(t.Context(), ownerID,
				bson.M{"$set": bson.M{"restricted": true}}); err != nil {
				t.Fatal(err)
			}
		}, "OWNER_RESTRICTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			ownerID, _ := s.customer(t, "Heikkinen")
			ins := s.register(t, insurer("Pohjola", "FI"))
			s.agree(t, ownerID, ins.GetId())
			req := claim(ins.GetId(), ownerID, ownerName, microchip)
			first := s.discloseUnder(t, req, "claim-117")
			tc.end(t, s, ownerID, ins.GetId())
			again, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), req)
			if got := refusalReason(t, err); got != tc.reason || again.GetContents() != nil {
				t.Fatalf("retry: %s with %d bytes of package, want %s and none", got, len(again.GetContents().GetPayload()), tc.reason)
			}
			if log := s.ownerLog(t, ownerID); len(log) != 1 ||
				log[0].GetOutcome() != disclosurev1.DisclosureOutcome_DISCLOSURE_OUTCOME_DISCLOSED {
				t.Fatalf("log %v, want the one disclosure", log)
			}
			s.stopDisclosure() // drains the audit queue
			refused, err := s.raw.Database(disclosureDatabase).Collection("audit_events").CountDocuments(t.Context(), bson.M{
				"action": "disclosure.create", "resource": "disclosures/" + first.GetDisclosure().GetId(),
				"subject_owner_id": ownerID, "outcome": "denied", "reason": tc.reason,
			})
			if err != nil || refused != 1 {
				t.Errorf("%d refusals of the retry audited (%v), want 1", refused, err)
			}
		})
	}
}

// withdraw records the owner's withdrawal of their agreement with the insurer.
func withdraw(t *testing.T, s *system, ownerID, insurerID string) {
	t.Helper()
	if _, err := s.consents.RecordConsentDecision(s.as(t, auth.RoleReception), &consentv1.RecordConsentDecisionRequest{
		OwnerId: ownerID, Decision: &consentv1.ConsentDecision{
			Purpose: consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, Scope: insurerID,
			Decision: consentv1.Decision_DECISION_WITHDRAWN, Method: consentv1.Method_METHOD_IN_PERSON,
		},
	}); err != nil {
		t.Fatalf("record withdrawal: %v", err)
	}
}

// TestRequestIDReusedForAnotherRequest: reception discloses an owner's name and dog to
// an insurer under a request id, then sends another request to the same insurer about
// the same owner under that id. Answering it with the first package would tell the
// caller their request was done when it was not: it is refused REQUEST_ID_REUSED, a
// field violation on request_id, audited as a refusal about the owner. The same request
// with its categories and patients in another order is the retry, and gets the package;
// so does the retry of an entry logged before the patients named were kept, whether the
// first request named a patient or none.
func TestRequestIDReusedForAnotherRequest(t *testing.T) {
	s := start(t)
	ownerID, dog := s.customer(t, "Heikkinen")
	cat, err := s.owners.RegisterPatient(s.as(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: ownerID, Patient: &ownerv1.Patient{
		Name: "Mirri", Species: ownerv1.Species_SPECIES_CAT, Sex: ownerv1.Sex_SEX_FEMALE, BirthDate: "2021-03-01",
	}})
	if err != nil {
		t.Fatal(err)
	}
	ins := s.register(t, insurer("Pohjola", "FI"))
	s.agree(t, ownerID, ins.GetId())
	for i, tc := range []struct {
		name   string
		change func(*disclosurev1.CreateDisclosureRequest)
		// everyPatient: the first request names no patient (the package covers both).
		// before removes what the entry keeps of the request's patients, as logged
		// before it was kept.
		everyPatient, before bool
		reused               bool
	}{
		{name: "other categories", change: func(r *disclosurev1.CreateDisclosureRequest) { r.Categories = []disclosurev1.DataCategory{ownerName} }, reused: true},
		{name: "another case reference", change: func(r *disclosurev1.CreateDisclosureRequest) { r.CaseReference = "claim 2026-999" }, reused: true},
		{name: "another patient", change: func(r *disclosurev1.CreateDisclosureRequest) { r.PatientIds = []string{cat.GetPatient().GetId()} }, reused: true},
		{name: "every patient", change: func(r *disclosurev1.CreateDisclosureRequest) { r.PatientIds = nil }, reused: true},
		{name: "the same request in another order", change: func(r *disclosurev1.CreateDisclosureRequest) {
			r.Categories = []disclosurev1.DataCategory{patientBasics, ownerName}
		}},
		{name: "the same request naming no patient", change: func(*disclosurev1.CreateDisclosureRequest) {}, everyPatient: true},
		{name: "the same request, logged before the patients named were kept", change: func(*disclosurev1.CreateDisclosureRequest) {}, before: true},
		// The entry's own patients are then both animals, which the request does not list.
		{name: "the same request naming no patient, logged before the patients named were kept", change: func(*disclosurev1.CreateDisclosureRequest) {},
			everyPatient: true, before: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := claim(ins.GetId(), ownerID, ownerName, patientBasics)
			if !tc.everyPatient {
				req.PatientIds = []string{dog}
			}
			first := s.discloseUnder(t, req, fmt.Sprintf("claim-%d", i))
			id := first.GetDisclosure().GetId()
			if tc.before {
				if _, err := s.raw.Database(disclosureDatabase).Collection("disclosures").UpdateByID(t.Context(), id,
					bson.M{"$unset": bson.M{"requested": ""}}); err != nil {
					t.Fatal(err)
				}
			}
			tc.change(req)
			again, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), req)
			if !tc.reused {
				if err != nil || again.GetDisclosure().GetId() != id || string(again.GetContents().GetPayload()) != string(first.GetContents().GetPayload()) {
					t.Fatalf("retry: %v, %v; want the first package", again, err)
				}
				return
			}
			if got := refusalReason(t, err); got != "REQUEST_ID_REUSED" || again.GetContents() != nil {
				t.Fatalf("%s with %d bytes of package, want REQUEST_ID_REUSED and none", got, len(again.GetContents().GetPayload()))
			}
			if fields := fieldViolations(err); !slices.Equal(fields, []string{"request_id"}) {
				t.Errorf("field violations %v, want request_id", fields)
			}
			refused, err := s.raw.Database(disclosureDatabase).Collection("audit_events").CountDocuments(t.Context(), bson.M{
				"action": "disclosure.create", "resource": "disclosures/" + id, "subject_owner_id": ownerID,
				"outcome": "denied", "reason": "REQUEST_ID_REUSED",
			})
			if err != nil || refused != 1 {
				t.Errorf("%d refusals of the reused request id audited (%v), want 1", refused, err)
			}
		})
	}
}

// fieldViolations returns the fields of err's BadRequest detail.
func fieldViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// TestConsentRestrictionRefusesASubcontractor: the consent service keeps a restriction
// of its own (the clinic manager's for a pending objection, the erasure job's), and
// either service's restriction restricts. A subcontractor's disclosure asks for no
// consent verdict, so it must ask that restriction alone: while it is set, a disclosure
// to the subcontractor, and the retry of one made before, are refused OWNER_RESTRICTED.
func TestConsentRestrictionRefusesASubcontractor(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before discloses under the request id before the restriction.
		before bool
	}{
		{name: "a disclosure"},
		{name: "the retry of one made before", before: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			ownerID, _ := s.customer(t, "Heikkinen")
			manager := s.as(t, auth.RoleClinicManager)
			lab := s.register(t, &disclosurev1.Recipient{
				Name: "Vetlab Oy", Kind: disclosurev1.RecipientKind_RECIPIENT_KIND_SUBCONTRACTOR, BusinessId: "2923530-5",
				Country: "FI", AgreementRef: "DPA-2026-3", Contact: &disclosurev1.Contact{Email: "dpo@vetlab.example.fi"},
			})
			req := claim(lab.GetId(), ownerID, ownerName, ownerContact)
			req.RequestId = "lab-2026-8"
			if tc.before {
				if _, err := s.disclosure.CreateDisclosure(manager, req); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.consents.SetOwnerRestriction(manager, &consentv1.SetOwnerRestrictionRequest{
				OwnerId: ownerID, Restricted: true, Reason: "case-2026-17"}); err != nil {
				t.Fatal(err)
			}
			res, err := s.disclosure.CreateDisclosure(manager, req)
			if got := refusalReason(t, err); got != "OWNER_RESTRICTED" || res.GetContents() != nil {
				t.Fatalf("%s with %d bytes of package, want OWNER_RESTRICTED and none", got, len(res.GetContents().GetPayload()))
			}
		})
	}
}

// TestPartners checks that a partner sees only what was disclosed to its own recipient,
// that nothing else in the register answers it, and that its request for another
// recipient's disclosure is audited in the owner's access log.
func TestPartners(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Korhonen")
	a := s.register(t, insurer("Insurer A", "FI"))
	b := s.register(t, insurer("Insurer B", "DK"))
	s.agree(t, ownerID, a.GetId())
	s.agree(t, ownerID, b.GetId())
	disclose := func(r *disclosurev1.Recipient) *disclosurev1.Disclosure {
		res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleClinicManager), claim(r.GetId(), ownerID, ownerName, patientBasics))
		if err != nil {
			t.Fatal(err)
		}
		return res.GetDisclosure()
	}
	toA, toB := disclose(a), disclose(b)
	// A refusal to A is not something A received.
	_, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleClinicManager), claim(a.GetId(), ownerID, identity))
	refusalReason(t, err)

	asA := s.asPartner(t, a.GetId())
	list, err := s.disclosure.ListPartnerDisclosures(asA, &disclosurev1.ListPartnerDisclosuresRequest{})
	if err != nil || len(list.GetDisclosures()) != 1 || list.GetDisclosures()[0].GetId() != toA.GetId() ||
		list.GetDisclosures()[0].GetRequestedBy() != "" {
		t.Fatalf("partner A's list: %v, %v", list, err)
	}
	got, err := s.disclosure.GetPartnerDisclosure(asA, &disclosurev1.GetPartnerDisclosureRequest{DisclosureId: toA.GetId()})
	if err != nil || got.GetContents() == nil {
		t.Fatalf("partner A's own: %v, %v", got, err)
	}
	sum := sha256.Sum256(got.GetContents().GetPayload())
	if hex.EncodeToString(sum[:]) != got.GetDisclosure().GetPayloadSha256() {
		t.Fatal("the partner cannot verify the hash")
	}
	// B's disclosure is answered as an unknown id is, so nothing is revealed.
	const unknownID = "01a23cb5-88de-7e02-b4ff-7c11a64efc80"
	_, probe := s.disclosure.GetPartnerDisclosure(asA, &disclosurev1.GetPartnerDisclosureRequest{DisclosureId: toB.GetId()})
	_, unknown := s.disclosure.GetPartnerDisclosure(asA, &disclosurev1.GetPartnerDisclosureRequest{DisclosureId: unknownID})
	wantCode(t, probe, codes.NotFound)
	if probe.Error() != strings.ReplaceAll(unknown.Error(), unknownID, toB.GetId()) {
		t.Errorf("a probe answered %q, an unknown id %q", probe, unknown)
	}
	if msg := status.Convert(unknown).Message(); msg != "disclosure "+unknownID+" not found" {
		t.Errorf("an unknown id is answered %q, want it named by its id alone", msg)
	}

	// Nothing else answers a partner.
	for name, call := range map[string]func() error{
		"owner list": func() error {
			_, err := s.disclosure.ListOwnerDisclosures(asA, &disclosurev1.ListOwnerDisclosuresRequest{OwnerId: ownerID})
			return err
		},
		"get disclosure": func() error {
			_, err := s.disclosure.GetDisclosure(asA, &disclosurev1.GetDisclosureRequest{DisclosureId: toB.GetId()})
			return err
		},
		"disclose": func() error {
			_, err := s.disclosure.CreateDisclosure(asA, claim(a.GetId(), ownerID, ownerName))
			return err
		},
		"recipients": func() error {
			_, err := s.disclosure.ListRecipients(asA, &disclosurev1.ListRecipientsRequest{})
			return err
		},
		"owner service": func() error {
			_, err := s.owners.GetOwner(asA, &ownerv1.GetOwnerRequest{OwnerId: ownerID})
			return err
		},
		"consent service": func() error {
			_, err := s.consents.CheckConsent(asA, &consentv1.CheckConsentRequest{
				OwnerId: ownerID, Purpose: consentv1.Purpose_PURPOSE_INSURER_DISCLOSURE, Scope: a.GetId(),
			})
			return err
		},
	} {
		if err := call(); err == nil || wantCode(t, err, codes.PermissionDenied) == nil {
			t.Errorf("%s answered a partner", name)
		}
	}
	// A partner token without a recipient, and one whose recipient was deactivated.
	_, err = s.disclosure.ListPartnerDisclosures(s.as(t, auth.RolePartner), &disclosurev1.ListPartnerDisclosuresRequest{})
	wantCode(t, err, codes.PermissionDenied)
	if _, err := s.disclosure.DeactivateRecipient(s.as(t, auth.RoleClinicManager),
		&disclosurev1.DeactivateRecipientRequest{RecipientId: a.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = s.disclosure.ListPartnerDisclosures(asA, &disclosurev1.ListPartnerDisclosuresRequest{})
	wantCode(t, err, codes.PermissionDenied)

	// The probe is in the owner's access log.
	s.stopDisclosure()
	cur, err := s.raw.Database(disclosureDatabase).Collection("audit_events").Find(t.Context(),
		bson.M{"actor_subject": "partner-" + a.GetId(), "action": "disclosure.partner.read", "outcome": "denied"})
	if err != nil {
		t.Fatal(err)
	}
	var probes []bson.M
	if err := cur.All(t.Context(), &probes); err != nil {
		t.Fatal(err)
	}
	if len(probes) != 1 || probes[0]["subject_owner_id"] != ownerID || probes[0]["resource"] != "disclosures/"+toB.GetId() {
		t.Errorf("partner A's denied reads: %v, want its read of B's disclosure, about the owner", probes)
	}
}

func TestBadInputNamesTheFields(t *testing.T) {
	s := start(t)
	manager := s.as(t, auth.RoleClinicManager)
	_, err := s.disclosure.CreateRecipient(manager, &disclosurev1.CreateRecipientRequest{Recipient: &disclosurev1.Recipient{
		Kind: disclosurev1.RecipientKind_RECIPIENT_KIND_SUBCONTRACTOR, BusinessId: "2923530-4\x00", Country: "XX",
		Contact:    &disclosurev1.Contact{Email: "not an address"},
		Categories: []disclosurev1.DataCategory{identity},
	}})
	want := []string{"recipient.name", "recipient.country", "recipient.business_id", "recipient.contact.email", "recipient.agreement_ref", "recipient.categories"}
	if got := violations(t, err); !containsAll(got, want) {
		t.Fatalf("violations %v, want %v", got, want)
	}
	_, err = s.disclosure.CreateDisclosure(manager, &disclosurev1.CreateDisclosureRequest{
		OwnerId: "not-a-uuid", PatientIds: []string{""},
	})
	want = []string{"recipient_id", "owner_id", "patient_ids[0]", "categories", "case_reference"}
	if got := violations(t, err); !containsAll(got, want) {
		t.Fatalf("violations %v, want %v", got, want)
	}
	_, err = s.disclosure.ListOwnerDisclosures(manager, &disclosurev1.ListOwnerDisclosuresRequest{OwnerId: "x", PageSize: -1, PageToken: "?"})
	if got := violations(t, err); !containsAll(got, []string{"owner_id", "page_size"}) {
		t.Fatalf("violations %v", got)
	}
}

func containsAll(got, want []string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// TestPermissions checks the policy over real gRPC, and the per-kind rule: only the
// clinic manager discloses to a subcontractor, a refusal audited under the owner id as
// issued.
func TestPermissions(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Lehtonen")
	lab := s.register(t, &disclosurev1.Recipient{
		Name: "Vetlab Oy", Kind: disclosurev1.RecipientKind_RECIPIENT_KIND_SUBCONTRACTOR, BusinessId: "2923530-5",
		Country: "FI", AgreementRef: "DPA 2025-3", Contact: &disclosurev1.Contact{Email: "dpo@example.fi"},
		Categories: []disclosurev1.DataCategory{ownerName, patientBasics},
	})
	_, err := s.disclosure.CreateRecipient(s.as(t, auth.RoleReception), &disclosurev1.CreateRecipientRequest{Recipient: insurer("X", "FI")})
	wantCode(t, err, codes.PermissionDenied)
	_, err = s.disclosure.CreateDisclosure(s.as(t, auth.RoleNurse), claim(lab.GetId(), ownerID, ownerName))
	wantCode(t, err, codes.PermissionDenied)
	// Reception's refusal names the owner as issued, which the access report reads,
	// whatever form of the id the call wrote.
	_, err = s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(lab.GetId(), strings.ToUpper(ownerID), ownerName))
	wantCode(t, err, codes.PermissionDenied)
	denied, err := s.raw.Database(disclosureDatabase).Collection("audit_events").CountDocuments(t.Context(),
		bson.M{"subject_owner_id": ownerID, "action": "disclosure.create", "outcome": "denied"})
	if err != nil || denied != 1 { // the nurse's call the policy refused is an rpc.denied
		t.Errorf("%d refused disclosures to the subcontractor audited (%v), want reception's", denied, err)
	}
	byManager := claim(lab.GetId(), ownerID, ownerName, patientBasics)
	byManager.RequestId = "lab-2026-7"
	res, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleClinicManager), byManager)
	if err != nil || res.GetDisclosure().GetBasis() != disclosurev1.LegalBasis_LEGAL_BASIS_PROCESSOR_CONTRACT ||
		res.GetDisclosure().GetConsentDecisionId() != "" {
		t.Fatalf("manager to subcontractor: %v, %v", res, err)
	}
	// A "retry" by someone who may not disclose to the subcontractor gets no package.
	_, err = s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), byManager)
	wantCode(t, err, codes.PermissionDenied)
	_, err = s.disclosure.ListOwnerDisclosures(s.as(t, auth.RoleBilling), &disclosurev1.ListOwnerDisclosuresRequest{OwnerId: ownerID})
	wantCode(t, err, codes.PermissionDenied)
}

func TestRecipientsArePaged(t *testing.T) {
	s := start(t)
	first := s.register(t, insurer("A", "FI"))
	for _, n := range []string{"B", "C"} {
		s.register(t, insurer(n, "FI"))
	}
	var names []string
	token := ""
	for {
		res, err := s.disclosure.ListRecipients(s.as(t, auth.RoleNurse), &disclosurev1.ListRecipientsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.GetRecipients() {
			names = append(names, r.GetName())
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if !slices.Equal(names, []string{"A", "B", "C"}) {
		t.Fatalf("pages %v", names)
	}
	// A retried registration returns the first recipient.
	req := &disclosurev1.CreateRecipientRequest{RequestId: "dpa-7", Recipient: insurer("D", "FI")}
	one, err := s.disclosure.CreateRecipient(s.as(t, auth.RoleClinicManager), req)
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.disclosure.CreateRecipient(s.as(t, auth.RoleClinicManager), req)
	if err != nil || two.GetRecipient().GetId() != one.GetRecipient().GetId() {
		t.Fatalf("retry: %v, %v", two, err)
	}
	_, err = s.disclosure.CreateRecipient(s.as(t, auth.RoleClinicManager),
		&disclosurev1.CreateRecipientRequest{RequestId: "dpa-7", Recipient: insurer("E", "FI")})
	if got := refusalReason(t, err); got != "REQUEST_ID_REUSED" {
		t.Errorf("a request id reused for another insurer: %s", got)
	}
	got, err := s.disclosure.GetRecipient(s.as(t, auth.RoleReception), &disclosurev1.GetRecipientRequest{RecipientId: first.GetId()})
	if err != nil || got.GetRecipient().GetName() != "A" || len(got.GetRecipient().GetCategories()) != 6 {
		t.Fatalf("get: %v, %v", got, err)
	}
}

// TestConsentServiceDown checks that without an answer from the consent service nothing
// leaves and nothing is logged: the caller gets UNAVAILABLE and may retry.
func TestConsentServiceDown(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Kinnunen")
	ins := s.register(t, insurer("Turva", "FI"))
	s.agree(t, ownerID, ins.GetId())
	s.stopConsent()
	_, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName))
	wantCode(t, err, codes.Unavailable)
	if log := s.ownerLog(t, ownerID); len(log) != 0 {
		t.Fatalf("logged without a verdict: %v", log)
	}
}
