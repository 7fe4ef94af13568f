package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// Recipient ids, as the disclosure service writes them, and an insurer's name as typed
// before an insurer's scope had to be its recipient id.
const (
	ins1         = "0190f5a4-1f00-7000-8000-0000000000a1"
	ins2         = "0190f5a4-1f00-7000-8000-0000000000a2"
	reg1         = "0190f5a4-1f00-7000-8000-0000000000b1"
	reg2         = "0190f5a4-1f00-7000-8000-0000000000b2"
	insurerTyped = "LähiTapiola"
)

// entry is a ledger entry of the test owner, effective at testNow+offset.
func entry(id string, seq int64, p Purpose, scope string, d Decision, offset time.Duration) Entry {
	return Entry{
		ID: id, OwnerID: "owner-1", Seq: seq, Purpose: p, Scope: scope, Decision: d,
		Method: MethodInPerson, StatementVersion: "2026-01", EffectiveAt: testNow.Add(offset),
	}
}

// valid bounds e's validity to [testNow+from, testNow+until); a zero offset leaves that
// side open.
func valid(e Entry, from, until time.Duration) Entry {
	if from != 0 {
		e.ValidFrom = testNow.Add(from)
	}
	if until != 0 {
		e.ValidUntil = testNow.Add(until)
	}
	return e
}

// recorded sets when e was recorded, at testNow+offset.
func recorded(e Entry, offset time.Duration) Entry {
	e.RecordedAt = testNow.Add(offset)
	return e
}

func TestDecide(t *testing.T) {
	const (
		dm      = PurposeDirectMarketing
		stats   = PurposeStatisticalResearch
		dev     = PurposeServiceDevelopment
		care    = PurposeCareReminders
		insurer = PurposeInsurerDisclosure
		kennel  = PurposeKennelClubDisclosure
		cats    = PurposeCatFederationDisclosure
		chip    = PurposeMicrochipRegistryDisclosure
	)
	for _, tc := range []struct {
		name       string
		entries    []Entry
		purpose    Purpose
		scope      string
		at         time.Duration // offset from testNow
		restricted bool
		allowed    bool
		reason     Reason
		deciding   string
	}{
		// Direct marketing: opt-out, one state per channel.
		{"marketing by default", nil, dm, ChannelEmail, 0, false, true, ReasonDefaultOptOut, ""},
		{"marketing objected", []Entry{
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, -day),
		}, dm, ChannelEmail, 0, false, false, ReasonObjection, "o1"},
		{"objection takes effect at once", []Entry{
			entry("g1", 1, dm, ChannelEmail, DecisionGranted, -day),
			entry("o2", 2, dm, ChannelEmail, DecisionObjected, 0),
		}, dm, ChannelEmail, 0, false, false, ReasonObjection, "o2"},
		{"allowed just before the objection", []Entry{
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, 0),
		}, dm, ChannelEmail, -time.Millisecond, false, true, ReasonDefaultOptOut, ""},
		{"later grant after objection re-allows", []Entry{
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, -2*day),
			entry("g2", 2, dm, ChannelEmail, DecisionGranted, -day),
		}, dm, ChannelEmail, 0, false, true, ReasonExplicitGrant, "g2"},
		{"objecting to sms leaves email allowed", []Entry{
			entry("o1", 1, dm, ChannelSMS, DecisionObjected, -day),
		}, dm, ChannelEmail, 0, false, true, ReasonDefaultOptOut, ""},
		{"objecting to sms forbids sms", []Entry{
			entry("o1", 1, dm, ChannelSMS, DecisionObjected, -day),
		}, dm, ChannelSMS, 0, false, false, ReasonObjection, "o1"},
		{"marketing refused at registration", []Entry{
			entry("r1", 1, dm, ChannelPost, DecisionRefused, -day),
		}, dm, ChannelPost, 0, false, false, ReasonRefusal, "r1"},
		{"marketing grant withdrawn", []Entry{
			entry("g1", 1, dm, ChannelPhone, DecisionGranted, -2*day),
			entry("w2", 2, dm, ChannelPhone, DecisionWithdrawn, -day),
		}, dm, ChannelPhone, 0, false, false, ReasonWithdrawal, "w2"},
		{"future objection ignored", []Entry{
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, day),
		}, dm, ChannelEmail, 0, false, true, ReasonDefaultOptOut, ""},
		{"same instant: later seq objection wins", []Entry{
			entry("o2", 2, dm, ChannelEmail, DecisionObjected, -day),
			entry("g1", 1, dm, ChannelEmail, DecisionGranted, -day),
		}, dm, ChannelEmail, 0, false, false, ReasonObjection, "o2"},
		{"same instant: later seq grant wins", []Entry{
			entry("g2", 2, dm, ChannelEmail, DecisionGranted, -day),
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, -day),
		}, dm, ChannelEmail, 0, false, true, ReasonExplicitGrant, "g2"},
		{"effective time beats seq", []Entry{
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, -day),
			entry("g2", 2, dm, ChannelEmail, DecisionGranted, -2*day),
		}, dm, ChannelEmail, 0, false, false, ReasonObjection, "o1"},
		{"withdrawal after a grant scheduled ahead overrules it", []Entry{
			recorded(entry("g1", 1, kennel, "", DecisionGranted, day), -time.Hour),
			recorded(entry("w2", 2, kennel, "", DecisionWithdrawn, 0), 0),
		}, kennel, "", 2 * day, false, false, ReasonWithdrawal, "w2"},
		{"grant scheduled ahead after a withdrawal takes effect on its day", []Entry{
			recorded(entry("w1", 1, kennel, "", DecisionWithdrawn, -day), -day),
			recorded(entry("g2", 2, kennel, "", DecisionGranted, day), 0),
		}, kennel, "", 2 * day, false, true, ReasonExplicitGrant, "g2"},
		{"backdated objection recorded after a later grant", []Entry{
			recorded(entry("g1", 1, dm, ChannelEmail, DecisionGranted, -day), -day),
			recorded(entry("o2", 2, dm, ChannelEmail, DecisionObjected, -2*day), 0),
		}, dm, ChannelEmail, 0, false, true, ReasonExplicitGrant, "g1"},
		{"expired marketing grant returns to the default", []Entry{
			valid(entry("g1", 1, dm, ChannelEmail, DecisionGranted, -2*day), 0, -day),
		}, dm, ChannelEmail, 0, false, true, ReasonDefaultOptOut, ""},
		{"objection holds until a later grant is valid", []Entry{
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, -2*day),
			valid(entry("g2", 2, dm, ChannelEmail, DecisionGranted, -day), 30*day, 0),
		}, dm, ChannelEmail, 0, false, false, ReasonObjection, "o1"},
		{"objection holds again once a later grant expired", []Entry{
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, -3*day),
			valid(entry("g2", 2, dm, ChannelEmail, DecisionGranted, -2*day), 0, -day),
		}, dm, ChannelEmail, 0, false, false, ReasonObjection, "o1"},
		{"an unbounded grant holds once a later bounded one expired", []Entry{
			entry("g1", 1, stats, "", DecisionGranted, -3*day),
			valid(entry("g2", 2, stats, "", DecisionGranted, -2*day), 0, -day),
		}, stats, "", 0, false, true, ReasonExplicitGrant, "g1"},
		{"marketing to a restricted owner", nil, dm, ChannelEmail, 0, true, false, ReasonOwnerRestricted, ""},
		{"restriction beats a marketing grant", []Entry{
			entry("g1", 1, dm, ChannelEmail, DecisionGranted, -day),
		}, dm, ChannelEmail, 0, true, false, ReasonOwnerRestricted, ""},

		// Statistical research, service development, care reminders: opt-out, no scope.
		{"statistics by default", nil, stats, "", 0, false, true, ReasonDefaultOptOut, ""},
		{"statistics objected in writing", []Entry{
			entry("o1", 1, stats, "", DecisionObjected, -day),
		}, stats, "", 0, false, false, ReasonObjection, "o1"},
		{"marketing objection leaves statistics", []Entry{
			entry("o1", 1, dm, ChannelEmail, DecisionObjected, -day),
		}, stats, "", 0, false, true, ReasonDefaultOptOut, ""},
		{"statistics for a restricted owner", nil, stats, "", 0, true, false, ReasonOwnerRestricted, ""},
		{"service development by default", nil, dev, "", 0, false, true, ReasonDefaultOptOut, ""},
		{"service development refused", []Entry{
			entry("r1", 1, dev, "", DecisionRefused, -day),
		}, dev, "", 0, false, false, ReasonRefusal, "r1"},
		{"care reminders by default", nil, care, "", 0, false, true, ReasonDefaultOptOut, ""},
		{"care reminders re-granted", []Entry{
			entry("o1", 1, care, "", DecisionObjected, -2*day),
			entry("g2", 2, care, "", DecisionGranted, -day),
		}, care, "", 0, false, true, ReasonExplicitGrant, "g2"},
		{"care reminders to a restricted owner", []Entry{
			entry("g1", 1, care, "", DecisionGranted, -day),
		}, care, "", 0, true, false, ReasonOwnerRestricted, ""},
		{"care grant not yet valid returns to the default", []Entry{
			valid(entry("g1", 1, care, "", DecisionGranted, -day), day, 0),
		}, care, "", 0, false, true, ReasonDefaultOptOut, ""},

		// Insurer disclosure: opt-in, per insurer.
		{"insurer without grant", nil, insurer, ins1, 0, false, false, ReasonNoGrant, ""},
		{"insurer agreement on record", []Entry{
			entry("g1", 1, insurer, ins1, DecisionGranted, -day),
		}, insurer, ins1, 0, false, true, ReasonExplicitGrant, "g1"},
		{"grant to one insurer is not for another", []Entry{
			entry("g1", 1, insurer, ins1, DecisionGranted, -day),
		}, insurer, ins2, 0, false, false, ReasonNoGrant, ""},
		{"insurer grant expired", []Entry{
			valid(entry("g1", 1, insurer, ins1, DecisionGranted, -2*day), 0, -day),
		}, insurer, ins1, 0, false, false, ReasonExpired, "g1"},
		{"insurer grant ends exactly now", []Entry{
			valid(entry("g1", 1, insurer, ins1, DecisionGranted, -2*day), 0, 0+time.Nanosecond),
		}, insurer, ins1, time.Nanosecond, false, false, ReasonExpired, "g1"},
		{"insurer grant within validity", []Entry{
			valid(entry("g1", 1, insurer, ins1, DecisionGranted, -2*day), -day, day),
		}, insurer, ins1, 0, false, true, ReasonExplicitGrant, "g1"},
		{"insurer grant not yet valid", []Entry{
			valid(entry("g1", 1, insurer, ins1, DecisionGranted, -day), day, 2*day),
		}, insurer, ins1, 0, false, false, ReasonNotYetValid, "g1"},
		{"insurer agreement withdrawn", []Entry{
			entry("g1", 1, insurer, ins1, DecisionGranted, -2*day),
			entry("w2", 2, insurer, ins1, DecisionWithdrawn, -day),
		}, insurer, ins1, 0, false, false, ReasonWithdrawal, "w2"},
		{"insurer disclosure for a restricted owner", []Entry{
			entry("g1", 1, insurer, ins1, DecisionGranted, -day),
		}, insurer, ins1, 0, true, false, ReasonOwnerRestricted, ""},

		// Kennelliitto, Kissaliitto: opt-in, no scope.
		{"kennel club without grant", nil, kennel, "", 0, false, false, ReasonNoGrant, ""},
		{"kennel club granted", []Entry{
			entry("g1", 1, kennel, "", DecisionGranted, -day),
		}, kennel, "", 0, false, true, ReasonExplicitGrant, "g1"},
		{"objection to an opt-in purpose denies like a withdrawal", []Entry{
			entry("g1", 1, kennel, "", DecisionGranted, -2*day),
			entry("o2", 2, kennel, "", DecisionObjected, -day),
		}, kennel, "", 0, false, false, ReasonObjection, "o2"},
		{"kennel club refused", []Entry{
			entry("r1", 1, kennel, "", DecisionRefused, -day),
		}, kennel, "", 0, false, false, ReasonRefusal, "r1"},
		{"scheduled kennel club grant ignored", []Entry{
			entry("g1", 1, kennel, "", DecisionGranted, day),
		}, kennel, "", 0, false, false, ReasonNoGrant, ""},
		{"kennel club grant is not for Kissaliitto", []Entry{
			entry("g1", 1, kennel, "", DecisionGranted, -day),
		}, cats, "", 0, false, false, ReasonNoGrant, ""},
		{"cat federation withdrawn at the same instant", []Entry{
			entry("w2", 2, cats, "", DecisionWithdrawn, -day),
			entry("g1", 1, cats, "", DecisionGranted, -day),
		}, cats, "", 0, false, false, ReasonWithdrawal, "w2"},
		{"cat federation granted again", []Entry{
			entry("g1", 1, cats, "", DecisionGranted, -3*day),
			entry("w2", 2, cats, "", DecisionWithdrawn, -2*day),
			entry("g3", 3, cats, "", DecisionGranted, -day),
		}, cats, "", 0, false, true, ReasonExplicitGrant, "g3"},
		// Microchip registry: opt-in, per registry.
		{"microchip registry without grant", nil, chip, reg1, 0, false, false, ReasonNoGrant, ""},
		{"microchip registry granted", []Entry{
			entry("g1", 1, chip, reg1, DecisionGranted, -day),
		}, chip, reg1, 0, false, true, ReasonExplicitGrant, "g1"},
		{"grant to one registry is not for another", []Entry{
			entry("g1", 1, chip, reg1, DecisionGranted, -day),
		}, chip, reg2, 0, false, false, ReasonNoGrant, ""},
		{"microchip registry valid from now", []Entry{
			valid(entry("g1", 1, chip, reg1, DecisionGranted, -day), 0+time.Nanosecond, 0),
		}, chip, reg1, time.Nanosecond, false, true, ReasonExplicitGrant, "g1"},
		{"microchip registry for a restricted owner", []Entry{
			entry("g1", 1, chip, reg1, DecisionGranted, -day),
		}, chip, reg1, 0, true, false, ReasonOwnerRestricted, ""},
		// A grant recorded before the purpose took the registry's id names no registry.
		{"unscoped registry grant allows no registry", []Entry{
			entry("g1", 1, chip, "", DecisionGranted, -day),
		}, chip, reg1, 0, false, false, ReasonNoGrant, ""},
		{"unscoped registry grant is no grant itself", []Entry{
			entry("g1", 1, chip, "", DecisionGranted, -day),
		}, chip, "", 0, false, false, ReasonNoGrant, ""},
		{"unscoped registry grant after a withdrawal is no grant", []Entry{
			entry("w1", 1, chip, "", DecisionWithdrawn, -2*day),
			entry("g2", 2, chip, "", DecisionGranted, -day),
		}, chip, "", 0, false, false, ReasonNoGrant, ""},
		// An unscoped prohibition was the owner's word against every registry.
		{"unscoped registry withdrawal is shown as one", []Entry{
			entry("g1", 1, chip, "", DecisionGranted, -2*day),
			entry("w2", 2, chip, "", DecisionWithdrawn, -day),
		}, chip, "", 0, false, false, ReasonWithdrawal, "w2"},
		{"unscoped registry withdrawal overrules a backdated grant naming the registry", []Entry{
			recorded(entry("g1", 1, chip, "", DecisionGranted, -3*day), -3*day),
			recorded(entry("w2", 2, chip, "", DecisionWithdrawn, -day), -day),
			recorded(entry("g3", 3, chip, reg1, DecisionGranted, -3*day), 0),
		}, chip, reg1, 0, false, false, ReasonWithdrawal, "w2"},
		{"registry grant made after an unscoped withdrawal allows", []Entry{
			entry("w1", 1, chip, "", DecisionWithdrawn, -2*day),
			entry("g2", 2, chip, reg1, DecisionGranted, -day),
		}, chip, reg1, 0, false, true, ReasonExplicitGrant, "g2"},
		{"unscoped registry refusal refuses every registry", []Entry{
			entry("g1", 1, chip, reg1, DecisionGranted, -2*day),
			entry("r2", 2, chip, "", DecisionRefused, -day),
		}, chip, reg2, 0, false, false, ReasonRefusal, "r2"},
		{"unscoped registry objection overrules an earlier grant naming the registry", []Entry{
			entry("g1", 1, chip, reg1, DecisionGranted, -2*day),
			entry("o2", 2, chip, "", DecisionObjected, -day),
		}, chip, reg1, 0, false, false, ReasonObjection, "o2"},
		{"unscoped registry grant after a withdrawal restores no registry", []Entry{
			entry("g1", 1, chip, reg1, DecisionGranted, -3*day),
			entry("w2", 2, chip, "", DecisionWithdrawn, -2*day),
			entry("g3", 3, chip, "", DecisionGranted, -day),
		}, chip, reg1, 0, false, false, ReasonWithdrawal, "w2"},
		{"unscoped registry withdrawal scheduled ahead is not yet in effect", []Entry{
			entry("g1", 1, chip, reg1, DecisionGranted, -day),
			entry("w2", 2, chip, "", DecisionWithdrawn, day),
		}, chip, reg1, 0, false, true, ReasonExplicitGrant, "g1"},
		{"unscoped insurer grant is no grant", []Entry{
			entry("g1", 1, insurer, "", DecisionGranted, -day),
		}, insurer, "", 0, false, false, ReasonNoGrant, ""},
		// An insurer's name typed as scope names no recipient id: its grant allows none,
		// its prohibition was the owner's word against an insurer the ledger cannot tell.
		{"insurer grant under a typed name allows no insurer", []Entry{
			entry("g1", 1, insurer, insurerTyped, DecisionGranted, -day),
		}, insurer, ins1, 0, false, false, ReasonNoGrant, ""},
		{"insurer grant under a typed name is no grant itself", []Entry{
			entry("g1", 1, insurer, insurerTyped, DecisionGranted, -day),
		}, insurer, insurerTyped, 0, false, false, ReasonNoGrant, ""},
		{"insurer withdrawal under a typed name overrules an earlier grant", []Entry{
			entry("g1", 1, insurer, ins1, DecisionGranted, -2*day),
			entry("w2", 2, insurer, insurerTyped, DecisionWithdrawn, -day),
		}, insurer, ins1, 0, false, false, ReasonWithdrawal, "w2"},
		{"insurer refusal under a typed name refuses every insurer", []Entry{
			entry("r1", 1, insurer, insurerTyped, DecisionRefused, -day),
		}, insurer, ins2, 0, false, false, ReasonRefusal, "r1"},
		{"insurer objection under a typed name is shown under the name", []Entry{
			entry("o1", 1, insurer, insurerTyped, DecisionObjected, -day),
		}, insurer, insurerTyped, 0, false, false, ReasonObjection, "o1"},
		{"insurer grant made after a withdrawal under a typed name allows", []Entry{
			entry("w1", 1, insurer, insurerTyped, DecisionWithdrawn, -2*day),
			entry("g2", 2, insurer, ins1, DecisionGranted, -day),
		}, insurer, ins1, 0, false, true, ReasonExplicitGrant, "g2"},
		{"a grant under a typed name after a withdrawal restores no insurer", []Entry{
			entry("g1", 1, insurer, ins1, DecisionGranted, -3*day),
			entry("w2", 2, insurer, insurerTyped, DecisionWithdrawn, -2*day),
			entry("g3", 3, insurer, insurerTyped, DecisionGranted, -day),
		}, insurer, ins1, 0, false, false, ReasonWithdrawal, "w2"},
		{"a withdrawal under an id spelled in upper case counts for every registry", []Entry{
			entry("g1", 1, chip, reg1, DecisionGranted, -2*day),
			entry("w2", 2, chip, "0190F5A4-1F00-7000-8000-0000000000B2", DecisionWithdrawn, -day),
		}, chip, reg1, 0, false, false, ReasonWithdrawal, "w2"},

		{"unknown purpose is never allowed by default", nil, "profiling", "", 0, false, false, ReasonNoGrant, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := verdict(tc.entries, tc.purpose, tc.scope, testNow.Add(tc.at), tc.restricted)
			if got.Allowed != tc.allowed || got.Reason != tc.reason || decidingID(got) != tc.deciding {
				t.Fatalf("Decide = %v %s %q, want %v %s %q",
					got.Allowed, got.Reason, decidingID(got), tc.allowed, tc.reason, tc.deciding)
			}
		})
	}
}

// verdict decides for an owner with entries and, when restricted, restricted here.
func verdict(entries []Entry, p Purpose, scope string, at time.Time, restricted bool) Verdict {
	return (&Ledger{Entries: entries, Restricted: restricted}).Verdict(p, scope, at, false)
}

// currentState is the state of an owner with entries and, when restricted, restricted
// here.
func currentState(entries []Entry, at time.Time, restricted bool) []State {
	return (&Ledger{Entries: entries, Restricted: restricted}).States(at, false)
}

func TestDecideReturnsACopy(t *testing.T) {
	entries := []Entry{entry("g1", 1, PurposeKennelClubDisclosure, "", DecisionGranted, -day)}
	got := Decide(entries, PurposeKennelClubDisclosure, "", testNow)
	got.Deciding.Decision = DecisionWithdrawn
	if entries[0].Decision != DecisionGranted {
		t.Fatal("changing the deciding entry changed the ledger")
	}
}

func TestCurrentState(t *testing.T) {
	entries := []Entry{
		entry("k1", 4, PurposeKennelClubDisclosure, "", DecisionGranted, day),
		entry("x1", 5, "legacy_purpose", "", DecisionGranted, -day),
		entry("c1", 6, PurposeMicrochipRegistryDisclosure, "", DecisionGranted, -day),
		entry("i1", 2, PurposeInsurerDisclosure, ins2, DecisionGranted, -day),
		entry("i2", 3, PurposeInsurerDisclosure, ins1, DecisionRefused, -day),
		entry("i3", 7, PurposeInsurerDisclosure, insurerTyped, DecisionGranted, -day),
		entry("o1", 1, PurposeDirectMarketing, ChannelSMS, DecisionObjected, -day),
	}
	want := []string{
		"direct_marketing/email true default_opt_out -",
		"direct_marketing/phone true default_opt_out -",
		"direct_marketing/post true default_opt_out -",
		"direct_marketing/sms false objection o1",
		"statistical_research/ true default_opt_out -",
		"service_development/ true default_opt_out -",
		"care_reminders/ true default_opt_out -",
		"insurer_disclosure/" + ins1 + " false refusal i2",
		"insurer_disclosure/" + ins2 + " true explicit_grant i1",
		"insurer_disclosure/" + insurerTyped + " false no_grant -",
		"kennel_club_disclosure/ false no_grant -",
		"microchip_registry_disclosure/ false no_grant -",
		"legacy_purpose/ true explicit_grant x1",
	}
	if got := stateLines(currentState(entries, testNow, false)); !slices.Equal(got, want) {
		t.Fatalf("state =\n%q\nwant\n%q", got, want)
	}
	for _, s := range currentState(entries, testNow, true) {
		if s.Verdict.Allowed || s.Verdict.Reason != ReasonOwnerRestricted {
			t.Fatalf("restricted owner: %s/%s is %v %s", s.Purpose, s.Scope, s.Verdict.Allowed, s.Verdict.Reason)
		}
	}
	if got := len(currentState(nil, testNow, false)); got != 7 {
		t.Fatalf("empty ledger has %d states, want 7 (4 channels and 3 opt-out purposes)", got)
	}
}

// FuzzDecide checks that any ledger decides without panicking, that the verdict is the
// one the rule gives (expectedVerdict, stated on its own), and that it does not depend
// on the order the store returned the entries in.
func FuzzDecide(f *testing.F) {
	// Effective and recorded offsets are byte-128 hours: 118 is ten hours ago.
	f.Add([]byte{0, 1, 3, 118, 0, 7, 128, 0, 1, 0, 118, 0, 9, 128}, int8(0), false)
	f.Add([]byte{4, 3, 0, 128, 0x21, 1, 128, 4, 3, 2, 128, 0, 2, 128}, int8(1), false)
	f.Add([]byte{5, 0, 0, 120, 0x12, 0, 128, 8, 0, 4, 130, 0, 0, 128}, int8(-3), true)
	// An unscoped registry grant recorded ten hours before it took effect, an unscoped
	// withdrawal made after it was recorded, a grant to the second registry dated before both.
	f.Add([]byte{7, 0, 0, 126, 0, 1, 118, 7, 0, 2, 123, 0, 2, 128, 7, 4, 0, 108, 0, 3, 128}, int8(0), false)
	// An insurer grant ten hours ago, a withdrawal under the insurer's name as typed
	// five hours ago.
	f.Add([]byte{4, 3, 0, 118, 0, 1, 128, 4, 5, 2, 123, 0, 2, 128}, int8(0), false)
	f.Fuzz(func(t *testing.T, data []byte, atHours int8, restricted bool) {
		entries := fuzzEntries(data)
		permuted := slices.Clone(entries)
		slices.Reverse(permuted)
		if len(permuted) > 0 {
			k := len(data) % len(permuted)
			permuted = slices.Concat(permuted[k:], permuted[:k])
		}
		at := testNow.Add(time.Duration(atHours) * time.Hour)
		for _, p := range append(Purposes(), "legacy_purpose") {
			for _, scope := range fuzzScopes {
				got := verdict(entries, p, scope, at, restricted)
				if want := expectedVerdict(entries, p, scope, at, restricted); verdictLine(got) != verdictLine(want) {
					t.Fatalf("%s/%s at %v: %s, want %s", p, scope, at, verdictLine(got), verdictLine(want))
				}
				if again := verdict(permuted, p, scope, at, restricted); verdictLine(again) != verdictLine(got) {
					t.Fatalf("%s/%s depends on input order: %s then %s", p, scope, verdictLine(got), verdictLine(again))
				}
			}
		}
		states := stateLines(currentState(entries, at, restricted))
		if again := stateLines(currentState(permuted, at, restricted)); !slices.Equal(states, again) {
			t.Fatalf("the state depends on input order:\n%q\n%q", states, again)
		}
	})
}

// fuzzScopes are the scopes entries take and checks ask: none, two channels, two
// recipient ids, so that a recipient's check meets another recipient's entries, an
// insurer's name typed before an insurer's scope had to be its recipient id, and a
// recipient id as no canonical one (upper case, untrimmed), which names no recipient.
var fuzzScopes = []string{"", ChannelEmail, ChannelSMS, ins1, ins2, insurerTyped, strings.ToUpper(ins2), " " + ins1}

const maxFuzzEntries = 256

// fuzzEntries turns every 7 bytes into an entry: purpose, scope, decision, effective
// offset (byte-128 hours), validity, seq, recorded offset from the effective time
// (byte-128 hours; below 128 the entry was recorded before it took effect). Seqs are
// unique, as the store guarantees.
func fuzzEntries(data []byte) []Entry {
	purposes := append(Purposes(), "legacy_purpose")
	decisions := []Decision{DecisionGranted, DecisionRefused, DecisionWithdrawn, DecisionObjected, "unknown"}
	var entries []Entry
	// A few hundred entries are more than any owner's ledger; longer inputs only slow
	// the fuzzer down.
	for i := 0; i+7 <= min(len(data), 7*maxFuzzEntries); i += 7 {
		b := data[i : i+7]
		e := entry(fmt.Sprintf("e%d", i/7),
			int64(b[5])<<16|int64(i/7),
			purposes[int(b[0])%len(purposes)],
			fuzzScopes[int(b[1])%len(fuzzScopes)],
			decisions[int(b[2])%len(decisions)],
			time.Duration(int(b[3])-128)*time.Hour)
		// Low nibble: hours from testNow the validity starts; high nibble: ends; 0 = open.
		if from := int(b[4] & 0x0f); from != 0 {
			e.ValidFrom = testNow.Add(time.Duration(from-8) * time.Hour)
		}
		if until := int(b[4] >> 4); until != 0 {
			e.ValidUntil = testNow.Add(time.Duration(until-8) * time.Hour)
		}
		e.RecordedAt = e.EffectiveAt.Add(time.Duration(int(b[6])-128) * time.Hour)
		entries = append(entries, e)
	}
	return entries
}

// expectedVerdict is the verdict on p with scope at the instant at, stated apart from
// Decide so that the fuzzer compares two statements of the rule: a restricted owner is
// refused; otherwise the decision in force (inForce) decides, and with none in force the
// purpose's default does (an opt-in purpose has no grant, an opt-out one allows). A grant
// of a recipient-scoped purpose whose scope is no recipient id (none, or an insurer's
// name as typed) names no recipient and grants nothing.
func expectedVerdict(entries []Entry, p Purpose, scope string, at time.Time, restricted bool) Verdict {
	if restricted {
		return Verdict{Reason: ReasonOwnerRestricted}
	}
	e := inForce(entries, p, scope, at)
	if e == nil {
		if p.OptIn() {
			return Verdict{Reason: ReasonNoGrant}
		}
		return Verdict{Allowed: true, Reason: ReasonDefaultOptOut}
	}
	reasons := map[Decision]Reason{DecisionObjected: ReasonObjection, DecisionRefused: ReasonRefusal}
	switch {
	case e.Decision != DecisionGranted:
		reason, ok := reasons[e.Decision]
		if !ok {
			reason = ReasonWithdrawal
		}
		return Verdict{Reason: reason, Deciding: e}
	case p.RecipientScoped() && !canonicalUUID.MatchString(e.Scope):
		return Verdict{Reason: ReasonNoGrant}
	case !e.ValidFrom.IsZero() && at.Before(e.ValidFrom):
		return Verdict{Reason: ReasonNotYetValid, Deciding: e}
	case !e.ValidUntil.IsZero() && !at.Before(e.ValidUntil):
		return Verdict{Reason: ReasonExpired, Deciding: e}
	}
	return Verdict{Allowed: true, Reason: ReasonExplicitGrant, Deciding: e}
}

// canonicalUUID matches a recipient id as the disclosure service writes it: a UUID in
// lower case with hyphens.
var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// inForce is the decision in force on p with scope at the instant at, nil when none: of
// the entries in effect at at that apply (of p and that scope, or, for a
// recipient-scoped purpose, any decision but a grant whose scope is no recipient id:
// stored without a scope or under an insurer's name as typed, the owner's word against a
// recipient the ledger cannot tell), the one made last; an opt-out purpose's grant
// outside its validity period does not count.
func inForce(entries []Entry, p Purpose, scope string, at time.Time) *Entry {
	var last *Entry
	for i := range entries {
		e := &entries[i]
		namesNoRecipient := p.RecipientScoped() && !canonicalUUID.MatchString(e.Scope)
		applies := e.Purpose == p && (e.Scope == scope || (namesNoRecipient && e.Decision != DecisionGranted))
		if !applies || e.EffectiveAt.After(at) || grantOutOfForce(e, p, at) {
			continue
		}
		if last == nil || madeAfter(e, last) {
			last = e
		}
	}
	return last
}

// madeAfter reports whether the customer made a after b: a decision made when it takes
// effect, or when recorded if that was earlier (scheduled ahead); Seq orders those made
// at the same instant.
func madeAfter(a, b *Entry) bool {
	made := func(e *Entry) time.Time {
		if e.RecordedAt.Before(e.EffectiveAt) {
			return e.RecordedAt
		}
		return e.EffectiveAt
	}
	if !made(a).Equal(made(b)) {
		return made(a).After(made(b))
	}
	return a.Seq > b.Seq
}

// grantOutOfForce reports whether e is a grant on the opt-out purpose p outside its
// validity period at the instant at.
func grantOutOfForce(e *Entry, p Purpose, at time.Time) bool {
	return !p.OptIn() && e.Decision == DecisionGranted &&
		((!e.ValidFrom.IsZero() && at.Before(e.ValidFrom)) || (!e.ValidUntil.IsZero() && !at.Before(e.ValidUntil)))
}

func decidingID(v Verdict) string {
	if v.Deciding == nil {
		return ""
	}
	return v.Deciding.ID
}

func verdictLine(v Verdict) string {
	id := decidingID(v)
	if id == "" {
		id = "-"
	}
	return fmt.Sprintf("%v %s %s", v.Allowed, v.Reason, id)
}

func stateLines(states []State) []string {
	lines := make([]string, len(states))
	for i, s := range states {
		lines[i] = fmt.Sprintf("%s/%s %s", s.Purpose, s.Scope, verdictLine(s.Verdict))
	}
	return lines
}
