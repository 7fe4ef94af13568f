package owner_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	auditv1 "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// TestIdsInCapitals: an id written in capitals passes as a UUID, so every call that
// takes one answers the record it names, under its id as issued, not NOT_FOUND.
func TestIdsInCapitals(t *testing.T) {
	env, c := setup(t)
	o := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virtanen")})
	p := registerPatient(t, env, c, o.GetId(), newPatient("Musti"))
	ownerID, patientID := o.GetId(), p.GetId()
	manager, nurse := env.As(t, auth.RoleClinicManager), env.As(t, auth.RoleNurse)
	upper := strings.ToUpper

	for _, tc := range []struct {
		name string
		// call makes the request with the id in capitals and returns the id the answer
		// names.
		call func() (string, error)
		want string
	}{
		{"GetOwner", func() (string, error) {
			res, err := c.GetOwner(manager, &ownerv1.GetOwnerRequest{OwnerId: upper(ownerID)})
			return res.GetOwner().GetId(), err
		}, ownerID},
		{"ListOwnerPatients", func() (string, error) {
			res, err := c.ListOwnerPatients(manager, &ownerv1.ListOwnerPatientsRequest{OwnerId: upper(ownerID)})
			if len(res.GetPatients()) != 1 {
				return "", err
			}
			return res.GetPatients()[0].GetId(), err
		}, patientID},
		{"RegisterPatient", func() (string, error) {
			res, err := c.RegisterPatient(nurse, &ownerv1.RegisterPatientRequest{OwnerId: upper(ownerID), Patient: newPatient("Rekku")})
			return res.GetPatient().GetOwnerId(), err
		}, ownerID},
		{"GetPatient", func() (string, error) {
			res, err := c.GetPatient(manager, &ownerv1.GetPatientRequest{PatientId: upper(patientID)})
			return res.GetPatient().GetId(), err
		}, patientID},
		{"ListPatientChanges", func() (string, error) {
			res, err := c.ListPatientChanges(manager, &ownerv1.ListPatientChangesRequest{PatientId: upper(patientID)})
			if len(res.GetChanges()) == 0 {
				return "", err
			}
			return patientID, err
		}, patientID},
		{"BatchGetOwnerStatus", func() (string, error) {
			res, err := c.BatchGetOwnerStatus(manager, &ownerv1.BatchGetOwnerStatusRequest{OwnerIds: []string{upper(ownerID)}})
			if st := res.GetStatuses(); len(st) != 1 || !st[0].GetExists() {
				return "", err
			}
			return res.GetStatuses()[0].GetOwnerId(), err
		}, ownerID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.call()
			if err != nil || got != tc.want {
				t.Errorf("answered %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestRefusedCallsInAnyFormAreInTheOwnersReport: a call the policy refuses is in the
// owner's access report whichever form of their id it names, as the register issues
// it, since a UUID in another form names the same owner.
func TestRefusedCallsInAnyFormAreInTheOwnersReport(t *testing.T) {
	env := servicetest.New(t)
	k := newKeys(t, "k1")
	svc := runOwner(t, env, k)
	c := ownerv1.NewOwnerServiceClient(svc.Conn)
	ownerID := createOwner(t, env, c, &ownerv1.CreateOwnerRequest{Owner: newOwner("Virtanen")}).GetId()
	written := []string{ownerID, strings.ToUpper(ownerID), "{" + ownerID + "}", "urn:uuid:" + ownerID}
	for _, id := range written {
		// The erasure job may not read an owner.
		_, err := c.GetOwner(env.As(t, auth.RoleErasureJob), &ownerv1.GetOwnerRequest{OwnerId: id})
		wantCode(t, err, codes.PermissionDenied)
	}
	svc.Stop() // stores the queued audit events

	export, err := auditv1.NewAuditServiceClient(runOwner(t, env, k).Conn).ExportOwnerAccessEvents(
		env.As(t, auth.RoleClinicManager), &auditv1.ExportOwnerAccessEventsRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for {
		res, err := export.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e := res.GetEvent(); e.GetAction() == "rpc.denied" && e.GetResource() == ownerv1.OwnerService_GetOwner_FullMethodName {
			refused++
		}
	}
	if refused != len(written) {
		t.Errorf("the owner's report shows %d refused reads, want %d (one per form of the id)", refused, len(written))
	}
}
