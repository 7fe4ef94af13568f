package docid_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lillvet/register/services/platform/docid"
)

func TestNew(t *testing.T) {
	ns := uuid.MustParse("6f0c1c8e-7a43-4d7e-9a55-2f3b2c4d8e11")
	for _, tc := range []struct {
		name      string
		requestID string
		scope     []string
		want      string
	}{
		{"one scope part", "req-1", []string{"owner"}, uuid.NewSHA1(ns, []byte("owner\x00req-1")).String()},
		{"two scope parts", "req-1", []string{"visit", "pat-1"}, uuid.NewSHA1(ns, []byte("visit\x00pat-1\x00req-1")).String()},
		{"no scope", "req-1", nil, uuid.NewSHA1(ns, []byte("req-1")).String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := docid.New(ns, tc.requestID, tc.scope...)
			if err != nil || got != tc.want {
				t.Errorf("New = %q, %v; want %q", got, err, tc.want)
			}
			again, _ := docid.New(ns, tc.requestID, tc.scope...)
			if again != got {
				t.Errorf("a retry got %q, the first %q", again, got)
			}
		})
	}
	a, err := docid.New(ns, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := docid.New(ns, "")
	if a == b || uuid.MustParse(a).Version() != 7 {
		t.Errorf("without a request id: %q then %q, want two distinct UUIDv7", a, b)
	}
	if other, _ := docid.New(ns, "req-1", "patient"); other == uuid.NewSHA1(ns, []byte("owner\x00req-1")).String() {
		t.Error("the same request id for another kind gave the same id")
	}
}

func TestIssued(t *testing.T) {
	id := uuid.NewString()
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{id, true},
		{strings.ToUpper(id), false},
		{"{" + id + "}", false},
		{"urn:uuid:" + id, false},
		{"131052-308T", false},
		{"", false},
	} {
		if got := docid.Issued(tc.id); got != tc.want {
			t.Errorf("Issued(%q) = %t, want %t", tc.id, got, tc.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	id := uuid.NewString()
	for _, tc := range []struct {
		id, want string
	}{
		{id, id},
		{strings.ToUpper(id), id},
		{"{" + id + "}", id},
		{"urn:uuid:" + id, id},
		{strings.ReplaceAll(id, "-", ""), id},
		{"131052-308T", "131052-308T"},
		{"", ""},
	} {
		if got := docid.Canonical(tc.id); got != tc.want {
			t.Errorf("Canonical(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
