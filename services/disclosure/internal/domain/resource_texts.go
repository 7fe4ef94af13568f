package domain

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/docid"
)

// ScopeText is a consent's scope in words of texts (DocumentTexts): a direct-marketing
// channel by its name, and the recipient id of an insurer or microchip registry
// disclosure consent by the recipient's name in recipients (by id). An id no recipient
// in recipients has is shown as recorded, which is all the report can tell of it.
func ScopeText(texts map[string]string, scope string, recipients map[string]string) string {
	if name := texts[ValueTextKey(ValueChannel, scope)]; name != "" {
		return name
	}
	return cmp.Or(recipients[scope], scope)
}

// PurposeText is the purpose an audit event's caller stated, in words of texts
// (DocumentTexts) when this service stated it, reading for an access request
// (AccessRequestPurpose): the request as the report's header names it. Any other
// purpose is what a person typed and is shown as written.
func PurposeText(texts map[string]string, purpose string) string {
	if id, ok := strings.CutPrefix(purpose, accessRequestPurpose); ok && docid.Issued(id) {
		return texts["doc.request"] + " " + id
	}
	return purpose
}

// erasureRequestKey names, among the change reasons' texts, the words for an erasure
// request's reason (changereason.Erasure), which the request's id follows.
const erasureRequestKey = "erasure request"

// ChangeReasonText is a change's reason in words of texts (DocumentTexts) when the owner
// service wrote it itself (a registration, the retention sweep, an erasure request, a
// transfer taken back, …): those are stored in English, and a change the system made
// says what it was by its reason alone. Any other reason is what staff typed and is
// shown as written; one staff typed that is exactly one of the service's ("registered")
// is translated too, since nothing recorded tells the two apart.
func ChangeReasonText(texts map[string]string, reason string) string {
	if name := texts[ValueTextKey(ValueChangeReason, reason)]; name != "" {
		return name
	}
	if id, ok := changereason.ErasureRequest(reason); ok && docid.Issued(id) {
		return texts[ValueTextKey(ValueChangeReason, erasureRequestKey)] + " " + id
	}
	return reason
}

// ResourceText is the resource of an audit event, the record it concerned as the
// services write it (owners/<id>, owners/<id>/consents/<purpose>/<scope>, patients/<id>,
// a refused call's method, …), in words of texts (DocumentTexts), reusing the report's
// own headings and names so that the owner can find the record in the report. pets
// names the owner's animals by id: a pet's record is named after it. Ids mean nothing
// to the owner and are left out, but for the two the report shows too: an access
// request's, after the header's words for it, and an insurer or microchip registry
// consent's recipient id, as the consent tables show it (ScopeText, by the name in
// recipients). A resource of no known shape is "other record", never the path, which
// could hold anything. An event without a resource has no text.
func ResourceText(texts map[string]string, resource string, pets, recipients map[string]string) string {
	if resource == "" {
		return ""
	}
	text := cmp.Or(resourceText(texts, resource, pets, recipients), texts["resource.other"])
	// The names of recorded values are lower case, for use within a sentence.
	r, size := utf8.DecodeRuneInString(text)
	return string(unicode.ToUpper(r)) + text[size:]
}

// resourceText is the resource in words, or "" when its shape is not known.
func resourceText(texts map[string]string, resource string, pets, recipients map[string]string) string {
	if method, ok := strings.CutPrefix(resource, "/"); ok {
		return texts[deniedMethodKeys[method]]
	}
	if checked, ok := strings.CutPrefix(resource, "consents:filter/"); ok {
		return consentText(texts, strings.Split(checked, "/"), recipients)
	}
	if list, ok := countedList(resource); ok {
		return texts[listKeys[list]]
	}
	parts := strings.Split(resource, "/")
	switch {
	case slices.Contains(parts, ""):
		return ""
	case len(parts) == 1:
		return texts[listKeys[parts[0]]]
	case parts[0] == "owners":
		return ownerResourceText(texts, parts[2:], recipients)
	case parts[0] == "patients" && len(parts) == 2:
		return withPet(texts["resource.patient"], pets[parts[1]])
	case parts[0] == "patients" && len(parts) == 3 && parts[2] == "visits":
		return withPet(texts[CategoryTextKey(CategoryVisitHistory)], pets[parts[1]])
	case parts[0] == "erasureRequests" && len(parts) == 4 && parts[2] == "steps":
		// A step of the job (erasureRequests/<id>/steps/<service>.<action>) is the
		// request's, as its action says which step.
		return texts["resource.erasure_request"]
	case len(parts) != 2:
		return ""
	case parts[0] == "accessRequests" && docid.Issued(parts[1]):
		return texts["doc.request"] + " " + parts[1]
	}
	return texts[recordKeys[parts[0]]]
}

// listKeys name the lists a call read whole ("owners" a search's results, "owners (3)"
// the status of three owners).
var listKeys = map[string]string{
	"owners":     "resource.owners",
	"recipients": "label.recipient",
}

// recordKeys name the records that are a collection and an id.
var recordKeys = map[string]string{
	"visits":          "resource.visit",
	"disclosures":     "resource.disclosure",
	"recipients":      "label.recipient",
	"accessRequests":  "doc.request",
	"erasureRequests": "resource.erasure_request",
}

// ownerResourceText names what follows owners/<id>.
func ownerResourceText(texts map[string]string, sub []string, recipients map[string]string) string {
	switch {
	case len(sub) == 0:
		return texts["section.owner"]
	case sub[0] == "consents" && len(sub) > 1:
		return consentText(texts, sub[1:], recipients)
	case len(sub) == 2 && (sub[0] == "consentDecisions" || sub[0] == "communications"):
		// One decision or communication, named as their list is.
	case len(sub) != 1:
		return ""
	}
	return texts[ownerListKeys[sub[0]]]
}

// ownerListKeys name the owner's records under owners/<id>.
var ownerListKeys = map[string]string{
	"consents":         CategoryTextKey(CategoryConsents),
	"consentDecisions": "section.consent_history",
	"communications":   CategoryTextKey(CategoryCommunications),
	"patients":         "section.patients",
	"history":          ValueTextKey(ValueService, "history"),
	"timeline":         ValueTextKey(ValueService, "history"),
	"disclosures":      CategoryTextKey(CategoryDisclosures),
	"accessRequests":   "resource.access_requests",
	"erasureRequests":  "resource.erasure_requests",
	"accessEvents":     CategoryTextKey(CategoryAccessLog),
}

// consentText names the consents read for a purpose and scope (<purpose>[/<scope>])
// as the consent tables do; a purpose newer than the texts names the consents only,
// and a scope neither a channel nor a recipient id is left out.
func consentText(texts map[string]string, checked []string, recipients map[string]string) string {
	consents := texts[CategoryTextKey(CategoryConsents)]
	purpose := texts[ValueTextKey(ValuePurpose, checked[0])]
	switch {
	case len(checked) > 2:
		return ""
	case purpose == "":
		return consents
	case len(checked) == 1:
		return consents + ": " + purpose
	}
	scope := ""
	if texts[ValueTextKey(ValueChannel, checked[1])] != "" || docid.Issued(checked[1]) {
		scope = ScopeText(texts, checked[1], recipients)
	}
	if scope == "" {
		return consents + ": " + purpose
	}
	return consents + ": " + purpose + " (" + scope + ")"
}

// countedList is the name of a list written "<name> (<count>)".
func countedList(resource string) (string, bool) {
	name, count, ok := strings.Cut(resource, " (")
	count, closed := strings.CutSuffix(count, ")")
	if _, err := strconv.ParseUint(count, 10, 32); !ok || !closed || err != nil {
		return "", false
	}
	return name, true
}

// withPet is text about a pet followed by its name, when it is one of the owner's.
func withPet(text, name string) string {
	if name == "" {
		return text
	}
	return text + ": " + name
}

// deniedMethodKeys name the record of each call whose request names an owner, the
// refused calls an owner's report shows (audit.Writer.Denied records the method).
var deniedMethodKeys = map[string]string{
	"lillvet.owner.v1.OwnerService/GetOwner":                              "section.owner",
	"lillvet.owner.v1.OwnerService/UpdateOwner":                           "section.owner",
	"lillvet.owner.v1.OwnerService/ListOwnerChanges":                      "section.owner",
	"lillvet.owner.v1.OwnerService/ExportOwner":                           "section.owner",
	"lillvet.owner.v1.OwnerService/SetOwnerRestriction":                   "section.owner",
	"lillvet.owner.v1.OwnerService/EraseOwnerData":                        "section.owner",
	"lillvet.owner.v1.OwnerService/ExtendNameRetention":                   "section.owner",
	"lillvet.owner.v1.OwnerService/EndIdentityCodeRetention":              CategoryTextKey(CategoryIdentityCode),
	"lillvet.owner.v1.OwnerService/RevealIdentityCode":                    CategoryTextKey(CategoryIdentityCode),
	"lillvet.owner.v1.OwnerService/RegisterPatient":                       "section.patients",
	"lillvet.owner.v1.OwnerService/ListOwnerPatients":                     "section.patients",
	"lillvet.consent.v1.ConsentService/RecordConsentDecision":             "section.consent_history",
	"lillvet.consent.v1.ConsentService/ListConsentDecisions":              "section.consent_history",
	"lillvet.consent.v1.ConsentService/ListConsents":                      CategoryTextKey(CategoryConsents),
	"lillvet.consent.v1.ConsentService/CheckConsent":                      CategoryTextKey(CategoryConsents),
	"lillvet.consent.v1.ConsentService/SetOwnerRestriction":               CategoryTextKey(CategoryConsents),
	"lillvet.consent.v1.ConsentService/EraseOwnerData":                    CategoryTextKey(CategoryConsents),
	"lillvet.history.v1.HistoryService/RecordCommunication":               CategoryTextKey(CategoryCommunications),
	"lillvet.history.v1.HistoryService/ListOwnerCommunications":           CategoryTextKey(CategoryCommunications),
	"lillvet.history.v1.HistoryService/ListOwnerTimeline":                 ValueTextKey(ValueService, "history"),
	"lillvet.history.v1.HistoryService/ExportOwnerHistory":                ValueTextKey(ValueService, "history"),
	"lillvet.history.v1.HistoryService/EraseOwnerData":                    ValueTextKey(ValueService, "history"),
	"lillvet.disclosure.v1.DisclosureService/CreateDisclosure":            CategoryTextKey(CategoryDisclosures),
	"lillvet.disclosure.v1.DisclosureService/ListOwnerDisclosures":        CategoryTextKey(CategoryDisclosures),
	"lillvet.disclosure.v1.DisclosureService/ListRectificationRecipients": CategoryTextKey(CategoryDisclosures),
	"lillvet.disclosure.v1.DisclosureService/ListOwnerAccessRequests":     "resource.access_requests",
	"lillvet.disclosure.v1.DisclosureService/ListOwnerErasureRequests":    "resource.erasure_requests",
	"lillvet.audit.v1.AuditService/ExportOwnerAccessEvents":               CategoryTextKey(CategoryAccessLog),
}
