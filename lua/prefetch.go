package lua

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/remote"
	"remedy/lua/shell"
)

// batchScript runs each argument after the first as a command line and
// prints, for each: its stdout as it comes, then "\nB rc\n", its stderr
// (trailing newlines dropped) and "\nB\n", where B is the first argument,
// a boundary the controller draws at random for each batch. Each read
// costs a fork and no exec of its own: a batch of a dozen reads, framed by
// lengths with wc and cat, took four times the reads' own CPU on a host.
const batchScript = `exec 3>&1
b=$1; shift
for c in "$@"; do
	e=$( (eval "$c") 2>&1 1>&3 3>&- </dev/null )
	rc=$?
	printf '\n%s %d\n%s\n%s\n' "$b" "$rc" "$e" "$b"
done`

// batch is several read command lines run in one SSH session.
type batch struct {
	lines    []string
	boundary string
}

func newBatch(lines []string) batch {
	r := make([]byte, 16)
	_, _ = rand.Read(r)
	return batch{lines: lines, boundary: "remedy-" + hex.EncodeToString(r)}
}

// command is the remote command line running the batch.
func (b batch) command() string {
	return shell.Join(append([]string{"sh", "-c", batchScript, "sh", b.boundary}, b.lines...)...)
}

// split reads the batch's output back into one result per line. Only a
// host that read the boundary off its own process list could forge one,
// and such a host can misreport its state anyway.
func (b batch) split(out []byte) ([]remote.Output, error) {
	head, tail := []byte("\n"+b.boundary+" "), []byte("\n"+b.boundary+"\n")
	outs := make([]remote.Output, 0, len(b.lines))
	for len(outs) < len(b.lines) {
		stdout, rest, ok := bytes.Cut(out, head)
		if !ok {
			return nil, fmt.Errorf("batch: %d of %d results", len(outs), len(b.lines))
		}
		rcLine, rest, _ := bytes.Cut(rest, []byte("\n"))
		rc, err := strconv.Atoi(string(rcLine))
		if err != nil {
			return nil, fmt.Errorf("batch: bad exit status %q", rcLine)
		}
		stderr, rest, ok := bytes.Cut(rest, tail)
		if !ok {
			return nil, fmt.Errorf("batch: result %d is cut short", len(outs)+1)
		}
		outs = append(outs, remote.Output{Stdout: stdout[:len(stdout):len(stdout)], Stderr: stderr[:len(stderr):len(stderr)], ExitCode: rc})
		out = rest
	}
	return outs, nil
}

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
// with every module's usual reads, and keeps their results for the Query,
// QueryCached and readFileCached calls that ask for them: a playbook
// without a prefetch pays one session for all of its usual reads.
func (e *Env) queryWarming(line string) (remote.Output, error) {
	e.warmed = true
	lines := []string{line}
	for _, r := range allWarmLines() {
		if r != line && !slices.Contains(lines, r) {
			lines = append(lines, r)
		}
	}
	if len(lines) == 1 {
		return e.run(line, nil)
	}
	b := newBatch(lines)
	out, err := e.run(b.command(), nil)
	if err != nil && !errors.Is(err, remote.ErrOutputLimit) {
		return remote.Output{}, err
	}
	outs, serr := b.split(out.Stdout)
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
	if err := e.state.CallByParam(glua.P{Fn: prefetch, NRet: 1, Protect: true}, e.vars); err != nil {
		return nil, fmt.Errorf("%s: %s", where, ErrorMessage(err))
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
