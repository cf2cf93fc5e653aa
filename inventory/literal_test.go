package inventory

import (
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"reflect"
	"testing"
)

// TestINIValue pins iniValue to what Python's ast.literal_eval gives (or
// the text itself when it raises), checked with python3.
func TestINIValue(t *testing.T) {
	for _, tc := range iniValueCases {
		if got := iniValue(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("iniValue(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	if got := iniValue("1e400"); got != math.Inf(1) {
		t.Errorf("iniValue(1e400) = %v, want +Inf", got)
	}
}

// TestINIValueMatchesPython runs the table through Python's ast.literal_eval
// with the Python ansible-core runs on, when it is installed.
func TestINIValueMatchesPython(t *testing.T) {
	py, err := ansiblePython()
	if err != nil {
		requireOracle(t, err)
		return
	}
	inputs := append([]string(nil), pythonOnlyCases...)
	for _, tc := range iniValueCases {
		if !tc.pythonDiffers {
			inputs = append(inputs, tc.in)
		}
	}
	in, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pythonLiteralEval)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	want := decodeJSON(t, out).([]any)
	for i, s := range inputs {
		got := decodeJSON(t, []byte(pyJSON(iniValue(s))))
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("iniValue(%q) = %v, Python says %v", s, got, want[i])
		}
	}
}

// pythonLiteralEval is Ansible's ini plugin _parse_value, then json.dumps.
const pythonLiteralEval = `
import ast, json, sys
def value(v):
    try:
        v = ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (tuple, set)):
        return list(v)
    return v
print(json.dumps([value(s) for s in json.load(sys.stdin)]))
`

// pythonOnlyCases are checked against Python alone.
var pythonOnlyCases = []string{
	"'a\\\nb'", "0_0", "1e-7", "-0x10", "0b", "1.e5", "1e+5", "1E5", "u'x'", `R'\d'`, "Rb'x'",
	"'''triple'''", `"""t"q"""`, "[1, 2,]", "{'a': 1,}", "((1))", "[(1, 2)]", " 1", "1 ", "-(1)",
	"- 1", "1if", "True False", "0.1_5", "1_000.000_1", "._5", "0e0", "00.5", "09.5", "0_7",
	"0x_1f", "0x1__f", "1e", "1e+", "[1 2]", "{1: }", "{: 1}", "(1 2)", "'a' b'c'", `'\101\0'`,
	`'\N{DASH}'`, `b'\u00e9'`, "[None, True, -1.5e-3]", "{'k': {'n': [1, {'m': ()}]}}",
	"#", "1 #", "[1, # c\n 2]", "'x' # 'y'", "\t1", "0.", "-.5", "+.5e1",
}

// iniValueCases: pythonDiffers marks the documented differences.
var iniValueCases = []struct {
	in            string
	want          any
	pythonDiffers bool
}{
	{"1", 1, false},
	{"-7", -7, false},
	{"+3", 3, false},
	{"1_000", 1000, false},
	{"0x1F", 31, false},
	{"0o17", 15, false},
	{"0b101", 5, false},
	{"022", "022", false},
	{"00", 0, false},
	{"1.5", 1.5, false},
	{".5", 0.5, false},
	{"5.", 5.0, false},
	{"1e3", 1000.0, false},
	{"1_0.5", 10.5, false},
	{"1__0", "1__0", false},
	{"1_", "1_", false},
	{"True", true, false},
	{"False", false, false},
	{"None", nil, false},
	{"true", "true", false},
	{"yes", "yes", false},
	{"'quoted'", "quoted", false},
	{`"dq"`, "dq", false},
	{`'a' "b"`, "ab", false},
	{`r'\n'`, `\n`, false},
	{`'\x41\u00e9\n'`, "Aé\n", false},
	{`'\q'`, `\q`, false},
	{`b'bytes'`, "bytes", false},
	{`b'a' 'b'`, `b'a' 'b'`, false},
	{`f'x'`, "f'x'", false},
	{"[1, 'two', 3.0]", []any{1, "two", 3.0}, false},
	{"[1,]", []any{1}, false},
	{"(1, 2)", []any{1, 2}, false},
	{"(1,)", []any{1}, false},
	{"()", []any{}, false},
	{"(5)", 5, false},
	{"1, 2", []any{1, 2}, false},
	{"{'k': [1, {'n': None}]}", map[string]any{"k": []any{1, map[string]any{"n": nil}}}, false},
	{"{1: 'a', None: 2}", map[string]any{"1": "a", "null": 2}, false},
	{"{}", map[string]any{}, false},
	{"{'a', 'b'}", []any{"a", "b"}, true},
	{"1 # comment", 1, false},
	{"abc # comment", "abc # comment", false},
	{"[1,", "[1,", false},
	{"1+2", "1+2", false},
	{"--1", "--1", false},
	{"-True", "-True", false},
	{"1 2", "1 2", false},
	{"", "", false},
	{"a b", "a b", false},
	// Python has big integers; remedy keeps the text (docs/inventory.md).
	{"99999999999999999999", "99999999999999999999", true},
	{"1.2.3", "1.2.3", false},
	{"0x", "0x", false},
	{"'unterminated", "'unterminated", false},
}
