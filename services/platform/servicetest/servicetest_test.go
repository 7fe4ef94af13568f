package servicetest_test

import (
	"encoding/base64"
	"testing"

	"github.com/lillvet/register/services/platform/servicetest"
)

func TestRandomKey(t *testing.T) {
	a, b := servicetest.RandomKey(t), servicetest.RandomKey(t)
	raw, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Errorf("RandomKey = %q: %d bytes, %v; want 32 bytes of standard base64", a, len(raw), err)
	}
	if a == b {
		t.Error("two keys are the same")
	}
}
