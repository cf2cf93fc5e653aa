// Package net is the net module: network questions answered on the
// host, so they see its resolver, routes and egress firewall. Resolve and
// Reach are its Go API; binding.go is its Lua binding.
package net

import (
	"fmt"
	"strconv"
	"strings"

	"remedy/lua/change"
	"remedy/lua/remote"
)

// ResolveArgv resolves name as the host's applications do (getent ahosts:
// the hosts file, DNS, as nsswitch.conf says). firewall.allow_domain
// resolves the same way, so the two share one read.
func ResolveArgv(name string) []string { return []string{"getent", "ahosts", "--", name} }

// ParseAhosts returns the distinct addresses in getent ahosts output.
func ParseAhosts(out string) []string {
	var addrs []string
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || seen[f[0]] {
			continue
		}
		seen[f[0]] = true
		addrs = append(addrs, f[0])
	}
	return addrs
}

// Resolve returns name's addresses in the resolver's order; none when it
// does not resolve. name must be a host name or an IP address
// (valid.Host).
func Resolve(s change.Session, name string) ([]string, error) {
	out, err := s.QueryCached(ResolveArgv(name)...)
	if err != nil {
		return nil, err
	}
	// getent exits 2 when the name is not found: an answer, not a failure.
	if out.ExitCode != 0 && out.ExitCode != 2 {
		return nil, fmt.Errorf("getent ahosts %s: exit status %d: %s", name, out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return ParseAhosts(string(out.Stdout)), nil
}

// reachTCP and reachUDP pick the first tool the host has. They are
// constant scripts; host, port and timeout arrive as $1 $2 $3. The first
// line of output names the tool. curl takes a URL, where an IPv6 address
// must be bracketed.
const reachTCP = `if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  echo bash; exec timeout "$3" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2"
elif command -v nc >/dev/null 2>&1; then
  echo nc; exec nc -z -w "$3" -- "$1" "$2"
elif command -v curl >/dev/null 2>&1; then
  case $1 in *:*) h="[$1]" ;; *) h=$1 ;; esac
  echo curl; exec curl -s -o /dev/null --connect-timeout "$3" "telnet://$h:$2" </dev/null
fi
echo none; exit 127`

const reachUDP = `if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  echo bash; exec timeout "$3" bash -c 'exec 3<>"/dev/udp/$0/$1"; printf remedy >&3; head -c1 <&3 >/dev/null' "$1" "$2"
elif command -v nc >/dev/null 2>&1; then
  echo nc; printf remedy | nc -u -w "$3" -- "$1" "$2" | head -c1 | grep -q .; exit
fi
echo none; exit 127`

// Reach is an attempt to reach a peer from the host: Host a host name or
// an IP address (valid.Host), Port 1-65535, Timeout in seconds (more
// than 0, at most 3600: a negative one would reach timeout(1) and nc as
// an option).
type Reach struct {
	Host    string
	Port    int
	UDP     bool
	Timeout float64
}

// Argv is the command that tries the reach.
func (r Reach) Argv() []string {
	script := reachTCP
	if r.UDP {
		script = reachUDP
	}
	return []string{"sh", "-c", script, "sh", r.Host, strconv.Itoa(r.Port), strconv.FormatFloat(r.Timeout, 'f', -1, 64)}
}

// Reached is how a Reach went.
type Reached struct {
	OK  bool
	Via string // the tool: "bash", "nc", "curl", or "none"
	Err string // what went wrong, when not OK
}

// Try runs the reach on the host.
func (r Reach) Try(s change.Session) (Reached, error) {
	out, err := s.Query(r.Argv()...)
	if err != nil {
		return Reached{}, err
	}
	return reached(out), nil
}

// reached interprets a reach script's output.
func reached(out remote.Output) Reached {
	via, _, _ := strings.Cut(strings.TrimSpace(string(out.Stdout)), "\n")
	switch {
	case out.ExitCode == 0:
		return Reached{OK: true, Via: via}
	case via == "none":
		return Reached{Via: via, Err: "no tool to test with: need bash and timeout, nc or curl"}
	case out.ExitCode == 124:
		return Reached{Via: via, Err: "timed out"}
	}
	msg := strings.TrimSpace(string(out.Stderr))
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", out.ExitCode)
	}
	return Reached{Via: via, Err: msg}
}
