package mongo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/mongox"
	"github.com/lillvet/register/services/platform/retention"
)

// Collections of the access requests: one document per request, and one ledger per
// owner listing that owner's requests, both read by _id only.
const (
	AccessRequestsCollection = "access_requests"
	AccessLedgersCollection  = "access_ledgers"
)

// ledgerAttempts bounds the retries of an append whose upsert raced another replica's
// creation of the same ledger.
const ledgerAttempts = 3

type dateDoc struct {
	Year  int `bson:"y"`
	Month int `bson:"m"`
	Day   int `bson:"d"`
}

func toDateDoc(d retention.Date) *dateDoc {
	if d.IsZero() {
		return nil
	}
	return &dateDoc{Year: d.Year, Month: int(d.Month), Day: d.Day}
}

func (d *dateDoc) toDomain() retention.Date {
	if d == nil {
		return retention.Date{}
	}
	return retention.Date{Year: d.Year, Month: time.Month(d.Month), Day: d.Day}
}

// accessRequestDoc is one access request. Extended is the guard of the one extension.
// The charge flag is not stored: it follows from the owner's ledger (documents stored
// before it was derived still hold possibly_chargeable and earlier_request_id, which
// nothing reads).
type accessRequestDoc struct {
	ID              string     `bson:"_id"`
	OwnerID         string     `bson:"owner_id"`
	Received        time.Time  `bson:"received"`
	Channel         string     `bson:"channel"`
	Identification  string     `bson:"identification"`
	IdentifiedBy    string     `bson:"identified_by,omitempty"`
	Language        string     `bson:"language"`
	DueDate         *dateDoc   `bson:"due_date"`
	Extended        bool       `bson:"extended"`
	ExtendedDueDate *dateDoc   `bson:"extended_due_date,omitempty"`
	ExtensionReason string     `bson:"extension_reason,omitempty"`
	ExtendedAt      *time.Time `bson:"extended_at,omitempty"`
	Status          string     `bson:"status"`
	RecordedBy      string     `bson:"recorded_by"`
	Created         time.Time  `bson:"created"`
	AnsweredAt      *time.Time `bson:"answered_at,omitempty"`
	// Proposal is set only while copies of a received request are being made.
	Proposal *answerProposalDoc `bson:"answer_proposal,omitempty"`
}

type answerProposalDoc struct {
	At   time.Time `bson:"at"`
	Copy string    `bson:"copy"`
}

type ledgerEntryDoc struct {
	ID       string    `bson:"id"`
	Received time.Time `bson:"received"`
}

// accessLedgerDoc lists an owner's requests in the order the store appended them; _id
// is the owner id.
type accessLedgerDoc struct {
	ID       string           `bson:"_id"`
	Requests []ledgerEntryDoc `bson:"requests"`
}

// toLedger maps a stored ledger. Two retries of one record racing past the check that
// the request is listed may both append it; the first occurrence counts.
func (d *accessLedgerDoc) toLedger() domain.AccessLedger {
	l := domain.AccessLedger{OwnerID: d.ID, Requests: make([]domain.PriorRequest, 0, len(d.Requests))}
	for _, e := range d.Requests {
		if !l.Lists(e.ID) {
			l.Requests = append(l.Requests, domain.PriorRequest{ID: e.ID, ReceivedAt: e.Received.UTC()})
		}
	}
	return l
}

func toAccessRequestDoc(r domain.AccessRequest) accessRequestDoc {
	d := accessRequestDoc{
		ID: r.ID, OwnerID: r.OwnerID, Received: r.ReceivedAt, Channel: string(r.Channel),
		Identification: string(r.Identification), IdentifiedBy: r.IdentifiedBy, Language: string(r.Language),
		DueDate: toDateDoc(r.DueDate), Extended: r.Extended(), ExtendedDueDate: toDateDoc(r.ExtendedDueDate),
		ExtensionReason: r.ExtensionReason, Status: string(r.Status), RecordedBy: r.RecordedBy, Created: r.CreatedAt,
	}
	if !r.ExtendedAt.IsZero() {
		t := r.ExtendedAt
		d.ExtendedAt = &t
	}
	return d
}

func (d *accessRequestDoc) toDomain() domain.AccessRequest {
	r := domain.AccessRequest{
		ID: d.ID, OwnerID: d.OwnerID, ReceivedAt: d.Received.UTC(), Channel: domain.Channel(d.Channel),
		Identification: domain.Identification(d.Identification), IdentifiedBy: d.IdentifiedBy,
		Language: domain.Language(d.Language), DueDate: d.DueDate.toDomain(), ExtendedDueDate: d.ExtendedDueDate.toDomain(),
		ExtensionReason: d.ExtensionReason, Status: domain.AccessStatus(d.Status), RecordedBy: d.RecordedBy,
		CreatedAt: d.Created.UTC(),
	}
	if d.ExtendedAt != nil {
		r.ExtendedAt = d.ExtendedAt.UTC()
	}
	if d.AnsweredAt != nil {
		r.AnsweredAt = d.AnsweredAt.UTC()
	}
	if d.Proposal != nil {
		r.Proposal = domain.AnswerProposal{At: d.Proposal.At.UTC(), CopyID: d.Proposal.Copy}
	}
	return r
}

// AccessLedger implements domain.Repository.
func (r *Repository) AccessLedger(ctx context.Context, ownerID string) (domain.AccessLedger, error) {
	var d accessLedgerDoc
	err := r.accessLedgers.FindOne(ctx, bson.M{"_id": ownerID}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.AccessLedger{OwnerID: ownerID}, nil
	}
	if err != nil {
		return domain.AccessLedger{}, fmt.Errorf("read the access requests of owner %s: %w", ownerID, err)
	}
	return d.toLedger(), nil
}

// AddToAccessLedger implements domain.Repository with one findAndModify by _id: a
// $push, upserting the ledger, that returns the document as it stood right after, so
// the position of the request in the array orders it among the owner's requests even
// when two are received at the same instant and recorded by two replicas. A concurrent
// creation of the same ledger fails on the duplicate _id, and the next attempt updates
// it.
func (r *Repository) AddToAccessLedger(ctx context.Context, ownerID string, p domain.PriorRequest) (domain.AccessLedger, error) {
	update := bson.M{"$push": bson.M{"requests": ledgerEntryDoc{ID: p.ID, Received: p.ReceivedAt}}}
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	for range ledgerAttempts {
		var d accessLedgerDoc
		err := r.accessLedgers.FindOneAndUpdate(ctx, bson.M{"_id": ownerID}, update, opts).Decode(&d)
		if mongox.IsDuplicateKey(err) {
			continue
		}
		if err != nil {
			return domain.AccessLedger{}, fmt.Errorf("add to the access requests of owner %s: %w", ownerID, err)
		}
		l := d.toLedger()
		if !l.Lists(p.ID) {
			return domain.AccessLedger{}, fmt.Errorf("add to the access requests of owner %s: the request is not in the stored ledger", ownerID)
		}
		return l, nil
	}
	return domain.AccessLedger{}, fmt.Errorf("add to the access requests of owner %s: contended: %w", ownerID, apperr.ErrUnavailable)
}

// CreateAccessRequest implements domain.Repository.
func (r *Repository) CreateAccessRequest(ctx context.Context, req domain.AccessRequest) (domain.AccessRequest, error) {
	return insertOrFirst(ctx, r.accessRequests, toAccessRequestDoc(req), req, "access request", req.ID, r.AccessRequest)
}

// AccessRequest implements domain.Repository.
func (r *Repository) AccessRequest(ctx context.Context, id string) (domain.AccessRequest, error) {
	return findByID[domain.AccessRequest, accessRequestDoc](ctx, r.accessRequests, "access request", id)
}

// OwnerAccessRequests implements domain.Repository: the ledger gives the order and the
// page, and one {_id: {$in: ids}} read gives the page's requests (a scan of the access
// requests on the embedded store, which has a few dozen a year).
func (r *Repository) OwnerAccessRequests(ctx context.Context, ledger domain.AccessLedger, size int, token string) (domain.Page[domain.AccessRequest], error) {
	var page domain.Page[domain.AccessRequest]
	ownerID := ledger.OwnerID
	list := slices.Clone(ledger.Requests)
	// Most recently received first; the id breaks ties, so the order is total.
	slices.SortFunc(list, func(a, b domain.PriorRequest) int {
		return cmp.Or(b.ReceivedAt.Compare(a.ReceivedAt), cmp.Compare(b.ID, a.ID))
	})
	if token != "" {
		t, err := decodeToken(token)
		if err != nil {
			return page, err
		}
		at := time.UnixMilli(t.Time).UTC()
		list = slices.DeleteFunc(list, func(p domain.PriorRequest) bool {
			c := cmp.Or(p.ReceivedAt.Compare(at), cmp.Compare(p.ID, t.ID))
			return c >= 0
		})
	}
	if n := int(pageSize(size)); len(list) > n {
		list = list[:n]
		last := list[n-1]
		page.Next = encodeToken(pageToken{Time: last.ReceivedAt.UnixMilli(), ID: last.ID})
	}
	if len(list) == 0 {
		return page, nil
	}
	ids := make([]string, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	cur, err := r.accessRequests.Find(ctx, bson.M{"_id": bson.M{"$in": ids}})
	if err != nil {
		return page, fmt.Errorf("list the access requests of owner %s: %w", ownerID, err)
	}
	var docs []accessRequestDoc
	if err := cur.All(ctx, &docs); err != nil {
		return page, fmt.Errorf("list the access requests of owner %s: %w", ownerID, err)
	}
	byID := make(map[string]domain.AccessRequest, len(docs))
	for i := range docs {
		byID[docs[i].ID] = docs[i].toDomain()
	}
	// A listed request whose document is missing cannot occur (the document is stored
	// first); it is skipped rather than failing the owner's whole list.
	for _, id := range ids {
		if req, ok := byID[id]; ok {
			page.Items = append(page.Items, req)
		}
	}
	return page, nil
}

// ExtendAccessRequest implements domain.Repository. The filter on extended makes the
// first extension the one that stays.
func (r *Repository) ExtendAccessRequest(ctx context.Context, req domain.AccessRequest) (domain.AccessRequest, error) {
	_, err := r.accessRequests.UpdateOne(ctx, bson.M{"_id": req.ID, "extended": false}, bson.M{"$set": bson.M{
		"extended": true, "extended_due_date": toDateDoc(req.ExtendedDueDate),
		"extension_reason": req.ExtensionReason, "extended_at": req.ExtendedAt,
	}})
	if err != nil {
		return domain.AccessRequest{}, fmt.Errorf("extend access request %s: %w", req.ID, err)
	}
	return r.AccessRequest(ctx, req.ID)
}

// proposeAttempts bounds the rounds of a proposal that finds a fresh proposal and then,
// reading it, none: each round is one copy failing and withdrawing its proposal.
const proposeAttempts = 5

// ProposeAccessAnswer implements domain.Repository. The status and the proposal's
// time are the guard, so copies made at once share the first one's; on the embedded
// store the filter scans the requests, a few dozen documents a year. One findAndModify
// sets p and returns the request; when the guard refuses (a fresh proposal), the read
// that follows may find it withdrawn meanwhile (its copy failed), and then p is proposed
// again, so that the request returned is answered or holds a proposal.
func (r *Repository) ProposeAccessAnswer(ctx context.Context, id string, p domain.AnswerProposal, staleBefore time.Time) (domain.AccessRequest, error) {
	filter := bson.M{
		"_id": id, "status": string(domain.AccessReceived),
		"$or": bson.A{bson.M{"answer_proposal": bson.M{"$exists": false}}, bson.M{"answer_proposal.at": bson.M{"$lt": staleBefore}}},
	}
	update := bson.M{"$set": bson.M{"answer_proposal": answerProposalDoc{At: p.At, Copy: p.CopyID}}}
	opts := options.FindOneAndUpdate().SetReturnDocument(options.After)
	for range proposeAttempts {
		var d accessRequestDoc
		err := r.accessRequests.FindOneAndUpdate(ctx, filter, update, opts).Decode(&d)
		if err == nil {
			return d.toDomain(), nil
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return domain.AccessRequest{}, fmt.Errorf("propose the answer of access request %s: %w", id, err)
		}
		stored, err := r.AccessRequest(ctx, id)
		if err != nil || stored.Status != domain.AccessReceived || !stored.Proposal.At.IsZero() {
			return stored, err
		}
	}
	return domain.AccessRequest{}, fmt.Errorf("propose the answer of access request %s: contended: %w", id, apperr.ErrUnavailable)
}

// WithdrawAccessAnswer implements domain.Repository. The copy id is the only guard: an
// answered request holds no proposal (the answer removes it) but one left by a release
// that answered without knowing proposals, which nothing reads once the request is
// answered.
func (r *Repository) WithdrawAccessAnswer(ctx context.Context, id, copyID string) error {
	_, err := r.accessRequests.UpdateOne(ctx, bson.M{"_id": id, "answer_proposal.copy": copyID},
		bson.M{"$unset": bson.M{"answer_proposal": ""}})
	if err != nil {
		return fmt.Errorf("withdraw the answer proposal of access request %s: %w", id, err)
	}
	return nil
}

// AnswerAccessRequest implements domain.Repository. The status is the guard, so the
// first answer's time stays; the proposal's, so that a copy whose time was proposed
// anew (its own went stale) does not answer. A zero time is refused: with no proposal
// stored it would match and answer the request in year 1, for good.
func (r *Repository) AnswerAccessRequest(ctx context.Context, id string, at time.Time) (domain.AccessRequest, error) {
	if at.IsZero() {
		return domain.AccessRequest{}, fmt.Errorf("answer access request %s: no answer time", id)
	}
	_, err := r.accessRequests.UpdateOne(ctx, bson.M{
		"_id": id, "status": string(domain.AccessReceived),
		"$or": bson.A{bson.M{"answer_proposal": bson.M{"$exists": false}}, bson.M{"answer_proposal.at": at}},
	}, bson.M{
		"$set":   bson.M{"status": string(domain.AccessAnswered), "answered_at": at},
		"$unset": bson.M{"answer_proposal": ""},
	})
	if err != nil {
		return domain.AccessRequest{}, fmt.Errorf("answer access request %s: %w", id, err)
	}
	return r.AccessRequest(ctx, id)
}
