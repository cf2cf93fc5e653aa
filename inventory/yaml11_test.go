package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

var yaml11Cases = []struct {
	in   string
	want any
}{
	{"", nil}, {"~", nil}, {"null", nil}, {"Null", nil},
	{"yes", true}, {"On", true}, {"TRUE", true}, {"no", false}, {"off", false}, {"y", "y"}, {"n", "n"},
	{"0755", 493}, {"0x1f", 31}, {"0b11", 3}, {"-12", -12}, {"+5", 5}, {"1_000", 1000}, {"1:30", 90}, {"0", 0},
	{"1.5", 1.5}, {"1.", 1.0}, {".5", 0.5}, {"1.0e+3", 1000.0}, {"1e3", "1e3"}, {"1:30.5", 90.5},
	{"2024-01-15", "2024-01-15"}, {"0o17", "0o17"}, {"09", "09"}, {"abc", "abc"},
	{"-0x1f", -31}, {"0_7", 7}, {"1.5e3", "1.5e3"}, {"-1.5E-3", -0.0015}, {"190:20:30", 685230},
	{"0.", 0.0}, {"-.5", "-.5"}, {"+1_0.5", 10.5}, {"nO", "nO"}, {"NULL", nil},
}

func TestResolveYAML11(t *testing.T) {
	for _, tc := range yaml11Cases {
		got := resolveYAML11(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("resolveYAML11(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	if got := resolveYAML11(".nan").(float64); !math.IsNaN(got) {
		t.Errorf("resolveYAML11(.nan) = %v, want NaN", got)
	}
	if got := resolveYAML11("-.Inf"); got != math.Inf(-1) {
		t.Errorf("resolveYAML11(-.Inf) = %v, want -Inf", got)
	}
}

// TestResolveYAML11MatchesPyYAML runs the table through PyYAML, which
// Ansible reads YAML with, in the Python ansible-core runs on.
func TestResolveYAML11MatchesPyYAML(t *testing.T) {
	py, err := ansiblePython()
	if err != nil {
		requireOracle(t, err)
		return
	}
	var inputs []string
	for _, tc := range yaml11Cases {
		inputs = append(inputs, tc.in)
	}
	in, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pythonYAMLScalar)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", py, err)
	}
	want := decodeJSON(t, out).([]any)
	for i, s := range inputs {
		if got := decodeJSON(t, []byte(pyJSON(resolveYAML11(s)))); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("resolveYAML11(%q) = %v, PyYAML says %v", s, got, want[i])
		}
	}
}

// pythonYAMLScalar loads each input as a plain scalar; dates print as
// Ansible's JSON encoder prints them.
const pythonYAMLScalar = `
import datetime, json, sys, yaml
def value(s):
    v = yaml.safe_load("v: " + s)["v"]
    return v.isoformat() if isinstance(v, datetime.date) else v
print(json.dumps([value(s) for s in json.load(sys.stdin)]))
`

func TestYAMLAliasesAreShared(t *testing.T) {
	// Nine levels of ten aliases each would be 10^9 values if expanded.
	doc := "a0: &a0 [x, y]\n"
	for i := 1; i <= 9; i++ {
		doc += fmt.Sprintf("a%d: &a%d [%s]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10))
	}
	vars, err := parseYAMLVars("laughs.yml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(vars.vars["a9"].([]any)); got != 10 {
		t.Errorf("a9 has %d items, want 10", got)
	}
}
