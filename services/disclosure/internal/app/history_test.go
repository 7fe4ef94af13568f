package app

import (
	"slices"
	"testing"

	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// TestHistoryPayload: each category keeps its part of a visit, named patients narrow
// the visits and the communications (directly or through a visit), and none named
// keeps everything.
func TestHistoryPayload(t *testing.T) {
	visit := func(id, patient string) VisitRecord {
		return VisitRecord{
			Visit: Visit{
				ID: id, PatientID: patient, Clinic: "seinajoki", Reason: "ears", Findings: "red",
				Medications: []Medication{{Product: "Otomax"}}, Invoices: []InvoiceReference{{Number: "1", State: "open"}},
			},
			Original:   &Visit{Findings: "healthy"},
			Amendments: []Amendment{{Version: 2, Reason: "typo"}},
		}
	}
	h := HistoryExport{
		Visits: []VisitRecord{visit("v1", "musti"), visit("v2", "mirri")},
		Communications: []Communication{
			{ID: "c1", PatientID: "musti"}, {ID: "c2", VisitID: "v2"}, {ID: "c3"},
		},
	}
	tests := []struct {
		name      string
		cats      []domain.Category
		patients  []string
		visits    []string
		check     func(Visit) bool
		comms     []string
		noHistory bool
	}{
		{
			name: "visit history without medicines or invoices", cats: []domain.Category{domain.CategoryVisitHistory},
			visits: []string{"v1", "v2"},
			check:  func(v Visit) bool { return v.Findings == "red" && v.Medications == nil && v.Invoices == nil },
		},
		{
			name: "medications only", cats: []domain.Category{domain.CategoryMedications}, patients: []string{"mirri"},
			visits: []string{"v2"},
			check: func(v Visit) bool {
				return len(v.Medications) == 1 && v.Findings == "" && v.Reason == "" && v.Invoices == nil
			},
		},
		{
			name: "invoices only", cats: []domain.Category{domain.CategoryInvoices}, visits: []string{"v1", "v2"},
			check: func(v Visit) bool {
				return len(v.Invoices) == 1 && v.Findings == "" && v.Medications == nil && v.Clinic != ""
			},
		},
		{
			name: "communications of a named patient, through its visit too", cats: []domain.Category{domain.CategoryCommunications},
			patients: []string{"mirri"}, comms: []string{"c2"},
		},
		{
			name: "every communication when no patient is named", cats: []domain.Category{domain.CategoryCommunications},
			comms: []string{"c1", "c2", "c3"},
		},
		{name: "no history category", cats: []domain.Category{domain.CategoryOwnerName}, noHistory: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			has := func(cs ...domain.Category) bool {
				return slices.ContainsFunc(cs, func(c domain.Category) bool { return slices.Contains(tt.cats, c) })
			}
			visits, comms := historyPayload(h, tt.patients, has)
			var ids []string
			for _, v := range visits {
				ids = append(ids, v.ID)
				if tt.check != nil && !tt.check(v) {
					t.Errorf("visit %+v", v)
				}
			}
			if !slices.Equal(ids, tt.visits) {
				t.Errorf("visits %v, want %v", ids, tt.visits)
			}
			ids = nil
			for _, c := range comms {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.comms) {
				t.Errorf("communications %v, want %v", ids, tt.comms)
			}
			if tt.noHistory && (visits != nil || comms != nil) {
				t.Errorf("a package without history categories holds %v, %v", visits, comms)
			}
		})
	}
}

func TestReportLanguage(t *testing.T) {
	tests := []struct {
		preferred string
		request   domain.Language
		want      domain.Language
	}{
		{"", domain.LanguageFinnish, domain.LanguageFinnish},
		{"", domain.LanguageEnglish, domain.LanguageEnglish},
		{"sv", domain.LanguageEnglish, domain.LanguageSwedish},
		{"en", domain.LanguageFinnish, domain.LanguageEnglish},
	}
	for _, tt := range tests {
		got := reportLanguage(OwnerRecord{PreferredLanguage: tt.preferred}, domain.AccessRequest{Language: tt.request})
		if got != tt.want {
			t.Errorf("preferred %q, request %q: %q, want %q", tt.preferred, tt.request, got, tt.want)
		}
	}
}
