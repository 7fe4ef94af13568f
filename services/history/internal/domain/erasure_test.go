package domain

import (
	"reflect"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/retention"
)

func day(y int, m time.Month, d int) retention.Date { return retention.Date{Year: y, Month: m, Day: d} }

// noon is an instant on the day in Finland, summer or winter.
func noon(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

func helsinki(t *testing.T) *time.Location {
	t.Helper()
	loc, err := retention.ClinicLocation()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestPlanErasure(t *testing.T) {
	loc := helsinki(t)
	today := day(2026, 11, 25)
	meds := []Medication{{Product: "Metacam"}}
	open := []Invoice{{Number: "1", State: InvoiceOpen}}
	paidTwice := []Invoice{{Number: "2", State: InvoicePaid}, {Number: "3", State: InvoicePaid}}
	for _, tc := range []struct {
		name     string
		patients []PatientHistory
		comms    int
		want     ErasureResult
		plan     []VisitRetention
	}{
		{name: "nothing on record"},
		{name: "only communications", comms: 3, want: ErasureResult{Dispositions: []Disposition{{Class: ClassCommunications, Count: 3}}}},
		{
			name: "a later visit by the next owner extends the animal's records",
			patients: []PatientHistory{{LastEntry: noon(2025, 2, 1), Visits: []*Visit{
				{ID: "v1", StartTime: noon(2022, 6, 1)},
			}}},
			want: ErasureResult{
				Dispositions:    []Disposition{{ClassPatientRecords, true, retention.BasisVeterinaryRecords, day(2028, 2, 1), 1}},
				OwnerNamedUntil: day(2028, 2, 1),
			},
			// The entry keeps the last visit it was planned from (see AnimalsAsPlanned).
			plan: []VisitRetention{{VisitID: "v1", RecordUntil: day(2028, 2, 1), LastEntry: noon(2025, 2, 1)}},
		},
		{
			name: "medicines outlast the record; an open invoice needs the identity code",
			patients: []PatientHistory{{Visits: []*Visit{
				{ID: "v1", StartTime: noon(2022, 6, 1), Medications: meds, Invoices: paidTwice},
				{ID: "v2", StartTime: noon(2023, 1, 2), Invoices: open},
			}}},
			want: ErasureResult{
				Dispositions: []Disposition{
					// The animal's last entry, 2 January 2023, + 3 years: already past.
					{Class: ClassPatientRecords, Count: 2},
					{ClassMedicineRecords, true, retention.BasisMedicineRecords, day(2027, 6, 1), 1},
					{ClassInvoices, true, retention.BasisBookkeeping, day(2029, 12, 31), 3},
				},
				OwnerNamedUntil:         day(2029, 12, 31),
				IdentityCodeNeededUntil: day(2029, 12, 31),
			},
			plan: []VisitRetention{
				{VisitID: "v1", MedicineUntil: day(2027, 6, 1), InvoiceUntil: day(2028, 12, 31), Medications: true, Invoices: 2},
				{VisitID: "v2", InvoiceUntil: day(2029, 12, 31), Invoices: 1},
			},
		},
		{
			name: "medicines kept with the clinical record, of which they are part",
			patients: []PatientHistory{{Visits: []*Visit{
				{ID: "v1", StartTime: noon(2020, 9, 2), Medications: meds},
				{ID: "v2", StartTime: noon(2024, 5, 20)},
			}}},
			want: ErasureResult{
				Dispositions: []Disposition{
					{ClassPatientRecords, true, retention.BasisVeterinaryRecords, day(2027, 5, 20), 2},
					// Their own 5 years ended on 2 September 2025.
					{ClassMedicineRecords, true, retention.BasisVeterinaryRecords, day(2027, 5, 20), 1},
				},
				OwnerNamedUntil: day(2027, 5, 20),
			},
			plan: []VisitRetention{
				{VisitID: "v1", RecordUntil: day(2027, 5, 20), Medications: true},
				{VisitID: "v2", RecordUntil: day(2027, 5, 20)},
			},
		},
		{
			name: "medicines kept on two bases are answered once for each",
			patients: []PatientHistory{
				{Visits: []*Visit{
					{ID: "v1", StartTime: noon(2020, 9, 2), Medications: meds},
					{ID: "v2", StartTime: noon(2025, 3, 1)},
				}},
				{Visits: []*Visit{{ID: "v3", StartTime: noon(2022, 6, 1), Medications: meds}}},
			},
			want: ErasureResult{
				Dispositions: []Disposition{
					{ClassPatientRecords, true, retention.BasisVeterinaryRecords, day(2028, 3, 1), 2},
					{Class: ClassPatientRecords, Count: 1},
					{ClassMedicineRecords, true, retention.BasisVeterinaryRecords, day(2028, 3, 1), 1},
					{ClassMedicineRecords, true, retention.BasisMedicineRecords, day(2027, 6, 1), 1},
				},
				OwnerNamedUntil: day(2028, 3, 1),
			},
			plan: []VisitRetention{
				{VisitID: "v1", RecordUntil: day(2028, 3, 1), Medications: true},
				{VisitID: "v2", RecordUntil: day(2028, 3, 1)},
				{VisitID: "v3", MedicineUntil: day(2027, 6, 1), Medications: true},
			},
		},
		{
			name: "everything past retention is erased",
			patients: []PatientHistory{{Visits: []*Visit{
				{ID: "v1", StartTime: noon(2018, 6, 1), Medications: meds, Invoices: open},
			}}},
			want: ErasureResult{Dispositions: []Disposition{
				{Class: ClassPatientRecords, Count: 1}, {Class: ClassMedicineRecords, Count: 1}, {Class: ClassInvoices, Count: 1},
			}},
			plan: []VisitRetention{{VisitID: "v1", Medications: true, Invoices: 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, plan := PlanErasure(retention.DefaultPolicy(), tc.patients, tc.comms, today, loc)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result\n%+v\nwant\n%+v", got, tc.want)
			}
			if !reflect.DeepEqual(plan, tc.plan) {
				t.Errorf("plan\n%+v\nwant\n%+v", plan, tc.plan)
			}
		})
	}
}

// TestPlanErasureAnswersEachBasisWhateverTheReadOrder: medications kept with their
// animal's clinical record and others kept on their own 5 years are answered once for
// each basis, with its count and latest day, whichever animal is read first, also
// when both bases reach the same day.
func TestPlanErasureAnswersEachBasisWhateverTheReadOrder(t *testing.T) {
	loc := helsinki(t)
	today := day(2026, 11, 25)
	meds := []Medication{{Product: "Metacam"}}
	withRecord := PatientHistory{Visits: []*Visit{{ID: "a1", StartTime: noon(2020, 9, 2), Medications: meds}, {ID: "a2", StartTime: noon(2024, 5, 20)}}}
	for _, tc := range []struct {
		name  string
		own   PatientHistory
		until retention.Date
	}{
		{name: "the same day", own: PatientHistory{Visits: []*Visit{{ID: "b1", StartTime: noon(2022, 5, 20), Medications: meds}}}, until: day(2027, 5, 20)},
		{name: "their own later", own: PatientHistory{Visits: []*Visit{{ID: "b1", StartTime: noon(2022, 8, 1), Medications: meds}}}, until: day(2027, 8, 1)},
	} {
		want := []Disposition{
			{ClassPatientRecords, true, retention.BasisVeterinaryRecords, day(2027, 5, 20), 2},
			{Class: ClassPatientRecords, Count: 1},
			{ClassMedicineRecords, true, retention.BasisVeterinaryRecords, day(2027, 5, 20), 1},
			{ClassMedicineRecords, true, retention.BasisMedicineRecords, tc.until, 1},
		}
		for _, order := range [][]PatientHistory{{withRecord, tc.own}, {tc.own, withRecord}} {
			if res, _ := PlanErasure(retention.DefaultPolicy(), order, 0, today, loc); !reflect.DeepEqual(res.Dispositions, want) {
				t.Errorf("%s, %s read first: %+v, want %+v", tc.name, order[0].Visits[0].ID, res.Dispositions, want)
			}
		}
	}
}

func TestVisitRetentionOverTime(t *testing.T) {
	r := VisitRetention{VisitID: "v", RecordUntil: day(2029, 10, 1), MedicineUntil: day(2031, 10, 1), InvoiceUntil: day(2030, 12, 31)}
	if r.Until() != day(2031, 10, 1) || r.Next() != day(2029, 10, 1) {
		t.Fatalf("until %s, next %s", r.Until(), r.Next())
	}
	for _, tc := range []struct {
		today retention.Date
		left  VisitRetention
		gone  bool
	}{
		{day(2029, 10, 1), r, false},
		{day(2029, 10, 2), VisitRetention{VisitID: "v", MedicineUntil: day(2031, 10, 1), InvoiceUntil: day(2030, 12, 31)}, false},
		{day(2031, 1, 1), VisitRetention{VisitID: "v", MedicineUntil: day(2031, 10, 1)}, false},
		{day(2031, 10, 2), VisitRetention{VisitID: "v"}, true},
	} {
		if left, gone := r.On(tc.today); left != tc.left || gone != tc.gone {
			t.Errorf("on %s: %+v %v, want %+v %v", tc.today, left, gone, tc.left, tc.gone)
		}
	}
}

func TestRestrictKeepsOnlyWhatIsKept(t *testing.T) {
	v := Visit{
		ID: "v", Clinic: ClinicKangasala, StartTime: noon(2022, 6, 1), Staff: []Staff{{Name: "Vet"}}, Reason: "Limping",
		Anamnesis: "a", Findings: "f", Diagnoses: []Diagnosis{{Text: "d"}}, Procedures: []Procedure{{Description: "p"}},
		Medications: []Medication{{Product: "m"}}, WeightGrams: 1, FollowUp: "u", Invoices: []Invoice{{Number: "1"}},
		Version: 2, Restricted: true,
	}
	rec := VisitRecord{Current: v, Original: v, Amendments: []Amendment{{Version: 2, Reason: "why", Fields: []string{"findings"}, Corrected: Visit{Findings: "f"}}}}
	bare := Visit{ID: "v", Clinic: ClinicKangasala, StartTime: v.StartTime, Version: 2, Restricted: true}
	withMeds, withInvoices := bare, bare
	withMeds.Medications, withInvoices.Invoices = v.Medications, v.Invoices
	noInvoices := v
	noInvoices.Invoices = nil
	for _, tc := range []struct {
		name string
		r    VisitRetention
		want Visit
	}{
		{"everything kept", VisitRetention{RecordUntil: day(2030, 1, 1), InvoiceUntil: day(2030, 1, 1)}, v},
		{"the record without invoices", VisitRetention{RecordUntil: day(2030, 1, 1)}, noInvoices},
		{"medicines only", VisitRetention{MedicineUntil: day(2030, 1, 1)}, withMeds},
		{"invoices only", VisitRetention{InvoiceUntil: day(2030, 1, 1)}, withInvoices},
	} {
		got := tc.r.Restrict(rec)
		if !reflect.DeepEqual(got.Current, tc.want) || !reflect.DeepEqual(got.Original, tc.want) {
			t.Errorf("%s: %+v", tc.name, got.Current)
		}
		a := got.Amendments[0]
		if clinical := !tc.r.RecordUntil.IsZero(); (a.Reason != "") != clinical || (a.Corrected.Findings != "") != clinical {
			t.Errorf("%s: amendment %+v", tc.name, a)
		}
	}
}

func TestMayReduce(t *testing.T) {
	kept := day(2030, 1, 1)
	invoiced := &Visit{Version: 1, Invoices: []Invoice{{Number: "1"}}}
	plain := &Visit{Version: 1}
	amended := &Visit{Version: 2}
	for _, tc := range []struct {
		name string
		r    VisitRetention
		v    *Visit
		want bool
	}{
		{"everything kept", VisitRetention{RecordUntil: kept, InvoiceUntil: kept}, invoiced, false},
		{"record kept, no invoices ever", VisitRetention{RecordUntil: kept}, plain, false},
		{"record kept, invoices not", VisitRetention{RecordUntil: kept}, invoiced, true},
		{"record kept, invoices maybe in the trail", VisitRetention{RecordUntil: kept}, amended, true},
		{"record not kept", VisitRetention{InvoiceUntil: kept}, invoiced, true},
	} {
		if got := tc.r.MayReduce(tc.v); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

// TestErasureAdaptsToWrites pins when an erasure plans again (AsPlanned) and when the
// new plan changes its answer (Replanned): a visit amended, recorded or removed since
// the plan's read is not as planned; a plan keeping the same parts as long leaves the
// answer as first given, one keeping more, or needing the identity code longer, does not.
func TestErasureAdaptsToWrites(t *testing.T) {
	today := day(2026, 11, 25)
	kept := VisitRetention{VisitID: "v1", RecordUntil: day(2029, 11, 25), Version: 1}
	passed := VisitRetention{VisitID: "v0", RecordUntil: day(2026, 1, 1), Version: 1}
	answered := ErasureResult{OwnerNamedUntil: day(2029, 11, 25)}
	erasure := func() *Erasure {
		return &Erasure{Requests: []ErasureRequest{{RequestID: "r", Result: answered}}, Visits: []VisitRetention{kept, passed}}
	}
	for _, tc := range []struct {
		name   string
		visits []*Visit
		moved  map[string]bool
		want   bool
	}{
		{"as read", []*Visit{{ID: "v1", Version: 1}}, nil, true},
		{"amended since", []*Visit{{ID: "v1", Version: 2}}, nil, false},
		{"one recorded since", []*Visit{{ID: "v1", Version: 1}, {ID: "v2", Version: 1}}, nil, false},
		{"one kept removed", nil, nil, false},
		{"one removed moved to another owner", []*Visit{{ID: "v1", Version: 1}}, map[string]bool{"v0": true}, false},
	} {
		if got := erasure().AsPlanned(tc.visits, tc.moved, today); got != tc.want {
			t.Errorf("%s: as planned %v, want %v", tc.name, got, tc.want)
		}
	}
	invoiced := kept
	invoiced.InvoiceUntil = day(2032, 12, 31)
	for _, tc := range []struct {
		name    string
		plan    []VisitRetention
		res     ErasureResult
		changed bool
	}{
		{"only versions raised", []VisitRetention{{VisitID: "v1", RecordUntil: day(2029, 11, 25), Version: 3}}, ErasureResult{}, false},
		{"an invoice added", []VisitRetention{invoiced}, ErasureResult{IdentityCodeNeededUntil: day(2032, 12, 31)}, true},
		{"an invoice reopened", []VisitRetention{kept}, ErasureResult{IdentityCodeNeededUntil: day(2032, 12, 31)}, true},
		{"a visit removed", nil, ErasureResult{}, true},
	} {
		e := erasure()
		if got := e.Replanned(tc.plan, tc.res, today, false); got != tc.changed {
			t.Errorf("%s: changed %v, want %v", tc.name, got, tc.changed)
		}
		want := answered
		if tc.changed {
			want = tc.res
		}
		if !reflect.DeepEqual(e.Requests[0].Result, want) || !reflect.DeepEqual(e.Visits, tc.plan) {
			t.Errorf("%s: holds %+v answering %+v", tc.name, e.Visits, e.Requests[0].Result)
		}
	}
}

// TestAnimalsAsPlanned: a plan is as planned for the animals while none of them has a
// visit later than the one its entries were planned from (the next owner's visit since
// is not); an entry stored before plans kept the animal's last visit is not either.
func TestAnimalsAsPlanned(t *testing.T) {
	planned := noon(2021, 5, 1)
	visits := []*Visit{{ID: "v1", PatientID: "p1", Version: 1}, {ID: "v2", PatientID: "p2", Version: 1}}
	for _, tc := range []struct {
		name  string
		entry time.Time
		last  map[string]time.Time
		want  bool
	}{
		{"as read", planned, map[string]time.Time{"p1": planned}, true},
		{"another animal's visit since", planned, map[string]time.Time{"p1": planned, "p2": noon(2026, 11, 25)}, true},
		{"the next owner's visit since", planned, map[string]time.Time{"p1": noon(2026, 11, 25)}, false},
		{"stored before plans kept it", time.Time{}, map[string]time.Time{"p1": planned}, false},
	} {
		e := &Erasure{Visits: []VisitRetention{{VisitID: "v1", Version: 1, LastEntry: tc.entry}}}
		if got := e.AnimalsAsPlanned(visits, tc.last); got != tc.want {
			t.Errorf("%s: as planned %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestReplannedAnswersEveryRequestNotAnswered: a plan made again updates the answer of
// every request decided since the record was last applied, whichever one plans it,
// and leaves the answer given to one decided before.
func TestReplannedAnswersEveryRequestNotAnswered(t *testing.T) {
	today := day(2026, 11, 25)
	kept := VisitRetention{VisitID: "v1", RecordUntil: day(2029, 11, 25), Version: 1}
	invoiced := kept
	invoiced.InvoiceUntil = day(2032, 12, 31)
	first := ErasureResult{OwnerNamedUntil: day(2029, 11, 25)}
	res := ErasureResult{OwnerNamedUntil: day(2032, 12, 31), IdentityCodeNeededUntil: day(2032, 12, 31)}
	e := &Erasure{Answered: 1, Visits: []VisitRetention{kept}, Requests: []ErasureRequest{
		{RequestID: "answered", Result: first}, {RequestID: "r1", Result: first}, {RequestID: "r2", Result: first}}}
	if !e.Replanned([]VisitRetention{invoiced}, res, today, false) {
		t.Fatal("an invoice added did not change the answers")
	}
	for i, want := range []ErasureResult{first, res, res} {
		if got := e.Requests[i].Result; !reflect.DeepEqual(got, want) {
			t.Errorf("request %s answers %+v, want %+v", e.Requests[i].RequestID, got, want)
		}
	}
}

// TestReplannedCodeDayFollowsAPayment: billing paid the open invoice of a visit the
// plan read before the erasure restricted it, and the plan made again keeps the same
// parts as long. The answers not given yet no longer keep the identity code for the
// invoice (the owner service would keep it for years, and no payment on a restricted
// visit marks it to be checked); the answer given before keeps its day.
func TestReplannedCodeDayFollowsAPayment(t *testing.T) {
	today := day(2026, 11, 25)
	invoiced := VisitRetention{VisitID: "v1", RecordUntil: day(2031, 10, 1), InvoiceUntil: day(2032, 12, 31), Version: 1}
	open := ErasureResult{OwnerNamedUntil: day(2032, 12, 31), IdentityCodeNeededUntil: day(2032, 12, 31)}
	paid := ErasureResult{OwnerNamedUntil: day(2032, 12, 31)}
	e := &Erasure{Answered: 1, Visits: []VisitRetention{invoiced}, Requests: []ErasureRequest{
		{RequestID: "answered", Result: open}, {RequestID: "r1", Result: open}}}
	again := invoiced
	again.Version = 2
	if !e.Replanned([]VisitRetention{again}, paid, today, false) {
		t.Fatal("the payment did not change the answer not given yet")
	}
	for i, want := range []ErasureResult{open, paid} {
		if got := e.Requests[i].Result; !reflect.DeepEqual(got, want) {
			t.Errorf("request %s answers %+v, want %+v", e.Requests[i].RequestID, got, want)
		}
	}
}

// TestReplannedKeepsTheCommunicationsAsAnswered: a plan keeping other parts (an
// invoice added) replaces the answer but for the communications erased, which stay as
// first answered: those counted then are erased, some by a racing recording's own
// check before the plan counted them again.
func TestReplannedKeepsTheCommunicationsAsAnswered(t *testing.T) {
	today := day(2026, 11, 25)
	kept := VisitRetention{VisitID: "v1", RecordUntil: day(2029, 11, 25), Version: 1}
	invoiced := kept
	invoiced.InvoiceUntil, invoiced.Invoices = day(2032, 12, 31), 1
	record := Disposition{ClassPatientRecords, true, retention.BasisVeterinaryRecords, day(2029, 11, 25), 1}
	invoice := Disposition{ClassInvoices, true, retention.BasisBookkeeping, day(2032, 12, 31), 1}
	e := &Erasure{CountsHeld: true, Visits: []VisitRetention{kept}, Requests: []ErasureRequest{{RequestID: "r", Result: ErasureResult{
		Dispositions: []Disposition{record, {Class: ClassCommunications, Count: 3}}, OwnerNamedUntil: day(2029, 11, 25)}}}}
	res := ErasureResult{Dispositions: []Disposition{record, invoice, {Class: ClassCommunications, Count: 2}},
		OwnerNamedUntil: day(2032, 12, 31), IdentityCodeNeededUntil: day(2032, 12, 31)}
	if !e.Replanned([]VisitRetention{invoiced}, res, today, true) {
		t.Fatal("an invoice added did not change the answer")
	}
	want := res
	want.Dispositions = []Disposition{record, invoice, {Class: ClassCommunications, Count: 3}}
	if got := e.Requests[0].Result; !reflect.DeepEqual(got, want) {
		t.Errorf("answers %+v, want %+v", got, want)
	}
}

// TestReplannedCountsWhatIsKept: a plan keeping the same parts as long but more of them
// (a second invoice added) counts what is kept anew, and what was erased of the
// visits as the plan counts it (its entries keep the counts fixed when planned), but on
// a record stored before its entries kept them once the erasure has written to a visit,
// which keeps them as answered; the communications erased stay as answered.
func TestReplannedCountsWhatIsKept(t *testing.T) {
	today := day(2026, 11, 25)
	invoices := func(n int) Disposition {
		return Disposition{Class: ClassInvoices, Kept: true, Basis: "basis.bookkeeping", KeptUntil: day(2032, 12, 31), Count: n}
	}
	medicine := Disposition{Class: ClassMedicineRecords, Count: 1}
	communications := Disposition{Class: ClassCommunications, Count: 3}
	for _, tc := range []struct {
		name         string
		storedBefore bool
		wrote        bool
		want         []Disposition
	}{
		{"entries with their counts", false, true, []Disposition{invoices(2), communications}},
		{"stored before, a visit written to", true, true, []Disposition{medicine, invoices(2), communications}},
		{"stored before, nothing written to", true, false, []Disposition{invoices(2), communications}},
	} {
		r := VisitRetention{VisitID: "v1", RecordUntil: day(2029, 11, 25), InvoiceUntil: day(2032, 12, 31), Version: 1}
		e := &Erasure{CountsHeld: !tc.storedBefore, Visits: []VisitRetention{r}, Requests: []ErasureRequest{{RequestID: "r", Result: ErasureResult{
			Dispositions: []Disposition{medicine, invoices(1), communications}, IdentityCodeNeededUntil: day(2032, 12, 31)}}}}
		r.Version = 2
		if !e.Replanned([]VisitRetention{r}, ErasureResult{Dispositions: []Disposition{invoices(2)}, IdentityCodeNeededUntil: day(2032, 12, 31)}, today, tc.wrote) {
			t.Fatalf("%s: a second invoice kept did not change the answer", tc.name)
		}
		if got := e.Requests[0].Result.Dispositions; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: answers %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestOldRecordRetryCountsMedicationsOnce: a record stored before its plan's entries
// kept their counts, answered (before medications kept with the clinical record were
// answered kept) with the 2020 medication erased, stopped once it had marked both
// visits; its retry plans again and keeps the erased counts as answered. The
// medication, kept with the 2024 clinical record, is answered kept, not also erased; a
// deleted visit's medication stays erased, and an answer that already counts the
// medication kept (a second retry) is kept as it is.
func TestOldRecordRetryCountsMedicationsOnce(t *testing.T) {
	loc := helsinki(t)
	today := day(2026, 11, 25)
	meds := []Medication{{Product: "Metacam"}}
	until := day(2027, 5, 20)
	recordsKept := Disposition{ClassPatientRecords, true, retention.BasisVeterinaryRecords, until, 2}
	medicationKept := Disposition{ClassMedicineRecords, true, retention.BasisVeterinaryRecords, until, 1}
	for _, tc := range []struct {
		name     string
		deleted  bool
		answered []Disposition
		want     []Disposition
	}{
		{name: "answered erased",
			answered: []Disposition{recordsKept, {Class: ClassMedicineRecords, Count: 1}},
			want:     []Disposition{recordsKept, medicationKept}},
		{name: "answered erased, with a deleted visit's", deleted: true,
			answered: []Disposition{recordsKept, {Class: ClassPatientRecords, Count: 1}, {Class: ClassMedicineRecords, Count: 2}},
			want:     []Disposition{recordsKept, {Class: ClassPatientRecords, Count: 1}, medicationKept, {Class: ClassMedicineRecords, Count: 1}}},
		{name: "answered kept",
			answered: []Disposition{recordsKept, medicationKept},
			want:     []Disposition{recordsKept, medicationKept}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held := []VisitRetention{{VisitID: "v1", RecordUntil: until, Version: 1}, {VisitID: "v2", RecordUntil: until, Version: 1}}
			if tc.deleted {
				held = append(held, VisitRetention{VisitID: "v0", Version: 1})
			}
			e := &Erasure{Visits: held, Requests: []ErasureRequest{{RequestID: "r", Result: ErasureResult{Dispositions: tc.answered, OwnerNamedUntil: until}}}}
			visits := []*Visit{
				{ID: "v1", StartTime: noon(2020, 9, 2), Medications: meds, Version: 2, Restricted: true, Restriction: VisitRetention{VisitID: "v1", RecordUntil: until}},
				{ID: "v2", StartTime: noon(2024, 5, 20), Version: 2, Restricted: true, Restriction: VisitRetention{VisitID: "v2", RecordUntil: until}},
			}
			touched := e.Touched(visits, nil, today)
			res, plan := PlanErasure(retention.DefaultPolicy(), []PatientHistory{{Visits: visits}}, 0, today, loc, touched...)
			e.Replanned(plan, res, today, len(touched) > 0)
			if got := e.Requests[0].Result.Dispositions; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("the retry answers %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestTouched: the visits of a plan the erasure wrote to are those it deleted (keeping
// nothing, no longer read, and not stored under another owner now: Removed names the
// ones to look up) and those read restricted; PlanErasure holds the deleted ones
// and counts what they held erased, and counts erased what a restricted one held when
// first planned and no longer keeps.
func TestTouched(t *testing.T) {
	loc := helsinki(t)
	today := day(2026, 11, 25)
	e := &Erasure{Visits: []VisitRetention{
		{VisitID: "deleted", Version: 1, Medications: true, Invoices: 2},
		{VisitID: "read", Version: 1},
		{VisitID: "kept, not read", Version: 1, RecordUntil: day(2029, 6, 1)},
		{VisitID: "past its day", Version: 1, RecordUntil: day(2026, 11, 24), Invoices: 1},
		{VisitID: "reduced", Version: 2, InvoiceUntil: day(2027, 12, 31), Medications: true, Invoices: 1},
		{VisitID: "moved to another owner", Version: 1},
	}}
	reduced := &Visit{ID: "reduced", Version: 2, Restricted: true, StartTime: noon(2021, 6, 1), Invoices: []Invoice{{Number: "1", State: InvoicePaid}}}
	read := []*Visit{{ID: "read", Version: 1}, reduced}
	if got, want := e.Removed(read, today), []string{"deleted", "past its day", "moved to another owner"}; !reflect.DeepEqual(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	touched := e.Touched(read, map[string]bool{"moved to another owner": true}, today)
	var ids []string
	for _, r := range touched {
		ids = append(ids, r.VisitID)
	}
	if want := []string{"deleted", "past its day", "reduced"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("touched %v, want %v", ids, want)
	}
	res, plan := PlanErasure(retention.DefaultPolicy(), []PatientHistory{{Visits: []*Visit{reduced}}}, 0, today, loc, touched...)
	want := []Disposition{
		{Class: ClassPatientRecords, Count: 3},
		{Class: ClassMedicineRecords, Count: 2},
		{ClassInvoices, true, retention.BasisBookkeeping, day(2027, 12, 31), 1},
		{Class: ClassInvoices, Count: 3},
	}
	wantPlan := []VisitRetention{touched[0], touched[1], touched[2]}
	if !reflect.DeepEqual(res.Dispositions, want) || !reflect.DeepEqual(plan, wantPlan) {
		t.Errorf("planned again: %+v, plan %+v; want %+v and %+v", res.Dispositions, plan, want, wantPlan)
	}
}

// TestPlanErasureCountsARestrictedVisit: a plan made again from a visit read restricted
// (by the earlier entry: the restriction it stores) counts a part the earlier plan did
// not keep as the earlier entry recorded it (a reduction removed it, or is yet to),
// unless it recorded none (an invoice billing added before the mark, by _id alone,
// restricted the visit as amended), and a part it kept as the visit holds it now (a
// correction before the mark may have changed it).
func TestPlanErasureCountsARestrictedVisit(t *testing.T) {
	loc := helsinki(t)
	today := day(2026, 11, 25)
	recordKept := Disposition{ClassPatientRecords, true, retention.BasisVeterinaryRecords, day(2029, 10, 25), 1}
	lastMonth := noon(2026, 10, 25)
	for _, tc := range []struct {
		name    string
		earlier VisitRetention
		visit   Visit
		want    []Disposition
	}{
		{"invoices kept: as held now",
			VisitRetention{RecordUntil: day(2029, 10, 25), InvoiceUntil: day(2032, 12, 31), Invoices: 2},
			Visit{StartTime: lastMonth, Invoices: []Invoice{{Number: "1", State: InvoiceOpen}}},
			[]Disposition{recordKept, {ClassInvoices, true, retention.BasisBookkeeping, day(2032, 12, 31), 1}}},
		{"invoices not kept: as recorded",
			VisitRetention{RecordUntil: day(2029, 10, 25), Invoices: 2},
			Visit{StartTime: lastMonth},
			[]Disposition{recordKept, {Class: ClassInvoices, Count: 2}}},
		{"invoices not kept, not removed yet: counted once",
			VisitRetention{Invoices: 1},
			Visit{StartTime: noon(2019, 6, 1), Invoices: []Invoice{{Number: "1", State: InvoicePaid}}},
			[]Disposition{{Class: ClassPatientRecords, Count: 1}, {Class: ClassInvoices, Count: 1}}},
		{"invoices not kept, none when planned: as held now",
			VisitRetention{RecordUntil: day(2029, 10, 25)},
			Visit{StartTime: noon(2019, 6, 1), Invoices: []Invoice{{Number: "1", State: InvoicePaid}}},
			[]Disposition{{Class: ClassPatientRecords, Count: 1}, {Class: ClassInvoices, Count: 1}}},
		{"medicines kept with the record: as held now",
			VisitRetention{RecordUntil: day(2029, 10, 25), MedicineUntil: day(2031, 10, 25), Medications: true},
			Visit{StartTime: lastMonth},
			[]Disposition{recordKept}},
		{"medicines not kept: as recorded",
			VisitRetention{InvoiceUntil: day(2027, 12, 31), Medications: true, Invoices: 1},
			Visit{StartTime: noon(2021, 6, 1), Invoices: []Invoice{{Number: "1", State: InvoicePaid}}},
			[]Disposition{{Class: ClassPatientRecords, Count: 1}, {Class: ClassMedicineRecords, Count: 1}, {ClassInvoices, true, retention.BasisBookkeeping, day(2027, 12, 31), 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			earlier, v := tc.earlier, tc.visit
			earlier.VisitID, earlier.Version = "v1", 2
			v.ID, v.Version, v.Restricted = "v1", 2, true
			v.Restriction = VisitRetention{VisitID: "v1", RecordUntil: earlier.RecordUntil, MedicineUntil: earlier.MedicineUntil, InvoiceUntil: earlier.InvoiceUntil}
			res, _ := PlanErasure(retention.DefaultPolicy(), []PatientHistory{{Visits: []*Visit{&v}}}, 0, today, loc, earlier)
			if !reflect.DeepEqual(res.Dispositions, tc.want) {
				t.Errorf("planned again: %+v, want %+v", res.Dispositions, tc.want)
			}
		})
	}
}

// TestPlanErasureKeepsNoPartARestrictionDropped: a visit read restricted is planned
// without the clinical record its restriction no longer keeps, though the animal came
// in since (a new owner's visit, or its owner's while the erasure applies): a reduction
// removed it, and nothing brings it back. Planned again after the erasure reduced it,
// or planned by a later request, it is counted erased, and the visit is held only for
// what it still holds. A part the restriction keeps is lengthened by the later entry,
// and the invoices are planned as the visit holds them (billing's, added before the
// mark, stands).
func TestPlanErasureKeepsNoPartARestrictionDropped(t *testing.T) {
	loc := helsinki(t)
	today := day(2026, 11, 25)
	paid := []Invoice{{Number: "1", State: InvoicePaid}}
	invoiceKept := Disposition{ClassInvoices, true, retention.BasisBookkeeping, day(2027, 12, 31), 1}
	reduced := VisitRetention{InvoiceUntil: day(2027, 12, 31), Medications: true, Invoices: 1}
	for _, tc := range []struct {
		name        string
		restriction VisitRetention
		earlier     []VisitRetention
		visit       Visit
		want        []Disposition
		until       retention.Date
	}{
		{name: "record removed, planned again by the erasure that reduced it",
			restriction: reduced, earlier: []VisitRetention{reduced},
			visit: Visit{StartTime: noon(2021, 5, 1), Invoices: paid},
			want:  []Disposition{{Class: ClassPatientRecords, Count: 1}, {Class: ClassMedicineRecords, Count: 1}, invoiceKept},
			until: day(2027, 12, 31)},
		{name: "record removed, planned by a later request",
			restriction: reduced,
			visit:       Visit{StartTime: noon(2021, 5, 1), Invoices: paid},
			want:        []Disposition{{Class: ClassPatientRecords, Count: 1}, invoiceKept},
			until:       day(2027, 12, 31)},
		{name: "record kept, lengthened by the later entry",
			restriction: VisitRetention{RecordUntil: day(2027, 6, 1)},
			visit:       Visit{StartTime: noon(2024, 6, 1)},
			want:        []Disposition{{ClassPatientRecords, true, retention.BasisVeterinaryRecords, day(2029, 11, 25), 1}},
			until:       day(2029, 11, 25)},
		{name: "invoices not kept by the mark, added by billing before it",
			restriction: VisitRetention{RecordUntil: day(2029, 10, 25)},
			visit:       Visit{StartTime: noon(2026, 10, 25), Invoices: paid},
			want: []Disposition{
				{ClassPatientRecords, true, retention.BasisVeterinaryRecords, day(2029, 11, 25), 1},
				{ClassInvoices, true, retention.BasisBookkeeping, day(2032, 12, 31), 1},
			},
			until: day(2032, 12, 31)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.visit
			v.ID, v.Version, v.Restricted, v.Restriction = "v1", 2, true, tc.restriction
			v.Restriction.VisitID = "v1"
			for i := range tc.earlier {
				tc.earlier[i].VisitID, tc.earlier[i].Version = "v1", 2
			}
			animal := PatientHistory{LastEntry: noon(2026, 11, 25), Visits: []*Visit{&v}}
			res, _ := PlanErasure(retention.DefaultPolicy(), []PatientHistory{animal}, 0, today, loc, tc.earlier...)
			if !reflect.DeepEqual(res.Dispositions, tc.want) || res.OwnerNamedUntil != tc.until {
				t.Errorf("planned: %+v until %s, want %+v until %s", res.Dispositions, res.OwnerNamedUntil, tc.want, tc.until)
			}
		})
	}
}

// TestPlannableOnceAnswered: until a request is answered a plan may hold every visit
// read; after, only those the record holds, whatever was written since.
func TestPlannableOnceAnswered(t *testing.T) {
	read := []*Visit{{ID: "v1", Version: 2}, {ID: "v2", Version: 1}}
	for _, tc := range []struct {
		name     string
		answered int
		want     []string
	}{
		{"none answered", 0, []string{"v1", "v2"}},
		{"one answered", 1, []string{"v1"}},
	} {
		e := &Erasure{Answered: tc.answered, Visits: []VisitRetention{{VisitID: "v1", Version: 2}, {VisitID: "v0", Version: 1}}}
		var got []string
		for _, v := range e.Plannable(read) {
			got = append(got, v.ID)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: plannable %v, want %v", tc.name, got, tc.want)
		}
	}
	if len(read) != 2 || read[1].ID != "v2" {
		t.Errorf("Plannable changed the visits read: %+v", read)
	}
}

// TestDecidedLeavesAClosingRecordClosing: a new request leaves the record closing once
// an earlier one stored it closing, answered or not (that one may be reducing its
// visits), and once a request was answered; only a record never closing is decided
// open, its passes planning what comes in.
func TestDecidedLeavesAClosingRecordClosing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		closing  bool
		answered int
		want     bool
	}{
		{"never closing", false, 0, false},
		{"closing, none answered", true, 0, true},
		{"one answered", true, 1, true},
	} {
		e := &Erasure{Closing: tc.closing, Applied: tc.answered > 0, Answered: tc.answered,
			Requests: make([]ErasureRequest, tc.answered), Visits: []VisitRetention{{VisitID: "v1", Version: 2}}}
		e.Decided(ErasureRequest{RequestID: "r"}, []VisitRetention{{VisitID: "v1", Version: 2}}, false)
		if e.Closing != tc.want || e.Applied {
			t.Errorf("%s: closing %v applied %v, want closing %v and not applied", tc.name, e.Closing, e.Applied, tc.want)
		}
	}
}

// TestNextDue: the sweep is next due at the earliest of a held visit's next removal,
// the request digests' horizon and the check for visits the erasure missed.
func TestNextDue(t *testing.T) {
	held := []VisitRetention{{VisitID: "v1", RecordUntil: day(2029, 11, 25), InvoiceUntil: day(2032, 12, 31)}}
	for _, tc := range []struct {
		name string
		e    Erasure
		want retention.Date
	}{
		{"nothing held", Erasure{}, retention.Date{}},
		{"a visit", Erasure{Visits: held}, day(2029, 11, 25)},
		{"digests first", Erasure{Visits: held, DigestsUntil: day(2026, 12, 2)}, day(2026, 12, 2)},
		{"the missed check alone", Erasure{MissedCheckAfter: day(2026, 11, 26)}, day(2026, 11, 26)},
		{"the missed check first", Erasure{Visits: held, DigestsUntil: day(2026, 12, 2), MissedCheckAfter: day(2026, 11, 26)}, day(2026, 11, 26)},
	} {
		if got := tc.e.NextDue(); got != tc.want {
			t.Errorf("%s: next due %v, want %v", tc.name, got, tc.want)
		}
	}
}
