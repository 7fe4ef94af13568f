// Package helper declares a function taking an action, as audit.Refusal does, for the
// packages beside it that call it from another package
// (TestWrittenActionsFollowsOtherPackages).
package helper

import "github.com/lillvet/register/services/platform/audit"

// Success is the event of an action done.
func Success(action, resource string) audit.Event {
	return audit.Event{Action: action, Resource: resource, Outcome: audit.OutcomeSuccess}
}
