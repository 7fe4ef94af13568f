package audit

import (
	"testing"

	"github.com/google/uuid"

	"github.com/lillvet/register/services/platform/docid"
	"github.com/lillvet/register/services/platform/identitycode"
)

type ownerRequest string

func (r ownerRequest) GetOwnerId() string { return string(r) }

// FuzzDeniedSubject checks that a refused request's owner id is kept when it is a
// UUID, as the register writes ids, and never with an identity code in it.
func FuzzDeniedSubject(f *testing.F) {
	for _, s := range []string{"01a23cb5-88de-7e02-b4ff-7c11a64efc80", "01A23CB5-88DE-7E02-B4FF-7C11A64EFC80", "131052-308T", "", "urn:uuid:01a23cb5-88de-7e02-b4ff-7c11a64efc80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got := deniedSubject(ownerRequest(id))
		_, err := uuid.Parse(id)
		if (got == "") != (err != nil) || (got != "" && (!docid.Issued(got) || identitycode.Contains(got))) {
			t.Fatalf("deniedSubject(%q) = %q", id, got)
		}
	})
}
