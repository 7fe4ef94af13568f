package retention

import (
	"testing"
	"time"
)

// day is a calendar day; noon is an instant on that day in Finland, summer or winter.
func day(y int, m time.Month, d int) Date { return Date{Year: y, Month: m, Day: d} }

func noon(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

// helsinki is the clinic's time zone.
func helsinki(t testing.TB) *time.Location {
	t.Helper()
	loc, err := ClinicLocation()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDateAddMonths(t *testing.T) {
	for _, tc := range []struct {
		from Date
		n    int
		want Date
	}{
		{day(2026, 1, 15), 1, day(2026, 2, 15)},
		{day(2026, 1, 31), 1, day(2026, 2, 28)},
		{day(2028, 1, 31), 1, day(2028, 2, 29)}, // leap year
		{day(2100, 1, 31), 1, day(2100, 2, 28)}, // not a leap year
		{day(2000, 1, 31), 1, day(2000, 2, 29)}, // a leap year
		{day(2026, 3, 31), 1, day(2026, 4, 30)},
		{day(2026, 8, 31), 1, day(2026, 9, 30)},
		{day(2026, 12, 31), 1, day(2027, 1, 31)},
		{day(2026, 11, 30), 3, day(2027, 2, 28)},
		{day(2026, 1, 31), 3, day(2026, 4, 30)},
		{day(2028, 2, 29), 12, day(2029, 2, 28)},
		{day(2026, 3, 31), -1, day(2026, 2, 28)},
		{day(2027, 1, 15), -12, day(2026, 1, 15)},
		{day(2026, 5, 5), 0, day(2026, 5, 5)},
	} {
		if got := tc.from.AddMonths(tc.n); got != tc.want {
			t.Errorf("%s + %d months = %s, want %s", tc.from, tc.n, got, tc.want)
		}
	}
	if got := day(2028, 2, 29).AddYears(3); got != day(2031, 2, 28) {
		t.Errorf("29 Feb 2028 + 3 years = %s", got)
	}
}

func TestDateOf(t *testing.T) {
	loc := helsinki(t)
	for _, tc := range []struct {
		at   time.Time
		want Date
	}{
		{time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), day(2026, 2, 1)}, // 01:30 in Helsinki
		{time.Date(2026, 1, 31, 21, 59, 0, 0, time.UTC), day(2026, 1, 31)},
		{time.Date(2026, 7, 31, 20, 59, 0, 0, time.UTC), day(2026, 7, 31)}, // summer time, UTC+3
		{time.Date(2026, 7, 31, 21, 0, 0, 0, time.UTC), day(2026, 8, 1)},
	} {
		if got := DateOf(tc.at, loc); got != tc.want {
			t.Errorf("DateOf(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
	if d := (Date{}); !d.IsZero() || day(2026, 1, 1).IsZero() {
		t.Error("IsZero")
	}
	if !day(2026, 1, 31).Before(day(2026, 2, 1)) || !day(2027, 1, 1).After(day(2026, 12, 31)) || day(2026, 1, 1).Compare(day(2026, 1, 1)) != 0 {
		t.Error("Compare")
	}
	if day(2026, 1, 1).Later(day(2025, 12, 31)) != day(2026, 1, 1) || (Date{}).Later(day(2025, 1, 1)) != day(2025, 1, 1) {
		t.Error("Later")
	}
}

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Date
		ok   bool
	}{
		{"", Date{}, true},
		{"2026-02-28", day(2026, 2, 28), true},
		{"2028-02-29", day(2028, 2, 29), true},
		{"2026-02-29", Date{}, false},
		{"2026-2-28", Date{}, false},
		{"2026-02-28T00:00:00Z", Date{}, false},
		{" 2026-02-28", Date{}, false},
	} {
		got, err := ParseDate(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseDate(%q) = %s, %v", tc.in, got, err)
		}
	}
}

// FuzzParseDate checks that what ParseDate accepts prints back to itself.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"", "2026-02-28", "0000-01-01", "2026-13-01", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if s == "" && !d.IsZero() || s != "" && d.String() != s {
			t.Fatalf("ParseDate(%q) = %s", s, d)
		}
	})
}
