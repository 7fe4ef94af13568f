package domain

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/changereason"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// formHosts are the form services the tests' links may name.
var formHosts = LinkHosts{"lomakkeet.example.fi": true, "forms.example.fi": true, "f.example.fi": true}

func validEntry() Entry {
	return Entry{
		Purpose: PurposeInsurerDisclosure, Scope: " 0190F5A4-1F00-7000-8000-0000000000A1 ", Decision: DecisionGranted,
		Method: MethodWritten, EvidenceRef: " form-2026/117 ", StatementVersion: "2026-01",
		ValidUntil: testNow.AddDate(1, 0, 0),
	}
}

func TestValidateEntry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Entry)
		fields []string
	}{
		{"valid", func(*Entry) {}, nil},
		{"unknown purpose", func(e *Entry) { e.Purpose = "profiling" }, []string{"d.purpose"}},
		{"empty purpose", func(e *Entry) { e.Purpose = "" }, []string{"d.purpose"}},
		{"marketing channel", func(e *Entry) { e.Purpose, e.Scope = PurposeDirectMarketing, " SMS " }, nil},
		{"marketing without channel", func(e *Entry) { e.Purpose, e.Scope = PurposeDirectMarketing, "" }, []string{"d.scope"}},
		{"marketing unknown channel", func(e *Entry) { e.Purpose, e.Scope = PurposeDirectMarketing, "fax" }, []string{"d.scope"}},
		{"insurer without recipient", func(e *Entry) { e.Scope = "  " }, []string{"d.scope"}},
		{"insurer recipient too long", func(e *Entry) { e.Scope = strings.Repeat("r", 129) }, []string{"d.scope"}},
		{"insurer recipient control char", func(e *Entry) { e.Scope = "ins\x00urer" }, []string{"d.scope"}},
		{"insurer recipient bad UTF-8", func(e *Entry) { e.Scope = "ins\xffurer" }, []string{"d.scope"}},
		{"insurer by name", func(e *Entry) { e.Scope = "LähiTapiola Oy" }, []string{"d.scope"}},
		{"microchip registry by its recipient id", func(e *Entry) {
			e.Purpose, e.Scope = PurposeMicrochipRegistryDisclosure, " 0190F5A4-1F00-7000-8000-0000000000B2 "
		}, nil},
		{"microchip registry without recipient", func(e *Entry) { e.Purpose, e.Scope = PurposeMicrochipRegistryDisclosure, " " }, []string{"d.scope"}},
		{"microchip registry by name", func(e *Entry) { e.Purpose, e.Scope = PurposeMicrochipRegistryDisclosure, "Turvasiru" }, []string{"d.scope"}},
		{"microchip registry by business id", func(e *Entry) {
			e.Purpose, e.Scope = PurposeMicrochipRegistryDisclosure, "2923530-5"
		}, []string{"d.scope"}},
		{"kennel club takes no scope", func(e *Entry) { e.Purpose = PurposeKennelClubDisclosure }, []string{"d.scope"}},
		{"kennel club", func(e *Entry) { e.Purpose, e.Scope = PurposeKennelClubDisclosure, "" }, nil},
		{"statistics takes no scope", func(e *Entry) { e.Purpose, e.Scope = PurposeStatisticalResearch, "email" }, []string{"d.scope"}},
		{"explicit grant on opt-out", func(e *Entry) { e.Purpose, e.Scope = PurposeCareReminders, "" }, nil},
		{"unknown decision", func(e *Entry) { e.Decision = "maybe" }, []string{"d.decision"}},
		{"unknown method", func(e *Entry) { e.Method = "carrier_pigeon" }, []string{"d.method"}},
		{"written needs evidence", func(e *Entry) { e.EvidenceRef = " " }, []string{"d.evidence_ref"}},
		{"e-mail needs evidence", func(e *Entry) { e.Method, e.EvidenceRef = MethodEmail, "" }, []string{"d.evidence_ref"}},
		{"online form needs evidence", func(e *Entry) { e.Method, e.EvidenceRef = MethodOnlineForm, "" }, []string{"d.evidence_ref"}},
		{"in person needs no evidence", func(e *Entry) { e.Method, e.EvidenceRef = MethodInPerson, "" }, nil},
		{"phone needs no evidence", func(e *Entry) { e.Method, e.EvidenceRef = MethodPhone, "" }, nil},
		{"evidence too long", func(e *Entry) { e.EvidenceRef = strings.Repeat("7", 65) }, []string{"d.evidence_ref"}},
		{"evidence control char", func(e *Entry) { e.EvidenceRef = "a\n1" }, []string{"d.evidence_ref"}},
		{"evidence as a message id", func(e *Entry) { e.EvidenceRef = "msg:2026-11/8841" }, nil},
		{"evidence as a Finnish form number", func(e *Entry) { e.EvidenceRef = "lomake-ä17#2" }, nil},
		{"evidence as a note", func(e *Entry) { e.EvidenceRef = "kirje: Aino Laine, Ruukintie 1" }, []string{"d.evidence_ref"}},
		{"evidence as words", func(e *Entry) { e.EvidenceRef = "form 17" }, []string{"d.evidence_ref"}},
		{"evidence without a number", func(e *Entry) { e.EvidenceRef = "Laine" }, []string{"d.evidence_ref"}},
		{"evidence as an e-mail address", func(e *Entry) { e.EvidenceRef = "aino.laine85@example.fi" }, []string{"d.evidence_ref"}},
		{"e-mail evidence as its Message-ID", func(e *Entry) {
			e.Method, e.EvidenceRef = MethodEmail, "<CAF3jK8x9+1234@mail.gmail.com>"
		}, nil},
		{"online-form evidence as its submission's link", func(e *Entry) {
			e.Method, e.EvidenceRef = MethodOnlineForm, "https://lomakkeet.example.fi/vastaus?id=8841"
		}, nil},
		{"grant needs statement version", func(e *Entry) { e.StatementVersion = "" }, []string{"d.statement_version"}},
		{"refusal needs no statement version", func(e *Entry) {
			e.Decision, e.StatementVersion, e.ValidUntil = DecisionRefused, "", time.Time{}
		}, nil},
		{"statement version too long", func(e *Entry) { e.StatementVersion = strings.Repeat("1", 33) }, []string{"d.statement_version"}},
		{"statement version of 32 characters", func(e *Entry) { e.StatementVersion = strings.Repeat("1", 32) }, nil},
		{"statement version with a dot", func(e *Entry) { e.StatementVersion = "v1.2" }, nil},
		{"statement version with a slash and an underscore", func(e *Entry) { e.StatementVersion = "seloste_2026/01" }, nil},
		{"statement version with a space", func(e *Entry) { e.StatementVersion = "2026 01" }, []string{"d.statement_version"}},
		{"name, address and phone as statement version", func(e *Entry) {
			e.StatementVersion = "Aino Laine, Ruukintie 1, 040-1234567"
		}, []string{"d.statement_version"}},
		{"e-mail address as statement version", func(e *Entry) { e.StatementVersion = "aino.laine@example.fi" }, []string{"d.statement_version"}},
		{"statement version not in ASCII", func(e *Entry) { e.StatementVersion = "kevät-2026" }, []string{"d.statement_version"}},
		{"identity code as statement version", func(e *Entry) { e.StatementVersion = "131052-308T" }, []string{"d.statement_version"}},
		{"valid until before valid from", func(e *Entry) { e.ValidFrom = e.ValidUntil }, []string{"d.valid_until"}},
		{"valid until before effective", func(e *Entry) { e.ValidUntil = testNow.Add(-time.Hour) }, []string{"d.valid_until"}},
		{"grant scheduled", func(e *Entry) { e.EffectiveAt = testNow.AddDate(0, 6, 0) }, nil},
		{"grant scheduled too far", func(e *Entry) {
			e.EffectiveAt, e.ValidUntil = testNow.AddDate(2, 0, 0), time.Time{}
		}, []string{"d.effective_time"}},
		{"objection backdated", func(e *Entry) {
			e.Decision, e.ValidUntil, e.EffectiveAt = DecisionObjected, time.Time{}, testNow.AddDate(0, 0, -3)
		}, nil},
		{"objection scheduled", func(e *Entry) {
			e.Decision, e.ValidUntil, e.EffectiveAt = DecisionObjected, time.Time{}, testNow.Add(time.Hour)
		}, []string{"d.effective_time"}},
		{"withdrawal with validity", func(e *Entry) { e.Decision = DecisionWithdrawn }, []string{"d.valid_until"}},
		{"objection with a start", func(e *Entry) {
			e.Decision, e.ValidFrom, e.ValidUntil = DecisionObjected, testNow, time.Time{}
		}, []string{"d.valid_from"}},
		{"refusal with a start and an end", func(e *Entry) {
			e.Decision, e.ValidFrom = DecisionRefused, testNow
		}, []string{"d.valid_from", "d.valid_until"}},
		{"year 1999", func(e *Entry) { e.ValidFrom = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC) }, []string{"d.valid_from"}},
		{"year 10000", func(e *Entry) { e.ValidUntil = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"d.valid_until"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := validEntry()
			tc.change(&e)
			var v apperr.ValidationError
			ValidateEntry(&e, "d", testNow, formHosts, &v)
			var got []string
			for _, fv := range v.Violations {
				got = append(got, fv.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("violations on %v, want %v (%v)", got, tc.fields, v.Err())
			}
		})
	}
}

func TestValidateEntryNormalises(t *testing.T) {
	helsinki := time.FixedZone("EET", 2*60*60)
	e := validEntry()
	e.ValidFrom = testNow.In(helsinki).Add(1234567 * time.Nanosecond)
	var v apperr.ValidationError
	ValidateEntry(&e, "d", testNow, formHosts, &v)
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
	want := Entry{
		Purpose: PurposeInsurerDisclosure, Scope: "0190f5a4-1f00-7000-8000-0000000000a1", Decision: DecisionGranted,
		Method: MethodWritten, EvidenceRef: "form-2026/117", StatementVersion: "2026-01",
		ValidFrom: testNow.Add(time.Millisecond), ValidUntil: testNow.AddDate(1, 0, 0), EffectiveAt: testNow,
	}
	if e != want {
		t.Fatalf("normalised to %+v, want %+v", e, want)
	}

	chip := Entry{Purpose: PurposeMicrochipRegistryDisclosure, Scope: " {0190F5A4-1F00-7000-8000-0000000000B2} ",
		Decision: DecisionWithdrawn, Method: MethodPhone}
	ValidateEntry(&chip, "d", testNow, formHosts, &v)
	if err := v.Err(); err != nil || chip.Scope != "0190f5a4-1f00-7000-8000-0000000000b2" {
		t.Fatalf("microchip registry scope normalised to %q (%v), want the canonical id", chip.Scope, err)
	}

	m := Entry{Purpose: PurposeDirectMarketing, Scope: "Email", Decision: DecisionObjected, Method: MethodPhone,
		EffectiveAt: testNow.Add(time.Second)}
	ValidateEntry(&m, "d", testNow, formHosts, &v)
	if err := v.Err(); err != nil || m.Scope != ChannelEmail || !m.EffectiveAt.Equal(testNow) {
		t.Fatalf("objection a second ahead: %+v, %v; want scope email effective now", m, err)
	}
}

func TestValidateEntryDoesNotEchoInput(t *testing.T) {
	const secret = "Matti-Meikalainen-131052-308T"
	e := Entry{Purpose: Purpose(secret), Scope: secret, Decision: Decision(secret), Method: Method(secret),
		EvidenceRef: secret + strings.Repeat("x", 300), StatementVersion: secret + "\x00"}
	var v apperr.ValidationError
	ValidateEntry(&e, "d", testNow, formHosts, &v)
	if v.Err() == nil || strings.Contains(v.Error(), "Matti") || strings.Contains(v.Error(), "308T") {
		t.Fatalf("error echoes the input: %v", v.Err())
	}
}

// FuzzValidateEntry checks that no input panics, that violations name fields under the
// prefix without echoing the input, and that whatever passes is in normal form:
// validating it again changes nothing.
func FuzzValidateEntry(f *testing.F) {
	f.Add("direct_marketing", " SMS ", "objected", "phone", "", "", int64(0), int64(0), int64(0))
	f.Add("insurer_disclosure", "0190f5a4-1f00-7000-8000-0000000000a1", "granted", "written", "form 1", "2026-01",
		int64(0), int64(-10), int64(86400))
	f.Add("kennel_club_disclosure", "", "withdrawn", "email", "msg-1@example.fi", "v1", int64(-1), int64(1), int64(253402300800))
	f.Add("kennel_club_disclosure", "", "withdrawn", "email", "<CAF3jK8x9+1234@mail.gmail.com>", "", int64(0), int64(0), int64(0))
	f.Add("care_reminders", "", "objected", "online_form", "https://lomakkeet.example.fi/vastaus?id=8841&x=%40", "", int64(0), int64(0), int64(0))
	f.Add("insurer_disclosure", "0190f5a4-1f00-7000-8000-0000000000a1", "granted", "in_person", "",
		"Aino Laine, Ruukintie 1, 040-1234567", int64(0), int64(0), int64(0))
	f.Add("care_reminders", "\x00", "granted", "online_form", "\xff", "", testNow.UnixNano(), int64(0), int64(1))
	f.Fuzz(func(t *testing.T, purpose, scope, decision, method, evidence, statement string, effective, from, until int64) {
		e := Entry{
			Purpose: Purpose(purpose), Scope: scope, Decision: Decision(decision), Method: Method(method),
			EvidenceRef: evidence, StatementVersion: statement,
			EffectiveAt: fuzzTime(effective), ValidFrom: fuzzTime(from), ValidUntil: fuzzTime(until),
		}
		var v apperr.ValidationError
		ValidateEntry(&e, "d", testNow, formHosts, &v)
		for _, fv := range v.Violations {
			if !strings.HasPrefix(fv.Field, "d.") {
				t.Fatalf("violation field %q is not under the prefix", fv.Field)
			}
			for _, in := range []string{purpose, scope, decision, method, evidence, statement} {
				// Descriptions are short words; a long input without spaces cannot be
				// one of them by chance.
				if len(in) >= 16 && !strings.ContainsRune(in, ' ') && strings.Contains(fv.Description, in) {
					t.Fatalf("description %q echoes the input", fv.Description)
				}
			}
		}
		if v.Err() != nil {
			return
		}
		if e.StatementVersion != "" && !versionToken.MatchString(e.StatementVersion) {
			t.Fatalf("statement version %q passed as %q", statement, e.StatementVersion)
		}
		// A reference is one token: no words beside it, and an e-mail address only as
		// the right of a Message-ID.
		if strings.ContainsFunc(e.EvidenceRef, unicode.IsSpace) ||
			strings.Contains(e.EvidenceRef, "@") && !strings.HasPrefix(e.EvidenceRef, "<") {
			t.Fatalf("evidence %q passed as %q", evidence, e.EvidenceRef)
		}
		if stored := StoredScope(e.Purpose, e.Scope); stored != e.Scope {
			t.Fatalf("scope %q passed as %q, which reads back from the store as %q", scope, e.Scope, stored)
		}
		again := e
		ValidateEntry(&again, "d", testNow, formHosts, &v)
		if v.Err() != nil || again != e {
			t.Fatalf("normal form is not stable: %+v then %+v (%v)", e, again, v.Err())
		}
	})
}

// TestStoredScope: a recipient id stored in another spelling, as insurer scopes were
// before they had to be recipient ids, reads back as NormalizeScope writes it; every
// other scope reads back as stored.
func TestStoredScope(t *testing.T) {
	const id = "0190f5a4-1f00-7000-8000-0000000000a1"
	for _, tc := range []struct {
		name    string
		purpose Purpose
		scope   string
		want    string
	}{
		{"insurer id in upper case", PurposeInsurerDisclosure, strings.ToUpper(id), id},
		{"insurer id in braces", PurposeInsurerDisclosure, "{" + id + "}", id},
		{"insurer id as a URN", PurposeInsurerDisclosure, "urn:uuid:" + id, id},
		{"insurer id without hyphens", PurposeInsurerDisclosure, strings.ReplaceAll(id, "-", ""), id},
		{"registry id in upper case", PurposeMicrochipRegistryDisclosure, strings.ToUpper(id), id},
		{"insurer named, not by id", PurposeInsurerDisclosure, "LähiTapiola", "LähiTapiola"},
		{"unscoped registry decision", PurposeMicrochipRegistryDisclosure, "", ""},
		{"a channel", PurposeDirectMarketing, ChannelEmail, ChannelEmail},
	} {
		if got := StoredScope(tc.purpose, tc.scope); got != tc.want {
			t.Errorf("%s: StoredScope(%q) = %q, want %q", tc.name, tc.scope, got, tc.want)
		}
	}
}

// versionToken is a statement version as DATA_PROTECTION.md states it.
var versionToken = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,32}$`)

// fuzzTime maps 0 to the zero time, small values to seconds around testNow and the
// rest to Unix nanoseconds, so the fuzzer reaches both plausible and absurd instants.
func fuzzTime(n int64) time.Time {
	switch {
	case n == 0:
		return time.Time{}
	case n > -1<<32 && n < 1<<32:
		return testNow.Add(time.Duration(n) * time.Second)
	default:
		return time.Unix(0, n)
	}
}

// TestSameRequest: an entry stored under a request id answers a retry that sends the
// same decision, and nothing that differs in a field the client set.
func TestSameRequest(t *testing.T) {
	stored := validEntry()
	var v apperr.ValidationError
	ValidateEntry(&stored, "d", testNow, formHosts, &v)
	stored.RecordedAt = testNow
	// A withdrawal sent 30 s ahead of the service's clock took effect when recorded.
	ahead := testNow.Add(30 * time.Second)
	aheadStored := Entry{Purpose: PurposeKennelClubDisclosure, Decision: DecisionWithdrawn, Method: MethodPhone,
		EffectiveAt: testNow, RecordedAt: testNow}
	for _, tc := range []struct {
		name   string
		stored Entry
		change func(*Entry)
		given  time.Time
		same   bool
	}{
		{"retry", stored, func(*Entry) {}, time.Time{}, true},
		{"retry naming the effective time", stored, func(*Entry) {}, testNow, true},
		{"retry naming it in another zone and finer", stored, func(*Entry) {},
			testNow.In(time.FixedZone("EET", 2*60*60)).Add(time.Microsecond), true},
		{"another effective time", stored, func(*Entry) {}, testNow.Add(time.Hour), false},
		{"another purpose", stored, func(e *Entry) { e.Purpose = PurposeKennelClubDisclosure }, time.Time{}, false},
		{"another scope", stored, func(e *Entry) { e.Scope = "0190f5a4-1f00-7000-8000-0000000000b2" }, time.Time{}, false},
		{"another decision", stored, func(e *Entry) { e.Decision = DecisionWithdrawn }, time.Time{}, false},
		{"another method", stored, func(e *Entry) { e.Method = MethodEmail }, time.Time{}, false},
		{"another evidence", stored, func(e *Entry) { e.EvidenceRef = "form-118" }, time.Time{}, false},
		{"another statement version", stored, func(e *Entry) { e.StatementVersion = "2026-02" }, time.Time{}, false},
		{"a renewal", stored, func(e *Entry) { e.ValidUntil = e.ValidUntil.AddDate(1, 0, 0) }, time.Time{}, false},
		{"another start", stored, func(e *Entry) { e.ValidFrom = testNow }, time.Time{}, false},
		{"prohibition sent ahead, retried later", aheadStored, func(*Entry) {}, ahead, true},
		{"prohibition sent too far ahead", aheadStored, func(*Entry) {}, testNow.Add(2 * time.Minute), false},
		{"prohibition sent earlier", aheadStored, func(*Entry) {}, testNow.Add(-time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.stored
			e.RecordedAt = time.Time{}
			tc.change(&e)
			if got := SameRequest(tc.stored, e, tc.given); got != tc.same {
				t.Fatalf("SameRequest = %v, want %v", got, tc.same)
			}
		})
	}
}

// TestIsRetryOf: a retry is compared with the stored entry in normal form, whatever
// rules were tightened since the entry was recorded: a statement version typed as free
// text, or an insurer's name as scope, recorded before either had to be what it is now.
func TestIsRetryOf(t *testing.T) {
	// stored is an insurer grant as a release before those rules kept it.
	stored := Entry{
		Purpose: PurposeInsurerDisclosure, Scope: "LähiTapiola", Decision: DecisionGranted, Method: MethodWritten,
		EvidenceRef: "form-2025/9", StatementVersion: "Seloste 2025", EffectiveAt: testNow, RecordedAt: testNow,
	}
	canonical := stored
	canonical.Scope, canonical.StatementVersion = "0190f5a4-1f00-7000-8000-0000000000a1", "2025-01"
	for _, tc := range []struct {
		name   string
		stored Entry
		change func(*Entry)
		retry  bool
	}{
		{"as sent then", stored, func(*Entry) {}, true},
		{"with spaces around the texts", stored, func(e *Entry) {
			e.Scope, e.StatementVersion, e.EvidenceRef = " LähiTapiola ", " Seloste 2025 ", " form-2025/9 "
		}, true},
		{"naming the effective time finer", stored, func(e *Entry) { e.EffectiveAt = testNow.Add(time.Microsecond) }, true},
		{"another statement", stored, func(e *Entry) { e.StatementVersion = "Seloste 2026" }, false},
		{"another insurer's name", stored, func(e *Entry) { e.Scope = "Fennia" }, false},
		{"a withdrawal", stored, func(e *Entry) { e.Decision, e.StatementVersion = DecisionWithdrawn, "" }, false},
		{"the id in upper case", canonical, func(e *Entry) { e.Scope = strings.ToUpper(e.Scope) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := tc.stored
			asked.RecordedAt = time.Time{}
			tc.change(&asked)
			if got := IsRetryOf(tc.stored, asked); got != tc.retry {
				t.Fatalf("IsRetryOf = %v, want %v", got, tc.retry)
			}
		})
	}
}

// referenceCase is a text given as a reference and whether it is one.
type referenceCase struct {
	name, s string
	valid   bool
}

// checkReferences checks each case as a decision's evidence, with formHosts set up: a
// text that is no reference is refused with one violation, on its field.
func checkReferences(t *testing.T, cases []referenceCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v apperr.ValidationError
			CheckReference("evidence_ref", tc.s, formHosts, &v)
			if tc.valid != (v.Err() == nil) {
				t.Fatalf("CheckReference(%q) = %v, want valid %v", tc.s, v.Err(), tc.valid)
			}
			if !tc.valid && (len(v.Violations) != 1 || v.Violations[0].Field != "evidence_ref") {
				t.Fatalf("violations %v, want one on evidence_ref", v.Violations)
			}
		})
	}
}

// TestCheckReference: the evidence clinics keep of a decision, a filed number, an
// e-mail's Message-ID or a form submission's link, is a reference; a note, a name, an
// e-mail address or words beside a reference are not.
func TestCheckReference(t *testing.T) {
	outlook := "<AM6PR08MB41180B2C1F8F3E2D7A8E3C1D3B3A40@AM6PR08MB4118.eurprd08.prod.outlook.com>"
	checkReferences(t, []referenceCase{
		{"a form number", "form-17", true},
		{"a year and a number", "2026/117", true},
		{"a Finnish form number", "lomake-ä17#2", true},
		{"a Gmail Message-ID", "<CAF3jK8x9+1234@mail.gmail.com>", true},
		{"an Outlook Message-ID, longer than a number may be", outlook, true},
		{"a Message-ID of atext", "<a!#$%&'*+-/=?^_`{|}~1.x@host.example>", true},
		{"a submission's link", "https://lomakkeet.example.fi/vastaus?id=8841", true},
		{"a link over http", "HTTP://Forms.example.fi/s/8841", true},
		{"a link of the longest", "https://f.example.fi/" + strings.Repeat("8", 256-21), true},
		// A phone number written as digits, with hyphens or slashes, cannot be told from
		// a case number; written with +358, spaces or parentheses it is refused.
		{"a phone number's digits, as a case number's", "0401234567", true},
		{"a phone number with a hyphen, as a case number's", "040-1234567", true},
		{"a phone number with spaces", "040 123 4567", false},
		{"a phone number with +358", "+358401234567", false},
		{"a phone number with parentheses", "(040)1234567", false},
		{"a number too long", strings.Repeat("7", 65), false},
		{"a Message-ID too long", "<" + strings.Repeat("7", 250) + "@x.fi>", false},
		{"a link too long", "https://f.example.fi/" + strings.Repeat("8", 256-20), false},
		{"a bare e-mail address", "aino.laine85@example.fi", false},
		{"an e-mail address in brackets", "<aino.laine@example.fi>", false},
		{"a Message-ID with a space", "<CAF3jK8x9 1234@mail.gmail.com>", false},
		{"a Message-ID and a name", "<CAF3jK8x9+1234@mail.gmail.com> Aino Laine", false},
		{"a Message-ID without its bracket", "<CAF3jK8x9+1234@mail.gmail.com", false},
		{"a Message-ID without a domain", "<CAF3jK8x9+1234@>", false},
		{"a Message-ID with two @", "<a1@b@mail.example>", false},
		{"a Message-ID with an empty atom", "<a1..b@mail.example>", false},
		{"a Message-ID with non-ASCII", "<ä1@mail.example>", false},
		{"a Message-ID with an identity code", "<131052-308T@mail.example>", false},
		{"a link with a space", "https://lomakkeet.example.fi/vastaus?id=8841 Aino", false},
		{"a link with an escaped space", "https://lomakkeet.example.fi/vastaus?nimi=Aino%20Laine", false},
		{"a link with a plus for a space", "https://lomakkeet.example.fi/vastaus?nimi=Aino+Laine", false},
		{"a link with an e-mail address", "https://lomakkeet.example.fi/vastaus?email=aino@example.fi", false},
		{"a link with an escaped e-mail address", "https://lomakkeet.example.fi/vastaus?email=aino%40example.fi", false},
		{"a link with a user", "https://aino:salasana@lomakkeet.example.fi/vastaus?id=8841", false},
		{"a link without a host", "https:///vastaus?id=8841", false},
		{"a link with a bad escape", "https://lomakkeet.example.fi/vastaus?id=%zz", false},
		{"a link with an identity code", "https://lomakkeet.example.fi/vastaus?hetu=131052-308T", false},
		{"a link with an escaped identity code", "https://lomakkeet.example.fi/vastaus?hetu=131052%2D308T", false},
		{"a mail link", "mailto:aino1@example.fi", false},
		{"a link with a fragment", "https://forms.example.fi/s/8841#answer", false},
	})
}

// TestMessageIDIsNotAnAddress: the Message-IDs mail programs and services write are
// kept, a counter or a number among words included; an e-mail address put in angle
// brackets, two names or more, or a name with a tag, is refused and told why. A single
// word with digits, or names with a number set apart after them, passes: no shape
// tells it from a machine's (DATA_PROTECTION's accepted false negatives).
func TestMessageIDIsNotAnAddress(t *testing.T) {
	checkReferences(t, []referenceCase{
		{"Gmail", "<CAF3jK8x9+1234@mail.gmail.com>", true},
		{"Gmail starting CA+", "<CA+OvIeD3XyZq9w2kR_mN0=pLs5TbA7cQ@mail.gmail.com>", true},
		{"Gmail with = and -", "<CAKx9T7=abc-DEF_gHiJ+kLmN@mail.gmail.com>", true},
		{"Outlook", "<AM6PR08MB41180B2C1F8F3E2D7A8E3C1D3B3A40@AM6PR08MB4118.eurprd08.prod.outlook.com>", true},
		{"Outlook desktop", "<000001d9a1b2$3c4d5e60$b5e8f020$@example.fi>", true},
		{"Thunderbird", "<5f1e3a2b-7c4d-4e9f-8a1b-2c3d4e5f6a7b@gmail.com>", true},
		{"Thunderbird before UUIDs", "<5A1B2C3D.4050607@example.fi>", true},
		{"Apple Mail", "<8D6A5F1E-3C2B-4A19-9E7D-1F2A3B4C5D6E@icloud.com>", true},
		{"Evolution", "<1701234567.12345.3.camel@example.fi>", true},
		{"Gnus", "<87abc1xyz.fsf@example.fi>", true},
		{"Mutt", "<20261204171500.GA12345@example.fi>", true},
		{"Python's make_msgid", "<170123456789.12345.1234567890123456789@example.fi>", true},
		{"Yahoo", "<1234567.1234567.1701234567890@mail.yahoo.com>", true},
		{"GitHub", "<lillvet/register/pull/123/c4567890@github.com>", true},
		{"Amazon SES", "<0100018c1a2b3c4d-5e6f7a8b-1234-4abc-9def-0123456789ab-000000@email.amazonses.com>", true},
		{"a word and a counter", "<em1234.5678@example.com>", true},
		{"a form service's", "<lillvet-form-17@klinikka.fi>", true},
		{"a form and a submission", "<form17.8841@lomakkeet.example.fi>", true},
		{"Jira", "<JIRA.12345.1701234567000@Atlassian.JIRA>", true},
		{"Mailman", "<mailman.123.1701234567.12345.python-list@python.org>", true},
		{"Bugzilla", "<bug-12345-1234@bugzilla.example.org>", true},
		{"a year and a counter", "<msg-2026-1234@klinikka.fi>", true},
		{"one word and digits", "<ainolaine85@gmail.com>", true},
		{"names and a number set apart", "<aino.laine.85@gmail.com>", true},
		{"names and a single digit", "<matti.virtanen.2@klinikka.fi>", true},
	})
	for _, tc := range []struct{ name, s string }{
		{"an address", "<aino.laine85@gmail.com>"},
		{"an address without a digit", "<aino.laine@example.fi>"},
		{"an address with a tag", "<aino.laine+1@gmail.com>"},
		{"an address with an underscore", "<aino_laine85@example.fi>"},
		{"an address with a hyphen", "<aino-maria.laine1@example.fi>"},
		{"an address with an initial", "<a.laine2@example.fi>"},
		{"an address surname first", "<Laine85.Aino@example.fi>"},
		{"an address with a word tag", "<laine85+consent@example.fi>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v apperr.ValidationError
			CheckReference("evidence_ref", tc.s, formHosts, &v)
			if len(v.Violations) != 1 || v.Violations[0].Description != ReferenceAddressViolation {
				t.Fatalf("CheckReference(%q) violations %v, want %q", tc.s, v.Violations, ReferenceAddressViolation)
			}
		})
	}
}

// TestSubmissionLinkIsAReference: a link is evidence only to one of the clinic's form
// services, and then its path and query, however escaped, hold a reference, never a
// name, an address, a note, an e-mail address, a phone number or an identity code.
func TestSubmissionLinkIsAReference(t *testing.T) {
	checkReferences(t, []referenceCase{
		{"a submission's link", "https://lomakkeet.example.fi/vastaus?id=8841", true},
		{"a submission's id in the path", "https://lomakkeet.example.fi/s/2026/8841-a3f9", true},
		{"an escaped reference", "https://lomakkeet.example.fi/vastaus?id=88%2D41", true},
		{"a host not named", "https://lomakkeet.example.com/vastaus?id=8841", false},
		{"a host named by a name", "https://aino-laine.example.fi/vastaus?id=8841", false},
		{"a host in another script", "https://lomakkeet.esimerkki.fi/vastaus?id=8841&nimi=äiti", false},
		{"an IDN host", "https://äinö.example.fi/8841", false},
		{"a punycode host", "https://xn--in-cia.example.fi/8841", false},
		{"a named host with a port", "https://lomakkeet.example.fi:8443/vastaus?id=8841", false},
		{"no digit", "https://lomakkeet.example.fi/vastaus", false},
		{"a fragment", "https://lomakkeet.example.fi/vastaus?id=8841#Aino", false},
		{"a note in the fragment", "https://lomakkeet.example.fi/vastaus#Aino+Laine+soitti", false},
		{"an escaped fragment", "https://lomakkeet.example.fi/vastaus?id=8841%23Aino", false},
		{"a user", "https://aino:x1@lomakkeet.example.fi/vastaus?id=8841", false},
		{"a plus in the path", "https://lomakkeet.example.fi/Aino+Laine/8841", false},
		{"an e-mail address written (at)", "https://lomakkeet.example.fi/v?e=aino.laine85(at)example.fi", false},
		{"an escaped (at)", "https://lomakkeet.example.fi/v?e=aino.laine85%28at%29example.fi", false},
		{"a full-width at sign", "https://lomakkeet.example.fi/v?e=aino.laine85＠example.fi", false},
		{"an escaped full-width at sign", "https://lomakkeet.example.fi/v?e=aino.laine85%EF%BC%A0example.fi", false},
		{"a phone number", "https://lomakkeet.example.fi/v?puh=%2B358401234567", false},
		{"a double-escaped phone number", "https://lomakkeet.example.fi/v?puh=%252B358401234567", false},
		{"an identity code split by a slash", "https://lomakkeet.example.fi/v/131052/308T", false},
		{"an identity code with the year in full", "https://lomakkeet.example.fi/v/13101952-308T", false},
		{"an identity code with no letter", "https://lomakkeet.example.fi/v/010124/0730", false},
		{"a double-escaped identity code", "https://lomakkeet.example.fi/v?h=131052%252D308T", false},
		{"an identity code after a word", "https://lomakkeet.example.fi/v/hetu131052-308T", false},
		{"a bad escape", "https://lomakkeet.example.fi/v?id=8841%2", false},
		{"a bad escape once decoded", "https://lomakkeet.example.fi/v?id=8841%25zz", false},
		{"a non-ASCII path", "https://lomakkeet.example.fi/vastaus/Äiti-1", false},
	})
	t.Run("no form service set up", func(t *testing.T) {
		var v apperr.ValidationError
		CheckReference("evidence_ref", "https://lomakkeet.example.fi/vastaus?id=8841", nil, &v)
		if v.Err() == nil {
			t.Fatal("a link is kept with no form service set up")
		}
	})
}

// TestNewLinkHosts: the setting names host names, compared in lower case.
func TestNewLinkHosts(t *testing.T) {
	hosts, err := NewLinkHosts([]string{"Lomakkeet.example.fi", " forms.example.fi"})
	if err != nil || !hosts["lomakkeet.example.fi"] || !hosts["forms.example.fi"] || len(hosts) != 2 {
		t.Fatalf("NewLinkHosts = %v, %v", hosts, err)
	}
	// Each refusal says why, and how to write a name whose usual spelling is refused.
	for _, tc := range []struct{ bad, want string }{
		{"", "is not a host name"},
		{"https://lomakkeet.example.fi", "is not a host name"},
		{"lomakkeet.example.fi:443", "is not a host name"},
		{"lomakkeet.example.fi/v", "is not a host name"},
		{".example.fi", "is not a host name"},
		{"a..fi", "is not a host name"},
		{"lomakkeet.example.fi.", "write the host name without the final dot"},
		{"äinö.example.fi", "write an international name in its xn-- form"},
		{"äinö.example.fi.", "write an international name in its xn-- form"},
	} {
		if _, err := NewLinkHosts([]string{tc.bad}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewLinkHosts(%q) = %v, want an error saying %q", tc.bad, err, tc.want)
		}
	}
}

// TestReferenceShapedLikeAnIdentityCode: a reference refused for a number shaped like
// an identity code with no letter (a date and time) is told how to write it as a
// reference, and what the advice suggests passes, where the general advice (a date and
// time in words) would be refused for its spaces; one refused for a code with a letter
// is told not to write the code, and the code written the advised ways is refused.
func TestReferenceShapedLikeAnIdentityCode(t *testing.T) {
	checks := map[string]func(s string, v *apperr.ValidationError){
		"evidence_ref": func(s string, v *apperr.ValidationError) { CheckReference("evidence_ref", s, formHosts, v) },
		"reason":       func(s string, v *apperr.ValidationError) { NormalizeRestrictionReason(s, "reason", formHosts, v) },
	}
	for field, check := range checks {
		for _, tc := range []struct{ s, want string }{
			{"010124-0730", ReferenceIdentityCodeViolation},
			{"131052-308T", ReferenceLetteredCodeViolation},
			{"<131052-308T@mail.example>", ReferenceLetteredCodeViolation},
			{"010190Y123M", ReferenceLetteredCodeViolation},
			{"131052/308T", ReferenceLetteredCodeViolation},
			{"case/131052/308t", ReferenceLetteredCodeViolation},
			{"13101952-308T", ReferenceLetteredCodeViolation},
			{"13101952/308T", ReferenceLetteredCodeViolation},
			{"case:13101952-308T", ReferenceLetteredCodeViolation},
			{"01011990-123M", ReferenceLetteredCodeViolation},
			{"hetu131052.308T", ReferenceLetteredCodeViolation},
			{"1952-10-13/308T", ReferenceLetteredCodeViolation},
			// In a form link the code is told of too, not just that the link is no
			// reference: staff cannot guess what is wrong with a link they copied.
			{"https://lomakkeet.example.fi/v/131052.308T", ReferenceLetteredCodeViolation},
			{"https://lomakkeet.example.fi/v?d=131052&n=308T", ReferenceLetteredCodeViolation},
		} {
			t.Run(field+" "+tc.s, func(t *testing.T) {
				var v apperr.ValidationError
				check(tc.s, &v)
				if len(v.Violations) != 1 || v.Violations[0].Description != tc.want {
					t.Fatalf("violations %v, want %q", v.Violations, tc.want)
				}
			})
		}
		// Written the advised ways, a number with no letter passes, as does a longer
		// number running on after a code's shape.
		for _, s := range []string{"010124/0730", "01012024-0730", "13101952-308T9"} {
			t.Run(field+" passes "+s, func(t *testing.T) {
				var v apperr.ValidationError
				check(s, &v)
				if v.Err() != nil {
					t.Fatalf("%q is refused: %v", s, v.Err())
				}
			})
		}
		for _, advised := range []string{"010124/0730", "01012024-0730"} {
			t.Run(field+" advised "+advised, func(t *testing.T) {
				if !strings.Contains(ReferenceIdentityCodeViolation, advised) {
					t.Fatalf("the advice does not suggest %q", advised)
				}
				var v apperr.ValidationError
				check(advised, &v)
				if v.Err() != nil {
					t.Fatalf("the advised %q is refused: %v", advised, v.Err())
				}
			})
		}
	}
}

// TestReferenceHoldsNoCodeHoweverSeparated: an identity code with a letter is refused
// however its groups are set apart or run together, in a number and in a link, while a
// filed number, a date and time written as the advice says, and a link's id pass.
func TestReferenceHoldsNoCodeHoweverSeparated(t *testing.T) {
	link := "https://lomakkeet.example.fi"
	checkReferences(t, []referenceCase{
		{"a dot", "131052.308T", false},
		{"an underscore", "131052_308T", false},
		{"a colon", "131052:308T", false},
		{"a hash", "131052#308T", false},
		{"no separator", "131052308T", false},
		{"after a word", "hetu131052.308T", false},
		{"after a word with a hyphen", "hetu131052-308T", false},
		{"as issued, run into a word", "131052-308Tkissa", false},
		{"as issued in lower case, run into a word", "hetu131052-308tx", false},
		{"a dotted date", "13.10.52-308T", false},
		{"a date year first", "1952-10-13/308T", false},
		{"a date year first run together", "19521013308T", false},
		{"a full year with a dot", "13101952.308T", false},
		{"a lettered century sign apart", "010190Y/123M", false},
		{"a link with a dot", link + "/v?id=131052.308T", false},
		{"a link with an underscore", link + "/v?id=131052_308T", false},
		{"a link with a colon", link + "/v?id=131052:308T", false},
		{"a link split across parameters", link + "/v?d=131052&n=308T", false},
		{"a link run together", link + "/v/131052308T", false},
		{"a link with a date year first", link + "/v?id=1952-10-13-308T", false},
		{"a link with a full year after a word", link + "/v/hetu13101952.308T", false},
		{"a link split between path and query", link + "/v/131052?n=308T", false},
		{"a link split by the query's question mark", link + "/v/131052?308T", false},
		{"a Message-ID with an exclamation mark", "<131052!308T@klinikka.fi>", false},
		{"a Message-ID with an asterisk", "<131052*308T@klinikka.fi>", false},
		{"a Message-ID with a percent sign", "<131052%308T@klinikka.fi>", false},
		{"full-width digits with a dot", "１３１０５２.３０８T", false},
		{"full-width digits run together", "１３１０５２３０８T", false},
		{"a form number", "form-17", true},
		{"a year and a number", "2026/117", true},
		{"a date and time with a slash", "010124/0730", true},
		{"a date and time with the year in full", "01012024-0730", true},
		{"a case number with a date", "case-2026-10-13-117", true},
		{"a full year after a word", "hetu13101952-308T", false},
		{"a full year after a letter", "X13101952-308T", false},
		{"a submission's link", link + "/vastaus?id=8841", true},
		{"a link with two ids", link + "/v?form=17&id=8841-a3f9", true},
		{"a link with a date", link + "/s/2026/10/13/8841", true},
		{"a link with a date, an id and a word", link + "/s/2026/05/08/86124/vastaus", true},
		{"a link with a date read as a full year", link + "/s/2026/08/18/20573/vastaus", true},
		{"a link with a long id and a language", link + "/v?id=011063206&lang=fi", true},
		{"a date and a number ending in a letter", "210129/2045A", true},
		{"an invoice number", "INV-2020-390152-U", true},
		{"a long number and a letter", "8021048965-V", true},
	})
}

func TestNormalizeRestrictionReason(t *testing.T) {
	const job = "0199a0b0-0000-7000-8000-000000000011"
	for _, tc := range []struct {
		name, reason, want string
		invalid            bool
	}{
		{"the erasure job's", "erasure request " + job, "erasure request " + job, false},
		{"as changereason writes it", changereason.Erasure(job), changereason.Erasure(job), false},
		{"its id in another form", " erasure request {" + strings.ToUpper(job) + "} ", "erasure request " + job, false},
		{"a case number", "case-2026-17", "case-2026-17", false},
		{"empty", "  ", "", true},
		{"an erasure request named in words", "erasure request from Aino Laine", "", true},
		{"an erasure request by number", "erasure request 12", "", true},
		{"a note", "Aino Laine soitti: kieltää kaiken", "", true},
		{"a word", "lift", "", true},
		{"an identity code", "131052-308T", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v apperr.ValidationError
			got := NormalizeRestrictionReason(tc.reason, "reason", formHosts, &v)
			if tc.invalid {
				if len(v.Violations) != 1 || v.Violations[0].Field != "reason" {
					t.Fatalf("violations %v, want one on reason", v.Violations)
				}
				return
			}
			if v.Err() != nil || got != tc.want {
				t.Fatalf("got %q (%v), want %q", got, v.Err(), tc.want)
			}
		})
	}
}

// FuzzRestrictionReason checks that what passes is in normal form and holds no white
// space but the erasure request's prefix: no words beside a reference.
func FuzzRestrictionReason(f *testing.F) {
	for _, s := range []string{"erasure request 0199a0b0-0000-7000-8000-000000000011", "case-2026-17", "Aino Laine 12", "erasure request {x}", "\xff1",
		"<CAF3jK8x9+1234@mail.gmail.com>", "https://lomakkeet.example.fi/vastaus?id=8841"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reason string) {
		var v apperr.ValidationError
		got := NormalizeRestrictionReason(reason, "reason", formHosts, &v)
		if v.Err() != nil {
			return
		}
		words := got
		if id, ok := changereason.ErasureRequest(got); ok {
			words = id
		}
		if strings.ContainsFunc(words, unicode.IsSpace) {
			t.Fatalf("%q passed as %q, with white space", reason, got)
		}
		if again := NormalizeRestrictionReason(got, "reason", formHosts, &v); v.Err() != nil || again != got {
			t.Fatalf("normal form is not stable: %q then %q (%v)", got, again, v.Err())
		}
	})
}
