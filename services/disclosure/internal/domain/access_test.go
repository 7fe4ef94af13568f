package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/retention"
)

func validAccess() AccessRequest {
	return AccessRequest{
		OwnerID: " own-1 ", ReceivedAt: time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC), Channel: ChannelLetter,
		Identification: IdentifiedRegisteredContact, IdentifiedBy: "staff-7", Language: "SV",
	}
}

func TestPrepareAccessRequest(t *testing.T) {
	loc := helsinki(t)
	for _, tc := range []struct {
		name   string
		change func(*AccessRequest)
		fields []string
	}{
		{"valid", func(*AccessRequest) {}, nil},
		{"owner required", func(r *AccessRequest) { r.OwnerID = "" }, []string{"a.owner_id"}},
		{"received now by default", func(r *AccessRequest) { r.ReceivedAt = time.Time{} }, nil},
		{"received in the future", func(r *AccessRequest) { r.ReceivedAt = testNow.Add(time.Hour) }, []string{"a.receive_time"}},
		{"received a few seconds ahead", func(r *AccessRequest) { r.ReceivedAt = testNow.Add(time.Second) }, nil},
		{"received in 1999", func(r *AccessRequest) { r.ReceivedAt = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"a.receive_time"}},
		{"unknown channel", func(r *AccessRequest) { r.Channel = "fax" }, []string{"a.channel"}},
		{"unknown identification", func(r *AccessRequest) { r.Identification = "looked honest" }, []string{"a.identification"}},
		{"portal needs strong identification", func(r *AccessRequest) { r.Channel = ChannelPortal }, []string{"a.identification"}},
		{"portal", func(r *AccessRequest) {
			r.Channel, r.Identification, r.IdentifiedBy = ChannelPortal, IdentifiedStrongElectronic, ""
		}, nil},
		{"in person with a document", func(r *AccessRequest) { r.Channel, r.Identification = ChannelInPerson, IdentifiedByDocument }, nil},
		{"who identified is required", func(r *AccessRequest) { r.IdentifiedBy = " " }, []string{"a.identified_by"}},
		{"unknown language", func(r *AccessRequest) { r.Language = "de" }, []string{"a.language"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validAccess()
			tc.change(&r)
			err := PrepareAccessRequest(&r, "a", testNow, loc)
			var v *apperr.ValidationError
			if err != nil && !errors.As(err, &v) {
				t.Fatalf("error %v is not a validation error", err)
			}
			if got := violationFields(v); !slices.Equal(got, tc.fields) {
				t.Fatalf("violations on %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
	r := validAccess()
	if err := PrepareAccessRequest(&r, "a", testNow, loc); err != nil {
		t.Fatal(err)
	}
	if r.OwnerID != "own-1" || r.Language != LanguageSwedish || r.DueDate != day(2026, 2, 28) || r.PossiblyChargeable ||
		r.Status != AccessReceived || r.Deadline() != r.DueDate {
		t.Fatalf("prepared %+v", r)
	}
	r = validAccess()
	r.Language, r.ReceivedAt = "", time.Time{}
	if err := PrepareAccessRequest(&r, "a", testNow, loc); err != nil || r.Language != LanguageFinnish ||
		!r.ReceivedAt.Equal(testNow) || r.DueDate != day(2026, 12, 25) {
		t.Fatalf("defaults: %+v, %v", r, err)
	}
}

func TestAccessRequestDueDate(t *testing.T) {
	loc := helsinki(t)
	for _, tc := range []struct {
		received time.Time
		due      retention.Date
	}{
		{time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC), day(2026, 2, 28)},
		{time.Date(2028, 1, 31, 9, 0, 0, 0, time.UTC), day(2028, 2, 29)},
		{time.Date(2026, 1, 30, 23, 0, 0, 0, time.UTC), day(2026, 2, 28)}, // 31 January in Helsinki
		{time.Date(2026, 3, 31, 9, 0, 0, 0, time.UTC), day(2026, 4, 30)},
		{time.Date(2025, 12, 31, 9, 0, 0, 0, time.UTC), day(2026, 1, 31)},
		{time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC), day(2026, 7, 15)},
	} {
		r := validAccess()
		r.ReceivedAt = tc.received
		if err := PrepareAccessRequest(&r, "a", tc.received.Add(time.Hour), loc); err != nil || r.DueDate != tc.due {
			t.Errorf("received %s: due %s, %v; want %s", tc.received, r.DueDate, err, tc.due)
		}
	}
}

func TestEarlierRequestWithinYear(t *testing.T) {
	loc := helsinki(t)
	received := day(2026, 11, 25)
	for _, tc := range []struct {
		name    string
		earlier []PriorRequest
		want    string
	}{
		{"first request", nil, ""},
		{"a year and a day ago", []PriorRequest{{"a", noon(2025, 11, 24)}}, ""},
		{"exactly a year ago", []PriorRequest{{"a", noon(2025, 11, 25)}}, ""},
		{"a year less a day", []PriorRequest{{"a", noon(2025, 11, 26)}}, "a"},
		{"last month", []PriorRequest{{"a", noon(2024, 1, 1)}, {"b", noon(2026, 10, 1)}}, "b"},
		{"the most recent of two", []PriorRequest{{"b", noon(2026, 10, 1)}, {"a", noon(2026, 3, 1)}}, "b"},
		{"same day", []PriorRequest{{"a", noon(2026, 11, 25)}}, "a"},
		{"a later one does not count", []PriorRequest{{"a", noon(2026, 11, 26)}}, ""},
	} {
		got, ok := EarlierRequestWithinYear(received, tc.earlier, loc)
		if got.ID != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: %q %v, want %q", tc.name, got.ID, ok, tc.want)
		}
	}
	// 29 February: a year back is 28 February, and a year after it is 28 February.
	if _, ok := EarlierRequestWithinYear(day(2028, 2, 29), []PriorRequest{{"a", noon(2027, 2, 28)}}, loc); ok {
		t.Error("a request on 28 Feb 2027 counts against 29 Feb 2028")
	}
	if _, ok := EarlierRequestWithinYear(day(2029, 2, 28), []PriorRequest{{"a", noon(2028, 2, 29)}}, loc); ok {
		t.Error("a request on 29 Feb 2028 counts against 28 Feb 2029, a year later")
	}
	if _, ok := EarlierRequestWithinYear(day(2029, 2, 27), []PriorRequest{{"a", noon(2028, 2, 29)}}, loc); !ok {
		t.Error("a request on 29 Feb 2028 does not count against 27 Feb 2029")
	}
}

func TestFlagFurtherRequest(t *testing.T) {
	loc := helsinki(t)
	r := validAccess()
	if err := PrepareAccessRequest(&r, "a", testNow, loc); err != nil {
		t.Fatal(err)
	}
	r.ID = "this"
	at := r.ReceivedAt
	for _, tc := range []struct {
		name   string
		listed []PriorRequest
		want   string
	}{
		{"listed alone", []PriorRequest{{"this", at}}, ""},
		{"unlisted, nothing else", nil, ""},
		{"an earlier one", []PriorRequest{{"this", at}, {"old", noon(2025, 6, 1)}}, "old"},
		{"unlisted, an earlier one", []PriorRequest{{"old", noon(2025, 6, 1)}}, "old"},
		// Recorded before this one, received after it: this one is the first.
		{"a later one listed first", []PriorRequest{{"later", at.Add(24 * time.Hour)}, {"this", at}}, ""},
		{"the same instant, listed first", []PriorRequest{{"twin", at}, {"this", at}}, "twin"},
		{"the same instant, listed after", []PriorRequest{{"this", at}, {"twin", at}}, ""},
		{"unlisted, the same instant", []PriorRequest{{"twin", at}}, "twin"},
		{"the same day, a minute later", []PriorRequest{{"later", at.Add(time.Minute)}, {"this", at}}, ""},
	} {
		r.FlagFurtherRequest(tc.listed, loc)
		if r.EarlierRequestID != tc.want || r.PossiblyChargeable != (tc.want != "") {
			t.Errorf("%s: flagged %v against %q, want %q", tc.name, r.PossiblyChargeable, r.EarlierRequestID, tc.want)
		}
	}
}

func TestAccessRequestExtend(t *testing.T) {
	loc := helsinki(t)
	received := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	prepared := func() AccessRequest {
		r := validAccess()
		if err := PrepareAccessRequest(&r, "a", received, loc); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := prepared()
	if err := r.Extend(" many pets, ten years of visits ", time.Date(2026, 2, 28, 20, 0, 0, 0, time.UTC), loc); err != nil {
		t.Fatal(err)
	}
	if !r.Extended() || r.ExtendedDueDate != day(2026, 4, 30) || r.DueDate != day(2026, 2, 28) ||
		r.Deadline() != day(2026, 4, 30) || r.ExtensionReason != "many pets, ten years of visits" || r.ExtendedAt.IsZero() {
		t.Fatalf("extended: %+v, want due 30 April", r)
	}
	var pe *apperr.PreconditionError
	if err := r.Extend("again", received, loc); !errors.As(err, &pe) || pe.Reason != ReasonAlreadyExtended {
		t.Fatalf("second extension: %v", err)
	}
	late := prepared()
	if err := late.Extend("too late", time.Date(2026, 2, 28, 22, 30, 0, 0, time.UTC), loc); !errors.As(err, &pe) ||
		pe.Reason != ReasonExtensionLate || late.Extended() {
		t.Fatalf("extension on 1 March in Helsinki: %v, %+v", err, late)
	}
	var v *apperr.ValidationError
	for _, reason := range []string{" ", strings.Repeat("x", 501), "a\x00b"} {
		p := prepared()
		if err := p.Extend(reason, received, loc); !errors.As(err, &v) || violationFields(v)[0] != "reason" || p.Extended() {
			t.Errorf("reason %q: %v", reason, err)
		}
	}
}

// FuzzPrepareAccessRequest checks that nothing panics, violations stay under the prefix
// and a prepared request is due a calendar month after its receipt, which is not in the
// future.
func FuzzPrepareAccessRequest(f *testing.F) {
	f.Add("own-1", testNow.Add(-time.Hour).UnixNano(), "letter", "registered_contact", "staff-1", "fi", testNow.AddDate(-1, 0, 1).UnixNano())
	f.Add("", int64(0), "portal", "strong_electronic", "", "sv-FI", int64(-1))
	f.Add("\xff", int64(1), "x", "y", "\x00", "xx", int64(0))
	loc := helsinki(f)
	f.Fuzz(func(t *testing.T, owner string, received int64, channel, identification, identifiedBy, lang string, earlier int64) {
		r := AccessRequest{
			OwnerID: owner, ReceivedAt: fuzzTime(received), Channel: Channel(channel),
			Identification: Identification(identification), IdentifiedBy: identifiedBy, Language: Language(lang),
		}
		err := PrepareAccessRequest(&r, "a", testNow, loc)
		var v *apperr.ValidationError
		if errors.As(err, &v) {
			for _, fv := range v.Violations {
				if !strings.HasPrefix(fv.Field, "a.") {
					t.Fatalf("violation field %q is not under the prefix", fv.Field)
				}
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		got := retention.DateOf(r.ReceivedAt, loc)
		if !r.DueDate.After(got) || r.DueDate != got.AddMonths(1) {
			t.Fatalf("received %s, due %s", got, r.DueDate)
		}
		if r.ReceivedAt.After(testNow) {
			t.Fatalf("received in the future: %s", r.ReceivedAt)
		}
		r.FlagFurtherRequest([]PriorRequest{{"e", fuzzTime(earlier)}}, loc)
		if r.PossiblyChargeable != (r.EarlierRequestID == "e") {
			t.Fatalf("flag %v with earlier %q", r.PossiblyChargeable, r.EarlierRequestID)
		}
	})
}

func fuzzTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
