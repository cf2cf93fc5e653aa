package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRandomInventoriesMatchAnsible generates many small INI and YAML
// inventories and checks that remedy reads each as ansible-inventory's own
// code does (its --list, run in one Python process for speed), or fails
// where Ansible cannot parse it.
func TestRandomInventoriesMatchAnsible(t *testing.T) {
	py, err := ansiblePython()
	if err != nil {
		requireOracle(t, err)
		return
	}
	dir := t.TempDir()
	var paths []string
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 1))
		name, text := fmt.Sprintf("inv%02d.ini", seed), randomINI(r)
		if seed%2 == 1 {
			name, text = fmt.Sprintf("inv%02d.yml", seed), randomYAML(r)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	want := ansibleLists(t, py, paths)
	for _, path := range paths {
		inv, err := Load([]string{path})
		text, _ := os.ReadFile(path)
		if want[path] == nil {
			if err == nil {
				t.Errorf("Ansible cannot parse %s, remedy can:\n%s", path, text)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v\n%s", err, text)
			continue
		}
		hosts, _ := inv.Hosts("all")
		got := decodeJSON(t, []byte(inv.ListJSON(hosts)))
		if !reflect.DeepEqual(got, want[path]) {
			t.Errorf("%s read differently:\n%s\nremedy: %v\nAnsible: %v", path, text, got, want[path])
		}
	}
}

// ansibleLists runs ansible-inventory's --list code on each path; a path
// Ansible cannot parse maps to nil.
func ansibleLists(t *testing.T, py string, paths []string) map[string]any {
	t.Helper()
	in, err := json.Marshal(paths)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pythonList)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "ANSIBLE_INVENTORY_UNPARSED_FAILED=true")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", py, err)
	}
	return decodeJSON(t, out).(map[string]any)
}

const pythonList = `
import json, sys
from ansible import context
from ansible.cli.inventory import InventoryCLI
from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager
context.CLIARGS = ImmutableDict({"export": False, "basedir": None})
out = {}
for path in json.load(sys.stdin):
    loader = DataLoader()
    try:
        inv = InventoryManager(loader, sources=[path])
    except Exception:
        out[path] = None
        continue
    cli = InventoryCLI(["ansible-inventory"])
    cli.loader, cli.inventory, cli.vm = loader, inv, VariableManager(loader=loader, inventory=inv)
    out[path] = cli.json_inventory(inv.groups["all"])
print(json.dumps(out, default=str))
`

func pick[T any](r *rand.Rand, items []T) T { return items[r.IntN(len(items))] }

var (
	randomGroups = []string{"g0", "g1", "g2", "g3", "g4", "g5"}
	randomHosts  = []string{"h0", "h1", "h2", "h3", "h4", "h5", "web[1:3]", "db-[a:b]"}
	iniValues    = []string{"1", `"a b"`, "'x'", "True", "yes", "[1,2]", `{"k":1}`, "0x10", "1.5", "None", "022", "a=b", "-3", "foo#bar", "1e3", `"'q'"`}
	yamlValues   = []string{"yes", "no", "on", `"yes"`, "0755", "0x1f", "1:30", "1.5", "1e3", "~", "", "2024-01-02", "abc", "-12", "+5", "1_000", `"quoted"`, "'sq'", "[1, two]", "{a: 1}", "True", "09", "1."}
	varNames     = []string{"v1", "v2", "v3", "ansible_port", "ansible_host"}
)

// randomINI writes hosts, groups with hosts, vars and children (children
// only name later groups, so there is no cycle), all groups declared.
func randomINI(r *rand.Rand) string {
	var b strings.Builder
	hostLine := func(h string) {
		b.WriteString(h)
		if r.IntN(5) == 0 && !strings.Contains(h, "[") {
			fmt.Fprintf(&b, ":%d", 1+r.IntN(9999))
		}
		for range r.IntN(3) {
			fmt.Fprintf(&b, " %s=%s", pick(r, varNames), pick(r, iniValues))
		}
		b.WriteString("\n")
	}
	for range r.IntN(3) {
		hostLine(pick(r, randomHosts))
	}
	order := r.Perm(len(randomGroups))
	for _, i := range order {
		g := randomGroups[i]
		switch r.IntN(4) {
		case 0, 1:
			fmt.Fprintf(&b, "[%s]\n", g)
			for range r.IntN(4) {
				hostLine(pick(r, randomHosts))
			}
		case 2:
			fmt.Fprintf(&b, "[%s]\n[%s:vars]\n", g, g)
			for range 1 + r.IntN(3) {
				name := pick(r, append(varNames, "ansible_group_priority"))
				value := pick(r, iniValues)
				if name == "ansible_group_priority" {
					value = fmt.Sprint(1 + r.IntN(20))
				}
				fmt.Fprintf(&b, "%s = %s\n", name, value)
			}
		default:
			fmt.Fprintf(&b, "[%s:children]\n", g)
			for _, c := range randomGroups[i+1:] {
				if r.IntN(2) == 0 {
					b.WriteString(c + "\n")
				}
			}
			fmt.Fprintf(&b, "[%s]\n", g)
		}
	}
	return b.String()
}

// randomYAML writes nested groups three levels deep at most.
func randomYAML(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("all:\n")
	randomYAMLGroup(r, &b, 2, 0, randomGroups)
	return b.String()
}

func randomYAMLGroup(r *rand.Rand, b *strings.Builder, indent, depth int, avail []string) {
	pad := strings.Repeat(" ", indent)
	if r.IntN(10) < 7 {
		b.WriteString(pad + "hosts:\n")
		for range 1 + r.IntN(3) {
			fmt.Fprintf(b, "%s  %s:\n", pad, pick(r, randomHosts))
			if r.IntN(2) == 0 {
				fmt.Fprintf(b, "%s    %s: %s\n", pad, pick(r, varNames), pick(r, yamlValues))
			}
		}
	}
	if r.IntN(2) == 0 {
		b.WriteString(pad + "vars:\n")
		for range 1 + r.IntN(3) {
			fmt.Fprintf(b, "%s  %s: %s\n", pad, pick(r, varNames), pick(r, yamlValues))
		}
	}
	if depth < 3 && len(avail) > 0 && r.IntN(10) < 7 {
		b.WriteString(pad + "children:\n")
		for i, g := range avail {
			if r.IntN(2) == 0 {
				fmt.Fprintf(b, "%s  %s:\n", pad, g)
				randomYAMLGroup(r, b, indent+4, depth+1, avail[i+1:])
			}
		}
	}
}
