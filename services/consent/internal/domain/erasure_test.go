package domain

import (
	"slices"
	"testing"
	"time"
)

func TestPlanErasure(t *testing.T) {
	loc, err := time.LoadLocation(ClinicZone)
	if err != nil {
		t.Fatal(err)
	}
	dm := PurposeDirectMarketing
	tests := []struct {
		name    string
		ledger  Ledger
		want    []Suppression
		answers []Disposition
	}{
		{name: "no ledger entries, nothing kept"},
		{
			name: "each prohibition in force on a channel is kept, nothing else",
			ledger: Ledger{Entries: []Entry{
				entry("1", 1, dm, ChannelEmail, DecisionObjected, -3*day),
				entry("2", 2, dm, ChannelSMS, DecisionGranted, -3*day),
				entry("3", 3, dm, ChannelSMS, DecisionRefused, -2*day),
				entry("4", 4, dm, ChannelPost, DecisionWithdrawn, -2*day),
				entry("5", 5, dm, ChannelPost, DecisionGranted, -day),  // the latest wins: allowed
				entry("6", 6, dm, ChannelPhone, DecisionObjected, day), // not in effect yet
				entry("7", 7, PurposeStatisticalResearch, "", DecisionObjected, -day),
			}},
			want: []Suppression{
				{Purpose: dm, Scope: ChannelEmail, Day: testNow.Add(-3 * day).In(loc).Format(time.DateOnly)},
				{Purpose: dm, Scope: ChannelSMS, Day: testNow.Add(-2 * day).In(loc).Format(time.DateOnly)},
			},
			answers: []Disposition{
				{Class: ClassConsentLedger, Count: 7},
				{Class: ClassMarketingSuppression, Kept: true, Basis: BasisMarketingObjection, Count: 2},
			},
		},
		{
			name:   "a second erasure keeps the first one's suppressions",
			ledger: Ledger{Erased: true, Suppressions: []Suppression{{Purpose: dm, Scope: ChannelEmail, Day: "2026-01-02"}}},
			want:   []Suppression{{Purpose: dm, Scope: ChannelEmail, Day: "2026-01-02"}},
			answers: []Disposition{
				{Class: ClassMarketingSuppression, Kept: true, Basis: BasisMarketingObjection, Count: 1},
			},
		},
	}
	const job = "0199a0b0-0000-7000-8000-000000000011" // the erasure job's id
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := PlanErasure(&tt.ledger, job, testNow, loc)
			if !slices.Equal(e.Suppressions, tt.want) || !slices.Equal(e.Dispositions, tt.answers) || e.RequestID != job {
				t.Fatalf("plan = %+v, want suppressions %+v and answer %+v", e, tt.want, tt.answers)
			}
		})
	}
}

func TestVerdictHonoursSuppressions(t *testing.T) {
	dm := PurposeDirectMarketing
	l := Ledger{Suppressions: []Suppression{{Purpose: dm, Scope: ChannelEmail, Day: "2026-01-02"}}}
	tests := []struct {
		name            string
		restricted      bool
		ownerRestricted bool
		scope           string
		want            Verdict
	}{
		{"suppressed channel", false, false, ChannelEmail, Verdict{Reason: ReasonObjection}},
		{"other channel", false, false, ChannelSMS, Verdict{Allowed: true, Reason: ReasonDefaultOptOut}},
		{"restricted first", true, false, ChannelEmail, Verdict{Reason: ReasonOwnerRestricted}},
		{"restricted in the owner service", false, true, ChannelSMS, Verdict{Reason: ReasonOwnerRestricted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l.Restricted = tt.restricted
			if got := l.Verdict(dm, tt.scope, testNow, tt.ownerRestricted); got != tt.want {
				t.Fatalf("verdict = %+v, want %+v", got, tt.want)
			}
		})
	}
	l.Restricted = false
	for _, st := range l.States(testNow, false) {
		if st.Purpose == dm && st.Scope == ChannelEmail && st.Verdict.Allowed {
			t.Fatal("the state allows a suppressed channel")
		}
	}
	for _, st := range l.States(testNow, true) {
		if st.Verdict.Allowed || st.Verdict.Reason != ReasonOwnerRestricted {
			t.Fatalf("the state of an owner the owner service restricts allows %+v", st)
		}
	}
}

// TestErasureAnswer: a request is answered by the erasure stored under its id, also
// one stored in another UUID form before ids were kept as the register writes them.
func TestErasureAnswer(t *testing.T) {
	const id = "0199a0b0-0000-7000-8000-000000000011"
	answer := []Disposition{{Class: ClassConsentLedger, Count: 2}}
	for _, tc := range []struct {
		name, stored, asked string
		found               bool
	}{
		{"the same id", id, id, true},
		{"stored in upper case", "0199A0B0-0000-7000-8000-000000000011", id, true},
		{"stored in braces", "{" + id + "}", id, true},
		{"another request", id, "0199a0b0-0000-7000-8000-000000000012", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Ledger{Erasures: []Erasure{{RequestID: tc.stored, Dispositions: answer}}}
			got, found := l.ErasureAnswer(tc.asked)
			if found != tc.found || (found && !slices.Equal(got, answer)) {
				t.Fatalf("ErasureAnswer = %v, %v; want found=%v", got, found, tc.found)
			}
		})
	}
}
