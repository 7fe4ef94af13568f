package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/identitycode"
	"github.com/lillvet/register/services/platform/servicetest"
)

// recipientReads counts the store's reads of each recipient.
type recipientReads struct {
	*disclosuremongo.Repository
	reads map[string]int
}

func (s *recipientReads) Recipient(ctx context.Context, id string) (domain.Recipient, error) {
	s.reads[id]++
	return s.Repository.Recipient(ctx, id)
}

// ledgerOf is the consent service holding ledger for every owner.
type ledgerOf struct {
	peers
	ledger app.ConsentLedger
}

func (l ledgerOf) Ledger(context.Context, string) (app.ConsentLedger, error) { return l.ledger, nil }

// TestReportNamesEachConsentRecipientOnce: the report names the recipient of every
// consent row whose scope is a recipient id, in the state and the history alike,
// reading each recipient once however many rows name it; one the disclosure log
// already named (an insurer data went to) is not read again for the consent rows; a
// scope no recipient has is read once too and keeps no name, and a channel is no
// recipient's and is not read.
func TestReportNamesEachConsentRecipientOnce(t *testing.T) {
	db, writer := servicetest.AuditedDB(t, "disclosure_report_scopes")
	store := &recipientReads{Repository: disclosuremongo.New(db), reads: map[string]int{}}
	ledger := &ledgerOf{}
	clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc, err := app.New(store, app.Peers{Owners: peers{}, Consents: ledger, History: history{}}, writer, app.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
	registry, err := svc.CreateRecipient(ctx, "", domain.Recipient{
		Name: "Evira / Ruokavirasto", Kind: domain.KindMicrochipRegistry, BusinessID: "2923530-5", Country: "FI",
		Contact: domain.Contact{Email: "rekisteri@example.fi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	insurer, err := svc.CreateRecipient(ctx, "", domain.Recipient{
		Name: "LähiTapiola", Kind: domain.KindInsurer, BusinessID: "1458359-3", Country: "FI",
		Contact: domain.Contact{Email: "korvaukset@example.fi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Disclose(ctx, domain.DisclosureRequest{
		RecipientID: insurer.ID, OwnerID: racingOwnerID, Categories: []domain.Category{domain.CategoryOwnerName}, CaseReference: "claim 2026-4",
	}); err != nil {
		t.Fatal(err)
	}
	const unknown = "0190f5a4-3333-7000-8000-00000000abcd"
	decision := func(purpose, scope, d string) app.ConsentDecision {
		return app.ConsentDecision{Purpose: purpose, Scope: scope, Decision: d}
	}
	ledger.ledger = app.ConsentLedger{
		Current: []app.ConsentState{
			{Purpose: "direct_marketing", Scope: "email", Reason: "objection"},
			{Purpose: "microchip_registry_disclosure", Scope: registry.ID, Allowed: true, Reason: "explicit_grant"},
			{Purpose: "microchip_registry_disclosure", Scope: unknown, Reason: "withdrawal"},
			{Purpose: "insurer_disclosure", Scope: insurer.ID, Allowed: true, Reason: "explicit_grant"},
		},
		Decisions: []app.ConsentDecision{
			decision("microchip_registry_disclosure", registry.ID, "granted"),
			decision("microchip_registry_disclosure", registry.ID, "withdrawn"),
			decision("microchip_registry_disclosure", registry.ID, "granted"),
			decision("microchip_registry_disclosure", unknown, "granted"),
			decision("microchip_registry_disclosure", unknown, "withdrawn"),
			decision("direct_marketing", "email", "objected"),
			decision("insurer_disclosure", insurer.ID, "granted"),
		},
	}
	req := recordReportRequest(t, ctx, svc)
	clear(store.reads)
	given, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{registry.ID: 1, unknown: 1, insurer.ID: 1}; !maps.Equal(store.reads, want) {
		t.Errorf("recipients read %v, want %v", store.reads, want)
	}
	var rep struct {
		Consents struct {
			Current, Decisions []struct{ Scope, ScopeName string }
		}
	}
	if err := json.Unmarshal(given.Body, &rep); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range slices.Concat(rep.Consents.Current, rep.Consents.Decisions) {
		names = append(names, c.ScopeName)
	}
	const n, i = "Evira / Ruokavirasto", "LähiTapiola"
	if want := []string{"", n, "", i, n, n, n, "", "", "", i}; !slices.Equal(names, want) {
		t.Errorf("the rows' recipient names %q, want %q", names, want)
	}
}

// TestReportRedactsAnIdentityCodeInAConsentRecipientsName: the name of a recipient a
// consent names, stored before the service refused an identity code in it, is given in
// the readable and the JSON report without the code, as in the disclosure log; the
// recipient is named by nothing but the consent.
func TestReportRedactsAnIdentityCodeInAConsentRecipientsName(t *testing.T) {
	f := newScopeReport(t, "disclosure_report_scope_code", func(r *disclosuremongo.Repository) domain.Repository { return r })
	const code, want = "131052-308T", "Sirurekisteri " + identitycode.Redacted + " Oy"
	res, err := f.db.Collection(disclosuremongo.RecipientsCollection).UpdateByID(t.Context(), f.registry.ID,
		bson.M{"$set": bson.M{"name": "Sirurekisteri " + code + " Oy"}})
	if err != nil || res.MatchedCount != 1 {
		t.Fatalf("store the name with a code: %v, %v", res, err)
	}
	for name, format := range reportFormats {
		given, err := f.svc.AccessReport(f.ctx, f.req.ID, format, "")
		if err != nil {
			t.Fatalf("%s report: %v", name, err)
		}
		if body := string(given.Body); strings.Contains(body, code) || !strings.Contains(body, want) {
			t.Errorf("the %s report names the registry otherwise than %q: %s", name, want, body)
		}
	}
}

// unreadableRecipient fails every read of one recipient, as a store that cannot answer.
type unreadableRecipient struct {
	*disclosuremongo.Repository
	id string
}

var errRecipientRead = errors.New("recipient read failed")

func (s *unreadableRecipient) Recipient(ctx context.Context, id string) (domain.Recipient, error) {
	if id == s.id {
		return domain.Recipient{}, errRecipientRead
	}
	return s.Repository.Recipient(ctx, id)
}

// TestReportFailsWhenAConsentRecipientCannotBeRead: a store error reading the
// recipient a consent names (not its absence, which shows the id as recorded) fails
// the whole report, readable or JSON: nothing given, nothing logged, no access report
// audited, the request left received without an answer time. Once the store answers,
// the report is given.
func TestReportFailsWhenAConsentRecipientCannotBeRead(t *testing.T) {
	var store *unreadableRecipient
	f := newScopeReport(t, "disclosure_report_scope_unread", func(r *disclosuremongo.Repository) domain.Repository {
		store = &unreadableRecipient{Repository: r}
		return store
	})
	db, svc, ctx, req := f.db, f.svc, f.ctx, f.req
	store.id = f.registry.ID
	for name, format := range reportFormats {
		given, err := svc.AccessReport(ctx, req.ID, format, "")
		if !errors.Is(err, errRecipientRead) || given.Body != nil || given.Disclosure.ID != "" {
			t.Fatalf("%s report with the registry unread: %v, body %q, log entry %q", name, err, given.Body, given.Disclosure.ID)
		}
	}
	stored, err := store.AccessRequest(t.Context(), req.ID)
	if err != nil || stored.Status != domain.AccessReceived || !stored.AnsweredAt.IsZero() || stored.Proposal != (domain.AnswerProposal{}) {
		t.Fatalf("after the failed reports the register holds %+v (%v), want received, unanswered", stored, err)
	}
	if logged := ownerLog(t, store); len(logged) != 0 {
		t.Errorf("after the failed reports the owner's log holds %v, want nothing", logged)
	}
	if n, err := db.Collection(audit.Collection).CountDocuments(t.Context(), bson.M{"action": "access_request.report"}); err != nil || n != 0 {
		t.Errorf("after the failed reports %d access reports audited (%v), want none", n, err)
	}

	store.id = ""
	if _, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, ""); err != nil {
		t.Fatalf("report once the registry is read: %v", err)
	}
	if stored, err := store.AccessRequest(t.Context(), req.ID); err != nil || stored.Status != domain.AccessAnswered {
		t.Errorf("after the report given the register holds %+v (%v), want answered", stored, err)
	}
}

// scopeReport is a report service on a fresh audited store whose owner's consent names
// a microchip registry, with a received access request of that owner.
type scopeReport struct {
	db       *mongo.Database
	svc      *app.Service
	ctx      context.Context
	registry domain.Recipient
	req      domain.AccessRequest
}

// newScopeReport starts a scopeReport on database name, its store wrapped by wrap.
func newScopeReport(t *testing.T, name string, wrap func(*disclosuremongo.Repository) domain.Repository) scopeReport {
	t.Helper()
	db, writer := servicetest.AuditedDB(t, name)
	ledger := &ledgerOf{}
	clock := &tickingClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc, err := app.New(wrap(disclosuremongo.New(db)), app.Peers{Owners: peers{}, Consents: ledger, History: history{}}, writer, app.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
	registry := createRegistry(t, ctx, svc)
	ledger.ledger = registryConsent(registry.ID)
	return scopeReport{db: db, svc: svc, ctx: ctx, registry: registry, req: recordReportRequest(t, ctx, svc)}
}

// reportFormats are the report's formats by name.
var reportFormats = map[string]app.ReportFormat{"readable": app.ReportHTML, "JSON": app.ReportJSON}

// createRegistry registers a microchip registry.
func createRegistry(t *testing.T, ctx context.Context, svc *app.Service) domain.Recipient {
	t.Helper()
	r, err := svc.CreateRecipient(ctx, "", domain.Recipient{
		Name: "Sirurekisteri Oy", Kind: domain.KindMicrochipRegistry, BusinessID: "2923530-5", Country: "FI",
		Contact: domain.Contact{Email: "rekisteri@example.fi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// registryConsent is a ledger holding a grant to registry, in force.
func registryConsent(registry string) app.ConsentLedger {
	return app.ConsentLedger{
		Current:   []app.ConsentState{{Purpose: "microchip_registry_disclosure", Scope: registry, Allowed: true, Reason: "explicit_grant"}},
		Decisions: []app.ConsentDecision{{Purpose: "microchip_registry_disclosure", Scope: registry, Decision: "granted"}},
	}
}
