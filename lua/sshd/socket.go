package sshd

import (
	"strconv"
	"strings"
)

// SocketDropInPath is where remedy puts the ssh.socket ports. Drop-ins apply
// in file-name order across directories, so it comes after Ubuntu's
// addresses.conf and the 24.04 generator's, and its empty ListenStream=
// resets whatever they set.
const SocketDropInPath = "/etc/systemd/system/ssh.socket.d/remedy-port.conf"

// SocketUnitCommand prints ssh.socket with every drop-in, each file headed
// by a "# /path" comment.
var SocketUnitCommand = []string{"systemctl", "cat", "ssh.socket"}

// ParseListenStreams reads `systemctl cat ssh.socket` and returns the
// ListenStream= values in effect, in order. An empty assignment clears the
// list, as systemd does, so a drop-in's reset is honoured.
func ParseListenStreams(out string) []string {
	var streams []string
	section := ""
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = line
		case section == "[Socket]":
			key, value, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(key) != "ListenStream" {
				continue
			}
			if value = strings.TrimSpace(value); value == "" {
				streams = nil
			} else {
				streams = append(streams, value)
			}
		}
	}
	return streams
}

// StreamPort returns the port of a ListenStream= value: "22",
// "0.0.0.0:22", "[::]:22". Paths (AF_UNIX) and vsock addresses have none.
func StreamPort(stream string) (int, bool) {
	if i := strings.LastIndexByte(stream, ':'); i >= 0 {
		if strings.HasPrefix(stream, "vsock:") {
			return 0, false
		}
		stream = stream[i+1:]
	}
	p, err := strconv.Atoi(stream)
	return p, err == nil && p > 0 && p < 65536
}

// socketDropIn renders the drop-in that makes ssh.socket listen on streams.
func socketDropIn(streams []string) string {
	var b strings.Builder
	b.WriteString("# Written by " + Marker + ": the ports sshd listens on.\n[Socket]\nListenStream=\n")
	for _, s := range streams {
		b.WriteString("ListenStream=" + s + "\n")
	}
	return b.String()
}
