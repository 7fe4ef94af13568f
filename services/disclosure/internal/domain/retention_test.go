package domain

import (
	"testing"
	"time"
)

func TestRetentionCutoff(t *testing.T) {
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		now   time.Time
		years int
		want  time.Time
	}{
		// 23:30 UTC is already the next day in Helsinki.
		{"Finnish day", time.Date(2031, 6, 1, 23, 30, 0, 0, time.UTC), 5, time.Date(2026, 6, 2, 0, 0, 0, 0, helsinki)},
		{"29 February counts back to 28 February", time.Date(2032, 2, 29, 12, 0, 0, 0, time.UTC), 3, time.Date(2029, 2, 28, 0, 0, 0, 0, helsinki)},
	}
	for _, tt := range tests {
		if got := RetentionCutoff(tt.now, tt.years, helsinki); !got.Equal(tt.want) {
			t.Errorf("%s: cutoff %v, want %v", tt.name, got, tt.want)
		}
	}
	for years, valid := range map[int]bool{2: false, 3: true, 5: true, 50: true, 51: false} {
		if err := CheckRecordsRetention(years); (err == nil) != valid {
			t.Errorf("CheckRecordsRetention(%d) = %v, want valid %v", years, err, valid)
		}
	}
}
