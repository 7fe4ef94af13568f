package domain

import "github.com/lillvet/register/services/platform/identitycode"

// IdentityCode is an owner's validated personal identity code (henkilötunnus). Its
// form is the platform's identitycode.Code, which the other services use to keep
// codes out of free text, so that every service knows the code in one way.
type IdentityCode = identitycode.Code

// IdentityCodeError says why a string is not an acceptable identity code, never
// repeating any part of it.
type IdentityCodeError = identitycode.Error

// ParseIdentityCode validates s as DDMMYYCNNNT (see identitycode.Parse); temporary
// individual numbers (900–999) are accepted only when allowTemporary is true.
func ParseIdentityCode(s string, allowTemporary bool) (IdentityCode, error) {
	return identitycode.Parse(s, allowTemporary)
}
