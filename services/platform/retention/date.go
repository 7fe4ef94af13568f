package retention

import (
	"cmp"
	"fmt"
	"time"
	_ "time/tzdata" // built in, so that days do not depend on the host's zone files
)

// ClinicZone is the clinics' time zone: deadlines and retention periods in days,
// months and years are counted on the Finnish calendar.
const ClinicZone = "Europe/Helsinki"

// ClinicLocation loads ClinicZone.
func ClinicLocation() (*time.Location, error) {
	loc, err := time.LoadLocation(ClinicZone)
	if err != nil {
		return nil, fmt.Errorf("load the clinics' time zone: %w", err)
	}
	return loc, nil
}

// Date is a calendar day, the unit of legal deadlines and retention periods.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar day of t in loc (the clinic's time zone, Europe/Helsinki),
// since a request received at 01:30 Finnish time on 1 February is received in February.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate reads a day written as String writes it (2026-02-28); "" is the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return DateOf(t, time.UTC), nil
}

// IsZero reports whether d is the zero Date, which means "no date".
func (d Date) IsZero() bool { return d == Date{} }

// AddMonths returns the same day n calendar months later (n may be negative), or the
// last day of that month when it is shorter: 31 January + 1 month is 28 February, or 29
// in a leap year. This is how a period in months ends under Regulation 1182/71 Art. 3,
// which the GDPR's one-month deadline follows.
func (d Date) AddMonths(n int) Date {
	first := time.Date(d.Year, d.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return Date{Year: first.Year(), Month: first.Month(), Day: min(d.Day, last)}
}

// AddYears is AddMonths(12n): 29 February + 1 year is 28 February.
func (d Date) AddYears(n int) Date { return d.AddMonths(12 * n) }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	return cmp.Or(cmp.Compare(d.Year, e.Year), cmp.Compare(d.Month, e.Month), cmp.Compare(d.Day, e.Day))
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Later returns the later of d and e; the zero Date is earlier than any day.
func (d Date) Later(e Date) Date {
	if e.After(d) {
		return e
	}
	return d
}

// String formats d as ISO 8601 (2026-02-28).
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }
