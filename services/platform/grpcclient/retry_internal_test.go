package grpcclient

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/lillvet/register/proto/gen/go/lillvet/audit/v1"
	_ "github.com/lillvet/register/proto/gen/go/lillvet/consent/v1"
	_ "github.com/lillvet/register/proto/gen/go/lillvet/disclosure/v1"
	_ "github.com/lillvet/register/proto/gen/go/lillvet/history/v1"
	_ "github.com/lillvet/register/proto/gen/go/lillvet/owner/v1"
)

// TestRetriedMethodsAreTheDeclaredReads: the client resends exactly the methods that
// read, told by their names, and no method that writes. A method whose name fits
// neither list fails the test until someone decides which it is.
func TestRetriedMethodsAreTheDeclaredReads(t *testing.T) {
	reads := []string{"Get", "List", "Find", "Check", "Filter", "Export", "BatchGet"}
	writes := []string{"Create", "Update", "Record", "Register", "Transfer", "Mark", "Amend",
		"Erase", "Set", "Deactivate", "Extend", "End", "Resume", "Run"}
	// Named like reads, but what they do is not only to read.
	notReads := map[string]string{
		// Each copy of the report is logged as a disclosure to the owner and marks the
		// access request answered.
		"GetAccessReport":         "logs a disclosure",
		"GetAccessReportDocument": "logs a disclosure",
		// The caller reveals a code on purpose, and the audit event stored before the
		// answer is the record of that act: the contract does not call it free of side
		// effects, and a failed reveal reaches the person, who may reveal again.
		"RevealIdentityCode": "audits a deliberate disclosure",
	}
	// Named like writes, but declared IDEMPOTENT: resent, a call changes nothing more.
	resentWrites := map[string]string{
		// It only ever moves a day later, and the same day again changes nothing.
		"ExtendNameRetention": "never shortens the day it is given",
		// It only ever drops the identity code, and a code gone changes nothing.
		"EndIdentityCodeRetention": "drops what is there, and nothing once it is gone",
	}
	// ExportOwner also answers the identity code in full and stores its audit event
	// first, yet is resent: its caller is the disclosure service building an access
	// report, no person is there to decide, and the report's own disclosure is logged
	// once by GetAccessReport or GetAccessReportDocument, neither of which is resent. A
	// resent export adds one more true audit event of the same read.

	var want []methodName
	services := 0
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "lillvet.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			services++
			for j := range sd.Methods().Len() {
				name := string(sd.Methods().Get(j).Name())
				_, exception := notReads[name]
				_, resentWrite := resentWrites[name]
				read := hasAnyPrefix(name, reads) && !exception
				if read || resentWrite {
					want = append(want, methodName{Service: string(sd.FullName()), Method: name})
				}
				if !read && !exception && !hasAnyPrefix(name, writes) {
					t.Errorf("%s.%s: neither a read nor a write by its name; decide and add its prefix", sd.FullName(), name)
				}
			}
		}
		return true
	})
	if services != 5 {
		t.Fatalf("found %d lillvet services, want the 5 the test imports", services)
	}

	var got []methodName
	for _, m := range safeToResend(protoregistry.GlobalFiles) {
		if strings.HasPrefix(m.Service, "lillvet.") {
			got = append(got, m)
		}
	}
	for _, m := range got {
		if !slices.Contains(want, m) {
			t.Errorf("%s.%s is resent, but its name says it writes", m.Service, m.Method)
		}
	}
	for _, m := range want {
		if !slices.Contains(got, m) {
			t.Errorf("%s.%s reads but is not resent: mark it idempotency_level = NO_SIDE_EFFECTS", m.Service, m.Method)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(s, p) })
}
