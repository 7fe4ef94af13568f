package history_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

// at is noon UTC on a day: the same day in Helsinki, summer or winter.
func at(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

// erasureVisit is a visit with or without medications and with the given invoices.
func erasureVisit(start time.Time, meds bool, invoices ...*historyv1.InvoiceReference) *historyv1.Visit {
	v := visit(start)
	if !meds {
		v.Medications = nil
	}
	v.Invoices = invoices
	return v
}

func invoice(number string, state historyv1.InvoiceState) *historyv1.InvoiceReference {
	return &historyv1.InvoiceReference{Number: number, State: state}
}

// jobOne and jobTwo are erasure requests' ids, UUIDs as the disclosure service's
// erasure job makes them.
const (
	jobOne = "0199a0b0-0000-7000-8000-000000000011"
	jobTwo = "0199a0b0-0000-7000-8000-000000000012"
)

const (
	paid   = historyv1.InvoiceState_INVOICE_STATE_PAID
	unpaid = historyv1.InvoiceState_INVOICE_STATE_OPEN
)

func disposition(class string, kept bool, basis, until string, n int32) *historyv1.RecordDisposition {
	return &historyv1.RecordDisposition{RecordClass: class, Kept: kept, LegalBasis: basis, KeptUntil: until, Count: n}
}

// erasedOwner is an owner with two animals: Nappi, whose last visit was in 2021, and
// Musti, seen this autumn, with an unpaid invoice; and two communications. Another
// owner's history stays as it is.
type erasedOwner struct {
	id, other            string
	nappi, musti         string
	a1, a2, b1, b2, keep *historyv1.Visit
}

func (f *fixture) erasedOwner(t *testing.T) erasedOwner {
	t.Helper()
	o := erasedOwner{id: f.newOwner(t), other: f.newOwner(t)}
	o.nappi, o.musti = f.newPatient(t, o.id, "Nappi").GetId(), f.newPatient(t, o.id, "Musti").GetId()
	vet := f.as(t, auth.RoleVeterinarian)
	record := func(patient string, v *historyv1.Visit) *historyv1.Visit {
		res, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: patient, Visit: v})
		if err != nil {
			t.Fatalf("record visit: %v", err)
		}
		return res.GetVisit()
	}
	o.a1 = record(o.nappi, erasureVisit(at(2020, 9, 2), true))
	o.a2 = record(o.nappi, erasureVisit(at(2021, 3, 10), false, invoice("2021-15", paid)))
	o.b1 = record(o.musti, erasureVisit(at(2024, 5, 20), true, invoice("2024-301", paid)))
	o.b2 = record(o.musti, erasureVisit(at(2026, 10, 1), true, invoice("2026-118", unpaid)))
	o.keep = record(f.newPatient(t, o.other, "Rekku").GetId(), erasureVisit(at(2019, 1, 10), false))
	for _, owner := range []string{o.id, o.id, o.other} {
		if _, err := f.history.RecordCommunication(vet, &historyv1.RecordCommunicationRequest{OwnerId: owner, Communication: &historyv1.Communication{
			Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: "Booking",
		}}); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// getVisit reads a visit as the clinic manager; nil when it is gone.
func (f *fixture) getVisit(t *testing.T, id string) *historyv1.GetVisitResponse {
	t.Helper()
	res, err := f.history.GetVisit(f.as(t, auth.RoleClinicManager), &historyv1.GetVisitRequest{VisitId: id})
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("get visit: %v", err)
	}
	return res
}

// TestEraseOwnerData erases an owner with an animal whose records are past retention
// and one whose are not, with an unpaid invoice: the dates are counted by hand from the
// legal minima (patient records 3 years from the animal's last visit, medicines 5
// years from its last medication, invoices to 31 December 6 years on).
func TestEraseOwnerData(t *testing.T) {
	f := setup(t)
	o := f.erasedOwner(t)
	f.clock.Set(at(2026, 11, 25))
	mgr := f.as(t, auth.RoleClinicManager)

	if _, err := f.history.EraseOwnerData(f.as(t, auth.RoleVeterinarian), &historyv1.EraseOwnerDataRequest{OwnerId: o.id, RequestId: jobOne}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a veterinarian erased: %v", err)
	}
	if got := violations(t, func() error {
		_, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: "x"})
		return err
	}()); !slices.Equal(got, []string{"owner_id", "request_id"}) {
		t.Fatalf("violations %v", got)
	}

	res, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: o.id, RequestId: jobOne})
	if err != nil {
		t.Fatal(err)
	}
	want := &historyv1.EraseOwnerDataResponse{
		Dispositions: []*historyv1.RecordDisposition{
			// Musti: last visit 1 Oct 2026, + 3 years.
			disposition("patient_records", true, "basis.veterinary_records", "2029-10-01", 2),
			// Nappi: last visit 10 Mar 2021, kept until 10 Mar 2024.
			disposition("patient_records", false, "", "", 2),
			// Musti's last medication 1 Oct 2026, + 5 years.
			disposition("medicine_records", true, "basis.medicine_records", "2031-10-01", 2),
			// Nappi's last medication 2 Sep 2020, kept until 2 Sep 2025.
			disposition("medicine_records", false, "", "", 1),
			// 2021, 2024 and 2026 invoices: to the end of 2027, 2030 and 2032.
			disposition("invoices", true, "basis.bookkeeping", "2032-12-31", 3),
			disposition("communications", false, "", "", 2),
		},
		OwnerNamedUntil:         "2032-12-31",
		IdentityCodeNeededUntil: "2032-12-31", // the unpaid 2026 invoice
	}
	if !proto.Equal(res, want) {
		t.Fatalf("erasure answered\n%v\nwant\n%v", res, want)
	}

	// Nappi's 2020 visit is gone; the 2021 one keeps only its invoice; Musti's are kept whole.
	if f.getVisit(t, o.a1.GetId()) != nil {
		t.Error("the 2020 visit, past every retention, is still there")
	}
	a2 := f.getVisit(t, o.a2.GetId()).GetVisit()
	if !a2.GetRestricted() || a2.GetAnamnesis() != "" || a2.GetReason() != "" || len(a2.GetDiagnoses()) != 0 || len(a2.GetStaff()) != 0 ||
		len(a2.GetInvoices()) != 1 || !a2.GetStartTime().AsTime().Equal(at(2021, 3, 10)) {
		t.Errorf("the 2021 visit should keep only its invoice: %v", a2)
	}
	b2 := f.getVisit(t, o.b2.GetId())
	if v := b2.GetVisit(); !v.GetRestricted() || v.GetAnamnesis() == "" || len(v.GetMedications()) != 1 || len(v.GetInvoices()) != 1 {
		t.Errorf("Musti's visit should be kept whole, restricted: %v", v)
	}
	if keep := f.getVisit(t, o.keep.GetId()).GetVisit(); keep.GetRestricted() || keep.GetAnamnesis() == "" {
		t.Errorf("another owner's old visit changed: %v", keep)
	}

	// Restricted: out of the lists of those treating animals, refused to them by id;
	// the clinic manager and billing (invoice view) still read it.
	for _, tc := range []struct {
		role auth.Role
		want int
	}{{auth.RoleVeterinarian, 0}, {auth.RoleReception, 0}, {auth.RoleClinicManager, 2}, {auth.RoleBilling, 2}} {
		list, err := f.history.ListPatientVisits(f.as(t, tc.role), &historyv1.ListPatientVisitsRequest{PatientId: o.musti})
		if err != nil || len(list.GetVisits()) != tc.want {
			t.Errorf("%s lists %d of Musti's visits (%v), want %d", tc.role, len(list.GetVisits()), err, tc.want)
		}
		timeline, err := f.history.ListOwnerTimeline(f.as(t, tc.role), &historyv1.ListOwnerTimelineRequest{OwnerId: o.id})
		if err != nil || len(timeline.GetEntries()) != tc.want+min(tc.want, 1) {
			t.Errorf("%s sees %d timeline entries (%v)", tc.role, len(timeline.GetEntries()), err)
		}
	}
	// The export stream, which the disclosure service reads for packages and the access
	// report, leaves them out for the same roles.
	for role, want := range map[auth.Role]int{auth.RoleVeterinarian: 0, auth.RoleNurse: 0, auth.RoleReception: 0, auth.RoleClinicManager: 3} {
		visits, _ := f.export(t, f.as(t, role), o.id, func(*historyv1.VisitRecord) {})
		if len(visits) != want {
			t.Errorf("%s exports %d of the owner's restricted visits, want %d", role, len(visits), want)
		}
	}
	_, err = f.history.GetVisit(f.as(t, auth.RoleVeterinarian), &historyv1.GetVisitRequest{VisitId: o.b2.GetId()})
	if got := reason(t, err); got != "VISIT_RESTRICTED" {
		t.Errorf("a veterinarian reading a restricted visit: %s", got)
	}
	billed, err := f.history.GetVisit(f.as(t, auth.RoleBilling), &historyv1.GetVisitRequest{VisitId: o.b2.GetId()})
	if err != nil || billed.GetVisit().GetAnamnesis() != "" || len(billed.GetVisit().GetInvoices()) != 1 {
		t.Errorf("billing's invoice view of a restricted visit: %v, %v", billed, err)
	}
	comms, err := f.history.ListOwnerCommunications(mgr, &historyv1.ListOwnerCommunicationsRequest{OwnerId: o.id})
	if err != nil || len(comms.GetCommunications()) != 0 {
		t.Errorf("communications after the erasure: %v, %v", comms, err)
	}
	others, err := f.history.ListOwnerCommunications(mgr, &historyv1.ListOwnerCommunicationsRequest{OwnerId: o.other})
	if err != nil || len(others.GetCommunications()) != 1 {
		t.Errorf("another owner's communications: %v, %v", others, err)
	}
	_, err = f.history.RecordCommunication(f.as(t, auth.RoleReception), &historyv1.RecordCommunicationRequest{OwnerId: o.id, Communication: &historyv1.Communication{
		Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND, Subject: "Booking",
	}})
	if got := reason(t, err); got != "OWNER_ERASED" {
		t.Errorf("a communication with an erased owner: %s", got)
	}

	// A retry, even months later, answers the first result and changes nothing.
	before := map[string]*historyv1.GetVisitResponse{}
	for _, v := range []*historyv1.Visit{o.a2, o.b1, o.b2} {
		before[v.GetId()] = f.getVisit(t, v.GetId())
	}
	f.clock.Set(at(2027, 6, 1))
	again, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: o.id, RequestId: jobOne})
	if err != nil || !proto.Equal(again, want) {
		t.Fatalf("retry answered %v, %v", again, err)
	}
	for id, b := range before {
		if got := f.getVisit(t, id); !proto.Equal(got, b) {
			t.Errorf("the retry changed visit %s:\n%v\nwas\n%v", id, got, b)
		}
	}

	// Another erasure request decides again over what is left, with the same days.
	second, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: o.id, RequestId: jobTwo})
	if want := (&historyv1.EraseOwnerDataResponse{
		Dispositions: []*historyv1.RecordDisposition{
			disposition("patient_records", true, "basis.veterinary_records", "2029-10-01", 2),
			disposition("patient_records", false, "", "", 1),
			disposition("medicine_records", true, "basis.medicine_records", "2031-10-01", 2),
			disposition("invoices", true, "basis.bookkeeping", "2032-12-31", 3),
		},
		OwnerNamedUntil: "2032-12-31", IdentityCodeNeededUntil: "2032-12-31",
	}); err != nil || !proto.Equal(second, want) {
		t.Errorf("a second erasure answered %v, %v; want %v", second, err, want)
	}
	if first, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: o.id, RequestId: jobOne}); err != nil || !proto.Equal(first, want) {
		t.Errorf("the first request's retry after the second answered %v, %v", first, err)
	}

	f.checkAudited(t, o.id, "history.erase owners/"+o.id+"/history test-clinic_manager")
}

// TestEraseOwnerDataRefusesFreeTextRequestID: the request's id is kept on the owner's
// erasure record after the erasure, so a clinic manager's free text there is refused
// before anything is decided or written, and not repeated.
func TestEraseOwnerDataRefusesFreeTextRequestID(t *testing.T) {
	const text = "Aino Laine phoned 040 123 4567"
	f := setup(t)
	o := f.erasedOwner(t)
	f.clock.Set(at(2026, 11, 25))
	mgr := f.as(t, auth.RoleClinicManager)
	before := map[string]*historyv1.GetVisitResponse{}
	for _, v := range []*historyv1.Visit{o.a1, o.a2, o.b1, o.b2} {
		before[v.GetId()] = f.getVisit(t, v.GetId())
	}
	var calls []servicetest.Refusal
	for _, id := range []string{text, "letter from Aino Laine", "job-1"} {
		calls = append(calls, servicetest.Refusal{Name: id, Field: "request_id", Call: func() error {
			_, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: o.id, RequestId: id})
			return err
		}})
	}
	servicetest.Refused(t, text, calls)

	for id, b := range before {
		if got := f.getVisit(t, id); !proto.Equal(got, b) {
			t.Errorf("a refused erasure changed visit %s:\n%v\nwas\n%v", id, got, b)
		}
	}
	comms, err := f.history.ListOwnerCommunications(mgr, &historyv1.ListOwnerCommunicationsRequest{OwnerId: o.id})
	if err != nil || len(comms.GetCommunications()) != 2 {
		t.Fatalf("the owner's communications after the refused erasures: %v, %v; want both", comms, err)
	}
	f.histSv.Stop()
	f.ownerSv.Stop()
	servicetest.NotStored(t, f.env, "Laine phoned", historyDatabase, ownerDatabase)
}

// TestRetentionSweep moves the clock past each retention day of an erased owner's
// visits: each sweep removes exactly what is due, and a sweep with nothing due removes
// nothing.
func TestRetentionSweep(t *testing.T) {
	f := setup(t)
	o := f.erasedOwner(t)
	f.clock.Set(at(2026, 11, 25))
	mgr := f.as(t, auth.RoleClinicManager)
	if _, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: o.id, RequestId: jobOne}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.history.RunRetentionSweep(f.as(t, auth.RoleVeterinarian), &historyv1.RunRetentionSweepRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a veterinarian swept: %v", err)
	}
	// what is left of a visit: "" when gone, else its clinical text, medications and
	// invoices as present (c, m, i) or not (-).
	left := func(v *historyv1.Visit) string {
		r := f.getVisit(t, v.GetId())
		if r == nil {
			return ""
		}
		out := []byte("---")
		if r.GetVisit().GetAnamnesis() != "" && r.GetOriginal().GetAnamnesis() != "" {
			out[0] = 'c'
		}
		if len(r.GetVisit().GetMedications()) > 0 {
			out[1] = 'm'
		}
		if len(r.GetVisit().GetInvoices()) > 0 {
			out[2] = 'i'
		}
		return string(out)
	}
	for _, tc := range []struct {
		day     time.Time
		removed []*historyv1.RecordDisposition
		a2      string
		b1, b2  string
		asMaint bool
	}{
		{day: at(2027, 12, 31), a2: "--i", b1: "cmi", b2: "cmi"},
		{day: at(2028, 1, 1), removed: []*historyv1.RecordDisposition{disposition("invoices", false, "", "", 1)}, b1: "cmi", b2: "cmi"},
		{day: at(2029, 10, 1), b1: "cmi", b2: "cmi", asMaint: true},
		{day: at(2029, 10, 2), removed: []*historyv1.RecordDisposition{disposition("patient_records", false, "", "", 2)}, b1: "-mi", b2: "-mi"},
		{day: at(2031, 1, 1), removed: []*historyv1.RecordDisposition{disposition("invoices", false, "", "", 1)}, b1: "-m-", b2: "-mi"},
		{day: at(2031, 10, 2), removed: []*historyv1.RecordDisposition{disposition("medicine_records", false, "", "", 2)}, b2: "--i"},
		{day: at(2033, 1, 1), removed: []*historyv1.RecordDisposition{disposition("invoices", false, "", "", 1)}},
		{day: at(2033, 1, 2)},
	} {
		t.Run(tc.day.Format(time.DateOnly), func(t *testing.T) {
			f.clock.Set(tc.day)
			ctx := mgr
			if tc.asMaint {
				ctx = f.as(t, auth.RoleMaintainer)
			}
			res, err := f.history.RunRetentionSweep(ctx, &historyv1.RunRetentionSweepRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if want := (&historyv1.RunRetentionSweepResponse{Removed: tc.removed}); !proto.Equal(res, want) {
				t.Errorf("removed %v, want %v", res.GetRemoved(), tc.removed)
			}
			for _, c := range []struct {
				name string
				v    *historyv1.Visit
				want string
			}{{"2021 visit", o.a2, tc.a2}, {"2024 visit", o.b1, tc.b1}, {"2026 visit", o.b2, tc.b2}} {
				if got := left(c.v); got != c.want {
					t.Errorf("%s: %q left, want %q", c.name, got, c.want)
				}
			}
			if keep := f.getVisit(t, o.keep.GetId()); keep == nil || keep.GetVisit().GetAnamnesis() == "" {
				t.Errorf("another owner's 2019 visit was swept: %v", keep)
			}
		})
	}
	f.checkAudited(t, o.id, "history.retention_sweep owners/"+o.id+"/history test-clinic_manager")
}

// eraseOn has the clinic manager erase the owner's data under the request id on the
// day, and checks the answer.
func (f *fixture) eraseOn(t *testing.T, day time.Time, ownerID, requestID string, want *historyv1.EraseOwnerDataResponse) {
	t.Helper()
	f.clock.Set(day)
	res, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: requestID})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(res, want) {
		t.Errorf("request %s answered %v, want %v", requestID, res, want)
	}
}

// sweepOn has the clinic manager run the retention sweep on the day, and checks what it
// removed.
func (f *fixture) sweepOn(t *testing.T, day time.Time, removed ...*historyv1.RecordDisposition) {
	t.Helper()
	f.clock.Set(day)
	res, err := f.history.RunRetentionSweep(f.as(t, auth.RoleClinicManager), &historyv1.RunRetentionSweepRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(res, &historyv1.RunRetentionSweepResponse{Removed: removed}) {
		t.Errorf("the sweep of %s removed %v, want %v", day.Format(time.DateOnly), res.GetRemoved(), removed)
	}
}

// TestMedicinesKeptWithTheRecordAreAnsweredKept: the animal's medication of 2020 is past
// its own 5 years, but its 2024 visit keeps the clinical record, of which the 2020
// medication is part, to 20 May 2027. The erasure answers it kept on the clinical
// record's basis to that day, the 2020 visit holds it, and the sweep after that day
// counts it removed, once.
func TestMedicinesKeptWithTheRecordAreAnsweredKept(t *testing.T) {
	f := setup(t)
	owner := f.newOwner(t)
	pet := f.newPatient(t, owner, "Nappi").GetId()
	vet := f.as(t, auth.RoleVeterinarian)
	medicated, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet, Visit: erasureVisit(at(2020, 9, 2), true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet, Visit: erasureVisit(at(2024, 5, 20), false)}); err != nil {
		t.Fatal(err)
	}
	f.eraseOn(t, at(2026, 11, 25), owner, jobOne, &historyv1.EraseOwnerDataResponse{
		Dispositions: []*historyv1.RecordDisposition{
			disposition("patient_records", true, "basis.veterinary_records", "2027-05-20", 2),
			disposition("medicine_records", true, "basis.veterinary_records", "2027-05-20", 1),
		},
		OwnerNamedUntil: "2027-05-20",
	})
	if meds := f.getVisit(t, medicated.GetVisit().GetId()).GetVisit().GetMedications(); len(meds) != 1 {
		t.Errorf("the 2020 visit holds %d medications after the erasure, want its 1", len(meds))
	}
	f.sweepOn(t, at(2027, 5, 21), disposition("patient_records", false, "", "", 2), disposition("medicine_records", false, "", "", 1))
}

// TestSecondRequestKeepsNoErasedRecord: the first erasure reduced the owner's 2021 visit
// to its paid invoice (kept to the end of 2027), erasing its clinical record and
// medication. The animal then moves to a new owner, who brings it in, and a second
// request for the first owner comes. The animal's new entry does not give the 2021
// visit back a clinical record: the answer counts it erased, names the owner to the
// invoice's day, and the sweep after it removes the visit.
func TestSecondRequestKeepsNoErasedRecord(t *testing.T) {
	f := setup(t)
	owner, newOwner := f.newOwner(t), f.newOwner(t)
	pet := f.newPatient(t, owner, "Nappi")
	vet := f.as(t, auth.RoleVeterinarian)
	old, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: erasureVisit(at(2021, 5, 1), true, invoice("2021-14", paid))})
	if err != nil {
		t.Fatal(err)
	}
	invoiceKept := disposition("invoices", true, "basis.bookkeeping", "2027-12-31", 1)
	f.eraseOn(t, at(2026, 11, 25), owner, jobOne, &historyv1.EraseOwnerDataResponse{
		Dispositions: []*historyv1.RecordDisposition{
			disposition("patient_records", false, "", "", 1), disposition("medicine_records", false, "", "", 1), invoiceKept,
		},
		OwnerNamedUntil: "2027-12-31",
	})
	if _, err := f.owners.TransferPatient(f.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: pet.GetId(), NewOwnerId: newOwner, Version: pet.GetVersion(), Reason: "sold",
	}); err != nil {
		t.Fatal(err)
	}
	// The new owner's visit, after the sale, which the owner service dates by the real
	// clock (a visit dated before it would be the erased owner's, and refused).
	f.clock.Set(time.Time{})
	if _, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: erasureVisit(time.Time{}, false)}); err != nil {
		t.Fatal(err)
	}
	f.eraseOn(t, at(2026, 11, 27), owner, jobTwo, &historyv1.EraseOwnerDataResponse{
		Dispositions:    []*historyv1.RecordDisposition{disposition("patient_records", false, "", "", 1), invoiceKept},
		OwnerNamedUntil: "2027-12-31",
	})
	f.sweepOn(t, at(2028, 1, 1), disposition("invoices", false, "", "", 1))
	if left := f.getVisit(t, old.GetVisit().GetId()); left != nil {
		t.Errorf("the 2021 visit, its invoice's day past, is still held: %v", left.GetVisit())
	}
}

// TestSweepKeepsRecordsToTheAnimalsLastVisit: the erasure keeps the animal's clinical
// record to 20 May 2027 (its last visit, 2024-05-20, + 3 years), with a 2020
// medication as part of it in one row. The animal then goes to a new owner, who brings
// it in on 10 January 2027: the record is kept to that visit + 3 years, 10 January
// 2030, and the medication with it. The sweep after 20 May 2027 removes nothing and
// leaves the record whole, next due after 10 January 2030; the sweep after that day
// removes it.
func TestSweepKeepsRecordsToTheAnimalsLastVisit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		visits  []*historyv1.Visit
		answer  []*historyv1.RecordDisposition
		removed []*historyv1.RecordDisposition
	}{{
		name:    "clinical record",
		visits:  []*historyv1.Visit{erasureVisit(at(2024, 5, 20), false)},
		answer:  []*historyv1.RecordDisposition{disposition("patient_records", true, "basis.veterinary_records", "2027-05-20", 1)},
		removed: []*historyv1.RecordDisposition{disposition("patient_records", false, "", "", 1)},
	}, {
		name:   "medication kept with the clinical record",
		visits: []*historyv1.Visit{erasureVisit(at(2020, 9, 2), true), erasureVisit(at(2024, 5, 20), false)},
		answer: []*historyv1.RecordDisposition{
			disposition("patient_records", true, "basis.veterinary_records", "2027-05-20", 2),
			disposition("medicine_records", true, "basis.veterinary_records", "2027-05-20", 1),
		},
		removed: []*historyv1.RecordDisposition{disposition("patient_records", false, "", "", 2), disposition("medicine_records", false, "", "", 1)},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			owner, newOwner := f.newOwner(t), f.newOwner(t)
			pet := f.newPatient(t, owner, "Nappi")
			vet := f.as(t, auth.RoleVeterinarian)
			var ids []string
			for _, v := range tc.visits {
				res, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: v})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, res.GetVisit().GetId())
			}
			f.eraseOn(t, at(2026, 11, 25), owner, jobOne, &historyv1.EraseOwnerDataResponse{Dispositions: tc.answer, OwnerNamedUntil: "2027-05-20"})
			if _, err := f.owners.TransferPatient(f.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
				PatientId: pet.GetId(), NewOwnerId: newOwner, Version: pet.GetVersion(), Reason: "sold",
			}); err != nil {
				t.Fatal(err)
			}
			f.clock.Set(at(2027, 1, 10))
			if _, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), Visit: erasureVisit(at(2027, 1, 10), false)}); err != nil {
				t.Fatal(err)
			}
			f.sweepOn(t, at(2027, 5, 21))
			// The new day is stored: the hourly sweep does not read the owner again before it.
			var schedule struct {
				NextDue string `bson:"next_due"`
			}
			raw := embeddedtest.Client(t, f.env.Store.URI())
			if err := raw.Database(historyDatabase).Collection("erasure_schedule").FindOne(t.Context(), bson.M{"_id": owner}).Decode(&schedule); err != nil || schedule.NextDue != "2030-01-10" {
				t.Errorf("the erasure is next due after %q (%v), want 2030-01-10", schedule.NextDue, err)
			}
			f.sweepOn(t, at(2030, 1, 10))
			for i, id := range ids {
				v := f.getVisit(t, id).GetVisit()
				if v.GetReason() == "" || len(v.GetMedications()) != len(tc.visits[i].GetMedications()) {
					t.Errorf("visit of %s on 10 January 2030: %v, want it whole", tc.visits[i].GetStartTime().AsTime().Format(time.DateOnly), v)
				}
			}
			f.sweepOn(t, at(2030, 1, 11), tc.removed...)
			for _, id := range ids {
				if left := f.getVisit(t, id); left != nil {
					t.Errorf("visit %s is held past 10 January 2030: %v", id, left.GetVisit())
				}
			}
		})
	}
}

// TestAmendedVisitIsReducedThroughItsTrail: a reduced visit keeps nothing clinical in
// its original or its amendments either.
func TestAmendedVisitIsReducedThroughItsTrail(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	v := f.recordVisit(t, pet.GetId(), at(2021, 3, 10))
	if _, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 1, Reason: "wrong leg", Visit: &historyv1.Visit{Findings: "Swollen right hock."},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
	}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(at(2026, 11, 25))
	if _, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: uuid.NewString()}); err != nil {
		t.Fatal(err)
	}
	r := f.getVisit(t, v.GetId())
	if r.GetOriginal().GetFindings() != "" || r.GetOriginal().GetAnamnesis() != "" || len(r.GetAmendments()) != 1 ||
		r.GetAmendments()[0].GetCorrected().GetFindings() != "" || r.GetAmendments()[0].GetReason() != "" ||
		len(r.GetVisit().GetInvoices()) != 1 || r.GetVisit().GetStartTime().AsTime() != at(2021, 3, 10) ||
		r.GetVisit().GetVersion() != 3 {
		t.Errorf("reduced record %v; want it at version 3 (amended, then reduced)", r)
	}
	_, err := f.history.AmendVisit(f.as(t, auth.RoleVeterinarian), &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 3, Reason: "more", Visit: &historyv1.Visit{Findings: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}},
	})
	if got := reason(t, err); got != "VISIT_RESTRICTED" {
		t.Errorf("a veterinarian amending a restricted visit: %s", got)
	}
	// The invoices are what outlives the erasure, so their numbers are checked for an
	// identity code here too.
	servicetest.Refused(t, "131052", []servicetest.Refusal{{Name: "identity code as a restricted visit's invoice number",
		Field: "visit.invoices[0].number", Call: func() error {
			_, err := f.history.AmendVisit(f.as(t, auth.RoleBilling), &historyv1.AmendVisitRequest{
				VisitId: v.GetId(), Version: 3, Reason: "number corrected", Visit: &historyv1.Visit{Invoices: []*historyv1.InvoiceReference{invoice("131052-308T", paid)}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}},
			})
			return err
		}}})
	paidNow, err := f.history.AmendVisit(f.as(t, auth.RoleBilling), &historyv1.AmendVisitRequest{
		VisitId: v.GetId(), Version: 3, Reason: "paid", Visit: &historyv1.Visit{Invoices: []*historyv1.InvoiceReference{invoice("2026-118", paid)}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}},
	})
	if err != nil || paidNow.GetVisit().GetInvoices()[0].GetState() != paid {
		t.Errorf("billing marking a restricted visit's invoice paid: %v, %v", paidNow, err)
	}
}

// TestPeriodicSweepActsAsTheSystem: the sweep the service runs by itself audits its
// change of an erased owner's history as the system's work, flagged so that the owner's
// access report names it the system; the erasure, by a person's call, is theirs.
func TestPeriodicSweepActsAsTheSystem(t *testing.T) {
	f := setupWith(t, nil, func(c *history.Config) { c.Sweep.Interval = 20 * time.Millisecond })
	o := f.erasedOwner(t)
	f.clock.Set(at(2026, 11, 25))
	if _, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: o.id, RequestId: jobOne}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(at(2028, 1, 1))
	who := func(e bson.M) string {
		return fmt.Sprintf("%v %v %v %v", e["action"], e["actor_subject"], e["actor_name"], e["system"])
	}
	for deadline := time.Now().Add(time.Minute); !slices.Contains(f.auditEvents(t, o.id, who), "history.retention_sweep service:history retention sweep true"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no sweep audited as the system: %q", f.auditEvents(t, o.id, who))
		}
	}
	if got := f.auditEvents(t, o.id, who); !slices.Contains(got, "history.erase test-clinic_manager Test clinic_manager <nil>") {
		t.Errorf("the erasure is not audited as its caller's: %q", got)
	}
}

// checkAudited finds the event "<action> <resource> <actor>" among the owner's audit
// events (erasures and sweeps store theirs before they answer).
func (f *fixture) checkAudited(t *testing.T, ownerID, want string) {
	t.Helper()
	got := f.auditEvents(t, ownerID, func(e bson.M) string {
		return fmt.Sprintf("%v %v %v", e["action"], e["resource"], e["actor_subject"])
	})
	if !slices.Contains(got, want) {
		t.Errorf("audit events %q lack %q", got, want)
	}
}

// TestRetriesKeepToTheRestriction retries a visit's record and its corrections after
// the owner's erasure restricted the visit and reduced it to its date and invoices:
// the retry answers by GetVisit's rule, refusing the veterinarian what the record
// kept and giving billing its invoice view, as a retry rather than another
// correction under the same request id.
func TestRetriesKeepToTheRestriction(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	vet, billing := f.as(t, auth.RoleVeterinarian), f.as(t, auth.RoleBilling)
	record := &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: "form-7", Visit: erasureVisit(at(2021, 3, 10), false, invoice("2021-15", unpaid))}
	correct := &historyv1.AmendVisitRequest{VisitId: "", RequestId: "fix-1", Version: 1, Reason: "wrong leg",
		Visit: &historyv1.Visit{Findings: "Swollen right hock."}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"findings"}}}
	pay := &historyv1.AmendVisitRequest{VisitId: "", RequestId: "pay-1", Version: 2, Reason: "paid",
		Visit: &historyv1.Visit{Invoices: []*historyv1.InvoiceReference{invoice("2021-15", paid)}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}}}
	first, err := f.history.RecordVisit(vet, record)
	if err != nil {
		t.Fatal(err)
	}
	correct.VisitId, pay.VisitId = first.GetVisit().GetId(), first.GetVisit().GetId()
	if _, err := f.history.AmendVisit(vet, correct); err != nil {
		t.Fatal(err)
	}
	if _, err := f.history.AmendVisit(billing, pay); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(at(2026, 11, 25))
	if _, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: jobOne}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() (*historyv1.Visit, error)
	}{
		{"visit", func() (*historyv1.Visit, error) {
			res, err := f.history.RecordVisit(vet, record)
			return res.GetVisit(), err
		}},
		{"correction", func() (*historyv1.Visit, error) {
			res, err := f.history.AmendVisit(vet, correct)
			return res.GetVisit(), err
		}},
	} {
		t.Run("veterinarian's "+tc.name, func(t *testing.T) {
			v, err := tc.call()
			if got := reason(t, err); got != "VISIT_RESTRICTED" {
				t.Errorf("reason %s, answered %v", got, v)
			}
		})
	}
	t.Run("billing's payment", func(t *testing.T) {
		res, err := f.history.AmendVisit(billing, pay)
		if err != nil {
			t.Fatal(err)
		}
		if v := res.GetVisit(); v.GetVersion() != 4 || !v.GetRestricted() || v.GetReason() != "" || v.GetFindings() != "" ||
			len(v.GetInvoices()) != 1 || v.GetInvoices()[0].GetState() != paid || res.GetAmendment().GetVersion() != 3 {
			t.Errorf("answered %v", res)
		}
	})
}

// TestReusedPaymentIDOnRestrictedVisitIsRefused: on a restricted visit only billing
// still corrects (invoices), and its payments are stored whole. A second, different
// payment sent under the request id of the first is refused with REQUEST_ID_REUSED,
// not answered as the first one and stored nowhere, while the first one's retry is
// answered with it.
func TestReusedPaymentIDOnRestrictedVisitIsRefused(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	vet, billing := f.as(t, auth.RoleVeterinarian), f.as(t, auth.RoleBilling)
	first, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: "form-7",
		Visit: erasureVisit(at(2021, 3, 10), false, invoice("2021-15", unpaid), invoice("2021-16", unpaid))})
	if err != nil {
		t.Fatal(err)
	}
	id := first.GetVisit().GetId()
	f.clock.Set(at(2026, 11, 25))
	if _, err := f.history.EraseOwnerData(f.as(t, auth.RoleClinicManager), &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: jobOne}); err != nil {
		t.Fatal(err)
	}
	pay := func(version int64, reason string, invoices ...*historyv1.InvoiceReference) (*historyv1.AmendVisitResponse, error) {
		return f.history.AmendVisit(billing, &historyv1.AmendVisitRequest{VisitId: id, RequestId: "pay-1", Version: version, Reason: reason,
			Visit: &historyv1.Visit{Invoices: invoices}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}}})
	}
	// The erasure's restriction made version 2.
	if _, err := pay(2, "2021-15 paid", invoice("2021-15", paid), invoice("2021-16", unpaid)); err != nil {
		t.Fatal(err)
	}
	if res, err := pay(3, "2021-15 paid", invoice("2021-15", paid), invoice("2021-16", unpaid)); err != nil || res.GetAmendment().GetVersion() != 3 {
		t.Errorf("the payment's retry: %v, %v; want version 3", res, err)
	}
	for _, tc := range []struct {
		name     string
		reason   string
		invoices []*historyv1.InvoiceReference
	}{
		{"another invoice paid", "2021-16 paid", []*historyv1.InvoiceReference{invoice("2021-15", paid), invoice("2021-16", paid)}},
		{"the same invoices for another reason", "paid twice", []*historyv1.InvoiceReference{invoice("2021-15", paid), invoice("2021-16", unpaid)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := pay(3, tc.reason, tc.invoices...)
			if err == nil {
				t.Fatalf("answered OK as version %d", res.GetAmendment().GetVersion())
			}
			if r := reason(t, err); r != "REQUEST_ID_REUSED" {
				t.Errorf("reason %q", r)
			}
		})
	}
	got := f.getVisit(t, id).GetVisit()
	if got.GetVersion() != 3 || len(got.GetInvoices()) != 2 || got.GetInvoices()[1].GetState() != unpaid {
		t.Errorf("stored version %d, invoices %v; want the first payment only", got.GetVersion(), got.GetInvoices())
	}
}

// TestBillingChangesOnlyInvoiceStatesOfARestrictedVisit: the erasure planned how long
// a restricted visit is kept from the invoices it had then, so billing may record a
// payment of one of them but not add an invoice (it would go with the clinical record,
// years before bookkeeping lets it) nor remove or replace one, nor reopen a paid one
// (the identity code to collect it is dropped): FAILED_PRECONDITION VISIT_RESTRICTED,
// the visit unchanged. After the clinical record's retention the
// visit with its paid invoice is still kept, the one without invoices is gone.
func TestBillingChangesOnlyInvoiceStatesOfARestrictedVisit(t *testing.T) {
	f := setup(t)
	f.clock.Set(at(2026, 11, 25))
	ownerID := f.newOwner(t)
	pet := f.newPatient(t, ownerID, "Nappi")
	vet, billing, mgr := f.as(t, auth.RoleVeterinarian), f.as(t, auth.RoleBilling), f.as(t, auth.RoleClinicManager)
	record := func(requestID string, invoices ...*historyv1.InvoiceReference) string {
		res, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: requestID,
			Visit: erasureVisit(at(2026, 10, 1), false, invoices...)})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetVisit().GetId()
	}
	none, billed, settled := record("form-1"), record("form-2", invoice("2026-15", unpaid)), record("form-3", invoice("2026-16", paid))
	if _, err := f.history.EraseOwnerData(mgr, &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: jobOne}); err != nil {
		t.Fatal(err)
	}
	amend := func(id, requestID string, invoices ...*historyv1.InvoiceReference) (*historyv1.AmendVisitResponse, error) {
		// The erasure's restriction made version 2.
		return f.history.AmendVisit(billing, &historyv1.AmendVisitRequest{VisitId: id, RequestId: requestID, Version: 2, Reason: "invoiced",
			Visit: &historyv1.Visit{Invoices: invoices}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}}})
	}
	for _, tc := range []struct {
		name     string
		visit    string
		invoices []*historyv1.InvoiceReference
	}{
		{"an invoice added to a visit without", none, []*historyv1.InvoiceReference{invoice("2026-77", unpaid)}},
		{"another invoice added", billed, []*historyv1.InvoiceReference{invoice("2026-15", unpaid), invoice("2026-77", unpaid)}},
		{"the invoice replaced", billed, []*historyv1.InvoiceReference{invoice("2026-77", paid)}},
		{"the invoice removed", billed, nil},
		// The erasure told the owner service no open invoice needs the identity code.
		{"a paid invoice reopened", settled, []*historyv1.InvoiceReference{invoice("2026-16", unpaid)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := amend(tc.visit, "inv-"+tc.name, tc.invoices...)
			if r := reason(t, err); r != "VISIT_RESTRICTED" {
				t.Errorf("reason %q, answered %v", r, res)
			}
			if got := f.getVisit(t, tc.visit).GetVisit(); got.GetVersion() != 2 {
				t.Errorf("stored version %d, invoices %v", got.GetVersion(), got.GetInvoices())
			}
		})
	}
	if _, err := amend(billed, "pay-1", invoice("2026-15", paid)); err != nil {
		t.Fatalf("the payment: %v", err)
	}
	// The first amendment, at the version the restriction made, keeps the original.
	if orig := f.getVisit(t, billed).GetOriginal(); orig.GetReason() != "Limping" || len(orig.GetInvoices()) != 1 || orig.GetInvoices()[0].GetState() != unpaid {
		t.Errorf("original after the payment %v; want the visit as recorded", orig)
	}
	f.clock.Set(at(2030, 1, 2))
	if _, err := f.history.RunRetentionSweep(mgr, &historyv1.RunRetentionSweepRequest{}); err != nil {
		t.Fatal(err)
	}
	if r := f.getVisit(t, none); r != nil {
		t.Errorf("the visit without invoices is kept: %v", r)
	}
	got := f.getVisit(t, billed).GetVisit()
	if len(got.GetInvoices()) != 1 || got.GetInvoices()[0].GetNumber() != "2026-15" || got.GetInvoices()[0].GetState() != paid {
		t.Errorf("invoices kept %v; want 2026-15 paid", got.GetInvoices())
	}
}

// TestReusedVisitIDOnRestrictedVisitIsRefused: a veterinarian who is also the clinic
// manager (reads restricted visits) sends another visit under a request id used for a
// visit now restricted: refused, whether the erasure kept the visit whole (recent, so
// the clinical record is kept) or reduced it to its date and invoices (the invoice is
// all there is to compare then), while the first visit's retry is answered with it.
// The refusal names nothing of the restricted record.
func TestReusedVisitIDOnRestrictedVisitIsRefused(t *testing.T) {
	f := setup(t)
	f.clock.Set(at(2026, 11, 25))
	vetManager, manager := f.as(t, auth.RoleVeterinarian, auth.RoleClinicManager), f.as(t, auth.RoleClinicManager)
	for _, tc := range []struct {
		name  string
		first *historyv1.Visit
		other func(*historyv1.Visit)
		// keptReason is the first visit's reason as the restricted record keeps it.
		keptReason string
	}{
		{
			name:       "kept whole",
			first:      erasureVisit(at(2026, 10, 1), true, invoice("2026-118", unpaid)),
			other:      func(v *historyv1.Visit) { v.Reason, v.Findings = "Vaccination", "Healthy." },
			keptReason: "Limping",
		},
		{
			name:  "reduced to its date and invoices",
			first: erasureVisit(at(2021, 3, 10), false, invoice("2021-15", unpaid)),
			other: func(v *historyv1.Visit) { v.Invoices = []*historyv1.InvoiceReference{invoice("2021-16", unpaid)} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ownerID := f.newOwner(t)
			pet := f.newPatient(t, ownerID, "Nappi")
			record := func(v *historyv1.Visit) (*historyv1.RecordVisitResponse, error) {
				return f.history.RecordVisit(vetManager, &historyv1.RecordVisitRequest{PatientId: pet.GetId(), RequestId: "form-7", Visit: v})
			}
			first, err := record(tc.first)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.history.EraseOwnerData(manager, &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: jobOne}); err != nil {
				t.Fatal(err)
			}
			before := f.getVisit(t, first.GetVisit().GetId())
			if !before.GetVisit().GetRestricted() || before.GetOriginal().GetReason() != tc.keptReason {
				t.Fatalf("not restricted with the reason %q: %v", tc.keptReason, before)
			}
			if again, err := record(tc.first); err != nil || again.GetVisit().GetId() != first.GetVisit().GetId() {
				t.Errorf("the retry: %v, %v; want the first visit", again, err)
			}
			other := proto.Clone(tc.first).(*historyv1.Visit)
			tc.other(other)
			res, err := record(other)
			if err == nil {
				t.Fatalf("another visit under the same request id answered OK with the first: %v", res.GetVisit())
			}
			if r := reason(t, err); r != "REQUEST_ID_REUSED" {
				t.Errorf("reason %q", r)
			}
			for _, kept := range []string{"Limping", "Swollen", "2021-15", "2026-118"} {
				if strings.Contains(err.Error(), kept) {
					t.Errorf("the refusal %q names %q", err, kept)
				}
			}
			if after := f.getVisit(t, first.GetVisit().GetId()); !proto.Equal(after, before) {
				t.Errorf("stored %v, want the first visit as it was: %v", after, before)
			}
		})
	}
}

// TestReusedRequestIDOnAReducedRecordIsRefused: once an erasure has reduced a record,
// what it removed is gone, yet a request under the id of its visit or of one of its
// amendments that differs only there is still another request: refused with
// REQUEST_ID_REUSED, not answered as the first one (billing's payment of another
// invoice would be taken as recorded, stored nowhere), while the first one's retry is
// still answered with it. A record stored before digests were kept is compared as
// reduced, as it always was: its retry still goes through.
func TestReusedRequestIDOnAReducedRecordIsRefused(t *testing.T) {
	f := setup(t)
	f.clock.Set(at(2026, 11, 25))
	visits := embeddedtest.Client(t, f.env.Store.URI()).Database(historyDatabase).Collection("visits")
	vetManager, billing, manager := f.as(t, auth.RoleVeterinarian, auth.RoleClinicManager), f.as(t, auth.RoleBilling), f.as(t, auth.RoleClinicManager)
	// A request answers the visit it recorded or amended.
	type request func(t *testing.T, pet, visitID string) (*historyv1.Visit, error)
	record := func(requestID, reason string) request {
		return func(t *testing.T, pet, _ string) (*historyv1.Visit, error) {
			v := erasureVisit(at(2021, 3, 10), false, invoice("2021-15", unpaid))
			v.Reason = reason
			res, err := f.history.RecordVisit(vetManager, &historyv1.RecordVisitRequest{PatientId: pet, RequestId: requestID, Visit: v})
			return res.GetVisit(), err
		}
	}
	setInvoices := func(requestID string, invoices ...*historyv1.InvoiceReference) request {
		return func(t *testing.T, _, id string) (*historyv1.Visit, error) {
			read := f.getVisit(t, id).GetVisit().GetVersion()
			res, err := f.history.AmendVisit(billing, &historyv1.AmendVisitRequest{VisitId: id, RequestId: requestID, Version: read,
				Reason: "invoiced", Visit: &historyv1.Visit{Invoices: invoices}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"invoices"}}})
			return res.GetVisit(), err
		}
	}
	for _, tc := range []struct {
		name string
		// billed records a visit of this autumn with an invoice first: the erasure
		// keeps its clinical record but, once billing has emptied its invoices, none.
		billed bool
		// first is made before the erasure; other, under its id, differs only in what
		// the erasure removes (nil: none is sent).
		first, other request
		// withoutDigest stores the first request as before digests were kept.
		withoutDigest bool
	}{
		{name: "billing's payment of another invoice after it emptied them", billed: true,
			first: setInvoices("bill-1"), other: setInvoices("bill-1", invoice("2026-77", paid))},
		{name: "another visit on the same day with the same invoice (the erasure kept only them)",
			first: record("form-7", "Limping"), other: record("form-7", "Vaccination")},
		{name: "billing's retry of a correction stored before digests", billed: true, withoutDigest: true,
			first: setInvoices("bill-1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ownerID := f.newOwner(t)
			pet := f.newPatient(t, ownerID, "Nappi").GetId()
			var id string
			if tc.billed {
				v := erasureVisit(at(2026, 10, 1), false, invoice("2026-15", unpaid))
				res, err := f.history.RecordVisit(vetManager, &historyv1.RecordVisitRequest{PatientId: pet, Visit: v})
				if err != nil {
					t.Fatal(err)
				}
				id = res.GetVisit().GetId()
			}
			first, err := tc.first(t, pet, id)
			if err != nil {
				t.Fatal(err)
			}
			id = first.GetId()
			if tc.withoutDigest {
				withDigest := bson.M{"_id": id, "amendments.digest": bson.M{"$exists": true}}
				if n, err := visits.CountDocuments(t.Context(), withDigest); err != nil || n != 1 {
					t.Fatalf("the correction stored no digest (%v)", err)
				}
				if _, err := visits.UpdateOne(t.Context(), bson.M{"_id": id}, bson.M{"$unset": bson.M{"amendments.0.digest": ""}}); err != nil {
					t.Fatal(err)
				}
				if n, err := visits.CountDocuments(t.Context(), withDigest); err != nil || n != 0 {
					t.Fatalf("%d visits with a digest left (%v)", n, err)
				}
			}
			if _, err := f.history.EraseOwnerData(manager, &historyv1.EraseOwnerDataRequest{OwnerId: ownerID, RequestId: jobOne}); err != nil {
				t.Fatal(err)
			}
			before := f.getVisit(t, id)
			if !before.GetVisit().GetRestricted() {
				t.Fatalf("not restricted: %v", before)
			}
			if again, err := tc.first(t, pet, id); err != nil || again.GetId() != id {
				t.Errorf("the retry: %v, %v; want the first", again, err)
			}
			if tc.other != nil {
				res, err := tc.other(t, pet, id)
				if err == nil {
					t.Fatalf("another request under the same id answered OK as the first: %v", res)
				}
				if r := reason(t, err); r != "REQUEST_ID_REUSED" {
					t.Errorf("reason %q", r)
				}
			}
			if after := f.getVisit(t, id); !proto.Equal(after, before) {
				t.Errorf("stored %v, want the record as the erasure left it: %v", after, before)
			}
		})
	}
}
