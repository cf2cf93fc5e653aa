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

func TestResolveYAML11(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{"", nil}, {"~", nil}, {"null", nil}, {"Null", nil},
		{"yes", true}, {"On", true}, {"TRUE", true}, {"no", false}, {"off", false}, {"y", "y"}, {"n", "n"},
		{"0755", 493}, {"0x1f", 31}, {"0b11", 3}, {"-12", -12}, {"+5", 5}, {"1_000", 1000}, {"1:30", 90}, {"0", 0},
		{"1.5", 1.5}, {"1.", 1.0}, {".5", 0.5}, {"1.0e+3", 1000.0}, {"1e3", "1e3"}, {"1:30.5", 90.5},
		{".inf", math.Inf(1)}, {"-.Inf", math.Inf(-1)},
		{"2024-01-15", "2024-01-15"}, {"0o17", "0o17"}, {"09", "09"}, {"abc", "abc"},
	}
	for _, tc := range cases {
		got := resolveYAML11(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("resolveYAML11(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	if got := resolveYAML11(".nan"); got == got {
		t.Errorf("resolveYAML11(.nan) = %v, want NaN", got)
	}
}

func TestShlexSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"web1 a=1  b=2", []string{"web1", "a=1", "b=2"}},
		{`h a="x y" b='c d'`, []string{"h", "a=x y", "b=c d"}},
		{`h a=x\ y`, []string{"h", "a=x y"}},
		{`h a="q\"q\\q\n"`, []string{"h", `a=q"q\q\n`}},
		{`h a='no\escape'`, []string{"h", `a=no\escape`}},
		{"h a=b#c d=e", []string{"h", "a=b"}},
		{"h # comment", []string{"h"}},
		{`h a="#not"`, []string{"h", "a=#not"}},
		{`h a=""`, []string{"h", "a="}},
		{`""`, []string{""}},
		{"h\ta=1", []string{"h", "a=1"}},
	}
	for _, tc := range cases {
		got, err := shlexSplit(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shlexSplit(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`h a="x`, `h a='x`, `h a\`} {
		if _, err := shlexSplit(bad); err == nil {
			t.Errorf("shlexSplit(%q): want an error", bad)
		}
	}
}

func TestPyFloat(t *testing.T) {
	cases := map[float64]string{
		1: "1.0", 0.5: "0.5", 1e16: "1e+16", 1e15: "1000000000000000.0", 1e-5: "1e-05", 0.0001: "0.0001",
		math.Copysign(0, -1): "-0.0", 1.5e300: "1.5e+300", 123456.789: "123456.789",
	}
	for f, want := range cases {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
