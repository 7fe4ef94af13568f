package grpc

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/lillvet/register/services/consent/internal/domain"
)

// TestEntryServedWithoutIdentityCode: every staff-typed text of a stored decision is
// served without an identity code, in a form (a combining grapheme joiner inside) that
// the check at writing missed before the detector saw through it.
func TestEntryServedWithoutIdentityCode(t *testing.T) {
	const stored = "131052\u034f-308T"
	got := entryToProto(&domain.Entry{EvidenceRef: stored, StatementVersion: stored, RecordedByName: stored})
	if text := prototext.Format(got); strings.Contains(text, "308T") {
		t.Errorf("served with the code:\n%s", text)
	}
}
