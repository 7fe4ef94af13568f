package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
)

// ErasureJobsCollection holds one document per erasure request: the request, its job's
// steps and, once done, the result and the recipients to notify.
const ErasureJobsCollection = "erasure_jobs"

var _ domain.ErasureJobs = (*Repository)(nil)

type dispositionDoc struct {
	RecordClass string `bson:"record_class"`
	Kept        bool   `bson:"kept"`
	LegalBasis  string `bson:"legal_basis,omitempty"`
	KeptUntil   string `bson:"kept_until,omitempty"`
	Count       int    `bson:"count"`
}

type stepDoc struct {
	Service       string           `bson:"service"`
	Action        string           `bson:"action"`
	State         string           `bson:"state"`
	Attempts      int              `bson:"attempts"`
	NextAttempt   *time.Time       `bson:"next_attempt,omitempty"`
	LeaseUntil    *time.Time       `bson:"lease_until,omitempty"`
	LastError     string           `bson:"last_error,omitempty"`
	Dispositions  []dispositionDoc `bson:"dispositions,omitempty"`
	NamedUntil    string           `bson:"owner_named_until,omitempty"`
	IdentityUntil string           `bson:"identity_code_needed_until,omitempty"`
	Done          *time.Time       `bson:"done,omitempty"`
}

type notificationDoc struct {
	RecipientID   string     `bson:"recipient_id"`
	Name          string     `bson:"name"`
	Kind          string     `bson:"kind"`
	Contact       contactDoc `bson:"contact"`
	Categories    []string   `bson:"categories"`
	DisclosureIDs []string   `bson:"disclosure_ids"`
	Last          time.Time  `bson:"last"`
}

// erasureJobDoc is one erasure request with its job. Version guards every transition;
// Wake is when the job next needs a worker (absent once done and its finish audited, or
// stuck), which the workers' query of due jobs reads.
type erasureJobDoc struct {
	ID             string            `bson:"_id"`
	OwnerID        string            `bson:"owner_id"`
	Received       time.Time         `bson:"received"`
	Channel        string            `bson:"channel"`
	Identification string            `bson:"identification"`
	IdentifiedBy   string            `bson:"identified_by,omitempty"`
	RecordedBy     string            `bson:"recorded_by"`
	State          string            `bson:"state"`
	Version        int64             `bson:"version"`
	Wake           *time.Time        `bson:"wake,omitempty"`
	Steps          []stepDoc         `bson:"steps"`
	Notify         []notificationDoc `bson:"notify,omitempty"`
	Created        time.Time         `bson:"created"`
	Finished       *time.Time        `bson:"finished,omitempty"`
	FinishPending  bool              `bson:"finish_event_pending,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Millisecond)
	return &u
}

func fromOptTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toErasureJobDoc(j domain.ErasureJob) erasureJobDoc {
	d := erasureJobDoc{
		ID: j.ID, OwnerID: j.OwnerID, Received: j.ReceivedAt, Channel: string(j.Channel),
		Identification: string(j.Identification), IdentifiedBy: j.IdentifiedBy, RecordedBy: j.RecordedBy,
		State: string(j.State), Version: j.Version, Wake: optTime(j.NextWake()), Created: j.CreatedAt,
		Finished: optTime(j.FinishedAt), FinishPending: j.FinishEventPending,
	}
	for _, s := range j.Steps {
		sd := stepDoc{
			Service: string(s.Service), Action: string(s.Action), State: string(s.State), Attempts: s.Attempts,
			NextAttempt: optTime(s.NextAttemptAt), LeaseUntil: optTime(s.LeaseUntil), LastError: s.LastError,
			NamedUntil: s.Result.OwnerNamedUntil, IdentityUntil: s.Result.IdentityCodeNeededUntil, Done: optTime(s.DoneAt),
		}
		for _, p := range s.Result.Dispositions {
			sd.Dispositions = append(sd.Dispositions, dispositionDoc(p))
		}
		d.Steps = append(d.Steps, sd)
	}
	for _, n := range j.Notify {
		d.Notify = append(d.Notify, notificationDoc{
			RecipientID: n.RecipientID, Name: n.Name, Kind: string(n.Kind),
			Contact:    contactDoc{Name: n.Contact.Name, Email: n.Contact.Email, Phone: n.Contact.Phone},
			Categories: toStrings(n.Categories), DisclosureIDs: n.DisclosureIDs, Last: n.LastAt,
		})
	}
	return d
}

func (d *erasureJobDoc) toDomain() domain.ErasureJob {
	j := domain.ErasureJob{
		ID: d.ID,
		Receipt: domain.Receipt{
			OwnerID: d.OwnerID, ReceivedAt: d.Received.UTC(), Channel: domain.Channel(d.Channel),
			Identification: domain.Identification(d.Identification), IdentifiedBy: d.IdentifiedBy,
		},
		State: domain.JobState(d.State), Version: d.Version, RecordedBy: d.RecordedBy,
		CreatedAt: d.Created.UTC(), FinishedAt: fromOptTime(d.Finished), FinishEventPending: d.FinishPending,
	}
	for _, s := range d.Steps {
		st := domain.Step{
			StepKind: domain.StepKind{Service: domain.Service(s.Service), Action: domain.Action(s.Action)},
			State:    domain.StepState(s.State), Attempts: s.Attempts, NextAttemptAt: fromOptTime(s.NextAttempt),
			LeaseUntil: fromOptTime(s.LeaseUntil), LastError: s.LastError, DoneAt: fromOptTime(s.Done),
			Result: domain.StepResult{OwnerNamedUntil: s.NamedUntil, IdentityCodeNeededUntil: s.IdentityUntil},
		}
		for _, p := range s.Dispositions {
			st.Result.Dispositions = append(st.Result.Dispositions, domain.Disposition(p))
		}
		j.Steps = append(j.Steps, st)
	}
	for _, n := range d.Notify {
		j.Notify = append(j.Notify, domain.Notification{
			RecipientID: n.RecipientID, Name: n.Name, Kind: domain.Kind(n.Kind),
			Contact:    domain.Contact{Name: n.Contact.Name, Email: n.Contact.Email, Phone: n.Contact.Phone},
			Categories: fromStrings[domain.Category](n.Categories), DisclosureIDs: n.DisclosureIDs, LastAt: n.Last.UTC(),
		})
	}
	return j
}

// CreateErasureJob implements domain.ErasureJobs.
func (r *Repository) CreateErasureJob(ctx context.Context, j domain.ErasureJob) (domain.ErasureJob, error) {
	return insertOrFirst(ctx, r.erasureJobs, toErasureJobDoc(j), j, "erasure request", j.ID, r.ErasureJob)
}

// ErasureJob implements domain.ErasureJobs.
func (r *Repository) ErasureJob(ctx context.Context, id string) (domain.ErasureJob, error) {
	return findByID[domain.ErasureJob, erasureJobDoc](ctx, r.erasureJobs, "erasure request", id)
}

// UpdateErasureJob implements domain.ErasureJobs with a replace filtered on {_id,
// version}. MongoDB answers that filter from the _id index; the embedded store scans
// the collection for it, which stays cheap: a clinic gets a handful of erasure
// requests a year.
func (r *Repository) UpdateErasureJob(ctx context.Context, j domain.ErasureJob, from int64) error {
	res, err := r.erasureJobs.ReplaceOne(ctx, bson.D{{Key: "_id", Value: j.ID}, {Key: "version", Value: from}}, toErasureJobDoc(j))
	if err != nil {
		return fmt.Errorf("store erasure request %s: %w", j.ID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("erasure request %s moved past version %d: %w", j.ID, from, apperr.ErrConflict)
	}
	return nil
}

// DueErasureJobs implements domain.ErasureJobs.
func (r *Repository) DueErasureJobs(ctx context.Context, now time.Time, limit int) ([]domain.ErasureJob, error) {
	cur, err := r.erasureJobs.Find(ctx,
		bson.D{
			{Key: "state", Value: bson.M{"$in": bson.A{string(domain.JobRunning), string(domain.JobDone)}}},
			{Key: "wake", Value: bson.M{"$lte": now.UTC()}},
		},
		options.Find().SetSort(bson.D{{Key: "state", Value: 1}, {Key: "wake", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("find due erasure requests: %w", err)
	}
	var docs []erasureJobDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find due erasure requests: %w", err)
	}
	out := make([]domain.ErasureJob, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, nil
}

// OwnerErasureJobs implements domain.ErasureJobs, paging by (created, _id) newest first.
func (r *Repository) OwnerErasureJobs(ctx context.Context, ownerID string, size int, token string) (domain.Page[domain.ErasureJob], error) {
	filter := bson.D{{Key: "owner_id", Value: ownerID}}
	if token != "" {
		t, err := decodeToken(token)
		if err != nil {
			return domain.Page[domain.ErasureJob]{}, err
		}
		at := time.UnixMilli(t.Time).UTC()
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.M{"created": bson.M{"$lt": at}},
			bson.M{"created": at, "_id": bson.M{"$lt": t.ID}},
		}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "created", Value: -1}, {Key: "_id", Value: -1}})
	page, err := findPage(ctx, r.erasureJobs, filter, opts, size, (*erasureJobDoc).toDomain,
		func(d *erasureJobDoc) pageToken { return pageToken{Time: d.Created.UnixMilli(), ID: d.ID} })
	if err != nil {
		return page, fmt.Errorf("list erasure requests: %w", err)
	}
	return page, nil
}
