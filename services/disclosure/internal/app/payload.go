package app

import (
	"encoding/json"
	"fmt"

	"github.com/lillvet/register/services/disclosure/internal/domain"
)

// Payload is the package a recipient gets, marshalled to JSON once: those bytes are
// stored, hashed and sent, so the recipient verifies the log's SHA-256 over exactly
// what it received. Only the requested categories' fields are set; the rest are left
// out of the JSON.
type Payload struct {
	DisclosureID  string           `json:"disclosureId"`
	RecipientID   string           `json:"recipientId"`
	OwnerID       string           `json:"ownerId"`
	CaseReference string           `json:"caseReference"`
	DisclosedAt   string           `json:"disclosedAt"`
	Categories    []string         `json:"categories"`
	Owner         *PayloadOwner    `json:"owner,omitempty"`
	Patients      []PayloadPatient `json:"patients,omitempty"`
	// Visits hold the visit_history, medications and invoices parts of each visit.
	Visits         []Visit         `json:"visits,omitempty"`
	Communications []Communication `json:"communications,omitempty"`
}

// PayloadOwner is the owner's part: name (owner_name), phone and e-mail
// (owner_contact), postal address (owner_address).
type PayloadOwner struct {
	GivenNames string   `json:"givenNames,omitempty"`
	FamilyName string   `json:"familyName,omitempty"`
	Phone      string   `json:"phone,omitempty"`
	Email      string   `json:"email,omitempty"`
	Address    *Address `json:"address,omitempty"`
}

// PayloadPatient is one animal: its basics (patient_basics) and microchip (microchip).
type PayloadPatient struct {
	ID             string `json:"id"`
	CustomerNumber string `json:"customerNumber,omitempty"`
	Name           string `json:"name,omitempty"`
	Species        string `json:"species,omitempty"`
	Breed          string `json:"breed,omitempty"`
	Sex            string `json:"sex,omitempty"`
	BirthDate      string `json:"birthDate,omitempty"`
	Microchip      string `json:"microchip,omitempty"`
}

// Marshal returns the payload's bytes.
func (p Payload) Marshal() ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("marshal the disclosure package: %w", err)
	}
	return b, nil
}

func ownerPayload(o OwnerData, has func(...domain.Category) bool) *PayloadOwner {
	out := &PayloadOwner{}
	if has(domain.CategoryOwnerName) {
		out.GivenNames, out.FamilyName = o.GivenNames, o.FamilyName
	}
	if has(domain.CategoryOwnerContact) {
		out.Phone, out.Email = o.Phone, o.Email
	}
	if has(domain.CategoryOwnerAddress) {
		a := o.Address
		out.Address = &a
	}
	return out
}

func patientsPayload(ps []PatientData, has func(...domain.Category) bool) []PayloadPatient {
	out := make([]PayloadPatient, len(ps))
	for i, p := range ps {
		out[i].ID = p.ID
		if has(domain.CategoryPatientBasics) {
			out[i].CustomerNumber, out[i].Name, out[i].Species = p.CustomerNumber, p.Name, p.Species
			out[i].Breed, out[i].Sex, out[i].BirthDate = p.Breed, p.Sex, p.BirthDate
		}
		if has(domain.CategoryMicrochip) {
			out[i].Microchip = p.Microchip
		}
	}
	return out
}
