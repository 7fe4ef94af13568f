package domain

import (
	"errors"
	"strings"
)

// errBusinessID is the one error of ParseBusinessID: the reason never repeats the input.
var errBusinessID = errors.New("business id: must be a Finnish business id (Y-tunnus) such as 2923530-5")

// businessIDWeights are the Finnish Patent and Registration Office's weights of the seven
// digits of a business id.
var businessIDWeights = [7]int{7, 9, 10, 5, 8, 4, 2}

// ParseBusinessID validates a Finnish business id (Y-tunnus) and returns it in normal
// form, seven digits, a hyphen and the check digit. The check digit is the weighted sum
// of the digits mod 11: remainder 0 gives 0, remainder 1 is never issued, otherwise
// 11 minus the remainder. Ids issued before 1991 have six digits; they are padded with
// a leading zero, as the registry itself writes them. All zeros is never issued.
func ParseBusinessID(s string) (string, error) {
	s = strings.TrimSpace(s)
	body, check, ok := strings.Cut(s, "-")
	if !ok || len(check) != 1 || (len(body) != 6 && len(body) != 7) {
		return "", errBusinessID
	}
	if len(body) == 6 {
		body = "0" + body
	}
	if body == "0000000" {
		return "", errBusinessID
	}
	sum := 0
	for i := range len(body) {
		d := body[i]
		if d < '0' || d > '9' {
			return "", errBusinessID
		}
		sum += int(d-'0') * businessIDWeights[i]
	}
	want := 0
	switch r := sum % 11; r {
	case 0:
	case 1:
		return "", errBusinessID
	default:
		want = 11 - r
	}
	if check[0] != byte('0'+want) {
		return "", errBusinessID
	}
	return body + "-" + check, nil
}
