package mongo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/mongox"
)

// patientAttempts bounds the re-reads of a patient whose version moved on while an
// erasure changed it.
const patientAttempts = 3

// anonymisedPatientFields are the patient fields an anonymisation empties, as the change
// history names them. The id, the owner, the customer number (never reused), the
// species and the deceased flag stay: they identify no one.
var anonymisedPatientFields = []string{
	"name", "breed", "sex", "neutered", "birth_date", "colour", "microchip",
	"kennel_club_registration", "insurance", "death_date",
}

// SetRestriction implements domain.Repository.
func (r *Repository) SetRestriction(ctx context.Context, id string, restricted bool, expected int64, c domain.Change) (*domain.Owner, error) {
	c.Version = expected + 1
	filter := bson.D{{Key: "_id", Value: id}, {Key: "version", Value: expected}}
	if !restricted {
		// StartErasure moves no version when the owner is restricted already, so the
		// version alone does not keep a lift from overruling it. An erasure removes its
		// request only in the update that marks the owner erased, so on an owner not
		// erased the list is either absent or holds a request.
		filter = append(filter, bson.E{Key: "pending_erasures", Value: bson.D{{Key: "$exists", Value: false}}})
	}
	var out ownerDoc
	err := r.owners.FindOneAndUpdate(ctx, filter, bson.M{
		"$set":  bson.M{"restricted": restricted, "version": c.Version, "updated": c.Time},
		"$push": bson.M{"changes": changeToDoc(c)},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if err != nil {
		return nil, r.updateFailed(ctx, r.owners, "owner", id, expected, err, changedSince)
	}
	return out.toDomain(), nil
}

// StartErasure implements domain.Repository. Restricting, it is a change like any
// other (a new version and its record); on an owner restricted already it changes no
// data, so it only adds the request, with neither a version nor a record (the history
// would show a change of nothing). A request answered meanwhile is not added again
// (it fails as stale): its answer's update was the one that removes it, and no other
// will come.
func (r *Repository) StartErasure(ctx context.Context, o *domain.Owner, requestID string, c domain.Change) (*domain.Owner, error) {
	update := bson.M{"$addToSet": bson.M{"pending_erasures": requestID}}
	if !o.Restricted {
		c.Version = o.Version + 1
		update["$set"] = bson.M{"restricted": true, "version": c.Version, "updated": c.Time}
		update["$push"] = bson.M{"changes": changeToDoc(c)}
	}
	// $nor of an equality, not $ne: the embedded store's $ne and $nin match an array
	// holding any other element.
	filter := bson.D{{Key: "_id", Value: o.ID}, {Key: "version", Value: o.Version},
		{Key: "$nor", Value: bson.A{bson.D{{Key: "erasures.request_id", Value: requestID}}}}}
	var out ownerDoc
	err := r.owners.FindOneAndUpdate(ctx, filter, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if err != nil {
		return nil, r.updateFailed(ctx, r.owners, "owner", o.ID, o.Version, err, changedSince)
	}
	return out.toDomain(), nil
}

// ErasureAnswer implements domain.Repository.
func (r *Repository) ErasureAnswer(ctx context.Context, ownerID, requestID string) ([]domain.Disposition, bool, error) {
	var d ownerDoc
	if err := findOne(ctx, r.owners, "owner", ownerID, bson.M{"erasures": 1}, &d); err != nil {
		return nil, false, err
	}
	for _, e := range d.Erasures {
		if e.RequestID == requestID {
			return dispositionsToDomain(e.Dispositions), true, nil
		}
	}
	return nil, false, nil
}

// OwnerPatients implements domain.Repository.
func (r *Repository) OwnerPatients(ctx context.Context, ownerID string) ([]*domain.Patient, error) {
	ps, err := r.findPatients(ctx, bson.D{{Key: "owner_id", Value: ownerID}}, bson.D{{Key: "owner_id", Value: 1}, {Key: "_id", Value: 1}})
	if err != nil {
		return nil, fmt.Errorf("patients of owner %s: %w", ownerID, err)
	}
	return ps, nil
}

// ApplyErasure implements domain.Repository. The order makes every crash safe:
//  1. the sweep's schedule is written first, so nothing kept is ever left unscheduled,
//     unless a schedule planned from a later state of the owner is there (see
//     scheduleFilter);
//  2. the patients are anonymised or restricted one by one, each with the reasons of
//     the owner's time in its change history scrubbed (domain.ScrubbedReason), each
//     releasing its microchip claim once the chip has left the document; then, for an
//     erasure request, the reasons of the owner's time in the histories of the
//     patients the owner transferred away are scrubbed too;
//  3. one conditioned update of the owner clears its fields, scrubs the reasons of its
//     change history, adds the change record and stores the answer: until it lands, a
//     retry plans the same work again;
//  4. then the identity claim is released;
//  5. a schedule with nothing left to keep is deleted, unless it was planned from a
//     later state (a leftover one is deleted by the next sweep, which finds nothing
//     due).
//
// A claim is released only after its value has left the document, so a value is never
// carried unclaimed (a failed update would leave it so for good); a claim a crash leaves
// behind is taken over once its lease has passed (see claim).
func (r *Repository) ApplyErasure(ctx context.Context, o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string) (*domain.Owner, []domain.Disposition, error) {
	// The owner's update is conditioned on o.Version and on current's erasure count, so
	// what is read here is what it replaces: a change meanwhile makes the update fail
	// as stale. A plan made from an owner whose kept days have changed since is stale
	// before it schedules anything (a second request changes them without a new
	// version, and a plan that changes nothing on the owner has no update to fail). So
	// is one made from an owner whose day told by the history service has changed
	// since: an extension stores it without a new version, and a plan from before
	// would write back the earlier day or miss the later one.
	var current ownerDoc
	if err := findOne(ctx, r.owners, "owner", o.ID, bson.D{
		{Key: "identity_bidx", Value: 1}, {Key: "changes", Value: 1}, {Key: "erasures", Value: 1}, {Key: "pending_erasures", Value: 1},
		{Key: "name_kept_until", Value: 1}, {Key: "identity_kept_until", Value: 1}, {Key: "name_extended_until", Value: 1},
		{Key: "erasure_updates", Value: 1},
	}, &current); err != nil {
		return nil, nil, err
	}
	if current.NameKeptUntil != o.NameKeptUntil || current.IdentityKeptUntil != o.IdentityKeptUntil ||
		current.NameExtendedUntil != o.NameExtendedUntil {
		return nil, nil, changedSince("owner", o.ID, o.Version)
	}
	planned := current.ErasureUpdates
	if ownerErasureUpdate(o, plan, c, requestID, nil) != nil {
		planned++ // the count the owner's update below gives it
	}
	due := plan.NextDue()
	if due != "" {
		_, err := r.retention.UpdateOne(ctx, scheduleFilter(o.ID, planned), bson.M{"$set": bson.M{"due": due, "planned": planned}},
			options.UpdateOne().SetUpsert(true))
		// A duplicate key is an upsert that raced another's, or found a schedule planned
		// from a later state: the schedule exists.
		if err != nil && !mongox.IsDuplicateKey(err) {
			return nil, nil, fmt.Errorf("schedule retention of owner %s: %w", o.ID, err)
		}
	}
	requests := erasureRequestIDs(&current, requestID)
	if plan.AnonymisePatients || plan.RestrictPatients {
		patients, err := r.OwnerPatients(ctx, o.ID)
		if err != nil {
			return nil, nil, err
		}
		var found []*domain.Patient
		for _, p := range patients {
			q, err := r.erasePatient(ctx, p, plan.AnonymisePatients, c, requestID)
			if err != nil {
				return nil, nil, err
			}
			if q != nil {
				found = append(found, q)
			}
		}
		plan.Dispositions = plan.AppliedTo(domain.CoveredPatients(found, requestID))
	}
	// After the current patients: one transferred away while they were listed is
	// found here.
	if requestID != "" {
		if err := r.scrubFormerPatients(ctx, o.ID); err != nil {
			return nil, nil, err
		}
	}
	var identity string
	if plan.DropIdentity {
		identity = current.IdentityIndex
	}
	updated := o
	if update := ownerErasureUpdate(o, plan, c, requestID, scrubbed(current.Changes, requests)); update != nil {
		var out ownerDoc
		update["$inc"] = bson.M{"erasure_updates": 1}
		err := r.owners.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: o.ID}, {Key: "version", Value: o.Version}, erasureUpdates(current.ErasureUpdates)}, update,
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
		if err != nil {
			return nil, nil, r.updateFailed(ctx, r.owners, "owner", o.ID, o.Version, err, changedSince)
		}
		updated = out.toDomain()
	}
	if identity != "" {
		if err := r.release(ctx, "identity:"+identity, o.ID); err != nil {
			return nil, nil, err
		}
	}
	if due == "" {
		if _, err := r.retention.DeleteOne(ctx, scheduleFilter(o.ID, planned)); err != nil {
			return nil, nil, fmt.Errorf("unschedule retention of owner %s: %w", o.ID, err)
		}
	}
	return updated, plan.Dispositions, nil
}

// scheduleFilter selects owner id's retention schedule unless it was planned from a
// later state of the owner than planned (a count of the owner's erasure updates). The
// schedule is a document of its own, written before the owner's update or, for a plan
// that changes nothing on the owner (a sweep with nothing due, the covering of a late
// patient), with no update of the owner at all: without it a plan made from the owner
// read before a second erasure request shortened the kept days would put the longer
// day back, and the sweep would keep the names or the identity code past the day the
// request answered.
func scheduleFilter(id string, planned int64) bson.D {
	return bson.D{{Key: "_id", Value: id}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "planned", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "planned", Value: bson.D{{Key: "$lte", Value: planned}}}},
	}}}
}

// erasureUpdates conditions an update on the owner's count of erasure updates being n
// (absent on an owner none has written since it was counted).
func erasureUpdates(n int64) bson.E {
	if n == 0 {
		return bson.E{Key: "erasure_updates", Value: bson.D{{Key: "$exists", Value: false}}}
	}
	return bson.E{Key: "erasure_updates", Value: n}
}

// keptRequests are erasureRequestIDs of owner ownerID as stored now. A patient's
// reasons are scrubbed with the requests read after the patient, and the update is
// conditioned on the patient's version: a request whose reason the patient holds
// wrote it after it became pending, so it is found, and one that writes its reason
// later makes the update fail and read both again. Requests read once before the
// patients would miss one started meanwhile (on an owner restricted already it moves
// no version), and scrub its reason as staff's.
func (r *Repository) keptRequests(ctx context.Context, ownerID, requestID string) ([]string, error) {
	var d ownerDoc
	if err := findOne(ctx, r.owners, "owner", ownerID, bson.D{{Key: "erasures", Value: 1}, {Key: "pending_erasures", Value: 1}}, &d); err != nil {
		return nil, fmt.Errorf("erasure requests of owner: %w", err)
	}
	return erasureRequestIDs(&d, requestID), nil
}

// erasureRequestIDs are the erasure requests applied to owner d before, those started
// on it and not yet applied, and requestID (empty for the sweep): the reasons they
// wrote stay in the change histories. A request is pending before it writes any
// reason (StartErasure), and leaves the pending ones in the update that stores its
// answer, so a scrub never takes the reason of one still running for staff's.
func erasureRequestIDs(d *ownerDoc, requestID string) []string {
	ids := make([]string, 0, len(d.Erasures)+len(d.PendingErasures)+1)
	for _, e := range d.Erasures {
		ids = append(ids, e.RequestID)
	}
	ids = append(ids, d.PendingErasures...)
	if requestID != "" {
		ids = append(ids, requestID)
	}
	return ids
}

// scrubbed is the owner's change history with every reason the erasure does not keep
// replaced (domain.ScrubbedReason).
func scrubbed(history []changeDoc, requestIDs []string) []changeDoc {
	out := slices.Clone(history)
	for i := range out {
		out[i].Reason = domain.ScrubbedReason(out[i].Reason, requestIDs)
	}
	return out
}

// scrubbedReasons are the updates ($set paths) that scrub the reasons of ownerID's
// time (domain.InOwnersTime) in patient d's change history. Only that time: the
// patient's other owners are not erased, and the reasons typed in theirs stay.
func scrubbedReasons(d patientDoc, ownerID string, requestIDs []string) bson.M {
	set := bson.M{}
	for i, owners := range domain.ChangeOwners(changesToDomain(d.Changes), d.OwnerID) {
		if !domain.InOwnersTime(owners, ownerID) {
			continue
		}
		if r := domain.ScrubbedReason(d.Changes[i].Reason, requestIDs); r != d.Changes[i].Reason {
			set[fmt.Sprintf("changes.%d.reason", i)] = r
		}
	}
	return set
}

// scrubFormerPatients scrubs the reasons of ownerID's time in the histories of the
// patients ownerID transferred to another owner: they were typed while the patient
// was ownerID's, and may name them as well as those of its own patients do. The
// patients' data do not change, so neither do their versions nor their histories'
// records (a receptionist editing the animal now is not interrupted); each update is
// conditioned on the version its history was read at, so a record appended meanwhile
// makes it read again.
func (r *Repository) scrubFormerPatients(ctx context.Context, ownerID string) error {
	patients, err := r.TransferredPatients(ctx, ownerID)
	if err != nil {
		return err
	}
	for _, p := range patients {
		if p.OwnerID == ownerID {
			continue // back with the owner: the erasure's own patients cover it
		}
		if _, err := r.scrubPatientReasons(ctx, p.ID, ownerID); err != nil {
			return err
		}
	}
	return nil
}

func (r *Repository) scrubPatientReasons(ctx context.Context, id, ownerID string) (bool, error) {
	for range patientAttempts {
		var d patientDoc
		if err := findOne(ctx, r.patients, "patient", id, bson.D{{Key: "owner_id", Value: 1}, {Key: "version", Value: 1}, {Key: "changes", Value: 1}}, &d); err != nil {
			return false, fmt.Errorf("scrub the history of patient: %w", err)
		}
		requests, err := r.keptRequests(ctx, ownerID, "")
		if err != nil {
			return false, err
		}
		set := scrubbedReasons(d, ownerID, requests)
		if len(set) == 0 {
			return false, nil
		}
		res, err := r.patients.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: d.Version}}, bson.M{"$set": set})
		if err != nil {
			return false, fmt.Errorf("scrub the history of patient %s: %w", id, err)
		}
		if res.MatchedCount == 1 {
			return true, nil
		}
	}
	return false, fmt.Errorf("scrub the history of patient %s: contended: %w", id, apperr.ErrUnavailable)
}

// ownerErasureUpdate is the one update of the owner document that plan needs, or nil
// when there is nothing to write. history is the owner's change history as stored at
// o.Version, its reasons scrubbed.
func ownerErasureUpdate(o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string, history []changeDoc) bson.M {
	set, unset, push, pull := bson.M{}, bson.M{}, bson.M{}, bson.M{}
	if plan.Restrict {
		set["restricted"] = true
	}
	if requestID != "" {
		set["erased"] = true
		if !o.Erased {
			set["erased_at"] = c.Time
		}
		push["erasures"] = erasureDoc{RequestID: requestID, Time: c.Time, Dispositions: dispositionsToDoc(plan.Dispositions)}
		pull["pending_erasures"] = requestID
	}
	if plan.ClearContact {
		unset["phone"], unset["email"] = "", ""
		set["language"] = ""
	}
	switch {
	case plan.AnonymiseNames:
		set["given_names"], set["family_name"], set["address"] = "", "", addressDoc{}
		set["sort_key"], set["name_keys"], set["anonymised"] = "", bson.A{}, true
		unset["name_kept_until"], unset["name_extended_until"] = "", ""
	case plan.KeepNamesUntil != "" && plan.KeepNamesUntil != o.NameKeptUntil:
		set["name_kept_until"] = plan.KeepNamesUntil
	}
	if plan.ExtendNamesUntil != "" {
		set["name_extended_until"] = plan.ExtendNamesUntil
	}
	switch {
	case plan.DropIdentity:
		unset["identity"], unset["identity_masked"], unset["identity_bidx"], unset["identity_kept_until"] = "", "", "", ""
	case plan.KeepIdentityUntil != "" && plan.KeepIdentityUntil != o.IdentityKeptUntil:
		set["identity_kept_until"] = plan.KeepIdentityUntil
	}
	// The create's digest goes with the first of the data it was made of: kept, it
	// would still answer whether a guessed person was the one erased.
	if plan.ClearContact || plan.AnonymiseNames || plan.DropIdentity {
		unset["create_digest"] = ""
	}
	if plan.Changes() {
		c.Version = o.Version + 1
		set["version"], set["updated"] = c.Version, c.Time
		// Written whole: one update cannot both set the reasons inside the history and
		// push onto it.
		set["changes"] = append(history, changeToDoc(c))
	}
	update := bson.M{}
	for op, fields := range map[string]bson.M{"$set": set, "$unset": unset, "$push": push, "$pull": pull} {
		if len(fields) > 0 {
			update[op] = fields
		}
	}
	if len(update) == 0 {
		return nil
	}
	return update
}

// erasePatient anonymises p (anonymise) or marks it kept and restricted, with a change
// record carrying c's reason and the reasons of its owner's time in its history
// scrubbed (the owner's erasure requests' stay, see keptRequests); requestID names the erasure request
// (empty for the sweep). Done already, or transferred to another owner or deleted (its
// registration taken back) meanwhile, it does nothing. It answers the patient as it
// found it (its erasure flags), or nil when it is no longer the owner's.
func (r *Repository) erasePatient(ctx context.Context, p *domain.Patient, anonymise bool, c domain.Change, requestID string) (*domain.Patient, error) {
	owner := p.OwnerID
	for range patientAttempts {
		// Read whole, history included: the update below rewrites the history, and is
		// conditioned on the version read with it.
		var d patientDoc
		err := findOne(ctx, r.patients, "patient", p.ID, nil, &d)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("erase patient: %w", err)
		case d.OwnerID != owner:
			return nil, nil
		}
		found := &domain.Patient{ID: d.ID, OwnerID: d.OwnerID, Erased: d.Erased, Anonymised: d.Anonymised, ErasedBy: d.ErasedBy}
		if d.Anonymised || (!anonymise && d.Erased) {
			return found, nil
		}
		requests, err := r.keptRequests(ctx, owner, requestID)
		if err != nil {
			return nil, err
		}
		set, unset := bson.M{"erased": true}, bson.M{}
		c.Fields = []string{"restricted"}
		if anonymise {
			set["anonymised"], set["name"], set["sex"], set["neutered"] = true, "", "", false
			set["insurance"] = insuranceDoc{}
			if requestID != "" {
				set["erased_by"] = requestID
			}
			for _, f := range []string{"breed", "birth_date", "colour", "microchip", "kennel_club_registration", "death_date", "create_digest"} {
				unset[f] = ""
			}
			c.Fields = anonymisedPatientFields
		}
		c.Version = d.Version + 1
		set["version"], set["updated"] = c.Version, c.Time
		update := bson.M{"$set": set}
		// The reasons are set one by one and the record is appended at the history's
		// end, never the history written whole: a former owner's erasure scrubs the
		// same history without a new version (scrubFormerPatients), and a whole history
		// read before it landed would put its reasons back.
		maps.Copy(set, scrubbedReasons(d, owner, requests))
		if len(d.Changes) > 0 {
			set[fmt.Sprintf("changes.%d", len(d.Changes))] = changeToDoc(c)
		} else {
			update["$push"] = bson.M{"changes": changeToDoc(c)}
		}
		if len(unset) > 0 {
			update["$unset"] = unset
		}
		res, err := r.patients.UpdateOne(ctx, bson.M{"_id": d.ID, "version": d.Version}, update)
		if err != nil {
			return nil, fmt.Errorf("erase patient %s: %w", d.ID, err)
		}
		if res.MatchedCount == 1 {
			if anonymise && d.Microchip != "" {
				return found, r.release(ctx, microchipKey(d.Microchip), d.ID)
			}
			return found, nil
		}
	}
	return nil, fmt.Errorf("erase patient %s: contended: %w", p.ID, apperr.ErrUnavailable)
}

// DueForSweep implements domain.Repository.
func (r *Repository) DueForSweep(ctx context.Context, today string) ([]string, error) {
	cur, err := r.retention.Find(ctx, bson.M{"due": bson.M{"$lt": today}},
		options.Find().SetSort(bson.D{{Key: "due", Value: 1}}).SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("owners due for the retention sweep: %w", err)
	}
	var docs []retentionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("owners due for the retention sweep: %w", err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// lateBatch bounds the owner ids of one query for their patients.
const lateBatch = 500

// OwnersWithLatePatients implements domain.Repository: the erased owners (by the erased
// flag's index), then their patients not anonymised (by the owner_id index), a batch of
// owners a query. Both reads carry only the flags LatePatient looks at.
func (r *Repository) OwnersWithLatePatients(ctx context.Context) ([]string, error) {
	type flags struct {
		ID         string `bson:"_id"`
		OwnerID    string `bson:"owner_id"`
		Erased     bool   `bson:"erased"`
		Anonymised bool   `bson:"anonymised"`
	}
	read := func(c *mongo.Collection, filter, sort, projection bson.D) ([]flags, error) {
		cur, err := c.Find(ctx, filter, options.Find().SetSort(sort).SetProjection(projection))
		if err != nil {
			return nil, err
		}
		var out []flags
		return out, cur.All(ctx, &out)
	}
	owners, err := read(r.owners, bson.D{{Key: "erased", Value: true}},
		bson.D{{Key: "erased", Value: 1}, {Key: "_id", Value: 1}}, bson.D{{Key: "erased", Value: 1}, {Key: "anonymised", Value: 1}})
	if err != nil {
		return nil, fmt.Errorf("erased owners: %w", err)
	}
	var late []string
	for batch := range slices.Chunk(owners, lateBatch) {
		byID := make(map[string]*domain.Owner, len(batch))
		ids := make([]string, len(batch))
		for i, o := range batch {
			ids[i], byID[o.ID] = o.ID, &domain.Owner{ID: o.ID, Erased: o.Erased, Anonymised: o.Anonymised}
		}
		patients, err := read(r.patients,
			bson.D{{Key: "owner_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "anonymised", Value: bson.D{{Key: "$ne", Value: true}}}},
			bson.D{{Key: "owner_id", Value: 1}, {Key: "_id", Value: 1}},
			bson.D{{Key: "owner_id", Value: 1}, {Key: "erased", Value: 1}, {Key: "anonymised", Value: 1}})
		if err != nil {
			return nil, fmt.Errorf("patients of erased owners: %w", err)
		}
		for _, p := range patients {
			o := byID[p.OwnerID]
			// In owner_id order: an owner already listed is the last one.
			listed := len(late) > 0 && late[len(late)-1] == o.ID
			if !listed && domain.LatePatient(o, &domain.Patient{Erased: p.Erased, Anonymised: p.Anonymised}) {
				late = append(late, o.ID)
			}
		}
	}
	return late, nil
}

// ScrubErasedHistories brings the owners erased before erasures scrubbed the reasons
// staff typed (domain.ScrubbedReason) in line with those erased since: it scrubs the
// reasons of each erased owner's change history, and those of the owner's time in the
// histories of its patients and of the patients it transferred away, as an erasure now
// does. No data change, so no version or change record does either; each update is
// conditioned on the version read. It answers the number of documents it scrubbed, and
// goes on past an owner it cannot scrub. It reads every erased owner, so once a pass has
// ended without error it is stamped and later starts skip it.
func (r *Repository) ScrubErasedHistories(ctx context.Context) (int, error) {
	return r.runStamped(ctx, erasedReasonsStamp, 1, r.scrubErasedHistories)
}

// scrubErasedHistories is one pass of ScrubErasedHistories over every erased owner.
func (r *Repository) scrubErasedHistories(ctx context.Context) (int, error) {
	cur, err := r.owners.Find(ctx, bson.D{{Key: "erased", Value: true}}, options.Find().
		SetSort(bson.D{{Key: "erased", Value: 1}, {Key: "_id", Value: 1}}).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("erased owners: %w", err)
	}
	var owners []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &owners); err != nil {
		return 0, fmt.Errorf("erased owners: %w", err)
	}
	n := 0
	var failed []error
	for _, o := range owners {
		m, err := r.scrubErasedOwner(ctx, o.ID)
		n += m
		if err != nil {
			failed = append(failed, err)
		}
	}
	return n, errors.Join(failed...)
}

// scrubErasedOwner is ScrubErasedHistories for the erased owner id.
func (r *Repository) scrubErasedOwner(ctx context.Context, id string) (int, error) {
	n, err := r.scrubOwnerReasons(ctx, id)
	if err != nil {
		return 0, err
	}
	own, err := r.OwnerPatients(ctx, id)
	if err != nil {
		return n, err
	}
	former, err := r.TransferredPatients(ctx, id)
	if err != nil {
		return n, err
	}
	seen := map[string]bool{}
	for _, p := range append(own, former...) {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		scrubbed, err := r.scrubPatientReasons(ctx, p.ID, id)
		if err != nil {
			return n, fmt.Errorf("owner %s: %w", id, err)
		}
		if scrubbed {
			n++
		}
	}
	return n, nil
}

// scrubOwnerReasons scrubs the reasons of erased owner id's change history (those of
// its erasure requests stay) and answers 1 when it scrubbed any.
func (r *Repository) scrubOwnerReasons(ctx context.Context, id string) (int, error) {
	for range patientAttempts {
		var d ownerDoc
		if err := findOne(ctx, r.owners, "owner", id, bson.D{
			{Key: "version", Value: 1}, {Key: "changes", Value: 1}, {Key: "erasures", Value: 1}, {Key: "pending_erasures", Value: 1},
		}, &d); err != nil {
			return 0, err
		}
		requests := erasureRequestIDs(&d, "")
		set := bson.M{}
		for i, c := range scrubbed(d.Changes, requests) {
			if c.Reason != d.Changes[i].Reason {
				set[fmt.Sprintf("changes.%d.reason", i)] = c.Reason
			}
		}
		if len(set) == 0 {
			return 0, nil
		}
		res, err := r.owners.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: d.Version}}, bson.M{"$set": set})
		if err != nil {
			return 0, fmt.Errorf("scrub the history of owner %s: %w", id, err)
		}
		if res.MatchedCount == 1 {
			return 1, nil
		}
	}
	return 0, fmt.Errorf("scrub the history of owner %s: contended: %w", id, apperr.ErrUnavailable)
}
