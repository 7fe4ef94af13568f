package mongo

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
)

// Kinds of timeline entries, in the order they take at the same instant.
const (
	kindVisit         = 0
	kindCommunication = 1
)

// position is the last entry of a page: its time, kind and id. Lists are ordered
// newest first by (time desc, kind asc, id desc); a single-kind list has one kind. One
// position bounds both of the timeline's queries, so that an entry inserted between
// two pages lands where the order puts it instead of reappearing.
type position struct {
	Time time.Time `json:"-"`
	Kind int       `json:"k,omitempty"`
	ID   string    `json:"i"`
	// Millis is Time on the wire, as the store keeps it.
	Millis int64 `json:"t"`
}

func encodeToken(p position) string {
	p.Millis = p.Time.UnixMilli()
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken reads a page token; "" is the start (a zero position).
func decodeToken(s string) (position, error) {
	var p position
	if s == "" {
		return p, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil || p.ID == "" || (p.Kind != kindVisit && p.Kind != kindCommunication) {
		var v apperr.ValidationError
		v.Add("page_token", "is not a token from a previous page")
		return p, v.Err()
	}
	p.Time = time.UnixMilli(p.Millis).UTC()
	return p, nil
}

// bound is the part of a filter that starts a page after a position: entries older
// than Time, or at Time with an id below ID, or every entry at Time when AllAtTime.
type bound struct {
	set       bool
	time      time.Time
	id        string
	allAtTime bool
}

// visitBound is where visits resume after p. Visits come first at an instant, so after
// a communication every visit at its time has been listed.
func (p position) visitBound() bound {
	if p.ID == "" {
		return bound{}
	}
	if p.Kind == kindVisit {
		return bound{set: true, time: p.Time, id: p.ID}
	}
	return bound{set: true, time: p.Time}
}

// communicationBound is where communications resume after p: after a visit, every
// communication at its time is still to come.
func (p position) communicationBound() bound {
	if p.ID == "" {
		return bound{}
	}
	if p.Kind == kindCommunication {
		return bound{set: true, time: p.Time, id: p.ID}
	}
	return bound{set: true, time: p.Time, allAtTime: true}
}

// rangeFilter selects key == q.ID within q's time range and after b, on timeKey.
func rangeFilter(key string, q domain.Query, timeKey string, b bound) bson.D {
	filter := bson.D{{Key: key, Value: q.ID}}
	timeRange := bson.D{}
	if !q.Start.IsZero() {
		timeRange = append(timeRange, bson.E{Key: "$gte", Value: q.Start})
	}
	if !q.End.IsZero() {
		timeRange = append(timeRange, bson.E{Key: "$lt", Value: q.End})
	}
	if len(timeRange) > 0 {
		filter = append(filter, bson.E{Key: timeKey, Value: timeRange})
	}
	if !b.set {
		return filter
	}
	var resume bson.A
	switch {
	case b.allAtTime:
		resume = bson.A{bson.M{timeKey: bson.M{"$lte": b.time}}}
	case b.id == "":
		resume = bson.A{bson.M{timeKey: bson.M{"$lt": b.time}}}
	default:
		resume = bson.A{
			bson.M{timeKey: bson.M{"$lt": b.time}},
			bson.M{timeKey: b.time, "_id": bson.M{"$lt": b.id}},
		}
	}
	return append(filter, bson.E{Key: "$or", Value: resume})
}
