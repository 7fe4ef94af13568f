package domain

import "testing"

// TestSameCreateOfAnErasedRecord: a record an erasure reached matches no create, not
// even the one that made it: its kept names (a patient's owner, name and species), or
// the digest a kept patient still has, would answer anyone sending the same.
func TestSameCreateOfAnErasedRecord(t *testing.T) {
	owner := Owner{GivenNames: "Aino", FamilyName: "Virtanen", CreateDigest: "k1.d"}
	patient := Patient{OwnerID: "o1", Name: "Rex", Species: "dog", CreateDigest: "k1.d"}
	tests := []struct {
		name  string
		erase func(o *Owner, p *Patient)
		same  bool
	}{
		{name: "not erased", same: true, erase: func(*Owner, *Patient) {}},
		{name: "stored without a digest", same: true, erase: func(o *Owner, p *Patient) { o.CreateDigest, p.CreateDigest = "", "" }},
		{name: "erased, names kept", erase: func(o *Owner, p *Patient) {
			o.Erased, o.Restricted, o.CreateDigest = true, true, ""
			p.Erased = true
		}},
		{name: "erased before digests were kept", erase: func(o *Owner, p *Patient) {
			o.Erased, o.Restricted, o.CreateDigest = true, true, ""
			p.Erased, p.Anonymised, p.CreateDigest = true, true, ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, p := owner, patient
			tt.erase(&o, &p)
			// A retry: the request the record was made of.
			sentOwner, sentPatient := owner, patient
			if got := SameOwnerCreate(&o, &sentOwner); got != tt.same {
				t.Errorf("SameOwnerCreate = %v, want %v", got, tt.same)
			}
			if got := SamePatientCreate(&p, &sentPatient); got != tt.same {
				t.Errorf("SamePatientCreate = %v, want %v", got, tt.same)
			}
		})
	}
}

// TestSameCreateByDigest: a digest made under the key of the request's is compared; one
// that cannot tell (none, made under another key, or before digests named their key)
// leaves the comparison to the names.
func TestSameCreateByDigest(t *testing.T) {
	tests := []struct {
		name         string
		stored, sent string
		sameNames    bool
		same         bool
	}{
		{name: "the same request", stored: "k1.a", sent: "k1.a", same: true},
		{name: "a namesake", stored: "k1.a", sent: "k1.b", sameNames: true},
		{name: "none stored, a namesake", sent: "k1.b", sameNames: true, same: true},
		{name: "none stored, other names", sent: "k1.a"},
		{name: "under a key since replaced, the same names", stored: "k0.a", sent: "k1.b", sameNames: true, same: true},
		{name: "under a key since replaced, other names", stored: "k0.a", sent: "k1.a"},
		{name: "before digests named their key, the same names", stored: "a", sent: "k1.b", sameNames: true, same: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := Owner{GivenNames: "Aino", FamilyName: "Virtanen", CreateDigest: tt.stored}
			sent := Owner{GivenNames: "Aino", FamilyName: "Virtala", CreateDigest: tt.sent}
			if tt.sameNames {
				sent.FamilyName = stored.FamilyName
			}
			if got := SameOwnerCreate(&stored, &sent); got != tt.same {
				t.Errorf("SameOwnerCreate = %v, want %v", got, tt.same)
			}
			storedPet := Patient{OwnerID: "o1", Name: "Rex", Species: "dog", CreateDigest: tt.stored}
			sentPet := Patient{OwnerID: "o1", Name: "Musti", Species: "dog", CreateDigest: tt.sent}
			if tt.sameNames {
				sentPet.Name = storedPet.Name
			}
			if got := SamePatientCreate(&storedPet, &sentPet); got != tt.same {
				t.Errorf("SamePatientCreate = %v, want %v", got, tt.same)
			}
		})
	}
}
