package domain

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/lillvet/register/services/platform/visibletext"
)

// IsSystem reports whether an actor recorded with the system flag and subject was the
// services' own in-process work, which no person asked for: flagged, or recorded with
// no subject, which a verified token always has, so that only the services' own work
// recorded before the flag (an erasure step taken without the job's token) lacks one.
// Only these make an actor the system, never its subject, name or roles: those come
// from a token, which the identity provider issues with any of them, so a person could
// otherwise pass for a sweep and hide from the owner. Both copies of the report hold to
// it: the JSON's actorSystem and the document's Who.
func IsSystem(system bool, subject string) bool { return system || subject == "" }

// ActorText is who read or changed the owner's data (an audit event's or a change's
// actor), in words of texts (DocumentTexts): the services' own in-process work
// (IsSystem) as the system, since the action says what ran; anyone else, a person, a
// partner's system or the erasure job, as PersonText.
func ActorText(texts map[string]string, system bool, subject, name string, roles []string) string {
	if IsSystem(system, subject) {
		return texts["actor.system"]
	}
	return PersonText(texts, name, roles)
}

// PersonText is an actor who is not the system, in words of texts (DocumentTexts): by
// name (shownName) with their roles in words, or by the roles alone when the token gave
// no name the report can show; with neither, as a user whose name was not recorded.
// Never by subject: that is an account's id ("u1", a UUID) and tells the owner nothing,
// while the roles say who at the clinic it was; the JSON copy carries the subject.
func PersonText(texts map[string]string, name string, roles []string) string {
	name = shownName(name)
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = cmp.Or(texts[ValueTextKey(ValueRole, r)], r)
	}
	as := strings.Join(names, ", ")
	switch {
	case name == "":
		return cmp.Or(as, texts["actor.unnamed"])
	case as == "":
		return name
	}
	return name + " (" + as + ")"
}

// shownName is a name a token gave, as the readable report shows it: as it reads
// (visibletext.Shown, which also keeps a direction override from showing its letters
// in another order), or none when it reads as nothing (a zero-width space, blanks) or
// as the system in any of the report's languages, in any case. Either would hide who
// acted: an empty cell names no one, and the system's word passes a person off as the
// services' own work. Treating such a name as none needs no words of its own and
// cannot be mistaken for the system: the actor reads as their roles in words or as a
// user whose name was not recorded, while the JSON copy keeps the name as recorded.
// The report judges names rather than the token verifier because the records hold
// names the verifier let through before, and the history service's too; the system's
// words are the report's, and the audit keeps what a token said.
func shownName(name string) string {
	name = visibletext.Shown(name)
	if visibletext.SaysNothing(name) || readsAsSystem(name) {
		return ""
	}
	return name
}

// readsAsSystem reports a name that reads as the report's word for the system in one
// of its languages (a Finnish owner may read the English report), by its letters alone:
// blanks that are symbols (the Braille blank), spaces or punctuation between them and
// full-width forms leave the word as readable as written plain.
func readsAsSystem(name string) bool {
	letters := lettersOf(name)
	return slices.ContainsFunc(Languages(), func(l Language) bool {
		return strings.EqualFold(letters, lettersOf(systemText(l)))
	})
}

// lettersOf is s's letters and digits that display, in their compatibility forms
// (NFKC: "ｓ" as "s", "ſ" as "s").
func lettersOf(s string) string {
	return strings.Map(func(r rune) rune {
		if (unicode.IsLetter(r) || unicode.IsDigit(r)) && !visibletext.Ignorable(r) {
			return r
		}
		return -1
	}, norm.NFKC.String(s))
}
