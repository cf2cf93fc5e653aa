package runner

import (
	"slices"
	"testing"
)

func TestSerialBatches(t *testing.T) {
	tests := []struct {
		spec  string
		total int
		want  []int
	}{
		{"", 7, []int{7}},
		{"1", 3, []int{1, 1, 1}},
		{"2", 7, []int{2, 2, 2, 1}},
		{"10", 4, []int{4}},
		{"50%", 7, []int{3, 3, 1}},
		{"30%", 10, []int{3, 3, 3, 1}},
		{"100%", 6, []int{6}},
		{"10%", 4, []int{1, 1, 1, 1}}, // rounds down to 0: still one host per batch
		{"3", 0, nil},
	}
	for _, tt := range tests {
		s, err := ParseSerial(tt.spec)
		if err != nil {
			t.Fatalf("ParseSerial(%q): %v", tt.spec, err)
		}
		if got := s.batches(tt.total); !slices.Equal(got, tt.want) {
			t.Errorf("serial %q over %d hosts = %v, want %v", tt.spec, tt.total, got, tt.want)
		}
	}
}

func TestParseSerialRejects(t *testing.T) {
	for _, s := range []string{"0", "-1", "x", "0%", "101%", "5%%", "2.5"} {
		if _, err := ParseSerial(s); err == nil {
			t.Errorf("ParseSerial(%q) accepted it", s)
		}
	}
}
