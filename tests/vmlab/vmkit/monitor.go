package vmkit

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

// hmpPrompt ends every answer of qemu's human monitor.
const hmpPrompt = "(qemu) "

// monitor runs one command on the human monitor (HMP) at sock and returns
// what qemu printed for it. savevm and loadvm print nothing when they
// work, so for them any output is the error.
func monitor(ctx context.Context, sock, command string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return "", fmt.Errorf("qemu monitor: %w", err)
	}
	defer c.Close()
	deadline := time.Now().Add(2 * time.Minute)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.SetDeadline(deadline)
	if _, err := readUntilPrompt(c); err != nil { // the greeting
		return "", fmt.Errorf("qemu monitor: %w", err)
	}
	if _, err := fmt.Fprintf(c, "%s\n", command); err != nil {
		return "", fmt.Errorf("qemu monitor: %s: %w", command, err)
	}
	out, err := readUntilPrompt(c)
	if err != nil {
		return "", fmt.Errorf("qemu monitor: %s: %w", command, err)
	}
	return hmpOutput(out, command), nil
}

func readUntilPrompt(c net.Conn) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(out, []byte(hmpPrompt)) {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// terminalEscape matches the cursor movements qemu's line editor echoes.
var terminalEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// hmpOutput strips the line editor's echo of command (it redraws the line
// at every character: "ssasav...savevm boot"), its escapes and the closing
// prompt from an answer.
func hmpOutput(raw []byte, command string) string {
	s := terminalEscape.ReplaceAllString(string(raw), "")
	if i := strings.LastIndex(s, command); i >= 0 {
		s = s[i+len(command):]
	}
	s = strings.TrimSuffix(s, hmpPrompt)
	return strings.TrimSpace(strings.ReplaceAll(s, "\r", ""))
}

// snapshot runs savevm or loadvm on vm's monitor; either prints nothing
// when it works.
func snapshot(ctx context.Context, dir, name, command string) error {
	out, err := monitor(ctx, monitorPath(dir, name), command+" "+snapTag)
	if err == nil && out != "" {
		err = fmt.Errorf("%s", out)
	}
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", name, command, snapTag, err)
	}
	return nil
}
