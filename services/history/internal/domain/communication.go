package domain

import "time"

// Channel is how a communication took place.
type Channel string

// The channels.
const (
	ChannelPhone    Channel = "phone"
	ChannelEmail    Channel = "email"
	ChannelSMS      Channel = "sms"
	ChannelLetter   Channel = "letter"
	ChannelInPerson Channel = "in_person"
	ChannelPortal   Channel = "portal"
)

// Direction says who started a communication.
type Direction string

// The directions.
const (
	DirectionInbound  Direction = "inbound"
	DirectionOutbound Direction = "outbound"
)

// Communication is one contact between the clinic and an owner, optionally about one
// of their patients or visits.
type Communication struct {
	ID        string
	OwnerID   string
	PatientID string
	VisitID   string
	Channel   Channel
	Direction Direction
	Time      time.Time
	Subject   string
	Summary   string
	// Staff is who recorded it.
	Staff   Staff
	Created time.Time
}

// SameCommunication reports whether a and b record the same communication: the fields
// its recorder gives, compared as stored. Ids, the owner, who recorded it and when are
// the service's.
func SameCommunication(a, b *Communication) bool {
	return a.PatientID == b.PatientID && a.VisitID == b.VisitID && a.Channel == b.Channel &&
		a.Direction == b.Direction && a.Time.Equal(b.Time) && a.Subject == b.Subject && a.Summary == b.Summary
}

// TimelineEntry is one entry of an owner's timeline: a visit or a communication.
type TimelineEntry struct {
	Visit         *Visit
	Communication *Communication
}
