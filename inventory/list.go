package inventory

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// masked replaces secrets in everything remedy prints about an inventory.
const masked = "********"

// isSecret says whether a variable holds a password: ansible_password,
// ansible_become_password, ansible_ssh_pass and every other *_pass or
// *_password.
func isSecret(name string) bool {
	n := strings.ToLower(name)
	return n == "password" || strings.HasSuffix(n, "_pass") || strings.HasSuffix(n, "_password")
}

func maskSecrets(vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		if isSecret(k) {
			v = masked
		}
		out[k] = v
	}
	return out
}

// ListJSON is what `ansible-inventory --list` prints, restricted to hosts
// (pass every host for the full inventory): each group with its hosts and
// children, and every host's merged variables under _meta.hostvars, with
// passwords masked.
func (inv *Inventory) ListJSON(hosts []*Host) string {
	keep := hostSet(hosts)
	doc := map[string]any{}
	listGroup(doc, inv.groups[groupAll], keep, map[*group]bool{})
	hostvars := map[string]any{}
	for _, h := range inv.hostOrder {
		if keep[h] && len(h.Vars) > 0 {
			hostvars[h.Name] = maskSecrets(h.Vars)
		}
	}
	doc["_meta"] = map[string]any{"hostvars": hostvars}
	return pyJSON(doc)
}

// listGroup adds g and, the first time each is seen, its descendants to doc;
// a group with neither hosts nor children is left out, as ansible-inventory
// does.
func listGroup(doc map[string]any, g *group, keep map[*Host]bool, seen map[*group]bool) {
	entry := map[string]any{}
	var names, children []any
	for _, h := range g.hosts {
		if keep[h] {
			names = append(names, h.Name)
		}
	}
	if len(names) > 0 && g.name != groupAll {
		entry["hosts"] = names
	}
	for _, c := range g.children {
		children = append(children, c.name)
		if !seen[c] {
			seen[c] = true
			listGroup(doc, c, keep, seen)
		}
	}
	if len(children) > 0 {
		entry["children"] = children
	}
	if len(entry) > 0 {
		doc[g.name] = entry
	}
}

func hostSet(hosts []*Host) map[*Host]bool {
	m := make(map[*Host]bool, len(hosts))
	for _, h := range hosts {
		m[h] = true
	}
	return m
}

// HostJSON is what `ansible-inventory --host NAME` prints: the host's merged
// variables, passwords masked.
func (h *Host) HostJSON() string {
	return pyJSON(maskSecrets(h.Vars))
}

// Graph is what `ansible-inventory --graph [GROUP] [--vars]` prints,
// restricted to hosts: the group tree from the named group down.
func (inv *Inventory) Graph(groupName string, hosts []*Host, withVars bool) (string, error) {
	g, ok := inv.groups[groupName]
	if !ok {
		return "", fmt.Errorf("--graph needs a group name, and there is no group %q", groupName)
	}
	var lines []string
	inv.graphGroup(&lines, g, hostSet(hosts), withVars, 0)
	return strings.Join(lines, "\n"), nil
}

func graphLine(name string, depth int) string {
	if depth == 0 {
		return name
	}
	return strings.Repeat("  |", depth) + "--" + name
}

func (inv *Inventory) graphGroup(lines *[]string, g *group, keep map[*Host]bool, withVars bool, depth int) {
	*lines = append(*lines, graphLine("@"+g.name+":", depth))
	for _, c := range g.children {
		inv.graphGroup(lines, c, keep, withVars, depth+1)
	}
	if g.name != groupAll {
		for _, h := range g.hosts {
			if !keep[h] {
				continue
			}
			*lines = append(*lines, graphLine(h.Name, depth+1))
			if withVars {
				graphVars(lines, h.Vars, depth+2)
			}
		}
	}
	if withVars {
		graphVars(lines, g.graphVars(), depth+1)
	}
}

// graphVars are a group's own variables as --graph --vars shows them.
func (g *group) graphVars() map[string]any {
	vars := map[string]any{}
	combine(vars, g.vars.vars)
	for _, fv := range g.fileVars {
		combine(vars, fv.vars)
	}
	if g.priority != 1 {
		vars["ansible_group_priority"] = g.priority
	}
	return vars
}

func graphVars(lines *[]string, vars map[string]any, depth int) {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return pyLess(keys[i], keys[j]) })
	for _, k := range keys {
		v := vars[k]
		if isSecret(k) {
			v = masked
		}
		*lines = append(*lines, graphLine("{"+k+" = "+pyStr(v)+"}", depth))
	}
}

// pyStr is Python's str() of a value: strings as they are, the rest as
// repr().
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() of an inventory value. Dict keys come out
// sorted: Go maps do not keep the file's order.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return strings.ToLower(strings.TrimSuffix(pyFloat(x), "inity"))
		}
		return pyFloat(x)
	case string:
		return pyReprString(x)
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = pyRepr(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return pyLess(keys[i], keys[j]) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyReprString(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return pyJSONScalar(v)
}

func pyReprString(s string) string {
	quote := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		quote = `"`
	}
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`, quote, `\`+quote)
	return quote + r.Replace(s) + quote
}
