package domain

import "testing"

// TestSameCreateOfAnErasedRecord: a record an erasure reached matches no create, not
// even the one that made it: its kept names (a patient's owner, name and species), or
// the digest a kept patient still has, would answer anyone sending the same.
func TestSameCreateOfAnErasedRecord(t *testing.T) {
	owner := Owner{GivenNames: "Aino", FamilyName: "Virtanen", CreateDigest: "d"}
	patient := Patient{OwnerID: "o1", Name: "Rex", Species: "dog", CreateDigest: "d"}
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
