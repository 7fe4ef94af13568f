package history_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	historyv1 "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/auth"
	"github.com/lillvet/register/services/platform/devauth"
	"github.com/lillvet/register/services/platform/servicetest"
)

// erasedSeller is an owner who sold their animal before asking for erasure: its visit
// of 20 May 2024 keeps the clinical record, and so the owner's names, to 20 May 2027
// as both services answered the erasure on 25 November 2026.
type erasedSeller struct {
	id, buyer string
	pet       *ownerv1.Patient
}

func (f *fixture) erasedSeller(t *testing.T) erasedSeller {
	t.Helper()
	s := erasedSeller{id: f.newOwner(t), buyer: f.newOwner(t)}
	s.pet = f.newPatient(t, s.id, "Nappi")
	vet := f.as(t, auth.RoleVeterinarian)
	if _, err := f.history.RecordVisit(vet, &historyv1.RecordVisitRequest{PatientId: s.pet.GetId(), Visit: erasureVisit(at(2024, 5, 20), false)}); err != nil {
		t.Fatal(err)
	}
	res, err := f.owners.TransferPatient(f.as(t, auth.RoleReception), &ownerv1.TransferPatientRequest{
		PatientId: s.pet.GetId(), NewOwnerId: s.buyer, Version: s.pet.GetVersion(), Reason: "sold",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.pet = res.GetPatient()
	f.eraseOn(t, at(2026, 11, 25), s.id, jobOne, &historyv1.EraseOwnerDataResponse{
		Dispositions:    []*historyv1.RecordDisposition{disposition("patient_records", true, "basis.veterinary_records", "2027-05-20", 1)},
		OwnerNamedUntil: "2027-05-20",
	})
	if _, err := f.owners.EraseOwnerData(f.as(t, auth.RoleClinicManager), &ownerv1.EraseOwnerDataRequest{
		OwnerId: s.id, RequestId: jobOne, NameKeptUntil: "2027-05-20",
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// buyersVisit records the animal's visit by its next owner on the day, after the
// erasure was answered.
func (f *fixture) buyersVisit(t *testing.T, s erasedSeller, day time.Time) {
	t.Helper()
	f.clock.Set(day)
	if _, err := f.history.RecordVisit(f.as(t, auth.RoleVeterinarian), &historyv1.RecordVisitRequest{
		PatientId: s.pet.GetId(), Visit: erasureVisit(day, false),
	}); err != nil {
		t.Fatal(err)
	}
}

// ownerSweepOn runs the owner service's sweep as the clinic manager on the day and
// answers the owner's family name after it ("" once anonymised).
func (f *fixture) ownerSweepOn(t *testing.T, day time.Time, ownerID string) string {
	t.Helper()
	f.clock.Set(day)
	if _, err := f.owners.RunRetentionSweep(f.as(t, auth.RoleClinicManager), &ownerv1.RunRetentionSweepRequest{}); err != nil {
		t.Fatal(err)
	}
	return f.familyName(t, ownerID)
}

func (f *fixture) familyName(t *testing.T, ownerID string) string {
	t.Helper()
	res, err := f.owners.GetOwner(f.as(t, auth.RoleClinicManager), &ownerv1.GetOwnerRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetOwner().GetFamilyName()
}

// ownerChanges lists the owner's changes as "<reason> <fields> <system>".
func (f *fixture) ownerChanges(t *testing.T, ownerID string) []string {
	t.Helper()
	res, err := f.owners.ListOwnerChanges(f.as(t, auth.RoleClinicManager), &ownerv1.ListOwnerChangesRequest{OwnerId: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range res.GetChanges() {
		line := c.GetReason() + " " + strings.Join(c.GetFields(), ",")
		if c.GetActorSystem() {
			line += " system"
		}
		out = append(out, line)
	}
	return out
}

// withHistory points the owner service at the test's history service, on the test's
// clock.
func withHistory(c *owner.Config, historyAddr string, clk *clock) {
	c.HistoryTarget, c.Now = historyAddr, clk.Now
}

// TestOwnerSweepKeepsNamesWhileHistoryRecordsNameTheOwner: the owner service's sweep
// asks the history service before it anonymises an erased owner's names. The seller's
// animal is brought in by its buyer on 10 January 2027, after the erasure answered 20
// May 2027: on 21 May 2027 the sweep keeps the names, moving their day to 10 January
// 2030 (the clinical record's new day, which no history sweep has stored) as the
// owner's change "retention period extended", and they go after that day. With no
// visit since, they go on 21 May 2027 as before. A history service that does not
// answer leaves them for the next sweep, logged for the operator.
func TestOwnerSweepKeepsNamesWhileHistoryRecordsNameTheOwner(t *testing.T) {
	unreachable := func(c *owner.Config, _ string, clk *clock) {
		c.HistoryTarget, c.Now = servicetest.RefusingAddr(t), clk.Now
	}
	const extended = "retention period extended name_kept_until"
	for _, tc := range []struct {
		name      string
		owner     func(*owner.Config, string, *clock)
		buyerSeen bool
		// kept is the family name after the sweep of 21 May 2027, changes the owner's
		// changes it made; gone is the first day a sweep anonymises the names.
		kept    string
		changes []string
		gone    time.Time
		logged  string
	}{{
		name: "next owner's visit after the erasure answered", owner: withHistory, buyerSeen: true,
		kept: "Äijälä", changes: []string{extended}, gone: at(2030, 1, 11),
	}, {
		name: "nothing kept longer", owner: withHistory,
		changes: []string{"retention period ended given_names,family_name,address"},
	}, {
		name: "history service unreachable", owner: unreachable, buyerSeen: true, kept: "Äijälä",
		logged: "the owner's names are kept for the next retention sweep",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := setupServices(t, nil, tc.owner)
			s := f.erasedSeller(t)
			before := len(f.ownerChanges(t, s.id))
			if tc.buyerSeen {
				f.buyersVisit(t, s, at(2027, 1, 10))
			}
			if got := f.ownerSweepOn(t, at(2027, 5, 20), s.id); got != "Äijälä" {
				t.Fatalf("on the names' day the sweep left the family name %q", got)
			}
			if got := f.ownerSweepOn(t, at(2027, 5, 21), s.id); got != tc.kept {
				t.Errorf("after the names' day the sweep left the family name %q, want %q", got, tc.kept)
			}
			if got := f.ownerChanges(t, s.id)[before:]; !slices.Equal(got, tc.changes) {
				t.Errorf("the sweep's changes are %q, want %q", got, tc.changes)
			}
			if logs := f.env.Logs(); !strings.Contains(logs, tc.logged) || strings.Contains(logs, s.id) != (tc.logged != "") {
				t.Errorf("logs %q: want %q naming the owner only when the history service did not answer", logs, tc.logged)
			}
			if tc.gone.IsZero() {
				return
			}
			if got := f.ownerSweepOn(t, tc.gone.AddDate(0, 0, -1), s.id); got == "" {
				t.Errorf("the names went on %s, their new day", tc.gone.AddDate(0, 0, -1).Format(time.DateOnly))
			}
			if got := f.ownerSweepOn(t, tc.gone, s.id); got != "" {
				t.Errorf("the names are kept past their new day: %q", got)
			}
		})
	}
}

// TestPeriodicOwnerSweepAsksWithItsOwnToken: the owner service's periodic sweep, which
// has no caller, asks the history service with the token of OWNER_SWEEP_TOKEN_FILE
// (role retention_sweep), and extends the names as the system.
func TestPeriodicOwnerSweepAsksWithItsOwnToken(t *testing.T) {
	var tokenFile string
	f := setupServices(t, nil, func(c *owner.Config, historyAddr string, clk *clock) {
		withHistory(c, historyAddr, clk)
		tokenFile = filepath.Join(t.TempDir(), "token")
		c.SweepTokenFile, c.Sweep.Interval = tokenFile, 20*time.Millisecond
	})
	tok, err := f.env.Issuer.Mint(devauth.OwnerSweep(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := f.erasedSeller(t)
	f.buyersVisit(t, s, at(2027, 1, 10))
	f.clock.Set(at(2027, 5, 21))
	const want = "retention period extended name_kept_until system"
	for deadline := time.Now().Add(time.Minute); !slices.Contains(f.ownerChanges(t, s.id), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the periodic sweep did not extend the names: %q", f.ownerChanges(t, s.id))
		}
	}
	if got := f.familyName(t, s.id); got != "Äijälä" {
		t.Errorf("the periodic sweep left the family name %q", got)
	}
}
