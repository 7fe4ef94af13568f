package protomap_test

import (
	"maps"
	"math"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/lillvet/register/services/platform/protomap"
)

func TestReverse(t *testing.T) {
	tests := []struct {
		name string
		in   map[int32]string
		want map[string]int32
	}{
		{"empty", map[int32]string{}, map[string]int32{}},
		{"one to one", map[int32]string{1: "dog", 2: "cat"}, map[string]int32{"dog": 1, "cat": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := protomap.Reverse(tt.in); !maps.Equal(got, tt.want) {
				t.Errorf("Reverse(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	at := time.Date(2026, 11, 25, 13, 0, 0, 5, time.UTC)
	tests := []struct {
		name string
		in   time.Time
		want *time.Time
	}{
		{"zero is absent", time.Time{}, nil},
		{"an instant", at, &at},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := protomap.Timestamp(tt.in)
			switch {
			case tt.want == nil && got != nil:
				t.Errorf("Timestamp(zero) = %v, want nil", got)
			case tt.want != nil && !got.AsTime().Equal(*tt.want):
				t.Errorf("Timestamp(%v) = %v", tt.in, got.AsTime())
			}
		})
	}
}

func TestAll(t *testing.T) {
	tests := []struct {
		name string
		in   []int
		want []string
	}{
		{"nil", nil, nil},
		{"empty is nil", []int{}, nil},
		{"each mapped in order", []int{3, 1}, []string{"3", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := protomap.All(tt.in, strconv.Itoa)
			if (got == nil) != (tt.want == nil) || len(got) != len(tt.want) {
				t.Fatalf("All(%v) = %#v, want %#v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("All(%v)[%d] = %q, want %q", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestEnumName(t *testing.T) {
	tests := []struct{ name, prefix, want string }{
		{"SPECIES_DOG", "SPECIES_", "dog"},
		{"ROUTE_SUBCUTANEOUS", "ROUTE_", "subcutaneous"},
		{"INVOICE_STATE_OPEN", "INVOICE_STATE_", "open"},
		{"SPECIES_UNSPECIFIED", "SPECIES_", ""},
		// A value the caller's generated code does not know yet prints as its number.
		{"7", "SPECIES_", "7"},
	}
	for _, tt := range tests {
		if got := protomap.EnumName(tt.name, tt.prefix); got != tt.want {
			t.Errorf("EnumName(%q, %q) = %q, want %q", tt.name, tt.prefix, got, tt.want)
		}
	}
}

func TestTime(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	if got := protomap.Time(protomap.Timestamp(at)); !got.Equal(at) {
		t.Errorf("round trip: %v", got)
	}
	if got := protomap.Time(nil); !got.IsZero() {
		t.Errorf("absent: %v", got)
	}
	if got := protomap.Time(protomap.Timestamp(time.Time{})); !got.IsZero() {
		t.Errorf("zero: %v", got)
	}
}

func TestCount32(t *testing.T) {
	for _, tt := range []struct {
		in   int
		want int32
	}{{0, 0}, {7, 7}, {-1, 0}, {math.MaxInt32, math.MaxInt32}, {math.MaxInt32 + 1, math.MaxInt32}} {
		if got := protomap.Count32(tt.in); got != tt.want {
			t.Errorf("Count32(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestJSONName: the names are protobuf's own, as the descriptors of its messages give
// them, and the edge cases of its rule.
func TestJSONName(t *testing.T) {
	for _, m := range []protoreflect.MessageDescriptor{
		(&descriptorpb.FieldDescriptorProto{}).ProtoReflect().Descriptor(),
		(&descriptorpb.FileOptions{}).ProtoReflect().Descriptor(),
	} {
		fields := m.Fields()
		for i := range fields.Len() {
			f := fields.Get(i)
			if got := protomap.JSONName(string(f.Name())); got != f.JSONName() {
				t.Errorf("JSONName(%q) = %q, want %q", f.Name(), got, f.JSONName())
			}
		}
	}
	for _, tt := range []struct{ name, want string }{
		{"clinic", "clinic"},
		{"start_time", "startTime"},
		{"a__b", "aB"},
		{"a_1b", "a1b"},
		{"trailing_", "trailing"},
	} {
		if got := protomap.JSONName(tt.name); got != tt.want {
			t.Errorf("JSONName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
