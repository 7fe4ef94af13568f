package grpc

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/lillvet/register/services/history/internal/domain"
)

// TestStaffServedWithoutIdentityCode: every staff-typed text naming who took part in a
// visit is served without an identity code, in a form (a combining grapheme joiner
// inside) that the check at writing missed before the detector saw through it.
func TestStaffServedWithoutIdentityCode(t *testing.T) {
	const stored = "131052\u034f-308T"
	got := staffToProto(domain.Staff{Subject: stored, Name: stored, Role: stored})
	if text := prototext.Format(got); strings.Contains(text, "308T") {
		t.Errorf("served with the code:\n%s", text)
	}
}
