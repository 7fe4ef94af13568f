// Package mongo stores visits and communications in the history service's own MongoDB
// database.
//
// Each write is one atomic document write: a visit is inserted whole, an amendment is
// one update conditioned on the version that pushes to the trail and sets the current
// view together, so that the trail and the view never disagree. Lists page by key
// (time, then _id, newest first) with an opaque token holding the last key, never by
// offset, so that concurrent inserts neither repeat nor skip an entry.
package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/paging"
	"github.com/lillvet/register/services/platform/protomap"
)

// Repository implements domain.Repository on MongoDB.
type Repository struct {
	visits         *mongo.Collection
	communications *mongo.Collection
	erasures       *mongo.Collection
	schedule       *mongo.Collection
	names          *mongo.Collection
	erasedPatients *mongo.Collection
	notedErasures  *mongo.Collection
	codes          *mongo.Collection
}

var _ domain.Repository = (*Repository)(nil)

// New returns a repository on db.
func New(db *mongo.Database) *Repository {
	return &Repository{
		visits: db.Collection(visitsColl), communications: db.Collection(communicationsColl),
		erasures: db.Collection(erasuresColl), schedule: db.Collection(scheduleColl), names: db.Collection(namesColl),
		erasedPatients: db.Collection(erasedPatientsColl), notedErasures: db.Collection(notedErasuresColl),
		codes: db.Collection(codesColl),
	}
}

// Indexes are the indexes every query of this repository needs (see QueryShapes).
func Indexes() []mongox.Index {
	newest := func(coll string, keys ...string) mongox.Index {
		d := bson.D{{Key: keys[0], Value: 1}}
		for _, k := range keys[1:] {
			d = append(d, bson.E{Key: k, Value: -1})
		}
		return mongox.Index{Collection: coll, Model: mongo.IndexModel{Keys: d}}
	}
	return []mongox.Index{
		newest(visitsColl, "patient_id", "started_at", "_id"),
		newest(visitsColl, "owner_id", "started_at", "_id"),
		newest(communicationsColl, "owner_id", "time", "_id"),
		{Collection: scheduleColl, Model: mongo.IndexModel{Keys: bson.D{{Key: "next_due", Value: 1}}}},
		{Collection: namesColl, Model: mongo.IndexModel{Keys: bson.D{{Key: "checks", Value: 1}}}},
		{Collection: codesColl, Model: mongo.IndexModel{Keys: bson.D{{Key: "checks", Value: 1}}}},
	}
}

// QueryShapes lists every non-_id query this repository issues.
func QueryShapes() []mongox.QueryShape {
	return []mongox.QueryShape{
		{Collection: visitsColl, Keys: []string{"patient_id", "started_at", "_id"}},
		{Collection: visitsColl, Keys: []string{"owner_id", "started_at", "_id"}},
		{Collection: communicationsColl, Keys: []string{"owner_id", "time", "_id"}},
		{Collection: scheduleColl, Keys: []string{"next_due"}},
		{Collection: namesColl, Keys: []string{"checks"}},
		{Collection: codesColl, Keys: []string{"checks"}},
	}
}

// withoutTrail leaves the original and the amendments out of list reads.
var withoutTrail = bson.M{"original": 0, "amendments": 0}

// CreateVisit implements domain.Repository.
func (r *Repository) CreateVisit(ctx context.Context, v *domain.Visit, digest string) (*domain.Visit, error) {
	v.Version, v.Updated = 1, v.Created
	d := visitToDoc(v)
	d.RequestDigest = digest
	_, err := r.visits.InsertOne(ctx, d)
	if mongox.IsDuplicateKey(err) {
		return nil, fmt.Errorf("visit %s: %w", v.ID, apperr.ErrAlreadyExists)
	}
	if err != nil {
		return nil, fmt.Errorf("insert visit: %w", err)
	}
	return v, nil
}

// GetVisit implements domain.Repository.
func (r *Repository) GetVisit(ctx context.Context, id string) (*domain.VisitRecord, error) {
	d, err := findByID[visitDoc](ctx, r.visits, id, "visit "+id)
	if err != nil {
		return nil, err
	}
	return d.record()
}

// findByID reads the document with the id; apperr.ErrNotFound when there is none.
// what names it, by its id, in errors and in the not-found message the client gets.
func findByID[T any](ctx context.Context, c *mongo.Collection, id, what string) (*T, error) {
	var d T
	err := c.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, apperr.New(apperr.ErrNotFound, "%s not found", what)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return &d, nil
}

// AmendVisit implements domain.Repository.
func (r *Repository) AmendVisit(ctx context.Context, id string, expected int64, a domain.Amendment, original, current *domain.Visit) error {
	set := bson.M{
		"current": bodyToDoc(current), "started_at": current.StartTime, "owner_id": current.OwnerID,
		"version": a.Version, "updated": a.Time,
	}
	if original != nil {
		// The first amendment keeps the original beside the view (see visitDoc).
		set["original"] = bodyToDoc(original)
	}
	res, err := r.visits.UpdateOne(ctx, bson.M{"_id": id, "version": expected}, bson.M{
		"$set":  set,
		"$push": bson.M{"amendments": amendmentToDoc(a)},
	})
	if err != nil {
		return fmt.Errorf("amend visit %s: %w", id, err)
	}
	if res.MatchedCount == 0 {
		if _, err := r.GetVisit(ctx, id); err != nil {
			return err
		}
		return apperr.New(apperr.ErrVersionMismatch, "visit %s was amended by someone else since version %d; read it again", id, expected)
	}
	return nil
}

// WithdrawAmendments implements domain.Repository: conditional on the version, one
// update that the embedded store's proxy narrows to _id (see docs/EMBEDDED_STORE.md).
func (r *Repository) WithdrawAmendments(ctx context.Context, rec *domain.VisitRecord, expected int64) error {
	set := bson.M{
		"current": bodyToDoc(&rec.Current), "started_at": rec.Current.StartTime, "owner_id": rec.Current.OwnerID,
		"version": rec.Current.Version, "updated": rec.Current.Updated,
	}
	update := bson.M{"$set": set}
	if len(rec.Amendments) == 0 {
		// Unamended again: the current view is the original (see visitDoc).
		update["$unset"] = bson.M{"original": "", "amendments": ""}
	} else {
		set["amendments"] = protomap.All(rec.Amendments, amendmentToDoc)
	}
	res, err := r.visits.UpdateOne(ctx, bson.M{"_id": rec.Current.ID, "version": expected}, update)
	if err != nil {
		return fmt.Errorf("withdraw amendments of visit %s: %w", rec.Current.ID, err)
	}
	if res.MatchedCount == 0 {
		if _, err := r.GetVisit(ctx, rec.Current.ID); err != nil {
			return err
		}
		return fmt.Errorf("visit %s changed since version %d: %w", rec.Current.ID, expected, apperr.ErrConflict)
	}
	return nil
}

// ListPatientVisits implements domain.Repository.
func (r *Repository) ListPatientVisits(ctx context.Context, q domain.Query) ([]*domain.Visit, string, error) {
	after, err := decodeToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(q.PageSize)
	docs, err := r.findVisits(ctx, "patient_id", q, after.visitBound(), size+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(docs) > size {
		docs = docs[:size]
		last := docs[size-1]
		next = encodeToken(position{Time: last.StartedAt, Kind: kindVisit, ID: last.ID})
	}
	out := make([]*domain.Visit, len(docs))
	for i := range docs {
		out[i] = docs[i].current()
	}
	return out, next, nil
}

// findVisits reads the current views of up to limit visits whose key field is q.ID,
// newest first, after the bound.
func (r *Repository) findVisits(ctx context.Context, key string, q domain.Query, b bound, limit int) ([]visitDoc, error) {
	filter := rangeFilter(key, q, "started_at", b)
	if !q.Restricted {
		filter = append(filter, bson.E{Key: "restriction", Value: bson.M{"$exists": false}})
	}
	docs, err := findNewest[visitDoc](ctx, r.visits, filter, "started_at", limit, withoutTrail)
	if err != nil {
		return nil, fmt.Errorf("list visits: %w", err)
	}
	return docs, nil
}

// findNewest reads up to limit documents matching filter, newest first by timeKey
// then _id.
func findNewest[T any](ctx context.Context, c *mongo.Collection, filter bson.D, timeKey string, limit int, projection any) ([]T, error) {
	opts := options.Find().SetSort(bson.D{{Key: timeKey, Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit))
	if projection != nil {
		opts.SetProjection(projection)
	}
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	var docs []T
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return docs, nil
}

// CreateCommunication implements domain.Repository.
func (r *Repository) CreateCommunication(ctx context.Context, c *domain.Communication) (*domain.Communication, error) {
	_, err := r.communications.InsertOne(ctx, communicationToDoc(c))
	if mongox.IsDuplicateKey(err) {
		return nil, fmt.Errorf("communication %s: %w", c.ID, apperr.ErrAlreadyExists)
	}
	if err != nil {
		return nil, fmt.Errorf("insert communication: %w", err)
	}
	return c, nil
}

// GetCommunication implements domain.Repository.
func (r *Repository) GetCommunication(ctx context.Context, id string) (*domain.Communication, error) {
	d, err := findByID[communicationDoc](ctx, r.communications, id, "communication "+id)
	if err != nil {
		return nil, err
	}
	return d.toDomain(), nil
}

// DeleteCommunication implements domain.Repository.
func (r *Repository) DeleteCommunication(ctx context.Context, id string) error {
	if _, err := r.communications.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return fmt.Errorf("delete communication %s: %w", id, err)
	}
	return nil
}

// ListOwnerCommunications implements domain.Repository.
func (r *Repository) ListOwnerCommunications(ctx context.Context, q domain.Query) ([]*domain.Communication, string, error) {
	after, err := decodeToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(q.PageSize)
	docs, err := r.findCommunications(ctx, q, after.communicationBound(), size+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(docs) > size {
		docs = docs[:size]
		last := docs[size-1]
		next = encodeToken(position{Time: last.Time, Kind: kindCommunication, ID: last.ID})
	}
	out := make([]*domain.Communication, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, next, nil
}

func (r *Repository) findCommunications(ctx context.Context, q domain.Query, b bound, limit int) ([]communicationDoc, error) {
	docs, err := findNewest[communicationDoc](ctx, r.communications, rangeFilter("owner_id", q, "time", b), "time", limit, nil)
	if err != nil {
		return nil, fmt.Errorf("list communications: %w", err)
	}
	return docs, nil
}

// ListOwnerTimeline implements domain.Repository: one query per collection, each for
// at most a page after the token's position, merged by time.
func (r *Repository) ListOwnerTimeline(ctx context.Context, q domain.Query, withCommunications bool) ([]domain.TimelineEntry, string, error) {
	after, err := decodeToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(q.PageSize)
	visits, err := r.findVisits(ctx, "owner_id", q, after.visitBound(), size+1)
	if err != nil {
		return nil, "", err
	}
	var comms []communicationDoc
	if withCommunications {
		if comms, err = r.findCommunications(ctx, q, after.communicationBound(), size+1); err != nil {
			return nil, "", err
		}
	}
	var out []domain.TimelineEntry
	var last position
	i, j := 0, 0
	for len(out) < size && (i < len(visits) || j < len(comms)) {
		// Visits before communications at the same instant, as position.before says.
		if j == len(comms) || i < len(visits) && !visits[i].StartedAt.Before(comms[j].Time) {
			out = append(out, domain.TimelineEntry{Visit: visits[i].current()})
			last = position{Time: visits[i].StartedAt, Kind: kindVisit, ID: visits[i].ID}
			i++
			continue
		}
		out = append(out, domain.TimelineEntry{Communication: comms[j].toDomain()})
		last = position{Time: comms[j].Time, Kind: kindCommunication, ID: comms[j].ID}
		j++
	}
	var next string
	if i < len(visits) || j < len(comms) {
		next = encodeToken(last)
	}
	return out, next, nil
}

// ExportOwner implements domain.Repository.
func (r *Repository) ExportOwner(ctx context.Context, ownerID string, visit func(*domain.VisitRecord) error, communication func(*domain.Communication) error) error {
	oldest := func(timeKey string) *options.FindOptionsBuilder {
		return options.Find().SetSort(bson.D{{Key: timeKey, Value: 1}, {Key: "_id", Value: 1}})
	}
	cur, err := r.visits.Find(ctx, bson.M{"owner_id": ownerID}, oldest("started_at"))
	if err != nil {
		return fmt.Errorf("export visits: %w", err)
	}
	if err := each(ctx, cur, func(d *visitDoc) error {
		rec, err := d.record()
		if err != nil {
			return err
		}
		return visit(rec)
	}); err != nil {
		return fmt.Errorf("export visits: %w", err)
	}
	cur, err = r.communications.Find(ctx, bson.M{"owner_id": ownerID}, oldest("time"))
	if err != nil {
		return fmt.Errorf("export communications: %w", err)
	}
	if err := each(ctx, cur, func(d *communicationDoc) error { return communication(d.toDomain()) }); err != nil {
		return fmt.Errorf("export communications: %w", err)
	}
	return nil
}

// each decodes every document of cur in turn and hands it to f, closing cur.
func each[T any](ctx context.Context, cur *mongo.Cursor, f func(*T) error) error {
	defer func() { _ = cur.Close(context.WithoutCancel(ctx)) }()
	for cur.Next(ctx) {
		var d T
		if err := cur.Decode(&d); err != nil {
			return err
		}
		if err := f(&d); err != nil {
			return err
		}
	}
	return cur.Err()
}

func pageSize(n int) int {
	return paging.Size(n, domain.DefaultPageSize, domain.MaxPageSize)
}
