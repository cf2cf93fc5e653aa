package inventory

import "maps"

// ReadVars reads a YAML or JSON mapping of variables typed as group_vars
// are: YAML 1.1, as PyYAML reads it for Ansible, so yes and off are
// booleans and 0755 is octal. name says where data came from, for
// errors. No mapping at all (an empty document) is nil.
func ReadVars(name string, data []byte) (map[string]any, error) {
	l, err := parseYAMLVars(name, data)
	if err != nil {
		return nil, err
	}
	return l.vars, nil
}

// WithVars is h with vars laid over its variables, as -e's are: they
// win over every other, and a bad connection value among them is
// reported as from source ("-e"), not from an inventory file.
func (h *Host) WithVars(source string, vars map[string]any) *Host {
	c := *h
	c.Vars = maps.Clone(h.Vars)
	if c.Vars == nil {
		c.Vars = map[string]any{}
	}
	c.varsAt = maps.Clone(h.varsAt)
	if c.varsAt == nil {
		c.varsAt = map[string]origin{}
	}
	for k, v := range vars {
		c.Vars[k], c.varsAt[k] = v, origin{file: source}
	}
	return &c
}
