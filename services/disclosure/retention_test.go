package disclosure_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
)

// TestRetentionSweep moves the service's clock: an access request received years ago
// is removed at once, everything else stays through the fifth anniversary of its day
// and goes on the day after, except an erasure request that never finished; the
// owner's list of access requests follows; a second run removes nothing.
func TestRetentionSweep(t *testing.T) {
	var fixed atomic.Pointer[time.Time]
	s := start(t, func(c *disclosure.Config) {
		c.Sweep.Interval = 0 // the test runs it
		c.Now = func() time.Time {
			if t := fixed.Load(); t != nil {
				return *t
			}
			return time.Now()
		}
	})
	first := time.Now()
	manager := s.as(t, auth.RoleClinicManager)

	ownerID, _ := s.customer(t, "Mäkinen")
	ins := s.register(t, insurer("LähiTapiola", "FI"))
	_, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName))
	if got := refusalReason(t, err); got != "NO_LEGAL_BASIS" {
		t.Fatalf("without agreement: %v", err)
	}
	s.agree(t, ownerID, ins.GetId())
	disclosed, err := s.disclosure.CreateDisclosure(s.as(t, auth.RoleReception), claim(ins.GetId(), ownerID, ownerName))
	if err != nil {
		t.Fatal(err)
	}
	longAgo := s.recordAccess(t, manager, "", letter(ownerID, receivedOn(2020, time.March, 2)))
	recent := s.recordAccess(t, manager, "", letter(ownerID, nil))

	erasedID, _ := s.customer(t, "Nieminen")
	done := s.requestErasure(t, erasedID, "")
	s.waitErasure(t, done.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_DONE))
	writeJobToken(t, s.env, s.jobTokenFile, auth.RoleReception) // the next job cannot finish
	stuckOwner, _ := s.customer(t, "Laine")
	stuck := s.requestErasure(t, stuckOwner, "")
	s.waitErasure(t, stuck.GetId(), inState(disclosurev1.ErasureRequestState_ERASURE_REQUEST_STATE_STUCK))
	last := time.Now()

	sweep := func(at time.Time, want map[string]int32) {
		t.Helper()
		fixed.Store(&at)
		res, err := s.disclosure.RunRetentionSweep(manager, &disclosurev1.RunRetentionSweepRequest{})
		if err != nil {
			t.Fatalf("sweep at %v: %v", at, err)
		}
		got := map[string]int32{}
		for _, d := range res.GetRemoved() {
			if d.GetKept() {
				t.Errorf("sweep at %v: %v says kept", at, d)
			}
			got[d.GetRecordClass()] = d.GetCount()
		}
		if len(got) != len(want) {
			t.Fatalf("sweep at %v removed %v, want %v", at, got, want)
		}
		for class, n := range want {
			if got[class] != n {
				t.Fatalf("sweep at %v removed %v, want %v", at, got, want)
			}
		}
	}

	now := time.Now()
	sweep(now, map[string]int32{"access_requests": 1})
	if got := s.ownerAccessRequests(t, ownerID, 0); !slices.Equal(got, []string{recent.GetId()}) {
		t.Errorf("access requests listed after the sweep: %v, want only %s", got, recent.GetId())
	}
	_, err = s.disclosure.GetAccessRequest(manager, &disclosurev1.GetAccessRequestRequest{AccessRequestId: longAgo.GetId()})
	wantCode(t, err, codes.NotFound)
	sweep(now, nil)
	sweep(first.AddDate(5, 0, 0), nil) // the last day they are kept
	sweep(last.AddDate(5, 0, 1), map[string]int32{"disclosure_log": 2, "access_requests": 1, "erasure_requests": 1})
	sweep(last.AddDate(5, 0, 1), nil)

	if log := s.ownerLog(t, ownerID); len(log) != 0 {
		t.Errorf("the owner's log still lists %d entries", len(log))
	}
	_, err = s.disclosure.GetDisclosure(manager, &disclosurev1.GetDisclosureRequest{DisclosureId: disclosed.GetDisclosure().GetId()})
	wantCode(t, err, codes.NotFound)
	if got := s.ownerAccessRequests(t, ownerID, 0); len(got) != 0 {
		t.Errorf("access requests still listed: %v", got)
	}
	_, err = s.disclosure.GetErasureRequest(manager, &disclosurev1.GetErasureRequestRequest{ErasureRequestId: done.GetId()})
	wantCode(t, err, codes.NotFound)
	if _, err := s.disclosure.GetErasureRequest(manager, &disclosurev1.GetErasureRequestRequest{ErasureRequestId: stuck.GetId()}); err != nil {
		t.Errorf("the unfinished erasure request: %v", err)
	}
	// Every removal was audited first, with its owner as the subject.
	events := s.raw.Database(disclosureDatabase).Collection("audit_events")
	if n, err := events.CountDocuments(t.Context(), bson.M{"action": "disclosure.retention_sweep"}); err != nil || n != 5 {
		t.Errorf("%d sweep events, %v; want 5", n, err)
	}
}

func TestRetentionSweepPermissions(t *testing.T) {
	s := start(t, func(c *disclosure.Config) { c.Sweep.Interval = 0 })
	for _, role := range []auth.Role{auth.RoleVeterinarian, auth.RoleNurse, auth.RoleReception, auth.RoleBilling} {
		_, err := s.disclosure.RunRetentionSweep(s.as(t, role), &disclosurev1.RunRetentionSweepRequest{})
		wantCode(t, err, codes.PermissionDenied)
	}
	if _, err := s.disclosure.RunRetentionSweep(s.as(t, auth.RoleMaintainer), &disclosurev1.RunRetentionSweepRequest{}); err != nil {
		t.Errorf("maintainer: %v", err)
	}
}

// TestPeriodicSweepNamedInReport: the retention sweep the service runs by itself acts
// for no person, and the owner's readable access log names it the system in the
// report's language, beside the action that says what it did. Tokens the identity
// provider issued to look like the services' own work (a sweep's subject with a
// person's name and no role, a service subject whose roles the register does not know,
// a person with the erasure job's role alone) are not the system: their refused reads
// of the owner are shown by the name they carry. A nurse's token without a name is
// shown by its role in words, not its subject.
func TestPeriodicSweepNamedInReport(t *testing.T) {
	s := start(t, func(c *disclosure.Config) { c.Sweep.Interval = 20 * time.Millisecond })
	manager := s.as(t, auth.RoleClinicManager)
	ownerID, _ := s.customer(t, "Mäkinen")
	for _, c := range []devauth.Claims{
		{Subject: "history-retention-sweep", Name: "Matti Meikäläinen"},
		{Subject: "service:reporting", Name: "Maija Meikäläinen", Roles: []auth.Role{"a_later_role"}},
		{Subject: "u-teppo", Name: "Teppo Testaaja", Roles: []auth.Role{auth.RoleErasureJob}},
	} {
		tok, err := s.env.Issuer.Mint(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.owners.GetOwner(auth.WithOutgoingToken(t.Context(), tok, ""), &ownerv1.GetOwnerRequest{OwnerId: ownerID})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("%s read the owner: %v", c.Name, err)
		}
		s.waitAudited(t, ownerDatabase, bson.M{"action": "rpc.denied", "subject_owner_id": ownerID, "actor_subject": c.Subject})
	}
	// A nurse whose token carries no name reads the owner.
	nameless, err := s.env.Issuer.Mint(devauth.Claims{Subject: "u-nameless-nurse", Roles: []auth.Role{auth.RoleNurse}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.owners.GetOwner(auth.WithOutgoingToken(t.Context(), nameless, ""), &ownerv1.GetOwnerRequest{OwnerId: ownerID}); err != nil {
		t.Fatal(err)
	}
	s.recordAccess(t, manager, "", letter(ownerID, receivedOn(2020, time.March, 2)))
	s.waitAudited(t, disclosureDatabase, bson.M{"action": "disclosure.retention_sweep", "subject_owner_id": ownerID, "actor_subject": "service:disclosure"})
	request := s.recordAccess(t, manager, "", letter(ownerID, nil))
	for _, tc := range []struct {
		language string
		rows     []string
	}{
		{"fi", []string{"<td>järjestelmä</td><td>säilytysajan päättyneiden tietojen poisto</td>",
			"<td>Matti Meikäläinen</td>", "<td>Maija Meikäläinen</td>", "<td>Teppo Testaaja (tietojen poiston automaattinen ajo)</td>",
			"<td>eläinhoitaja</td><td>asiakastietojen katselu</td>"}},
		{"sv", []string{"<td>systemet</td><td>radering efter lagringstiden</td>",
			"<td>Matti Meikäläinen</td>", "<td>Maija Meikäläinen</td>", "<td>Teppo Testaaja (automatisk radering)</td>",
			"<td>djurskötare</td><td>kunduppgifterna visade</td>"}},
		{"en", []string{"<td>system</td><td>removal after the retention period</td>",
			"<td>Matti Meikäläinen</td>", "<td>Maija Meikäläinen</td>", "<td>Teppo Testaaja (automatic erasure run)</td>",
			"<td>veterinary nurse</td><td>customer details viewed</td>"}},
	} {
		doc := s.documentWithRows(t, manager, request.GetId(), tc.language, tc.rows)
		if strings.Contains(doc, "()") {
			t.Errorf("%s: the document shows empty roles", tc.language)
		}
		if strings.Contains(doc, "u-nameless-nurse") {
			t.Errorf("%s: the document shows the nameless token's subject", tc.language)
		}
	}
}

// TestOwnerServiceSweepNamedInReport: the owner service's retention sweep, whose audit
// event the report reads through that service's audit export and whose change through
// its owner's copy, is the system in the report's language, its change saying what it
// was: the flag crosses both services' APIs. The sweep's event and change are stored
// as that sweep stores them (with the subject and name of its identity, which a token
// can carry too); the patient's registration by the nurse reads in words as well.
func TestOwnerServiceSweepNamedInReport(t *testing.T) {
	s := start(t)
	manager := s.as(t, auth.RoleClinicManager)
	ownerID, patientID := s.customer(t, "Järvinen")
	owners := s.raw.Database(ownerDatabase)
	now := time.Now().UTC()
	if _, err := owners.Collection(audit.Collection).InsertOne(t.Context(), bson.M{
		"_id": "owner-sweep-1", "time": now, "actor_subject": "service:owner", "actor_name": "retention sweep", "system": true,
		"action": "owner.retention_sweep", "resource": "patients/" + patientID, "subject_owner_id": ownerID, "outcome": audit.OutcomeSuccess,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := owners.Collection("patients").UpdateByID(t.Context(), patientID, bson.M{
		"$set": bson.M{"version": 2},
		"$push": bson.M{"changes": bson.M{
			"version": 2, "time": now, "actor_subject": "service:owner", "actor_name": "retention sweep", "actor_system": true,
			"fields": []string{"microchip"}, "reason": "retention period ended",
		}},
	}); err != nil {
		t.Fatal(err)
	}
	request := s.recordAccess(t, manager, "", letter(ownerID, nil))
	for _, tc := range []struct {
		language string
		rows     []string
	}{
		{"fi", []string{"<td>järjestelmä</td><td>säilytysajan päättyneiden tietojen poisto</td>",
			"<td>järjestelmä</td><td>microchip</td><td>säilytysaika päättyi</td>", "</td><td>rekisteröity</td>"}},
		{"sv", []string{"<td>systemet</td><td>radering efter lagringstiden</td>",
			"<td>systemet</td><td>microchip</td><td>lagringstiden gick ut</td>", "</td><td>registrerad</td>"}},
		{"en", []string{"<td>system</td><td>removal after the retention period</td>",
			"<td>system</td><td>microchip</td><td>retention period ended</td>", "</td><td>registered</td>"}},
	} {
		doc := s.documentWithRows(t, manager, request.GetId(), tc.language, tc.rows)
		if strings.Contains(doc, "retention sweep") {
			t.Errorf("%s: the document names the sweep by its identity's name", tc.language)
		}
	}
}

// TestSubjectlessActorIsTheSystemInBothCopies: an event or a change recorded with no
// actor, which only the services' own work recorded before the system flag has (an
// erasure step taken without the job's token), is the system in the JSON copy as in the
// readable one, in the access log and in the changes of the owner, of a pet and of a
// former pet alike: the JSON said actorSystem false of what the document named the
// system.
func TestSubjectlessActorIsTheSystemInBothCopies(t *testing.T) {
	s := start(t)
	manager := s.as(t, auth.RoleClinicManager)
	ownerID, patientID := s.customer(t, "Heikkinen")
	buyer, _ := s.customer(t, "Salo")
	sold := s.pet(t, ownerID, "Mirri")
	now := time.Now().UTC()
	for db, action := range map[string]string{ownerDatabase: "owner.erase", disclosureDatabase: "erasure_request.step"} {
		if _, err := s.raw.Database(db).Collection(audit.Collection).InsertOne(t.Context(), bson.M{
			"_id": "subjectless-" + action, "time": now, "action": action, "resource": "owners/" + ownerID,
			"subject_owner_id": ownerID, "outcome": audit.OutcomeFailed,
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A change with no actor as the second version of the owner, their dog and the cat
	// they sell on afterwards.
	for _, c := range []struct{ collection, id, field string }{
		{"owners", ownerID, "phone"}, {"patients", patientID, "microchip"}, {"patients", sold, "colour"},
	} {
		if _, err := s.raw.Database(ownerDatabase).Collection(c.collection).UpdateByID(t.Context(), c.id, bson.M{
			"$set":  bson.M{"version": 2},
			"$push": bson.M{"changes": bson.M{"version": 2, "time": now, "fields": []string{c.field}, "reason": "retention period ended"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.owners.TransferPatient(s.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: sold, NewOwnerId: buyer, Version: 2, Reason: "sold",
	}); err != nil {
		t.Fatal(err)
	}
	request := s.recordAccess(t, manager, "", letter(ownerID, nil))
	res, err := s.disclosure.GetAccessReport(manager, &disclosurev1.GetAccessReportRequest{AccessRequestId: request.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	type changes struct {
		Changes []struct {
			Fields       []string
			ActorSubject string
			ActorSystem  bool
		}
	}
	var rep struct {
		Owner          changes
		Patients       []changes
		FormerPatients []changes
		AccessLog      []struct {
			Action       string
			ActorSubject string
			ActorSystem  bool
		}
	}
	if err := json.Unmarshal(res.GetReport().GetData(), &rep); err != nil {
		t.Fatal(err)
	}
	subjectless := 0
	for _, e := range rep.AccessLog {
		if e.ActorSubject == "" {
			subjectless++
			if !e.ActorSystem {
				t.Errorf("the subjectless %s event is not the system's in the JSON copy", e.Action)
			}
		}
	}
	if subjectless != 2 {
		t.Errorf("the JSON copy holds %d subjectless events, want 2", subjectless)
	}
	var system []string
	for _, cs := range slices.Concat([]changes{rep.Owner}, rep.Patients, rep.FormerPatients) {
		for _, c := range cs.Changes {
			if c.ActorSubject == "" && c.ActorSystem {
				system = append(system, c.Fields...)
			}
		}
	}
	slices.Sort(system)
	if !slices.Equal(system, []string{"colour", "microchip", "phone"}) {
		t.Errorf("the subjectless changes the system's in the JSON copy are of %v, want the colour, the microchip and the phone", system)
	}
	s.documentWithRows(t, manager, request.GetId(), "en", []string{
		"<td>system</td><td>data erased</td>", "<td>system</td><td>a step of the erasure</td>",
		"<td>system</td><td>phone</td><td>retention period ended</td>",
		"<td>system</td><td>microchip</td><td>retention period ended</td>",
		"<td>system</td><td>colour</td><td>retention period ended</td>",
	})
}

// documentWithRows reads the access request's readable report in language and fails
// the test for each of rows it lacks; it returns the document.
func (s *system) documentWithRows(t *testing.T, ctx context.Context, requestID, language string, rows []string) string {
	t.Helper()
	res, err := s.disclosure.GetAccessReportDocument(ctx, &disclosurev1.GetAccessReportDocumentRequest{
		AccessRequestId: requestID, Language: language,
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := string(res.GetDocument().GetData())
	for _, row := range rows {
		if !strings.Contains(doc, row) {
			t.Errorf("%s: the document lacks %s", language, row)
		}
	}
	return doc
}
