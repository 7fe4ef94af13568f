package mongo

import (
	"testing"

	"github.com/lillvet/register/services/platform/servicetest"
)

// TestIndexes checks that every query shape is served by a declared index and that the
// indexes can be ensured again, as a second replica does at start.
func TestIndexes(t *testing.T) {
	servicetest.CheckIndexes(t, Indexes(), QueryShapes())
}
