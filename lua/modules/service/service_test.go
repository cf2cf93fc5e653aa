package service

import (
	"strings"
	"testing"
)

func TestServiceCommand(t *testing.T) {
	s := Service{Name: "ssh", Pidfile: "/run/sshd.pid", Signal: "HUP"}
	for _, tc := range []struct {
		init, action, want string
	}{
		{"systemd", "reload", "systemctl reload -- ssh"},
		{"sysv", "restart", "service ssh restart"},
		{"none", "reload", "sh -c " + signalScript + " sh /run/sshd.pid HUP"},
		{"none", "restart", "error"},
		{"upstart", "reload", "error"},
	} {
		argv, err := Command(tc.init, tc.action, s)
		got := strings.Join(argv, " ")
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.init, tc.action, got, tc.want)
		}
	}
}
