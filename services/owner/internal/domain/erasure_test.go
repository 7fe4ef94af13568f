package domain

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/changereason"
)

// jobOne, jobTwo and jobThree are erasure requests' ids, UUIDs as the disclosure
// service's erasure job makes them (EraseOwnerData refuses any other).
const (
	jobOne   = "0199a0b0-0000-7000-8000-000000000001"
	jobTwo   = "0199a0b0-0000-7000-8000-000000000002"
	jobThree = "0199a0b0-0000-7000-8000-000000000003"
)

func TestParseKeptUntil(t *testing.T) {
	const today = "2026-11-25"
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"  ", "", true},
		{"2029-11-25", "2029-11-25", true},
		{" 2029-11-25 ", "2029-11-25", true},
		{"2020-01-01", "2020-01-01", true}, // past: valid, keeps nothing
		{"2028-02-29", "2028-02-29", true},
		{"2076-11-25", "2076-11-25", true},
		{"2076-11-26", "", false}, // more than fifty years ahead
		{"2027-02-29", "", false},
		{"2029-13-01", "", false},
		{"2029-1-5", "", false},
		{"25.11.2029", "", false},
		{"2029-11-25T00:00:00Z", "", false},
		{"+2029-11-25", "", false},
	}
	for _, tt := range tests {
		got, err := ParseKeptUntil(tt.in, today)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseKeptUntil(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseKeptUntil(f *testing.F) {
	for _, s := range []string{"", "2029-11-25", "2028-02-29", "0000-00-00", "9999-12-31", "2029-11-25\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseKeptUntil(s, "2026-11-25")
		if err != nil {
			return
		}
		if got == "" {
			return
		}
		// Whatever it accepts is a real day in normal form, so that days compare as
		// strings.
		d, perr := time.Parse(time.DateOnly, got)
		if perr != nil || d.Format(time.DateOnly) != got || len(got) != len("2006-01-02") {
			t.Fatalf("accepted %q as %q, not a day in normal form", s, got)
		}
	})
}

func TestToday(t *testing.T) {
	loc, err := time.LoadLocation(ClinicZone)
	if err != nil {
		t.Fatal(err)
	}
	// 22:30 UTC on 31 December is already New Year's Day in Helsinki.
	if got := Today(time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC), loc); got != "2027-01-01" {
		t.Errorf("Today = %s, want the Helsinki day 2027-01-01", got)
	}
}

func TestPlanErasure(t *testing.T) {
	const today = "2026-11-25"
	full := func() *Owner {
		return &Owner{
			GivenNames: "Aino", FamilyName: "Äijälä", Phone: "+358401234567", Email: "a@example.fi",
			Language: LanguageFinnish, IdentityCodeMasked: "******-***T",
		}
	}
	tests := []struct {
		name     string
		owner    func() *Owner
		patients int
		req      ErasureRequest
		want     []Disposition
		fields   []string
		check    func(t *testing.T, p ErasurePlan)
	}{
		{
			name: "first erasure, nothing kept", owner: full, patients: 2, req: ErasureRequest{ID: jobOne},
			want: []Disposition{
				{Class: ClassContactDetails, Count: 1}, {Class: ClassOwnerNameAddress, Count: 1},
				{Class: ClassPatients, Count: 2}, {Class: ClassIdentityCode, Count: 1},
			},
			fields: []string{"restricted", "erased", "phone", "email", "preferred_language", "given_names", "family_name", "address", "identity_code"},
			check: func(t *testing.T, p ErasurePlan) {
				if !p.Restrict || !p.ClearContact || !p.AnonymiseNames || !p.AnonymisePatients || p.RestrictPatients || !p.DropIdentity || p.NextDue() != "" {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{
			name: "kept until days ahead", owner: full, patients: 1,
			req: ErasureRequest{ID: jobOne, NameKeptUntil: "2029-11-25", IdentityKeptUntil: "2027-12-31"},
			want: []Disposition{
				{Class: ClassContactDetails, Count: 1},
				{Class: ClassOwnerNameAddress, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2029-11-25", Count: 1},
				{Class: ClassPatients, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2029-11-25", Count: 1},
				{Class: ClassIdentityCode, Kept: true, Basis: BasisUnpaidInvoice, KeptUntil: "2027-12-31", Count: 1},
			},
			fields: []string{"restricted", "erased", "phone", "email", "preferred_language"},
			check: func(t *testing.T, p ErasurePlan) {
				if p.AnonymiseNames || !p.RestrictPatients || p.DropIdentity || p.NextDue() != "2027-12-31" {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{
			name: "already restricted, no identity code, no patients", patients: 0, req: ErasureRequest{ID: jobOne},
			owner: func() *Owner {
				o := full()
				o.Restricted, o.IdentityCodeMasked = true, ""
				return o
			},
			want:   []Disposition{{Class: ClassContactDetails, Count: 1}, {Class: ClassOwnerNameAddress, Count: 1}},
			fields: []string{"erased", "phone", "email", "preferred_language", "given_names", "family_name", "address"},
		},
		{
			name: "erased before, everything gone: nothing left", patients: 0, req: ErasureRequest{ID: "j2"},
			owner: func() *Owner {
				return &Owner{Restricted: true, Erased: true, Anonymised: true}
			},
		},
		{
			name: "erased before with names kept; the new answer shortens the day", patients: 1,
			req: ErasureRequest{ID: "j2", NameKeptUntil: "2027-01-01"},
			owner: func() *Owner {
				return &Owner{FamilyName: "Äijälä", Restricted: true, Erased: true, NameKeptUntil: "2029-11-25"}
			},
			want: []Disposition{
				{Class: ClassOwnerNameAddress, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2027-01-01", Count: 1},
				{Class: ClassPatients, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2027-01-01", Count: 1},
			},
			check: func(t *testing.T, p ErasurePlan) {
				if p.Changes() || p.NextDue() != "2027-01-01" {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{
			name: "erased before, names extended since; the new answer is earlier than the extension", patients: 1,
			req: ErasureRequest{ID: "j2", NameKeptUntil: "2027-05-20"},
			owner: func() *Owner {
				return &Owner{FamilyName: "Äijälä", Restricted: true, Erased: true, NameKeptUntil: "2030-01-10", NameExtendedUntil: "2030-01-10"}
			},
			want: []Disposition{
				{Class: ClassOwnerNameAddress, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2030-01-10", Count: 1},
				{Class: ClassPatients, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2030-01-10", Count: 1},
			},
			check: func(t *testing.T, p ErasurePlan) {
				if p.AnonymiseNames || p.NextDue() != "2030-01-10" {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{
			name: "erased before, names extended since; the new answer keeps none", patients: 0,
			req: ErasureRequest{ID: "j2"},
			owner: func() *Owner {
				return &Owner{FamilyName: "Äijälä", Restricted: true, Erased: true, NameKeptUntil: "2030-01-10", NameExtendedUntil: "2030-01-10"}
			},
			want: []Disposition{{Class: ClassOwnerNameAddress, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2030-01-10", Count: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PlanErasure(tt.owner(), tt.patients, tt.req, today)
			if !slices.Equal(p.Dispositions, tt.want) {
				t.Errorf("dispositions = %+v, want %+v", p.Dispositions, tt.want)
			}
			if !slices.Equal(p.Fields, tt.fields) {
				t.Errorf("fields = %v, want %v", p.Fields, tt.fields)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestPlanSweep(t *testing.T) {
	kept := func() *Owner {
		return &Owner{
			FamilyName: "Äijälä", Restricted: true, Erased: true, IdentityCodeMasked: "******-***T",
			NameKeptUntil: "2029-11-25", IdentityKeptUntil: "2027-12-31",
		}
	}
	tests := []struct {
		name   string
		owner  func() *Owner
		today  string
		want   []Disposition
		next   string
		fields []string
	}{
		{name: "nothing due", owner: kept, today: "2027-12-31", next: "2027-12-31"},
		{
			name: "identity code due", owner: kept, today: "2028-01-01", next: "2029-11-25",
			want: []Disposition{{Class: ClassIdentityCode, Count: 1}}, fields: []string{"identity_code"},
		},
		{
			name: "both due", owner: kept, today: "2030-01-01",
			want: []Disposition{
				{Class: ClassOwnerNameAddress, Count: 1}, {Class: ClassPatients, Count: 2}, {Class: ClassIdentityCode, Count: 1},
			},
			fields: []string{"given_names", "family_name", "address", "identity_code"},
		},
		{
			name: "an owner never erased is left alone", today: "2030-01-01", next: "",
			owner: func() *Owner { return &Owner{FamilyName: "Äijälä", NameKeptUntil: "2029-11-25"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.owner()
			p := PlanSweep(o, 2, tt.today)
			if !slices.Equal(p.Dispositions, tt.want) || !slices.Equal(p.Fields, tt.fields) {
				t.Errorf("sweep = %+v / %v, want %+v / %v", p.Dispositions, p.Fields, tt.want, tt.fields)
			}
			if o.Erased && p.NextDue() != tt.next {
				t.Errorf("next due %q, want %q", p.NextDue(), tt.next)
			}
		})
	}
}

func TestPlanLatePatients(t *testing.T) {
	patients := []*Patient{
		{ID: "active"}, {ID: "restricted", Erased: true}, {ID: "anonymised", Erased: true, Anonymised: true},
	}
	tests := []struct {
		name      string
		owner     Owner
		count     int
		anonymise bool
		restrict  bool
		// removed is what the plan answers it removed (the anonymised patients).
		removed []Disposition
	}{
		{name: "owner not erased", owner: Owner{Restricted: true}},
		{
			name: "names kept: the active patient is restricted", count: 1, restrict: true,
			owner: Owner{Restricted: true, Erased: true, NameKeptUntil: "2029-11-25", IdentityKeptUntil: "2027-12-31"},
		},
		{
			name: "names gone: the active and the restricted patient are anonymised", count: 2, anonymise: true,
			removed: []Disposition{{Class: ClassPatients, Count: 2}},
			owner:   Owner{Restricted: true, Erased: true, Anonymised: true, IdentityKeptUntil: "2027-12-31"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PlanLatePatients(&tt.owner, patients)
			if p.Patients != tt.count || p.AnonymisePatients != tt.anonymise || p.RestrictPatients != tt.restrict {
				t.Errorf("plan = %d patients, anonymise %t, restrict %t; want %d, %t, %t",
					p.Patients, p.AnonymisePatients, p.RestrictPatients, tt.count, tt.anonymise, tt.restrict)
			}
			if !slices.Equal(p.Dispositions, tt.removed) {
				t.Errorf("plan answers %+v, want %+v", p.Dispositions, tt.removed)
			}
			// The owner's data and its sweep's schedule stay as the erasure left them.
			if p.Changes() || p.NextDue() != (&ErasurePlan{KeepNamesUntil: tt.owner.NameKeptUntil, KeepIdentityUntil: tt.owner.IdentityKeptUntil}).NextDue() {
				t.Errorf("plan changes the owner (%v) or its schedule (%q)", p.Fields, p.NextDue())
			}
		})
	}
	if p := PlanLatePatients(&Owner{Erased: true, NameKeptUntil: "2029-11-25"}, patients[1:]); p.Patients != 0 || p.RestrictPatients {
		t.Errorf("nothing late: plan = %+v", p)
	}
}

// TestPlanExtension: a later day moves the names' day and the schedule and removes
// nothing; an equal or earlier day changes no data; either is stored as the day told
// when later than the one told before; an owner whose names no erasure keeps cannot
// have them kept longer.
func TestPlanExtension(t *testing.T) {
	kept := Owner{FamilyName: "Äijälä", Erased: true, Restricted: true, NameKeptUntil: "2027-05-20", IdentityKeptUntil: "2027-12-31"}
	tests := []struct {
		name   string
		owner  func() Owner
		until  string
		err    error
		keep   string
		fields []string
		next   string
		extend string // the day stored as told
	}{
		{name: "a later day", owner: func() Owner { return kept }, until: "2030-01-10", keep: "2030-01-10", fields: []string{"name_kept_until"}, next: "2027-12-31", extend: "2030-01-10"},
		{name: "a later day, the identity code gone", owner: func() Owner { o := kept; o.IdentityKeptUntil = ""; return o }, until: "2030-01-10", keep: "2030-01-10", fields: []string{"name_kept_until"}, next: "2030-01-10", extend: "2030-01-10"},
		{name: "the same day", owner: func() Owner { return kept }, until: "2027-05-20", keep: "2027-05-20", next: "2027-05-20", extend: "2027-05-20"},
		{name: "an earlier day", owner: func() Owner { return kept }, until: "2027-01-01", keep: "2027-05-20", next: "2027-05-20", extend: "2027-01-01"},
		{name: "an earlier day than a later request kept, later than told", owner: func() Owner { o := kept; o.NameKeptUntil, o.NameExtendedUntil = "2031-01-01", "2028-01-01"; return o },
			until: "2030-01-10", keep: "2031-01-01", next: "2027-12-31", extend: "2030-01-10"},
		{name: "the day told resent", owner: func() Owner { o := kept; o.NameKeptUntil, o.NameExtendedUntil = "2030-01-10", "2030-01-10"; return o },
			until: "2030-01-10", keep: "2030-01-10", next: "2027-12-31"},
		{name: "an earlier day than told", owner: func() Owner { o := kept; o.NameKeptUntil, o.NameExtendedUntil = "2030-01-10", "2030-01-10"; return o },
			until: "2029-01-01", keep: "2030-01-10", next: "2027-12-31"},
		{name: "names anonymised", owner: func() Owner { o := kept; o.Anonymised, o.NameKeptUntil = true, ""; return o }, until: "2030-01-10", err: ErrNamesNotKept},
		{name: "erased keeping no names", owner: func() Owner { o := kept; o.NameKeptUntil = ""; return o }, until: "2030-01-10", err: ErrNamesNotKept},
		{name: "not erased", owner: func() Owner { return Owner{FamilyName: "Laine"} }, until: "2030-01-10", err: ErrOwnerNotErased},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.owner()
			p, err := PlanExtension(&o, tt.until)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if p.AnonymiseNames || p.DropIdentity || p.AnonymisePatients || p.Restrict || len(p.Dispositions) > 0 {
				t.Errorf("the extension removes something: %+v", p)
			}
			if p.KeepNamesUntil != tt.keep || !slices.Equal(p.Fields, tt.fields) || p.NextDue() != tt.next {
				t.Errorf("plan keeps names to %q, fields %v, next due %q; want %q, %v, %q", p.KeepNamesUntil, p.Fields, p.NextDue(), tt.keep, tt.fields, tt.next)
			}
			if p.ExtendNamesUntil != tt.extend {
				t.Errorf("plan stores the day told as %q, want %q", p.ExtendNamesUntil, tt.extend)
			}
		})
	}
}

func TestScrubbedReason(t *testing.T) {
	ids := []string{jobOne, jobTwo}
	tests := []struct {
		name, reason, want string
	}{
		{"staff free text", "Aino Mäkinen called, new number 040 765 4321", changereason.Erased},
		{"the erasure's own entry", changereason.Erasure(jobOne), changereason.Erasure(jobOne)},
		{"an earlier request's entry", changereason.Erasure(jobTwo), changereason.Erasure(jobTwo)},
		{"the sweep's entry", changereason.RetentionEnded, changereason.RetentionEnded},
		{"a retention extension", changereason.RetentionExtended, changereason.RetentionExtended},
		{"a registration", changereason.Registered, changereason.Registered},
		{"a transfer taken back", changereason.Untransfer, changereason.Untransfer},
		{"a late patient covered", changereason.LateErasure, changereason.LateErasure},
		{"already scrubbed", changereason.Erased, changereason.Erased},
		{"a request not on record", changereason.Erasure(jobThree), changereason.Erased},
		{"free text that begins like a request", changereason.Erasure(jobOne) + " from Aino Mäkinen", changereason.Erased},
		{"empty", "", changereason.Erased},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ScrubbedReason(tt.reason, ids); got != tt.want {
				t.Errorf("ScrubbedReason(%q) = %q, want %q", tt.reason, got, tt.want)
			}
		})
	}
}

func TestErasurePlanAppliedTo(t *testing.T) {
	owner := &Owner{Restricted: true, FamilyName: "Laine"}
	plan := PlanErasure(owner, 2, ErasureRequest{ID: jobOne, NameKeptUntil: "2029-11-25"}, "2026-11-25")
	names := Disposition{Class: ClassOwnerNameAddress, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2029-11-25", Count: 1}
	patients := func(n int) Disposition {
		return Disposition{Class: ClassPatients, Kept: true, Basis: BasisVeterinaryRecords, KeptUntil: "2029-11-25", Count: n}
	}
	tests := []struct {
		name     string
		plan     ErasurePlan
		patients int
		want     []Disposition
	}{
		{"as planned", plan, 2, []Disposition{names, patients(2)}},
		{"one gone before the erasure reached it", plan, 1, []Disposition{names, patients(1)}},
		{"all gone", plan, 0, []Disposition{names}},
		{"no patients planned", PlanErasure(owner, 0, ErasureRequest{ID: jobOne, NameKeptUntil: "2029-11-25"}, "2026-11-25"), 0, []Disposition{names}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.plan.AppliedTo(tt.patients); !slices.Equal(got, tt.want) {
				t.Errorf("AppliedTo(%d) = %+v, want %+v", tt.patients, got, tt.want)
			}
		})
	}
}
