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
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/protomap"
	"github.com/lillvet/register/services/platform/retention"
)

// erasuresColl holds one document per erased owner, keyed by the owner id, with the
// retention of each of their visits; scheduleColl one small document per erased owner
// with the day after which the sweep has something to do, so that the sweep's query
// (a scan on the embedded store) reads only these.
const (
	erasuresColl = "erasures"
	scheduleColl = "erasure_schedule"
)

// retentionDoc is a visit's retention: on the visit (its restriction) and in the
// owner's erasure document (what the sweep reads). Days are stored as "YYYY-MM-DD"
// strings, which sort as the days do.
type retentionDoc struct {
	VisitID       string `bson:"visit_id,omitempty"`
	RecordUntil   string `bson:"record_until,omitempty"`
	MedicineUntil string `bson:"medicine_until,omitempty"`
	InvoiceUntil  string `bson:"invoice_until,omitempty"`
	// Version is the visit's version the erasure planned from (the erasure document
	// only).
	Version int64 `bson:"version,omitempty"`
	// Medications and Invoices are the counts of the plan's entry (the erasure
	// document only, see domain.VisitRetention): for a part the plan erases, what the
	// visit held when first planned; for a part it keeps, what the visit holds as last
	// planned. Absent from plans stored before they were kept.
	Medications bool `bson:"medications,omitempty"`
	Invoices    int  `bson:"invoices,omitempty"`
	// LastEntry is the start of the animal's last visit the entry was planned from (the
	// erasure document only). Absent from plans stored before it was kept: the erasure
	// plans them again before it removes anything.
	LastEntry time.Time `bson:"last_entry,omitempty"`
}

type dispositionDoc struct {
	Class     string `bson:"class"`
	Kept      bool   `bson:"kept"`
	Basis     string `bson:"basis,omitempty"`
	KeptUntil string `bson:"kept_until,omitempty"`
	Count     int    `bson:"count"`
}

type erasureRequestDoc struct {
	RequestID               string           `bson:"request_id"`
	DecidedAt               time.Time        `bson:"decided_at"`
	Dispositions            []dispositionDoc `bson:"dispositions"`
	OwnerNamedUntil         string           `bson:"owner_named_until,omitempty"`
	IdentityCodeNeededUntil string           `bson:"identity_code_needed_until,omitempty"`
}

// erasureDoc is an owner's erasure record.
type erasureDoc struct {
	ID      string `bson:"_id"`
	Version int64  `bson:"version"`
	Closing bool   `bson:"closing,omitempty"`
	Applied bool   `bson:"applied"`
	// Answered is absent from records stored before it was kept: all their requests
	// were answered once they were applied.
	Answered int                 `bson:"answered,omitempty"`
	Requests []erasureRequestDoc `bson:"requests"`
	Visits   []retentionDoc      `bson:"visits,omitempty"`
	// DigestsUntil is the last day a request digest kept on a visit may be needed.
	DigestsUntil string `bson:"digests_until,omitempty"`
	// MissedCheckAfter is the day after which the sweep looks for visits the erasure
	// missed.
	MissedCheckAfter string `bson:"missed_check_after,omitempty"`
	// CountsHeld is absent from records whose plan was stored before its entries kept
	// what their visits held (medications, invoices).
	CountsHeld bool `bson:"counts_held,omitempty"`
}

// scheduleDoc is when an owner's erasure record has something due: NextDue, absent
// when nothing is held, as of the record's Version.
type scheduleDoc struct {
	ID      string `bson:"_id"`
	Version int64  `bson:"version"`
	NextDue string `bson:"next_due,omitempty"`
}

func day(d retention.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func retentionToDoc(r domain.VisitRetention) retentionDoc {
	return retentionDoc{
		VisitID: r.VisitID, RecordUntil: day(r.RecordUntil), MedicineUntil: day(r.MedicineUntil), InvoiceUntil: day(r.InvoiceUntil),
		Version: r.Version, Medications: r.Medications, Invoices: r.Invoices, LastEntry: r.LastEntry,
	}
}

// toDomain parses the retention's days with p.
func (d retentionDoc) toDomain(p *days) domain.VisitRetention {
	return domain.VisitRetention{
		VisitID: d.VisitID, RecordUntil: p.parse(d.RecordUntil), MedicineUntil: p.parse(d.MedicineUntil), InvoiceUntil: p.parse(d.InvoiceUntil),
		Version: d.Version, Medications: d.Medications, Invoices: d.Invoices, LastEntry: d.LastEntry,
	}
}

// days parses stored days in turn, keeping the first error.
type days struct{ err error }

func (p *days) parse(s string) retention.Date {
	d, err := retention.ParseDate(s)
	if err != nil && p.err == nil {
		p.err = err
	}
	return d
}

func (d *erasureDoc) toDomain() (*domain.Erasure, error) {
	var p days
	e := &domain.Erasure{OwnerID: d.ID, Closing: d.Closing, Applied: d.Applied, Answered: d.Answered, Version: d.Version, DigestsUntil: p.parse(d.DigestsUntil),
		MissedCheckAfter: p.parse(d.MissedCheckAfter), CountsHeld: d.CountsHeld}
	for _, r := range d.Requests {
		res := domain.ErasureResult{
			OwnerNamedUntil: p.parse(r.OwnerNamedUntil), IdentityCodeNeededUntil: p.parse(r.IdentityCodeNeededUntil),
		}
		for _, x := range r.Dispositions {
			res.Dispositions = append(res.Dispositions, domain.Disposition{
				Class: x.Class, Kept: x.Kept, Basis: x.Basis, KeptUntil: p.parse(x.KeptUntil), Count: x.Count,
			})
		}
		e.Requests = append(e.Requests, domain.ErasureRequest{RequestID: r.RequestID, DecidedAt: r.DecidedAt.UTC(), Result: res})
	}
	for _, v := range d.Visits {
		e.Visits = append(e.Visits, v.toDomain(&p))
	}
	if p.err != nil {
		return nil, fmt.Errorf("erasure record of owner %s: %w", d.ID, p.err)
	}
	if d.Applied && d.Answered == 0 {
		e.Answered = len(e.Requests)
	}
	return e, nil
}

func erasureToDoc(e *domain.Erasure) erasureDoc {
	d := erasureDoc{
		ID: e.OwnerID, Version: e.Version, Closing: e.Closing, Applied: e.Applied, Answered: e.Answered, Visits: protomap.All(e.Visits, retentionToDoc),
		DigestsUntil: day(e.DigestsUntil), MissedCheckAfter: day(e.MissedCheckAfter), CountsHeld: e.CountsHeld,
	}
	for _, r := range e.Requests {
		d.Requests = append(d.Requests, erasureRequestDoc{
			RequestID: r.RequestID, DecidedAt: r.DecidedAt,
			Dispositions: protomap.All(r.Result.Dispositions, func(x domain.Disposition) dispositionDoc {
				return dispositionDoc{Class: x.Class, Kept: x.Kept, Basis: x.Basis, KeptUntil: day(x.KeptUntil), Count: x.Count}
			}),
			OwnerNamedUntil: day(r.Result.OwnerNamedUntil), IdentityCodeNeededUntil: day(r.Result.IdentityCodeNeededUntil),
		})
	}
	return d
}

// OwnerVisits implements domain.Repository.
func (r *Repository) OwnerVisits(ctx context.Context, ownerID string) ([]*domain.Visit, error) {
	cur, err := r.visits.Find(ctx, bson.M{"owner_id": ownerID}, options.Find().SetProjection(withoutTrail))
	if err != nil {
		return nil, fmt.Errorf("read the owner's visits: %w", err)
	}
	var out []*domain.Visit
	if err := each(ctx, cur, func(d *visitDoc) error {
		v := d.current()
		var err error
		v.Restriction, err = d.kept()
		out = append(out, v)
		return err
	}); err != nil {
		return nil, fmt.Errorf("read the owner's visits: %w", err)
	}
	return out, nil
}

// LastVisitTime implements domain.Repository.
func (r *Repository) LastVisitTime(ctx context.Context, patientID string) (time.Time, error) {
	docs, err := r.findVisits(ctx, "patient_id", domain.Query{ID: patientID, Restricted: true}, bound{}, 1)
	if err != nil || len(docs) == 0 {
		return time.Time{}, err
	}
	return docs[0].StartedAt.UTC(), nil
}

// CountOwnerCommunications implements domain.Repository.
func (r *Repository) CountOwnerCommunications(ctx context.Context, ownerID string) (int, error) {
	n, err := r.communications.CountDocuments(ctx, bson.M{"owner_id": ownerID})
	if err != nil {
		return 0, fmt.Errorf("count communications: %w", err)
	}
	return int(n), nil
}

// DeleteOwnerCommunications implements domain.Repository.
func (r *Repository) DeleteOwnerCommunications(ctx context.Context, ownerID string) (int, error) {
	res, err := r.communications.DeleteMany(ctx, bson.M{"owner_id": ownerID})
	if err != nil {
		return 0, fmt.Errorf("delete communications: %w", err)
	}
	return int(res.DeletedCount), nil
}

// restriction is what a visit stores of its retention.
func restriction(r domain.VisitRetention) retentionDoc {
	d := retentionToDoc(r)
	d.VisitID, d.Version, d.Medications, d.Invoices, d.LastEntry = "", 0, false, 0, time.Time{}
	return d
}

// MarkRestricted implements domain.Repository: one findOneAndUpdate by _id and owner per
// visit, returning the version it replaced. (A bulk write would be one command, but the
// embedded store runs each of its updates as a scan of the collection unless it filters
// on _id alone: a thousand visits took minutes instead of seconds. The store's proxy
// narrows the owner's condition to a check of the one document, see EMBEDDED_STORE.md.)
func (r *Repository) MarkRestricted(ctx context.Context, ownerID string, marks []domain.Mark) ([]int64, error) {
	before := make([]int64, len(marks))
	for i, m := range marks {
		update := bson.M{
			"$set": bson.M{"restriction": restriction(m.Retention)},
			"$inc": bson.M{"version": 1},
		}
		if m.DropDigests {
			update["$unset"] = digestFields(m.Version)
		}
		var was struct {
			Version int64 `bson:"version"`
		}
		filter := bson.M{"_id": m.Retention.VisitID, "owner_id": ownerID}
		if m.DropDigests {
			// The positions to unset hold the amendments of m.Version only while the
			// visit is still at it: a payment since may take one of them.
			filter["version"] = m.Version
		}
		// The embedded store refuses a projection here: the document comes whole.
		err := r.visits.FindOneAndUpdate(ctx, filter, update).Decode(&was)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
		case err != nil:
			return nil, fmt.Errorf("restrict visit %s: %w", m.Retention.VisitID, err)
		default:
			before[i] = was.Version
		}
	}
	return before, nil
}

// DropDigests implements domain.Repository: one update by _id per visit, conditional
// on the version, which the embedded store's proxy narrows to _id (see
// docs/EMBEDDED_STORE.md).
func (r *Repository) DropDigests(ctx context.Context, visits []*domain.Visit) (int, error) {
	skipped := 0
	for _, v := range visits {
		res, err := r.visits.UpdateOne(ctx, bson.M{"_id": v.ID, "version": v.Version}, bson.M{
			"$unset": digestFields(v.Version),
			"$inc":   bson.M{"version": 1},
		})
		if err != nil {
			return skipped, fmt.Errorf("drop the request digests of visit %s: %w", v.ID, err)
		}
		if res.MatchedCount == 0 {
			skipped++
		}
	}
	return skipped, nil
}

// digestFields are the request digests of a visit at version, for $unset: its own and
// those of its amendments, of which there are fewer than the version (each raised it),
// with the amendments' request ids (see domain.WithoutDigests), named by position since
// the operator that names every element fails where a visit has no amendments;
// unsetting a position past the end does nothing.
func digestFields(version int64) bson.M {
	fields := bson.M{"request_digest": ""}
	for i := range version - 1 {
		fields[fmt.Sprintf("amendments.%d.digest", i)] = ""
		fields[fmt.Sprintf("amendments.%d.request_id", i)] = ""
	}
	return fields
}

// ReduceVisit implements domain.Repository: conditional on the version, one update
// that the embedded store's proxy narrows to _id (see docs/EMBEDDED_STORE.md).
func (r *Repository) ReduceVisit(ctx context.Context, ownerID string, ret domain.VisitRetention, rec *domain.VisitRecord) error {
	set := bson.M{"restriction": restriction(ret), "current": bodyToDoc(&rec.Current), "version": rec.Current.Version + 1}
	if len(rec.Amendments) > 0 {
		set["original"] = bodyToDoc(&rec.Original)
		set["amendments"] = protomap.All(rec.Amendments, amendmentToDoc)
	}
	update := bson.M{"$set": set}
	if rec.Digest == "" {
		update["$unset"] = bson.M{"request_digest": ""}
	}
	res, err := r.visits.UpdateOne(ctx, bson.M{"_id": ret.VisitID, "owner_id": ownerID, "version": rec.Current.Version}, update)
	if err != nil {
		return fmt.Errorf("reduce visit %s: %w", ret.VisitID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("visit %s changed while being reduced: %w", ret.VisitID, apperr.ErrConflict)
	}
	return nil
}

// DeleteUnamendedVisit implements domain.Repository: one delete filtered on _id and
// two $exists conditions, which the embedded store's proxy narrows to _id (under a
// millisecond at 10,000 visits; as sent, FerretDB scans the collection for most of a
// second).
func (r *Repository) DeleteUnamendedVisit(ctx context.Context, id string) (bool, error) {
	res, err := r.visits.DeleteOne(ctx, bson.M{"_id": id, "amendments": bson.M{"$exists": false}, "restriction": bson.M{"$exists": false}})
	if err != nil {
		return false, fmt.Errorf("delete visit %s: %w", id, err)
	}
	return res.DeletedCount == 1, nil
}

// DeleteMissedVisit implements domain.Repository.
func (r *Repository) DeleteMissedVisit(ctx context.Context, id string) (bool, error) {
	res, err := r.visits.DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return false, fmt.Errorf("delete visit %s: %w", id, err)
	}
	return res.DeletedCount == 1, nil
}

// DeleteVisit implements domain.Repository: one delete filtered on _id, the owner and
// the version, which the embedded store's proxy narrows to _id (see
// DeleteUnamendedVisit).
func (r *Repository) DeleteVisit(ctx context.Context, ownerID, id string, version int64) (bool, error) {
	res, err := r.visits.DeleteOne(ctx, bson.M{"_id": id, "owner_id": ownerID, "version": version})
	if err != nil {
		return false, fmt.Errorf("delete visit %s: %w", id, err)
	}
	return res.DeletedCount == 1, nil
}

// StoredVisits implements domain.Repository: one read by _id per id, projected to it.
// The embedded store answers an _id match from its index but scans the collection for
// an $in on _id (see docs/EMBEDDED_STORE.md), and ids are the few plan entries gone
// from the owner's visits.
func (r *Repository) StoredVisits(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		err := r.visits.FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"_id": 1})).Err()
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
		case err != nil:
			return nil, fmt.Errorf("look up visit %s: %w", id, err)
		default:
			out = append(out, id)
		}
	}
	return out, nil
}

// GetErasure implements domain.Repository.
func (r *Repository) GetErasure(ctx context.Context, ownerID string) (*domain.Erasure, error) {
	d, err := findByID[erasureDoc](ctx, r.erasures, ownerID, "erasure of owner "+ownerID)
	if err != nil {
		return nil, err
	}
	return d.toDomain()
}

// SaveErasure implements domain.Repository.
func (r *Repository) SaveErasure(ctx context.Context, e *domain.Erasure) error {
	d := erasureToDoc(e)
	if e.Version == 1 {
		_, err := r.erasures.InsertOne(ctx, d)
		if mongox.IsDuplicateKey(err) {
			return fmt.Errorf("erasure of owner %s was recorded concurrently: %w", e.OwnerID, apperr.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("record erasure of owner %s: %w", e.OwnerID, err)
		}
		return nil
	}
	res, err := r.erasures.ReplaceOne(ctx, bson.M{"_id": e.OwnerID, "version": e.Version - 1}, d)
	if err != nil {
		return fmt.Errorf("record erasure of owner %s: %w", e.OwnerID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("erasure of owner %s changed concurrently: %w", e.OwnerID, apperr.ErrConflict)
	}
	return nil
}

// RaiseDigestsUntil implements domain.Repository: one findAndModify by _id whose filter
// holds only a record whose day comes before until (days sort as their strings do), then,
// when none does, a read of the record as it is.
func (r *Repository) RaiseDigestsUntil(ctx context.Context, ownerID string, until retention.Date) (*domain.Erasure, error) {
	earlier := bson.A{bson.M{"digests_until": bson.M{"$exists": false}}, bson.M{"digests_until": bson.M{"$lt": until.String()}}}
	var d erasureDoc
	err := r.erasures.FindOneAndUpdate(ctx, bson.M{"_id": ownerID, "$or": earlier},
		bson.M{"$set": bson.M{"digests_until": until.String()}, "$inc": bson.M{"version": 1}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return r.GetErasure(ctx, ownerID)
	case err != nil:
		return nil, fmt.Errorf("keep the erasure of owner %s to %s: %w", ownerID, until, err)
	}
	return d.toDomain()
}

// ScheduleErasure implements domain.Repository: one upsert, unless a newer version of
// the record was scheduled already.
func (r *Repository) ScheduleErasure(ctx context.Context, e *domain.Erasure) error {
	_, err := r.schedule.ReplaceOne(ctx, bson.M{"_id": e.OwnerID, "version": bson.M{"$lte": e.Version}},
		scheduleDoc{ID: e.OwnerID, Version: e.Version, NextDue: day(e.NextDue())}, options.Replace().SetUpsert(true))
	if err != nil && !mongox.IsDuplicateKey(err) {
		return fmt.Errorf("schedule erasure of owner %s: %w", e.OwnerID, err)
	}
	return nil
}

// ErasuresDue implements domain.Repository: one query on the small schedule
// documents, then each due record by _id.
func (r *Repository) ErasuresDue(ctx context.Context, today retention.Date) ([]*domain.Erasure, error) {
	cur, err := r.schedule.Find(ctx, bson.M{"next_due": bson.M{"$lt": today.String()}})
	if err != nil {
		return nil, fmt.Errorf("find erasures due: %w", err)
	}
	var due []scheduleDoc
	if err := cur.All(ctx, &due); err != nil {
		return nil, fmt.Errorf("find erasures due: %w", err)
	}
	var out []*domain.Erasure
	for _, d := range due {
		e, err := r.GetErasure(ctx, d.ID)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			// Scheduled by a decision whose record was never stored.
		case err != nil:
			return nil, err
		case e.Applied:
			out = append(out, e)
		}
	}
	return out, nil
}
