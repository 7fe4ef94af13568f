package domain

import (
	"cmp"
	"strings"
)

// ActorText is who read or changed the owner's data (an audit event's or a change's
// actor), in words of texts (DocumentTexts): a person or a partner's system by name,
// or subject when the token gave none, with their roles; the services' own background
// work, which no person asked for, as the system and what ran, since its recorded
// name is the service's English one and it has no role.
func ActorText(texts map[string]string, subject, name string, roles []string) string {
	if work, ok := systemWork(subject, name, roles); ok {
		if work == "" {
			return texts["actor.system"]
		}
		return texts["actor.system"] + ": " + texts[work]
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = cmp.Or(texts[ValueTextKey(ValueRole, r)], r)
	}
	who, as := cmp.Or(name, subject), strings.Join(names, ", ")
	switch {
	case as == "":
		return who
	case who == "":
		return as
	}
	return who + " (" + as + ")"
}

// systemWork reports whether an actor is the system rather than a person, and the key
// of the text naming what ran ("" when the record does not say). The erasure job
// acts under a token with its role alone; a retention sweep, and any other pass a
// service runs by itself, as the service ("service:<name>"; the history's sweep under
// a subject of its own) with no role; an event written with no caller at all (an
// erasure step while the job had no valid token) has no subject.
func systemWork(subject, name string, roles []string) (string, bool) {
	service := strings.HasPrefix(subject, "service:")
	switch {
	case len(roles) == 1 && roles[0] == roleErasureJob:
		return ValueTextKey(ValueRole, roleErasureJob), true
	case len(roles) > 0:
		return "", false
	case service && name == "retention sweep" || subject == "history-retention-sweep":
		return "actor.retention_sweep", true
	}
	return "", service || subject == ""
}

// roleErasureJob is the role of the erasure job's token (auth.RoleErasureJob).
const roleErasureJob = "erasure_job"
