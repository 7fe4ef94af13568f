package domain

import (
	"strings"
	"testing"
)

// TestActorText: the services' own work, recorded with the system flag, is the system
// in the report's language, whatever else it was recorded with; anyone else by name
// with their roles in words, the erasure job's too, or, when the token gave no name, by
// the roles alone: never by subject, an account's id that tells the owner nothing. A token can give any
// subject, name and roles, so none of them makes an actor the system: a person whose
// token names a sweep's subject with no roles, or holds only the erasure job's role,
// is shown by their name. Nor can a name make a person read as the system or as no one:
// a name that reads as the system's word in any of the report's languages, or as
// nothing, is no name. An actor recorded with no subject, which no verified token
// lacks, is the services' own work recorded before the flag.
func TestActorText(t *testing.T) {
	const (
		system  = "järjestelmä|systemet|system"
		unnamed = "käyttäjä, jonka nimeä ei ole kirjattu|en användare vars namn inte har registrerats|a user whose name was not recorded"
	)
	tests := []struct {
		system        bool
		subject, name string
		roles         []string
		want          string // Finnish|Swedish|English
	}{
		{false, "u1", "Anna Virtanen", []string{"reception"}, "Anna Virtanen (asiakaspalvelu)|Anna Virtanen (kundtjänst)|Anna Virtanen (reception)"},
		{false, "u1", "Anna Virtanen", []string{"veterinarian", "billing"},
			"Anna Virtanen (eläinlääkäri, laskutus)|Anna Virtanen (veterinär, fakturering)|Anna Virtanen (veterinarian, billing)"},
		// A token without a name: its roles in words, never its subject.
		{false, "u1", "", []string{"nurse"}, "eläinhoitaja|djurskötare|veterinary nurse"},
		{false, "0190f5a4-2222-7000-8000-000000000001", "", []string{"veterinarian", "billing"},
			"eläinlääkäri, laskutus|veterinär, fakturering|veterinarian, billing"},
		{false, "u1", "", nil, unnamed},
		{false, "u1", "", []string{}, unnamed},
		{false, "u1", "Anna Virtanen", []string{"a_later_role"}, "Anna Virtanen (a_later_role)|Anna Virtanen (a_later_role)|Anna Virtanen (a_later_role)"},
		{false, "u1", "Anna Virtanen", nil, "Anna Virtanen|Anna Virtanen|Anna Virtanen"},
		{false, "u1", "Anna Virtanen", []string{}, "Anna Virtanen|Anna Virtanen|Anna Virtanen"},
		{false, "recipient-1", "", []string{"partner"}, "yhteistyökumppani|samarbetspartner|partner"},
		// The services' own work.
		{true, "service:owner", "retention sweep", nil, system},
		{true, "service:history", "retention sweep", []string{}, system},
		{true, "service:disclosure", "erasure job", nil, system},
		// The erasure job's token: its name and its role.
		{false, "service:disclosure-erasure", "Erasure job", []string{"erasure_job"},
			"Erasure job (tietojen poiston automaattinen ajo)|Erasure job (automatisk radering)|Erasure job (automatic erasure run)"},
		// Tokens made to look like the system, and events recorded before the flag.
		{false, "history-retention-sweep", "Matti Meikäläinen", nil, "Matti Meikäläinen|Matti Meikäläinen|Matti Meikäläinen"},
		{false, "service:reporting", "Matti Meikäläinen", nil, "Matti Meikäläinen|Matti Meikäläinen|Matti Meikäläinen"},
		{false, "service:owner", "retention sweep", nil, "retention sweep|retention sweep|retention sweep"},
		{false, "history-retention-sweep", "", nil, unnamed},
		{false, "u2", "Matti Meikäläinen", []string{"erasure_job"},
			"Matti Meikäläinen (tietojen poiston automaattinen ajo)|Matti Meikäläinen (automatisk radering)|Matti Meikäläinen (automatic erasure run)"},
		// Names that read as nothing, or as the system in any of the report's
		// languages, in any case and around characters that display as nothing, are
		// no name: the roles in words, or a user whose name was not recorded.
		{false, "u-mallory", "järjestelmä", nil, unnamed},
		{false, "u-mallory", "järjestelmä", []string{"a_later_role"}, "a_later_role|a_later_role|a_later_role"},
		{false, "u-mallory", " Järjestelmä ", []string{"reception"}, "asiakaspalvelu|kundtjänst|reception"},
		{false, "u-mallory", "SYSTEMET", nil, unnamed},
		{false, "u-mallory", "System", nil, unnamed},
		{false, "u-mallory", "\u200bsys\u200btem\u2060", nil, unnamed},
		{false, "u-mallory", "ja\u0308rjestelma\u0308", nil, unnamed},
		{false, "u-mallory", "\u200b", nil, unnamed},
		{false, "u-mallory", "\u200b", []string{"reception"}, "asiakaspalvelu|kundtjänst|reception"},
		{false, "u-mallory", " \t\u00a0", nil, unnamed},
		{false, "u-mallory", "\u3164", []string{"nurse"}, "eläinhoitaja|djurskötare|veterinary nurse"},
		// Only the letters count: blanks that are symbols (the Braille blank),
		// full-width forms and punctuation or spaces between letters.
		{false, "u-mallory", "\u2800system", nil, unnamed},
		{false, "u-mallory", "system\u2800", nil, unnamed},
		{false, "u-mallory", "ｓｙｓｔｅｍ", nil, unnamed},
		{false, "u-mallory", "S y s t e m.", nil, unnamed},
		{false, "u-mallory", "järjestelmä!", []string{"reception"}, "asiakaspalvelu|kundtjänst|reception"},
		// A name is shown as it reads: a direction override cannot turn its letters
		// into the system's word, and one that only contains the word is a name.
		{false, "u-mallory", "\u202eametsejräj", nil, "ametsejräj|ametsejräj|ametsejräj"},
		{false, "u1", "\u200bAnna Virtanen ", []string{"reception"}, "Anna Virtanen (asiakaspalvelu)|Anna Virtanen (kundtjänst)|Anna Virtanen (reception)"},
		{false, "u1", "Järjestelmä Oy", nil, "Järjestelmä Oy|Järjestelmä Oy|Järjestelmä Oy"},
		// The services' own work recorded before the flag with no actor (an erasure
		// step taken without the job's token): no token lacks a subject.
		{false, "", "", nil, system},
		{false, "", "", []string{}, system},
	}
	for _, tt := range tests {
		want := strings.Split(tt.want, "|")
		for i, lang := range []Language{LanguageFinnish, LanguageSwedish, LanguageEnglish} {
			if got := ActorText(DocumentTexts(lang), tt.system, tt.subject, tt.name, tt.roles); got != want[i] {
				t.Errorf("%s: %v %q %q %v = %q, want %q", lang, tt.system, tt.subject, tt.name, tt.roles, got, want[i])
			}
			// PersonText, which names who recorded a consent decision or corrected a
			// visit, shows anyone but the system alike.
			if got := PersonText(DocumentTexts(lang), tt.name, tt.roles); !IsSystem(tt.system, tt.subject) && got != want[i] {
				t.Errorf("%s: PersonText %q %v = %q, want %q", lang, tt.name, tt.roles, got, want[i])
			}
		}
	}
}
