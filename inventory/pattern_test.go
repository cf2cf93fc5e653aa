package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// patternCases run on testdata/patterns.ini; want is what Ansible selects,
// in its order.
var patternCases = []struct {
	pattern string
	want    []string
}{
	{"all", []string{"solo", "app1", "web1", "stg-web1", "stg-db1", "web2", "web3", "db1", "db2"}},
	{"*", []string{"solo", "app1", "web1", "stg-web1", "stg-db1", "web2", "web3", "db1", "db2"}},
	{"web1", []string{"web1"}},
	{"web", []string{"web1", "web2", "web3"}},
	{"web:db", []string{"web1", "web2", "web3", "db1", "db2"}},
	{"web,db", []string{"web1", "web2", "web3", "db1", "db2"}},
	{"prod:&app", []string{"web1"}},
	{"prod:!web", []string{"db1", "db2"}},
	{"prod:!web1:&db", []string{"db1", "db2"}},
	{"web*", []string{"web1", "web2", "web3"}},
	{"*db*", []string{"db1", "db2", "stg-db1"}},
	{"w?b1", []string{"web1"}},
	{"~^(stg|app)", []string{"app1", "web1", "stg-web1", "stg-db1"}},
	{"~web[12]", []string{"web1", "web2"}},
	{"web[0]", []string{"web1"}},
	{"web[1:2]", []string{"web2", "web3"}},
	{"web[-1]", []string{"web3"}},
	{"web[1:]", []string{"web2", "web3"}},
	{"web[4:]", nil},
	{"prod[0:3]", []string{"web1", "web2", "web3", "db1"}},
	{"web[0:0]", []string{"web1"}},
	{"!web", []string{"solo", "app1", "stg-web1", "stg-db1", "db1", "db2"}},
	{"&db", []string{"db1", "db2"}},
	{"nosuch", nil},
	{"solo:db", []string{"solo", "db1", "db2"}},
	{"ungrouped", []string{"solo"}},
	{"staging:!stg-db1,app", []string{"app1", "web1"}},
}

// limitCases apply to the hosts of prod.
var limitCases = []struct {
	limit string
	want  []string
}{
	{"db", []string{"db1", "db2"}},
	{"all:!web2", []string{"web1", "web3", "db1", "db2"}},
	{"!db", []string{"web1", "web2", "web3"}},
	{"app", []string{"web1"}},
	{"staging", nil},
	{"@" + filepath.Join("testdata", "limit.retry"), []string{"web3", "db2"}},
	{"@" + filepath.Join("testdata", "limit.retry") + ",web1", []string{"web1", "web3", "db2"}},
}

func loadPatterns(t *testing.T) *Inventory {
	t.Helper()
	inv, err := Load([]string{filepath.Join("testdata", "patterns.ini")})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func names(hosts []*Host) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, h.Name)
	}
	return out
}

func TestHostsPatterns(t *testing.T) {
	inv := loadPatterns(t)
	for _, tc := range patternCases {
		got, err := inv.Hosts(tc.pattern)
		if err != nil {
			t.Errorf("Hosts(%q): %v", tc.pattern, err)
			continue
		}
		if !reflect.DeepEqual(names(got), tc.want) {
			t.Errorf("Hosts(%q) = %v, want %v", tc.pattern, names(got), tc.want)
		}
	}
}

// TestPatternsMatchAnsible checks the pattern and limit tables against
// Ansible's own InventoryManager, when ansible-core is installed.
func TestPatternsMatchAnsible(t *testing.T) {
	py, err := ansiblePython()
	if err != nil {
		requireOracle(t, err)
		return
	}
	var req struct {
		Patterns []string `json:"patterns"`
		Limits   []string `json:"limits"`
	}
	for _, tc := range patternCases {
		req.Patterns = append(req.Patterns, tc.pattern)
	}
	for _, tc := range limitCases {
		req.Limits = append(req.Limits, tc.limit)
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pythonPatterns, "patterns.ini")
	cmd.Dir = "testdata"
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible's python: %v", err)
	}
	var got struct{ Patterns, Limits [][]string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, tc := range patternCases {
		if !reflect.DeepEqual(nilIfEmpty(got.Patterns[i]), tc.want) {
			t.Errorf("Ansible selects %v for %q, the table says %v", got.Patterns[i], tc.pattern, tc.want)
		}
	}
	for i, tc := range limitCases {
		if !reflect.DeepEqual(nilIfEmpty(got.Limits[i]), tc.want) {
			t.Errorf("Ansible limits prod with %q to %v, the table says %v", tc.limit, got.Limits[i], tc.want)
		}
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// ansiblePython is the interpreter ansible runs with, from its #! line.
func ansiblePython() (string, error) {
	bin, err := exec.LookPath("ansible")
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(strings.TrimPrefix(first, "#!"))
	if len(fields) == 0 {
		return "", fmt.Errorf("%s has no #! line", bin)
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		return exec.LookPath(fields[1])
	}
	return fields[0], nil
}

// pythonPatterns evaluates patterns and limits (on the hosts of prod) with
// Ansible's InventoryManager.
const pythonPatterns = `
import json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
im = InventoryManager(DataLoader(), sources=[sys.argv[1]])
req = json.load(sys.stdin)
def hosts(p):
    im.clear_pattern_cache()
    return [h.name for h in im.get_hosts(p)]
patterns = [hosts(p) for p in req["patterns"]]
limits = []
for l in req["limits"]:
    im.subset(l.replace("testdata/", ""))
    limits.append(hosts("prod"))
    im.subset(None)
print(json.dumps({"Patterns": patterns, "Limits": limits}))
`

func TestHostsPatternErrors(t *testing.T) {
	inv := loadPatterns(t)
	for _, p := range []string{"web[5]", "web[-9]", "~web(", "web[z-a]*"} {
		if _, err := inv.Hosts(p); err == nil {
			t.Errorf("Hosts(%q): want an error", p)
		}
	}
}

func TestLimit(t *testing.T) {
	inv := loadPatterns(t)
	prod, err := inv.Hosts("prod")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range limitCases {
		got, err := inv.Limit(prod, tc.limit)
		if err != nil {
			t.Errorf("Limit(prod, %q): %v", tc.limit, err)
			continue
		}
		if !reflect.DeepEqual(names(got), tc.want) {
			t.Errorf("Limit(prod, %q) = %v, want %v", tc.limit, names(got), tc.want)
		}
	}
	if _, err := inv.Limit(prod, "@testdata/no-such.retry"); err == nil {
		t.Error("Limit with a missing @file: want an error")
	}
}

func TestSplitPattern(t *testing.T) {
	cases := map[string][]string{
		"a:b":          {"a", "b"},
		"a, b ,,c":     {"a", "b", "c"},
		"a:&b:!c":      {"a", "&b", "!c"},
		"web[1:3]":     {"web[1:3]"},
		"g[0]:h[1:2]":  {"g[0]", "h[1:2]"},
		"host:22":      {"host:22"},
		"198.18.0.1":   {"198.18.0.1"},
		"  ":           nil,
		"~web.*:!db":   {"~web.*", "!db"},
		"[::1]:22,web": {"[::1]:22", "web"},
	}
	for in, want := range cases {
		if got := splitPattern(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitPattern(%q) = %q, want %q", in, got, want)
		}
	}
}
