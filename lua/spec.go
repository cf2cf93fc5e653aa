package lua

import (
	"fmt"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// spec is a playbook's returned table, checked and read into Go.
type spec struct {
	name, hosts string
	vars        *glua.LTable
	varTypes    *glua.LTable
	prefetch    *glua.LFunction
	tasks       []*item
	checks      []*item
	handlers    []*item
}

// item is one task, check or handler.
type item struct {
	name         string
	run, when    *glua.LFunction
	tags, notify []string
	checkMode    *bool
	ignoreErrors bool
	register     string
	severity     string
	timeout      time.Duration
	line         int
}

// The keys each part of a playbook accepts; anything else is a typo the
// author wants to hear about.
var (
	playbookKeys = keySet("name", "hosts", "vars", "var_types", "prefetch", "tasks", "checks", "handlers")
	taskKeys     = keySet("name", "run", "tags", "when", "notify", "check_mode", "ignore_errors", "register", "timeout")
	checkKeys    = keySet("name", "run", "tags", "when", "severity", "timeout")
	handlerKeys  = keySet("name", "run", "timeout")
	severities   = keySet("info", "low", "medium", "high", "critical")
)

// TaskKeys returns the keys a task table accepts, for docs and lint.
func TaskKeys() []string { return sortedKeys(taskKeys) }

func keySet(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func readSpec(file string, t *glua.LTable) (*spec, error) {
	if err := rejectUnknownKeys(file, 0, "playbook", t, playbookKeys); err != nil {
		return nil, err
	}
	sp := &spec{}
	var err error
	if sp.name, err = optString(t, "name"); err != nil {
		return nil, fmt.Errorf("%s: playbook %w", file, err)
	}
	if sp.hosts, err = optString(t, "hosts"); err != nil {
		return nil, fmt.Errorf("%s: playbook %w", file, err)
	}
	if sp.vars, err = optTable(t, "vars"); err != nil {
		return nil, fmt.Errorf("%s: playbook %w", file, err)
	}
	if sp.varTypes, err = optTable(t, "var_types"); err != nil {
		return nil, fmt.Errorf("%s: playbook %w", file, err)
	}
	switch v := t.RawGetString("prefetch").(type) {
	case *glua.LFunction:
		sp.prefetch = v
	case *glua.LNilType:
	default:
		return nil, fmt.Errorf("%s: playbook prefetch must be a function of v, not %s", file, v.Type())
	}
	parts := []struct {
		key  string
		keys map[string]bool
		dst  *[]*item
	}{{"tasks", taskKeys, &sp.tasks}, {"checks", checkKeys, &sp.checks}, {"handlers", handlerKeys, &sp.handlers}}
	for _, part := range parts {
		if *part.dst, err = readItems(file, t, part.key, part.keys); err != nil {
			return nil, err
		}
	}
	return sp, checkNotify(file, sp)
}

func readItems(file string, t *glua.LTable, key string, keys map[string]bool) ([]*item, error) {
	v := t.RawGetString(key)
	if v == glua.LNil {
		return nil, nil
	}
	list, ok := v.(*glua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s: playbook %s must be a list of tables, not %s", file, key, v.Type())
	}
	kind := strings.TrimSuffix(key, "s")
	var items []*item
	for i := 1; i <= list.Len(); i++ {
		tt, ok := list.RawGetInt(i).(*glua.LTable)
		if !ok {
			return nil, fmt.Errorf("%s: %s %d must be a table", file, kind, i)
		}
		it, err := readItem(file, fmt.Sprintf("%s %d", kind, i), tt, keys)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

func readItem(file, what string, t *glua.LTable, keys map[string]bool) (*item, error) {
	it := &item{}
	run, ok := t.RawGetString("run").(*glua.LFunction)
	if ok && run.Proto != nil {
		it.line = run.Proto.LineDefined
	}
	if err := rejectUnknownKeys(file, it.line, what, t, keys); err != nil {
		return nil, err
	}
	var err error
	it.name, err = optString(t, "name")
	if err == nil && it.name == "" {
		err = fmt.Errorf("needs a name")
	}
	if err == nil && !ok {
		err = fmt.Errorf("%q needs a run function", it.name)
	}
	it.run = run
	if err == nil {
		err = it.readOptional(t)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s %w", position(file, it.line), what, err)
	}
	return it, nil
}

func (it *item) readOptional(t *glua.LTable) error {
	var err error
	if it.tags, err = optStrings(t, "tags"); err != nil {
		return err
	}
	if it.notify, err = optStrings(t, "notify"); err != nil {
		return err
	}
	if it.register, err = optString(t, "register"); err != nil {
		return err
	}
	if it.severity, err = optString(t, "severity"); err != nil {
		return err
	}
	if it.severity != "" && !severities[it.severity] {
		return fmt.Errorf("severity %q is not one of %s", it.severity, strings.Join(sortedKeys(severities), ", "))
	}
	switch v := t.RawGetString("when").(type) {
	case *glua.LFunction:
		it.when = v
	case *glua.LNilType:
	default:
		return fmt.Errorf("when must be a function, not %s", v.Type())
	}
	switch v := t.RawGetString("check_mode").(type) {
	case glua.LBool:
		b := bool(v)
		it.checkMode = &b
	case *glua.LNilType:
	default:
		return fmt.Errorf("check_mode must be true or false, not %s", v.Type())
	}
	switch v := t.RawGetString("ignore_errors").(type) {
	case glua.LBool:
		it.ignoreErrors = bool(v)
	case *glua.LNilType:
	default:
		return fmt.Errorf("ignore_errors must be true or false, not %s", v.Type())
	}
	switch v := t.RawGetString("timeout").(type) {
	case glua.LNumber:
		it.timeout = time.Duration(float64(v) * float64(time.Second))
	case *glua.LNilType:
	default:
		return fmt.Errorf("timeout must be a number of seconds, not %s", v.Type())
	}
	return nil
}

// rejectUnknownKeys reports the first key of t that keys does not allow.
func rejectUnknownKeys(file string, line int, what string, t *glua.LTable, keys map[string]bool) error {
	var bad []string
	t.ForEach(func(k, _ glua.LValue) {
		if s, ok := k.(glua.LString); !ok || !keys[string(s)] {
			bad = append(bad, k.String())
		}
	})
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("%s: %s: unknown key %q (allowed: %s)", position(file, line), what, bad[0], strings.Join(sortedKeys(keys), ", "))
}

// checkNotify makes sure every notify names a handler.
func checkNotify(file string, sp *spec) error {
	names := map[string]bool{}
	for _, h := range sp.handlers {
		if names[h.name] {
			return fmt.Errorf("%s: two handlers are named %q", position(file, h.line), h.name)
		}
		names[h.name] = true
	}
	for _, t := range sp.tasks {
		for _, n := range t.notify {
			if !names[n] {
				return fmt.Errorf("%s: task %q notifies %q, but no handler has that name", position(file, t.line), t.name, n)
			}
		}
	}
	return nil
}

func position(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

func optString(t *glua.LTable, key string) (string, error) {
	switch v := t.RawGetString(key).(type) {
	case glua.LString:
		return string(v), nil
	case *glua.LNilType:
		return "", nil
	default:
		return "", fmt.Errorf("%s must be a string, not %s", key, v.Type())
	}
}

func optTable(t *glua.LTable, key string) (*glua.LTable, error) {
	switch v := t.RawGetString(key).(type) {
	case *glua.LTable:
		return v, nil
	case *glua.LNilType:
		return nil, nil
	default:
		return nil, fmt.Errorf("%s must be a table, not %s", key, v.Type())
	}
}

// optStrings reads a string or a list of strings.
func optStrings(t *glua.LTable, key string) ([]string, error) {
	switch v := t.RawGetString(key).(type) {
	case glua.LString:
		return []string{string(v)}, nil
	case *glua.LNilType:
		return nil, nil
	case *glua.LTable:
		var out []string
		for i := 1; i <= v.Len(); i++ {
			s, ok := v.RawGetInt(i).(glua.LString)
			if !ok {
				return nil, fmt.Errorf("%s must be a list of strings", key)
			}
			out = append(out, string(s))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s must be a string or a list of strings, not %s", key, v.Type())
	}
}
