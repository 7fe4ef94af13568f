package disclosure_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	disclosurev1 "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
)

// receivedOn is noon in Helsinki (10:00 UTC in winter, 09:00 in summer) of a day.
func receivedOn(year int, month time.Month, day int) *timestamppb.Timestamp {
	return timestamppb.New(time.Date(year, month, day, 9, 0, 0, 0, time.UTC))
}

// letter is a request received by letter and identified through the contact details on
// record by the clinic manager.
func letter(ownerID string, received *timestamppb.Timestamp) *disclosurev1.AccessRequest {
	return &disclosurev1.AccessRequest{
		OwnerId: ownerID, ReceiveTime: received, Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_LETTER,
		Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_REGISTERED_CONTACT, IdentifiedBy: "staff-manager",
	}
}

func (s *system) recordAccess(t *testing.T, ctx context.Context, requestID string, r *disclosurev1.AccessRequest) *disclosurev1.AccessRequest {
	t.Helper()
	res, err := s.disclosure.RecordAccessRequest(ctx, &disclosurev1.RecordAccessRequestRequest{RequestId: requestID, AccessRequest: r})
	if err != nil {
		t.Fatalf("record access request: %v", err)
	}
	return res.GetAccessRequest()
}

func (s *system) ownerAccessRequests(t *testing.T, ownerID string, pageSize int32) []string {
	t.Helper()
	var ids []string
	token := ""
	for {
		res, err := s.disclosure.ListOwnerAccessRequests(s.as(t, auth.RoleClinicManager), &disclosurev1.ListOwnerAccessRequestsRequest{
			OwnerId: ownerID, PageSize: pageSize, PageToken: token,
		})
		if err != nil {
			t.Fatalf("list access requests: %v", err)
		}
		for _, r := range res.GetAccessRequests() {
			ids = append(ids, r.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			return ids
		}
	}
}

// TestAccessRequests is the scenario: a request is due a calendar month after
// receipt (Finnish calendar, end of month clamped); a further one within twelve months
// is flagged with the earlier one; a retry records nothing new; the clinic manager
// extends once; every read and change is audited.
func TestAccessRequests(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Virtanen")
	manager := s.as(t, auth.RoleClinicManager)

	// Received at 23:30 UTC on 30 January: 31 January in Helsinki, due 28 February.
	first := s.recordAccess(t, manager, "", letter(ownerID, timestamppb.New(time.Date(2025, 1, 30, 23, 30, 0, 0, time.UTC))))
	if first.GetDueDate() != "2025-02-28" || first.GetPossiblyChargeable() || first.GetEarlierRequestId() != "" ||
		first.GetStatus() != disclosurev1.AccessRequestStatus_ACCESS_REQUEST_STATUS_RECEIVED || first.GetLanguage() != "fi" ||
		first.GetRecordedBy() != "test-clinic_manager" || first.GetExtendedDueDate() != "" || first.GetCreateTime() == nil {
		t.Fatalf("first request %v", first)
	}
	// More than twelve months later: free again.
	second := s.recordAccess(t, manager, "", letter(ownerID, receivedOn(2026, 2, 1)))
	if second.GetDueDate() != "2026-03-01" || second.GetPossiblyChargeable() {
		t.Fatalf("a year and a day later: %v", second)
	}
	// At the desk, in person, within twelve months of the second: possibly chargeable,
	// naming the second.
	desk := &disclosurev1.AccessRequest{
		OwnerId: ownerID, ReceiveTime: receivedOn(2026, 8, 31), Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_IN_PERSON,
		Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_IDENTITY_DOCUMENT, IdentifiedBy: "staff-desk",
		Language: "sv",
	}
	third := s.recordAccess(t, s.as(t, auth.RoleReception), "desk-2026-08-31", desk)
	if third.GetDueDate() != "2026-09-30" || !third.GetPossiblyChargeable() || third.GetEarlierRequestId() != second.GetId() ||
		third.GetLanguage() != "sv" || third.GetRecordedBy() != "test-reception" {
		t.Fatalf("further request within a year: %v", third)
	}
	// The retry returns the first answer and records nothing new; so does one through
	// the Idempotency-Key the gateway forwards.
	again := s.recordAccess(t, s.as(t, auth.RoleReception), "desk-2026-08-31", desk)
	keyed := metadata.AppendToOutgoingContext(s.as(t, auth.RoleReception), apperr.MetadataIdempotencyKey, "desk-2026-08-31")
	viaKey := s.recordAccess(t, keyed, "", desk)
	if again.GetId() != third.GetId() || viaKey.GetId() != third.GetId() || !again.GetPossiblyChargeable() {
		t.Fatalf("retries: %v, %v; first %v", again, viaKey, third)
	}
	// The same request id for another owner is refused, not answered with this one.
	otherOwner, _ := s.customer(t, "Nieminen")
	_, err := s.disclosure.RecordAccessRequest(manager, &disclosurev1.RecordAccessRequestRequest{
		RequestId: "desk-2026-08-31", AccessRequest: letter(otherOwner, nil),
	})
	if got := refusalReason(t, err); got != "REQUEST_ID_REUSED" {
		t.Fatalf("reused request id: %v", err)
	}

	// Most recently received first, across pages of one, under the owner id however
	// its letters are cased.
	for _, id := range []string{ownerID, strings.ToUpper(ownerID)} {
		if got, want := s.ownerAccessRequests(t, id, 1), []string{third.GetId(), second.GetId(), first.GetId()}; !slices.Equal(got, want) {
			t.Fatalf("listed under %s: %v, want %v", id, got, want)
		}
	}
	if got := s.ownerAccessRequests(t, otherOwner, 0); len(got) != 0 {
		t.Fatalf("another owner's list: %v", got)
	}
	got, err := s.disclosure.GetAccessRequest(manager, &disclosurev1.GetAccessRequestRequest{AccessRequestId: third.GetId()})
	if err != nil || got.GetAccessRequest().GetEarlierRequestId() != second.GetId() || got.GetAccessRequest().GetIdentifiedBy() != "staff-desk" {
		t.Fatalf("get: %v, %v", got, err)
	}
	_, err = s.disclosure.GetAccessRequest(manager, &disclosurev1.GetAccessRequestRequest{AccessRequestId: uuid.NewString()})
	wantCode(t, err, codes.NotFound)

	// Extending: received today, so within the first month; three calendar months after
	// receipt, once.
	today := s.recordAccess(t, manager, "", letter(ownerID, nil))
	if !today.GetPossiblyChargeable() || today.GetEarlierRequestId() != third.GetId() {
		t.Fatalf("today's request: %v", today)
	}
	extend := func(id, reason string) (*disclosurev1.AccessRequest, error) {
		res, err := s.disclosure.ExtendAccessRequest(manager, &disclosurev1.ExtendAccessRequestRequest{AccessRequestId: id, Reason: reason})
		return res.GetAccessRequest(), err
	}
	ext, err := extend(today.GetId(), "five pets and ten years of visits")
	received := today.GetReceiveTime().AsTime()
	if err != nil || ext.GetDueDate() != today.GetDueDate() || ext.GetExtendedDueDate() == "" ||
		ext.GetExtendedDueDate() <= ext.GetDueDate() || ext.GetExtensionReason() != "five pets and ten years of visits" ||
		ext.GetExtendTime() == nil || received.AddDate(0, 3, 4).Format(time.DateOnly) < ext.GetExtendedDueDate() {
		t.Fatalf("extended: %v, %v", ext, err)
	}
	if retry, err := extend(today.GetId(), "five pets and ten years of visits"); err != nil || retry.GetExtendedDueDate() != ext.GetExtendedDueDate() {
		t.Fatalf("retried extension: %v, %v", retry, err)
	}
	_, err = extend(today.GetId(), "still more")
	if got := refusalReason(t, err); got != "ACCESS_REQUEST_ALREADY_EXTENDED" {
		t.Fatalf("second extension: %v", err)
	}
	_, err = extend(first.GetId(), "too late")
	if got := refusalReason(t, err); got != "ACCESS_REQUEST_EXTENSION_LATE" {
		t.Fatalf("extension after the due date: %v", err)
	}

	// Every read and change is audited with the owner as its subject. Stopping the
	// service drains the audit queue.
	s.stopDisclosure()
	audited := map[string]int{}
	cur, err := s.raw.Database(disclosureDatabase).Collection("audit_events").Find(t.Context(), bson.M{"subject_owner_id": ownerID})
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Action string `bson:"action"`
	}
	if err := cur.All(t.Context(), &events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		audited[e.Action]++
	}
	// Six pages listed: three under the id as issued, three under it in capitals.
	want := map[string]int{
		"access_request.record": 6, "access_request.list": 6, "access_request.read": 1, "access_request.extend": 2,
	}
	for action, n := range want {
		if audited[action] != n {
			t.Errorf("%d %s events, want %d (all: %v)", audited[action], action, n, audited)
		}
	}
}

func TestAccessRequestInput(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Korhonen")
	manager := s.as(t, auth.RoleClinicManager)

	_, err := s.disclosure.RecordAccessRequest(manager, &disclosurev1.RecordAccessRequestRequest{AccessRequest: letter(uuid.NewString(), nil)})
	wantCode(t, err, codes.NotFound)

	for _, tc := range []struct {
		name   string
		req    *disclosurev1.AccessRequest
		fields []string
	}{
		{"nothing", nil, []string{"access_request"}},
		{"empty", &disclosurev1.AccessRequest{}, []string{
			"access_request.owner_id", "access_request.channel", "access_request.identification",
		}},
		{"not an owner id", letter("owner-1", nil), []string{"access_request.owner_id"}},
		{"in the future", letter(ownerID, timestamppb.New(time.Now().Add(time.Hour))), []string{"access_request.receive_time"}},
		{"before 2000", letter(ownerID, receivedOn(1999, 12, 31)), []string{"access_request.receive_time"}},
		{"portal needs strong identification", &disclosurev1.AccessRequest{
			OwnerId: ownerID, Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_PORTAL,
			Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_REGISTERED_CONTACT, IdentifiedBy: "staff-1",
		}, []string{"access_request.identification"}},
		{"who identified", &disclosurev1.AccessRequest{
			OwnerId: ownerID, Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_EMAIL,
			Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_REGISTERED_CONTACT,
		}, []string{"access_request.identified_by"}},
		{"language", &disclosurev1.AccessRequest{
			OwnerId: ownerID, Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_PORTAL,
			Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_STRONG_ELECTRONIC, Language: "de",
		}, []string{"access_request.language"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.disclosure.RecordAccessRequest(manager, &disclosurev1.RecordAccessRequestRequest{AccessRequest: tc.req})
			if got := violations(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("violations %v, want %v", got, tc.fields)
			}
		})
	}
	// A portal request needs nobody at the clinic to identify the person.
	portal := s.recordAccess(t, manager, "", &disclosurev1.AccessRequest{
		OwnerId: ownerID, Channel: disclosurev1.AccessChannel_ACCESS_CHANNEL_PORTAL,
		Identification: disclosurev1.IdentificationMethod_IDENTIFICATION_METHOD_STRONG_ELECTRONIC, Language: "EN",
	})
	if portal.GetIdentifiedBy() != "" || portal.GetLanguage() != "en" {
		t.Fatalf("portal request %v", portal)
	}
	_, err = s.disclosure.RecordAccessRequest(manager, &disclosurev1.RecordAccessRequestRequest{
		RequestId: string(make([]byte, 300)), AccessRequest: letter(ownerID, nil),
	})
	if got := violations(t, err); !slices.Equal(got, []string{"request_id"}) {
		t.Fatalf("violations %v", got)
	}
	_, err = s.disclosure.GetAccessRequest(manager, &disclosurev1.GetAccessRequestRequest{AccessRequestId: "x"})
	if got := violations(t, err); !slices.Equal(got, []string{"access_request_id"}) {
		t.Fatalf("violations %v", got)
	}
	_, err = s.disclosure.ListOwnerAccessRequests(manager, &disclosurev1.ListOwnerAccessRequestsRequest{OwnerId: "x", PageSize: -1})
	if got := violations(t, err); !slices.Equal(got, []string{"owner_id", "page_size"}) {
		t.Fatalf("violations %v", got)
	}
	_, err = s.disclosure.ListOwnerAccessRequests(manager, &disclosurev1.ListOwnerAccessRequestsRequest{OwnerId: ownerID, PageToken: "?"})
	if got := violations(t, err); !slices.Equal(got, []string{"page_token"}) {
		t.Fatalf("violations %v", got)
	}
	// The reason is checked before the request is looked up.
	_, err = s.disclosure.ExtendAccessRequest(manager, &disclosurev1.ExtendAccessRequestRequest{AccessRequestId: portal.GetId(), Reason: " "})
	if got := violations(t, err); !slices.Equal(got, []string{"reason"}) {
		t.Fatalf("violations %v", got)
	}
	_, err = s.disclosure.ExtendAccessRequest(manager, &disclosurev1.ExtendAccessRequestRequest{AccessRequestId: uuid.NewString(), Reason: "r"})
	wantCode(t, err, codes.NotFound)
}

// TestAccessRequestPermissions checks the policy over real gRPC, role by role: the
// clinic manager handles access requests, reception records one received at the desk,
// a maintainer reads them only with a stated purpose, and nobody else touches them.
func TestAccessRequestPermissions(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Mäkelä")
	r := s.recordAccess(t, s.as(t, auth.RoleClinicManager), "", letter(ownerID, nil))
	withPurpose := func(role auth.Role) context.Context {
		return auth.WithOutgoingToken(t.Context(), s.env.Token(t, role), "support case 7")
	}
	calls := map[string]func(ctx context.Context) error{
		"RecordAccessRequest": func(ctx context.Context) error {
			_, err := s.disclosure.RecordAccessRequest(ctx, &disclosurev1.RecordAccessRequestRequest{AccessRequest: letter(ownerID, nil)})
			return err
		},
		"GetAccessRequest": func(ctx context.Context) error {
			_, err := s.disclosure.GetAccessRequest(ctx, &disclosurev1.GetAccessRequestRequest{AccessRequestId: r.GetId()})
			return err
		},
		"ListOwnerAccessRequests": func(ctx context.Context) error {
			_, err := s.disclosure.ListOwnerAccessRequests(ctx, &disclosurev1.ListOwnerAccessRequestsRequest{OwnerId: ownerID})
			return err
		},
		"ExtendAccessRequest": func(ctx context.Context) error {
			_, err := s.disclosure.ExtendAccessRequest(ctx, &disclosurev1.ExtendAccessRequestRequest{AccessRequestId: r.GetId(), Reason: "many pets"})
			return err
		},
	}
	var (
		manager, desk = auth.RoleClinicManager, auth.RoleReception
		maint         = auth.RoleMaintainer
	)
	allowed := map[string][]auth.Role{
		"RecordAccessRequest":     {manager, desk},
		"GetAccessRequest":        {manager},
		"ListOwnerAccessRequests": {manager},
		"ExtendAccessRequest":     {manager},
	}
	withStatedPurpose := map[string][]auth.Role{"GetAccessRequest": {maint}, "ListOwnerAccessRequests": {maint}}
	for name, call := range calls {
		for _, role := range auth.Roles() {
			for _, purpose := range []bool{false, true} {
				ctx := s.as(t, role)
				if purpose {
					ctx = withPurpose(role)
				}
				want := slices.Contains(allowed[name], role) || (purpose && slices.Contains(withStatedPurpose[name], role))
				err := call(ctx)
				if denied := status.Code(err) == codes.PermissionDenied; denied == want {
					t.Errorf("%s as %s (purpose %v): %v, want allowed=%v", name, role, purpose, err, want)
				}
			}
		}
	}
}

// TestConcurrentAccessRequestsAreFlaggedOnce records several requests of one owner at
// once: all are listed, and only one of them is free, the first received (of those
// received at the same instant, the one the ledger lists first).
func TestConcurrentAccessRequestsAreFlaggedOnce(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Heikkinen")
	const n = 8
	var g errgroup.Group
	for range n {
		g.Go(func() error {
			_, err := s.disclosure.RecordAccessRequest(s.as(t, auth.RoleClinicManager),
				&disclosurev1.RecordAccessRequestRequest{AccessRequest: letter(ownerID, nil)})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	res, err := s.disclosure.ListOwnerAccessRequests(s.as(t, auth.RoleClinicManager), &disclosurev1.ListOwnerAccessRequestsRequest{OwnerId: ownerID})
	if err != nil || len(res.GetAccessRequests()) != n {
		t.Fatalf("listed %d of %d: %v", len(res.GetAccessRequests()), n, err)
	}
	free := 0
	for _, r := range res.GetAccessRequests() {
		if !r.GetPossiblyChargeable() {
			free++
		} else if r.GetEarlierRequestId() == "" || r.GetEarlierRequestId() == r.GetId() {
			t.Errorf("flagged against %q: %v", r.GetEarlierRequestId(), r)
		}
	}
	if free != 1 {
		t.Fatalf("%d free requests, want 1", free)
	}
}

// TestRetryListsARequestACrashLeftUnlisted is a crash between the two writes of a
// record: the request is stored, its owner's ledger does not list it. The client's
// retry with the same request id lists it, once.
func TestRetryListsARequestACrashLeftUnlisted(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Laine")
	manager := s.as(t, auth.RoleClinicManager)
	earlier := s.recordAccess(t, manager, "", letter(ownerID, receivedOn(2026, 6, 1)))
	r := s.recordAccess(t, manager, "letter-17", letter(ownerID, nil))
	ledgers := s.raw.Database(disclosureDatabase).Collection("access_ledgers")
	var ledger struct {
		Requests []bson.M `bson:"requests"`
	}
	if err := ledgers.FindOne(t.Context(), bson.M{"_id": ownerID}).Decode(&ledger); err != nil {
		t.Fatal(err)
	}
	kept := slices.DeleteFunc(ledger.Requests, func(e bson.M) bool { return e["id"] == r.GetId() })
	if _, err := ledgers.UpdateOne(t.Context(), bson.M{"_id": ownerID}, bson.M{"$set": bson.M{"requests": kept}}); err != nil {
		t.Fatal(err)
	}
	if got := s.ownerAccessRequests(t, ownerID, 0); !slices.Equal(got, []string{earlier.GetId()}) {
		t.Fatalf("after the crash: %v", got)
	}
	again := s.recordAccess(t, manager, "letter-17", letter(ownerID, nil))
	if again.GetId() != r.GetId() || again.GetEarlierRequestId() != earlier.GetId() {
		t.Fatalf("retry: %v, first %v", again, r)
	}
	s.recordAccess(t, manager, "letter-17", letter(ownerID, nil))
	if got := s.ownerAccessRequests(t, ownerID, 0); !slices.Equal(got, []string{r.GetId(), earlier.GetId()}) {
		t.Fatalf("after the retries: %v", got)
	}
}

// TestBackdatedAccessRequestFlagsTheLaterOne records a letter days after it arrived,
// after a request received later: the later one becomes the further request within the
// year, whatever the order of recording, and a retry changes nothing.
func TestBackdatedAccessRequestFlagsTheLaterOne(t *testing.T) {
	s := start(t)
	ownerID, _ := s.customer(t, "Korhonen")
	manager := s.as(t, auth.RoleClinicManager)
	march := s.recordAccess(t, manager, "", letter(ownerID, receivedOn(2026, 3, 1)))
	february := s.recordAccess(t, manager, "letter-feb", letter(ownerID, receivedOn(2026, 2, 1)))
	if february.GetPossiblyChargeable() || february.GetEarlierRequestId() != "" {
		t.Fatalf("the earliest request: %v", february)
	}
	again := s.recordAccess(t, manager, "letter-feb", letter(ownerID, receivedOn(2026, 2, 1)))
	if again.GetId() != february.GetId() || again.GetPossiblyChargeable() {
		t.Fatalf("retry: %v, first %v", again, february)
	}
	got, err := s.disclosure.GetAccessRequest(manager, &disclosurev1.GetAccessRequestRequest{AccessRequestId: march.GetId()})
	if err != nil || !got.GetAccessRequest().GetPossiblyChargeable() || got.GetAccessRequest().GetEarlierRequestId() != february.GetId() {
		t.Fatalf("the later request: %v, %v", got, err)
	}
	res, err := s.disclosure.ListOwnerAccessRequests(manager, &disclosurev1.ListOwnerAccessRequestsRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]string{}
	for _, r := range res.GetAccessRequests() {
		flags[r.GetId()] = r.GetEarlierRequestId()
		if r.GetPossiblyChargeable() != (r.GetEarlierRequestId() != "") {
			t.Errorf("flag and earlier request disagree: %v", r)
		}
	}
	if want := map[string]string{february.GetId(): "", march.GetId(): february.GetId()}; !maps.Equal(flags, want) {
		t.Fatalf("listed flags %v, want %v", flags, want)
	}
}
