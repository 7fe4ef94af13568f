package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/mongox"
)

// customerNumberBase offsets the counter so that the first customer numbers already
// have six digits (sequence 10001 and its check digit).
const customerNumberBase = 10000

// allocationAttempts bounds retries when an allocated customer number is already taken;
// that happens only if the counter document was restored from an older backup.
const allocationAttempts = 5

func microchipKey(chip string) string { return "microchip:" + chip }

// patientHoldsChip tells whether the patient still carries the microchip of key, and
// whether it yields it. A patient its owner's erasure kept yields, like the erased
// owner's identity code (ownerHoldsIdentity): it is kept only for the patient records'
// retention period and can never be changed again, so the animal brought back by its
// returning owner is registered anew.
func (r *Repository) patientHoldsChip(key string) func(context.Context, string) (holding, error) {
	return func(ctx context.Context, patientID string) (holding, error) {
		var d patientDoc
		err := findOne(ctx, r.patients, "patient", patientID, bson.D{{Key: "microchip", Value: 1}, {Key: "erased", Value: 1}}, &d)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			return notHeld, nil
		case err != nil:
			return notHeld, err
		case d.Microchip == "" || microchipKey(d.Microchip) != key:
			return notHeld, nil
		case d.Erased:
			return yielded, nil
		}
		return held, nil
	}
}

// nextCustomerNumber allocates a customer number with one atomic increment in the store,
// so that any number of service replicas never hand out the same number, and a number
// is never reused.
func (r *Repository) nextCustomerNumber(ctx context.Context) (domain.CustomerNumber, error) {
	var counter struct {
		Seq int64 `bson:"seq"`
	}
	inc := func() error {
		return r.counters.FindOneAndUpdate(ctx, bson.M{"_id": "customer_number"}, bson.M{"$inc": bson.M{"seq": int64(1)}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&counter)
	}
	err := inc()
	if mongox.IsDuplicateKey(err) {
		// Two first-ever allocations raced to create the counter; it exists now.
		err = inc()
	}
	if err != nil {
		return domain.CustomerNumber{}, fmt.Errorf("allocate customer number: %w", err)
	}
	return domain.NewCustomerNumber(customerNumberBase + counter.Seq)
}

// EarlierPatientCreate implements domain.Repository.
func (r *Repository) EarlierPatientCreate(ctx context.Context, p *domain.Patient) (*domain.Patient, error) {
	p.CreateDigest = r.patientCreateDigest(p)
	return r.GetPatient(ctx, p.ID)
}

// CreatePatient implements domain.Repository.
func (r *Repository) CreatePatient(ctx context.Context, p *domain.Patient, c domain.Change) (*domain.Patient, error) {
	if existing, err := r.EarlierPatientCreate(ctx, p); err == nil {
		return existing, nil
	} else if !errors.Is(err, apperr.ErrNotFound) {
		return nil, err
	}
	var claim claimed
	if p.Microchip != "" {
		key := microchipKey(p.Microchip)
		var err error
		if claim, err = r.claim(ctx, key, p.ID, r.patientHoldsChip(key)); err != nil {
			return nil, microchipClaimFailed(err)
		}
	}
	p.Version, p.Created, p.Updated = 1, c.Time, c.Time
	c.Version = 1
	for range allocationAttempts {
		n, err := r.nextCustomerNumber(ctx)
		if err != nil {
			return nil, r.releaseAfterFailure(ctx, claim, err)
		}
		p.CustomerNumber = n
		doc := patientToDoc(p)
		doc.Changes = []changeDoc{changeToDoc(c)}
		_, err = r.patients.InsertOne(ctx, doc)
		if err == nil {
			return p, nil
		}
		if existing, gerr := r.GetPatient(ctx, p.ID); gerr == nil {
			return existing, nil // a concurrent retry of the same registration won
		}
		if !mongox.IsDuplicateKey(err) {
			return nil, r.releaseAfterFailure(ctx, claim, fmt.Errorf("insert patient: %w", err))
		}
	}
	return nil, r.releaseAfterFailure(ctx, claim, fmt.Errorf("allocate customer number: %d numbers in a row were taken", allocationAttempts))
}

// DeletePatient implements domain.Repository.
func (r *Repository) DeletePatient(ctx context.Context, id string) error {
	var d patientDoc
	if err := findOne(ctx, r.patients, "patient", id, bson.D{{Key: "microchip", Value: 1}, {Key: "version", Value: 1}}, &d); err != nil {
		return err
	}
	res, err := r.patients.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: 1}})
	if err != nil {
		return fmt.Errorf("delete patient %s: %w", id, err)
	}
	if res.DeletedCount == 0 {
		return changedSince("patient", id, 1)
	}
	if d.Microchip != "" {
		return r.release(ctx, microchipKey(d.Microchip), id)
	}
	return nil
}

// GetPatient implements domain.Repository.
func (r *Repository) GetPatient(ctx context.Context, id string) (*domain.Patient, error) {
	var d patientDoc
	if err := findOne(ctx, r.patients, "patient", id, bson.M{"changes": 0}, &d); err != nil {
		return nil, err
	}
	return d.toDomain()
}

// UpdatePatient implements domain.Repository.
func (r *Repository) UpdatePatient(ctx context.Context, p *domain.Patient, expected int64, c domain.Change) (*domain.Patient, error) {
	var current patientDoc
	if err := findOne(ctx, r.patients, "patient", p.ID, bson.D{{Key: "microchip", Value: 1}, {Key: "version", Value: 1}}, &current); err != nil {
		return nil, err
	}
	// A stale update claims nothing: it must not tell whether the microchip is on record.
	if current.Version != expected {
		return nil, stale("patient", p.ID, expected)
	}
	var previous claimDoc
	if current.Microchip != "" && current.Microchip != p.Microchip {
		var err error
		if previous, err = r.heldClaim(ctx, microchipKey(current.Microchip), p.ID); err != nil {
			return nil, err
		}
	}
	var claim claimed
	if p.Microchip != "" && p.Microchip != current.Microchip {
		key := microchipKey(p.Microchip)
		var err error
		if claim, err = r.claim(ctx, key, p.ID, r.patientHoldsChip(key)); err != nil {
			return nil, microchipClaimFailed(err)
		}
	}
	c.Version = expected + 1
	d := patientToDoc(p)
	set := bson.M{
		"owner_id": d.OwnerID, "name": d.Name, "species": d.Species, "breed": d.Breed, "sex": d.Sex,
		"neutered": d.Neutered, "birth_date": d.BirthDate, "colour": d.Colour, "microchip": d.Microchip,
		"kennel_club_registration": d.KennelClubRegistration, "insurance": d.Insurance,
		"deceased": d.Deceased, "death_date": d.DeathDate, "version": c.Version, "updated": c.Time,
	}
	var out patientDoc
	err := r.patients.FindOneAndUpdate(ctx, bson.M{"_id": p.ID, "version": expected},
		bson.M{"$set": set, "$push": bson.M{"changes": changeToDoc(c)}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if err != nil {
		return nil, r.releaseAfterFailure(ctx, claim, r.updateFailed(ctx, r.patients, "patient", p.ID, expected, err, stale))
	}
	if err := r.releaseHeld(ctx, previous); err != nil {
		return nil, err
	}
	return out.toDomain()
}

// ListOwnerPatients implements domain.Repository, in _id order, the order of the
// {owner_id, _id} index, so that a page token needs only the last id. That is
// registration order only among patients registered without a request id (UUIDv7,
// time-ordered); a patient registered with one has a UUIDv5 of it, which falls anywhere.
func (r *Repository) ListOwnerPatients(ctx context.Context, ownerID string, size int, token string) ([]*domain.Patient, string, error) {
	filter := bson.D{{Key: "owner_id", Value: ownerID}}
	if token != "" {
		t, err := r.decodeToken(token)
		if err != nil {
			return nil, "", err
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.M{"$gt": t.ID}})
	}
	limit := pageSize(size)
	cur, err := r.patients.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "owner_id", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(limit+1).SetProjection(bson.M{"changes": 0}))
	if err != nil {
		return nil, "", fmt.Errorf("list patients: %w", err)
	}
	var docs []patientDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, "", fmt.Errorf("list patients: %w", err)
	}
	var next string
	if int64(len(docs)) > limit {
		docs = docs[:limit]
		if next, err = r.encodeToken(pageToken{ID: docs[len(docs)-1].ID}); err != nil {
			return nil, "", err
		}
	}
	out := make([]*domain.Patient, len(docs))
	for i := range docs {
		if out[i], err = docs[i].toDomain(); err != nil {
			return nil, "", fmt.Errorf("patient %s: %w", docs[i].ID, err)
		}
	}
	return out, next, nil
}

// FindPatientByCustomerNumber implements domain.Repository. A patient kept by an
// erasure is still found (its clinical record is kept and names it), an anonymised
// one is not.
func (r *Repository) FindPatientByCustomerNumber(ctx context.Context, n domain.CustomerNumber) (*domain.Patient, error) {
	var d patientDoc
	err := r.patients.FindOne(ctx, bson.M{"customer_number": n.String()}, options.FindOne().SetProjection(bson.M{"changes": 0})).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments), err == nil && d.Anonymised:
		// An anonymised patient keeps its number (never reused) but no longer answers
		// to it: nothing the number found is left.
		return nil, apperr.New(apperr.ErrNotFound, "no patient with this customer number")
	case err != nil:
		return nil, fmt.Errorf("find patient by customer number: %w", err)
	}
	return d.toDomain()
}

// FindPatientByMicrochip implements domain.Repository: an _id read of the claim, then
// of the patient.
func (r *Repository) FindPatientByMicrochip(ctx context.Context, chip string) (*domain.Patient, error) {
	var c claimDoc
	err := r.claims.FindOne(ctx, bson.M{"_id": microchipKey(chip)}).Decode(&c)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil, apperr.New(apperr.ErrNotFound, "no patient with this microchip")
	case err != nil:
		return nil, fmt.Errorf("read microchip claim: %w", err)
	}
	p, err := r.GetPatient(ctx, c.Ref)
	switch {
	case errors.Is(err, apperr.ErrNotFound), err == nil && p.Microchip != chip:
		return nil, apperr.New(apperr.ErrNotFound, "no patient with this microchip")
	case err != nil:
		return nil, err
	}
	return p, nil
}

// PatientChanges implements domain.Repository.
func (r *Repository) PatientChanges(ctx context.Context, patientID string) ([]domain.Change, error) {
	var d patientDoc
	if err := findOne(ctx, r.patients, "patient", patientID, bson.M{"changes": 1}, &d); err != nil {
		return nil, err
	}
	return changesToDomain(d.Changes), nil
}

// transferFrom is the path of the owner a transfer record names as the one the patient
// left.
const transferFrom = "changes.values.from"

// TransferredPatients implements domain.Repository, by the transfer records'
// owner values (changes.values.from), in _id order.
func (r *Repository) TransferredPatients(ctx context.Context, ownerID string) ([]*domain.Patient, error) {
	ps, err := r.findPatients(ctx, bson.D{{Key: transferFrom, Value: ownerID}}, bson.D{{Key: "_id", Value: 1}})
	if err != nil {
		return nil, fmt.Errorf("patients transferred from owner %s: %w", ownerID, err)
	}
	return ps, nil
}

// findPatients reads the patients filter selects, in sort's order, without their
// histories.
func (r *Repository) findPatients(ctx context.Context, filter, sort bson.D) ([]*domain.Patient, error) {
	cur, err := r.patients.Find(ctx, filter, options.Find().SetSort(sort).SetProjection(bson.M{"changes": 0}))
	if err != nil {
		return nil, err
	}
	var docs []patientDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]*domain.Patient, 0, len(docs))
	for i := range docs {
		p, err := docs[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("patient %s: %w", docs[i].ID, err)
		}
		out = append(out, p)
	}
	return out, nil
}
