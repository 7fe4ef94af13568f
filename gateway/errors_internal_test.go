package gateway

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// FuzzDecodeLines: a decoding message is split only into unknown keys' lines, and
// nothing of it is lost either way.
func FuzzDecodeLines(f *testing.F) {
	for _, msg := range []string{
		"",
		`unknown query parameter "phon"` + "\n" + "unknown query parameter",
		`too many values for field "name": a, b` + "\n" + `unknown query parameter "Virtanen"`,
		`unknown query parameter "a"` + "\n",
	} {
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		lines := decodeLines(msg)
		if strings.Join(lines, "\n") != msg {
			t.Fatalf("decodeLines(%q) = %q, which is not the message", msg, lines)
		}
		if len(lines) == 1 {
			return
		}
		for _, line := range lines {
			if !unknownKeyLine.MatchString(line) {
				t.Fatalf("decodeLines(%q) split off %q, no unknown key's line", msg, line)
			}
		}
	})
}

// decodeHeads are the starts of decoding messages, each with the field it names,
// protojson's with either space the protobuf module may put after "proto:".
var decodeHeads = []struct{ msg, field string }{
	{`invalid grpc-timeout: `, "grpc-timeout"},
	{`parsing field "page_size": `, "page_size"},
	{`parsing list "states": `, "states"},
	{`too many values for field "name": a, `, "name"},
	{`duplicate field "page_size"`, "page_size"},
	{"proto: (line 1:22): invalid value for string field familyName: ", "familyName"},
	{"proto:\u00a0(line 1:22): invalid value for enum field homeClinic: ", "homeClinic"},
	{"proto: (line 1:11): unknown field \"familyNmae\"", "familyNmae"},
	{"proto:\u00a0(line 1:11): unknown field \"familyNmae\"", "familyNmae"},
	{"proto: (line 1:30): duplicate field \"family_name\"", "family_name"},
	{"proto:\u00a0(line 1:15): google.protobuf.FieldMask.paths contains invalid path: ", updateMaskField},
}

// TestDecodeViolationNamesTheFieldAtTheStart: the field of a decoding message is the one
// its start names, whatever the rest holds; the rest of grpc-gateway's message of a
// parameter given twice is the values as sent, which may read as another message.
func TestDecodeViolationNamesTheFieldAtTheStart(t *testing.T) {
	for _, head := range decodeHeads {
		for _, rest := range []string{"", `parsing field "Virtanen"`, `unknown field "Virtanen"`, "proto: (line 1:2): unknown field \"Virtanen\""} {
			if got := decodeViolation(head.msg + rest).GetField(); got != head.field {
				t.Errorf("decodeViolation(%q) names %q, want %q", head.msg+rest, got, head.field)
			}
		}
	}
	for _, msg := range []string{`a parsing field "Virtanen"`, `name: unknown field "Virtanen"`, `x too many values for field "Virtanen"`} {
		if got := decodeViolation(msg).GetField(); got != "body" {
			t.Errorf("decodeViolation(%q) names %q, want body", msg, got)
		}
	}
}

// FuzzDecodeViolation: whatever follows the start of a decoding message, the violation
// names the field the start does.
func FuzzDecodeViolation(f *testing.F) {
	f.Add(uint8(3), `parsing field "Virtanen"`)
	f.Add(uint8(3), "b\nunknown query parameter \"Virtanen\"")
	f.Add(uint8(1), `invalid value for string field Virtanen`)
	f.Fuzz(func(t *testing.T, i uint8, rest string) {
		head := decodeHeads[int(i)%len(decodeHeads)]
		if got := decodeViolation(head.msg + rest).GetField(); got != head.field {
			t.Fatalf("decodeViolation(%q) names %q, want %q", head.msg+rest, got, head.field)
		}
	})
}

// TestRetryAfter: a RetryInfo's delay is said in whole seconds, rounded up, and never as
// a negative number, which is no Retry-After value.
func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		delay time.Duration
		want  string
	}{
		{5 * time.Second, "5"},
		{1500 * time.Millisecond, "2"},
		{0, "0"},
		{-3 * time.Second, "0"},
		{-500 * time.Millisecond, "0"},
	} {
		st, err := status.New(codes.Unavailable, "down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(tc.delay)})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := retryAfter(st); !ok || got != tc.want {
			t.Errorf("retryAfter(%v) = %q, %v, want %q", tc.delay, got, ok, tc.want)
		}
	}
	if got, ok := retryAfter(status.New(codes.Unavailable, "down")); ok {
		t.Errorf("retryAfter without a RetryInfo = %q, want none", got)
	}
}
