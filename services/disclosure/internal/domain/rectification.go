package domain

import "strings"

// ChangedCategories returns the data categories an owner change touched, from the field
// paths the owner service's change history records (never the values), in the order of
// Categories. Paths outside any disclosed category (the home clinic, the preferred
// language, the restriction) touch none.
func ChangedCategories(paths []string) []Category {
	touched := map[Category]bool{}
	for _, p := range paths {
		field, _, _ := strings.Cut(p, ".")
		switch field {
		case "given_names", "family_name":
			touched[CategoryOwnerName] = true
		case "address":
			touched[CategoryOwnerAddress] = true
		case "phone", "email":
			touched[CategoryOwnerContact] = true
		case "identity_code":
			touched[CategoryIdentityCode] = true
		}
	}
	return ordered(touched)
}

// ChangedPatientCategories is ChangedCategories for a patient's change: the fields a
// disclosed package holds of an animal are its basics and its microchip.
func ChangedPatientCategories(paths []string) []Category {
	touched := map[Category]bool{}
	for _, p := range paths {
		switch p {
		case "name", "species", "breed", "sex", "birth_date":
			touched[CategoryPatientBasics] = true
		case "microchip":
			touched[CategoryMicrochip] = true
		}
	}
	return ordered(touched)
}

// ordered returns the categories of set in the order of Categories.
func ordered(set map[Category]bool) []Category {
	var out []Category
	for _, c := range Categories() {
		if set[c] {
			out = append(out, c)
		}
	}
	return out
}

// ChangedVisitCategories is ChangedCategories for an amendment of a visit (the
// patient-history service's field paths). A disclosed visit carries its clinic and
// start time under whichever of the three history categories it went out for, its
// medications and invoice references only under their own, and the rest of the clinical
// record under the visit history: a field the amendment names that is none of the
// first four is clinical record, so an unknown one errs towards telling.
func ChangedVisitCategories(paths []string) []Category {
	touched := map[Category]bool{}
	for _, p := range paths {
		field, _, _ := strings.Cut(p, ".")
		switch field {
		case "clinic", "start_time":
			touched[CategoryVisitHistory], touched[CategoryMedications], touched[CategoryInvoices] = true, true, true
		case "medications":
			touched[CategoryMedications] = true
		case "invoices":
			touched[CategoryInvoices] = true
		default:
			touched[CategoryVisitHistory] = true
		}
	}
	return ordered(touched)
}
