package shell

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"remedy/lua/remote"
)

// batchScript runs each argument after the first as a command line and
// prints, for each: its stdout as it comes, then "\nB rc\n", its stderr
// (trailing newlines dropped) and "\nB\n", where B is the first argument,
// a boundary the controller draws at random for each batch. The reads
// find B in $REMEDY_FRAME: one whose output comes in parts frames them
// with it too (PartsPrelude). Each read costs a fork and no exec of its
// own: a batch of a dozen reads, framed by lengths with wc and cat, took
// four times the reads' own CPU on a host. Most reads are `sh -c SCRIPT
// sh ARGS...`: the function sh runs SCRIPT with ARGS in the read's own
// subshell, as a new sh would, without starting one (a sh start is most
// of what a short read costs the host); it hides the batch's variables
// from the script, and hands any other use of sh to the real one. Under
// bash (RHEL's sh) the script runs in a subshell of its own: set -e
// ending a function called from eval makes bash 5.2 print
// "pop_var_context: head of shell_variables not a function context".
const batchScript = `exec 3>&1
REMEDY_FRAME=$1; export REMEDY_FRAME; shift
sh() {
	if [ "$#" -lt 2 ] || [ "$1" != -c ] || [ "${3-sh}" != sh ]; then command sh "$@"; return; fi
	remedy_script="unset c e rc remedy_script
$2"; shift 2; [ "$#" -eq 0 ] || shift
	if [ -z "${BASH_VERSION-}" ]; then eval "$remedy_script"; else (eval "$remedy_script"); fi
}
for c in "$@"; do
	e=$( (eval "$c") 2>&1 1>&3 3>&- </dev/null )
	rc=$?
	printf '\n%s %d\n%s\n%s\n' "$REMEDY_FRAME" "$rc" "$e" "$REMEDY_FRAME"
done`

// PartsPrelude starts the script of a read whose output comes in parts,
// such as the facts or the firewall's read: `part NAME` prints the line
// "B:NAME" (after a newline) before each part, where B is the boundary
// of the batch the read runs in, so that one random boundary frames a
// batch's results and their parts alike. Run alone, the read draws its
// own on the host.
const PartsPrelude = `[ -n "${REMEDY_FRAME-}" ] || REMEDY_FRAME=remedy-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
part() { printf '\n%s:%s\n' "$REMEDY_FRAME" "$1"; }
`

// boundary is what NewBatch and PartsPrelude draw.
var boundary = regexp.MustCompile(`^remedy-[0-9a-f]{32}$`)

// Parts splits the output of a read made with PartsPrelude into its
// parts by name, reading the boundary off its first line; a part named
// twice holds both.
func Parts(out []byte) (map[string][]byte, error) {
	first, _, _ := bytes.Cut(bytes.TrimPrefix(out, []byte("\n")), []byte(":"))
	if !bytes.HasPrefix(out, []byte("\n")) || !boundary.Match(first) {
		return nil, fmt.Errorf("output does not start with a part (%d bytes)", len(out))
	}
	parts := map[string][]byte{}
	for _, chunk := range bytes.Split(out, []byte("\n"+string(first)+":"))[1:] {
		name, body, _ := bytes.Cut(chunk, []byte("\n"))
		parts[string(name)] = append(parts[string(name)], body...)
	}
	return parts, nil
}

// Batch is several read command lines run in one SSH session, their
// outputs told apart by a boundary drawn at random for the batch. Only a
// host that read the boundary off its own process list could forge an
// output, and such a host can misreport its state anyway.
type Batch struct {
	Lines    []string
	Boundary string
}

// NewBatch frames lines with a fresh boundary.
func NewBatch(lines []string) Batch {
	r := make([]byte, 16)
	_, _ = rand.Read(r)
	return Batch{Lines: lines, Boundary: "remedy-" + hex.EncodeToString(r)}
}

// Command is the remote command line running the batch.
func (b Batch) Command() string {
	return Join(append([]string{"sh", "-c", batchScript, "sh", b.Boundary}, b.Lines...)...)
}

// Split reads the batch's output back into one result per line.
func (b Batch) Split(out []byte) ([]remote.Output, error) {
	head, tail := []byte("\n"+b.Boundary+" "), []byte("\n"+b.Boundary+"\n")
	outs := make([]remote.Output, 0, len(b.Lines))
	for len(outs) < len(b.Lines) {
		stdout, rest, ok := bytes.Cut(out, head)
		if !ok {
			return nil, fmt.Errorf("batch: %d of %d results", len(outs), len(b.Lines))
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

// ParseBatch reads a batch's command line back, as a host that answers
// from fixtures must.
func ParseBatch(cmd string) (Batch, bool) {
	words, ok := strings.CutPrefix(cmd, Join("sh", "-c", batchScript, "sh")+" ")
	if !ok {
		return Batch{}, false
	}
	w, err := Split(words)
	if err != nil || len(w) == 0 {
		return Batch{}, false
	}
	return Batch{Boundary: w[0], Lines: w[1:]}, true
}

// Part is what `part NAME` prints in the batch: for hosts that answer
// from fixtures.
func (b Batch) Part(name string) string { return "\n" + b.Boundary + ":" + name + "\n" }

// Frame is what the batch script prints for outs, one per line.
func (b Batch) Frame(outs []remote.Output) []byte {
	var buf bytes.Buffer
	for _, out := range outs {
		fmt.Fprintf(&buf, "%s\n%s %d\n%s\n%s\n", out.Stdout, b.Boundary, out.ExitCode, bytes.TrimRight(out.Stderr, "\n"), b.Boundary)
	}
	return buf.Bytes()
}

// Split reads back a line of words made by Join.
func Split(line string) ([]string, error) {
	var words []string
	for line != "" {
		rest, quoted := strings.CutPrefix(line, "'")
		if !quoted {
			w, rest, _ := strings.Cut(line, " ")
			words = append(words, w)
			line = rest
			continue
		}
		var w strings.Builder
		for {
			i := strings.IndexByte(rest, '\'')
			if i < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", line)
			}
			w.WriteString(rest[:i])
			rest = rest[i+1:]
			next, ok := strings.CutPrefix(rest, `\''`)
			if !ok {
				break
			}
			w.WriteByte('\'')
			rest = next
		}
		words = append(words, w.String())
		line = strings.TrimPrefix(rest, " ")
	}
	return words, nil
}
