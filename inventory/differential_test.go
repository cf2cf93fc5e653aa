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

// TestRandomInventoriesMatchAnsible generates small INI and YAML
// inventories with group_vars and host_vars (as files, .yml, .json and
// directories) and checks that remedy reads each as ansible-inventory's own
// code does (its --list and --graph --vars, run in one Python process for
// speed), or fails where Ansible cannot parse it. The seeds are fixed: a
// failure repeats.
func TestRandomInventoriesMatchAnsible(t *testing.T) {
	py, err := ansiblePython()
	if err != nil {
		requireOracle(t, err)
		return
	}
	dir := t.TempDir()
	var cases [][]string
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 1))
		sources := []string{writeRandomSource(t, r, filepath.Join(dir, fmt.Sprint(seed)), seed%2 == 1)}
		if seed%4 == 0 {
			// A second source in its own directory, with its own group_vars.
			sources = append(sources, writeRandomSource(t, r, filepath.Join(dir, fmt.Sprint(seed), "second"), true))
		}
		cases = append(cases, sources)
	}
	want := ansibleLists(t, py, cases)
	for i, sources := range cases {
		inv, err := Load(sources)
		if want[i] == nil {
			if err == nil {
				t.Errorf("Ansible cannot parse %v, remedy can", sources)
			}
			continue
		}
		if err != nil {
			t.Errorf("Ansible can parse %v, remedy cannot: %v", sources, err)
			continue
		}
		hosts, _ := inv.Hosts("all")
		w := want[i].(map[string]any)
		got := decodeJSON(t, []byte(inv.ListJSON(hosts)))
		if !reflect.DeepEqual(got, w["list"]) {
			t.Errorf("%v read differently\nremedy: %v\nAnsible: %v", sources, got, w["list"])
		}
		if graph, _ := inv.Graph("all", hosts, true); graph != w["graph"] {
			t.Errorf("%v graphed differently\nremedy:\n%s\nAnsible:\n%s", sources, graph, w["graph"])
		}
	}
}

// writeRandomSource writes a random INI or YAML inventory and its vars
// files under dir and returns the inventory's path.
func writeRandomSource(t *testing.T, r *rand.Rand, dir string, yamlSource bool) string {
	name, text := "hosts.ini", randomINI(r)
	if yamlSource {
		name, text = "hosts.yml", randomYAML(r)
	}
	files := randomVarsFiles(r)
	files[name] = text
	writeFiles(t, dir, files)
	return filepath.Join(dir, name)
}

// ansibleLists runs ansible-inventory's --list and --graph --vars code on
// each set of sources; sources Ansible cannot parse give nil.
func ansibleLists(t *testing.T, py string, cases [][]string) []any {
	t.Helper()
	in, err := json.Marshal(cases)
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
	return decodeJSON(t, out).([]any)
}

const pythonList = `
import json, sys
from ansible import context
from ansible.cli.inventory import InventoryCLI
from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager
context.CLIARGS = ImmutableDict({"export": False, "basedir": None, "show_vars": True})
out = []
for sources in json.load(sys.stdin):
    loader = DataLoader()
    try:
        inv = InventoryManager(loader, sources=sources)
    except Exception:
        out.append(None)
        continue
    cli = InventoryCLI(["ansible-inventory"])
    cli.loader, cli.inventory, cli.vm = loader, inv, VariableManager(loader=loader, inventory=inv)
    out.append({"list": cli.json_inventory(inv.groups["all"]),
                "graph": "\n".join(cli._graph_group(inv.groups["all"]))})
print(json.dumps(out, default=str))
`

func pick[T any](r *rand.Rand, items []T) T { return items[r.IntN(len(items))] }

var (
	randomGroups = []string{"g0", "g1", "g2", "g3", "g4", "g5"}
	randomHosts  = []string{"h0", "h1", "h2", "h3", "h4", "h5", "web[1:3]", "db-[a:b]"}
	iniValues    = []string{"1", `"a b"`, "'x'", "True", "yes", "[1,2]", `{"k":1}`, "0x10", "1.5", "None", "022", "a=b", "-3", "foo#bar", "1e3", `"'q'"`, `'{"k": [1, "a b"]}'`, `\"esc\"`, "x # comment"}
	yamlValues   = []string{"yes", "no", "on", `"yes"`, "0755", "0x1f", "1:30", "1.5", "1e3", "~", "", "2024-01-02", "abc", "-12", "+5", "1_000", `"quoted"`, "'sq'", "[1, two]", "{a: 1}", "True", "09", "1."}
	varNames     = []string{"v1", "v2", "v3", "ansible_port", "ansible_host"}
)

// randomVarsFiles writes group_vars and host_vars as files or directories.
func randomVarsFiles(r *rand.Rand) map[string]string {
	files := map[string]string{}
	used := map[string]bool{}
	for range r.IntN(5) {
		kind, name := "group_vars", pick(r, append(randomGroups, "all", "ungrouped"))
		if r.IntN(3) == 0 {
			kind, name = "host_vars", pick(r, []string{"h0", "h1", "web2", "db-a"})
		}
		body := fmt.Sprintf("%s: %s\n%s: %s\n", pick(r, varNames), pick(r, yamlValues), pick(r, varNames), pick(r, yamlValues))
		form := r.IntN(4)
		// A file without extension and a directory cannot share a name.
		key := kind + "/" + name + []string{"", ".yml", ".json", ""}[form]
		if used[key] {
			continue
		}
		used[key] = true
		switch form {
		case 0:
			files[filepath.Join(kind, name)] = body
		case 1:
			files[filepath.Join(kind, name+".yml")] = body
		case 2:
			files[filepath.Join(kind, name+".json")] = fmt.Sprintf(`{"%s": %d}`, pick(r, varNames), r.IntN(100))
		default:
			files[filepath.Join(kind, name, fmt.Sprintf("%02d.yaml", r.IntN(20)))] = body
		}
	}
	return files
}

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
	if r.IntN(4) == 0 {
		fmt.Fprintf(&b, "; a comment\n[all:vars]\n%s=%s\n", pick(r, varNames), pick(r, iniValues))
	}
	if r.IntN(4) == 0 {
		b.WriteString("[all]\n")
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
	if r.IntN(3) == 0 {
		// A top-level group besides all, maybe seen already as a child.
		fmt.Fprintf(&b, "%s:\n  hosts: %s\n  vars:\n    %s: %s\n", pick(r, randomGroups), pick(r, randomHosts[:6]), pick(r, varNames), pick(r, yamlValues))
	}
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
