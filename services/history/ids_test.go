package history_test

import (
	"strings"
	"testing"
	"time"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	"github.com/lillvet/register/services/platform/auth"
)

// TestIdsInCapitals: an id written in capitals passes as a UUID, so every call that
// takes one answers the record it names, under its id as issued, not NOT_FOUND.
func TestIdsInCapitals(t *testing.T) {
	f := setup(t)
	ownerID := f.newOwner(t)
	patientID := f.newPatient(t, ownerID, "Nappi").GetId()
	visitID := f.recordVisit(t, patientID, time.Now().Add(-time.Hour)).GetId()
	vet, reception := f.as(t, auth.RoleVeterinarian), f.as(t, auth.RoleReception)
	upper := strings.ToUpper

	for _, tc := range []struct {
		name string
		// call makes the request with the ids in capitals and returns the ids the
		// answer names.
		call func() ([]string, error)
		want []string
	}{
		{"RecordVisit", func() ([]string, error) {
			res, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: upper(patientID), Visit: visit(time.Time{})})
			return []string{res.GetVisit().GetPatientId()}, err
		}, []string{patientID}},
		{"GetVisit", func() ([]string, error) {
			res, err := f.history.GetVisit(vet, &historyv1.GetVisitRequest{VisitId: upper(visitID)})
			return []string{res.GetVisit().GetId()}, err
		}, []string{visitID}},
		{"ListPatientVisits", func() ([]string, error) {
			res, err := f.history.ListPatientVisits(vet, &historyv1.ListPatientVisitsRequest{PatientId: upper(patientID), PageSize: 1})
			var ids []string
			for _, v := range res.GetVisits() {
				ids = append(ids, v.GetPatientId())
			}
			return ids, err
		}, []string{patientID}},
		{"RecordCommunication", func() ([]string, error) {
			res, err := f.history.RecordCommunication(reception, &historyv1.RecordCommunicationRequest{
				OwnerId: upper(ownerID), Communication: &historyv1.Communication{
					Channel: historyv1.Channel_CHANNEL_PHONE, Direction: historyv1.Direction_DIRECTION_INBOUND,
					Subject: "Follow-up call", PatientId: upper(patientID), VisitId: upper(visitID),
				},
			})
			c := res.GetCommunication()
			return []string{c.GetOwnerId(), c.GetPatientId(), c.GetVisitId()}, err
		}, []string{ownerID, patientID, visitID}},
		{"ListOwnerCommunications", func() ([]string, error) {
			res, err := f.history.ListOwnerCommunications(reception, &historyv1.ListOwnerCommunicationsRequest{OwnerId: upper(ownerID)})
			var ids []string
			for _, c := range res.GetCommunications() {
				ids = append(ids, c.GetOwnerId())
			}
			return ids, err
		}, []string{ownerID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.call()
			if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("answered %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
