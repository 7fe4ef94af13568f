package app_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
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
// reading each recipient once however many rows name it; a scope no recipient has is
// read once too and keeps no name, and a channel is no recipient's and is not read.
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
	const unknown = "0190f5a4-3333-7000-8000-00000000abcd"
	decision := func(purpose, scope, d string) app.ConsentDecision {
		return app.ConsentDecision{Purpose: purpose, Scope: scope, Decision: d}
	}
	ledger.ledger = app.ConsentLedger{
		Current: []app.ConsentState{
			{Purpose: "direct_marketing", Scope: "email", Reason: "objection"},
			{Purpose: "microchip_registry_disclosure", Scope: registry.ID, Allowed: true, Reason: "explicit_grant"},
			{Purpose: "microchip_registry_disclosure", Scope: unknown, Reason: "withdrawal"},
		},
		Decisions: []app.ConsentDecision{
			decision("microchip_registry_disclosure", registry.ID, "granted"),
			decision("microchip_registry_disclosure", registry.ID, "withdrawn"),
			decision("microchip_registry_disclosure", registry.ID, "granted"),
			decision("microchip_registry_disclosure", unknown, "granted"),
			decision("microchip_registry_disclosure", unknown, "withdrawn"),
			decision("direct_marketing", "email", "objected"),
		},
	}
	req := recordReportRequest(t, ctx, svc)
	clear(store.reads)
	given, err := svc.AccessReport(ctx, req.ID, app.ReportJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{registry.ID: 1, unknown: 1}; !maps.Equal(store.reads, want) {
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
	const n = "Evira / Ruokavirasto"
	if want := []string{"", n, "", n, n, n, "", "", ""}; !slices.Equal(names, want) {
		t.Errorf("the rows' recipient names %q, want %q", names, want)
	}
}
