package owner_test

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/owner/ownertest"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/embedded/embeddedtest"
	"github.com/lillvet/register/services/platform/servicetest"
)

const testDatabase = "lillvet_owner_test"

// keys are one test run's encryption keys.
type keys struct{ identity, active, index string }

func newKeys(t testing.TB, kids ...string) keys {
	t.Helper()
	var specs []string
	for _, kid := range kids {
		specs = append(specs, kid+":"+servicetest.RandomKey(t))
	}
	return keys{identity: strings.Join(specs, ","), active: kids[len(kids)-1], index: servicetest.RandomKey(t)}
}

// startOwner runs one owner-service instance on env's store and returns its client.
func startOwner(t testing.TB, env *servicetest.Env, k keys) ownerv1.OwnerServiceClient {
	t.Helper()
	return ownerv1.NewOwnerServiceClient(runOwner(t, env, k).Conn)
}

// runOwner runs one owner-service instance on env's store; opts adjust its
// configuration.
func runOwner(t testing.TB, env *servicetest.Env, k keys, opts ...func(*owner.Config)) *servicetest.Service {
	t.Helper()
	keys := func(c *owner.Config) {
		c.IdentityKeys, c.IdentityActiveKey, c.BlindIndexKey = k.identity, k.active, k.index
	}
	svc, _ := ownertest.Start(t, env, testDatabase, append([]func(*owner.Config){keys}, opts...)...)
	return svc
}

func setup(t *testing.T) (*servicetest.Env, ownerv1.OwnerServiceClient) {
	t.Helper()
	env := servicetest.New(t)
	return env, startOwner(t, env, newKeys(t, "k1"))
}

func newOwner(family string) *ownerv1.Owner {
	return &ownerv1.Owner{
		GivenNames: "Aino", FamilyName: family,
		Address: &ownerv1.Address{Street: "Ruukintie 1", PostalCode: "60100", City: "Seinäjoki"},
		Phone:   "040 123 4567", Email: "aino@example.fi",
		HomeClinic: ownerv1.Clinic_CLINIC_SEINAJOKI,
	}
}

func newPatient(name string) *ownerv1.Patient {
	return &ownerv1.Patient{Name: name, Species: ownerv1.Species_SPECIES_DOG, Sex: ownerv1.Sex_SEX_FEMALE, BirthDate: "2020-05-01"}
}

var (
	wantCode   = servicetest.WantCode
	violations = servicetest.Violations
)

func createOwner(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, req *ownerv1.CreateOwnerRequest) *ownerv1.Owner {
	t.Helper()
	res, err := c.CreateOwner(env.As(t, auth.RoleReception), req)
	if err != nil {
		t.Fatalf("create owner: %v", err)
	}
	return res.GetOwner()
}

func registerPatient(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient, ownerID string, p *ownerv1.Patient) *ownerv1.Patient {
	t.Helper()
	res, err := c.RegisterPatient(env.As(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: ownerID, Patient: p})
	if err != nil {
		t.Fatalf("register patient: %v", err)
	}
	return res.GetPatient()
}

func TestCreateOwnerIsIdempotent(t *testing.T) {
	env, c := setup(t)
	req := &ownerv1.CreateOwnerRequest{RequestId: "form-2026-0042", Owner: newOwner("Mäkinen"), IdentityCode: "131052-308T"}
	first := createOwner(t, env, c, req)
	second := createOwner(t, env, c, req)
	if first.GetId() != second.GetId() || second.GetVersion() != 1 {
		t.Fatalf("retry created another owner: %s then %s (version %d)", first.GetId(), second.GetId(), second.GetVersion())
	}
	list, err := c.ListOwners(env.As(t, auth.RoleReception), &ownerv1.ListOwnersRequest{Name: "mäkinen"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetOwners()) != 1 {
		t.Fatalf("want one owner after a retried create, got %d", len(list.GetOwners()))
	}
	if got := first.GetIdentityCodeMasked(); got != "******-***T" {
		t.Fatalf("identity code shown as %q, want it masked", got)
	}
	if first.GetPhone() != "+358401234567" {
		t.Fatalf("phone %q not normalised to E.164", first.GetPhone())
	}

	// The same request id for somebody else, or for another animal or another owner's
	// animal, is refused: never answered with the first record.
	ctx := env.As(t, auth.RoleReception)
	_, err = c.CreateOwner(ctx, &ownerv1.CreateOwnerRequest{RequestId: "form-2026-0042", Owner: newOwner("Virtanen")})
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(fmt.Sprint(st.Details()), "REQUEST_ID_REUSED") || strings.Contains(st.Message(), first.GetId()) {
		t.Errorf("a request id reused for another owner: %v", st)
	}
	other := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virtanen")})
	register := func(ownerID, name string) (*ownerv1.RegisterPatientResponse, error) {
		return c.RegisterPatient(ctx, &ownerv1.RegisterPatientRequest{OwnerId: ownerID, RequestId: "pet-1", Patient: newPatient(name)})
	}
	rex, err := register(first.GetId(), "Rex")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := register(first.GetId(), "Rex"); err != nil || again.GetPatient().GetId() != rex.GetPatient().GetId() {
		t.Errorf("a retried registration: %v, %v", again, err)
	}
	for _, tc := range []struct{ owner, name string }{{other.GetId(), "Rex"}, {first.GetId(), "Musti"}} {
		_, err := register(tc.owner, tc.name)
		if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(fmt.Sprint(st.Details()), "REQUEST_ID_REUSED") {
			t.Errorf("request id reused for %s of owner %s: %v", tc.name, tc.owner, st)
		}
	}
}

// TestStalePatientWritesAreVersionMismatch: each write of a patient at a version the
// client read before the patient changed is ABORTED with VERSION_MISMATCH, the reason
// that tells the client to read it again.
func TestStalePatientWritesAreVersionMismatch(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virtanen")})
	buyer := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Laine")})
	p := registerPatient(t, env, c, o.GetId(), newPatient("Rex"))
	ctx := env.As(t, auth.RoleVeterinarian)
	if _, err := c.UpdatePatient(ctx, &ownerv1.UpdatePatientRequest{PatientId: p.GetId(), Patient: &ownerv1.Patient{Colour: "black"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}}, Version: p.GetVersion(), Reason: "seen at the desk"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		write func() error
	}{
		{name: "update", write: func() error {
			_, err := c.UpdatePatient(ctx, &ownerv1.UpdatePatientRequest{PatientId: p.GetId(), Patient: &ownerv1.Patient{Colour: "white"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}}, Version: p.GetVersion(), Reason: "seen at the desk"})
			return err
		}},
		{name: "transfer", write: func() error {
			_, err := c.TransferPatient(ctx, &ownerv1.TransferPatientRequest{PatientId: p.GetId(), NewOwnerId: buyer.GetId(), Version: p.GetVersion(), Reason: "sold"})
			return err
		}},
		{name: "mark deceased", write: func() error {
			_, err := c.MarkPatientDeceased(ctx, &ownerv1.MarkPatientDeceasedRequest{PatientId: p.GetId(), DeathDate: "2026-01-02", Version: p.GetVersion(), Reason: "put down"})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			if got := servicetest.ReasonOf(t, err, codes.Aborted); got != apperr.ReasonVersionMismatch {
				t.Errorf("reason = %q, want %s", got, apperr.ReasonVersionMismatch)
			}
			if got, want := status.Convert(err).Message(), fmt.Sprintf("version %d is not the current version of patient %s; read it again", p.GetVersion(), p.GetId()); got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		})
	}
}

func TestStaleUpdateIsAborted(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virtanen")})
	ctx := env.As(t, auth.RoleReception)
	update := func(phone string, version int64) (*ownerv1.UpdateOwnerResponse, error) {
		return c.UpdateOwner(ctx, &ownerv1.UpdateOwnerRequest{
			OwnerId: o.GetId(), Owner: &ownerv1.Owner{Phone: phone}, Version: version, Reason: "customer called",
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}},
		})
	}
	res, err := update("+358 50 765 4321", o.GetVersion())
	if err != nil {
		t.Fatalf("first update: %v", err)
	}
	if res.GetOwner().GetVersion() != 2 || res.GetOwner().GetPhone() != "+358507654321" {
		t.Fatalf("update not applied: %+v", res.GetOwner())
	}
	// The version the update was based on, and one never stored: neither is the current
	// one, and the message claims no more (no one else need have changed the owner).
	for _, version := range []int64{o.GetVersion(), 99} {
		_, err = update("+358 44 000 0000", version)
		if got := servicetest.ReasonOf(t, err, codes.Aborted); got != apperr.ReasonVersionMismatch {
			t.Errorf("version %d: reason = %q, want %s", version, got, apperr.ReasonVersionMismatch)
		}
		if got, want := status.Convert(err).Message(), fmt.Sprintf("version %d is not the current version of owner %s; read it again", version, o.GetId()); got != want {
			t.Errorf("version %d: message = %q, want %q", version, got, want)
		}
	}

	got, err := c.GetOwner(ctx, &ownerv1.GetOwnerRequest{OwnerId: o.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetOwner().GetPhone() != "+358507654321" {
		t.Fatalf("stale update overwrote the phone: %s", got.GetOwner().GetPhone())
	}
	hist, err := c.ListOwnerChanges(ctx, &ownerv1.ListOwnerChangesRequest{OwnerId: o.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	changes := hist.GetChanges()
	if len(changes) != 2 || changes[1].GetReason() != "customer called" || changes[1].GetFields()[0] != "phone" ||
		changes[1].GetActorSubject() != "test-reception" {
		t.Fatalf("history does not say who changed what and why: %v", changes)
	}
}

func TestDuplicateIdentityCodeAlreadyExists(t *testing.T) {
	env, c := setup(t)
	createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Korhonen"), IdentityCode: "010190-123M"})
	_, err := c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{
		Owner: newOwner("Korhonen"), IdentityCode: " 010190-123m ",
	})
	if got := servicetest.ReasonOf(t, err, codes.AlreadyExists); got != "IDENTITY_CODE_REGISTERED" {
		t.Errorf("reason = %q, want IDENTITY_CODE_REGISTERED", got)
	}
	if strings.Contains(status.Convert(err).Message(), "123M") || strings.Contains(status.Convert(err).Message(), "010190") {
		t.Errorf("the refusal repeats the identity code: %v", err)
	}
	// The refused registration left nothing behind.
	list, err := c.ListOwners(env.As(t, auth.RoleReception), &ownerv1.ListOwnersRequest{Name: "korhonen"})
	if err != nil || len(list.GetOwners()) != 1 {
		t.Fatalf("after a refused duplicate: %d owners (%v), want 1", len(list.GetOwners()), err)
	}
	// 010190Y123M is another person (DESIGN rule 1): it registers.
	createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Korhonen"), IdentityCode: "010190Y123M"})
}

func TestSearchByEachKey(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Äijälä"), IdentityCode: "131052-308T"})
	other := newOwner("Nieminen")
	other.GivenNames, other.Phone = "Eino", "+358 50 111 2222"
	createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: other})
	p := newPatient("Nappi")
	p.Microchip = "246098100123456"
	pet := registerPatient(t, env, c, o.GetId(), p)
	ctx := env.As(t, auth.RoleReception)

	for _, tc := range []struct {
		name string
		req  *ownerv1.ListOwnersRequest
	}{
		{"name prefix, any case and accents", &ownerv1.ListOwnersRequest{Name: "AIJA"}},
		{"given name prefix", &ownerv1.ListOwnersRequest{Name: "ain"}},
		{"full name", &ownerv1.ListOwnersRequest{Name: "Aino Äijälä"}},
		{"family name first", &ownerv1.ListOwnersRequest{Name: "äijälä aino"}},
		{"prefixes of both names", &ownerv1.ListOwnersRequest{Name: "aino aij"}},
		{"phone in another format", &ownerv1.ListOwnersRequest{Phone: "+358401234567"}},
		{"customer number", &ownerv1.ListOwnersRequest{CustomerNumber: pet.GetCustomerNumber()}},
		{"microchip", &ownerv1.ListOwnersRequest{Microchip: "246 098 100 123 456"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.ListOwners(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.GetOwners()) != 1 || res.GetOwners()[0].GetId() != o.GetId() {
				t.Fatalf("got %d owners, want exactly Äijälä", len(res.GetOwners()))
			}
		})
	}
	// Every word must begin a word of the same owner's names.
	if res, err := c.ListOwners(ctx, &ownerv1.ListOwnersRequest{Name: "eino äijälä"}); err != nil || len(res.GetOwners()) != 0 {
		t.Errorf("words of two owners' names found %v (%v)", res.GetOwners(), err)
	}
	found, err := c.FindOwnerByIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: "131052-308T"})
	if err != nil || found.GetOwner().GetId() != o.GetId() {
		t.Fatalf("identity code search: %v", err)
	}
	_, err = c.FindOwnerByIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: "010190-123M"})
	wantCode(t, err, codes.NotFound)
}

// TestSearchIgnoresTheFormOfApostropheOrDash: an owner registered from a phone or a web
// form as "O’Brien" (typographic apostrophe) is found by reception typing "O'Brien", and
// the other way round, as is one typed with the modifier letter or an acute accent; so is
// a double name written with an en dash or a typographic hyphen ("Hakala–Pere").
func TestSearchIgnoresTheFormOfApostropheOrDash(t *testing.T) {
	env, c := setup(t)
	ctx := env.As(t, auth.RoleReception)
	for _, tc := range []struct {
		family string
		search []string
	}{
		{"O’Brien", []string{"O'Brien", "o'bri", "O‘Brien", "aino o'b"}},
		{"D'Angelo", []string{"D’Angelo", "dʼangelo", "D´Angelo"}},
		{"N´Diaye", []string{"N'Diaye", "n’di"}},
		{"Hakala–Pere", []string{"hakala-pere", "Hakala-P", "aino hakala-pere", "Hakala‐Pere"}},
		{"Lind-Berg", []string{"Lind–Berg", "lind—berg", "Lind‑B"}},
	} {
		o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner(tc.family)})
		for _, q := range tc.search {
			res, err := c.ListOwners(ctx, &ownerv1.ListOwnersRequest{Name: q})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.GetOwners()) != 1 || res.GetOwners()[0].GetId() != o.GetId() {
				t.Errorf("search %q found %d owners, want %s", q, len(res.GetOwners()), tc.family)
			}
		}
	}
}

func TestMicrochipBelongsToOnePatient(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Hakala")})
	chipped := newPatient("Rekku")
	chipped.Microchip = "246098100999999"
	first := registerPatient(t, env, c, o.GetId(), chipped)
	_, err := c.RegisterPatient(env.As(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: o.GetId(), Patient: chipped})
	if got := servicetest.ReasonOf(t, err, codes.AlreadyExists); got != "MICROCHIP_REGISTERED" {
		t.Errorf("reason = %q, want MICROCHIP_REGISTERED", got)
	}

	// Moving the chip number to a corrected value frees the old one.
	ctx := env.As(t, auth.RoleNurse)
	res, err := c.UpdatePatient(ctx, &ownerv1.UpdatePatientRequest{
		PatientId: first.GetId(), Patient: &ownerv1.Patient{Microchip: "246098100999998"}, Version: 1,
		Reason: "chip number mistyped", UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"microchip"}},
	})
	if err != nil || res.GetPatient().GetMicrochip() != "246098100999998" {
		t.Fatalf("rectify microchip: %v", err)
	}
	if _, err := c.RegisterPatient(ctx, &ownerv1.RegisterPatientRequest{OwnerId: o.GetId(), Patient: chipped}); err != nil {
		t.Fatalf("the freed chip number cannot be registered: %v", err)
	}
}

// TestRestrictedOwner checks what a pending erasure or objection means in the owner
// register: out of every search, no new patients, still readable by id.
func TestRestrictedOwner(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Rajoitettu"), IdentityCode: "131052-308T"})
	restrict(t, env, c, o.GetId(), true)
	ctx := env.As(t, auth.RoleReception)
	for _, req := range []*ownerv1.ListOwnersRequest{{Name: "rajoitettu"}, {Phone: "+358401234567"}, {}} {
		res, err := c.ListOwners(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetOwners()) != 0 {
			t.Fatalf("restricted owner found by %v", req)
		}
	}
	_, err := c.FindOwnerByIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: "131052-308T"})
	wantCode(t, err, codes.NotFound)
	_, err = c.RegisterPatient(env.As(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: o.GetId(), Patient: newPatient("Uusi")})
	st := wantCode(t, err, codes.FailedPrecondition)
	if !strings.Contains(fmt.Sprint(st.Details()), "OWNER_RESTRICTED") {
		t.Fatalf("refusal does not name its reason: %v", st.Details())
	}
	got, err := c.GetOwner(ctx, &ownerv1.GetOwnerRequest{OwnerId: o.GetId()})
	if err != nil || !got.GetOwner().GetRestricted() {
		t.Fatalf("the owner itself is still readable by id and shows the restriction: %v", err)
	}
}

func TestListOwnersPagesEveryOwnerOnce(t *testing.T) {
	env, c := setup(t)
	want := map[string]bool{}
	for i := range 7 {
		want[createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner(fmt.Sprintf("Salo%d", i%3))}).GetId()] = true
	}
	seen := map[string]bool{}
	token := ""
	for page := 0; ; page++ {
		res, err := c.ListOwners(env.As(t, auth.RoleReception), &ownerv1.ListOwnersRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.GetOwners() {
			if seen[o.GetId()] {
				t.Fatalf("owner %s listed twice", o.GetId())
			}
			seen[o.GetId()] = true
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
		// Tokens travel in URLs: they must not carry the names they page by.
		if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || strings.Contains(strings.ToLower(string(raw)), "salo") {
			t.Errorf("page token %q (%s) shows the names it pages by", token, raw)
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("listed %d owners, want %d", len(seen), len(want))
	}
	_, err := c.ListOwners(env.As(t, auth.RoleReception), &ownerv1.ListOwnersRequest{PageToken: "not-a-token"})
	violations(t, err)
}

// TestListOwnersWhileAnOwnerIsRenamed pins the order ListOwners documents: pages run in
// name order and a token holds the last name listed, so an owner renamed during the walk
// (Eklund marries and becomes Aaltonen) is listed where its new name falls, here before
// the page reached, and not at all; every other owner is listed once.
func TestListOwnersWhileAnOwnerIsRenamed(t *testing.T) {
	env, c := setup(t)
	ctx := env.As(t, auth.RoleReception)
	var renamed *ownerv1.Owner
	for _, family := range []string{"Aalto", "Berg", "Corander", "Dahl", "Eklund"} {
		renamed = createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner(family)})
	}
	listed := map[string]int{}
	token := ""
	for page := 0; page == 0 || token != ""; page++ {
		res, err := c.ListOwners(ctx, &ownerv1.ListOwnersRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.GetOwners() {
			listed[o.GetFamilyName()]++
		}
		token = res.GetNextPageToken()
		if page == 0 {
			if _, err := c.UpdateOwner(ctx, &ownerv1.UpdateOwnerRequest{
				OwnerId: renamed.GetId(), Owner: &ownerv1.Owner{FamilyName: "Aaltonen"}, Version: renamed.GetVersion(), Reason: "married",
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"family_name"}},
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]int{"Aalto": 1, "Berg": 1, "Corander": 1, "Dahl": 1}
	if !maps.Equal(listed, want) {
		t.Fatalf("listed %v, want %v", listed, want)
	}
}

func TestTransferKeepsCustomerNumberAndHistory(t *testing.T) {
	env, c := setup(t)
	from := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Laine")})
	to := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Heikkinen")})
	pet := registerPatient(t, env, c, from.GetId(), newPatient("Musti"))
	ctx := env.As(t, auth.RoleReception)
	res, err := c.TransferPatient(ctx, &ownerv1.TransferPatientRequest{
		PatientId: pet.GetId(), NewOwnerId: to.GetId(), Version: pet.GetVersion(), Reason: "sold",
	})
	if err != nil {
		t.Fatal(err)
	}
	moved := res.GetPatient()
	if moved.GetOwnerId() != to.GetId() || moved.GetCustomerNumber() != pet.GetCustomerNumber() {
		t.Fatalf("transfer: owner %s number %s, want owner %s number %s", moved.GetOwnerId(), moved.GetCustomerNumber(), to.GetId(), pet.GetCustomerNumber())
	}
	found, err := c.FindPatientByCustomerNumber(ctx, &ownerv1.FindPatientByCustomerNumberRequest{CustomerNumber: pet.GetCustomerNumber()})
	if err != nil || found.GetPatient().GetOwnerId() != to.GetId() {
		t.Fatalf("find by customer number after transfer: %v", err)
	}
	// A valid number no patient has is not found, and the answer (which the gateway's
	// client span records) does not repeat it.
	unknown, err := domain.NewCustomerNumber(987654)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FindPatientByCustomerNumber(ctx, &ownerv1.FindPatientByCustomerNumberRequest{CustomerNumber: unknown.String()})
	if st := wantCode(t, err, codes.NotFound); st.Message() != "no patient with this customer number" {
		t.Errorf("not-found message %q, want one that names neither the number nor the store", st.Message())
	}
	hist, err := c.ListPatientChanges(ctx, &ownerv1.ListPatientChangesRequest{PatientId: pet.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(hist.GetChanges()); n != 2 || hist.GetChanges()[1].GetReason() != "sold" {
		t.Fatalf("history after transfer: %v", hist.GetChanges())
	}
	// The transfer's record says from whom to whom; the registration's keeps no values.
	transfer, values := hist.GetChanges()[1], hist.GetChanges()[1].GetValues()
	if !slices.Equal(transfer.GetFields(), []string{"owner_id"}) || len(values) != 1 || values[0].GetField() != "owner_id" ||
		values[0].GetOldValue() != from.GetId() || values[0].GetNewValue() != to.GetId() || len(hist.GetChanges()[0].GetValues()) != 0 {
		t.Errorf("history after transfer: %v, want the transfer from %s to %s", hist.GetChanges(), from.GetId(), to.GetId())
	}
	for owner, want := range map[string]int{from.GetId(): 0, to.GetId(): 1} {
		list, err := c.ListOwnerPatients(ctx, &ownerv1.ListOwnerPatientsRequest{OwnerId: owner})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetPatients()) != want {
			t.Fatalf("owner %s has %d patients, want %d", owner, len(list.GetPatients()), want)
		}
	}
}

// TestTransferLeavesThePreviousOwnersInsurance: the policy is the previous owner's
// contract; after a transfer the patient has none until the new owner's is recorded,
// and the change record names the insurance without keeping its values.
func TestTransferLeavesThePreviousOwnersInsurance(t *testing.T) {
	env, c := setup(t)
	from := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Laine")})
	to := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Heikkinen")})
	insured := newPatient("Musti")
	insured.Insurance = &ownerv1.Insurance{Insurer: "Lähitapiola", PolicyNumber: "LT-123456"}
	pet := registerPatient(t, env, c, from.GetId(), insured)
	ctx := env.As(t, auth.RoleReception)
	res, err := c.TransferPatient(ctx, &ownerv1.TransferPatientRequest{
		PatientId: pet.GetId(), NewOwnerId: to.GetId(), Version: pet.GetVersion(), Reason: "sold",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetPatient().GetInsurance(); got.GetInsurer() != "" || got.GetPolicyNumber() != "" {
		t.Errorf("the transferred patient's insurance = %v, want none", got)
	}
	hist, err := c.ListPatientChanges(ctx, &ownerv1.ListPatientChangesRequest{PatientId: pet.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	transfer := hist.GetChanges()[len(hist.GetChanges())-1]
	if !slices.Equal(transfer.GetFields(), []string{"owner_id", "insurance"}) || len(transfer.GetValues()) != 1 ||
		transfer.GetValues()[0].GetField() != "owner_id" {
		t.Errorf("the transfer's record: fields %v, values %v; want owner_id and insurance, the owner ids only", transfer.GetFields(), transfer.GetValues())
	}
	manager := auth.WithOutgoingToken(t.Context(), env.Token(t, auth.RoleClinicManager), "access request ar-1")
	x, err := c.ExportOwner(manager, &ownerv1.ExportOwnerRequest{OwnerId: to.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if ps := x.GetPatients(); len(ps) != 1 || ps[0].GetInsurance().GetPolicyNumber() != "" || ps[0].GetInsurance().GetInsurer() != "" {
		t.Errorf("the new owner's copy: %v, want the pet without the previous owner's policy", ps)
	}
}

func TestDeceasedPatient(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Koskinen")})
	pet := registerPatient(t, env, c, o.GetId(), newPatient("Mirri"))
	ctx := env.As(t, auth.RoleVeterinarian)
	_, err := c.MarkPatientDeceased(ctx, &ownerv1.MarkPatientDeceasedRequest{PatientId: pet.GetId(), DeathDate: "2019-01-01", Version: 1, Reason: "euthanasia"})
	if f := violations(t, err); f[0] != "death_date" {
		t.Fatalf("death before birth: violation on %v", f)
	}
	res, err := c.MarkPatientDeceased(ctx, &ownerv1.MarkPatientDeceasedRequest{PatientId: pet.GetId(), DeathDate: "2026-11-01", Version: 1, Reason: "euthanasia"})
	if err != nil || !res.GetPatient().GetDeceased() {
		t.Fatalf("mark deceased: %v", err)
	}
	_, err = c.MarkPatientDeceased(ctx, &ownerv1.MarkPatientDeceasedRequest{PatientId: pet.GetId(), DeathDate: "2026-11-01", Version: 2, Reason: "again"})
	wantCode(t, err, codes.FailedPrecondition)

	// A wrong date is corrected, and the correction is in the history.
	fixed, err := c.MarkPatientDeceased(ctx, &ownerv1.MarkPatientDeceasedRequest{PatientId: pet.GetId(), DeathDate: "2026-10-31", Version: 2, Reason: "date misread"})
	if err != nil || fixed.GetPatient().GetDeathDate() != "2026-10-31" || !fixed.GetPatient().GetDeceased() || fixed.GetPatient().GetVersion() != 3 {
		t.Fatalf("correct the date of death: %v, %v", fixed, err)
	}
	hist, err := c.ListPatientChanges(ctx, &ownerv1.ListPatientChangesRequest{PatientId: pet.GetId()})
	if n := len(hist.GetChanges()); err != nil || n != 3 || hist.GetChanges()[2].GetReason() != "date misread" ||
		!slices.Equal(hist.GetChanges()[2].GetFields(), []string{"death_date"}) {
		t.Errorf("history after the correction: %v, %v", hist.GetChanges(), err)
	}
}

func TestBadInputNamesTheFields(t *testing.T) {
	env, c := setup(t)
	bad := newOwner("")
	bad.Phone, bad.Address.PostalCode, bad.HomeClinic = "12", "6010", ownerv1.Clinic_CLINIC_UNSPECIFIED
	_, err := c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: bad, IdentityCode: "131052-308A"})
	got := strings.Join(violations(t, err), ",")
	for _, f := range []string{"owner.family_name", "owner.phone", "owner.address.postal_code", "owner.home_clinic", "identity_code"} {
		if !strings.Contains(got, f) {
			t.Errorf("no violation for %s in %s", f, got)
		}
	}
	// A valid code whose date of birth has not come yet (1 Jan 2099, century sign A).
	_, err = c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: newOwner("Tuleva"), IdentityCode: "010199A123Y"})
	if f := violations(t, err); len(f) != 1 || f[0] != "identity_code" {
		t.Errorf("an identity code born in 2099: violations %v", f)
	}
	_, err = c.FindPatientByCustomerNumber(env.As(t, auth.RoleReception), &ownerv1.FindPatientByCustomerNumberRequest{CustomerNumber: "100018"})
	if f := violations(t, err); f[0] != "customer_number" {
		t.Fatalf("wrong check digit: violation on %v", f)
	}
	_, err = c.GetOwner(env.As(t, auth.RoleReception), &ownerv1.GetOwnerRequest{OwnerId: "not-an-id"})
	violations(t, err)

	// Enum numbers the API does not know are refused, not read as the default.
	odd := newOwner("Laine")
	odd.PreferredLanguage = ownerv1.Language(99)
	_, err = c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: odd})
	if f := violations(t, err); len(f) != 1 || f[0] != "owner.preferred_language" {
		t.Errorf("unknown language: violations %v", f)
	}
	owner := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Laine")})
	pet := newPatient("Rex")
	pet.Species, pet.Sex = ownerv1.Species(42), ownerv1.Sex(42)
	_, err = c.RegisterPatient(env.As(t, auth.RoleNurse), &ownerv1.RegisterPatientRequest{OwnerId: owner.GetId(), Patient: pet})
	if f := violations(t, err); !slices.Equal(f, []string{"patient.species", "patient.sex"}) {
		t.Errorf("unknown species and sex: violations %v", f)
	}

	// A change's reason stays in the history for good: bounded, one line of text.
	for _, reason := range []string{strings.Repeat("x", 201), "moved\x00"} {
		_, err = c.UpdateOwner(env.As(t, auth.RoleReception), &ownerv1.UpdateOwnerRequest{
			OwnerId: owner.GetId(), Owner: &ownerv1.Owner{Phone: "0407654321"}, Version: owner.GetVersion(), Reason: reason,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}},
		})
		if f := violations(t, err); len(f) != 1 || f[0] != "reason" {
			t.Errorf("reason of %d characters: violations %v, want reason", len(reason), f)
		}
	}
}

// TestFindOwnerByIdentityCodeBadInput: a code that is given but not valid is told what
// is wrong with it, once, and never that it is missing.
func TestFindOwnerByIdentityCodeBadInput(t *testing.T) {
	env, c := setup(t)
	for _, tc := range []struct {
		name, code string
		// required: the one violation is that the code is missing.
		required bool
	}{
		{name: "blank", code: "", required: true},
		{name: "white space", code: "   ", required: true},
		{name: "a wrong check character", code: "131052-308U"},
		{name: "too short", code: "131052-30"},
		{name: "born in 2099", code: "010199A123Y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.FindOwnerByIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: tc.code})
			st := wantCode(t, err, codes.InvalidArgument)
			var got []*errdetails.BadRequest_FieldViolation
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					got = append(got, br.GetFieldViolations()...)
				}
			}
			if len(got) != 1 || got[0].GetField() != "identity_code" || (got[0].GetDescription() == "is required") != tc.required {
				t.Errorf("violations %v; want one on identity_code, saying it is required: %v", got, tc.required)
			}
		})
	}
}

func TestAuthorization(t *testing.T) {
	env := servicetest.New(t)
	svc := runOwner(t, env, newKeys(t, "k1"))
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Järvinen"), IdentityCode: "131052-308T"})
	reveal := &ownerv1.RevealIdentityCodeRequest{OwnerId: o.GetId(), Purpose: "invoice 2026-118 to collection"}

	_, err := c.GetOwner(t.Context(), &ownerv1.GetOwnerRequest{OwnerId: o.GetId()})
	wantCode(t, err, codes.Unauthenticated)
	_, err = c.RevealIdentityCode(env.As(t, auth.RoleReception), reveal)
	wantCode(t, err, codes.PermissionDenied)
	_, err = c.GetOwner(env.As(t, auth.RolePartner), &ownerv1.GetOwnerRequest{OwnerId: o.GetId()})
	wantCode(t, err, codes.PermissionDenied)
	_, err = c.GetOwner(env.As(t, auth.RoleMaintainer), &ownerv1.GetOwnerRequest{OwnerId: o.GetId()})
	wantCode(t, err, codes.PermissionDenied)
	ctx := auth.WithOutgoingToken(t.Context(), env.Token(t, auth.RoleMaintainer), "restore check after backup")
	if _, err = c.GetOwner(ctx, &ownerv1.GetOwnerRequest{OwnerId: o.GetId()}); err != nil {
		t.Fatalf("maintainer with a purpose: %v", err)
	}

	for _, purpose := range []string{" ", strings.Repeat("p", 201)} {
		_, err = c.RevealIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.RevealIdentityCodeRequest{OwnerId: o.GetId(), Purpose: purpose})
		if f := violations(t, err); len(f) != 1 || f[0] != "purpose" {
			t.Errorf("reveal with a purpose of %d characters: violations %v", len(purpose), f)
		}
	}
	res, err := c.RevealIdentityCode(env.As(t, auth.RoleBilling), reveal)
	if err != nil || res.GetIdentityCode() != "131052-308T" {
		t.Fatalf("billing reveal: %v", err)
	}
	// The reveal is stored before the code leaves; the rest is queued until the
	// service stops.
	events := auditEvents(t, env, bson.M{"action": "owner.reveal_identity_code", "subject_owner_id": o.GetId()})
	if len(events) != 1 || events[0]["purpose"] != reveal.GetPurpose() || events[0]["actor_subject"] != "test-billing" {
		t.Fatalf("reveal audit events: %v", events)
	}
	svc.Stop()
	denied := auditEvents(t, env, bson.M{"outcome": "denied"})
	if len(denied) < 3 {
		t.Fatalf("denied calls not audited: %v", denied)
	}
	if reads := auditEvents(t, env, bson.M{"action": "owner.read", "subject_owner_id": o.GetId()}); len(reads) != 1 ||
		reads[0]["purpose"] != "restore check after backup" {
		t.Fatalf("maintainer read not audited with its purpose: %v", reads)
	}
}

func auditEvents(t *testing.T, env *servicetest.Env, filter bson.M) []bson.M {
	t.Helper()
	client := embeddedtest.Client(t, env.Store.URI())
	cur, err := client.Database(testDatabase).Collection("audit_events").Find(t.Context(), filter)
	if err != nil {
		t.Fatal(err)
	}
	var out []bson.M
	if err := cur.All(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIdentityCodeNeverLeaks drives every path the identity code takes and then looks
// for it, in any common spelling, in the logs, the spans and the errors returned.
func TestIdentityCodeNeverLeaks(t *testing.T) {
	env, c := setup(t)
	const code = "131052-308T"
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Salminen"), IdentityCode: code})
	var errs []string
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	_, err := c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: newOwner("Salminen"), IdentityCode: code})
	collect(err)
	_, err = c.CreateOwner(env.As(t, auth.RoleReception), &ownerv1.CreateOwnerRequest{Owner: newOwner("Salminen"), IdentityCode: "131052-308X"})
	collect(err)
	_, err = c.FindOwnerByIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: code})
	collect(err)
	_, err = c.FindOwnerByIdentityCode(env.As(t, auth.RoleReception), &ownerv1.FindOwnerByIdentityCodeRequest{IdentityCode: code})
	collect(err)
	_, err = c.RevealIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.RevealIdentityCodeRequest{OwnerId: o.GetId(), Purpose: "invoice"})
	collect(err)
	_, err = c.ExportOwner(auth.WithOutgoingToken(t.Context(), env.Token(t, auth.RoleClinicManager), "access request ar-1"), &ownerv1.ExportOwnerRequest{OwnerId: o.GetId()})
	collect(err)
	_, err = c.UpdateOwner(env.As(t, auth.RoleBilling), &ownerv1.UpdateOwnerRequest{
		OwnerId: o.GetId(), IdentityCode: code, Version: 1, Reason: "typo",
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"identity_code"}},
	})
	collect(err)
	if len(errs) < 3 {
		t.Fatalf("expected the refused calls to fail, got %d errors", len(errs))
	}
	var spans strings.Builder
	for _, s := range env.Spans.GetSpans() {
		fmt.Fprintf(&spans, "%s %v %v %v\n", s.Name, s.Attributes, s.Events, s.Status)
	}
	haystacks := map[string]string{"logs": env.Logs(), "spans": spans.String(), "errors": strings.Join(errs, "\n")}
	for _, needle := range []string{code, "131052308T", "131052-308", "131052", "131052-308X"} {
		for where, text := range haystacks {
			if strings.Contains(text, needle) {
				t.Errorf("identity code fragment %q found in %s", needle, where)
			}
		}
	}
	if env.Spans.GetSpans() == nil {
		t.Fatal("no spans recorded: the check above proved nothing")
	}
}

func TestIdentityKeyRotation(t *testing.T) {
	env := servicetest.New(t)
	old := newKeys(t, "2025")
	c := startOwner(t, env, old)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Rotated"), IdentityCode: "131052-308T"})

	rotated := old
	rotated.identity += ",2026:" + servicetest.RandomKey(t)
	rotated.active = "2026"
	c2 := startOwner(t, env, rotated)
	res, err := c2.RevealIdentityCode(env.As(t, auth.RoleBilling), &ownerv1.RevealIdentityCodeRequest{OwnerId: o.GetId(), Purpose: "invoice"})
	if err != nil || res.GetIdentityCode() != "131052-308T" {
		t.Fatalf("reading a code sealed under the retired key: %v", err)
	}
	if kid := storedKID(t, env, o.GetId()); kid != "2026" {
		t.Fatalf("identity code still sealed under %q after rotation", kid)
	}
}

// storedKID is the id of the key the owner's identity code is sealed under.
func storedKID(t *testing.T, env *servicetest.Env, ownerID string) string {
	t.Helper()
	var doc struct {
		Identity struct {
			KID string `bson:"kid"`
		} `bson:"identity"`
	}
	client := embeddedtest.Client(t, env.Store.URI())
	if err := client.Database(testDatabase).Collection("owners").FindOne(t.Context(), bson.M{"_id": ownerID}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Identity.KID
}

// TestRevealOnAnOldReplicaKeepsTheNewKey follows docs/OPERATIONS.md's key rotation to
// step 2 (the active key switched, a rolling restart under way): a replica still on the
// old active key reveals a code the new replicas already moved to the new key, and must
// leave it there. Sealing it back under the old key would make step 3, which removes
// the old key once the codes are under the new one, break the reveal and export of
// that owner.
func TestRevealOnAnOldReplicaKeepsTheNewKey(t *testing.T) {
	env := servicetest.New(t)
	both := newKeys(t, "old", "new") // step 1: the new key listed after the old, which stays active
	step1 := both
	step1.active = "old"
	oldReplica := startOwner(t, env, step1)
	newReplica := startOwner(t, env, both) // step 2: active "new"
	o := createOwner(t, env, oldReplica, &ownerv1.CreateOwnerRequest{Owner: newOwner("Kierto"), IdentityCode: "131052-308T"})
	reveal := &ownerv1.RevealIdentityCodeRequest{OwnerId: o.GetId(), Purpose: "invoice"}
	for _, tc := range []struct {
		name    string
		replica ownerv1.OwnerServiceClient
	}{
		{"the new replica moves it to the new key", newReplica},
		{"the old replica leaves it there", oldReplica},
	} {
		res, err := tc.replica.RevealIdentityCode(env.As(t, auth.RoleBilling), reveal)
		if err != nil || res.GetIdentityCode() != "131052-308T" {
			t.Fatalf("%s: reveal: %v", tc.name, err)
		}
		if got := storedKID(t, env, o.GetId()); got != "new" {
			t.Errorf("%s: the code is sealed under %q, want new", tc.name, got)
		}
	}
}

// TestConcurrentCustomerNumbers registers 1,000 patients at once through two service
// instances sharing one store: every number must be distinct and valid.
func TestConcurrentCustomerNumbers(t *testing.T) {
	env := servicetest.New(t)
	k := newKeys(t, "k1")
	clients := []ownerv1.OwnerServiceClient{startOwner(t, env, k), startOwner(t, env, k)}
	o := createOwner(t, env, clients[0], &ownerv1.CreateOwnerRequest{Owner: newOwner("Kennel")})
	ctx := env.As(t, auth.RoleReception)

	const n = 1000
	numbers := make(chan string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := clients[i%2].RegisterPatient(ctx, &ownerv1.RegisterPatientRequest{OwnerId: o.GetId(), Patient: newPatient(fmt.Sprintf("Pentu %d", i))})
			if err != nil {
				errs <- err
				return
			}
			numbers <- res.GetPatient().GetCustomerNumber()
		})
	}
	wg.Wait()
	close(numbers)
	close(errs)
	for err := range errs {
		t.Fatalf("registration failed: %v", err)
	}
	seen := map[string]bool{}
	for num := range numbers {
		if seen[num] {
			t.Fatalf("customer number %s handed out twice", num)
		}
		seen[num] = true
		if _, err := domain.ParseCustomerNumber(num); err != nil {
			t.Fatalf("number %s is not a valid customer number: %v", num, err)
		}
	}
	if len(seen) != n {
		t.Fatalf("got %d distinct numbers, want %d", len(seen), n)
	}
}

func TestBatchGetOwnerStatus(t *testing.T) {
	env, c := setup(t)
	free := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Salo")})
	held := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Lahti")})
	restrict(t, env, c, held.GetId(), true)
	unknown := "0190b1b4-0000-7000-8000-000000000000"
	ctx := env.As(t, auth.RoleClinicManager)
	res, err := c.BatchGetOwnerStatus(ctx, &ownerv1.BatchGetOwnerStatusRequest{
		OwnerIds: []string{held.GetId(), unknown, free.GetId(), held.GetId()},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(res.GetStatuses())
	want := fmt.Sprint([]*ownerv1.OwnerStatus{
		{OwnerId: held.GetId(), Exists: true, Restricted: true},
		{OwnerId: unknown},
		{OwnerId: free.GetId(), Exists: true},
	})
	if got != want {
		t.Fatalf("statuses\n got %s\nwant %s", got, want)
	}

	for _, tc := range []struct {
		name string
		ids  []string
		want string
	}{
		{"none", nil, "owner_ids"},
		{"not a UUID", []string{free.GetId(), "owner-1"}, "owner_ids[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.BatchGetOwnerStatus(ctx, &ownerv1.BatchGetOwnerStatusRequest{OwnerIds: tc.ids})
			if fields := violations(t, err); fields[0] != tc.want {
				t.Fatalf("violations %v, want %s", fields, tc.want)
			}
		})
	}
	_, err = c.BatchGetOwnerStatus(env.As(t, auth.RolePartner), &ownerv1.BatchGetOwnerStatusRequest{OwnerIds: []string{free.GetId()}})
	wantCode(t, err, codes.PermissionDenied)
}

func TestExportOwnerGathersTheOwnersCopy(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Koskinen"), IdentityCode: "131052-308T"})
	other := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Lehto")})
	musti := registerPatient(t, env, c, o.GetId(), newPatient("Musti"))
	registerPatient(t, env, c, o.GetId(), newPatient("Nappi"))
	registerPatient(t, env, c, other.GetId(), newPatient("Someone else's"))
	ctx := env.As(t, auth.RoleReception)
	if _, err := c.UpdatePatient(ctx, &ownerv1.UpdatePatientRequest{
		PatientId: musti.GetId(), Patient: &ownerv1.Patient{Name: "Musti II"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
		Version: musti.GetVersion(), Reason: "misspelt",
	}); err != nil {
		t.Fatal(err)
	}

	_, err := c.ExportOwner(env.As(t, auth.RoleClinicManager), &ownerv1.ExportOwnerRequest{OwnerId: o.GetId()})
	wantCode(t, err, codes.PermissionDenied) // the full identity code needs a stated purpose
	manager := auth.WithOutgoingToken(t.Context(), env.Token(t, auth.RoleClinicManager), "access request ar-1")
	res, err := c.ExportOwner(manager, &ownerv1.ExportOwnerRequest{OwnerId: o.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetOwner().GetFamilyName() != "Koskinen" || res.GetIdentityCode() != "131052-308T" || len(res.GetOwnerChanges()) != 1 {
		t.Errorf("owner part = %v, identity code %q, %d owner changes", res.GetOwner(), res.GetIdentityCode(), len(res.GetOwnerChanges()))
	}
	var names []string
	for _, p := range res.GetPatients() {
		names = append(names, p.GetName())
	}
	if strings.Join(names, ",") != "Musti II,Nappi" {
		t.Errorf("patients = %v, want the owner's two", names)
	}
	if pc := res.GetPatientChanges(); len(pc) != 2 || pc[0].GetPatientId() != musti.GetId() ||
		len(pc[0].GetChanges()) != 2 || pc[0].GetChanges()[1].GetReason() != "misspelt" || len(pc[1].GetChanges()) != 1 {
		t.Errorf("patient changes = %v", pc)
	}
	if events := auditEvents(t, env, bson.M{"action": "owner.export", "subject_owner_id": o.GetId()}); len(events) != 1 || events[0]["purpose"] != "access request ar-1" {
		t.Errorf("export audit events = %v, want one with its purpose stored before the answer", events)
	}

	without, err := c.ExportOwner(manager, &ownerv1.ExportOwnerRequest{OwnerId: other.GetId()})
	if err != nil || without.GetIdentityCode() != "" {
		t.Errorf("an owner without an identity code: %q, %v", without.GetIdentityCode(), err)
	}
	tests := []struct {
		name string
		role auth.Role
		id   string
		want codes.Code
	}{
		{"billing may reveal but not export", auth.RoleBilling, o.GetId(), codes.PermissionDenied},
		{"unknown owner", auth.RoleClinicManager, "0190f5a4-0000-7000-8000-000000000000", codes.NotFound},
		{"not an id", auth.RoleClinicManager, "x", codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := auth.WithOutgoingToken(t.Context(), env.Token(t, tt.role), "access request ar-1")
			_, err := c.ExportOwner(ctx, &ownerv1.ExportOwnerRequest{OwnerId: tt.id})
			wantCode(t, err, tt.want)
		})
	}
}

// TestExportOwnerShowsOnlyTheOwnersTime transfers a patient from one owner to another,
// each having had a reason typed about them in its history: each owner's copy holds
// the changes of their own time with the patient (the one who transferred it away
// finds it among the former patients, without its details), the transfer with the
// other owner's id left out and its reason withheld, and nothing of the other owner;
// staff still read the whole history.
func TestExportOwnerShowsOnlyTheOwnersTime(t *testing.T) {
	env, c := setup(t)
	first, second, pet := handedOverPet(t, env, c)
	full := patientChanges(t, env, c, pet.GetId())
	if len(full) != 4 {
		t.Fatalf("history = %v, want registration, colour, transfer, breed", full)
	}
	// full[2] is the transfer as staff read it: from the first owner to the second.
	transferAs := func(from, to string) *ownerv1.Change {
		tr := proto.Clone(full[2]).(*ownerv1.Change)
		tr.Reason, tr.Values = "(withheld)", []*ownerv1.ValueChange{{Field: "owner_id", OldValue: from, NewValue: to}}
		return tr
	}
	manager := auth.WithOutgoingToken(t.Context(), env.Token(t, auth.RoleClinicManager), "access request ar-1")
	tests := []struct {
		name  string
		owner *ownerv1.Owner
		// patients and former are the changes the copy shows for the patient among the
		// owner's patients and among the former ones (nil: not listed there).
		patients, former []*ownerv1.Change
		// absent is what the copy must not hold: the other owner's id and what was typed
		// about them.
		absent []string
	}{
		{
			name: "the owner who transferred the patient away", owner: first,
			former: []*ownerv1.Change{full[0], full[1], transferAs(first.GetId(), "")},
			absent: []string{second.GetId(), "Salo", "111 2222"},
		},
		{
			name: "the owner the patient was transferred to", owner: second,
			patients: []*ownerv1.Change{transferAs("", second.GetId()), full[3]},
			absent:   []string{first.GetId(), "Mäkinen", "765 4321"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := c.ExportOwner(manager, &ownerv1.ExportOwnerRequest{OwnerId: tt.owner.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			var patients, former []*ownerv1.Change
			if pc := x.GetPatientChanges(); len(pc) > 0 {
				if len(pc) != 1 || pc[0].GetPatientId() != pet.GetId() || len(x.GetPatients()) != 1 {
					t.Fatalf("patients %v with changes %v, want Rekku alone", x.GetPatients(), pc)
				}
				patients = pc[0].GetChanges()
			}
			if fp := x.GetFormerPatients(); len(fp) > 0 {
				if len(fp) != 1 || fp[0].GetPatientId() != pet.GetId() || fp[0].GetCustomerNumber() != pet.GetCustomerNumber() {
					t.Fatalf("former patients = %v, want Rekku alone", fp)
				}
				former = fp[0].GetChanges()
			}
			equal := func(a, b *ownerv1.Change) bool { return proto.Equal(a, b) }
			if !slices.EqualFunc(patients, tt.patients, equal) {
				t.Errorf("the patient's changes in the copy\n got %v\nwant %v", patients, tt.patients)
			}
			if !slices.EqualFunc(former, tt.former, equal) {
				t.Errorf("the former patient's changes in the copy\n got %v\nwant %v", former, tt.former)
			}
			copied, err := protojson.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.absent {
				if strings.Contains(string(copied), a) {
					t.Errorf("the copy holds %q of the other owner: %s", a, copied)
				}
			}
		})
	}
	if after := patientChanges(t, env, c, pet.GetId()); !slices.EqualFunc(after, full, func(a, b *ownerv1.Change) bool { return proto.Equal(a, b) }) {
		t.Errorf("staff's history after the exports\n got %v\nwant %v", after, full)
	}
}

// The reasons typed in handedOverPet's history, each about an owner.
const (
	ainoReason     = "Aino Mäkinen called from 040 765 4321: Rekku is black"
	transferReason = "Aino Mäkinen (040 765 4321) sold Rekku to Salo"
	saloReason     = "Eero Salo called from 050 111 2222: Rekku is a collie"
)

// handedOverPet registers Rekku under Mäkinen (first) and transfers it to Salo
// (second), with a reason typed about an owner in each change: one of first's time
// (ainoReason), the transfer (transferReason), one of second's time (saloReason).
func handedOverPet(t *testing.T, env *servicetest.Env, c ownerv1.OwnerServiceClient) (first, second *ownerv1.Owner, pet *ownerv1.Patient) {
	t.Helper()
	nurse := env.As(t, auth.RoleNurse)
	first = createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Mäkinen")})
	second = createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Salo")})
	pet = registerPatient(t, env, c, first.GetId(), newPatient("Rekku"))
	res, err := c.UpdatePatient(nurse, &ownerv1.UpdatePatientRequest{
		PatientId: pet.GetId(), Patient: &ownerv1.Patient{Colour: "black"}, Version: pet.GetVersion(),
		Reason: ainoReason, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := c.TransferPatient(env.As(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: pet.GetId(), NewOwnerId: second.GetId(), Version: res.GetPatient().GetVersion(), Reason: transferReason,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdatePatient(nurse, &ownerv1.UpdatePatientRequest{
		PatientId: pet.GetId(), Patient: &ownerv1.Patient{Breed: "collie"}, Version: moved.GetPatient().GetVersion(),
		Reason: saloReason, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"breed"}},
	}); err != nil {
		t.Fatal(err)
	}
	return first, second, pet
}
