// Package testonly marks the repository's test helpers. A helper (servicetest,
// embeddedtest, audittest, sourcetest, ownertest, ...) imports it, blank, and the test
// command refuses a production binary that links it: what only tests may use (an
// embedded store, a token issuer, a source loader) must not ship in a service. The mark
// is what makes a package a helper, whatever its name.
package testonly
