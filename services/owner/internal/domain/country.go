package domain

import (
	"strings"

	"golang.org/x/text/language"
)

// countryReasonCode is why a country code that names no country is refused.
const countryReasonCode = "must be an ISO 3166-1 alpha-2 code such as FI or SE"

// dissolvedCountries were split into several countries (Netherlands Antilles,
// Serbia and Montenegro, the Saudi–Iraqi neutral zone, Soviet Union, Yugoslavia):
// x/text has no single replacement for them, so it still calls them countries.
const dissolvedCountries = "AN CS NT SU YU"

// countryProblem says why an upper-case country code is refused, or returns "" for a
// code ISO 3166-1 assigns to a country today (or XK, Kosovo's code in common use).
// IsCountry alone also passes codes ISO 3166-1 has withdrawn or only reserves: a code
// x/text replaces by another (UK, DD, BU) is refused naming the one to use, and one
// without a UN M49 number (AC, EA, EZ, UN) belongs to no country of its own.
func countryProblem(code string) string {
	// ParseRegion also reads alpha-3 and numeric codes; the API takes alpha-2 only.
	if len(code) != 2 || strings.Contains(dissolvedCountries, code) {
		return countryReasonCode
	}
	r, err := language.ParseRegion(code)
	switch {
	case err != nil || !r.IsCountry() || r.M49() == 0:
		return countryReasonCode
	case r.Canonicalize() != r:
		return "must be the country's current ISO 3166-1 alpha-2 code, " + r.Canonicalize().String()
	}
	return ""
}
