package domain

import (
	"strings"
	"testing"
)

// TestActorText: a person is named with their roles in the report's language; the
// services' own work as the system and what ran, as each service records it (the
// owner's and this service's sweeps as the service, the history's under its own
// subject, the erasure job by its role, a step written with no caller), never by
// the English name it was recorded with nor with empty roles.
func TestActorText(t *testing.T) {
	const (
		sweep = "järjestelmä: säilytysaikojen mukainen poisto|systemet: gallring|system: retention sweep"
		job   = "järjestelmä: tietojen poiston automaattinen ajo|systemet: automatisk radering|system: automatic erasure run"
	)
	tests := []struct {
		subject, name string
		roles         []string
		want          string // Finnish|Swedish|English
	}{
		{"u1", "Anna Virtanen", []string{"reception"}, "Anna Virtanen (asiakaspalvelu)|Anna Virtanen (kundtjänst)|Anna Virtanen (reception)"},
		{"u1", "Anna Virtanen", []string{"veterinarian", "billing"},
			"Anna Virtanen (eläinlääkäri, laskutus)|Anna Virtanen (veterinär, fakturering)|Anna Virtanen (veterinarian, billing)"},
		{"u1", "", []string{"nurse"}, "u1 (eläinhoitaja)|u1 (djurskötare)|u1 (veterinary nurse)"},
		{"u1", "Anna Virtanen", []string{"a_later_role"}, "Anna Virtanen (a_later_role)|Anna Virtanen (a_later_role)|Anna Virtanen (a_later_role)"},
		{"u1", "Anna Virtanen", nil, "Anna Virtanen|Anna Virtanen|Anna Virtanen"},
		{"u1", "Anna Virtanen", []string{}, "Anna Virtanen|Anna Virtanen|Anna Virtanen"},
		{"", "", []string{"partner"}, "yhteistyökumppani|samarbetspartner|partner"},
		{"service:owner", "retention sweep", nil, sweep},
		{"service:disclosure", "retention sweep", []string{}, sweep},
		{"history-retention-sweep", "", nil, sweep},
		{"service:disclosure-erasure", "Erasure job", []string{"erasure_job"}, job},
		{"any-job-subject", "", []string{"erasure_job"}, job},
		{"", "", nil, "järjestelmä|systemet|system"},
		{"service:owner", "key rotation", nil, "järjestelmä|systemet|system"},
		{"service:disclosure-erasure", "Erasure job", []string{"reception"}, "Erasure job (asiakaspalvelu)|Erasure job (kundtjänst)|Erasure job (reception)"},
		{"history-retention-sweep", "", []string{"clinic_manager"}, "history-retention-sweep (klinikan johtaja)|history-retention-sweep (klinikchef)|history-retention-sweep (clinic manager)"},
	}
	for _, tt := range tests {
		want := strings.Split(tt.want, "|")
		for i, lang := range []Language{LanguageFinnish, LanguageSwedish, LanguageEnglish} {
			if got := ActorText(DocumentTexts(lang), tt.subject, tt.name, tt.roles); got != want[i] {
				t.Errorf("%s: %q %q %v = %q, want %q", lang, tt.subject, tt.name, tt.roles, got, want[i])
			}
		}
	}
}
