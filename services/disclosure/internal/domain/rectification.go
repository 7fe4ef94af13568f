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
	var out []Category
	for _, c := range Categories() {
		if touched[c] {
			out = append(out, c)
		}
	}
	return out
}
