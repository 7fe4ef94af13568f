package mongo

import (
	"context"
	"testing"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/retention"
)

// TestDigestsDroppedOnlyAtTheVersionRead: the erased owner's restricted visit is read
// at version 2 to drop its request digests, and a payment then lands as its first
// amendment, at version 3. Dropping the digests of the visit as read, by marking it
// again or by the sweep's DropDigests, leaves the visit as it is: the payment keeps its
// request id and digest, which its retry within their seven days needs. At the
// version stored now, both are removed.
func TestDigestsDroppedOnlyAtTheVersionRead(t *testing.T) {
	kept := domain.VisitRetention{VisitID: "v1", RecordUntil: retention.DateOf(time.Date(2032, 12, 31, 0, 0, 0, 0, time.UTC), time.UTC)}
	for _, tc := range []struct {
		name string
		drop func(ctx context.Context, r *Repository, version int64) error
	}{
		{"marked again", func(ctx context.Context, r *Repository, version int64) error {
			_, err := r.MarkRestricted(ctx, "o1", []domain.Mark{{Retention: kept, DropDigests: true, Version: version}})
			return err
		}},
		{"swept", func(ctx context.Context, r *Repository, version int64) error {
			_, err := r.DropDigests(ctx, []*domain.Visit{{ID: "v1", Version: version}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := erasedOwnerStore(t)
			paid := paidVisit(t, r, kept)
			if err := tc.drop(t.Context(), r, paid.Version-1); err != nil {
				t.Fatal(err)
			}
			if a := storedPayment(t, r); a.RequestID != "pay-1" || a.Digest != "pay-digest" {
				t.Errorf("the payment landed after the read holds request id %q, digest %q; want both kept", a.RequestID, a.Digest)
			}
			if err := tc.drop(t.Context(), r, paid.Version); err != nil {
				t.Fatal(err)
			}
			if a := storedPayment(t, r); a.RequestID != "" || a.Digest != "" {
				t.Errorf("dropped at the version stored, the payment holds request id %q, digest %q; want neither", a.RequestID, a.Digest)
			}
		})
	}
}

// TestDropDigestsCountsTheVisitsSkipped: the sweep's DropDigests reports the visits it
// did not write, changed since the version read or gone, so that the sweep reads them
// again.
func TestDropDigestsCountsTheVisitsSkipped(t *testing.T) {
	r := erasedOwnerStore(t)
	paid := paidVisit(t, r, domain.VisitRetention{VisitID: "v1", RecordUntil: retention.DateOf(time.Date(2032, 12, 31, 0, 0, 0, 0, time.UTC), time.UTC)})
	for _, tc := range []struct {
		name   string
		visits []*domain.Visit
		want   int
	}{
		{"changed and gone", []*domain.Visit{{ID: "v1", Version: paid.Version - 1}, {ID: "gone", Version: 1}}, 2},
		{"at the version stored", []*domain.Visit{{ID: "v1", Version: paid.Version}}, 0},
	} {
		skipped, err := r.DropDigests(t.Context(), tc.visits)
		if err != nil || skipped != tc.want {
			t.Errorf("%s: skipped %d (%v), want %d", tc.name, skipped, err, tc.want)
		}
	}
}

// paidVisit stores visit v1 of owner o1 under a request digest, marks it restricted
// with ret (version 2) and stores the payment pay-1 as its first amendment; it returns
// the visit as paid.
func paidVisit(t *testing.T, r *Repository, ret domain.VisitRetention) *domain.Visit {
	t.Helper()
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	v := &domain.Visit{ID: "v1", PatientID: "p1", OwnerID: "o1", StartTime: start, Created: start}
	if _, err := r.CreateVisit(t.Context(), v, "visit-digest"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.MarkRestricted(t.Context(), "o1", []domain.Mark{{Retention: ret}}); err != nil {
		t.Fatal(err)
	}
	original := *v
	paid := *v
	paid.Version = 3
	a := domain.Amendment{Version: 3, Time: start.AddDate(0, 0, 9), Reason: "paid", Fields: []string{"invoices"},
		RequestID: "pay-1", Digest: "pay-digest"}
	if err := r.AmendVisit(t.Context(), "v1", 2, a, &original, &paid); err != nil {
		t.Fatal(err)
	}
	return &paid
}

// storedPayment is the stored first amendment of v1.
func storedPayment(t *testing.T, r *Repository) domain.Amendment {
	t.Helper()
	rec, err := r.GetVisit(t.Context(), "v1")
	if err != nil || len(rec.Amendments) != 1 {
		t.Fatalf("visit %+v (%v), want it with the payment", rec, err)
	}
	return rec.Amendments[0]
}
