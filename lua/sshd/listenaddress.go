package sshd

import (
	"fmt"
	"strconv"
	"strings"
)

// listenAddr is one ListenAddress line's meaning.
type listenAddr struct {
	host    string
	port    int // 0: the address takes every Port
	rdomain string
}

// parseListenAddress reads ListenAddress's arguments as sshd does:
// "host", "host:port", "[v6]:port", a bare IPv6 address (two or more
// colons, no brackets), then optionally "rdomain NAME".
func parseListenAddress(args []string) (listenAddr, error) {
	if len(args) == 0 {
		return listenAddr{}, fmt.Errorf("ListenAddress without an address")
	}
	var la listenAddr
	switch rest := args[1:]; {
	case len(rest) == 2 && rest[0] == "rdomain":
		la.rdomain = rest[1]
	case len(rest) != 0:
		return listenAddr{}, fmt.Errorf("bad ListenAddress syntax")
	}
	a := args[0]
	if !strings.Contains(a, "[") && strings.Count(a, ":") >= 2 {
		la.host = a
		return la, nil
	}
	host, port := a, ""
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return listenAddr{}, fmt.Errorf("bad address:port usage %q", a)
		}
		host, port = a[1:end], strings.TrimPrefix(a[end+1:], ":")
	} else if h, p, ok := strings.Cut(a, ":"); ok {
		host, port = h, p
	}
	if port != "" {
		p, err := parsePort(port)
		if err != nil {
			return listenAddr{}, err
		}
		la.port = p
	}
	la.host = host
	return la, nil
}

// hostPort formats an address and port the way ListenAddress and
// ListenStream= both read them.
func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("bad port number %q", s)
	}
	return p, nil
}
