package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/lillvet/register/services/history/internal/domain"
	"github.com/lillvet/register/services/platform/auth"
)

// BenchmarkRefusedCommunication records a communication with an erased owner, refused
// OWNER_ERASED at its first check, with and without a request id, while 5,000
// communications of other owners are stored: the refusal should cost its reads and
// at most one delete by _id, not a scan of the communications under the embedded
// store's write lock.
func BenchmarkRefusedCommunication(b *testing.B) {
	repo, s := serviceAt(b, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	for i := range 5000 {
		if _, err := repo.CreateCommunication(b.Context(), &domain.Communication{ID: fmt.Sprintf("c-%d", i), OwnerID: fmt.Sprintf("other-%d", i%500),
			Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "about the dog's follow-up visit", Time: time.Now(), Created: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.EraseOwnerData(as(b, auth.RoleClinicManager), raceOwner, "erase-1"); err != nil {
		b.Fatal(err)
	}
	vet := as(b, auth.RoleVeterinarian)
	for _, requestID := range []string{"", "2f0b6d4f-3e2c-4590-8a9e-570000000003"} {
		b.Run(map[bool]string{false: "without a request id", true: "with a request id"}[requestID != ""], func(b *testing.B) {
			for b.Loop() {
				if _, err := s.RecordCommunication(vet, RecordCommunication{OwnerID: raceOwner, RequestID: requestID, Communication: domain.Communication{
					Channel: domain.ChannelPhone, Direction: domain.DirectionInbound, Subject: "called"}}); err == nil {
					b.Fatal("not refused")
				}
			}
		})
	}
}
