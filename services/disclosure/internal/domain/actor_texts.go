package domain

import (
	"cmp"
	"strings"
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
// partner's system or the erasure job, by name (or subject when the token gave none)
// with their roles.
func ActorText(texts map[string]string, system bool, subject, name string, roles []string) string {
	if IsSystem(system, subject) {
		return texts["actor.system"]
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = cmp.Or(texts[ValueTextKey(ValueRole, r)], r)
	}
	who, as := cmp.Or(name, subject), strings.Join(names, ", ")
	if as == "" {
		return who
	}
	return who + " (" + as + ")"
}
