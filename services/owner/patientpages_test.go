package owner_test

import (
	"fmt"
	"sync"
	"testing"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	ownermongo "github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/platform/auth"
)

// TestListOwnerPatientsPagesEveryPatientOnce: an owner's five patients, two a page,
// come in three pages, each patient once and no one else's; the last page says there
// is no other.
func TestListOwnerPatientsPagesEveryPatientOnce(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Koskinen")})
	other := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Lehto")})
	want := map[string]bool{}
	for i := range 5 {
		want[registerPatient(t, env, c, o.GetId(), newPatient(fmt.Sprintf("Pentu %d", i))).GetId()] = true
	}
	registerPatient(t, env, c, other.GetId(), newPatient("Someone else's"))
	ctx := env.As(t, auth.RoleReception)
	seen := map[string]bool{}
	var pages int
	for token := ""; ; {
		res, err := c.ListOwnerPatients(ctx, &ownerv1.ListOwnerPatientsRequest{OwnerId: o.GetId(), PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if pages++; len(res.GetPatients()) > 2 || pages > 3 {
			t.Fatalf("page %d holds %d patients, want at most 2 in at most 3 pages", pages, len(res.GetPatients()))
		}
		for _, p := range res.GetPatients() {
			if seen[p.GetId()] || !want[p.GetId()] {
				t.Errorf("patient %s (%s) listed twice or not the owner's", p.GetId(), p.GetName())
			}
			seen[p.GetId()] = true
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != len(want) || pages != 3 {
		t.Errorf("listed %d patients in %d pages, want %d in 3", len(seen), pages, len(want))
	}
}

// TestExportOwnerReadsEveryPage: the owner's copy holds every patient of an owner with
// more than a page of them. No page is longer than the repository's largest, so one
// more patient than that is read in two pages, whatever size the export asks for.
func TestExportOwnerReadsEveryPage(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Kennel")})
	const n = ownermongo.MaxPageSize + 1
	ctx := env.As(t, auth.RoleReception)
	want := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := c.RegisterPatient(ctx, &ownerv1.RegisterPatientRequest{OwnerId: o.GetId(), Patient: newPatient(fmt.Sprintf("Pentu %d", i))})
			want[i], errs[i] = res.GetPatient().GetId(), err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("register patient: %v", err)
		}
	}
	manager := auth.WithOutgoingToken(t.Context(), env.Token(t, auth.RoleClinicManager), "access request ar-7")
	res, err := c.ExportOwner(manager, &ownerv1.ExportOwnerRequest{OwnerId: o.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]int{}
	for _, p := range res.GetPatients() {
		exported[p.GetId()]++
	}
	var missing []string
	for _, id := range want {
		if exported[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the owner's copy leaves out %d of the owner's %d patients: %v", len(missing), n, missing)
	}
	if len(res.GetPatients()) != n || len(res.GetPatientChanges()) != n {
		t.Errorf("the owner's copy holds %d patients and %d patients' changes, want %d", len(res.GetPatients()), len(res.GetPatientChanges()), n)
	}
}
