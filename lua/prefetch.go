package lua

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/shell"
)

// prefetchScript runs each argument as a command line and prints, for
// each, "rc stdout-bytes stderr-bytes" on a line followed by its stdout and
// stderr: lengths, not markers, so no output can be mistaken for a header.
const prefetchScript = `t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
for c in "$@"; do
	sh -c "$c" </dev/null >"$t/o" 2>"$t/e"
	rc=$?
	printf '%d %d %d\n' "$rc" $(wc -c <"$t/o") $(wc -c <"$t/e")
	cat "$t/o" "$t/e"
done`

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

// queryWarming runs line, the host's first read that nothing answered, in
// one round trip with the reads to prefetch, and keeps their results for
// the Query, QueryCached and readFileCached calls that ask for them: a
// playbook pays one session for all of its usual reads.
func (e *Env) queryWarming(line string) (Output, error) {
	e.warmed = true
	reads, err := e.prefetchLines()
	if err != nil {
		return Output{}, err
	}
	lines := []string{line}
	for _, r := range reads {
		if r != line && !slices.Contains(lines, r) {
			lines = append(lines, r)
		}
	}
	if len(lines) == 1 {
		return e.run(line, nil)
	}
	batch, err := e.run(shell.Join(append([]string{"sh", "-c", prefetchScript, "sh"}, lines...)...), nil)
	if err != nil {
		return Output{}, err
	}
	outs, err := splitPrefetch(batch.Stdout, len(lines))
	if err != nil || batch.ExitCode != 0 {
		// Something about the host's shell we did not expect: read plainly.
		return e.run(line, nil)
	}
	if e.once == nil {
		e.once = map[string]Output{}
	}
	for i, out := range outs[1:] {
		e.once[lines[i+1]] = out
	}
	return outs[0], nil
}

// prefetchLines are the reads to take with the first one: what the
// playbook's prefetch function lists, else every module's usual reads.
func (e *Env) prefetchLines() ([]string, error) {
	if e.prefetch == nil {
		return allWarmLines(), nil
	}
	where := fmt.Sprintf("%s: prefetch", position(e.prefetch.Proto.SourceName, e.prefetch.Proto.LineDefined))
	if err := e.state.CallByParam(glua.P{Fn: e.prefetch, NRet: 1, Protect: true}, e.vars); err != nil {
		return nil, fmt.Errorf("%s: %s", where, errorMessage(err))
	}
	ret := e.state.Get(-1)
	e.state.Pop(1)
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

// splitPrefetch reads prefetchScript's output back into n results.
func splitPrefetch(b []byte, n int) ([]Output, error) {
	outs := make([]Output, 0, n)
	for len(outs) < n {
		header, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			return nil, fmt.Errorf("prefetch: %d of %d results", len(outs), n)
		}
		var rc, no, ne int
		f := bytes.Fields(header)
		if len(f) != 3 {
			return nil, fmt.Errorf("prefetch: bad header %q", header)
		}
		var errs [3]error
		rc, errs[0] = strconv.Atoi(string(f[0]))
		no, errs[1] = strconv.Atoi(string(f[1]))
		ne, errs[2] = strconv.Atoi(string(f[2]))
		if errs[0] != nil || errs[1] != nil || errs[2] != nil || no < 0 || ne < 0 || no+ne > len(rest) {
			return nil, fmt.Errorf("prefetch: bad header %q", header)
		}
		outs = append(outs, Output{Stdout: rest[:no:no], Stderr: rest[no : no+ne : no+ne], ExitCode: rc})
		b = rest[no+ne:]
	}
	return outs, nil
}
