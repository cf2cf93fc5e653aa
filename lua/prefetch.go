package lua

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/remote"
	"remedy/lua/shell"
)

// warmLines are the usual reads of the given modules: see Module.Warm.
func warmLines(mods []Module) []string {
	var lines []string
	for _, m := range mods {
		for _, argv := range m.Warm {
			lines = append(lines, shell.Join(argv...))
		}
	}
	return lines
}

// allWarmLines are every module's usual reads; modules register in init,
// so the list is fixed by the first call.
var allWarmLines = sync.OnceValue(func() []string { return warmLines(Modules()) })

// queryWarming runs line, the host's first usual read, in one round trip
// with every module's usual reads the host has not answered yet (the
// facts read the firewall already), and keeps their results for the Query,
// QueryCached and ReadFileCached calls that ask for them: a playbook
// without a prefetch pays one session for all of its usual reads.
func (e *Env) queryWarming(line string) (remote.Output, error) {
	e.warmed = true
	lines := []string{line}
	for _, r := range allWarmLines() {
		if _, read := e.memo[r]; !read && r != line && !slices.Contains(lines, r) {
			lines = append(lines, r)
		}
	}
	if len(lines) == 1 {
		return e.run(line, nil)
	}
	b := shell.NewBatch(lines)
	out, err := e.run(b.Command(), nil)
	if err != nil && !errors.Is(err, remote.ErrOutputLimit) {
		return remote.Output{}, err
	}
	outs, serr := b.Split(out.Stdout)
	if err != nil || serr != nil || out.ExitCode != 0 {
		// Something about the host's shell we did not expect, or more
		// output than one command may bring back: read plainly, so that
		// only a read too large by itself fails, under its own name.
		return e.run(line, nil)
	}
	if e.once == nil {
		e.once = map[string]remote.Output{}
	}
	for i, out := range outs[1:] {
		e.once[lines[i+1]] = out
	}
	return outs[0], nil
}

// prefetchLines are the reads the playbook's prefetch function lists.
func (e *Env) prefetchLines(prefetch *glua.LFunction) ([]string, error) {
	where := fmt.Sprintf("%s: prefetch", position(prefetch.Proto.SourceName, prefetch.Proto.LineDefined))
	ret, err := protectedCall(e.state, prefetch, e.vars)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", where, ErrorMessage(err))
	}
	list, ok := ret.(*glua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s must return a list, not %s", where, ret.Type())
	}
	var lines []string
	for i := 1; i <= list.Len(); i++ {
		more, err := prefetchEntry(list.RawGetInt(i))
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", where, i, err)
		}
		lines = append(lines, more...)
	}
	return lines, nil
}

// prefetchEntry reads one entry of a prefetch list: a module's name
// stands for its usual reads, a list of strings for one command.
func prefetchEntry(v glua.LValue) ([]string, error) {
	switch v := v.(type) {
	case glua.LString:
		m, ok := LookupModule(string(v))
		if !ok || m.Name == "" {
			return nil, fmt.Errorf("no module %q", string(v))
		}
		return warmLines([]Module{m}), nil
	case *glua.LTable:
		var argv []string
		for i := 1; i <= v.Len(); i++ {
			switch a := v.RawGetInt(i).(type) {
			case glua.LString, glua.LNumber:
				argv = append(argv, a.String())
			default:
				return nil, fmt.Errorf("argument %d is a %s, want a string", i, a.Type())
			}
		}
		if len(argv) == 0 {
			return nil, fmt.Errorf("an empty command")
		}
		return []string{shell.Join(argv...)}, nil
	}
	return nil, fmt.Errorf("a %s, want a module name or a command (a list of strings)", v.Type())
}
