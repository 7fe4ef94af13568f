package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ownermongo "github.com/lillvet/register/services/owner/internal/adapters/mongo"
	"github.com/lillvet/register/services/owner/internal/domain"
	"github.com/lillvet/register/services/platform/apperr"
	"github.com/lillvet/register/services/platform/audit"
	"github.com/lillvet/register/services/platform/audit/audittest"
	"github.com/lillvet/register/services/platform/changereason"
)

// The tests here check the safety net under an erasure: a patient that comes under an
// owner after the owner's erasure listed its patients, and is not taken back, is covered
// as that erasure covered the owner's patients, never left active under the erased
// owner.

func createOwners(t *testing.T, ctx context.Context, plain *Service, families ...string) map[string]string {
	t.Helper()
	owners := map[string]string{}
	for _, family := range families {
		o, err := plain.CreateOwner(ctx, CreateOwner{Owner: domain.Owner{GivenNames: "Aino", FamilyName: family, Phone: "040 123 4567",
			HomeClinic: domain.ClinicSeinajoki}})
		if err != nil {
			t.Fatal(err)
		}
		owners[family] = o.ID
	}
	return owners
}

func wantOwnerErased(t *testing.T, what string, err error) {
	t.Helper()
	var pe *apperr.PreconditionError
	if !errors.As(err, &pe) || pe.Reason != "OWNER_ERASED" {
		t.Errorf("%s: %v, want OWNER_ERASED", what, err)
	}
}

// wantNoActivePatient fails when a patient under the owner is neither kept restricted
// (erased) nor anonymised, or is not anonymised when anonymised says so.
func wantNoActivePatient(t *testing.T, repo domain.Repository, ownerID string, anonymised bool) {
	t.Helper()
	under, err := repo.OwnerPatients(t.Context(), ownerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(under) == 0 {
		t.Fatal("no patient under the owner")
	}
	for _, p := range under {
		if !p.Erased || p.Anonymised != anonymised {
			t.Errorf("patient %s under the erased owner: erased %t, anonymised %t (name %q); want erased, anonymised %t",
				p.ID, p.Erased, p.Anonymised, p.Name, anonymised)
		}
	}
}

// TestUntransferToAnErasedPreviousOwner: the previous owner's erasure runs between a
// transfer's write and its taking back (it finds the patient under the new owner); the
// patient taken back to the erased owner is covered at once, restricted while the
// owner's names are kept, anonymised when they are gone.
func TestUntransferToAnErasedPreviousOwner(t *testing.T) {
	for _, tt := range []struct {
		name          string
		nameKeptUntil string
		anonymised    bool
	}{
		{name: "names kept", nameKeptUntil: "2060-12-31"},
		{name: "names anonymised", anonymised: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owners := createOwners(t, ctx, plain, "from", "to")
			p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owners["from"], Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
			if err != nil {
				t.Fatal(err)
			}
			racing, err := New(&afterPatientWrite{Repository: repo, meanwhile: func(ctx context.Context, _ *domain.Patient) error {
				// The new owner objects (restricted); the previous owner's erasure runs to its end.
				if _, err := plain.SetOwnerRestriction(ctx, owners["to"], true, "objection pending", ""); err != nil {
					return err
				}
				_, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owners["from"], RequestID: uuid.NewString(), NameKeptUntil: tt.nameKeptUntil})
				return err
			}}, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = racing.TransferPatient(ctx, p.ID, owners["to"], p.Version, "sold")
			wantOwnerRestricted(t, "the transfer to the restricted owner", err)
			wantNoActivePatient(t, repo, owners["from"], tt.anonymised)
			changes, err := repo.PatientChanges(t.Context(), p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if last := changes[len(changes)-1]; last.Reason != changereason.LateErasure {
				t.Errorf("the patient's last change %v has reason %q, want %q", last.Fields, last.Reason, changereason.LateErasure)
			}
		})
	}
}

// failingTakeBack runs the owner's whole erasure between a registration's first check
// and its write (so the erasure's listing cannot see the patient), then makes the
// taking back's delete fail: with deleteErr as a store error would, or by rectifying
// the patient right after its write.
type failingTakeBack struct {
	domain.Repository
	erase     func(ctx context.Context, ownerID string) error
	rectify   func(ctx context.Context, p *domain.Patient) error
	deleteErr error
}

func (r *failingTakeBack) CreatePatient(ctx context.Context, p *domain.Patient, c domain.Change) (*domain.Patient, error) {
	if err := r.erase(ctx, p.OwnerID); err != nil {
		return nil, err
	}
	created, err := r.Repository.CreatePatient(ctx, p, c)
	if err == nil && r.rectify != nil {
		if err := r.rectify(ctx, created); err != nil {
			return nil, err
		}
	}
	return created, err
}

func (r *failingTakeBack) DeletePatient(ctx context.Context, id string) error {
	if r.deleteErr != nil {
		return r.deleteErr
	}
	return r.Repository.DeletePatient(ctx, id)
}

// TestRegistrationTakeBackFailingUnderAnErasedOwner: a registration the owner's erasure
// did not list, whose taking back fails, is covered by the registration itself (the
// erasure's retry answers its stored answer, the caller's retry is refused at the first
// check) and answered OWNER_ERASED.
func TestRegistrationTakeBackFailingUnderAnErasedOwner(t *testing.T) {
	for _, tt := range []struct {
		name      string
		rectify   bool
		deleteErr error
	}{
		{name: "delete fails (store error)", deleteErr: errors.New("connection reset by peer")},
		{name: "rectified meanwhile", rectify: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owner := createOwners(t, ctx, plain, "Laine")["Laine"]
			wrapped := &failingTakeBack{Repository: repo, deleteErr: tt.deleteErr,
				erase: func(ctx context.Context, ownerID string) error {
					_, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: ownerID, RequestID: jobOne, NameKeptUntil: "2060-12-31"})
					return err
				}}
			if tt.rectify {
				wrapped.rectify = func(ctx context.Context, p *domain.Patient) error {
					_, err := repo.UpdatePatient(ctx, &domain.Patient{ID: p.ID, OwnerID: p.OwnerID, Name: p.Name, Species: p.Species, Sex: p.Sex, Colour: "black"},
						p.Version, plain.change(ctx, []string{"colour"}, "seen at the desk"))
					return err
				}
			}
			racing, err := New(wrapped, nopAuditor{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = racing.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, RequestID: "reg-1", Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
			wantOwnerErased(t, "a registration not taken back under the erased owner", err)
			wantNoActivePatient(t, repo, owner, false)
		})
	}
}

// TestRegistrationNotTakenBackKeepsItsCause: the owner is restricted between a
// registration's first check and its write, and the patient is rectified right after
// the write, so taking it back fails as the patient changed. The caller is told why the
// registration was refused (OWNER_RESTRICTED) and that the patient stays, never a stale
// version of its own (it sent none), and the patient stays under the owner.
func TestRegistrationNotTakenBackKeepsItsCause(t *testing.T) {
	repo, plain, _, ctx := raceSetup(t)
	owner := createOwners(t, ctx, plain, "Laine")["Laine"]
	racing, err := New(&failingTakeBack{Repository: repo,
		erase: func(ctx context.Context, ownerID string) error {
			_, err := plain.SetOwnerRestriction(ctx, ownerID, true, "objection pending", "")
			return err
		},
		rectify: func(ctx context.Context, p *domain.Patient) error {
			_, err := repo.UpdatePatient(ctx, &domain.Patient{ID: p.ID, OwnerID: p.OwnerID, Name: p.Name, Species: p.Species, Sex: p.Sex, Colour: "black"},
				p.Version, plain.change(ctx, []string{"colour"}, "seen at the desk"))
			return err
		}}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = racing.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, RequestID: "reg-1", Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
	st := status.Convert(apperr.ToStatus(ctx, nil, err))
	var reason string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if st.Code() != codes.FailedPrecondition || reason != "REGISTRATION_NOT_TAKEN_BACK" ||
		!strings.HasPrefix(st.Message(), "the owner's data is restricted") || !strings.Contains(st.Message(), "stays registered") {
		t.Errorf("the registration not taken back is answered %v %s %q, want FAILED_PRECONDITION REGISTRATION_NOT_TAKEN_BACK saying why and that the patient stays",
			st.Code(), reason, st.Message())
	}
	under, err := repo.OwnerPatients(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(under) != 1 || under[0].Colour != "black" {
		t.Errorf("patients under the owner: %+v, want the rectified registration", under)
	}
}

// writeLatePatient writes patient-late under owner straight into the store, as a
// registration whose process died before its second check leaves it.
func writeLatePatient(ctx context.Context, repo *ownermongo.Repository, s *Service, owner string) error {
	_, err := repo.CreatePatient(ctx, &domain.Patient{ID: "patient-late", OwnerID: owner, Name: "Rekku", Species: domain.SpeciesDog},
		s.change(ctx, []string{"created"}, changereason.Registered))
	return err
}

// TestErasureRetryCoversLatePatients: a patient that came under an erased owner and was
// not taken back (a crash between the write and its second check) is covered by a retry
// of the erasure, which still answers its stored answer.
func TestErasureRetryCoversLatePatients(t *testing.T) {
	for _, tt := range []struct {
		name          string
		nameKeptUntil string
		anonymised    bool
	}{
		{name: "names kept", nameKeptUntil: "2060-12-31"},
		{name: "names anonymised", anonymised: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owner := createOwners(t, ctx, plain, "Laine")["Laine"]
			in := EraseOwnerData{OwnerID: owner, RequestID: jobOne, NameKeptUntil: tt.nameKeptUntil}
			first, err := plain.EraseOwnerData(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if err := writeLatePatient(ctx, repo, plain, owner); err != nil {
				t.Fatal(err)
			}
			again, err := plain.EraseOwnerData(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != len(first) {
				t.Errorf("the retry answered %+v, want the stored answer %+v", again, first)
			}
			wantNoActivePatient(t, repo, owner, tt.anonymised)
			changes, err := repo.PatientChanges(t.Context(), "patient-late")
			if err != nil {
				t.Fatal(err)
			}
			if last := changes[len(changes)-1]; last.Reason != changereason.Erasure(jobOne) {
				t.Errorf("the patient's last change has reason %q, want the erasure request's", last.Reason)
			}
		})
	}
}

// TestErasureCoversAPatientWrittenAfterItsListing: a patient written under the owner
// after the erasure listed the owner's patients (here straight into the store, as a
// registration whose taking back failed leaves it) is covered by that same erasure.
func TestErasureCoversAPatientWrittenAfterItsListing(t *testing.T) {
	repo, plain, _, ctx := raceSetup(t)
	owner := createOwners(t, ctx, plain, "Laine")["Laine"]
	eraser, err := New(&beforeErasureApplied{Repository: repo, meanwhile: func() {
		if err := writeLatePatient(ctx, repo, plain, owner); err != nil {
			t.Error(err)
		}
	}}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eraser.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobOne, NameKeptUntil: "2060-12-31"}); err != nil {
		t.Fatal(err)
	}
	wantNoActivePatient(t, repo, owner, false)
}

// TestRetentionSweepCoversLatePatients: a patient left active under an erased owner (a
// registration whose process died before its second check), with no erasure retry to
// come, is covered by the next retention sweep, which answers the patients it
// anonymised. Owners not erased, and erased owners with nothing late, stay as they are.
func TestRetentionSweepCoversLatePatients(t *testing.T) {
	for _, tt := range []struct {
		name          string
		nameKeptUntil string
		anonymised    bool
		removed       []domain.Disposition
	}{
		{name: "names kept", nameKeptUntil: "2060-12-31"},
		{name: "names anonymised", anonymised: true, removed: []domain.Disposition{{Class: domain.ClassPatients, Count: 1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			owners := createOwners(t, ctx, plain, "late", "clean", "active")
			for _, family := range []string{"late", "clean"} {
				if _, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owners[family], RequestID: uuid.NewString(), NameKeptUntil: tt.nameKeptUntil}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owners["active"], Patient: domain.Patient{Name: "Musti", Species: domain.SpeciesCat}}); err != nil {
				t.Fatal(err)
			}
			if err := writeLatePatient(ctx, repo, plain, owners["late"]); err != nil {
				t.Fatal(err)
			}
			before := map[string]int64{}
			for family, id := range owners {
				o, err := repo.GetOwner(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				before[family] = o.Version
			}

			removed, err := plain.RunRetentionSweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(removed, tt.removed) {
				t.Errorf("the sweep answered %+v, want %+v", removed, tt.removed)
			}
			wantNoActivePatient(t, repo, owners["late"], tt.anonymised)
			changes, err := repo.PatientChanges(t.Context(), "patient-late")
			if err != nil {
				t.Fatal(err)
			}
			if last := changes[len(changes)-1]; last.Reason != changereason.LateErasure {
				t.Errorf("the patient's last change has reason %q, want %q", last.Reason, changereason.LateErasure)
			}
			active, err := repo.OwnerPatients(t.Context(), owners["active"])
			if err != nil || len(active) != 1 || active[0].Erased || active[0].Version != 1 {
				t.Errorf("the patient of an owner not erased after the sweep: %+v (%v), want it untouched", active, err)
			}
			for family, id := range owners {
				if o, err := repo.GetOwner(t.Context(), id); err != nil || o.Version != before[family] {
					t.Errorf("owner %s after the sweep: %+v (%v), want version %d", family, o, err, before[family])
				}
			}
		})
	}
}

// failingLateCover fails every covering of late patients (an erasure plan applied with
// no request id), as a store error would.
type failingLateCover struct {
	domain.Repository
}

func (r *failingLateCover) ApplyErasure(ctx context.Context, o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string) (*domain.Owner, []domain.Disposition, error) {
	if requestID == "" {
		return nil, nil, errors.New("connection reset by peer")
	}
	return r.Repository.ApplyErasure(ctx, o, plan, c, requestID)
}

// TestTakeBackLogsAPatientLeftActive: when a taking back leaves a patient under an
// erased owner and covering it fails, or leaves a registration rectified meanwhile under
// an owner it cannot read (which may be erased by then), or a transfer rectified
// meanwhile to an owner it can read neither to check nor to cover, when the patient
// cannot be read again, the caller is told only of its
// own call, so the operator is told, in the log, which patient under which owner the
// next sweep must cover; the log names them by id only. A registration left so is
// answered FAILED_PRECONDITION REGISTRATION_NOT_TAKEN_BACK naming the patient, never
// ABORTED by the conflict that kept it.
func TestTakeBackLogsAPatientLeftActive(t *testing.T) {
	for _, tt := range []struct {
		name string
		// run makes the taking back and answers the erased owner's and the patient's ids.
		run func(t *testing.T, ctx context.Context, repo domain.Repository, plain *Service, logger *slog.Logger) (string, string)
	}{
		{name: "transfer taken back to an erased previous owner", run: func(t *testing.T, ctx context.Context, repo domain.Repository, plain *Service, logger *slog.Logger) (string, string) {
			owners := createOwners(t, ctx, plain, "from", "to")
			p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owners["from"], Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
			if err != nil {
				t.Fatal(err)
			}
			racing, err := New(&failingLateCover{&afterPatientWrite{Repository: repo, meanwhile: func(ctx context.Context, _ *domain.Patient) error {
				if _, err := plain.SetOwnerRestriction(ctx, owners["to"], true, "objection pending", ""); err != nil {
					return err
				}
				_, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owners["from"], RequestID: uuid.NewString(), NameKeptUntil: "2060-12-31"})
				return err
			}}}, nopAuditor{}, Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			_, err = racing.TransferPatient(ctx, p.ID, owners["to"], p.Version, "sold")
			wantOwnerRestricted(t, "the transfer to the restricted owner", err)
			return owners["from"], p.ID
		}},
		{name: "registration not taken back under an erased owner", run: func(t *testing.T, ctx context.Context, repo domain.Repository, plain *Service, logger *slog.Logger) (string, string) {
			owner := createOwners(t, ctx, plain, "Laine")["Laine"]
			racing, err := New(&failingLateCover{&failingTakeBack{Repository: repo, deleteErr: errors.New("connection reset by peer"),
				erase: func(ctx context.Context, ownerID string) error {
					_, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: ownerID, RequestID: jobOne, NameKeptUntil: "2060-12-31"})
					return err
				}}}, nopAuditor{}, Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := racing.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, RequestID: "reg-1", Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}}); err == nil {
				t.Fatal("a registration neither taken back nor covered answered no error")
			}
			under, err := repo.OwnerPatients(t.Context(), owner)
			if err != nil || len(under) != 1 {
				t.Fatalf("patients under the erased owner: %+v (%v)", under, err)
			}
			return owner, under[0].ID
		}},
		{name: "registration rectified meanwhile under an erased owner", run: func(t *testing.T, ctx context.Context, repo domain.Repository, plain *Service, logger *slog.Logger) (string, string) {
			owner := createOwners(t, ctx, plain, "Laine")["Laine"]
			racing, err := New(&failingLateCover{&failingTakeBack{Repository: repo,
				erase: func(ctx context.Context, ownerID string) error {
					_, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: ownerID, RequestID: jobOne, NameKeptUntil: "2060-12-31"})
					return err
				},
				rectify: func(ctx context.Context, p *domain.Patient) error {
					_, err := repo.UpdatePatient(ctx, &domain.Patient{ID: p.ID, OwnerID: p.OwnerID, Name: p.Name, Species: p.Species, Sex: p.Sex, Colour: "black"},
						p.Version, plain.change(ctx, []string{"colour"}, "seen at the desk"))
					return err
				}}}, nopAuditor{}, Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			_, err = racing.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, RequestID: "reg-1", Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
			return owner, wantNotTakenBack(t, repo, owner, err, "the owner's data is restricted while an erasure or objection is pending: the patient ")
		}},
		{name: "transfer rectified meanwhile, new owner and patient unreadable", run: func(t *testing.T, ctx context.Context, repo domain.Repository, plain *Service, logger *slog.Logger) (string, string) {
			owners := createOwners(t, ctx, plain, "from", "to")
			p, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owners["from"], Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
			if err != nil {
				t.Fatal(err)
			}
			racing, err := New(&afterPatientWrite{Repository: repo, ownerReadErr: errors.New("connection reset by peer"), patientReadErr: errors.New("connection reset by peer"),
				meanwhile: func(ctx context.Context, moved *domain.Patient) error {
					_, err := plain.UpdatePatient(ctx, UpdatePatient{ID: moved.ID, Patient: domain.Patient{Colour: "black"}, Paths: []string{"colour"},
						Version: moved.Version, Reason: "seen at the desk"})
					return err
				}}, nopAuditor{}, Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			_, err = racing.TransferPatient(ctx, p.ID, owners["to"], p.Version, "sold")
			var pe *apperr.PreconditionError
			if !errors.As(err, &pe) || pe.Reason != "TRANSFER_NOT_TAKEN_BACK" || !strings.Contains(pe.Description, p.ID) ||
				!strings.HasSuffix(pe.Description, "(the new owner could not be checked after the write)") {
				t.Errorf("%v, want TRANSFER_NOT_TAKEN_BACK naming patient %s and why it was to be taken back", err, p.ID)
			}
			return owners["to"], p.ID
		}},
		{name: "registration rectified meanwhile, owner unreadable", run: func(t *testing.T, ctx context.Context, repo domain.Repository, plain *Service, logger *slog.Logger) (string, string) {
			owner := createOwners(t, ctx, plain, "Laine")["Laine"]
			racing, err := New(&afterPatientWrite{Repository: repo, ownerReadErr: errors.New("connection reset by peer"),
				meanwhile: func(ctx context.Context, p *domain.Patient) error {
					_, err := plain.UpdatePatient(ctx, UpdatePatient{ID: p.ID, Patient: domain.Patient{Colour: "black"}, Paths: []string{"colour"},
						Version: p.Version, Reason: "seen at the desk"})
					return err
				}}, nopAuditor{}, Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			_, err = racing.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, Patient: domain.Patient{Name: "Rekku", Species: domain.SpeciesDog}})
			return owner, wantNotTakenBack(t, repo, owner, err, "so it stays registered (the owner could not be read again)")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, plain, _, ctx := raceSetup(t)
			var out bytes.Buffer
			ownerID, patientID := tt.run(t, ctx, repo, plain, slog.New(slog.NewJSONHandler(&out, nil)))
			wantActivePatientLeft(t, repo, ownerID)
			var logged []map[string]any
			for line := range bytes.Lines(out.Bytes()) {
				var rec map[string]any
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec["level"] == "ERROR" && rec["owner_id"] == ownerID && rec["patient_id"] == patientID {
					logged = append(logged, rec)
				}
			}
			if len(logged) != 1 {
				t.Errorf("log %s: want one error naming owner %s and patient %s", out.String(), ownerID, patientID)
			}
			// The phone as typed and as stored; "040" alone is in timestamps and ids.
			for _, personal := range []string{"Rekku", "Aino", "123 4567", "401234567"} {
				if strings.Contains(out.String(), personal) {
					t.Errorf("the log carries %q: %s", personal, out.String())
				}
			}
		})
	}
}

// wantActivePatientLeft fails unless a patient under the owner is still active (neither
// kept restricted nor anonymised): what the log must tell the operator of.
func wantActivePatientLeft(t *testing.T, repo domain.Repository, ownerID string) {
	t.Helper()
	under, err := repo.OwnerPatients(t.Context(), ownerID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(under, func(p *domain.Patient) bool { return !p.Erased && !p.Anonymised }) {
		t.Fatalf("no active patient under the erased owner: %+v; the covering was meant to fail", under)
	}
}

// wantNotTakenBack fails unless err is FAILED_PRECONDITION REGISTRATION_NOT_TAKEN_BACK
// naming the one patient under the owner and saying says, and answers that patient's id.
func wantNotTakenBack(t *testing.T, repo domain.Repository, ownerID string, err error, says string) string {
	t.Helper()
	under, lerr := repo.OwnerPatients(t.Context(), ownerID)
	if lerr != nil || len(under) != 1 {
		t.Fatalf("patients under the owner: %+v (%v), want the registered one", under, lerr)
	}
	var pe *apperr.PreconditionError
	if !errors.As(err, &pe) || pe.Reason != "REGISTRATION_NOT_TAKEN_BACK" || !strings.Contains(pe.Description, under[0].ID) || !strings.Contains(pe.Description, says) {
		t.Errorf("%v, want REGISTRATION_NOT_TAKEN_BACK naming patient %s, saying %q", err, under[0].ID, says)
	}
	if code := status.Code(apperr.ToStatus(t.Context(), nil, err)); code != codes.FailedPrecondition {
		t.Errorf("%v answered %v, want FAILED_PRECONDITION", err, code)
	}
	return under[0].ID
}

// eraseDuringLateCover runs a second erasure request of the owner (erase) between the
// retention sweep's read of an owner with a late patient and its covering of it.
type eraseDuringLateCover struct {
	domain.Repository
	erase func(ctx context.Context, ownerID string) error
}

func (r *eraseDuringLateCover) ApplyErasure(ctx context.Context, o *domain.Owner, plan domain.ErasurePlan, c domain.Change, requestID string) (*domain.Owner, []domain.Disposition, error) {
	if erase := r.erase; requestID == "" && erase != nil {
		r.erase = nil
		if err := erase(ctx, o.ID); err != nil {
			return nil, nil, err
		}
	}
	return r.Repository.ApplyErasure(ctx, o, plan, c, requestID)
}

// TestLatePatientsPassKeepsAShorterKeptUntil: a second erasure request shortens the
// day the owner's names are kept until while the sweep's late patients pass covers a
// patient under the owner from the owner it read before. The names are anonymised by
// the sweep after the shorter day, not kept until the first request's.
func TestLatePatientsPassKeepsAShorterKeptUntil(t *testing.T) {
	repo, plain, _, ctx := raceSetup(t)
	owner := createOwners(t, ctx, plain, "Laine")["Laine"]
	if _, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobOne, NameKeptUntil: "2060-12-31"}); err != nil {
		t.Fatal(err)
	}
	if err := writeLatePatient(ctx, repo, plain, owner); err != nil {
		t.Fatal(err)
	}
	sweeper, err := New(&eraseDuringLateCover{Repository: repo, erase: func(ctx context.Context, id string) error {
		_, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: id, RequestID: jobTwo, NameKeptUntil: "2030-06-30"})
		return err
	}}, nopAuditor{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sweeper.RunRetentionSweep(ctx); err != nil {
		t.Fatal(err)
	}
	later, err := New(repo, nopAuditor{}, Options{Now: func() time.Time { return time.Date(2030, 7, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := later.RunRetentionSweep(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := repo.GetOwner(t.Context(), owner)
	if err != nil || !o.Anonymised || o.FamilyName != "" {
		t.Fatalf("the owner after the sweep past the kept day 2030-06-30: %+v (%v), want it anonymised", o, err)
	}
	wantNoActivePatient(t, repo, owner, true)
}

// TestRegistrationRetriedUnderARestrictedOwner: a registration retried with its request
// id after the owner was restricted (its first answer lost) finds the patient the first
// call registered: it is told the patient stays registered (REGISTRATION_NOT_TAKEN_BACK
// after the refusal, naming the patient, audited as a refusal), or that it was
// transferred to another owner since, never OWNER_RESTRICTED alone, which says nothing
// was registered and would have the desk register the animal again later, nor
// REQUEST_ID_REUSED for its own transferred patient; the request id sent with another
// animal, also one of the same name and species, is refused as reused, and once the
// owner's erasure has covered the patient so is every call under it. A new request id
// is refused OWNER_RESTRICTED, and nothing is registered.
func TestRegistrationRetriedUnderARestrictedOwner(t *testing.T) {
	repo, plain, _, ctx := raceSetup(t)
	owners := createOwners(t, ctx, plain, "Laine", "Salo")
	owner := owners["Laine"]
	aud := &audittest.Recorder{}
	audited, err := New(repo, aud, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rekku := domain.Patient{Name: "Rekku", Species: domain.SpeciesDog, Microchip: "246098100012345"}
	first, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, RequestID: "reg-1", Patient: rekku})
	if err != nil {
		t.Fatal(err)
	}
	sold, err := plain.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, RequestID: "reg-sold", Patient: domain.Patient{Name: "Musti", Species: domain.SpeciesCat}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.TransferPatient(ctx, sold.ID, owners["Salo"], sold.Version, "sold"); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.SetOwnerRestriction(ctx, owner, true, "objection pending", ""); err != nil {
		t.Fatal(err)
	}
	register := func(requestID string, p domain.Patient) error {
		_, err := audited.RegisterPatient(ctx, RegisterPatient{OwnerID: owner, RequestID: requestID, Patient: p})
		return err
	}
	reason := func(err error) string {
		var pe *apperr.PreconditionError
		if !errors.As(err, &pe) {
			return ""
		}
		return pe.Reason
	}
	for _, tc := range []struct {
		name, requestID string
		patient         domain.Patient
		id, says        string
	}{
		{name: "the retry", requestID: "reg-1", patient: rekku, id: first.ID, says: "and stays registered"},
		{name: "the retry of a patient transferred since", requestID: "reg-sold", patient: domain.Patient{Name: "Musti", Species: domain.SpeciesCat},
			id: sold.ID, says: "then transferred to another owner, who keeps it"},
	} {
		err := register(tc.requestID, tc.patient)
		var pe *apperr.PreconditionError
		if !errors.As(err, &pe) || pe.Reason != "REGISTRATION_NOT_TAKEN_BACK" || !strings.HasPrefix(pe.Description, "the owner's data is restricted") ||
			!strings.Contains(pe.Description, tc.id) || !strings.HasSuffix(pe.Description, tc.says) {
			t.Errorf("%s: %v, want REGISTRATION_NOT_TAKEN_BACK after the refusal, naming patient %s, saying %q", tc.name, err, tc.id, tc.says)
		}
	}
	var refusals []string
	for _, e := range aud.Events() {
		if e.Action == "patient.create" && e.Outcome == audit.OutcomeDenied && e.Reason == "REGISTRATION_NOT_TAKEN_BACK" {
			refusals = append(refusals, e.SubjectOwnerID)
		}
	}
	if got, want := refusals, []string{owner, owners["Salo"]}; !slices.Equal(got, want) || len(aud.Subjects("patient.create")) != 2 {
		t.Errorf("patient.create refused REGISTRATION_NOT_TAKEN_BACK for %v (of %d events), want the two retries' for %v", got, len(aud.Subjects("patient.create")), want)
	}
	namesake := rekku
	namesake.Microchip = "246098100054321"
	for name, p := range map[string]domain.Patient{"another animal": {Name: "Musti", Species: domain.SpeciesCat}, "a namesake": namesake} {
		if err := register("reg-1", p); reason(err) != "REQUEST_ID_REUSED" {
			t.Errorf("the request id with %s: %v, want REQUEST_ID_REUSED", name, err)
		}
	}
	if err := register("reg-2", rekku); reason(err) != "OWNER_RESTRICTED" {
		t.Errorf("a new request id: %v, want OWNER_RESTRICTED", err)
	}
	if _, err := plain.EraseOwnerData(ctx, EraseOwnerData{OwnerID: owner, RequestID: jobOne, NameKeptUntil: "2060-12-31"}); err != nil {
		t.Fatal(err)
	}
	if err := register("reg-1", rekku); reason(err) != "REQUEST_ID_REUSED" {
		t.Errorf("the retry once the erasure covered the patient: %v, want REQUEST_ID_REUSED", err)
	}
	if under, err := repo.OwnerPatients(t.Context(), owner); err != nil || len(under) != 1 || under[0].ID != first.ID {
		t.Errorf("patients under the owner: %+v (%v), want the first registration alone", under, err)
	}
}
