// Package owner reads what a disclosure needs from the owner service, through its gRPC
// API. The caller's identity and stated purpose travel with each call (the platform's
// client forwards them), so the owner service authorises and audits the staff member
// who asked for the disclosure.
package owner

import (
	"context"
	"fmt"

	ownerv1 "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
	"github.com/lillvet/register/services/disclosure/internal/app"
	"github.com/lillvet/register/services/platform/protomap"
)

// pageSize is the owner service's largest page of patients.
const pageSize = 200

// maxPatientPages bounds the pages read for one owner: 20,000 animals is far past any
// real owner, and the bound keeps a misbehaving peer from looping us.
const maxPatientPages = 100

// Client implements app.Owners on the owner service.
type Client struct {
	owners ownerv1.OwnerServiceClient
}

var _ app.Owners = (*Client)(nil)

// New returns a client on the owner service's connection.
func New(c ownerv1.OwnerServiceClient) *Client { return &Client{owners: c} }

// Status implements app.Owners with BatchGetOwnerStatus, which says nothing but
// existence and restriction.
func (c *Client) Status(ctx context.Context, ownerID string) (app.OwnerStatus, error) {
	res, err := c.owners.BatchGetOwnerStatus(ctx, &ownerv1.BatchGetOwnerStatusRequest{OwnerIds: []string{ownerID}})
	if err != nil {
		return app.OwnerStatus{}, fmt.Errorf("ask the owner service about owner %s: %w", ownerID, err)
	}
	for _, s := range res.GetStatuses() {
		if s.GetOwnerId() == ownerID {
			return app.OwnerStatus{Exists: s.GetExists(), Restricted: s.GetRestricted()}, nil
		}
	}
	return app.OwnerStatus{}, nil
}

// Owner implements app.Owners. The owner service's answer holds the identity code only
// masked, and it is not copied.
func (c *Client) Owner(ctx context.Context, ownerID string) (app.OwnerData, error) {
	res, err := c.owners.GetOwner(ctx, &ownerv1.GetOwnerRequest{OwnerId: ownerID})
	if err != nil {
		return app.OwnerData{}, fmt.Errorf("read owner %s: %w", ownerID, err)
	}
	o := res.GetOwner()
	a := o.GetAddress()
	return app.OwnerData{
		GivenNames: o.GetGivenNames(), FamilyName: o.GetFamilyName(), Phone: o.GetPhone(), Email: o.GetEmail(),
		Address: app.Address{Street: a.GetStreet(), PostalCode: a.GetPostalCode(), City: a.GetCity(), Country: a.GetCountry()},
	}, nil
}

// Patients implements app.Owners, reading every page.
func (c *Client) Patients(ctx context.Context, ownerID string) ([]app.PatientData, error) {
	var out []app.PatientData
	token := ""
	for range maxPatientPages {
		res, err := c.owners.ListOwnerPatients(ctx, &ownerv1.ListOwnerPatientsRequest{OwnerId: ownerID, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list the patients of owner %s: %w", ownerID, err)
		}
		for _, p := range res.GetPatients() {
			out = append(out, app.PatientData{
				ID: p.GetId(), CustomerNumber: p.GetCustomerNumber(), Name: p.GetName(),
				Species: protomap.EnumName(p.GetSpecies().String(), "SPECIES_"), Breed: p.GetBreed(),
				Sex: protomap.EnumName(p.GetSex().String(), "SEX_"), BirthDate: p.GetBirthDate(), Microchip: p.GetMicrochip(),
			})
		}
		if token = res.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list the patients of owner %s: more than %d pages", ownerID, maxPatientPages)
}

// Export implements app.Owners with ExportOwner: the owner with the identity code in
// full, the patients and their change histories, and the changes of the owner's time
// with the animals they transferred away, for the owner's own copy.
func (c *Client) Export(ctx context.Context, ownerID string) (app.OwnerExport, error) {
	res, err := c.owners.ExportOwner(ctx, &ownerv1.ExportOwnerRequest{OwnerId: ownerID})
	if err != nil {
		return app.OwnerExport{}, fmt.Errorf("export owner %s: %w", ownerID, err)
	}
	o, a := res.GetOwner(), res.GetOwner().GetAddress()
	out := app.OwnerExport{Owner: app.OwnerRecord{
		ID: o.GetId(), GivenNames: o.GetGivenNames(), FamilyName: o.GetFamilyName(),
		Address: app.Address{Street: a.GetStreet(), PostalCode: a.GetPostalCode(), City: a.GetCity(), Country: a.GetCountry()},
		Phone:   o.GetPhone(), Email: o.GetEmail(),
		PreferredLanguage: protomap.EnumName(o.GetPreferredLanguage().String(), "LANGUAGE_"),
		HomeClinic:        protomap.EnumName(o.GetHomeClinic().String(), "CLINIC_"),
		IdentityCode:      res.GetIdentityCode(), Restricted: o.GetRestricted(),
		CreateTime: protomap.Time(o.GetCreateTime()), UpdateTime: protomap.Time(o.GetUpdateTime()),
		Changes: protomap.All(res.GetOwnerChanges(), change),
	}}
	changes := map[string][]app.Change{}
	for _, pc := range res.GetPatientChanges() {
		changes[pc.GetPatientId()] = protomap.All(pc.GetChanges(), change)
	}
	for _, p := range res.GetPatients() {
		out.Patients = append(out.Patients, app.PatientRecord{
			ID: p.GetId(), CustomerNumber: p.GetCustomerNumber(), Name: p.GetName(),
			Species: protomap.EnumName(p.GetSpecies().String(), "SPECIES_"), Breed: p.GetBreed(),
			Sex: protomap.EnumName(p.GetSex().String(), "SEX_"), Neutered: p.GetNeutered(), BirthDate: p.GetBirthDate(),
			Colour: p.GetColour(), Microchip: p.GetMicrochip(), KennelClubRegistration: p.GetKennelClubRegistration(),
			Insurance: app.Insurance{Insurer: p.GetInsurance().GetInsurer(), PolicyNumber: p.GetInsurance().GetPolicyNumber()},
			Deceased:  p.GetDeceased(), DeathDate: p.GetDeathDate(), CreateTime: protomap.Time(p.GetCreateTime()),
			Changes: changes[p.GetId()],
		})
	}
	for _, p := range res.GetFormerPatients() {
		out.FormerPatients = append(out.FormerPatients, app.FormerPatientRecord{
			ID: p.GetPatientId(), CustomerNumber: p.GetCustomerNumber(), Changes: protomap.All(p.GetChanges(), change),
		})
	}
	return out, nil
}

func change(c *ownerv1.Change) app.Change {
	return app.Change{
		Version: c.GetVersion(), Time: protomap.Time(c.GetTime()), ActorSubject: c.GetActorSubject(), ActorName: c.GetActorName(),
		ActorRoles: c.GetActorRoles(), ActorSystem: c.GetActorSystem(), Fields: c.GetFields(), Reason: c.GetReason(),
		Values: protomap.All(c.GetValues(), func(v *ownerv1.ValueChange) app.ValueChange {
			return app.ValueChange{Field: v.GetField(), OldValue: v.GetOldValue(), NewValue: v.GetNewValue()}
		}),
	}
}
