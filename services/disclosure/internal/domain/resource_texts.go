package domain

// ScopeText is a consent's scope in words of texts (DocumentTexts): a direct-marketing
// channel by its name, and anything else, the insurer's recipient id of an insurer
// disclosure consent, as recorded, which is all the report can tell of it.
func ScopeText(texts map[string]string, scope string) string {
	if name := texts[ValueTextKey(ValueChannel, scope)]; name != "" {
		return name
	}
	return scope
}
