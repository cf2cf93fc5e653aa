package lua_test

import (
	"net"
	"regexp"
	"strings"
	"testing"

	"remedy/lua"
	"remedy/lua/luatest"
	"remedy/lua/remote"
)

func TestNet(t *testing.T) {
	h := luatest.NewLocalHost(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	src := luatest.Task(`local open = net.reach { host = "127.0.0.1", port = v.open, timeout = 2 }
	local shut = net.reach { host = "127.0.0.1", port = v.closed, timeout = 2 }
	expect(open.ok, "open port not reached: %s", open.err)
	expect(not shut.ok and shut.err ~= "", "closed port reached")
	expect(net.resolve("localhost")[1] == "127.0.0.1", "localhost")
	expect(#net.resolve("no-such-name.invalid") == 0, "invalid name resolved")
	return open.via`)
	o := lua.RunOptions{Vars: map[string]any{"open": port, "closed": closedPort}}
	r := luatest.Only(t, h, src, o)
	if r.Status != remote.StatusOK || r.Msg != "bash" {
		t.Fatalf("%+v", r)
	}
}

// Values with a leading dash reach commands as data, or are refused with
// an error that says why; never read as an option.
func TestLeadingDashIsData(t *testing.T) {
	h := luatest.NewLocalHost(t)
	for _, tc := range []struct{ name, body, want string }{
		{"resolve", `return tostring(#net.resolve("--version"))`, `net.resolve: "--version": not a host name or IP address`},
		{"reach host", `net.reach { host = "-x", port = 22 }`, `net.reach: host "-x": not a host name or IP address`},
		{"reach port", `net.reach { host = "localhost", port = "-1" }`, `net.reach: port "-1": not a port (1-65535)`},
		{"reach timeout", `net.reach { host = "localhost", port = 22, timeout = -1 }`, `net.reach: timeout -1: want seconds`},
		{"reach_command", `net.reach_command { host = "@/etc/shadow", port = 443 }`, `net.reach_command: host "@/etc/shadow": not a host name`},
		{"domain_reads", `firewall.domain_reads("-f/etc/shadow")`, `firewall.domain_reads: "-f/etc/shadow": not a domain name`},
		{"allow_domain", `firewall.allow_domain { domain = "+short" }`, `firewall.allow_domain: domain "+short": not a domain name`},
		{"allow_domain port", `firewall.allow_domain { domain = "localhost", port = 70000 }`, `firewall.allow_domain: port "70000": not a port`},
		{"pidfile", `service.reload { name = "x", pidfile = "-n" }`, `pidfile "-n": not an absolute path`},
		{"service name", `service.reload("-x")`, `"-x" is not a service name`},
		{"signal", `service.reload { name = "x", signal = "-9" }`, `signal "-9" is not a signal name`},
		{"owner", `file.write { path = v.dir .. "/o", content = "", owner = "-R" }`, `owner "-R" is not a user`},
		{"stat", `return tostring(file.stat("-L"))`, "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := h.DirVars()
			o.Facts.Init = "none"
			r := luatest.Only(t, h, luatest.Task(tc.body), o)
			if !strings.Contains(r.Msg, tc.want) || optionError.MatchString(r.Msg) {
				t.Fatalf("got %s %q, want %q", r.Status, r.Msg, tc.want)
			}
		})
	}
}

var optionError = regexp.MustCompile(`invalid option|unrecognized option|illegal option|unknown option`)
