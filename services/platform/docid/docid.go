// Package docid gives created documents their ids, so that a retried create finds
// the document the first attempt made instead of making another.
package docid

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// New returns a document id. With a client request id it is a UUIDv5 in the
// service's namespace of the scope parts (what the id is unique within: the kind
// of document, its parent) and the request id, joined by NUL bytes, so the same
// request yields the same id; without one it is a fresh time-ordered UUIDv7.
func New(namespace uuid.UUID, requestID string, scope ...string) (string, error) {
	if requestID != "" {
		name := strings.Join(append(slices.Clip(scope), requestID), "\x00")
		return uuid.NewSHA1(namespace, []byte(name)).String(), nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new document id: %w", err)
	}
	return id.String(), nil
}

// Issued reports whether id has the form New gives every id, a UUID as uuid.String
// writes it: text from a request or a record that has it is an id, and any other text
// could hold anything, an identity code included.
func Issued(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// Canonical returns id as New writes it when id is a UUID in another form uuid.Parse
// reads (upper case, braces, a urn:uuid: prefix), and id itself otherwise: an id a
// caller typed is kept as the register would have issued it, so that the same id in two
// forms names one thing and the texts built from it read as the register's own.
func Canonical(id string) string {
	u, err := uuid.Parse(id)
	if err != nil {
		return id
	}
	return u.String()
}
