package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lillvet/register/services/disclosure/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/docid"
	"github.com/lillvet/register/services/platform/identitycode"
)

// Report is the owner's access report (GDPR Art. 15 and 20): everything the register
// holds about the owner, from all four services, and what the owner must be told about
// it. It is marshalled to JSON as it is (the portable copy) and rendered as HTML (the
// readable one). Lists are empty rather than absent, so that a reader sees that a
// section was gathered and found nothing.
type Report struct {
	AccessRequestID string `json:"accessRequestId"`
	// DisclosureID is the log entry of this copy (a disclosure to the data subject),
	// which holds its SHA-256.
	DisclosureID string          `json:"disclosureId"`
	GeneratedAt  time.Time       `json:"generatedAt"`
	Language     string          `json:"language"`
	Owner        OwnerRecord     `json:"owner"`
	Patients     []PatientRecord `json:"patients"`
	// FormerPatients are the animals the owner transferred to another owner, with the
	// changes of the owner's time with each.
	FormerPatients []FormerPatientRecord `json:"formerPatients"`
	Visits         []VisitRecord         `json:"visits"`
	Communications []Communication       `json:"communications"`
	Consents       ConsentLedger         `json:"consents"`
	Disclosures    []ReportDisclosure    `json:"disclosures"`
	// Recipients are those who received the owner's data, each once.
	Recipients []ReportRecipient `json:"recipients"`
	// AccessRequests are the owner's access requests, this one included, and
	// ErasureRequests their erasure requests, oldest first: this service's records of
	// the owner's rights asked for and answered.
	AccessRequests  []ReportAccessRequest  `json:"accessRequests"`
	ErasureRequests []ReportErasureRequest `json:"erasureRequests"`
	AccessLog       []AccessEvent          `json:"accessLog"`
	Information     ReportInformation      `json:"information"`
}

// ReportRecipient is a recipient as the report names it.
type ReportRecipient struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	BusinessID string `json:"businessId,omitempty"`
	Country    string `json:"country"`
}

// ReportDisclosure is one entry of the disclosure log about the owner, refused ones
// included.
type ReportDisclosure struct {
	ID            string          `json:"id"`
	Time          time.Time       `json:"time"`
	Recipient     ReportRecipient `json:"recipient"`
	Categories    []string        `json:"categories"`
	CaseReference string          `json:"caseReference,omitempty"`
	Outcome       string          `json:"outcome"`
	Basis         string          `json:"basis,omitempty"`
	RefusalReason string          `json:"refusalReason,omitempty"`
	PayloadSHA256 string          `json:"payloadSha256,omitempty"`
}

// ReportInformation is what the owner must be told besides their data (GDPR Art.
// 15(1)), in the report's language.
type ReportInformation struct {
	Controller          string   `json:"controller"`
	Purposes            []string `json:"purposes"`
	Sources             string   `json:"sources"`
	Recipients          string   `json:"recipients"`
	RecipientCategories []string `json:"recipientCategories"`
	Retention           []string `json:"retention"`
	Rights              []string `json:"rights"`
	Contact             string   `json:"contact"`
}

// ReportFormat is a form the report is given in.
type ReportFormat int

// The forms: machine-readable JSON and a printable HTML document.
const (
	ReportJSON ReportFormat = iota
	ReportHTML
)

// Content types of the two forms.
const (
	ContentTypeJSON = "application/json"
	ContentTypeHTML = "text/html; charset=utf-8"
)

// GivenReport is a report as given: its bytes, their content type, and the log entry
// that records the copy.
type GivenReport struct {
	Body        []byte
	ContentType string
	Disclosure  domain.Record
}

// maxLogPages bounds the pages of one list the report reads for an owner (the
// disclosure log, the requests), reportPageSize entries each.
const maxLogPages = 500

// answerLease is how long a copy's answer proposal holds against a later copy: far
// longer than rendering, logging and auditing a copy take, so that only a copy that
// died after proposing leaves a proposal a later copy replaces.
const answerLease = 2 * time.Minute

// copyWriteTimeout bounds each of the writes (and reads back) of a copy that no longer
// wait for its caller: those after its log entry is stored, and those undoing a copy
// not given.
const copyWriteTimeout = 10 * time.Second

// detached is ctx for one of a copy's writes that no longer wait for its caller, with
// a bound of its own, so that no write inherits what the ones before it left.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), copyWriteTimeout)
}

// copyStage is how far a copy not given got: what it may have stored that notGiven
// must follow up.
type copyStage int

const (
	// copyUnlogged: nothing but, maybe, the copy's proposal.
	copyUnlogged copyStage = iota
	// copyLogged: its log entry too, pending.
	copyLogged
	// copyAudited: its audit records too (the disclosure and access_request.report).
	copyAudited
)

// AccessReport gathers the report of an access request, renders it in the given form
// and language (empty: the owner's preferred language, else the request's) and logs it
// as a disclosure to the data subject with the SHA-256 of the bytes returned. The copy
// states the request answered at the time the register holds, or, while it is
// received, at the time proposed by the first of the copies being made; only a copy
// logged and audited then marks the request answered, at that time. The bytes are not
// kept.
func (s *Service) AccessReport(ctx context.Context, requestID string, format ReportFormat, language string) (GivenReport, error) {
	lang, ok := domain.ParseLanguage(language)
	if !ok {
		var v apperr.ValidationError
		v.Add("language", "must be fi, sv or en")
		return GivenReport{}, v.Err()
	}
	r, err := s.repo.AccessRequest(ctx, requestID)
	if err != nil {
		return GivenReport{}, err
	}
	id, err := newID("disclosure", "")
	if err != nil {
		return GivenReport{}, err
	}
	rep, err := s.gather(ctx, r)
	if err != nil {
		return GivenReport{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if r.Status != domain.AccessAnswered {
		proposed, err := s.repo.ProposeAccessAnswer(ctx, r.ID, domain.AnswerProposal{At: now, CopyID: id}, now.Add(-answerLease))
		if err != nil {
			// The proposal may have been stored with its reply lost.
			return GivenReport{}, s.notGiven(ctx, r, id, copyUnlogged, err)
		}
		r = proposed
	}
	rep.DisclosureID, rep.GeneratedAt = id, now
	if language == "" {
		lang = reportLanguage(rep.Owner, r)
	}
	given, err := s.giveReport(ctx, r, rep, format, lang)
	if err != nil {
		return GivenReport{}, fmt.Errorf("access report %s: %w", requestID, err)
	}
	return given, nil
}

// giveReport renders the report stating the request answered at the time r holds (its
// answer, else its proposal), logs the copy pending and audits it, then, if r is
// received, marks it answered at that time, and only then makes the log entry final as
// disclosed: only a copy given answers, and the log holds as given only a copy that
// answered. A caller gone when the entry is stored gets no copy; once past that, the
// copy's writes no longer run on the caller's context (each has copyWriteTimeout of
// its own), so that a client leaving midway through them leaves the copy logged
// disclosed and the request answered at its time, as for a client that stayed (whose
// answer is then lost on the way), never logged with the request left received.
// Before the answer the entry is read once more: one the owner's erasure refused
// meanwhile does not answer the request. A copy whose time another copy's proposal
// replaced (it outlived answerLease, or another replica's clock runs ahead, or the copy
// that proposed it failed and a third proposed anew) is not given and fails
// ErrConflict: the client asks again. Whatever fails before the answer, the entry is
// refused NOT_COMPLETED (nothing given), the copy's access_request.report followed by
// one denied, and its own proposal withdrawn (not another's, which may yet be given),
// see notGiven; an entry refused after the answer is followed up the same way, the
// request staying answered.
func (s *Service) giveReport(ctx context.Context, r domain.AccessRequest, rep Report, format ReportFormat, lang domain.Language) (GivenReport, error) {
	at := r.AnsweredAt
	if r.Status != domain.AccessAnswered {
		at = r.Proposal.At
	}
	if at.IsZero() {
		return GivenReport{}, s.notGiven(ctx, r, rep.DisclosureID, copyUnlogged,
			fmt.Errorf("request %s is %s with no answer time to state", r.ID, r.Status))
	}
	markAnswered(rep.AccessRequests, at)
	rep.Language = string(lang)
	rep.Information = information(domain.Texts(lang), s.retention)
	given := GivenReport{ContentType: ContentTypeJSON}
	var err error
	if format == ReportHTML {
		given.ContentType = ContentTypeHTML
		given.Body, err = renderReport(s.document, rep, domain.DocumentTexts(lang), s.loc)
	} else {
		given.Body, err = json.Marshal(rep)
	}
	if err != nil {
		return GivenReport{}, s.notGiven(ctx, r, rep.DisclosureID, copyUnlogged, err)
	}
	pending, err := s.repo.AppendRecord(ctx, reportRecord(ctx, r, rep, given.Body))
	if err != nil {
		// The insert may have been stored with its reply lost.
		return GivenReport{}, s.notGiven(ctx, r, rep.DisclosureID, copyLogged, err)
	}
	if err := ctx.Err(); err != nil {
		// The caller left: nothing will reach it.
		return GivenReport{}, s.notGiven(ctx, r, pending.ID, copyLogged, fmt.Errorf("the caller left before the copy was given: %w", err))
	}
	answered := accessEvent("access_request.report", r)
	answered.Outcome = audit.OutcomeSuccess
	actx, cancel := detached(ctx)
	err = s.auditor.RecordNow(actx, disclosureEvent(pending), answered)
	cancel()
	if err != nil {
		// The events may have been stored with the reply lost.
		return GivenReport{}, s.notGiven(ctx, r, pending.ID, copyAudited, fmt.Errorf("audit access report %s: %w", pending.ID, err))
	}
	if r.Status != domain.AccessAnswered {
		if err := s.stillPending(ctx, r.ID, pending.ID); err != nil {
			return GivenReport{}, s.notGiven(ctx, r, pending.ID, copyAudited, err)
		}
		if err := s.answerAt(ctx, r.ID, at); err != nil {
			return GivenReport{}, s.notGiven(ctx, r, pending.ID, copyAudited, err)
		}
	}
	// The request is answered at the time the copy states: a final write that fails
	// twice leaves the entry pending, refused by the retention sweep, and a copy asked
	// again states that time. Nothing reached the client, so its audited report is
	// followed as any copy not given.
	final, err := s.finalizeCopy(ctx, pending)
	if err != nil {
		return GivenReport{}, errors.Join(err, s.auditNotCompleted(ctx, r, pending.ID))
	}
	if !final.Disclosed() {
		// The owner's erasure refuses the owner's pending entries too, and may have done
		// so after the read before the answer.
		return GivenReport{}, errors.Join(
			fmt.Errorf("the copy's log entry %s was made final: %w", final.ID, refusedMeanwhile(r.ID, final)),
			s.auditNotCompleted(ctx, r, final.ID))
	}
	given.Disclosure = final
	return given, nil
}

// stillPending reads the copy's log entry before its answer: one made final meanwhile
// (refused by the owner's erasure) is not given, and does not answer the request.
func (s *Service) stillPending(ctx context.Context, requestID, id string) error {
	rctx, cancel := detached(ctx)
	defer cancel()
	rec, err := s.repo.Record(rctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("read the copy's log entry %s before the answer: %w", id, err)
	case !rec.Pending:
		return fmt.Errorf("the copy's log entry %s was made final before the answer: %w", id, refusedMeanwhile(requestID, rec))
	}
	return nil
}

// refusedMeanwhile answers a copy whose log entry another call made final while it was
// being made: the owner's erasure refuses the owner's pending entries (OWNER_RESTRICTED),
// so the client is told the entry's reason as a failed precondition (the erasure is
// under way), not to send the request again. An entry the retention sweep refused
// NOT_COMPLETED (the copy outlived the pending timeout) is a conflict, as everywhere:
// asked again, a copy is made anew.
func refusedMeanwhile(requestID string, entry domain.Record) error {
	if entry.Refusal == nil || entry.Refusal.Reason == domain.RefusalNotCompleted {
		return apperr.New(apperr.ErrConflict, "the report of access request %s was not given: its log entry was closed meanwhile; ask for the report again", requestID)
	}
	reason := entry.Refusal.Reason
	return apperr.Precondition(string(reason), fmt.Sprintf(
		"the report of access request %s was not given: its log entry was refused %s meanwhile", requestID, reason))
}

// finalizeCopy makes the copy's pending entry final, disclosed, trying once more when
// the write fails: the store answers an entry already final as it is, so a write whose
// reply was lost is read back by the second, and one refused meanwhile is not given.
func (s *Service) finalizeCopy(ctx context.Context, pending domain.Record) (domain.Record, error) {
	decided := domain.Outcome{Basis: pending.Basis}
	var errs []error
	for range 2 {
		fctx, cancel := detached(ctx)
		final, _, err := s.repo.FinalizeRecord(fctx, pending.ID, decided, nil)
		cancel()
		if err == nil {
			return final, nil
		}
		errs = append(errs, err)
	}
	return domain.Record{}, fmt.Errorf("make the copy's log entry %s final: %w", pending.ID, errors.Join(errs...))
}

// answerAt marks the request answered at, unless a copy given first did at the same
// time. A write whose reply was lost is read back, a second time when the first read
// fails: the request answered at at is answered as this copy states.
func (s *Service) answerAt(ctx context.Context, id string, at time.Time) error {
	wctx, cancel := detached(ctx)
	stored, err := s.repo.AnswerAccessRequest(wctx, id, at)
	cancel()
	if err != nil {
		// Read twice before giving up: a request answered whose read back fails is
		// left answered with its copy refused, and the copy asked again states that time.
		var rerrs []error
		for range 2 {
			rctx, cancel := detached(ctx)
			var rerr error
			stored, rerr = s.repo.AccessRequest(rctx, id)
			cancel()
			if rerr == nil {
				rerrs = nil
				break
			}
			rerrs = append(rerrs, rerr)
		}
		if rerrs != nil {
			return errors.Join(append([]error{err}, rerrs...)...)
		}
	}
	if stored.Status == domain.AccessAnswered && stored.AnsweredAt.Equal(at) {
		return nil
	}
	if err != nil {
		return err
	}
	if stored.Status == domain.AccessAnswered {
		return apperr.New(apperr.ErrConflict, "access request %s was answered at another time meanwhile; ask for the report again", id)
	}
	// Still received: another copy proposed its own time, which only it answers at.
	return apperr.New(apperr.ErrConflict, "another copy of the report of access request %s is being made at another time; ask for the report again", id)
}

// notGiven is cause, after a copy of request r that is not given, which got as far as
// stage, has left nothing behind it claiming otherwise: its log entry copyID, if it
// may have been stored, refused NOT_COMPLETED (the refusal audited as a refused
// disclosure), its access_request.report, if it may have been stored, followed by
// auditNotCompleted, and its own proposal, which it may have stored from the start,
// withdrawn, so that a copy asked again states its own time. None waits for the
// caller, each has its own bound; one that fails leaves the entry pending, for the
// retention sweep to refuse, or the proposal, which the next copy replaces after
// answerLease.
func (s *Service) notGiven(ctx context.Context, r domain.AccessRequest, copyID string, stage copyStage, cause error) error {
	errs := []error{cause}
	if stage >= copyLogged {
		fctx, cancel := detached(ctx)
		refusal := domain.Outcome{Refusal: &domain.Refusal{Reason: domain.RefusalNotCompleted}}
		_, _, err := s.repo.FinalizeRecord(fctx, copyID, refusal, auditUnanswered(fctx, s.auditor))
		cancel()
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			errs = append(errs, fmt.Errorf("refuse the copy's log entry: %w", err))
		}
	}
	if stage >= copyAudited {
		errs = append(errs, s.auditNotCompleted(ctx, r, copyID))
	}
	if r.Status != domain.AccessAnswered {
		wctx, cancel := detached(ctx)
		errs = append(errs, s.repo.WithdrawAccessAnswer(wctx, r.ID, copyID))
		cancel()
	}
	return errors.Join(errs...)
}

// auditNotCompleted follows the access_request.report event of copy copyID of request
// r, stored before its answer, with the same action denied NOT_COMPLETED: the copy was
// not given, and the owner's next copy must not list it given with nothing after it.
// Its id is fixed, so that the event is stored once.
func (s *Service) auditNotCompleted(ctx context.Context, r domain.AccessRequest, copyID string) error {
	ev := audit.Refusal("access_request.report", accessRequestResource(r.ID), r.OwnerID, string(domain.RefusalNotCompleted))
	ev.ID = accessRequestResource(r.ID) + "/report/" + copyID + "/not_completed"
	actx, cancel := detached(ctx)
	defer cancel()
	if err := s.auditor.RecordNow(actx, ev); err != nil {
		return fmt.Errorf("audit access report %s not completed: %w", copyID, err)
	}
	return nil
}

// gather reads the report's parts: the owner's data from the owner, history and
// consent services and this service's log and requests, at the same time; then who
// accessed it, from every service's audit log, so that the reads of this report are in
// it too.
func (s *Service) gather(ctx context.Context, r domain.AccessRequest) (Report, error) {
	rep := Report{AccessRequestID: r.ID}
	// Every service audits these reads, and the owner service's copy with the identity
	// code in full needs a stated purpose: this access request.
	ctx = auth.WithOutgoingPurpose(ctx, domain.AccessRequestPurpose(r.ID))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		o, err := s.owners.Export(gctx, r.OwnerID)
		rep.Owner, rep.Patients, rep.FormerPatients = o.Owner, o.Patients, o.FormerPatients
		return err
	})
	g.Go(func() error {
		h, err := s.history.Export(gctx, r.OwnerID)
		rep.Visits, rep.Communications = h.Visits, h.Communications
		return err
	})
	g.Go(func() error {
		var err error
		rep.Consents, err = s.consents.Ledger(gctx, r.OwnerID)
		return err
	})
	g.Go(func() error {
		var err error
		rep.Disclosures, rep.Recipients, err = s.reportDisclosures(gctx, r.OwnerID)
		return err
	})
	g.Go(func() error {
		var err error
		rep.AccessRequests, err = s.reportAccessRequests(gctx, r)
		return err
	})
	g.Go(func() error {
		var err error
		rep.ErasureRequests, err = s.reportErasureRequests(gctx, r.OwnerID)
		return err
	})
	if err := g.Wait(); err != nil {
		return Report{}, fmt.Errorf("gather the access report of owner %s: %w", r.OwnerID, err)
	}
	noteRetentionEnded(rep.ErasureRequests, rep.Owner.Changes, s.loc)
	if err := s.nameConsentScopes(ctx, &rep); err != nil {
		return Report{}, fmt.Errorf("gather the access report of owner %s: %w", r.OwnerID, err)
	}
	logs := make([][]AccessEvent, len(s.logs))
	g, gctx = errgroup.WithContext(ctx)
	for i, l := range s.logs {
		g.Go(func() error {
			var err error
			logs[i], err = l.OwnerEvents(gctx, r.OwnerID)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Report{}, fmt.Errorf("gather who accessed the data of owner %s: %w", r.OwnerID, err)
	}
	rep.AccessLog = slices.Concat(logs...)
	slices.SortStableFunc(rep.AccessLog, func(a, b AccessEvent) int { return a.Time.Compare(b.Time) })
	rep.Patients, rep.Visits, rep.Communications = nonNil(rep.Patients), nonNil(rep.Visits), nonNil(rep.Communications)
	rep.FormerPatients = nonNil(rep.FormerPatients)
	rep.Consents.Current, rep.Consents.Decisions = nonNil(rep.Consents.Current), nonNil(rep.Consents.Decisions)
	rep.AccessLog, rep.AccessRequests, rep.ErasureRequests = nonNil(rep.AccessLog), nonNil(rep.AccessRequests), nonNil(rep.ErasureRequests)
	markSystem(&rep)
	return rep, nil
}

// markSystem flags each actor the report names the system (domain.IsSystem) as such,
// an event or a change recorded with no subject too, so that the JSON copy says what
// the readable one shows.
func markSystem(rep *Report) {
	for i, e := range rep.AccessLog {
		rep.AccessLog[i].ActorSystem = domain.IsSystem(e.ActorSystem, e.ActorSubject)
	}
	changes := [][]Change{rep.Owner.Changes}
	for _, p := range rep.Patients {
		changes = append(changes, p.Changes)
	}
	for _, p := range rep.FormerPatients {
		changes = append(changes, p.Changes)
	}
	for _, cs := range changes {
		for i, c := range cs {
			cs[i].ActorSystem = domain.IsSystem(c.ActorSystem, c.ActorSubject)
		}
	}
}

// nameConsentScopes gives each consent whose scope is a recipient id (an insurer's or
// a microchip registry's) the recipient's name, so that the owner reads whom the
// consent is for rather than an id. Each recipient is read once per report, and one
// the disclosure log already named not at all. A scope no recipient has keeps no
// name, and the report shows it as recorded. A name stored before the service refused
// an identity code in it is given without the code, as in the disclosure log.
func (s *Service) nameConsentScopes(ctx context.Context, rep *Report) error {
	names := map[string]string{}
	for _, d := range rep.Disclosures {
		if d.Recipient.ID != "" {
			names[d.Recipient.ID] = d.Recipient.Name
		}
	}
	name := func(scope string) (string, error) {
		if !docid.Issued(scope) {
			return "", nil
		}
		if n, ok := names[scope]; ok {
			return n, nil
		}
		r, err := s.repo.Recipient(ctx, scope)
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return "", fmt.Errorf("the recipient a consent names: %w", err)
		}
		// Not found: r is empty, and the scope is remembered as no recipient's.
		names[scope] = identitycode.Redact(r.Name)
		return names[scope], nil
	}
	var err error
	for i, c := range rep.Consents.Current {
		if rep.Consents.Current[i].ScopeName, err = name(c.Scope); err != nil {
			return err
		}
	}
	for i, d := range rep.Consents.Decisions {
		if rep.Consents.Decisions[i].ScopeName, err = name(d.Scope); err != nil {
			return err
		}
	}
	return nil
}

// reportDisclosures reads the owner's whole disclosure log, oldest first, with each
// entry's recipient, and the recipients that received data. A case reference or a
// recipient's name stored before the service refused an identity code in them (or
// before the detector saw a form it now does) is given without the code; the refusal
// reason is one of the service's own words.
func (s *Service) reportDisclosures(ctx context.Context, ownerID string) ([]ReportDisclosure, []ReportRecipient, error) {
	records, err := allPages("the disclosure log of owner "+ownerID, func(token string) (domain.Page[domain.Record], error) {
		return s.repo.OwnerRecords(ctx, ownerID, reportPageSize, token)
	})
	if err != nil {
		return nil, nil, err
	}
	slices.Reverse(records)
	known := map[string]ReportRecipient{}
	out, received := make([]ReportDisclosure, 0, len(records)), []ReportRecipient{}
	for _, rec := range records {
		rr, ok := known[rec.RecipientID]
		if !ok && rec.RecipientID != "" {
			r, err := s.repo.Recipient(ctx, rec.RecipientID)
			if err != nil {
				return nil, nil, fmt.Errorf("recipient of disclosure %s: %w", rec.ID, err)
			}
			rr = ReportRecipient{ID: r.ID, Name: identitycode.Redact(r.Name), Kind: string(r.Kind), BusinessID: identitycode.Redact(r.BusinessID), Country: r.Country}
			known[rec.RecipientID] = rr
		}
		if rec.RecipientID == "" {
			rr = ReportRecipient{Kind: string(rec.RecipientKind)}
		}
		d := ReportDisclosure{
			ID: rec.ID, Time: rec.CreatedAt, Recipient: rr, Categories: toStrings(rec.Categories),
			CaseReference: identitycode.Redact(rec.CaseReference), Outcome: "disclosed", Basis: string(rec.Basis), PayloadSHA256: rec.PayloadSHA256,
		}
		if rec.Refusal != nil {
			d.Outcome, d.RefusalReason = "refused", string(rec.Refusal.Reason)
		} else if rr.ID != "" && !slices.ContainsFunc(received, func(x ReportRecipient) bool { return x.ID == rr.ID }) {
			received = append(received, rr)
		}
		out = append(out, d)
	}
	return out, received, nil
}

// reportLanguage is the owner's preferred language when on record, else the access
// request's (Finnish unless the request said otherwise).
func reportLanguage(o OwnerRecord, r domain.AccessRequest) domain.Language {
	if l, ok := domain.ParseLanguage(o.PreferredLanguage); ok && o.PreferredLanguage != "" {
		return l
	}
	if l, ok := domain.ParseLanguage(string(r.Language)); ok {
		return l
	}
	return domain.LanguageFinnish
}

// information is what the report tells the owner besides the data, in one language.
func information(t map[string]string, r domain.StatedRetention) ReportInformation {
	pick := func(keys ...string) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = t[k]
		}
		return out
	}
	var kinds []string
	for _, k := range domain.Kinds() {
		if k.Registrable() {
			kinds = append(kinds, t[domain.KindTextKey(k)])
		}
	}
	return ReportInformation{
		Controller: t["controller.body"],
		Purposes:   pick("purpose.care", "purpose.contact", "purpose.billing", "purpose.communication", "purpose.service_development"),
		Sources:    t["source.body"], Recipients: t["recipients.body"], RecipientCategories: kinds,
		Retention: append(domain.RetentionTexts(t, r), t["retention.other"]),
		Rights: pick("right.access", "right.rectify", "right.erase", "right.restrict", "right.object", "right.portability",
			"right.complain"),
		Contact: t["rights.contact"],
	}
}

// reportRecord is the copy's log entry, pending: a disclosure to the data subject, with
// the SHA-256 of its bytes (not the bytes: the owner has them, and a second copy of
// everything would only be more to protect and erase).
func reportRecord(ctx context.Context, r domain.AccessRequest, rep Report, body []byte) domain.Record {
	caller, _ := auth.FromContext(ctx)
	sum := sha256.Sum256(body)
	// The pets the owner transferred away are in the copy too (their changes of the
	// owner's time): a rectification of those reaches this recipient as well (Art. 19).
	patients := make([]string, 0, len(rep.Patients)+len(rep.FormerPatients))
	for _, p := range rep.Patients {
		patients = append(patients, p.ID)
	}
	for _, p := range rep.FormerPatients {
		patients = append(patients, p.ID)
	}
	basis, _, _ := domain.LegalBasis(domain.Recipient{Kind: domain.KindDataSubject})
	return domain.Record{
		ID: rep.DisclosureID, RecipientKind: domain.KindDataSubject, OwnerID: r.OwnerID, PatientIDs: patients,
		Categories: domain.DefaultCategories(domain.KindDataSubject), CaseReference: "access request " + r.ID,
		Basis: basis, RequestedBy: caller.Subject, RequestedByRoles: caller.RoleNames(), RequestedByName: caller.Name,
		RequestedPurpose: auth.Purpose(ctx), CreatedAt: rep.GeneratedAt, Pending: true,
		PayloadSHA256: hex.EncodeToString(sum[:]),
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
