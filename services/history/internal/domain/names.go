package domain

import (
	"time"

	"github.com/lillvet/register/services/platform/retention"
)

// NamesNotice is what this service has told the owner service of one erased owner's
// names: the owner service keeps them to the day the records here name the owner, which
// can move later after the erasure answered (the sweep holds a clinical record against
// the animal's last visit, by its next owner since). It is the durable outbox of those
// days: a write that may move the day marks the owner to be checked before it writes,
// kept due until the write's bound has passed (PendingUntil), and again after (Checks),
// and the job that tells the owner service clears the marks it read once it is told
// and no write is pending.
type NamesNotice struct {
	OwnerID string
	// Told is the last day the job told the owner service, as of ToldRequests, the
	// number of the owner's erasure requests then; zero until it told one.
	Told         retention.Date
	ToldRequests int
	// Checks counts the marks since the last clear; the job clears only the marks it
	// read, so a mark set while it pushed is checked again at its next run.
	Checks int64
	// PendingUntil is the latest bound of a write marked before it (a visit recorded,
	// or corrected to another day or owner): until it has passed the write may still
	// land, so a check that found the day without it cannot clear the marks.
	PendingUntil time.Time
	// AskAfter: the owner service answered that it had not erased the owner yet (its
	// erasure job's step still to come), and is not asked again before then, since
	// each refusal is audited about the owner.
	AskAfter time.Time
}

// Pending reports whether a write marked before it may still land at now: the marks
// stay due however the day was found.
func (n NamesNotice) Pending(now time.Time) bool {
	return now.Before(n.PendingUntil)
}

// ToldDay is the day the owner service keeps erased owner e's names to as far as this
// service knows: the last day told, or, when an erasure request was answered since (or
// none was told), the last request's answer, which the erasure job passed to the owner
// service as name_kept_until (a later request moves it either way).
func (n NamesNotice) ToldDay(e *Erasure) retention.Date {
	if !n.Told.IsZero() && n.ToldRequests == len(e.Requests) {
		return n.Told
	}
	if len(e.Requests) == 0 {
		return retention.Date{}
	}
	return e.Requests[len(e.Requests)-1].Result.OwnerNamedUntil
}

// NamedUntil is the last day anything of erased owner e is kept now: each held visit
// that is still the owner's (patientOf maps its id to its animal) kept to its latest
// part, its clinical record held against the animal's last visit (by any owner), as
// the sweep holds it (lastVisitUntil answers the day the animal's last visit keeps a
// clinical record to). A held visit no longer the owner's names the owner no more.
func (e *Erasure) NamedUntil(patientOf map[string]string, lastVisitUntil func(patientID string) (retention.Date, error)) (retention.Date, error) {
	var until retention.Date
	for _, r := range e.Visits {
		patient, ok := patientOf[r.VisitID]
		if !ok {
			continue
		}
		if !r.RecordUntil.IsZero() {
			last, err := lastVisitUntil(patient)
			if err != nil {
				return retention.Date{}, err
			}
			r = r.RecordKeptTo(last)
		}
		until = until.Later(r.Until())
	}
	return until, nil
}
