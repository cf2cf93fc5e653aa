package runner

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"remedy/lua/shell"
)

// OpenSSH refuses the "signal" channel request on root logins (they skip
// post-auth privilege separation), and closing a channel leaves the
// command running. So every command first announces its process group
// (sshd makes it a session leader) on standard error, and a cancelled
// command's group is killed from a second session.

const pgidMarker = "remedy-pgid:"

// announcePGID wraps a command line so its shell reports its process
// group, then runs the command in its place.
func announcePGID(line string) string {
	return `echo "` + pgidMarker + `$$" >&2; exec ` + shell.Join("sh", "-c", line)
}

// pgidWriter takes the announcement off the front of standard error and
// passes the rest through.
type pgidWriter struct {
	mu   sync.Mutex
	out  io.Writer
	head []byte // the first line, until it is complete or too long to be it
	pgid int
	done bool
}

// ReadFrom is what io.Copy uses to fill w from a session's stderr.
func (w *pgidWriter) ReadFrom(r io.Reader) (int64, error) { return copySmall(w, r) }

func (w *pgidWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return w.out.Write(p)
	}
	w.head = append(w.head, p...)
	i := bytes.IndexByte(w.head, '\n')
	if i < 0 && len(w.head) > maxPGIDLine {
		// A line this long is not the announcement: a login shell's
		// output, which must not pile up here unbounded.
		w.done = true
		_, err := w.out.Write(w.head)
		w.head = nil
		return len(p), err
	}
	if i < 0 {
		return len(p), nil
	}
	w.done = true
	first, rest := w.head[:i], w.head[i+1:]
	if id, ok := bytes.CutPrefix(first, []byte(pgidMarker)); ok {
		w.pgid, _ = strconv.Atoi(string(id))
	} else {
		w.out.Write(w.head[:i+1])
	}
	w.out.Write(rest)
	w.head = nil
	return len(p), nil
}

// maxPGIDLine is longer than any announcement ("remedy-pgid:" and a pid).
const maxPGIDLine = 64

// flush keeps a first line that never ended, when it is not the marker.
func (w *pgidWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done && !bytes.HasPrefix(w.head, []byte(pgidMarker)) {
		w.out.Write(w.head)
	}
	w.done = true
}

func (w *pgidWriter) group() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pgid
}

// killTimeout bounds the second session that kills a cancelled command.
const killTimeout = 5 * time.Second

// killGroup sends SIGTERM to a remote process group, through sudo under
// become since the group may hold root processes.
func (c *Conn) killGroup(pgid int) {
	if pgid <= 1 {
		return
	}
	line := shell.Join("kill", "-s", "TERM", "--", "-"+strconv.Itoa(pgid))
	var stdin []byte
	if c.become != nil {
		line, stdin = c.become.wrap(line, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	c.runSession(ctx, line, stdin, nil)
}
