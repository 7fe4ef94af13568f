package domain

import (
	"strings"

	"github.com/lillvet/register/services/platform/apperr"
)

// ReasonOutsideEEA is the precondition reason of a recipient outside the EU/EEA.
const ReasonOutsideEEA = "RECIPIENT_OUTSIDE_EEA"

// countryCodes are the 249 officially assigned ISO 3166-1 alpha-2 codes.
const countryCodes = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

// eeaCodes are where the GDPR applies: the 27 EU member states (Greece is GR in ISO
// 3166, EL only in EU usage), Iceland, Liechtenstein and Norway, and the parts of member
// states that have codes of their own — Åland (AX, Finland) and the French outermost
// regions (GF, GP, MQ, RE, YT, MF). Territories outside the EU such as the Faroe
// Islands, Greenland or Svalbard are not in it.
const eeaCodes = "" +
	"AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE " +
	"IS LI NO " +
	"AX GF GP MQ RE YT MF"

// NormalizeCountry returns s as an upper-case ISO 3166-1 alpha-2 code, recording a
// violation of field when it is not an assigned code.
func NormalizeCountry(s, field string, v *apperr.ValidationError) string {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !isCode(countryCodes, c) {
		v.Add(field, "must be an ISO 3166-1 alpha-2 country code such as FI or SE")
	}
	return c
}

// InEEA reports whether the country code (in normal form) is in the EU/EEA.
func InEEA(country string) bool { return isCode(eeaCodes, country) }

// CheckEEA refuses a country outside the EU/EEA: the privacy statement promises that
// nothing leaves the EU/EEA, so such a recipient can neither be registered nor receive
// anything.
func CheckEEA(country string) error {
	if InEEA(country) {
		return nil
	}
	return apperr.Precondition(ReasonOutsideEEA,
		"the recipient's country is outside the EU/EEA; the privacy statement allows no transfer there")
}

// isCode reports whether c is one of the space-separated two-letter codes.
func isCode(codes, c string) bool {
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return false
	}
	for i := 0; i+2 <= len(codes); i += 3 {
		if codes[i:i+2] == c {
			return true
		}
	}
	return false
}
