package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/retention"
)

// namesColl holds one namesDoc per erased owner whose names' day was checked or told:
// beside the erasure record, not in it, since the erasure's passes and the sweep
// replace that record whole at its version, and a mark must neither be lost to nor
// conflict with them.
const namesColl = "name_notices"

// erasedPatientsColl holds, per patient, the owners erased with kept visits of it: the
// owners a visit of the patient may keep named longer.
const erasedPatientsColl = "erased_patients"

// notedErasuresColl holds one document per erased owner whose erasure had its
// patients noted, by the owner's id: compared with the erasures' ids at a start, it
// tells which erasures a release before the notes applied (an old replica during a
// rolling upgrade too), so that only their visits are read.
const notedErasuresColl = "noted_erasures"

// erasedPatientDoc is one patient's erased owners.
type erasedPatientDoc struct {
	ID     string   `bson:"_id"`
	Owners []string `bson:"owners"`
}

// namesDoc is a domain.NamesNotice.
type namesDoc struct {
	ID           string `bson:"_id"`
	Told         string `bson:"told,omitempty"`
	ToldRequests int    `bson:"told_requests,omitempty"`
	Checks       int64  `bson:"checks"`
	// PendingUntil is stored at the store's millisecond precision; zero: no write
	// marked pending.
	PendingUntil time.Time `bson:"pending_until,omitempty"`
	AskAfter     time.Time `bson:"ask_after,omitempty"`
}

// ErasedOwners implements domain.Repository: the erasure records' ids alone.
func (r *Repository) ErasedOwners(ctx context.Context) ([]string, error) {
	out, err := ids(ctx, r.erasures)
	if err != nil {
		return nil, fmt.Errorf("list the erased owners: %w", err)
	}
	return out, nil
}

// NotedErasures implements domain.Repository.
func (r *Repository) NotedErasures(ctx context.Context) ([]string, error) {
	out, err := ids(ctx, r.notedErasures)
	if err != nil {
		return nil, fmt.Errorf("list the erasures noted: %w", err)
	}
	return out, nil
}

// ids reads the _id of every document of coll.
func ids(ctx context.Context, coll *mongo.Collection) ([]string, error) {
	cur, err := coll.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out, nil
}

// NoteErasedPatients implements domain.Repository: one upsert per patient.
func (r *Repository) NoteErasedPatients(ctx context.Context, ownerID string, patientIDs []string) error {
	for _, id := range patientIDs {
		_, err := r.erasedPatients.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$addToSet": bson.M{"owners": ownerID}},
			options.UpdateOne().SetUpsert(true))
		if err != nil {
			return fmt.Errorf("note patient %s of erased owner %s: %w", id, ownerID, err)
		}
	}
	return nil
}

// ErasedOwnersOf implements domain.Repository: one read by _id, which every store
// answers from its index (the embedded one too, where a filter on patient_id scans the
// visits), since every visit recorded reads it.
func (r *Repository) ErasedOwnersOf(ctx context.Context, patientID string) ([]string, error) {
	var d erasedPatientDoc
	err := r.erasedPatients.FindOne(ctx, bson.M{"_id": patientID}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the erased owners of patient %s: %w", patientID, err)
	}
	return d.Owners, nil
}

// SetErasureNoted implements domain.Repository.
func (r *Repository) SetErasureNoted(ctx context.Context, ownerID string) error {
	_, err := r.notedErasures.UpdateOne(ctx, bson.M{"_id": ownerID}, bson.M{"$set": bson.M{"noted": true}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("store that the erasure of owner %s had its patients noted: %w", ownerID, err)
	}
	return nil
}

// MarkNamesCheck implements domain.Repository: one upsert per owner.
func (r *Repository) MarkNamesCheck(ctx context.Context, ownerIDs ...string) error {
	for _, id := range ownerIDs {
		_, err := r.names.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$inc": bson.M{"checks": 1}}, options.UpdateOne().SetUpsert(true))
		if err != nil {
			return fmt.Errorf("mark the names of owner %s to be checked: %w", id, err)
		}
	}
	return nil
}

// MarkNamesPending implements domain.Repository: one upsert per owner, which raises
// pending_until and never lowers it (a write marked earlier with a later bound).
func (r *Repository) MarkNamesPending(ctx context.Context, until time.Time, ownerIDs ...string) error {
	for _, id := range ownerIDs {
		_, err := r.names.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$inc": bson.M{"checks": 1}, "$max": bson.M{"pending_until": until}},
			options.UpdateOne().SetUpsert(true))
		if err != nil {
			return fmt.Errorf("mark the names of owner %s to be checked: %w", id, err)
		}
	}
	return nil
}

// NamesChecksDue implements domain.Repository.
func (r *Repository) NamesChecksDue(ctx context.Context) ([]domain.NamesNotice, error) {
	cur, err := r.names.Find(ctx, bson.M{"checks": bson.M{"$gt": 0}})
	if err != nil {
		return nil, fmt.Errorf("find the names to check: %w", err)
	}
	var docs []namesDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find the names to check: %w", err)
	}
	out := make([]domain.NamesNotice, 0, len(docs))
	for _, d := range docs {
		told, err := retention.ParseDate(d.Told)
		if err != nil {
			return nil, fmt.Errorf("names of owner %s: %w", d.ID, err)
		}
		out = append(out, domain.NamesNotice{OwnerID: d.ID, Told: told, ToldRequests: d.ToldRequests, Checks: d.Checks,
			PendingUntil: d.PendingUntil, AskAfter: d.AskAfter})
	}
	return out, nil
}

// NamesTold implements domain.Repository.
func (r *Repository) NamesTold(ctx context.Context, ownerID string, day retention.Date, requests int) error {
	_, err := r.names.UpdateOne(ctx, bson.M{"_id": ownerID}, bson.M{"$set": bson.M{"told": day.String(), "told_requests": requests}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("store the day told of owner %s: %w", ownerID, err)
	}
	return nil
}

// NamesAskAfter implements domain.Repository.
func (r *Repository) NamesAskAfter(ctx context.Context, ownerID string, t time.Time) error {
	if _, err := r.names.UpdateOne(ctx, bson.M{"_id": ownerID}, bson.M{"$set": bson.M{"ask_after": t}}); err != nil {
		return fmt.Errorf("store when to check the names of owner %s again: %w", ownerID, err)
	}
	return nil
}

// ClearNamesCheck implements domain.Repository.
func (r *Repository) ClearNamesCheck(ctx context.Context, ownerID string, checks int64) error {
	if _, err := r.names.UpdateOne(ctx, bson.M{"_id": ownerID, "checks": checks}, bson.M{"$set": bson.M{"checks": 0}}); err != nil {
		return fmt.Errorf("clear the names check of owner %s: %w", ownerID, err)
	}
	return nil
}
