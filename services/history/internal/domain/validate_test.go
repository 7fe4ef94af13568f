package domain

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func validVisit() Visit {
	return Visit{
		Clinic: ClinicSeinajoki, StartTime: now.Add(-time.Hour), Reason: " limping ",
		Anamnesis: "Lame on the left hind leg\nsince Monday.", Findings: "Swollen hock.",
		Staff:       []Staff{{Name: "Nurse Niina", Role: "nurse"}},
		Diagnoses:   []Diagnosis{{Text: "Sprain", Code: "VeNom:123"}},
		Procedures:  []Procedure{{Description: "X-ray"}},
		Medications: []Medication{{Product: "Metacam", Dose: "0.1 mg/kg", Route: RouteOral, Duration: "5 days"}},
		WeightGrams: 24_500, Invoices: []Invoice{{Number: "2026-118", State: InvoiceOpen}},
	}
}

func violated(errs apperr.ValidationError) []string {
	var out []string
	for _, v := range errs.Violations {
		out = append(out, v.Field)
	}
	return out
}

func TestNormalizeVisit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Visit)
		want   []string
	}{
		{"valid", func(*Visit) {}, nil},
		{"no clinic", func(v *Visit) { v.Clinic = "" }, []string{"visit.clinic"}},
		{"unknown clinic", func(v *Visit) { v.Clinic = "tampere" }, []string{"visit.clinic"}},
		{"future start", func(v *Visit) { v.StartTime = now.Add(time.Hour) }, []string{"visit.start_time"}},
		{"start within clock skew", func(v *Visit) { v.StartTime = now.Add(time.Minute) }, nil},
		{"ancient start", func(v *Visit) { v.StartTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"visit.start_time"}},
		{"no reason", func(v *Visit) { v.Reason = "  " }, []string{"visit.reason"}},
		{"reason with line break", func(v *Visit) { v.Reason = "a\nb" }, []string{"visit.reason"}},
		{"long findings", func(v *Visit) { v.Findings = strings.Repeat("x", maxNote+1) }, []string{"visit.findings"}},
		{"findings with NUL", func(v *Visit) { v.Findings = "a\x00" }, []string{"visit.findings"}},
		{"diagnosis without text", func(v *Visit) { v.Diagnoses[0].Text = "" }, []string{"visit.diagnoses[0].text"}},
		{"bad code", func(v *Visit) { v.Diagnoses[0].Code = "a b" }, []string{"visit.diagnoses[0].code"}},
		{"identity code as diagnosis code", func(v *Visit) { v.Diagnoses[0].Code = "131052-308T" }, []string{"visit.diagnoses[0].code"}},
		{"identity code as procedure code", func(v *Visit) { v.Procedures[0].Code = "010190y123m" }, []string{"visit.procedures[0].code"}},
		{"identity code as invoice number", func(v *Visit) { v.Invoices[0].Number = "131052-308T" }, []string{"visit.invoices[0].number"}},
		{"code-like terminology codes", func(v *Visit) { v.Diagnoses[0].Code, v.Procedures[0].Code = "M25.57", "131052-308U" }, nil},
		{"all-digit code shape as codes", func(v *Visit) { v.Diagnoses[0].Code, v.Procedures[0].Code = "010124-0730", "A:010124-0730" }, nil},
		{"identity code with a century letter as procedure code", func(v *Visit) { v.Procedures[0].Code = "010124A0730" }, []string{"visit.procedures[0].code"}},
		{"invoice number dated and numbered like a code", func(v *Visit) { v.Invoices[0].Number = "010124-0730" }, nil},
		{"identity code after a slash in an invoice number", func(v *Visit) { v.Invoices[0].Number = "2026/131052-308T" }, []string{"visit.invoices[0].number"}},
		{"procedure without description", func(v *Visit) { v.Procedures[0].Description = "" }, []string{"visit.procedures[0].description"}},
		{"medication without route", func(v *Visit) { v.Medications[0].Route = "" }, []string{"visit.medications[0].route"}},
		{"medication without product or dose", func(v *Visit) { v.Medications[0].Product, v.Medications[0].Dose = "", "" },
			[]string{"visit.medications[0].product", "visit.medications[0].dose"}},
		{"negative weight", func(v *Visit) { v.WeightGrams = -1 }, []string{"visit.weight_grams"}},
		{"elephant", func(v *Visit) { v.WeightGrams = maxWeightGrams + 1 }, []string{"visit.weight_grams"}},
		{"invoice without state", func(v *Visit) { v.Invoices[0].State = "" }, []string{"visit.invoices[0].state"}},
		{"invoice number with space", func(v *Visit) { v.Invoices[0].Number = "20 26" }, []string{"visit.invoices[0].number"}},
		{"invoice twice", func(v *Visit) { v.Invoices = append(v.Invoices, Invoice{Number: "2026-118", State: InvoicePaid}) },
			[]string{"visit.invoices[1].number"}},
		{"staff without name", func(v *Visit) { v.Staff[0].Name = "" }, []string{"visit.staff[0].name"}},
		{"too many staff", func(v *Visit) { v.Staff = make([]Staff, maxStaff+1) }, []string{"visit.staff"}},
		{"as many staff as a visit names", func(v *Visit) { v.Staff = staff(maxStaff) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := validVisit()
			tc.change(&v)
			var errs apperr.ValidationError
			NormalizeVisit(&v, "visit", now, &errs)
			got := violated(errs)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("violations %v lack %s", got, w)
				}
			}
			if len(tc.want) == 0 && len(got) > 0 {
				t.Errorf("unexpected violations %v", got)
			}
		})
	}
}

// staff returns n people named by others.
func staff(n int) []Staff {
	out := make([]Staff, n)
	for i := range out {
		out[i] = Staff{Name: "Student", Role: "student"}
	}
	return out
}

// TestNormalizeCorrection: a correction checks the fields it sets, and only those.
func TestNormalizeCorrection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Visit)
		paths  []string
		want   []string
	}{
		{"bad findings left as they are", func(v *Visit) { v.Findings = "a\x00" }, []string{"invoices"}, nil},
		{"bad findings set", func(v *Visit) { v.Findings = "a\x00" }, []string{"findings"}, []string{"visit.findings"}},
		{"staff of the whole visit", func(v *Visit) { v.Staff = staff(maxStaff) }, []string{"staff"}, nil},
		{"too many staff", func(v *Visit) { v.Staff = staff(maxStaff + 1) }, []string{"staff"}, []string{"visit.staff"}},
		{"too many staff left as they are", func(v *Visit) { v.Staff = staff(maxStaff + 1) }, []string{"reason"}, nil},
		{"in the visit's order", func(v *Visit) { v.Clinic, v.Reason, v.FollowUp, v.WeightGrams = "", "", "a\x00", -1 },
			[]string{"weight_grams", "follow_up", "reason", "clinic"},
			[]string{"visit.clinic", "visit.reason", "visit.follow_up", "visit.weight_grams"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := validVisit()
			tc.change(&v)
			var errs apperr.ValidationError
			NormalizeCorrection(&v, tc.paths, "visit", now, &errs)
			if got := violated(errs); !slices.Equal(got, tc.want) {
				t.Errorf("violations %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNormalizeVisitTrimsAndDefaults(t *testing.T) {
	v := validVisit()
	v.StartTime = time.Time{}
	var errs apperr.ValidationError
	NormalizeVisit(&v, "visit", now.Add(123*time.Microsecond), &errs)
	if errs.Err() != nil {
		t.Fatal(errs.Err())
	}
	if v.Reason != "limping" {
		t.Errorf("reason %q not trimmed", v.Reason)
	}
	if !v.StartTime.Equal(now) {
		t.Errorf("missing start time became %v, want now in milliseconds", v.StartTime)
	}
}

func TestNormalizeCommunication(t *testing.T) {
	valid := func() Communication {
		return Communication{Channel: ChannelPhone, Direction: DirectionInbound, Subject: "Vaccination", Summary: "Asked about\nboosters."}
	}
	for _, tc := range []struct {
		name   string
		change func(*Communication)
		want   []string
	}{
		{"valid", func(*Communication) {}, nil},
		{"no channel", func(c *Communication) { c.Channel = "" }, []string{"communication.channel"}},
		{"no direction", func(c *Communication) { c.Direction = "sideways" }, []string{"communication.direction"}},
		{"no subject", func(c *Communication) { c.Subject = "" }, []string{"communication.subject"}},
		{"future", func(c *Communication) { c.Time = now.Add(24 * time.Hour) }, []string{"communication.time"}},
		{"summary with escape", func(c *Communication) { c.Summary = "\x1b[31m" }, []string{"communication.summary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			var errs apperr.ValidationError
			NormalizeCommunication(&c, "communication", now, &errs)
			got := violated(errs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations %v, want %v", got, tc.want)
			}
		})
	}
}

func TestApplyKeepsUnnamedFields(t *testing.T) {
	v := validVisit()
	corrected := Visit{Findings: "Fracture.", Reason: "ignored"}
	next := Apply(v, &corrected, []string{"findings"})
	if next.Findings != "Fracture." || next.Reason != v.Reason {
		t.Errorf("apply: findings %q reason %q", next.Findings, next.Reason)
	}
	if only := Only(&next, []string{"findings"}); only.Reason != "" || only.Findings != "Fracture." {
		t.Errorf("only: %+v", only)
	}
	for _, f := range AmendableFields {
		if !IsAmendableField(f) {
			t.Errorf("%s not amendable", f)
		}
	}
	if IsAmendableField("owner_id") || IsAmendableField("version") {
		t.Error("output-only fields are amendable")
	}
}

func TestInvoiceRecordHidesClinicalText(t *testing.T) {
	v := validVisit()
	paid := Visit{Invoices: []Invoice{{Number: "2026-118", State: InvoicePaid}}}
	r := VisitRecord{Current: Apply(v, &paid, []string{"invoices"}), Original: v, Amendments: []Amendment{
		{Version: 2, Reason: "wrong leg", Fields: []string{"findings"}, Corrected: Visit{Findings: "Right hock."}},
		{Version: 3, Reason: "paid at the desk", Fields: []string{"invoices"}, Corrected: paid},
	}}
	got := InvoiceRecord(r)
	if got.Current.Findings != "" || got.Original.Reason != "" || got.Current.Diagnoses != nil {
		t.Errorf("clinical text in the invoice view: %+v", got.Current)
	}
	if len(got.Amendments) != 1 || got.Amendments[0].Version != 3 || got.Amendments[0].Reason != "" {
		t.Errorf("invoice amendments: %+v", got.Amendments)
	}
	if got.Current.Invoices[0].State != InvoicePaid || got.Original.Invoices[0].State != InvoiceOpen {
		t.Error("invoice states not kept")
	}
}

// TestCorrectedInvoicesRefuseIdentityCode: the invoices of a restricted visit are kept
// after the owner's erasure, so a payment's correction must not put a code in their
// numbers either.
func TestCorrectedInvoicesRefuseIdentityCode(t *testing.T) {
	for _, tc := range []struct {
		number string
		want   []string
	}{
		{"2026-118", nil},
		{"010124-0730", nil},
		{"131052-308T", []string{"visit.invoices[0].number"}},
		{"010124A0730", []string{"visit.invoices[0].number"}},
	} {
		v := Visit{Restricted: true, Invoices: []Invoice{{Number: tc.number, State: InvoicePaid}}}
		var errs apperr.ValidationError
		NormalizeCorrection(&v, []string{"invoices"}, "visit", now, &errs)
		if got := violated(errs); !slices.Equal(got, tc.want) {
			t.Errorf("invoice number %q: violations %v, want %v", tc.number, got, tc.want)
		}
		// Not the advice for dates and times, which an invoice number is not.
		if len(errs.Violations) > 0 && errs.Violations[0].Description != apperr.IdentityCodeInNumberViolation {
			t.Errorf("invoice number %q: violation %q", tc.number, errs.Violations[0].Description)
		}
	}
}

// TestCheckRoomForRecorder: a new visit's named staff leave room for the recording
// caller, who is added to them.
func TestCheckRoomForRecorder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		staff int
		want  []string
	}{
		{"no place for the recording caller", maxStaff, []string{"visit.staff"}},
		{"staff and the recording caller", maxStaff - 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := validVisit()
			v.Staff = staff(tc.staff)
			var errs apperr.ValidationError
			CheckRoomForRecorder(&v, "visit", &errs)
			if got := violated(errs); !slices.Equal(got, tc.want) {
				t.Errorf("violations %v, want %v", got, tc.want)
			}
		})
	}
}
