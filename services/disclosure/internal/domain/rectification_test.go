package domain

import (
	"slices"
	"testing"
)

func TestChangedCategories(t *testing.T) {
	tests := []struct {
		paths []string
		want  []Category
	}{
		{nil, nil},
		{[]string{"home_clinic", "preferred_language", "restricted"}, nil},
		{[]string{"family_name"}, []Category{CategoryOwnerName}},
		{[]string{"address.city", "phone"}, []Category{CategoryOwnerContact, CategoryOwnerAddress}},
		{[]string{"identity_code", "given_names", "email", "address"}, []Category{CategoryOwnerName, CategoryOwnerContact, CategoryOwnerAddress, CategoryIdentityCode}},
	}
	for _, tt := range tests {
		if got := ChangedCategories(tt.paths); !slices.Equal(got, tt.want) {
			t.Errorf("ChangedCategories(%v) = %v, want %v", tt.paths, got, tt.want)
		}
	}
}

func TestChangedPatientCategories(t *testing.T) {
	tests := []struct {
		paths []string
		want  []Category
	}{
		{[]string{"neutered", "colour", "insurance.insurer"}, nil},
		{[]string{"name"}, []Category{CategoryPatientBasics}},
		{[]string{"microchip", "birth_date"}, []Category{CategoryPatientBasics, CategoryMicrochip}},
	}
	for _, tt := range tests {
		if got := ChangedPatientCategories(tt.paths); !slices.Equal(got, tt.want) {
			t.Errorf("ChangedPatientCategories(%v) = %v, want %v", tt.paths, got, tt.want)
		}
	}
}

func TestChangedVisitCategories(t *testing.T) {
	tests := []struct {
		paths []string
		want  []Category
	}{
		{nil, nil},
		{[]string{"diagnoses"}, []Category{CategoryVisitHistory}},
		{[]string{"reason", "findings", "weight_grams", "staff", "follow_up"}, []Category{CategoryVisitHistory}},
		{[]string{"medications"}, []Category{CategoryMedications}},
		{[]string{"invoices"}, []Category{CategoryInvoices}},
		{[]string{"invoices", "diagnoses"}, []Category{CategoryVisitHistory, CategoryInvoices}},
		{[]string{"start_time"}, []Category{CategoryVisitHistory, CategoryMedications, CategoryInvoices}},
		{[]string{"clinic", "medications"}, []Category{CategoryVisitHistory, CategoryMedications, CategoryInvoices}},
	}
	for _, tt := range tests {
		if got := ChangedVisitCategories(tt.paths); !slices.Equal(got, tt.want) {
			t.Errorf("ChangedVisitCategories(%v) = %v, want %v", tt.paths, got, tt.want)
		}
	}
}

// FuzzChangedVisitCategories: whatever paths an amendment names, one touches something
// (an unknown one the visit history), and only the three history categories, in order.
func FuzzChangedVisitCategories(f *testing.F) {
	for _, seed := range []string{"", "diagnoses", "clinic", "medications.0.dose", "invoices", "131052-308T", "start_time\x00"} {
		f.Add(seed, "reason")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := ChangedVisitCategories([]string{a, b})
		history := []Category{CategoryVisitHistory, CategoryMedications, CategoryInvoices}
		if len(got) == 0 || !slices.IsSortedFunc(got, func(x, y Category) int {
			return slices.Index(history, x) - slices.Index(history, y)
		}) {
			t.Fatalf("ChangedVisitCategories(%q, %q) = %v", a, b, got)
		}
		for _, c := range got {
			if !slices.Contains(history, c) {
				t.Fatalf("ChangedVisitCategories(%q, %q) touches %s", a, b, c)
			}
		}
	})
}
