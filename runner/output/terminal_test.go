package output

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"remedy/runner/recap"
)

// openPTY opens a pseudo-terminal pair as posix_openpt, unlockpt and
// ptsname do, sized cols x 24.
func openPTY(t *testing.T, cols int) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	if tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	resize(t, tty, cols)
	return master, tty
}

func resize(t *testing.T, tty *os.File, cols int) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(cols), Row: 24}); err != nil {
		t.Fatalf("resize: %v", err)
	}
}

// On a terminal the progress line is on and follows the terminal's
// width as it is at each draw: a window made narrower during a run gets
// a line that fits it.
func TestTerminalTextOptionsOnATerminal(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	_, tty := openPTY(t, 100)
	opt := TerminalTextOptions(tty, 0)
	if !opt.Progress || !opt.Color || opt.Width == nil || opt.Width() != 100 {
		t.Fatalf("TerminalTextOptions(terminal) = %+v, width %d: want progress, colour and 100 columns", opt, opt.Width())
	}
	var buf bytes.Buffer
	text := NewText(&buf, opt)
	hosts := make([]string, 500)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("node-%03d.rack%02d.fleet.example.com", i, i%20)
	}
	text.Start(recap.Play{Name: "p", Hosts: hosts})
	for _, h := range hosts {
		text.HostStarted(h)
	}
	wide := lastDraw(buf.String())
	resize(t, tty, 50)
	text.redraw()
	narrow := lastDraw(buf.String())
	if columns(wide) > 99 || columns(wide) < 90 || columns(narrow) > 49 {
		t.Errorf("at 100 then 50 columns, lines of %d and %d:\n%q\n%q", columns(wide), columns(narrow), wide, narrow)
	}
}

// lastDraw is the text of the last progress line drawn in out.
func lastDraw(out string) string {
	i := strings.LastIndex(out, "\r\x1b[K")
	return out[i+len("\r\x1b[K"):]
}
