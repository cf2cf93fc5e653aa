package labkit

import (
	"bufio"
	"os"
	"testing"
)

// The tables were captured from /proc/net in a namespace running
// `socat TCP-LISTEN:8080` and `socat UDP-RECVFROM:5353`, and on the machine
// (a listener on 2024 and a TIME_WAIT connection to a remote port 22).
func TestListeners(t *testing.T) {
	for _, c := range []struct {
		file  string
		proto string
		port  int
		want  bool
	}{
		{"proc-net-tcp-listen.txt", "tcp", 8080, true},
		{"proc-net-tcp-listen.txt", "tcp", 80, false},
		{"proc-net-tcp.txt", "tcp", 2024, true},
		{"proc-net-tcp.txt", "tcp", 22, false},     // only a remote port
		{"proc-net-tcp.txt", "tcp", 0x9BDA, false}, // a connection, not a listener
		{"proc-net-udp.txt", "udp", 5353, true},
		{"proc-net-udp.txt", "udp", 53, false},
	} {
		f, err := os.Open("testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		got := len(listeners(bufio.NewScanner(f), c.proto, c.port)) > 0
		f.Close()
		if got != c.want {
			t.Errorf("%s: listener on %s/%d = %t, want %t", c.file, c.proto, c.port, got, c.want)
		}
	}
}
