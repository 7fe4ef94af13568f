package domain

import (
	"cmp"
	"strings"
)

// ActorText is who read or changed the owner's data (an audit event's or a change's
// actor), in words of texts (DocumentTexts): the services' own in-process work, which
// no person asked for, as the system, since the action says what ran; anyone else,
// a person, a partner's system or the erasure job, by name (or subject when the token
// gave none) with their roles. Only the recorded flag makes an actor the system, never
// its subject, name or roles: those come from a token, which the identity provider
// issues with any of them, so a person could otherwise pass for a sweep and hide
// from the owner. An actor recorded with no subject is the system too: a verified
// token always has one, so only the services' own work recorded before the flag
// (an erasure step taken without the job's token) has none.
func ActorText(texts map[string]string, system bool, subject, name string, roles []string) string {
	if system || subject == "" {
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
