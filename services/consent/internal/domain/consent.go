// Package domain holds the consent ledger's entities and rules (DESIGN rule 4): purposes
// and their scopes, the decisions a customer makes about them, how an entry is validated,
// and how the current state is derived from the append-only ledger. It knows nothing of
// gRPC or MongoDB.
package domain

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/docid"
	"github.com/lillvet/register/services/platform/identitycode"
)

// Purpose is a use of the owner's data that the owner may allow or forbid.
type Purpose string

// The purposes. The first four are opt-out (allowed until the owner objects); every
// disclosure is opt-in (allowed only with a grant on record).
const (
	PurposeDirectMarketing     Purpose = "direct_marketing"
	PurposeStatisticalResearch Purpose = "statistical_research"
	PurposeServiceDevelopment  Purpose = "service_development"
	PurposeCareReminders       Purpose = "care_reminders"
	PurposeInsurerDisclosure   Purpose = "insurer_disclosure"
	// PurposeKennelClubDisclosure is disclosure to the Finnish Kennel Club (Kennelliitto).
	PurposeKennelClubDisclosure Purpose = "kennel_club_disclosure"
	// PurposeCatFederationDisclosure is disclosure to the Finnish Cat Federation (Kissaliitto).
	PurposeCatFederationDisclosure Purpose = "cat_federation_disclosure"
	// PurposeMicrochipRegistryDisclosure is disclosure to one microchip registry under the
	// found-animal service terms; its scope is the registry's recipient id.
	PurposeMicrochipRegistryDisclosure Purpose = "microchip_registry_disclosure"
)

// Purposes returns every purpose in the order states are listed.
func Purposes() []Purpose {
	return []Purpose{
		PurposeDirectMarketing, PurposeStatisticalResearch, PurposeServiceDevelopment,
		PurposeCareReminders, PurposeInsurerDisclosure, PurposeKennelClubDisclosure,
		PurposeCatFederationDisclosure, PurposeMicrochipRegistryDisclosure,
	}
}

// Valid reports whether p is a known purpose.
func (p Purpose) Valid() bool {
	return purposeRank(p) >= 0
}

// OptIn reports whether p is allowed only with a grant on record. Unknown purposes
// count as opt-in, so that nothing unknown is ever allowed by default.
func (p Purpose) OptIn() bool {
	switch p {
	case PurposeDirectMarketing, PurposeStatisticalResearch, PurposeServiceDevelopment, PurposeCareReminders:
		return false
	default:
		return true
	}
}

// RecipientScoped reports whether p is a disclosure to one of several recipients of a
// kind, whose grant names the recipient by its id as scope: an insurer, a microchip
// registry (Finland has several; a grant to one is not a grant to the others).
func (p Purpose) RecipientScoped() bool {
	return p == PurposeInsurerDisclosure || p == PurposeMicrochipRegistryDisclosure
}

// purposeRank is p's position in Purposes, or -1 for an unknown purpose.
func purposeRank(p Purpose) int {
	for i, known := range Purposes() {
		if p == known {
			return i
		}
	}
	return -1
}

// The direct-marketing channels, used as the scope of PurposeDirectMarketing.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelPost  = "post"
	ChannelPhone = "phone"
)

// Channels returns the direct-marketing channels in the order states are listed.
func Channels() []string {
	return []string{ChannelEmail, ChannelSMS, ChannelPost, ChannelPhone}
}

// Decision is what the owner decided about a purpose.
type Decision string

// The decisions.
const (
	DecisionGranted   Decision = "granted"
	DecisionRefused   Decision = "refused"
	DecisionWithdrawn Decision = "withdrawn"
	// DecisionObjected is the owner's right to object (GDPR Art. 21), meant for opt-out
	// purposes. On an opt-in purpose it is recorded as given and denies like a withdrawal.
	DecisionObjected Decision = "objected"
)

// Valid reports whether d is a known decision.
func (d Decision) Valid() bool {
	switch d {
	case DecisionGranted, DecisionRefused, DecisionWithdrawn, DecisionObjected:
		return true
	default:
		return false
	}
}

// Method is how the owner gave the decision.
type Method string

// The methods.
const (
	MethodInPerson   Method = "in_person"
	MethodWritten    Method = "written"
	MethodEmail      Method = "email"
	MethodPhone      Method = "phone"
	MethodOnlineForm Method = "online_form"
)

// Valid reports whether m is a known method.
func (m Method) Valid() bool {
	switch m {
	case MethodInPerson, MethodWritten, MethodEmail, MethodPhone, MethodOnlineForm:
		return true
	default:
		return false
	}
}

// needsEvidence reports whether a decision given this way leaves a document (a signed
// form, a message, a form submission) whose reference must be recorded, so that the
// clinic can show the decision later (GDPR Art. 7(1)). In person and by phone the
// recording receptionist is the evidence.
func (m Method) needsEvidence() bool {
	return m == MethodWritten || m == MethodEmail || m == MethodOnlineForm
}

// Entry is one decision in an owner's ledger. Entries are never changed or deleted.
type Entry struct {
	ID      string
	OwnerID string
	// Seq orders one owner's entries totally; the store assigns it, unique per owner.
	Seq      int64
	Purpose  Purpose
	Scope    string
	Decision Decision
	Method   Method
	// EvidenceRef points at the signed form, message id or form submission: a
	// reference (CheckReference), never a note.
	EvidenceRef string
	// StatementVersion is the version of the privacy statement the owner was shown.
	StatementVersion string
	// ValidFrom and ValidUntil bound a grant; zero means unbounded on that side.
	ValidFrom  time.Time
	ValidUntil time.Time
	// EffectiveAt is when the decision takes effect; zero on input means now.
	EffectiveAt time.Time
	// RecordedBy is the subject of the caller who recorded the entry, RecordedByName
	// their display name.
	RecordedBy     string
	RecordedByName string
	RecordedAt     time.Time
}

// Bounds on the text fields, so one request cannot store megabytes.
const (
	maxReferenceLen = 64
	// maxLinkedReferenceLen bounds an e-mail's Message-ID and a form submission's link.
	// Mail programs write Message-IDs of up to about 100 characters (Gmail's some 70,
	// Outlook's some 90), and a form service's submission link, a host and a path with
	// an id or two, is rarely longer; 256 holds each more than twice over, while a
	// ledger entry stays small and a reference is still no place for a letter.
	maxLinkedReferenceLen = 256
	// maxStatementVersionLen bounds a statement version: a label such as 2026-01 or
	// tietosuojaseloste-2026-01 fits, a sentence does not.
	maxStatementVersionLen = 32
	// maxFutureEffective bounds how far ahead a grant may be scheduled.
	maxFutureEffective = 366 * 24 * time.Hour
	// maxClockSkew is how far ahead of the service's clock a client's "now" may be.
	maxClockSkew = time.Minute
)

// The range of instants a time field may hold: ages before the register are typing
// errors, and years past 9999 do not fit a protobuf Timestamp.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ValidateEntry validates e in place: purpose, scope, decision, method, evidence,
// statement version and times. prefix is the request's field path of the entry (e.g.
// "decision"). It normalises the scope and text fields, defaults EffectiveAt to now and
// rounds times to UTC milliseconds, the precision the store keeps. ID, OwnerID, Seq,
// RecordedBy and RecordedAt are assigned by the service and not checked here.
//
// Only a grant may carry a validity period or be scheduled beyond now; a grant needs the
// statement version the owner was shown (a version, checkStatementVersion); written, e-mail and online-form decisions need
// an evidence reference (CheckReference, a link only to one of hosts).
func ValidateEntry(e *Entry, prefix string, now time.Time, hosts LinkHosts, v *apperr.ValidationError) {
	if !e.Purpose.Valid() {
		v.Add(prefix+".purpose", "is not a known purpose")
	} else {
		e.Scope = NormalizeScope(e.Purpose, e.Scope, prefix+".scope", v)
	}
	if !e.Decision.Valid() {
		v.Add(prefix+".decision", "must be granted, refused, withdrawn or objected")
	}
	if !e.Method.Valid() {
		v.Add(prefix+".method", "must be in_person, written, email, phone or online_form")
	}
	e.EvidenceRef = strings.TrimSpace(e.EvidenceRef)
	switch {
	case e.EvidenceRef != "":
		CheckReference(prefix+".evidence_ref", e.EvidenceRef, hosts, v)
	case e.Method.needsEvidence():
		v.Add(prefix+".evidence_ref", "is required for a written, e-mail or online-form decision")
	}
	e.StatementVersion = strings.TrimSpace(e.StatementVersion)
	checkStatementVersion(prefix+".statement_version", e.StatementVersion, v)
	if e.StatementVersion == "" && e.Decision == DecisionGranted {
		v.Add(prefix+".statement_version", "is required for a grant")
	}
	validateTimes(e, prefix, now, v)
}

// SameRequest reports whether stored, the entry a request id already recorded, is what
// e (validated) asks to record: the same purpose, scope, decision, method, evidence
// reference, statement version and validity, and, when the client set it (given is its
// effective time as sent, zero when unset), the same effective time. A retry must find
// its entry; a request id reused for another decision (a renewed grant, a later
// withdrawal) must not be answered with the first as if the second were recorded.
func SameRequest(stored, e Entry, given time.Time) bool {
	return stored.Purpose == e.Purpose && stored.Scope == e.Scope && stored.Decision == e.Decision &&
		stored.Method == e.Method && stored.EvidenceRef == e.EvidenceRef &&
		stored.StatementVersion == e.StatementVersion &&
		stored.ValidFrom.Equal(e.ValidFrom) && stored.ValidUntil.Equal(e.ValidUntil) &&
		sameEffectiveTime(stored, given)
}

// IsRetryOf reports whether asked, a decision sent again under the request id that
// recorded stored, asks for stored (SameRequest). asked is put in the normal form
// ValidateEntry gives, as of when stored was recorded, but not judged by the rules:
// stored met the rules in force then, which may have been tightened since, and the
// retry only repeats it.
func IsRetryOf(stored, asked Entry) bool {
	given := asked.EffectiveAt
	var notJudged apperr.ValidationError
	ValidateEntry(&asked, "decision", stored.RecordedAt, nil, &notJudged)
	return SameRequest(stored, asked, given)
}

// sameEffectiveTime reports whether given, the effective time a client sent, is the
// stored entry's. A prohibition sent with a client clock up to maxClockSkew ahead was
// stored as taking effect when it was recorded (validateTimes), which a retry sent
// after that instant does not repeat.
func sameEffectiveTime(stored Entry, given time.Time) bool {
	if given.IsZero() {
		return true
	}
	given = storedTime(given)
	if stored.EffectiveAt.Equal(given) {
		return true
	}
	clamped := stored.Decision != DecisionGranted && stored.EffectiveAt.Equal(stored.RecordedAt)
	return clamped && given.After(stored.RecordedAt) && !given.After(stored.RecordedAt.Add(maxClockSkew))
}

// ReferenceViolation describes a text refused for not being a reference, with the
// three forms staff may write.
const ReferenceViolation = "must be a reference: a number such as form-17 or 2026/117 (letters, digits and - _ . / : #, " +
	"at least one digit, no spaces, at most 64 characters), an e-mail's Message-ID in angle brackets " +
	"such as <CAF3jK8x9+1234@mail.gmail.com>, or the link of a submission to one of the clinic's own form " +
	"services the consent service is set up with, such as https://lomakkeet.example.fi/vastaus?id=8841 " +
	"(at most 256 characters of letters, digits and - . _ ~ / ? = & :, at least one digit, no fragment): " +
	"names, e-mail addresses and notes are not kept in the consent ledger"

// ReferenceAddressViolation describes a reference refused for an e-mail address put
// in angle brackets: a Message-ID's shape whose left part reads as a person's mailbox
// (isMailboxName).
const ReferenceAddressViolation = "must be a reference, not an e-mail address: the left part of this Message-ID " +
	"reads as a person's mailbox (names joined by . _ - such as aino.laine85, or a name with a + tag); " +
	"copy the Message-ID from the message's headers, or refer to the message by a filed number"

// ReferenceIdentityCodeViolation describes a reference refused for text shaped like a
// personal identity code with no letter in it: a filed number such as a date and time
// (010124-0730) may be shaped so. apperr.IdentityCodeViolation's advice, a date and
// time written with words and spaces, would be refused here too; such a number passes
// written another way. A code with a letter is no number written so
// (ReferenceLetteredCodeViolation), and the same code written these other ways is
// refused too (holdsLetteredCode).
const ReferenceIdentityCodeViolation = "must not contain a personal identity code or text shaped like one " +
	"(six digits, a hyphen and four characters): write the number another way, with a slash " +
	"(010124/0730) or the year in full (01012024-0730)"

// ReferenceLetteredCodeViolation describes a reference refused for holding a personal
// identity code with a letter in it (a century sign other than "-" or a check
// character that is a letter), however its date and number are separated: no filed
// number is shaped so, so the advice is not to write the code, which has its own field
// in the owner's record.
const ReferenceLetteredCodeViolation = "must not contain a personal identity code: the code is kept " +
	"in the owner's record only; refer to the document by its number, without the code"

// CheckReference records field as invalid unless s is a reference to a document the
// clinic files: a number (a signed form's, a case's: at most maxReferenceLen letters,
// digits and - _ . / : #, with at least one digit), an e-mail's Message-ID
// (isMessageID) or the link of a submission to a form service of hosts
// (isSubmissionLink), each of the last two at most maxLinkedReferenceLen characters. The ledger keeps ids, enums and references
// only (DATA_PROTECTION.md), and is read by staff long after; a note typed there
// ("letter: Aino Laine, Ruukintie 1") would keep a name and an address no erasure of
// the owner's contact details reaches.
func CheckReference(field, s string, hosts LinkHosts, v *apperr.ValidationError) {
	valid, maxLen := isNumberReference, maxReferenceLen
	switch {
	case strings.HasPrefix(s, "<"):
		valid, maxLen = isMessageID, maxLinkedReferenceLen
	case hasHTTPScheme(s):
		valid, maxLen = hosts.isSubmissionLink, maxLinkedReferenceLen
	}
	switch {
	case !checkTokenText(field, s, maxLen, v):
	case holdsLetteredCode(s), hasHTTPScheme(s) && linkHoldsCode(s):
		v.Add(field, ReferenceLetteredCodeViolation)
	case isAddressInBrackets(s):
		v.Add(field, ReferenceAddressViolation)
	case !valid(s):
		v.Add(field, ReferenceViolation)
	}
}

// checkTokenText records field as invalid, and reports false, when s, a reference or a
// version (one token, which a date written with words and spaces would not be), fails
// CheckText: a text shaped like an identity code is told how a token may be written
// instead (identityCodeAdvice).
func checkTokenText(field, s string, maxLen int, v *apperr.ValidationError) bool {
	var text apperr.ValidationError
	text.CheckText(field, s, maxLen)
	for _, fv := range text.Violations {
		if fv.Description == apperr.IdentityCodeViolation {
			fv.Description = identityCodeAdvice(s)
		}
		v.Add(fv.Field, fv.Description)
	}
	return text.Err() == nil
}

// StatementVersionViolation describes a statement version refused for not being a
// version: the ledger keeps no names, addresses or notes (DATA_PROTECTION.md).
const StatementVersionViolation = "must be the privacy statement's version, such as 2026-01 or v1.2 " +
	"(ASCII letters, digits and - . _ /, no spaces, at most 32 characters): " +
	"names, addresses and notes are not kept in the consent ledger"

// checkStatementVersion records field as invalid unless s, when not empty, is a
// version of the privacy statement as the clinic labels them: ASCII letters, digits
// and - . _ /, at most maxStatementVersionLen characters, and no identity code.
func checkStatementVersion(field, s string, v *apperr.ValidationError) {
	if s != "" && checkTokenText(field, s, maxStatementVersionLen, v) && strings.ContainsFunc(s, notInVersion) {
		v.Add(field, StatementVersionViolation)
	}
}

func notInVersion(r rune) bool {
	return !isASCIILetter(r) && (r < '0' || r > '9') && !strings.ContainsRune("-._/", r)
}

// identityCodeAdvice is what to tell of s, a reference refused for text shaped like an
// identity code: how to write the number another way only when no letter in it says
// it is a code.
func identityCodeAdvice(s string) string {
	if identitycode.ContainsLettered(s) {
		return ReferenceLetteredCodeViolation
	}
	return ReferenceIdentityCodeViolation
}

// holdsLetteredCode reports whether s holds an identity code with a letter in it
// (lettered, below) standing apart from the letters and digits around it when its year
// is written in full: a code still names the person however its groups are set apart
// or run together (131052/308T, 131052.308T, 131052308T, 13.10.52-308T,
// 13101952-308T, 1952-10-13/308T, hetu131052_308T, <131052!308T@klinikka.fi>), and in
// full-width digits (１３１０５２.３０８T), read in their NFKC form. A date and time
// written as ReferenceIdentityCodeViolation advises (010124/0730) has no letter.
func holdsLetteredCode(s string) bool {
	return scanLetteredCodes(norm.NFKC.String(s))
}

// isCodeSeparator reports whether b may stand between a code's groups, or between its
// date's day, month and year: any ASCII character but a letter or a digit, as a
// Message-ID takes ! * % and more, and a link ? and &; the space is refused elsewhere
// but read here too.
func isCodeSeparator(b byte) bool {
	return b < utf8.RuneSelf && !isASCIILetter(rune(b)) && notASCIIDigit(rune(b))
}

// scanLetteredCodes reports whether s holds, starting anywhere, an identity code with
// a letter, its groups split by any run of separators (isCodeSeparator) or by none: DDMMYY, a
// century sign or none, NNN and the check character (a lettered century sign or a
// letter check character tell a code from a date and time), or with its year in full,
// DDMMYYYY or YYYYMMDD, then NNN and a letter. A code neither starts nor ends inside a
// longer run, no digit before it and no letter or digit after its check character, or
// any reference with enough digits would hold one somewhere: one link in 63 such as
// /s/2026/05/08/86124/vastaus read 050886-124V, its "v" from the word after it, and
// INV-2020-390152-U read 020390-152U. A code written as issued (131052-308T) is one
// whatever follows it, as no ordinary reference has that shape. Letters before a code
// do not bound it: they are a label (hetu13101952-308T) more often than part of a
// filed number, and a filed number of a letter, a date in full, three digits and a
// letter (X13101952-308T) is refused as often as one without the first letter is.
func scanLetteredCodes(s string) bool {
	for i := range len(s) {
		if digitBefore(s, i) {
			continue
		}
		if end, ok := shortCodeAt(s, i); ok && (!alnumAt(s, end) || isCode(s[i:end])) {
			return true
		}
		if end, ok := fullYearCodeAt(s, i); ok && !alnumAt(s, end) {
			return true
		}
	}
	return false
}

// shortCodeAt reports whether s[i:] starts with DDMMYY, a century sign or none, NNN
// and a check character, separated or not, making a lettered identity code; end is
// where the code ends. With no sign written, the code is tried in each century, as the
// sign only moves the date.
func shortCodeAt(s string, i int) (end int, ok bool) {
	date, j, ok := digitsAt(s, i, 6)
	if !ok {
		return 0, false
	}
	j = skipSeparators(s, j)
	signs, letteredSign := "-+A", false
	if j < len(s) && strings.IndexByte("+ABCDEFUVWXYabcdefuvwxy", s[j]) >= 0 {
		signs, letteredSign = strings.ToUpper(s[j:j+1]), s[j] != '+'
		j = skipSeparators(s, j+1)
	}
	number, j, ok := digitsAt(s, j, 3)
	if !ok {
		return 0, false
	}
	j = skipSeparators(s, j)
	// A digit check character is a code's only when its written sign is a letter.
	if j >= len(s) || !isASCIILetter(rune(s[j])) && (!letteredSign || notASCIIDigit(rune(s[j]))) {
		return 0, false
	}
	for _, sign := range signs {
		if isCode(date + string(sign) + number + s[j:j+1]) {
			return j + 1, true
		}
	}
	return 0, false
}

// fullYearCodeAt reports whether s[i:] starts with a date with its year in full, as
// DDMMYYYY or YYYYMMDD, then NNN and a letter, separated or not, making an identity
// code with a letter for its check character; end is where the code ends.
func fullYearCodeAt(s string, i int) (end int, ok bool) {
	date, j, ok := digitsAt(s, i, 8)
	if !ok {
		return 0, false
	}
	number, j, ok := digitsAt(s, skipSeparators(s, j), 3)
	j = skipSeparators(s, j)
	if !ok || j >= len(s) || !isASCIILetter(rune(s[j])) {
		return 0, false
	}
	check := s[j : j+1]
	for _, dmy := range []string{date, date[6:8] + date[4:6] + date[0:4]} {
		if code, ok := fullYearAsCode(dmy + "-" + number + check); ok && isCode(code) {
			return j + 1, true
		}
	}
	return 0, false
}

// digitsAt reads n ASCII digits from s[i:], skipping runs of separators between
// them, and returns them and where the last ends; false when s[i] is no digit or
// fewer than n follow.
func digitsAt(s string, i, n int) (digits string, end int, ok bool) {
	var b strings.Builder
	for i < len(s) && b.Len() < n {
		if b.Len() > 0 {
			i = skipSeparators(s, i)
		}
		if i >= len(s) || notASCIIDigit(rune(s[i])) {
			return "", 0, false
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String(), i, b.Len() == n
}

// skipSeparators returns the index of the first byte at or after i that is not one
// of the separators isCodeSeparator names.
func skipSeparators(s string, i int) int {
	for i < len(s) && isCodeSeparator(s[i]) {
		i++
	}
	return i
}

// fullYearCodeLen is the length of an identity code with its year in full, DDMMYYYY,
// a hyphen and NNNT.
const fullYearCodeLen = 13

// holdsCodeAnywhere reports whether s holds an identity code, DDMMYYCNNNT or with its
// year in full, with "/" read as "-", anywhere: also inside a longer run of letters and
// digits (hetu131052-308T), as a link's machine-made reference never holds one.
func holdsCodeAnywhere(s string) bool {
	s = strings.ReplaceAll(s, "/", "-")
	for i := range len(s) {
		if isCode(s[i:min(i+11, len(s))]) {
			return true
		}
		if i+fullYearCodeLen > len(s) {
			continue
		}
		if code, ok := fullYearAsCode(s[i : i+fullYearCodeLen]); ok && isCode(code) {
			return true
		}
	}
	return false
}

// isCode reports whether s is an identity code, a temporary one included.
func isCode(s string) bool {
	_, err := identitycode.Parse(s, true)
	return err == nil
}

// fullYearAsCode rewrites DDMMYYYY-NNNT as the identity code DDMMYYCNNNT, its century
// sign C read from the year's first two digits.
func fullYearAsCode(s string) (string, bool) {
	if s[8] != '-' || strings.ContainsFunc(s[:8]+s[9:12], notASCIIDigit) {
		return "", false
	}
	sign, ok := map[string]string{"18": "+", "19": "-", "20": "A"}[s[4:6]]
	return s[:4] + s[6:8] + sign + s[9:], ok
}

func notASCIIDigit(r rune) bool { return r < '0' || r > '9' }

// digitBefore reports whether a digit ends s[:i].
func digitBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return i > 0 && unicode.IsDigit(r)
}

// alnumAt reports whether a letter or digit starts s[i:].
func alnumAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return i < len(s) && isAlnum(r)
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// isNumberReference reports whether s is a number as the clinic files it: letters,
// digits and - _ . / : # with at least one digit.
func isNumberReference(s string) bool {
	return strings.ContainsFunc(s, unicode.IsDigit) && !strings.ContainsFunc(s, notInReference)
}

func notInReference(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_./:#", r)
}

// isMessageID reports whether s is an e-mail's Message-ID, the evidence of a decision
// sent by e-mail: RFC 5322's msg-id (messageIDLeft) whose left part has a digit and
// does not read as a mailbox's (isMailboxName).
func isMessageID(s string) bool {
	left, ok := messageIDLeft(s)
	return ok && strings.ContainsFunc(left, unicode.IsDigit) && !isMailboxName(left)
}

// isAddressInBrackets reports whether s is an e-mail address put in angle brackets for
// a Message-ID: RFC 5322's shape, its left part a person's mailbox (isMailboxName).
func isAddressInBrackets(s string) bool {
	left, ok := messageIDLeft(s)
	return ok && isMailboxName(left)
}

// messageIDLeft returns the left part of s when s has RFC 5322's msg-id shape,
// "<" dot-atom-text "@" dot-atom-text ">".
func messageIDLeft(s string) (string, bool) {
	if len(s) < 2 || s[0] != '<' || s[len(s)-1] != '>' {
		return "", false
	}
	left, right, ok := strings.Cut(s[1:len(s)-1], "@")
	return left, ok && isDotAtom(left) && isDotAtom(right)
}

// isMailboxName reports whether left, a Message-ID's left part, reads as the local
// part of a person's e-mail address: names (words: letters, then at most digits, as
// aino and laine85) joined by the . _ - people put between them, two or more, or one
// or more followed by a "+" tag of words or numbers (aino.laine+1, laine85+consent).
// A mail program's left part has a part that is a number or starts with a digit (a
// counter, a time: em1234.5678, bug-12345-1234, JIRA.12345.1701234567000, Evolution's
// 1701234567.12345.3.camel, a UUID's version group) or random text with a digit inside
// (Gmail's CAF3jK8x9+1234, Outlook's AM6PR08MB4118…). A single word with no tag
// (ainolaine85) passes: a mail program may write one too, and no shape tells them apart.
func isMailboxName(left string) bool {
	local, tag, tagged := strings.Cut(left, "+")
	names := strings.FieldsFunc(local, isNameSeparator)
	if len(names) == 0 || slices.ContainsFunc(names, func(p string) bool { return !isWord(p) }) {
		return false
	}
	if !tagged {
		return len(names) >= 2
	}
	tags := strings.FieldsFunc(tag, func(r rune) bool { return r == '+' || isNameSeparator(r) })
	return !slices.ContainsFunc(tags, func(p string) bool { return !isWord(p) && strings.ContainsFunc(p, notASCIIDigit) })
}

func isNameSeparator(r rune) bool { return strings.ContainsRune("._-", r) }

// isWord reports whether s is ASCII letters followed by at most ASCII digits.
func isWord(s string) bool {
	digits := strings.TrimLeftFunc(s, isASCIILetter)
	return digits != s && !strings.ContainsFunc(digits, notASCIIDigit)
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// isDotAtom reports whether s is RFC 5322's dot-atom-text: atext characters in runs
// joined by single dots.
func isDotAtom(s string) bool {
	for atom := range strings.SplitSeq(s, ".") {
		if atom == "" || strings.ContainsFunc(atom, notAtext) {
			return false
		}
	}
	return true
}

// notAtext reports whether r is outside RFC 5322's atext: ASCII letters, digits and
// ! # $ % & ' * + - / = ? ^ _ ` { | } ~.
func notAtext(r rune) bool {
	return r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// hasHTTPScheme reports whether s starts as a web link does, in any case.
func hasHTTPScheme(s string) bool {
	lower := strings.ToLower(s)
	return strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
}

// LinkHosts are the host names of the clinic's own form services, the only hosts an
// evidence reference may link to (CONSENT_EVIDENCE_LINK_HOSTS). A link is a 256-character
// text: on a host anyone may name (aino-laine.example.fi) its path or query could hold
// any note, where a form service's own links hold the submission's id. None: links are
// refused.
type LinkHosts map[string]bool

// NewLinkHosts returns the hosts named, in lower case; each must be an ASCII host name
// (letters, digits, "-" and "."), without a scheme, a port or a path.
func NewLinkHosts(names []string) (LinkHosts, error) {
	hosts := LinkHosts{}
	for _, name := range names {
		name = strings.ToLower(strings.TrimSpace(name))
		if err := checkHostName(name); err != nil {
			return nil, err
		}
		hosts[name] = true
	}
	return hosts, nil
}

// checkHostName says what is wrong with name as a host name, and how to write it where
// a usual spelling is refused: a link's host is compared as written, which for a name
// shown in another script is its xn-- form, and with no final dot.
func checkHostName(name string) error {
	switch {
	case strings.ContainsFunc(name, func(r rune) bool { return r > unicode.MaxASCII }):
		return fmt.Errorf("%q is not an ASCII host name: write an international name in its xn-- form "+
			"(äinö.example.fi as xn--in-uia8e.example.fi)", name)
	case name == "" || strings.ContainsFunc(name, notInHostName) || strings.Contains(name, "..") ||
		strings.HasPrefix(name, "."):
		return fmt.Errorf("%q is not a host name (letters, digits, - and .)", name)
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("%q ends in a dot: write the host name without the final dot", name)
	}
	return nil
}

func notInHostName(r rune) bool {
	return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '.'
}

// isSubmissionLink reports whether s is the link of a submission to one of the form
// services hosts names, the evidence of a decision sent that way: an ASCII http(s) URL
// to one of hosts (no port), with no user name or password and no fragment, whose path
// and query, decoded until no escape is left (%252D is "-") with "+" read as a space,
// hold at least one digit and only letters, digits and - . _ ~ / ? = & :, and no
// identity code however written (codeInLink). A space, "@", "(at)", a phone
// number's "+" or a full-width "＠" is refused however it is escaped.
func (hosts LinkHosts) isSubmissionLink(s string) bool {
	if strings.ContainsFunc(s, notPrintableASCII) || strings.Contains(s, "#") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.User != nil || !hosts[strings.ToLower(u.Host)] {
		return false
	}
	ref, ok := decodedPathAndQuery(u)
	return ok && strings.ContainsFunc(ref, unicode.IsDigit) && !strings.ContainsFunc(ref, notInLink) && !codeInLink(ref)
}

// decodedPathAndQuery is u's path and query decoded as isSubmissionLink reads them.
func decodedPathAndQuery(u *url.URL) (string, bool) {
	return decoded(u.EscapedPath() + "?" + u.RawQuery)
}

// codeInLink reports whether a link's decoded path and query hold an identity code
// however written (holdsCodeAnywhere, scanLetteredCodes), in one parameter or split
// across several or between the path and the query (pathAndQueryValues).
func codeInLink(ref string) bool {
	return holdsCodeAnywhere(ref) || scanLetteredCodes(ref) || scanLetteredCodes(pathAndQueryValues(ref))
}

// linkHoldsCode reports whether s, a link, holds an identity code (codeInLink), so
// that its refusal says so rather than only that it is no reference.
func linkHoldsCode(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	ref, ok := decodedPathAndQuery(u)
	return ok && codeInLink(ref)
}

// pathAndQueryValues returns ref's path and the values of its query, its parameters'
// names left out, joined by "&": a code split across parameters (?d=131052&n=308T) or
// between the path and the query (/v/131052?n=308T) is read whole, as the "&" is a
// separator like any other; a code may also start right after it, where no digit
// comes before.
func pathAndQueryValues(ref string) string {
	path, query, _ := strings.Cut(ref, "?")
	values := []string{path}
	for param := range strings.SplitSeq(query, "&") {
		_, value, _ := strings.Cut(param, "=")
		values = append(values, value)
	}
	return strings.Join(values, "&")
}

// decoded returns s with "+" read as a space and its percent escapes decoded until
// none is left; false when an escape is malformed.
func decoded(s string) (string, bool) {
	for {
		next, err := url.PathUnescape(strings.ReplaceAll(s, "+", " "))
		if err != nil {
			return "", false
		}
		if next == s {
			return s, true
		}
		s = next
	}
}

func notPrintableASCII(r rune) bool { return r <= ' ' || r > '~' }

func notInLink(r rune) bool {
	return r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-._~/?=&:", r)
}

// NormalizeRestrictionReason validates the reason of a restriction set or lifted and
// returns it in normal form: the erasure job's, "erasure request <id>"
// (changereason.Erasure, as the job writes it for the owner service too), the id a UUID
// as the register writes it, or a reference (CheckReference) to the customer's request,
// such as a case number. field is the reason's field path.
func NormalizeRestrictionReason(reason, field string, hosts LinkHosts, v *apperr.ValidationError) string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		v.Add(field, "is required: \""+changereason.Erasure("<the request's id>")+"\" or a reference such as case-2026-17")
		return reason
	}
	if id, ok := changereason.ErasureRequest(reason); ok {
		if _, err := uuid.Parse(id); err != nil {
			v.Add(field, "must name the erasure request by its id, a UUID")
			return reason
		}
		return changereason.Erasure(docid.Canonical(id))
	}
	CheckReference(field, reason, hosts, v)
	return reason
}

func validateTimes(e *Entry, prefix string, now time.Time, v *apperr.ValidationError) {
	if e.EffectiveAt.IsZero() {
		e.EffectiveAt = now
	}
	times := []struct {
		field string
		t     time.Time
	}{
		{".effective_time", e.EffectiveAt}, {".valid_from", e.ValidFrom}, {".valid_until", e.ValidUntil},
	}
	inRange := true
	for _, f := range times {
		if !f.t.IsZero() && (f.t.Before(minTime) || !f.t.Before(maxTime)) {
			v.Add(prefix+f.field, "must be between the years 2000 and 9999")
			inRange = false
		}
	}
	if !inRange {
		return
	}
	e.EffectiveAt = storedTime(e.EffectiveAt)
	e.ValidFrom = storedTime(e.ValidFrom)
	e.ValidUntil = storedTime(e.ValidUntil)
	if !e.Decision.Valid() {
		return
	}
	if e.Decision != DecisionGranted {
		// Objections, refusals and withdrawals take effect at once and for good: a
		// delayed or expiring prohibition would let a use through the customer forbade.
		// A client clock slightly ahead is taken as now.
		switch {
		case e.EffectiveAt.After(now.Add(maxClockSkew)):
			v.Add(prefix+".effective_time", "must not be in the future except for a grant")
		case e.EffectiveAt.After(now):
			e.EffectiveAt = storedTime(now)
		}
		if !e.ValidFrom.IsZero() {
			v.Add(prefix+".valid_from", "only a grant has a validity period")
		}
		if !e.ValidUntil.IsZero() {
			v.Add(prefix+".valid_until", "only a grant has a validity period")
		}
		return
	}
	if e.EffectiveAt.After(now.Add(maxFutureEffective)) {
		v.Add(prefix+".effective_time", "must be at most a year ahead")
	}
	if e.ValidUntil.IsZero() {
		return
	}
	if !e.ValidFrom.IsZero() && !e.ValidUntil.After(e.ValidFrom) {
		v.Add(prefix+".valid_until", "must be after valid_from")
	}
	if !e.ValidUntil.After(e.EffectiveAt) {
		v.Add(prefix+".valid_until", "must be after effective_time")
	}
}

// storedTime rounds t down to UTC milliseconds, so that an entry read back from the
// store equals the validated one. The zero time stays zero.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

// NormalizeScope validates scope for purpose p (which must be valid) and returns it in
// normal form: a channel for direct marketing, the recipient id of the insurer or the
// microchip registry for a disclosure to one (RecipientScoped), and empty for every
// other purpose. field is the scope's field path. Use it for the scope of a check or
// filter too, so queries match what entries store.
func NormalizeScope(p Purpose, scope, field string, v *apperr.ValidationError) string {
	scope = strings.TrimSpace(scope)
	switch p {
	case PurposeDirectMarketing:
		scope = strings.ToLower(scope)
		switch scope {
		case ChannelEmail, ChannelSMS, ChannelPost, ChannelPhone:
		default:
			v.Add(field, "must be a channel: email, sms, post or phone")
		}
	case PurposeInsurerDisclosure:
		scope = recipientScope(scope, "the insurer's recipient id", field, v)
	case PurposeMicrochipRegistryDisclosure:
		scope = recipientScope(scope, "the microchip registry's recipient id", field, v)
	default:
		if scope != "" {
			v.Add(field, "must be empty for this purpose")
		}
	}
	return scope
}

// StoredScope returns the scope of an entry of purpose p as read from the store in the
// normal form NormalizeScope gives: a recipient-scoped purpose's scope that is a UUID in
// another spelling (upper case, braces, a urn:uuid: prefix, no hyphens) as the
// disclosure service writes it. Insurer scopes were stored as typed, trimmed only,
// until they had to be recipient ids; checks ask with the canonical id, so a withdrawal
// stored in another spelling than the grant would otherwise not overrule it.
func StoredScope(p Purpose, scope string) string {
	if !p.RecipientScoped() {
		return scope
	}
	return docid.Canonical(scope)
}

// recipientScope validates a scope that must be a recipient's id (what names it, e.g.
// "the insurer's recipient id") and returns it in the disclosure service's canonical
// form, so that a decision written with another spelling of the same id still meets the
// checks made with it.
func recipientScope(scope, what, field string, v *apperr.ValidationError) string {
	if scope == "" {
		v.Add(field, "is required: "+what)
		return scope
	}
	id, err := uuid.Parse(scope)
	if err != nil {
		v.Add(field, "must be "+what+" (a UUID)")
		return scope
	}
	return id.String()
}
