package history_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
)

// debtor is an owner registered with their identity code, whose animal's visits of
// October 2026 each hold an unpaid invoice, erased on 25 November 2026: the erasure
// keeps the code for the invoices to 31 December 2032.
type debtor struct {
	id     string
	visits []string
}

// debtorErasedInHistory is a debtor with n visits, erased in the history service, its
// erasure job's step in the owner service still to come (ownerErasesDebtor).
func (f *fixture) debtorErasedInHistory(t *testing.T, n int) debtor {
	t.Helper()
	res, err := f.owners.CreateOwner(f.as(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: &ownerv1.Owner{
		GivenNames: "Aino", FamilyName: "Äijälä", Phone: "040 123 4567", HomeClinic: ownerv1.Clinic_CLINIC_SEINAJOKI,
		Address: &ownerv1.Address{Street: "Ruukintie 1", PostalCode: "60100", City: "Seinäjoki"},
	}, IdentityCode: "131052-308T"})
	if err != nil {
		t.Fatalf("create owner: %v", err)
	}
	d := debtor{id: res.GetOwner().GetId()}
	pet := f.newPatient(t, d.id, "Musti")
	for i := range n {
		start := at(2026, 10, 1+i)
		f.clock.Set(start)
		v, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{
			PatientId: pet.GetId(), Visit: erasureVisit(start, false, invoice(invoiceNumber(i), unpaid)),
		})
		if err != nil {
			t.Fatal(err)
		}
		d.visits = append(d.visits, v.GetVisit().GetId())
	}
	f.clock.Set(at(2026, 11, 25))
	answer, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: d.id, RequestId: jobOne})
	if err != nil {
		t.Fatal(err)
	}
	if answer.GetIdentityCodeNeededUntil() != "2032-12-31" {
		t.Fatalf("the erasure answered the code needed until %q, want 2032-12-31", answer.GetIdentityCodeNeededUntil())
	}
	return d
}

func invoiceNumber(i int) string { return fmt.Sprintf("2026-%d", 118+i) }

// ownerErasesDebtor is the erasure job's step in the owner service, with the history
// service's answer.
func (f *fixture) ownerErasesDebtor(t *testing.T, d debtor) {
	t.Helper()
	if _, err := f.owners.EraseOwnerData(f.as(t, auth.RoleClinicManager), &ownerv1.EraseOwnerDataRequest{
		OwnerId: d.id, RequestId: jobOne, NameKeptUntil: "2032-12-31", IdentityCodeKeptUntil: "2032-12-31",
	}); err != nil {
		t.Fatal(err)
	}
}

// pays has billing record the payment of the debtor's i-th invoice on its restricted
// visit.
func (f *fixture) pays(t *testing.T, d debtor, i int) {
	t.Helper()
	f.paysWith(t, d, i, "")
}

// paysWith is pays under the request id, and answers the request made, to be resent.
func (f *fixture) paysWith(t *testing.T, d debtor, i int, requestID string) *historyv1.AmendVisitRequest {
	t.Helper()
	v := f.getVisit(t, d.visits[i]).GetVisit()
	if !v.GetRestricted() {
		t.Fatalf("visit %d is not restricted: %v", i, v)
	}
	req := &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: v.GetVersion(), Reason: "paid", RequestId: requestID,
		Visit:      &historyv1.Visit{Invoices: []*historyv1.InvoiceReference{invoice(invoiceNumber(i), paid)}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}},
	}
	if _, err := f.history.AmendVisit(f.as(t, auth.RoleBilling), req); err != nil {
		t.Fatalf("billing records the payment: %v", err)
	}
	return req
}

// codeKept reports whether billing can still reveal the owner's identity code, and
// checks that the owner's stored document agrees.
func (f *fixture) codeKept(t *testing.T, ownerID string) bool {
	t.Helper()
	_, err := f.owners.RevealIdentityCode(f.as(t, auth.RoleBilling), &ownerv1.RevealIdentityCodeRequest{OwnerId: ownerID, Purpose: "invoice to collection"})
	var doc bson.M
	if derr := embeddedtest.Client(t, f.env.Store.URI()).Database(ownerDatabase).Collection("owners").
		FindOne(t.Context(), bson.M{"_id": ownerID}).Decode(&doc); derr != nil {
		t.Fatal(derr)
	}
	stored := 0
	for _, field := range []string{"identity", "identity_masked", "identity_bidx"} {
		if _, ok := doc[field]; ok {
			stored++
		}
	}
	switch {
	case err == nil && stored == 3:
		return true
	case status.Code(err) == codes.NotFound && stored == 0:
		return false
	}
	t.Fatalf("the reveal answered %v with %d of the code's fields stored", err, stored)
	return false
}

// retentionEnded lists the owner's changes "retention period ended", each as
// "<fields> <actor subject>".
func (f *fixture) retentionEnded(t *testing.T, ownerID string) []string {
	t.Helper()
	res, err := f.owners.ListOwnerChanges(f.as(t, auth.RoleClinicManager), &ownerv1.ListOwnerChangesRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range res.GetChanges() {
		if c.GetReason() == "retention period ended" {
			out = append(out, strings.Join(c.GetFields(), ",")+" "+c.GetActorSubject())
		}
	}
	return out
}

// codeChecks is the number of marks the owner's identity code notice holds.
func (f *fixture) codeChecks(t *testing.T, ownerID string) int64 {
	t.Helper()
	var d struct {
		Checks int64 `bson:"checks"`
	}
	if err := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase).Collection("code_notices").
		FindOne(t.Context(), bson.M{"_id": ownerID}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d.Checks
}

const jobCodeEnd = "identity_code service:history-name-retention"

// TestPaidLastInvoiceEndsTheIdentityCode: the erasure kept the debtor's identity code
// to 31 December 2032 for the unpaid invoice; billing records its payment on the
// restricted visit, and the job tells the owner service, which drops the code then
// (DESIGN rule 7: dropped once no unpaid invoice needs it), as the owner's change
// "retention period ended". Told once: the mark is cleared and the next run tells
// nothing more.
func TestPaidLastInvoiceEndsTheIdentityCode(t *testing.T) {
	f := setupNames(t)
	d := f.debtorErasedInHistory(t, 1)
	f.ownerErasesDebtor(t, d)
	f.runJob(t)
	if !f.codeKept(t, d.id) {
		t.Fatal("the code kept for the unpaid invoice is gone before its payment")
	}
	f.pays(t, d, 0)
	f.runJob(t)
	f.runJob(t)
	if f.codeKept(t, d.id) {
		t.Error("the identity code is kept after the last unpaid invoice was paid")
	}
	if got := f.retentionEnded(t, d.id); !slices.Equal(got, []string{jobCodeEnd}) {
		t.Errorf("the owner's changes for the retention's end are %q, want one by the job", got)
	}
	if n := f.codeChecks(t, d.id); n != 0 {
		t.Errorf("the notice holds %d marks, want none", n)
	}
	if lines := f.errorLines("name retention"); len(lines) > 0 {
		t.Errorf("errors logged: %q", lines)
	}
}

// TestPayingOneOfTwoInvoicesKeepsTheIdentityCode: with unpaid invoices on two visits,
// the payment of one leaves the code kept for the other (the mark kept while the
// payment's write may still land, cleared once its bound has passed), and the payment
// of the second ends it.
func TestPayingOneOfTwoInvoicesKeepsTheIdentityCode(t *testing.T) {
	f := setupNames(t)
	d := f.debtorErasedInHistory(t, 2)
	f.ownerErasesDebtor(t, d)
	f.pays(t, d, 0)
	f.runJob(t)
	if n := f.codeChecks(t, d.id); n == 0 {
		t.Error("a run within the payment's bound cleared its marks: a payment landing later would be lost")
	}
	f.clock.Set(at(2026, 11, 25).Add(time.Hour))
	f.runJob(t)
	if !f.codeKept(t, d.id) {
		t.Fatal("the code is gone while an invoice is unpaid")
	}
	if n := f.codeChecks(t, d.id); n != 0 {
		t.Errorf("the notice holds %d marks after the payment's bound, want none", n)
	}
	f.pays(t, d, 1)
	f.runJob(t)
	if f.codeKept(t, d.id) {
		t.Error("the identity code is kept after both invoices were paid")
	}
	if got := f.retentionEnded(t, d.id); !slices.Equal(got, []string{jobCodeEnd}) {
		t.Errorf("the owner's changes for the retention's end are %q, want one by the job", got)
	}
}

// TestCodeJobBeforeTheOwnerServiceErased: billing recorded the payment after the
// history service answered the erasure, before the erasure job's step in the owner
// service ran (OWNER_NOT_ERASED): an ordinary wait, logged at INFO, the owner kept
// marked and not asked again for an hour; once the owner service erased the owner,
// keeping the code as answered, the first run after the hour tells it, and the code
// goes.
func TestCodeJobBeforeTheOwnerServiceErased(t *testing.T) {
	f := setupNames(t)
	d := f.debtorErasedInHistory(t, 1)
	f.pays(t, d, 0)
	f.runJob(t)
	if lines := f.errorLines(d.id); len(lines) > 0 {
		t.Errorf("logged at ERROR %q, want the wait at INFO", lines)
	}
	if lines := f.linesAt("INFO", "identity code stays marked"); len(lines) != 1 || !strings.Contains(lines[0], d.id) {
		t.Errorf("logged %q, want the wait at INFO, by id", lines)
	}
	f.ownerErasesDebtor(t, d)
	f.clock.Set(at(2026, 11, 25).Add(time.Hour - time.Minute))
	f.runJob(t)
	if !f.codeKept(t, d.id) || f.codeChecks(t, d.id) == 0 {
		t.Fatal("the owner was asked again before the hour, or its mark was cleared")
	}
	f.clock.Set(at(2026, 11, 25).Add(2 * time.Hour))
	f.runJob(t)
	if f.codeKept(t, d.id) {
		t.Error("the identity code is kept after the owner service erased the owner and the job ran")
	}
	if got := f.retentionEnded(t, d.id); !slices.Equal(got, []string{jobCodeEnd}) {
		t.Errorf("the owner's changes for the retention's end are %q, want one by the job", got)
	}
	if n := f.codeChecks(t, d.id); n != 0 {
		t.Errorf("the notice holds %d marks, want none", n)
	}
}

// TestCodeJobWithAnotherRolesToken: the owner service refuses the call with any token
// but the job's role (here the erasure job's); the payment was answered OK all the
// same, the code stays, the refusal is logged at ERROR by id and the owner stays
// marked. The next run, a minute later, does not ask again: each refusal is audited
// in the owner's access report.
func TestCodeJobWithAnotherRolesToken(t *testing.T) {
	f := setupNames(t, auth.RoleErasureJob)
	d := f.debtorErasedInHistory(t, 1)
	f.ownerErasesDebtor(t, d)
	f.pays(t, d, 0)
	f.runJob(t)
	f.clock.Set(at(2026, 11, 25).Add(time.Minute))
	f.runJob(t)
	if !f.codeKept(t, d.id) {
		t.Fatal("the code was dropped on the erasure job's token")
	}
	if failed := f.errorLines("PermissionDenied"); len(failed) != 1 || !strings.Contains(failed[0], d.id) {
		t.Errorf("logged %q, want the refusal at ERROR, by id", failed)
	}
	if n := f.codeChecks(t, d.id); n == 0 {
		t.Error("the mark was cleared though the owner service refused")
	}
}

// TestRetriedPaymentMarksTheCodeAgain: a payment whose marks were lost (as by a
// process that died between its write and its mark after it, the mark before having
// been cleared by a run that found the invoice still open) is marked again by billing's
// retry of the same request, and the job ends the code's retention.
func TestRetriedPaymentMarksTheCodeAgain(t *testing.T) {
	f := setupNames(t)
	d := f.debtorErasedInHistory(t, 1)
	f.ownerErasesDebtor(t, d)
	req := f.paysWith(t, d, 0, "0199a0b0-0000-7000-8000-0000000000a1")
	if _, err := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase).Collection("code_notices").
		DeleteOne(t.Context(), bson.M{"_id": d.id}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.history.AmendVisit(f.as(t, auth.RoleBilling), req); err != nil {
		t.Fatalf("billing's retry: %v", err)
	}
	f.runJob(t)
	if f.codeKept(t, d.id) {
		t.Error("the identity code is kept after the retried payment of the last unpaid invoice")
	}
	if got := f.retentionEnded(t, d.id); !slices.Equal(got, []string{jobCodeEnd}) {
		t.Errorf("the owner's changes for the retention's end are %q, want one by the job", got)
	}
}
