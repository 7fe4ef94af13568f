package domain

import (
	"testing"
	"time"

	// The clinic's zone must load on any machine the tests run on.
	_ "time/tzdata"

	"github.com/lillvet/register/services/platform/retention"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// day is a calendar day; noon is an instant on that day in Finland, summer or winter.
func day(y int, m time.Month, d int) retention.Date { return retention.Date{Year: y, Month: m, Day: d} }

func noon(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

// helsinki is the clinic's time zone.
func helsinki(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
