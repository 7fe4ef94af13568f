// Package changereason holds the reasons the owner service writes itself on a change of
// an owner's or a patient's record, as it stores them (in English). The disclosure
// service names each in the owner's language in the access report, so both read them
// from here, and the disclosure service's tests fail until a reason added here has a
// name in every language. A stored reason is never renamed: the change histories keep
// it as written, and the report names it only as it reads here, so a new wording is a
// new reason, added beside the old one, which stays recognised.
package changereason

import "strings"

// The reasons the owner service writes itself. Every one is in Fixed.
const (
	// Registered is the reason of an owner's or a patient's creation.
	Registered = "registered"
	// RetentionEnded is the reason of the retention sweep's changes.
	RetentionEnded = "retention period ended"
	// RetentionExtended is the reason of a later day the history service told for an
	// erased owner's names (ExtendNameRetention).
	RetentionExtended = "retention period extended"
	// Untransfer is the reason of a transfer taken back, as the new owner was
	// restricted (or could not be read) when it was written. Staff read it; an owner's
	// own copy shows TakenBack instead, since the restriction is the other owner's data.
	Untransfer = "transfer taken back: the new owner was restricted (or could not be read) when it was written"
	// TakenBack stands for Untransfer in an owner's own copy of a patient's history.
	TakenBack = "transfer taken back"
	// LateErasure is the reason of a patient covered by its owner's erasure after it
	// ran, when no erasure request is at hand to name.
	LateErasure = "covered by the owner's erasure: the patient came under the owner after it ran"
	// Erased replaces, from the owner's erasure on, a reason staff typed.
	Erased = "(erased)"
	// Withheld stands, in an owner's own copy of a patient's history, for the reason
	// staff typed for a transfer, which may name the other owner.
	Withheld = "(withheld)"
)

// erasurePrefix starts the reason of an erasure request's changes, followed by the
// request's id.
const erasurePrefix = "erasure request "

// Fixed returns every reason the owner service writes itself but an erasure request's
// (Erasure), which names its request.
func Fixed() []string {
	return []string{Registered, RetentionEnded, RetentionExtended, Untransfer, TakenBack, LateErasure, Erased, Withheld}
}

// Erasure is the reason of the changes the erasure request requestID makes.
func Erasure(requestID string) string { return erasurePrefix + requestID }

// ErasureRequest returns the request id an erasure request's reason (Erasure) names,
// if reason has that form; the caller checks that the rest is an id (docid.Issued),
// since staff may type text that starts the same way.
func ErasureRequest(reason string) (requestID string, ok bool) {
	id, ok := strings.CutPrefix(reason, erasurePrefix)
	if !ok {
		return "", false
	}
	return id, true
}
