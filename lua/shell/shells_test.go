package shell_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// hostShell is a /bin/sh remedy meets on hosts: sh in a directory put
// first on PATH, so that the batch, the reads' own sh and any sh they
// start are that shell.
type hostShell struct {
	name, bin string
	// wrap runs bin with these arguments first, from a script named sh;
	// otherwise sh is a link to bin, which runs it as sh (bash in POSIX
	// mode, busybox's ash).
	wrap []string
}

// hostShells are the /bin/sh of Debian and Ubuntu (dash), of RHEL,
// Fedora and SUSE (bash, as sh and as bash --posix) and of Alpine
// (busybox ash). tests/install-deps.sh installs each.
var hostShells = []hostShell{
	{name: "dash", bin: "dash"},
	{name: "bash as sh", bin: "bash"},
	{name: "bash --posix", bin: "bash", wrap: []string{"--posix"}},
	{name: "busybox ash", bin: "busybox"},
}

// dir makes the directory holding sh, or skips the shell where it is
// not installed (failing under CI=true, where make test installs it).
func (s hostShell) dir(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath(s.bin)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (tests/install-deps.sh installs it)", s.name, err)
		}
		t.Skipf("%s: %v", s.name, err)
	}
	dir := t.TempDir()
	sh := filepath.Join(dir, "sh")
	if s.wrap == nil {
		err = os.Symlink(bin, sh)
	} else {
		// exec -a: $0 is sh, as for a link (the wrapper is bash's).
		err = os.WriteFile(sh, []byte("#!"+bin+"\nexec -a sh "+shell.Join(append([]string{bin}, s.wrap...)...)+` "$@"`+"\n"), 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs sh -c line with dir's sh, as the batch's boundary's reads.
func run(t *testing.T, dir, boundary, line string) remote.Output {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "sh"), "-c", line)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "LC_ALL=C", "REMEDY_FRAME="+boundary)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	rc := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		rc = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return remote.Output{Stdout: stdout.Bytes(), Stderr: bytes.TrimRight(stderr.Bytes(), "\n"), ExitCode: rc}
}

// sameAsAlone runs lines in a batch under each host shell and each line
// alone under the same shell, and wants the same stdout, stderr and exit
// status from both. The batch runs every `sh -c SCRIPT sh ARGS...` read
// with its function sh, not a new shell: this is what proves it. For a
// line in ownWords, the shell's own error message (which names where the
// script came from) need only be there in both. A line that differs is
// taken both ways once more: the facts read this machine's sockets and
// processes, which may change between the two; a batch that runs a read
// wrongly does so every time.
func sameAsAlone(t *testing.T, lines []string, ownWords ...string) {
	for _, s := range hostShells {
		t.Run(s.name, func(t *testing.T) {
			dir := s.dir(t)
			todo := lines // each shell's own: every shell takes every line
			for try := range 2 {
				var differ []string
				for _, d := range compare(t, dir, todo, ownWords) {
					differ = append(differ, d.line)
					if try == 1 {
						t.Error(d.msg)
					}
				}
				if todo = differ; len(todo) == 0 {
					return
				}
			}
		})
	}
}

type difference struct{ line, msg string }

// compare runs lines in a batch and alone with dir's sh, and returns the
// lines whose results differ.
func compare(t *testing.T, dir string, lines, ownWords []string) []difference {
	t.Helper()
	b := shell.NewBatch(lines)
	out := run(t, dir, "", b.Command())
	if out.ExitCode != 0 || len(out.Stderr) > 0 {
		t.Fatalf("the batch: exit %d: %s", out.ExitCode, out.Stderr)
	}
	got, err := b.Split(out.Stdout)
	if err != nil {
		t.Fatalf("%v: %q", err, out.Stdout)
	}
	var differ []difference
	for i, line := range lines {
		alone := run(t, dir, b.Boundary, line)
		sameStderr := bytes.Equal(got[i].Stderr, alone.Stderr)
		if slices.Contains(ownWords, line) {
			sameStderr = len(got[i].Stderr) > 0 && len(alone.Stderr) > 0
		}
		if !bytes.Equal(got[i].Stdout, alone.Stdout) || !sameStderr || got[i].ExitCode != alone.ExitCode {
			at := firstDiff(got[i].Stdout, alone.Stdout)
			differ = append(differ, difference{line, fmt.Sprintf("%.300s\nin the batch: stdout from byte %d %.300q, stderr %q, rc=%d\nalone:        stdout from byte %d %.300q, stderr %q, rc=%d", line,
				at, got[i].Stdout[at:], got[i].Stderr, got[i].ExitCode, at, alone.Stdout[at:], alone.Stderr, alone.ExitCode)})
		}
	}
	return differ
}

// What a read's script may do that the batch's function must give as a
// new shell gives it.
func TestBatchUnderHostShells(t *testing.T) {
	syntaxError := shell.Join("sh", "-c", `syntax error (`)
	sameAsAlone(t, []string{
		shell.Join("sh", "-c", `printf '[%s]' "$0" "$#" "$@"; echo`, "sh", "a b", "", "c", "*"),
		shell.Join("sh", "-c", `printf '[%s]' "$0" "$#"; echo`),
		shell.Join("sh", "-c", `printf '[%s]' "$0" "$#"; echo`, "sh"),
		shell.Join("sh", "-c", `printf '[%s]' "$0" "$1"; echo`, "name", "x"),
		shell.Join("sh", "-c", `f() { echo in f; }; f; echo err >&2; exit 7; echo not reached`, "sh"),
		shell.Join("sh", "-c", `exec printf '%s\n' "$1"`, "sh", "exec'd"),
		shell.Join("sh", "-c", `if read -r x; then echo "stdin: $x"; else echo no stdin; fi`),
		shell.Join("sh", "-c", `f 2>/dev/null || echo "f is not the last read's"; x=$(sh -c 'echo "$1"' sh nested); echo "$x"`),
		shell.Join("sh", "-c", `echo "[${c-}][${e-}][${rc-}][${remedy_script-}]"; if { : >&3; } 2>/dev/null; then echo fd3; fi`, "sh"),
		shell.Join("sh", "-c", `set -e; false; echo not reached`, "sh"),
		shell.Join("sh", "-c", `set -eu; x=$(false) || echo "caught $?"; echo "${1-unset}"`, "sh"),
		shell.Join("sh", "-c", `command -v sh >/dev/null && echo has sh; type sh >/dev/null 2>&1; echo "type $?"`, "sh"),
		shell.Join("sh", "-c", `alias ll='echo alias'; ll 2>/dev/null; echo "alias rc $?"`, "sh"),
		shell.Join("sh", "-c", `shift; echo "$#:$*"; shift 5 2>/dev/null; echo "after: $#"`, "sh", "a", "b"),
		shell.Join("sh", "-c", `set -- x y; echo "$#$1$2"; unset x; echo "${x-unset}"`, "sh", "a"),
		shell.Join("sh", "-c", `trap 'echo trapped' EXIT; exit 3`, "sh"),
		shell.Join("sh", "-c", `echo "$-" | tr -d 'hBimsH'`, "sh"),
		syntaxError,
		shell.Join("sh", "-s"),
		shell.Join("sh", "-c", `exec 2>&1; echo to both >&2`, "sh"),
		shell.Join("sh", "-c", `umask; cd /; pwd`, "sh"),
		shell.Join("sh", "-c", `f() { set -e; false; echo not reached; }; f; echo not reached`, "sh"),
	}, syntaxError)
}

// The reads the aspera-server audit batches, as recorded on a lab host
// (bench/testdata/audit-nftables.json), less the licensing domain's (the
// network is not this test's), and the file reads against fixtures.
func TestAuditReadsUnderHostShells(t *testing.T) {
	lines := recordedReads(t)
	dir := t.TempDir()
	for name, content := range map[string]string{"plain": "a\n\nb", "it's here": "q\n", "empty": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"plain", "it's here", "empty", "missing", "dangling", "."} {
		for _, argv := range lua.WriteReads(filepath.Join(dir, name)) {
			lines = append(lines, shell.Join(argv...))
		}
	}
	sameAsAlone(t, lines)
}

// recordedReads are the lines of the recorded audit's batch.
func recordedReads(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../bench/testdata/audit-nftables.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Commands []struct{ Command string }
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range rec.Commands {
		// The runner starts each session's command with its own prelude.
		_, wrapped, _ := strings.Cut(c.Command, "exec sh -c ")
		w, err := shell.Split(strings.TrimSpace(wrapped))
		if err != nil || len(w) != 1 {
			t.Fatalf("recorded command %.100q: %v", c.Command, err)
		}
		b, ok := shell.ParseBatch(w[0])
		if !ok {
			continue
		}
		for _, l := range b.Lines {
			if !strings.Contains(l, "ibmaspera.com") {
				lines = append(lines, l)
			}
		}
	}
	if len(lines) < 20 {
		t.Fatalf("%d reads in the recorded batch", len(lines))
	}
	return lines
}

// firstDiff is where a and b first differ, a little before it to show.
func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return max(0, i-60)
}
