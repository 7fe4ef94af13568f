package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/protobuf/types/known/timestamppb"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// BenchmarkListPatientVisitsREST lists the newest page of 50 visits of a patient with
// 1,000 visits through the whole stack on one embedded store: the raw driver query for
// the same page, gRPC ListPatientVisits, and REST GET /v1/patients/{id}/visits through
// the gateway. services/history's BenchmarkListPatientVisits has the repository and
// use-case levels; docs/BENCHMARKS.md reports both.
func BenchmarkListPatientVisitsREST(b *testing.B) {
	const visits, size = 1000, 50
	s := startBenchStack(b)
	owners, history := ownerv1.NewOwnerServiceClient(s.benchDial(b, "owner")), historyv1.NewHistoryServiceClient(s.benchDial(b, "history"))
	ctx, token := s.caller(b, auth.RoleReception)
	ownerID := benchOwner(b, owners, ctx, "")
	pet, err := owners.RegisterPatient(ctx, &ownerv1.RegisterPatientRequest{
		OwnerId: ownerID, Patient: &ownerv1.Patient{Name: "Nappi", Species: ownerv1.Species_SPECIES_CAT},
	})
	if err != nil {
		b.Fatal(err)
	}
	petID := pet.GetPatient().GetId()
	vet, _ := s.caller(b, auth.RoleVeterinarian)
	start := time.Now().Add(-visits * time.Hour)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < visits; i += 4 {
				if _, err := history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: petID, Visit: &historyv1.Visit{
					Clinic: historyv1.Clinic_CLINIC_SEINAJOKI, Reason: "Check-up", Findings: "Healthy.",
					StartTime: timestamppb.New(start.Add(time.Duration(i) * time.Hour)),
				}}); err != nil {
					b.Errorf("record visit: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}

	coll := s.rawCollection(b, "history", "visits")
	servicetest.Compare(b, "page",
		servicetest.Path{Name: "driver", Read: func() error {
			cur, err := coll.Find(context.Background(), bson.M{"patient_id": petID}, options.Find().
				SetSort(bson.D{{Key: "started_at", Value: -1}, {Key: "_id", Value: -1}}).
				SetLimit(size).SetProjection(bson.M{"original": 0, "amendments": 0}))
			if err != nil {
				return err
			}
			var docs []bson.M
			return cur.All(context.Background(), &docs)
		}},
		servicetest.Path{Name: "grpc", Read: func() error {
			_, err := history.ListPatientVisits(ctx, &historyv1.ListPatientVisitsRequest{PatientId: petID, PageSize: size})
			return err
		}},
		s.restPath("/v1/patients/"+petID+"/visits?pageSize=50", token),
	)
}
