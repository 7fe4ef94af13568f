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
