package mongo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// identityDomain separates the identity code's blind index from any other.
const identityDomain = "identity_code"

func (r *Repository) identityKey(code domain.IdentityCode) string {
	return "identity:" + r.keys.BlindIndex(identityDomain, []byte(code.String()))
}

// ownerHoldsIdentity tells whether the owner still carries the identity code of key,
// and whether it yields it. An erased owner yields: its code is kept only to collect an
// unpaid invoice (DESIGN rule 7), and the owner is out of every search for good (its
// restriction cannot be lifted), so reception could not find the old record to use
// instead; the same person coming back as a customer is registered anew. A restricted
// owner not erased keeps its claim: its restriction may be lifted.
func (r *Repository) ownerHoldsIdentity(key string) func(context.Context, string) (holding, error) {
	return func(ctx context.Context, ownerID string) (holding, error) {
		var d ownerDoc
		err := findOne(ctx, r.owners, "owner", ownerID, bson.D{{Key: "identity_bidx", Value: 1}, {Key: "erased", Value: 1}}, &d)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			return notHeld, nil
		case err != nil:
			return notHeld, err
		case "identity:"+d.IdentityIndex != key:
			return notHeld, nil
		case d.Erased:
			return yielded, nil
		}
		return held, nil
	}
}

// sealIdentity encrypts code bound to the owner id, so a sealed value copied to another
// owner does not open.
func (r *Repository) sealIdentity(ownerID string, code domain.IdentityCode) (*fieldcrypt.Sealed, error) {
	s, err := r.keys.Seal([]byte(code.String()), []byte(ownerID))
	if err != nil {
		return nil, fmt.Errorf("seal identity code: %w", err)
	}
	return &s, nil
}

// CreateOwner implements domain.Repository.
func (r *Repository) CreateOwner(ctx context.Context, o *domain.Owner, code *domain.IdentityCode, c domain.Change) (*domain.Owner, error) {
	var identityIndex string
	if code != nil {
		identityIndex = strings.TrimPrefix(r.identityKey(*code), "identity:")
	}
	o.CreateDigest = r.ownerCreateDigest(o, identityIndex)
	if existing, err := r.GetOwner(ctx, o.ID); err == nil {
		return existing, nil
	} else if !errors.Is(err, apperr.ErrNotFound) {
		return nil, err
	}
	o.Version, o.Created, o.Updated = 1, c.Time, c.Time
	c.Version = 1
	doc := ownerToDoc(o)
	doc.NameKeysVersion = r.nameKeysVersion
	doc.Changes = []changeDoc{changeToDoc(c)}
	var claim claimed
	if code != nil {
		key := r.identityKey(*code)
		var err error
		if claim, err = r.claim(ctx, key, o.ID, r.ownerHoldsIdentity(key)); err != nil {
			return nil, identityClaimFailed(err)
		}
		sealed, err := r.sealIdentity(o.ID, *code)
		if err != nil {
			return nil, r.releaseAfterFailure(ctx, claim, err)
		}
		doc.Identity, doc.IdentityMasked, doc.IdentityIndex = sealed, code.Masked(), key[len("identity:"):]
	}
	if _, err := r.owners.InsertOne(ctx, doc); err != nil {
		if existing, gerr := r.GetOwner(ctx, o.ID); gerr == nil {
			return existing, nil // a concurrent retry of the same create won
		}
		return nil, r.releaseAfterFailure(ctx, claim, fmt.Errorf("insert owner: %w", err))
	}
	return doc.toDomain(), nil
}

// GetOwner implements domain.Repository.
func (r *Repository) GetOwner(ctx context.Context, id string) (*domain.Owner, error) {
	var d ownerDoc
	if err := findOne(ctx, r.owners, "owner", id, withoutHistory, &d); err != nil {
		return nil, err
	}
	return d.toDomain(), nil
}

// UpdateOwner implements domain.Repository.
func (r *Repository) UpdateOwner(ctx context.Context, o *domain.Owner, expected int64, c domain.Change, code *domain.IdentityCode) (*domain.Owner, error) {
	c.Version = expected + 1
	d := ownerToDoc(o)
	set := bson.M{
		"given_names": d.GivenNames, "family_name": d.FamilyName, "address": d.Address,
		"phone": d.Phone, "email": d.Email, "language": d.Language, "home_clinic": d.HomeClinic,
		"sort_key": d.SortKey, "name_keys": d.NameKeys, "name_keys_version": r.nameKeysVersion,
		"version": c.Version, "updated": c.Time,
	}
	update := bson.M{"$set": set, "$push": bson.M{"changes": changeToDoc(c)}}
	var (
		claim    claimed
		previous claimDoc
	)
	if slices.Contains(c.Fields, "identity_code") {
		var current ownerDoc
		if err := findOne(ctx, r.owners, "owner", o.ID, bson.D{{Key: "identity_bidx", Value: 1}, {Key: "version", Value: 1}}, &current); err != nil {
			return nil, err
		}
		// A stale update claims nothing: it must not tell whether the code is on record.
		if current.Version != expected {
			return nil, stale("owner", o.ID, expected)
		}
		var key, held string
		if code != nil {
			key = r.identityKey(*code)
		}
		if current.IdentityIndex != "" {
			held = "identity:" + current.IdentityIndex
		}
		if held != "" && held != key {
			var err error
			if previous, err = r.heldClaim(ctx, held, o.ID); err != nil {
				return nil, err
			}
		}
		if code == nil {
			update["$unset"] = bson.M{"identity": "", "identity_masked": "", "identity_bidx": ""}
		} else {
			if key != held {
				var err error
				if claim, err = r.claim(ctx, key, o.ID, r.ownerHoldsIdentity(key)); err != nil {
					return nil, identityClaimFailed(err)
				}
			}
			sealed, err := r.sealIdentity(o.ID, *code)
			if err != nil {
				return nil, r.releaseAfterFailure(ctx, claim, err)
			}
			set["identity"], set["identity_masked"], set["identity_bidx"] = sealed, code.Masked(), key[len("identity:"):]
		}
	}
	var out ownerDoc
	err := r.owners.FindOneAndUpdate(ctx, bson.M{"_id": o.ID, "version": expected}, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if err != nil {
		return nil, r.releaseAfterFailure(ctx, claim, r.updateFailed(ctx, r.owners, "owner", o.ID, expected, err, stale))
	}
	if err := r.releaseHeld(ctx, previous); err != nil {
		return nil, err
	}
	return out.toDomain(), nil
}

// updateFailed explains a versioned update that matched nothing: the document is gone,
// or its version moved on, which conflict (stale or changedSince) tells.
func (r *Repository) updateFailed(ctx context.Context, c *mongo.Collection, what, id string, expected int64, err error, conflict func(what, id string, expected int64) error) error {
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("update %s %s: %w", what, id, err)
	}
	var d struct {
		Version int64 `bson:"version"`
	}
	if ferr := findOne(ctx, c, what, id, bson.M{"version": 1}, &d); ferr != nil {
		return ferr
	}
	return conflict(what, id, expected)
}

// pageToken is the opaque position after the last owner of a page.
type pageToken struct {
	SortKey string `json:"k,omitempty"`
	ID      string `json:"i"`
}

// pageTokenAAD binds a sealed page token to its use.
var pageTokenAAD = []byte("owner register page token")

// encodeToken seals t: a token of the owner list carries the last owner's folded name
// (the sort key), and page tokens travel in URLs, which proxies and browsers log.
func (r *Repository) encodeToken(t pageToken) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("page token: %w", err)
	}
	sealed, err := r.keys.Seal(b, pageTokenAAD)
	if err != nil {
		return "", fmt.Errorf("page token: %w", err)
	}
	b, err = json.Marshal(sealed)
	if err != nil {
		return "", fmt.Errorf("page token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeToken opens a token encodeToken made; anything else (including a token sealed
// under a key since removed) is an invalid page_token.
func (r *Repository) decodeToken(s string) (pageToken, error) {
	var (
		t      pageToken
		sealed fieldcrypt.Sealed
	)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &sealed)
	}
	if err == nil {
		b, err = r.keys.Open(sealed, pageTokenAAD)
	}
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.ID == "" {
		var v apperr.ValidationError
		v.Add("page_token", "is not a token from a previous page")
		return t, v.Err()
	}
	return t, nil
}

// ListOwners implements domain.Repository. Restricted owners are never listed.
func (r *Repository) ListOwners(ctx context.Context, q domain.OwnerQuery) ([]*domain.Owner, string, error) {
	filter := bson.D{{Key: "restricted", Value: bson.M{"$ne": true}}}
	if words := strings.Fields(q.NamePrefix); len(words) > 0 {
		// Every word of "Aino Mäkinen" (or "mäkinen aino", "aino mak") begins a word of
		// the names; the stored tokens are single words.
		each := make(bson.A, len(words))
		for i, w := range words {
			each[i] = bson.D{{Key: "name_keys", Value: bson.D{{Key: "$regex", Value: "^" + regexp.QuoteMeta(w)}}}}
		}
		filter = append(filter, bson.E{Key: "$and", Value: each})
	}
	if q.Phone != "" {
		filter = append(filter, bson.E{Key: "phone", Value: q.Phone})
	}
	if q.OwnerIDs != nil {
		filter = append(filter, bson.E{Key: "_id", Value: bson.M{"$in": q.OwnerIDs}})
	}
	if q.PageToken != "" {
		t, err := r.decodeToken(q.PageToken)
		if err != nil {
			return nil, "", err
		}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.M{"sort_key": bson.M{"$gt": t.SortKey}},
			bson.M{"sort_key": t.SortKey, "_id": bson.M{"$gt": t.ID}},
		}})
	}
	size := pageSize(q.PageSize)
	opts := options.Find().SetSort(bson.D{{Key: "sort_key", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(size + 1).SetProjection(withoutHistory)
	cur, err := r.owners.Find(ctx, filter, opts)
	if err != nil {
		return nil, "", fmt.Errorf("list owners: %w", err)
	}
	var docs []ownerDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, "", fmt.Errorf("list owners: %w", err)
	}
	var next string
	if int64(len(docs)) > size {
		docs = docs[:size]
		last := docs[len(docs)-1]
		if next, err = r.encodeToken(pageToken{SortKey: last.SortKey, ID: last.ID}); err != nil {
			return nil, "", err
		}
	}
	out := make([]*domain.Owner, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, next, nil
}

// FindOwnerByIdentityCode implements domain.Repository: an _id read of the claim, then
// of the owner. Restricted owners are not found.
func (r *Repository) FindOwnerByIdentityCode(ctx context.Context, code domain.IdentityCode) (*domain.Owner, error) {
	key := r.identityKey(code)
	var c claimDoc
	err := r.claims.FindOne(ctx, bson.M{"_id": key}).Decode(&c)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil, apperr.New(apperr.ErrNotFound, "no owner with this identity code")
	case err != nil:
		return nil, fmt.Errorf("read identity claim: %w", err)
	}
	var d ownerDoc
	err = findOne(ctx, r.owners, "owner", c.Ref, withoutHistory, &d)
	switch {
	case errors.Is(err, apperr.ErrNotFound), err == nil && ("identity:"+d.IdentityIndex != key || d.Restricted):
		return nil, apperr.New(apperr.ErrNotFound, "no owner with this identity code")
	case err != nil:
		return nil, err
	}
	return d.toDomain(), nil
}

// IdentityCode implements domain.Repository. A code sealed under a retired key is
// re-sealed under the active one on the way; one under a newer key (a replica the
// switch of the active key has not reached yet) stays under it.
func (r *Repository) IdentityCode(ctx context.Context, ownerID string) (domain.IdentityCode, error) {
	var d ownerDoc
	if err := findOne(ctx, r.owners, "owner", ownerID, bson.M{"identity": 1}, &d); err != nil {
		return domain.IdentityCode{}, err
	}
	if d.Identity == nil {
		return domain.IdentityCode{}, apperr.New(apperr.ErrNotFound, "owner %s has no identity code on record", ownerID)
	}
	code, err := r.openIdentity(ownerID, *d.Identity)
	if err != nil {
		return domain.IdentityCode{}, err
	}
	if r.keys.NeedsRotation(*d.Identity) {
		if err := r.reseal(ctx, ownerID, *d.Identity, code); err != nil {
			return domain.IdentityCode{}, err
		}
	}
	return code, nil
}

func (r *Repository) openIdentity(ownerID string, s fieldcrypt.Sealed) (domain.IdentityCode, error) {
	plain, err := r.keys.Open(s, []byte(ownerID))
	if err != nil {
		return domain.IdentityCode{}, fmt.Errorf("open identity code of owner %s: %w", ownerID, err)
	}
	code, err := domain.ParseIdentityCode(string(plain), true)
	if err != nil {
		return domain.IdentityCode{}, fmt.Errorf("stored identity code of owner %s: %w", ownerID, err)
	}
	return code, nil
}

// reseal replaces a sealed identity code with one under the active key, unless the
// stored value changed meanwhile.
func (r *Repository) reseal(ctx context.Context, ownerID string, old fieldcrypt.Sealed, code domain.IdentityCode) error {
	sealed, err := r.sealIdentity(ownerID, code)
	if err != nil {
		return err
	}
	_, err = r.owners.UpdateOne(ctx, bson.M{"_id": ownerID, "identity.kid": old.KID, "identity.nonce": old.Nonce},
		bson.M{"$set": bson.M{"identity": sealed}})
	if err != nil {
		return fmt.Errorf("re-seal identity code of owner %s: %w", ownerID, err)
	}
	return nil
}

// RotateIdentityKeys re-seals every identity code sealed under a retired key and
// reports how many it re-sealed, and how many it left under a key newer than the
// active one (listed after it in IDENTITY_KEYS), which this replica does not
// retire.
func (r *Repository) RotateIdentityKeys(ctx context.Context) (resealed, newer int, err error) {
	cur, err := r.owners.Find(ctx, bson.M{"identity.kid": bson.M{"$exists": true, "$ne": r.keys.ActiveKID()}},
		options.Find().SetProjection(bson.M{"identity": 1}))
	if err != nil {
		return 0, 0, fmt.Errorf("find identity codes to rotate: %w", err)
	}
	defer func() { _ = cur.Close(ctx) }()
	// One code that cannot be opened (its key already removed) must not leave every
	// later owner unrotated: the pass goes on and reports them all.
	var failed []error
	for cur.Next(ctx) {
		var d ownerDoc
		if err := cur.Decode(&d); err != nil {
			return resealed, newer, fmt.Errorf("decode owner: %w", err)
		}
		code, err := r.openIdentity(d.ID, *d.Identity)
		switch {
		case err != nil:
		case !r.keys.NeedsRotation(*d.Identity):
			newer++
			continue
		default:
			err = r.reseal(ctx, d.ID, *d.Identity, code)
		}
		if err != nil {
			failed = append(failed, err)
			continue
		}
		resealed++
	}
	if err := cur.Err(); err != nil {
		failed = append(failed, fmt.Errorf("rotate identity codes: %w", err))
	}
	return resealed, newer, errors.Join(failed...)
}

// RefreshNameKeys recomputes the search keys of every owner whose stored keys older
// rules made (e.g. before "ø" folded to "o"), so that search finds them as it finds
// owners written since, and reports how many owners it updated.
//
// Every write of the keys (a create, an update, this pass) stores beside them the
// version of the rules that made them (name_keys_version), so the owners to refresh are
// those with a lower version or none (written before it was stored), found by an index
// and not by reading every owner. Under a rolling upgrade, an owner that a replica still
// on the older rules writes after this pass carries the older version, and the next
// start of any replica with the newer rules refreshes it; a pass cut short leaves the
// rest at their old version for the next start.
//
// Each owner is written by its _id alone (refreshKeys): the embedded store uses an
// index only for a filter that is exactly {_id} and scans every owner under its
// store-wide write lock for any other, which made a pass over 1,000 owners take two
// minutes, quadratic in their number. A write that finds the owner changed since it
// was read (a rename wrote its own keys, or a replica with newer rules refreshed it)
// puts back what it replaced.
//
// Owners with a higher version than ours are left alone: a replica with older rules
// cannot tell a rollback from a rolling upgrade still under way, and rewriting them
// would make the two versions undo each other at every start. After a rollback, owners
// keep the newer keys (a search typed as the older rules fold may miss one whose name
// the rules fold differently) and the roll-forward refreshes those written meanwhile; to
// put back the older keys on purpose, once no replica runs the newer rules, remove
// name_keys_version from the owners and restart (docs/OPERATIONS.md). A binary from
// before the version was stored writes keys without it and leaves a stored version as
// it was, so rolling back to one needs the same removal before rolling forward.
func (r *Repository) RefreshNameKeys(ctx context.Context) (int, error) {
	older := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "name_keys_version", Value: bson.D{{Key: "$lt", Value: r.nameKeysVersion}}}},
		bson.D{{Key: "name_keys_version", Value: nil}},
	}}}
	cur, err := r.owners.Find(ctx, older, options.Find().SetProjection(nameKeysFields))
	if err != nil {
		return 0, fmt.Errorf("find owners' name keys: %w", err)
	}
	defer func() { _ = cur.Close(ctx) }()
	n := 0
	for cur.Next(ctx) {
		var d ownerDoc
		if err := cur.Decode(&d); err != nil {
			return n, fmt.Errorf("decode owner: %w", err)
		}
		refreshed, err := r.refreshKeys(ctx, d)
		if err != nil {
			return n, err
		}
		if refreshed {
			n++
		}
	}
	if err := cur.Err(); err != nil {
		return n, fmt.Errorf("refresh name keys: %w", err)
	}
	return n, nil
}

// nameKeysFields are the fields an owner's name keys are made from and stored in.
var nameKeysFields = bson.D{
	{Key: "given_names", Value: 1}, {Key: "family_name", Value: 1},
	{Key: "sort_key", Value: 1}, {Key: "name_keys", Value: 1}, {Key: "name_keys_version", Value: 1},
}

// refreshKeysAttempts bounds how often refreshKeys puts back a write that met another:
// each attempt needs a write of the same owner in between.
const refreshKeysAttempts = 10

// refreshSettleTimeout bounds the writes that finish an owner refreshKeys has begun,
// which run on when the pass's context ends.
const refreshSettleTimeout = 30 * time.Second

// refreshKeys writes the keys today's rules make of the names in read, the owner as
// the pass read it, and reports whether they stand. Each write returns the document it
// replaced; when its names or version are not the ones the write was based on, another
// write came in between, and what it wrote is put back. Names and version identify the
// keys (anonymised owners too: their names are empty, and so are the keys made from
// them, but left at their version they would be read again at every start).
//
// The keys go in without a version, which follows them only once the write that put
// them there is found to have replaced the names they were made of: a pass stopped in
// between (a rolling restart, a failed write) would otherwise leave an owner renamed
// meanwhile with the old name's keys at the current version, which no start refreshes.
// The second write lowers the version to its own rather than setting it, so a rename by
// a replica on older rules between the two keeps the older version with its keys; one by
// a binary from before the version was stored, which leaves none, gets this pass's
// version until it is put back (as any write of such a binary keeps a stored version).
// Once the first write is done the owner is finished even if the pass's context ends.
func (r *Repository) refreshKeys(ctx context.Context, read ownerDoc) (bool, error) {
	fresh := ownerToDoc(&domain.Owner{GivenNames: read.GivenNames, FamilyName: read.FamilyName})
	fresh.NameKeysVersion = r.nameKeysVersion
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshSettleTimeout)
	defer cancel()
	based, write := read, fresh
	for attempt := range refreshKeysAttempts {
		replaced, err := r.swapNameKeys(ctx, read.ID, bson.D{
			{Key: "$set", Value: bson.D{{Key: "sort_key", Value: write.SortKey}, {Key: "name_keys", Value: write.NameKeys}}},
			{Key: "$unset", Value: bson.D{{Key: "name_keys_version", Value: ""}}},
		})
		// Begun, the owner is finished even when the pass's context ends.
		ctx = settle
		if err != nil || replaced == nil {
			return false, err
		}
		// The version the owner holds after this attempt's writes.
		left := 0
		if sameNameKeys(*replaced, based) {
			if write.NameKeysVersion == 0 {
				return attempt == 0, nil
			}
			based = *replaced
			based.NameKeysVersion = 0
			// $min, so that keys a replica on older rules wrote in between keep its
			// version and the next start refreshes them, should this process die
			// before it puts them back.
			replaced, err = r.swapNameKeys(ctx, read.ID, bson.D{{Key: "$min", Value: bson.D{{Key: "name_keys_version", Value: write.NameKeysVersion}}}})
			if err != nil || replaced == nil {
				return false, err
			}
			if sameNameKeys(*replaced, based) {
				return attempt == 0, nil
			}
			left = write.NameKeysVersion
			if replaced.NameKeysVersion != 0 {
				left = min(left, replaced.NameKeysVersion)
			}
		}
		// Another write came in between: what it wrote is put back.
		based = *replaced
		based.NameKeysVersion = left
		write = *replaced
	}
	return false, fmt.Errorf("refresh name keys of owner %s: written %d times meanwhile: %w", read.ID, refreshKeysAttempts, apperr.ErrUnavailable)
}

// swapNameKeys applies update to the owner id by its _id alone and returns the owner
// as it was, or nil when it is gone.
func (r *Repository) swapNameKeys(ctx context.Context, id string, update bson.D) (*ownerDoc, error) {
	var replaced ownerDoc
	// No projection: the embedded store does not implement one for findAndModify.
	err := r.owners.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, update,
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&replaced)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("refresh name keys of owner %s: %w", id, err)
	}
	return &replaced, nil
}

// sameNameKeys reports whether a and b hold the same names under the same version, and
// so keys made alike.
func sameNameKeys(a, b ownerDoc) bool {
	return a.GivenNames == b.GivenNames && a.FamilyName == b.FamilyName && a.NameKeysVersion == b.NameKeysVersion
}

// OwnerChanges implements domain.Repository.
func (r *Repository) OwnerChanges(ctx context.Context, ownerID string) ([]domain.Change, error) {
	var d ownerDoc
	if err := findOne(ctx, r.owners, "owner", ownerID, bson.M{"changes": 1}, &d); err != nil {
		return nil, err
	}
	return changesToDomain(d.Changes), nil
}

// OwnerRestrictions implements domain.Repository: one {_id: {$in: ids}} query that
// reads only the restriction flag.
func (r *Repository) OwnerRestrictions(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := r.owners.Find(ctx, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"restricted": 1}))
	if err != nil {
		return nil, fmt.Errorf("read owner restrictions: %w", err)
	}
	var docs []struct {
		ID         string `bson:"_id"`
		Restricted bool   `bson:"restricted"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read owner restrictions: %w", err)
	}
	for _, d := range docs {
		out[d.ID] = d.Restricted
	}
	return out, nil
}
