package paging_test

import (
	"testing"

	"github.com/lillvet/register/services/platform/paging"
)

func TestSize(t *testing.T) {
	for _, tc := range []struct{ requested, want int }{
		{-1, 50}, {0, 50}, {1, 1}, {199, 199}, {200, 200}, {201, 200}, {1 << 30, 200},
	} {
		if got := paging.Size(tc.requested, 50, 200); got != tc.want {
			t.Errorf("Size(%d) = %d, want %d", tc.requested, got, tc.want)
		}
	}
}
