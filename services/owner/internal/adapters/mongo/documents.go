package mongo

import (
	"time"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// Collection names of the owner database.
const (
	ownersColl   = "owners"
	patientsColl = "patients"
	claimsColl   = "claims"
	countersColl = "counters"
	// retentionColl holds one document per erased owner with something kept: the day
	// after which the retention sweep has work for it.
	retentionColl = "retention"
	// stampsColl holds what the start-up passes have finished, so that a start can skip
	// a pass with nothing left to do (see stampDoc).
	stampsColl = "stamps"
)

// erasedReasonsStamp is the _id of the stamp of ScrubErasedHistories, which brings old
// data in line once: every erasure since scrubs the reasons itself.
const erasedReasonsStamp = "erased_reasons"

// stampDoc says that a start-up pass ran to the end under the rules of Version.
type stampDoc struct {
	ID      string `bson:"_id"`
	Version int    `bson:"version"`
}

type addressDoc struct {
	Street     string `bson:"street,omitempty"`
	PostalCode string `bson:"postal_code,omitempty"`
	City       string `bson:"city,omitempty"`
	Country    string `bson:"country,omitempty"`
}

type changeDoc struct {
	Version      int64            `bson:"version"`
	Time         time.Time        `bson:"time"`
	ActorSubject string           `bson:"actor_subject"`
	ActorName    string           `bson:"actor_name,omitempty"`
	ActorRoles   []string         `bson:"actor_roles,omitempty"`
	ActorSystem  bool             `bson:"actor_system,omitempty"`
	Fields       []string         `bson:"fields"`
	Reason       string           `bson:"reason"`
	Values       []valueChangeDoc `bson:"values,omitempty"`
}

type valueChangeDoc struct {
	Field string `bson:"field"`
	From  string `bson:"from"`
	To    string `bson:"to"`
}

// ownerDoc is an owner as stored. The identity code is only ever stored sealed
// (AES-256-GCM under a key id, bound to the owner id) beside its blind index.
type ownerDoc struct {
	ID             string             `bson:"_id"`
	GivenNames     string             `bson:"given_names"`
	FamilyName     string             `bson:"family_name"`
	Address        addressDoc         `bson:"address"`
	Phone          string             `bson:"phone,omitempty"`
	Email          string             `bson:"email,omitempty"`
	Language       string             `bson:"language"`
	HomeClinic     string             `bson:"home_clinic"`
	Identity       *fieldcrypt.Sealed `bson:"identity,omitempty"`
	IdentityMasked string             `bson:"identity_masked,omitempty"`
	IdentityIndex  string             `bson:"identity_bidx,omitempty"`
	Restricted     bool               `bson:"restricted"`
	// PendingErasures are the erasure requests started and not yet applied; a lift is
	// conditioned on there being none.
	PendingErasures []string   `bson:"pending_erasures,omitempty"`
	Erased          bool       `bson:"erased,omitempty"`
	ErasedAt        *time.Time `bson:"erased_at,omitempty"`
	Anonymised      bool       `bson:"anonymised,omitempty"`
	// NameKeptUntil and IdentityKeptUntil are the days (YYYY-MM-DD) an erasure keeps
	// the names and address (and patients), and the identity code.
	NameKeptUntil     string `bson:"name_kept_until,omitempty"`
	IdentityKeptUntil string `bson:"identity_kept_until,omitempty"`
	// NameExtendedUntil is the day the history service last extended the names to.
	NameExtendedUntil string `bson:"name_extended_until,omitempty"`
	// Erasures are the answers of the erasure requests applied, so that a retry
	// answers the first result.
	Erasures []erasureDoc `bson:"erasures,omitempty"`
	// ErasureUpdates counts the erasures' and sweeps' updates of the owner, which do not
	// all take a version (a second request that only moves a kept day): the retention
	// schedule is tagged with the count its day was planned from.
	ErasureUpdates int64 `bson:"erasure_updates,omitempty"`
	// SortKey orders lists by family name, then given names.
	SortKey string `bson:"sort_key"`
	// NameKeys are the accent- and case-folded words of the names, for prefix search
	// without collations (the embedded store has none).
	NameKeys []string `bson:"name_keys"`
	// NameKeysVersion is the domain.NameKeysVersion of the rules that made SortKey and
	// NameKeys, written in the same update as they are; missing on owners written before
	// it was stored (see RefreshNameKeys).
	NameKeysVersion int `bson:"name_keys_version,omitempty"`
	// CreateDigest is domain.Owner.CreateDigest: written at creation only, removed by
	// the erasure that removes data it was made of; missing on owners created before it
	// was kept.
	CreateDigest string      `bson:"create_digest,omitempty"`
	Version      int64       `bson:"version"`
	Created      time.Time   `bson:"created"`
	Updated      time.Time   `bson:"updated"`
	Changes      []changeDoc `bson:"changes,omitempty"`
}

type insuranceDoc struct {
	Insurer      string `bson:"insurer,omitempty"`
	PolicyNumber string `bson:"policy_number,omitempty"`
}

type patientDoc struct {
	ID                     string       `bson:"_id"`
	OwnerID                string       `bson:"owner_id"`
	CustomerNumber         string       `bson:"customer_number"`
	Name                   string       `bson:"name"`
	Species                string       `bson:"species"`
	Breed                  string       `bson:"breed,omitempty"`
	Sex                    string       `bson:"sex"`
	Neutered               bool         `bson:"neutered"`
	BirthDate              string       `bson:"birth_date,omitempty"`
	Colour                 string       `bson:"colour,omitempty"`
	Microchip              string       `bson:"microchip,omitempty"`
	KennelClubRegistration string       `bson:"kennel_club_registration,omitempty"`
	Insurance              insuranceDoc `bson:"insurance"`
	Deceased               bool         `bson:"deceased"`
	DeathDate              string       `bson:"death_date,omitempty"`
	Erased                 bool         `bson:"erased,omitempty"`
	Anonymised             bool         `bson:"anonymised,omitempty"`
	ErasedBy               string       `bson:"erased_by,omitempty"`
	// CreateDigest is domain.Patient.CreateDigest: written at registration only,
	// removed when the patient is anonymised; missing on patients registered before it
	// was kept.
	CreateDigest string      `bson:"create_digest,omitempty"`
	Version      int64       `bson:"version"`
	Created      time.Time   `bson:"created"`
	Updated      time.Time   `bson:"updated"`
	Changes      []changeDoc `bson:"changes,omitempty"`
}

// erasureDoc is the stored answer of one erasure request.
type erasureDoc struct {
	RequestID    string           `bson:"request_id"`
	Time         time.Time        `bson:"time"`
	Dispositions []dispositionDoc `bson:"dispositions"`
}

type dispositionDoc struct {
	Class     string `bson:"class"`
	Kept      bool   `bson:"kept,omitempty"`
	Basis     string `bson:"basis,omitempty"`
	KeptUntil string `bson:"kept_until,omitempty"`
	Count     int    `bson:"count"`
}

func dispositionsToDoc(ds []domain.Disposition) []dispositionDoc {
	out := make([]dispositionDoc, len(ds))
	for i, d := range ds {
		out[i] = dispositionDoc{Class: d.Class, Kept: d.Kept, Basis: d.Basis, KeptUntil: d.KeptUntil, Count: d.Count}
	}
	return out
}

func dispositionsToDomain(ds []dispositionDoc) []domain.Disposition {
	out := make([]domain.Disposition, len(ds))
	for i, d := range ds {
		out[i] = domain.Disposition{Class: d.Class, Kept: d.Kept, Basis: d.Basis, KeptUntil: d.KeptUntil, Count: d.Count}
	}
	return out
}

// retentionDoc schedules the retention sweep for one owner: Due is the last day
// something is kept, so the sweep has work for the owner once a day after it starts.
type retentionDoc struct {
	ID  string `bson:"_id"`
	Due string `bson:"due"`
	// Planned is the owner's ErasureUpdates the day was planned from (absent on
	// schedules written before it was counted): a plan from fewer does not replace it.
	Planned int64 `bson:"planned,omitempty"`
}

// claimDoc reserves a unique value (an identity code's blind index, a microchip) for one
// document. Its _id is the value, so uniqueness needs no sparse index and a lookup is an
// _id read.
type claimDoc struct {
	ID  string `bson:"_id"`
	Ref string `bson:"ref"`
	// At is when Ref claimed (or renewed) it; see claimLease.
	At time.Time `bson:"at"`
	// Nonce is random, new with every claim or renewal, so that a call whose write
	// failed can tell whether the claim is still as it made it (see claimed).
	Nonce string `bson:"nonce,omitempty"`
}

func ownerToDoc(o *domain.Owner) ownerDoc {
	return ownerDoc{
		ID:         o.ID,
		GivenNames: o.GivenNames,
		FamilyName: o.FamilyName,
		Address: addressDoc{
			Street: o.Address.Street, PostalCode: o.Address.PostalCode,
			City: o.Address.City, Country: o.Address.Country,
		},
		Phone:          o.Phone,
		Email:          o.Email,
		Language:       string(o.Language),
		HomeClinic:     string(o.HomeClinic),
		IdentityMasked: o.IdentityCodeMasked,
		Restricted:     o.Restricted,
		CreateDigest:   o.CreateDigest,
		SortKey:        domain.SearchKey(o.FamilyName + " " + o.GivenNames),
		NameKeys:       domain.NameTokens(o.GivenNames, o.FamilyName),
		Version:        o.Version,
		Created:        o.Created,
		Updated:        o.Updated,
	}
}

func (d *ownerDoc) toDomain() *domain.Owner {
	return &domain.Owner{
		ID:         d.ID,
		GivenNames: d.GivenNames,
		FamilyName: d.FamilyName,
		Address: domain.Address{
			Street: d.Address.Street, PostalCode: d.Address.PostalCode,
			City: d.Address.City, Country: d.Address.Country,
		},
		Phone:              d.Phone,
		Email:              d.Email,
		Language:           domain.Language(d.Language),
		HomeClinic:         domain.Clinic(d.HomeClinic),
		IdentityCodeMasked: d.IdentityMasked,
		Restricted:         d.Restricted,
		PendingErasures:    d.PendingErasures,
		Erased:             d.Erased,
		ErasedAt:           derefTime(d.ErasedAt),
		Anonymised:         d.Anonymised,
		NameKeptUntil:      d.NameKeptUntil,
		IdentityKeptUntil:  d.IdentityKeptUntil,
		NameExtendedUntil:  d.NameExtendedUntil,
		CreateDigest:       d.CreateDigest,
		Version:            d.Version,
		Created:            d.Created,
		Updated:            d.Updated,
	}
}

func patientToDoc(p *domain.Patient) patientDoc {
	return patientDoc{
		ID:                     p.ID,
		OwnerID:                p.OwnerID,
		CustomerNumber:         p.CustomerNumber.String(),
		Name:                   p.Name,
		Species:                string(p.Species),
		Breed:                  p.Breed,
		Sex:                    string(p.Sex),
		Neutered:               p.Neutered,
		BirthDate:              p.BirthDate,
		Colour:                 p.Colour,
		Microchip:              p.Microchip,
		KennelClubRegistration: p.KennelClubRegistration,
		Insurance:              insuranceDoc{Insurer: p.Insurance.Insurer, PolicyNumber: p.Insurance.PolicyNumber},
		Deceased:               p.Deceased,
		DeathDate:              p.DeathDate,
		CreateDigest:           p.CreateDigest,
		Version:                p.Version,
		Created:                p.Created,
		Updated:                p.Updated,
	}
}

func (d *patientDoc) toDomain() (*domain.Patient, error) {
	n, err := domain.ParseCustomerNumber(d.CustomerNumber)
	if err != nil {
		return nil, err
	}
	p := d.withoutCustomerNumber()
	p.CustomerNumber = n
	return p, nil
}

// withoutCustomerNumber is the patient d holds but its customer number, the one field
// whose reading can fail: what needs none (the digest of the registration) is made from
// a patient whose stored number does not parse too.
func (d *patientDoc) withoutCustomerNumber() *domain.Patient {
	return &domain.Patient{
		ID:                     d.ID,
		OwnerID:                d.OwnerID,
		Name:                   d.Name,
		Species:                domain.Species(d.Species),
		Breed:                  d.Breed,
		Sex:                    domain.Sex(d.Sex),
		Neutered:               d.Neutered,
		BirthDate:              d.BirthDate,
		Colour:                 d.Colour,
		Microchip:              d.Microchip,
		KennelClubRegistration: d.KennelClubRegistration,
		Insurance:              domain.Insurance{Insurer: d.Insurance.Insurer, PolicyNumber: d.Insurance.PolicyNumber},
		Deceased:               d.Deceased,
		DeathDate:              d.DeathDate,
		Erased:                 d.Erased,
		Anonymised:             d.Anonymised,
		ErasedBy:               d.ErasedBy,
		CreateDigest:           d.CreateDigest,
		Version:                d.Version,
		Created:                d.Created,
		Updated:                d.Updated,
	}
}

func changeToDoc(c domain.Change) changeDoc {
	d := changeDoc{
		Version: c.Version, Time: c.Time, ActorSubject: c.ActorSubject, ActorName: c.ActorName,
		ActorRoles: c.ActorRoles, ActorSystem: c.ActorSystem, Fields: c.Fields, Reason: c.Reason,
	}
	for _, v := range c.Values {
		d.Values = append(d.Values, valueChangeDoc{Field: v.Field, From: v.From, To: v.To})
	}
	return d
}

func changesToDomain(docs []changeDoc) []domain.Change {
	out := make([]domain.Change, len(docs))
	for i, d := range docs {
		out[i] = domain.Change{
			Version: d.Version, Time: d.Time, ActorSubject: d.ActorSubject, ActorName: d.ActorName,
			ActorRoles: d.ActorRoles, ActorSystem: d.ActorSystem, Fields: d.Fields, Reason: d.Reason,
		}
		for _, v := range d.Values {
			out[i].Values = append(out[i].Values, domain.ValueChange{Field: v.Field, From: v.From, To: v.To})
		}
	}
	return out
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
