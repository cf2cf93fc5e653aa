package inventory

import (
	"math"
	"reflect"
	"testing"
)

// TestINIValue pins iniValue to what Python's ast.literal_eval gives (or
// the text itself when it raises), checked with python3.
func TestINIValue(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{"1", 1},
		{"-7", -7},
		{"+3", 3},
		{"1_000", 1000},
		{"0x1F", 31},
		{"0o17", 15},
		{"0b101", 5},
		{"022", "022"},
		{"00", 0},
		{"1.5", 1.5},
		{".5", 0.5},
		{"5.", 5.0},
		{"1e3", 1000.0},
		{"1_0.5", 10.5},
		{"1__0", "1__0"},
		{"1_", "1_"},
		{"True", true},
		{"False", false},
		{"None", nil},
		{"true", "true"},
		{"yes", "yes"},
		{"'quoted'", "quoted"},
		{`"dq"`, "dq"},
		{`'a' "b"`, "ab"},
		{`r'\n'`, `\n`},
		{`'\x41\u00e9\n'`, "Aé\n"},
		{`'\q'`, `\q`},
		{`b'bytes'`, "bytes"},
		{`b'a' 'b'`, `b'a' 'b'`},
		{`f'x'`, "f'x'"},
		{"[1, 'two', 3.0]", []any{1, "two", 3.0}},
		{"[1,]", []any{1}},
		{"(1, 2)", []any{1, 2}},
		{"(1,)", []any{1}},
		{"()", []any{}},
		{"(5)", 5},
		{"1, 2", []any{1, 2}},
		{"{'k': [1, {'n': None}]}", map[string]any{"k": []any{1, map[string]any{"n": nil}}}},
		{"{1: 'a', None: 2}", map[string]any{"1": "a", "null": 2}},
		{"{}", map[string]any{}},
		{"{'a', 'b'}", []any{"a", "b"}},
		{"1 # comment", 1},
		{"abc # comment", "abc # comment"},
		{"[1,", "[1,"},
		{"1+2", "1+2"},
		{"--1", "--1"},
		{"-True", "-True"},
		{"1 2", "1 2"},
		{"", ""},
		{"a b", "a b"},
		// Python has big integers; remedy keeps the text (docs/inventory.md).
		{"99999999999999999999", "99999999999999999999"},
		{"1.2.3", "1.2.3"},
		{"0x", "0x"},
		{"'unterminated", "'unterminated"},
	}
	for _, tc := range cases {
		if got := iniValue(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("iniValue(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	if got := iniValue("1e400"); got != math.Inf(1) {
		t.Errorf("iniValue(1e400) = %v, want +Inf", got)
	}
}
