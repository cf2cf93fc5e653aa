package sshd

import (
	"slices"
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

// streams returns the ListenStream= values that make ssh.socket listen as
// the groups do with the given targets.
func streams(groups []*group, targets [][]int) []string {
	var out []string
	for i, g := range groups {
		ports := g.ports()
		if targets[i] != nil {
			ports = targets[i]
		}
		for _, p := range ports {
			s := strconv.Itoa(p)
			if g.pinned {
				s = hostPort(g.addr.host, p)
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// socketEdits plans ssh.socket's drop-in: in phase 1 the socket keeps what
// it listens on now and adds the new ports; in phase 2 it listens as sshd's
// files say. The socket, not sshd's files, decides what listens, so the
// plan's ports are the socket's.
func (p *Plan) socketEdits(fs FileSet, req MoveRequest, groups []*group, targets [2][][]int) {
	final := streams(groups, targets[1])
	p.From = streamPorts(req.Streams)
	if len(p.Phase1) == 0 && slices.Equal(req.Streams, final) {
		p.Listen1, p.Listen2 = p.From, p.From
		return
	}
	first := slices.Clone(req.Streams)
	for _, s := range streams(groups, targets[0]) {
		if !slices.Contains(first, s) {
			first = append(first, s)
		}
	}
	p.Listen1, p.Listen2 = streamPorts(first), streamPorts(final)
	old, exists := fs.Text[SocketDropInPath]
	text1, text2 := socketDropIn(first), socketDropIn(final)
	p.Phase1 = appendEdit(p.Phase1, Edit{Path: SocketDropInPath, Old: old, New: text1, Create: !exists})
	p.Phase2 = appendEdit(p.Phase2, Edit{Path: SocketDropInPath, Old: text1, New: text2})
}

// streamPorts returns the sorted ports of ListenStream= values.
func streamPorts(streams []string) []int {
	var ports []int
	for _, s := range streams {
		if p, ok := StreamPort(s); ok {
			ports = appendMissing(ports, p)
		}
	}
	slices.Sort(ports)
	return ports
}
