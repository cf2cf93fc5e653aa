package lua

import (
	"bytes"
	"fmt"
	"strconv"

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

// warmLines are the reads the registered modules ask to take early, for
// this host's facts: see Module.Warm.
func warmLines(f Facts) []string {
	var lines []string
	for _, m := range Modules() {
		if m.Warm == nil {
			continue
		}
		for _, argv := range m.Warm(f) {
			lines = append(lines, shell.Join(argv...))
		}
	}
	return lines
}

// queryWarming runs line, the first read QueryCached could not answer, in
// one round trip with the modules' warm reads, and keeps those that
// succeeded for later QueryCached calls: a playbook that reads anything
// pays one session for all of its usual reads.
func (e *Env) queryWarming(line string) (Output, error) {
	lines := []string{line}
	for _, w := range warmLines(e.facts) {
		if w != line {
			lines = append(lines, w)
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
	if e.memo == nil {
		e.memo = map[string]Output{}
	}
	for i, out := range outs[1:] {
		if out.ExitCode == 0 {
			e.memo[lines[i+1]] = out
		}
	}
	return outs[0], nil
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
