package mongo

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/changereason"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/fieldcrypt"
)

// jobOne, jobTwo and jobThree are erasure requests' ids, UUIDs as the disclosure
// service's erasure job makes them (EraseOwnerData refuses any other).
const (
	jobOne   = "0199a0b0-0000-7000-8000-000000000001"
	jobTwo   = "0199a0b0-0000-7000-8000-000000000002"
	jobThree = "0199a0b0-0000-7000-8000-000000000003"
)

func testRepo(t *testing.T) (*Repository, *mongo.Database) {
	t.Helper()
	s := embeddedtest.Start(t)
	return repoOn(t, embeddedtest.Client(t, s.URI()))
}

// repoOn is a repository on the test database of client c.
func repoOn(t *testing.T, c *mongo.Client) (*Repository, *mongo.Database) {
	t.Helper()
	keys, err := fieldcrypt.NewKeyring(map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, "k1", bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	db := c.Database("owner_repo")
	return New(db, keys), db
}

// TestErasureInterruptedBeforeItsLastWrite is a crash between the erasure's writes: the
// patients, claims and schedule are written, the owner's update is not (here: it finds
// another version, as after a crash a retry finds the owner unchanged). The retry
// plans the same work from what it reads, completes it, and answers what a clean run
// would have.
func TestErasureInterruptedBeforeItsLastWrite(t *testing.T) {
	r, db := testRepo(t)
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := domain.Change{Time: at, ActorSubject: "test", Fields: []string{"created"}, Reason: "registered"}
	code, err := domain.ParseIdentityCode("131052-308T", false)
	if err != nil {
		t.Fatal(err)
	}
	o, err := r.CreateOwner(ctx, &domain.Owner{
		ID: "o1", GivenNames: "Aino", FamilyName: "Äijälä", Phone: "+358401234567", Language: domain.LanguageFinnish,
		HomeClinic: domain.ClinicSeinajoki,
	}, &code, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*domain.Patient{
		{ID: "p1", OwnerID: "o1", Name: "Rekku", Species: domain.SpeciesDog, Microchip: "246098100777777"},
		{ID: "p2", OwnerID: "o1", Name: "Mirri", Species: domain.SpeciesCat},
	} {
		if _, err := r.CreatePatient(ctx, p, c); err != nil {
			t.Fatal(err)
		}
	}
	req := domain.ErasureRequest{ID: jobOne}
	plan := domain.PlanErasure(o, 2, req, "2026-11-25")
	erasure := domain.Change{Time: at, ActorSubject: "test", Fields: plan.Fields, Reason: changereason.Erasure(jobOne)}

	stale := *o
	stale.Version = 99
	if _, _, err := r.ApplyErasure(ctx, &stale, plan, erasure, jobOne); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("interrupted erasure = %v, want a conflict", err)
	}
	// Halfway: the patients are anonymised and their microchip claims released, the
	// owner is not yet erased, keeps its identity claim and has no answer stored.
	if _, done, err := r.ErasureAnswer(ctx, "o1", jobOne); done || err != nil {
		t.Fatalf("an answer was stored before the owner's update (%v)", err)
	}
	patients, err := r.OwnerPatients(ctx, "o1")
	if err != nil || len(patients) != 2 {
		t.Fatalf("patients: %d (%v)", len(patients), err)
	}
	for _, p := range patients {
		if !p.Anonymised || p.ErasedBy != jobOne || p.Name != "" || p.Microchip != "" || p.CustomerNumber.String() == "" {
			t.Fatalf("patient after the interruption: %+v", p)
		}
	}
	var claims []claimDoc
	if err := find(ctx, db.Collection(claimsColl), &claims); err != nil || len(claims) != 1 || claims[0].Ref != "o1" {
		t.Fatalf("claims after the interruption: %+v (%v), want the owner's identity claim only", claims, err)
	}

	// The retry reads the owner again and plans the same work; the patients this
	// request already anonymised still count.
	current, err := r.GetOwner(ctx, "o1")
	if err != nil || current.Erased {
		t.Fatalf("owner after the interruption: %+v (%v)", current, err)
	}
	retry := domain.PlanErasure(current, domain.CoveredPatients(patients, jobOne), req, "2026-11-25")
	if !slices.Equal(retry.Dispositions, plan.Dispositions) {
		t.Fatalf("the retry plans %+v, the first run %+v", retry.Dispositions, plan.Dispositions)
	}
	erased, applied, err := r.ApplyErasure(ctx, current, retry, erasure, jobOne)
	if err != nil {
		t.Fatal(err)
	}
	if !erased.Erased || !erased.Anonymised || erased.Phone != "" || erased.IdentityCodeMasked != "" {
		t.Fatalf("erased owner = %+v", erased)
	}
	answer, done, err := r.ErasureAnswer(ctx, "o1", jobOne)
	if err != nil || !done {
		t.Fatalf("no answer stored (%v)", err)
	}
	if !slices.Equal(answer, plan.Dispositions) || !slices.Equal(applied, answer) {
		t.Fatalf("answer after the retry %+v (returned %+v), want %+v", answer, applied, plan.Dispositions)
	}
	changes, err := r.PatientChanges(ctx, "p1")
	if err != nil || len(changes) != 2 || changes[1].Reason != changereason.Erasure(jobOne) {
		t.Fatalf("patient history after erasure: %v (%v)", changes, err)
	}
	// The sweep does not count them again.
	if n := domain.CoveredPatients(patients, ""); n != 0 {
		t.Fatalf("the sweep would count %d anonymised patients", n)
	}
	var d ownerDoc
	if err := db.Collection(ownersColl).FindOne(ctx, bson.M{"_id": "o1"}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Identity != nil || d.IdentityIndex != "" || len(d.NameKeys) != 0 || d.Phone != "" {
		t.Fatalf("the stored owner keeps erased data: %+v", d)
	}
	if n, err := db.Collection(claimsColl).CountDocuments(ctx, bson.M{}); err != nil || n != 0 {
		t.Fatalf("%d claims left after the erasure (%v)", n, err)
	}
}

// find decodes every document of c into out.
func find(ctx context.Context, c *mongo.Collection, out any) error {
	cur, err := c.Find(ctx, bson.M{})
	if err != nil {
		return err
	}
	return cur.All(ctx, out)
}

// TestErasureLeavesAPatientGoneAlone: after the erasure read its owner's patients and
// before it reached the patient, the patient was transferred to another owner, or its
// registration was taken back (deleted). The erasure leaves it alone (a transferred
// animal is neither anonymised nor does it lose its microchip claim) and does not count
// it, and a patient deleted meanwhile is no failure of the erasure.
func TestErasureLeavesAPatientGoneAlone(t *testing.T) {
	tests := []struct {
		name string
		gone func(ctx context.Context, r *Repository, p *domain.Patient) error
		// claims is the number of microchip claims the patient keeps.
		claims int64
	}{
		{name: "transferred", claims: 1, gone: func(ctx context.Context, r *Repository, p *domain.Patient) error {
			moved := *p
			moved.OwnerID = "to"
			_, err := r.UpdatePatient(ctx, &moved, p.Version, domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"owner_id"}, Reason: "sold"})
			return err
		}},
		{name: "registration taken back", gone: func(ctx context.Context, r *Repository, p *domain.Patient) error {
			return r.DeletePatient(ctx, p.ID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, db := testRepo(t)
			ctx := t.Context()
			for _, id := range []string{"from", "to"} {
				if _, err := r.CreateOwner(ctx, testOwner(id), nil, registered()); err != nil {
					t.Fatal(err)
				}
			}
			p, err := r.CreatePatient(ctx, &domain.Patient{ID: "p1", OwnerID: "from", Name: "Rekku", Species: domain.SpeciesDog,
				Microchip: "246098100777003"}, registered())
			if err != nil {
				t.Fatal(err)
			}
			read := *p
			if err := tt.gone(ctx, r, p); err != nil {
				t.Fatal(err)
			}
			found, err := r.erasePatient(ctx, &read, true, registered(), jobOne)
			if err != nil || found != nil {
				t.Fatalf("the erasure of a patient gone meanwhile answered %+v (%v), want it not counted", found, err)
			}
			if got, err := r.GetPatient(ctx, "p1"); err == nil && (got.Anonymised || got.Erased || got.Name != "Rekku" || got.OwnerID != "to") {
				t.Fatalf("the transferred patient after its old owner's erasure: %+v", got)
			}
			if n, err := db.Collection(claimsColl).CountDocuments(ctx, bson.M{"ref": "p1"}); err != nil || n != tt.claims {
				t.Fatalf("the patient's microchip claims: %d (%v), want %d", n, err, tt.claims)
			}
		})
	}
}

// TestScrubErasedHistories: an owner erased before erasures scrubbed the reasons staff
// typed keeps them in its history and in its patients' (its own and one it transferred
// away). The scrub replaces those of the owner's time as an erasure now does, keeps the
// reasons the service wrote and those of other owners' time, changes no version, and
// finds nothing to do when run again; an owner not erased keeps its reasons.
func TestScrubErasedHistories(t *testing.T) {
	r, db := testRepo(t)
	ctx := t.Context()
	typed := func(fields ...string) domain.Change {
		return domain.Change{Time: time.Now(), ActorSubject: "test", Fields: fields, Reason: "Aino Äijälä called, new number 040 765 4321"}
	}
	for _, id := range []string{"erased", "next", "untouched"} {
		if _, err := r.CreateOwner(ctx, testOwner(id), nil, registered()); err != nil {
			t.Fatal(err)
		}
	}
	o, err := r.GetOwner(ctx, "erased")
	if err != nil {
		t.Fatal(err)
	}
	o.Phone = "+358407654321"
	if _, err := r.UpdateOwner(ctx, o, o.Version, typed("phone"), nil); err != nil {
		t.Fatal(err)
	}
	u, err := r.GetOwner(ctx, "untouched")
	if err != nil {
		t.Fatal(err)
	}
	u.Phone = "+358407654321"
	if _, err := r.UpdateOwner(ctx, u, u.Version, typed("phone"), nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"kept", "sold"} {
		p, err := r.CreatePatient(ctx, &domain.Patient{ID: id, OwnerID: "erased", Name: "Rekku", Species: domain.SpeciesDog}, registered())
		if err != nil {
			t.Fatal(err)
		}
		p.Colour = "black"
		if p, err = r.UpdatePatient(ctx, p, p.Version, typed("colour")); err != nil {
			t.Fatal(err)
		}
		if id != "sold" {
			continue
		}
		p.OwnerID = "next"
		moved := typed("owner_id")
		moved.Values = []domain.ValueChange{{Field: "owner_id", From: "erased", To: "next"}}
		if p, err = r.UpdatePatient(ctx, p, p.Version, moved); err != nil {
			t.Fatal(err)
		}
		p.Colour = "brown"
		if _, err := r.UpdatePatient(ctx, p, p.Version, domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"colour"}, Reason: "the next owner's note"}); err != nil {
			t.Fatal(err)
		}
	}
	// Erased as before the scrub existed: flags, answer and change record, reasons kept.
	erasure := changeToDoc(domain.Change{Time: time.Now(), ActorSubject: "test", Fields: []string{"restricted", "erased"}, Reason: changereason.Erasure(jobThree), Version: 3})
	if _, err := db.Collection(ownersColl).UpdateOne(ctx, bson.M{"_id": "erased"}, bson.M{
		"$set":  bson.M{"restricted": true, "erased": true, "version": 3},
		"$push": bson.M{"erasures": erasureDoc{RequestID: jobThree, Time: time.Now()}, "changes": erasure},
	}); err != nil {
		t.Fatal(err)
	}
	versions := func() map[string]int64 {
		out := map[string]int64{}
		for _, id := range []string{"erased", "untouched"} {
			o, err := r.GetOwner(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = o.Version
		}
		for _, id := range []string{"kept", "sold"} {
			p, err := r.GetPatient(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = p.Version
		}
		return out
	}
	before := versions()

	if n, err := r.ScrubErasedHistories(ctx); err != nil || n != 3 {
		t.Fatalf("the scrub = %d (%v), want the erased owner and its two patients", n, err)
	}
	reasons := func(changes []domain.Change, err error) []string {
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range changes {
			out = append(out, c.Reason)
		}
		return out
	}
	for _, tt := range []struct {
		what string
		got  []string
		want []string
	}{
		{"the erased owner", reasons(r.OwnerChanges(ctx, "erased")), []string{"registered", changereason.Erased, changereason.Erasure(jobThree)}},
		{"its patient", reasons(r.PatientChanges(ctx, "kept")), []string{"registered", changereason.Erased}},
		{"the patient it sold", reasons(r.PatientChanges(ctx, "sold")), []string{"registered", changereason.Erased, changereason.Erased, "the next owner's note"}},
		{"an owner not erased", reasons(r.OwnerChanges(ctx, "untouched")), []string{"registered", "Aino Äijälä called, new number 040 765 4321"}},
	} {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s's reasons after the scrub: %q, want %q", tt.what, tt.got, tt.want)
		}
	}
	if after := versions(); !maps.Equal(after, before) {
		t.Errorf("versions after the scrub: %v, want them unchanged %v", after, before)
	}

	// A complete pass is stamped: later starts skip it without reading the erased owners,
	// and a pass that did not end (no stamp) runs again.
	if _, err := db.Collection(ownersColl).UpdateOne(ctx, bson.M{"_id": "erased"},
		bson.M{"$set": bson.M{"changes.1.reason": "typed again"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.ScrubErasedHistories(ctx); err != nil || n != 0 {
		t.Errorf("the scrub run again = %d (%v), want it skipped", n, err)
	}
	if _, err := db.Collection(stampsColl).DeleteOne(ctx, bson.M{"_id": erasedReasonsStamp}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.ScrubErasedHistories(ctx); err != nil || n != 1 {
		t.Errorf("the scrub without its stamp = %d (%v), want the owner typed again", n, err)
	}
}

// erasedByJobOne is owner o1 erased by request jobOne, its names kept until
// nameKeptUntil, as read back, and apply, which applies a plan to an owner as read.
func erasedByJobOne(t *testing.T, nameKeptUntil string) (*Repository, *domain.Owner, func(*domain.Owner, domain.ErasurePlan, string) error) {
	t.Helper()
	r, _ := testRepo(t)
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	o, err := r.CreateOwner(ctx, testOwner("o1"), nil, registered())
	if err != nil {
		t.Fatal(err)
	}
	apply := func(o *domain.Owner, plan domain.ErasurePlan, requestID string) error {
		_, _, err := r.ApplyErasure(ctx, o, plan, domain.Change{Time: at, ActorSubject: "test", Fields: plan.Fields, Reason: "r"}, requestID)
		return err
	}
	if err := apply(o, domain.PlanErasure(o, 0, domain.ErasureRequest{ID: jobOne, NameKeptUntil: nameKeptUntil}, "2026-11-25"), jobOne); err != nil {
		t.Fatal(err)
	}
	erased, err := r.GetOwner(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	return r, erased, apply
}

// TestScheduleKeepsALaterPlan: a second erasure request has scheduled the sweep for its
// shorter kept day and not yet updated the owner (emulated by a stale version, as a
// request between its writes); a sweep that then reads the owner with the first
// request's day, and finds nothing due, leaves the second request's schedule, which
// its owner update does not write again. Before, it wrote the first request's day back,
// and the names were kept past the day the second request answered.
func TestScheduleKeepsALaterPlan(t *testing.T) {
	r, erased, apply := erasedByJobOne(t, "2060-12-31")
	ctx := t.Context()
	second := *erased
	second.Version = 99
	if err := apply(&second, domain.PlanErasure(erased, 0, domain.ErasureRequest{ID: jobTwo, NameKeptUntil: "2030-06-30"}, "2026-11-25"), jobTwo); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("the second request's interrupted erasure: %v, want a conflict", err)
	}
	if err := apply(erased, domain.PlanSweep(erased, 0, "2026-11-25"), ""); err != nil {
		t.Fatalf("the sweep: %v", err)
	}
	due, err := r.DueForSweep(ctx, "2030-07-01")
	if err != nil || !slices.Equal(due, []string{"o1"}) {
		t.Errorf("owners due for the sweep on 2030-07-01: %v (%v), want o1, whose second request keeps its names until 2030-06-30", due, err)
	}
}

// TestExtensionPlannedBeforeAnotherIsStale: the day the history service told is
// stored without a new version of the owner (it may move no data); a plan made from
// the owner as read before it was stored (a concurrent extension or erasure request)
// is stale, so that it neither writes an earlier day told back nor plans without the
// later one.
func TestExtensionPlannedBeforeAnotherIsStale(t *testing.T) {
	r, erased, apply := erasedByJobOne(t, "2031-01-01")
	ctx := t.Context()
	extend := func(until string) error {
		plan, err := domain.PlanExtension(erased, until)
		if err != nil {
			t.Fatal(err)
		}
		return apply(erased, plan, "")
	}
	if err := extend("2030-01-10"); err != nil {
		t.Fatal(err)
	}
	if err := extend("2028-01-01"); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("an extension planned before the first was stored: %v, want a conflict", err)
	}
	if err := apply(erased, domain.PlanErasure(erased, 0, domain.ErasureRequest{ID: jobTwo, NameKeptUntil: "2027-05-20"}, "2026-11-25"), jobTwo); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("an erasure request planned before the extension was stored: %v, want a conflict", err)
	}
	if got, err := r.GetOwner(ctx, "o1"); err != nil || got.NameExtendedUntil != "2030-01-10" || got.NameKeptUntil != "2031-01-01" {
		t.Errorf("the owner keeps its names to %q, told %q (%v), want 2031-01-01 and 2030-01-10", got.NameKeptUntil, got.NameExtendedUntil, err)
	}
}
