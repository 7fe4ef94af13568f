package app_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	disclosuremongo "github.com/lillvet/register/services/disclosure/internal/adapters/mongo"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// storedRequest is a request of the racing owner as recorded: its id and when it was
// received; requests are recorded in the order given, a day after the last receipt.
type storedRequest struct {
	id       string
	received time.Time
}

// TestAccessReportListsRequestsOldestFirst: the report lists the owner's access and
// erasure requests by when they were received, whatever the order they were recorded
// in; of access requests received at the same instant the one recorded first comes
// first, as the charge flags count it, and of erasure requests the lower id.
func TestAccessReportListsRequestsOldestFirst(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 2, d, 10, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name            string
		access, erasure []storedRequest
		wantAccess      []string
		wantErasure     []string
		wantChargeable  string
		wantEarlier     string
	}{
		{
			name: "access requests received at the same instant, the later id recorded first",
			access: []storedRequest{
				{"0190a0b0-0000-7000-8000-0000000000c2", day(3)}, {"0190a0b0-0000-7000-8000-0000000000c1", day(3)},
			},
			wantAccess:     []string{"0190a0b0-0000-7000-8000-0000000000c2", "0190a0b0-0000-7000-8000-0000000000c1"},
			wantChargeable: "0190a0b0-0000-7000-8000-0000000000c1", wantEarlier: "0190a0b0-0000-7000-8000-0000000000c2",
		},
		{
			name: "an access request recorded after a later one",
			access: []storedRequest{
				{"0190a0b0-0000-7000-8000-0000000000c1", day(5)}, {"0190a0b0-0000-7000-8000-0000000000c2", day(2)},
			},
			wantAccess:     []string{"0190a0b0-0000-7000-8000-0000000000c2", "0190a0b0-0000-7000-8000-0000000000c1"},
			wantChargeable: "0190a0b0-0000-7000-8000-0000000000c1", wantEarlier: "0190a0b0-0000-7000-8000-0000000000c2",
		},
		{
			name:   "an erasure request recorded after a later one",
			access: []storedRequest{{"0190a0b0-0000-7000-8000-0000000000c1", day(1)}},
			erasure: []storedRequest{
				{"0190a0b0-0000-7000-8000-0000000000e1", day(6)}, {"0190a0b0-0000-7000-8000-0000000000e2", day(4)},
			},
			wantAccess:  []string{"0190a0b0-0000-7000-8000-0000000000c1"},
			wantErasure: []string{"0190a0b0-0000-7000-8000-0000000000e2", "0190a0b0-0000-7000-8000-0000000000e1"},
		},
		{
			name:   "erasure requests received at the same instant, the later id recorded first",
			access: []storedRequest{{"0190a0b0-0000-7000-8000-0000000000c1", day(1)}},
			erasure: []storedRequest{
				{"0190a0b0-0000-7000-8000-0000000000e2", day(4)}, {"0190a0b0-0000-7000-8000-0000000000e1", day(4)},
			},
			wantAccess:  []string{"0190a0b0-0000-7000-8000-0000000000c1"},
			wantErasure: []string{"0190a0b0-0000-7000-8000-0000000000e1", "0190a0b0-0000-7000-8000-0000000000e2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, writer := servicetest.AuditedDB(t, "disclosure_report_order")
			repo := disclosuremongo.New(db)
			recorded := day(10)
			for _, r := range tc.access {
				storeAccessRequest(t, repo, r, recorded)
				recorded = recorded.Add(time.Hour)
			}
			for _, r := range tc.erasure {
				j := domain.NewErasureJob(r.id, domain.Receipt{
					OwnerID: racingOwnerID, ReceivedAt: r.received, Channel: domain.ChannelLetter,
					Identification: domain.IdentifiedByDocument, IdentifiedBy: "staff-1",
				}, recorded)
				if _, err := repo.CreateErasureJob(t.Context(), j); err != nil {
					t.Fatal(err)
				}
				recorded = recorded.Add(time.Hour)
			}
			svc, err := app.New(repo, app.Peers{Owners: peers{}, Consents: peers{}, History: history{}}, writer, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := auth.WithIdentity(context.Background(), auth.Identity{Subject: "manager", Roles: []auth.Role{auth.RoleClinicManager}})
			given, err := svc.AccessReport(ctx, tc.access[0].id, app.ReportJSON, "")
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				AccessRequests []struct {
					ID                 string
					PossiblyChargeable bool
					EarlierRequestID   string
				}
				ErasureRequests []struct{ ID string }
			}
			if err := json.Unmarshal(given.Body, &rep); err != nil {
				t.Fatal(err)
			}
			var access, erasure []string
			for i, r := range rep.AccessRequests {
				access = append(access, r.ID)
				if chargeable := r.ID == tc.wantChargeable; r.PossiblyChargeable != chargeable || (chargeable && r.EarlierRequestID != tc.wantEarlier) {
					t.Errorf("access request %d (%s): possibly chargeable %v after %q", i, r.ID, r.PossiblyChargeable, r.EarlierRequestID)
				}
			}
			for _, r := range rep.ErasureRequests {
				erasure = append(erasure, r.ID)
			}
			if !slices.Equal(access, tc.wantAccess) {
				t.Errorf("access requests listed %v, want %v", access, tc.wantAccess)
			}
			if !slices.Equal(erasure, tc.wantErasure) {
				t.Errorf("erasure requests listed %v, want %v", erasure, tc.wantErasure)
			}
		})
	}
}

// storeAccessRequest records r for the racing owner at recorded and lists it in the
// owner's ledger, as RecordAccessRequest does with an id it generates.
func storeAccessRequest(t *testing.T, repo *disclosuremongo.Repository, r storedRequest, recorded time.Time) {
	t.Helper()
	req := domain.AccessRequest{
		ID: r.id, OwnerID: racingOwnerID, ReceivedAt: r.received, Channel: domain.ChannelLetter,
		Identification: domain.IdentifiedRegisteredContact, IdentifiedBy: "staff-1", Language: domain.LanguageFinnish,
	}
	if err := domain.PrepareAccessRequest(&req, "access_request", recorded, time.UTC); err != nil {
		t.Fatal(err)
	}
	req.RecordedBy, req.CreatedAt = "manager", recorded
	if _, err := repo.CreateAccessRequest(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.AddToAccessLedger(t.Context(), racingOwnerID, domain.PriorRequest{ID: r.id, ReceivedAt: r.received}); err != nil {
		t.Fatal(err)
	}
}
