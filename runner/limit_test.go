package runner

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/melbahja/goph"
	"golang.org/x/crypto/ssh"

	"remedy/lua/remote"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
	}{
		{"1048576", 1 << 20},
		{"512k", 512 << 10},
		{"512K", 512 << 10},
		{"8M", 8 << 20},
		{"8MB", 8 << 20}, // binary, as Ansible's human_to_bytes reads MB
		{"8MiB", 8 << 20},
		{"8 mib", 8 << 20},
		{"1.5G", 3 << 29},
		{"2g", 2 << 30},
		{"1T", 1 << 40},
		{"100b", 100},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "M", "0", "-1M", "8X", "8MiBs", "1e30T", "inf", "NaN"} {
		if got, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestSizeString(t *testing.T) {
	for in, want := range map[Size]string{8 << 20: "8MiB", 3 << 29: "1536MiB", 2 << 30: "2GiB", 1536: "1536B", 4 << 10: "4KiB", 1000: "1000B"} {
		if got := in.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(in), got, want)
		}
	}
}

// A command's stdout and stderr share one budget; what fits it comes
// back whole, one byte more stops the command.
func TestOutputUpToTheLimit(t *testing.T) {
	const limit = 64 << 10
	tests := []struct {
		name           string
		stdout, stderr int
		over           bool
	}{
		{"stdout at the limit", limit, 0, false},
		{"stdout and stderr at the limit", limit / 2, limit / 2, false},
		{"stdout a byte over", limit + 1, 0, true},
		{"stderr a byte over", 0, limit + 1, true},
		{"both a byte over", limit / 2, limit/2 + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConn(execServer(t, func(cmd string, ch ssh.Channel) {
				announce(ch, 4242)
				ch.Write(bytes.Repeat([]byte("o"), tt.stdout))
				ch.Stderr().Write(bytes.Repeat([]byte("e"), tt.stderr))
				exit(ch, 0)
			}, make(chan string, 4)))
			c.maxOutput = limit
			out, err := c.run(t.Context(), "cmd", nil)
			if !tt.over {
				if err != nil || len(out.Stdout) != tt.stdout || len(out.Stderr) != tt.stderr {
					t.Fatalf("got %d+%d bytes, %v; want %d+%d", len(out.Stdout), len(out.Stderr), err, tt.stdout, tt.stderr)
				}
				return
			}
			var le *OutputLimitError
			if !errors.As(err, &le) || !errors.Is(err, remote.ErrOutputLimit) || out.Stdout != nil {
				t.Fatalf("got %d bytes, %v; want the output limit error and no output", len(out.Stdout), err)
			}
			if msg := err.Error(); !strings.Contains(msg, "64KiB") || !strings.Contains(msg, "--max-output") {
				t.Errorf("message %q names neither the limit nor the flag", msg)
			}
		})
	}
}

// A host that streams without end into stdout or stderr is stopped as a
// timed-out command is: its process group is killed from a second
// session, and the run goes on, far before the stream would end.
func TestRunStopsAHostThatStreamsWithoutEnd(t *testing.T) {
	for _, stream := range []string{"stdout", "stderr"} {
		t.Run(stream, func(t *testing.T) {
			kills := make(chan string, 1)
			c := testConn(execServer(t, func(cmd string, ch ssh.Channel) {
				announce(ch, 4242)
				if stream == "stderr" {
					flood(ch.Stderr())
				}
				flood(ch)
			}, kills))
			c.maxOutput = 1 << 20
			err := endsSoon(t, "the flooded command", func() error {
				_, err := c.run(t.Context(), "cat /dev/zero", nil)
				return err
			})
			if !errors.Is(err, remote.ErrOutputLimit) {
				t.Fatalf("got %v, want the output limit", err)
			}
			select {
			case kill := <-kills:
				if !strings.Contains(kill, "kill -s TERM -- -4242") {
					t.Errorf("the second session ran %q, not a kill of group 4242", kill)
				}
			case <-time.After(5 * time.Second):
				t.Error("the flooding command's process group was never killed")
			}
		})
	}
}

// The kill session is itself a command on the host: a host that answers
// it with the same flood, or never answers it, must not make kills of
// kills without end.
func TestKillIsNotKilledInTurn(t *testing.T) {
	floods := func(cmd string, ch ssh.Channel) {
		announce(ch, 4242)
		flood(ch)
	}
	hang := func(cmd string, ch ssh.Channel) {
		announce(ch, 4242)
		for ; ; time.Sleep(50 * time.Millisecond) {
			if _, err := ch.Write([]byte(".")); err != nil {
				return // closed by the client
			}
		}
	}
	for name, serve := range map[string]func(string, ssh.Channel){"floods": floods, "hangs": hang} {
		t.Run(name, func(t *testing.T) {
			c := testConn(execServer(t, serve, nil))
			c.maxOutput, c.cmdTimeout = 1<<20, 200*time.Millisecond
			if err := endsSoon(t, "the command", func() error {
				_, err := c.run(t.Context(), "cmd", nil)
				return err
			}); err == nil {
				t.Error("the command succeeded")
			}
		})
	}
}

// The probe of a new port reads what its true answers within the limit
// too: a flooding host's connection is closed.
func TestProbeStopsAHostThatStreamsWithoutEnd(t *testing.T) {
	client := execServer(t, func(cmd string, ch ssh.Channel) { flood(ch) }, nil)
	err := endsSoon(t, "the probe", func() error { return probe(t.Context(), &goph.Client{Client: client}, 1<<20) })
	if !errors.Is(err, remote.ErrOutputLimit) {
		t.Fatalf("got %v, want the output limit", err)
	}
}

// The pgid announcement is looked for in a first line of bounded length:
// a login shell that writes one endless line to stderr is output, not a
// pile in memory outside the budget.
func TestEndlessFirstStderrLineCountsAgainstTheLimit(t *testing.T) {
	c := testConn(execServer(t, func(cmd string, ch ssh.Channel) { flood(ch.Stderr()) }, nil))
	c.maxOutput = 1 << 20
	err := endsSoon(t, "the command", func() error {
		_, err := c.run(t.Context(), "cmd", nil)
		return err
	})
	if !errors.Is(err, remote.ErrOutputLimit) {
		t.Fatalf("got %v, want the output limit", err)
	}
}

// A file over SFTP is read up to the limit and no further: a host says
// how large a file is only as it sends it.
func TestSFTPReadUpToTheLimit(t *testing.T) {
	dir := t.TempDir()
	const limit = 1 << 20
	for name, size := range map[string]int64{"fits": limit, "huge": 64 << 20} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	client, _ := sftpServer(t)
	c := testConn(client)
	c.maxOutput = limit
	data, err := c.ReadFile(t.Context(), filepath.Join(dir, "fits"))
	if err != nil || len(data) != limit {
		t.Fatalf("a file at the limit: %d bytes, %v", len(data), err)
	}
	path := filepath.Join(dir, "huge")
	data, err = c.ReadFile(t.Context(), path)
	var le *OutputLimitError
	if !errors.As(err, &le) || !le.File || !errors.Is(err, remote.ErrOutputLimit) || data != nil {
		t.Fatalf("a 64 MiB file with a 1 MiB limit: %d bytes, %v", len(data), err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "1MiB") || !strings.Contains(msg, "--max-output") {
		t.Errorf("message %q does not name the path, the limit and the flag", msg)
	}
}

// execServer is an SSH server over a unix socket that runs serve for each
// exec request. A command line that kills a process group is sent to
// kills instead, when kills is not nil, and exits 0.
func execServer(t *testing.T, serve func(cmd string, ch ssh.Channel), kills chan<- string) *ssh.Client {
	return unixServer(t, func(conn net.Conn, srv *ssh.ServerConfig) {
		_, chans, reqs, err := ssh.NewServerConn(conn, srv)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			go serveExec(nc, serve, kills)
		}
	})
}

func serveExec(nc ssh.NewChannel, serve func(string, ssh.Channel), kills chan<- string) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	for req := range reqs {
		var exec struct{ Command string }
		if req.Type != "exec" || ssh.Unmarshal(req.Payload, &exec) != nil {
			req.Reply(false, nil)
			continue
		}
		req.Reply(true, nil)
		go ssh.DiscardRequests(reqs)
		if kills != nil && strings.Contains(exec.Command, "kill -s TERM") {
			kills <- exec.Command
			exit(ch, 0)
			return
		}
		serve(exec.Command, ch)
		return
	}
}

// flood writes to w without end, until the client closes the channel.
func flood(w io.Writer) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// announce says the command's process group is pgid, as announcePGID's
// shell line does.
func announce(ch ssh.Channel, pgid int) {
	ch.Stderr().Write([]byte(pgidMarker + strconv.Itoa(pgid) + "\n"))
}

func exit(ch ssh.Channel, status uint32) {
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
	ch.Close()
}
