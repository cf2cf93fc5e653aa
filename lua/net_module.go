package lua

import (
	"fmt"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/remote"
	"remedy/lua/valid"
)

func init() {
	Register(Module{
		Name: "net",
		Doc: `Network questions answered ON the host, so they see its resolver,
routes and egress firewall. Both run in check mode too.`,
		Funcs: []Func{
			{
				Name:    "resolve",
				Params:  []Param{{"name", "string", "a host name (RFC 1123) or an IP address"}},
				Returns: []Param{{"addrs", "string[]", "addresses in the resolver's order; empty when the name does not resolve"}},
				Doc:     "Resolves a name with getent ahosts (hosts file, DNS, as nsswitch.conf says).",
				Call:    netResolve,
			},
			{
				Name:    "reach",
				Params:  []Param{{"opts", `{host: string, port: integer, proto?: "tcp"|"udp", timeout?: number}`, "host: a host name or IP address; timeout in seconds (at most 3600), default 3"}},
				Returns: []Param{{"res", "remedy.Reach", ""}},
				Doc: `Tries to reach host:port from the host: TCP connects, with bash's /dev/tcp
under timeout, else nc, else curl. UDP sends a datagram and waits for any
reply (bash /dev/udp or nc), so it needs a service that answers.`,
				Call: netReach,
			},
			{
				Name:    "reach_command",
				Params:  []Param{{"opts", `{host: string, port: integer, proto?: "tcp"|"udp", timeout?: number}`, "as net.reach takes them"}},
				Returns: []Param{{"argv", "string[]", ""}},
				Doc: `The command net.reach runs for these options, without running it: list it
in a playbook's prefetch to take the probe with the facts.`,
				Call: netReachCommand,
			},
		},
		Types: []Class{{Name: "remedy.Reach", Doc: "The outcome of net.reach.", Fields: []Param{
			{"ok", "boolean", "connected (TCP) or got a reply (UDP)"},
			{"via", "string", `the tool used: "bash", "nc", "curl", or "none" when none exists`},
			{"err", "string", "what went wrong, when not ok"},
		}}},
	})
}

// parseAhosts returns the distinct addresses in getent ahosts output.
func parseAhosts(out string) []string {
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

func netResolve(e *Env, L *glua.LState) int {
	name := ShapedArg(L, 1, "net.resolve", valid.Host)
	// firewall.allow_domain resolves the same name the same way: one read.
	out, err := e.QueryCached(resolveArgv(name)...)
	if err != nil {
		e.Fail(err)
	}
	// getent exits 2 when the name is not found: an answer, not a failure.
	if out.ExitCode != 0 && out.ExitCode != 2 {
		e.Fail(fmt.Errorf("getent ahosts %s: exit status %d: %s", name, out.ExitCode, remote.Excerpt(out.Stderr)))
	}
	L.Push(ToLua(L, parseAhosts(string(out.Stdout))))
	return 1
}

// reachTCP and reachUDP pick the first tool the host has. They are
// constant scripts; host, port and timeout arrive as $1 $2 $3. The first
// line of output names the tool.
const reachTCP = `if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  echo bash; exec timeout "$3" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2"
elif command -v nc >/dev/null 2>&1; then
  echo nc; exec nc -z -w "$3" -- "$1" "$2"
elif command -v curl >/dev/null 2>&1; then
  echo curl; exec curl -s -o /dev/null --connect-timeout "$3" "telnet://$1:$2" </dev/null
fi
echo none; exit 127`

const reachUDP = `if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  echo bash; exec timeout "$3" bash -c 'exec 3<>"/dev/udp/$0/$1"; printf remedy >&3; head -c1 <&3 >/dev/null' "$1" "$2"
elif command -v nc >/dev/null 2>&1; then
  echo nc; printf remedy | nc -u -w "$3" -- "$1" "$2" | head -c1 | grep -q .; exit
fi
echo none; exit 127`

func netReachCommand(e *Env, L *glua.LState) int {
	argv := L.NewTable()
	for _, a := range reachArgv(L, "net.reach_command") {
		argv.Append(glua.LString(a))
	}
	L.Push(argv)
	return 1
}

// reachArgv is the command that tries the reach its options ask for.
func reachArgv(L *glua.LState, fn string) []string {
	o := TableArg(L, 1, fn, false, "host", "port", "proto", "timeout")
	host := o.Shaped("host", true, valid.Host)
	port := o.Port("port", 0)
	script := reachTCP
	switch proto := o.Str("proto", false); proto {
	case "", "tcp":
	case "udp":
		script = reachUDP
	default:
		ArgError(L, fn, "proto %q must be tcp or udp", proto)
	}
	// A negative timeout would reach timeout(1) and nc as an option.
	secs := o.Number("timeout", 3)
	if !(secs > 0 && secs <= 3600) {
		ArgError(L, fn, "timeout %v: want seconds, more than 0 and at most 3600", secs)
	}
	timeout := strconv.FormatFloat(secs, 'f', -1, 64)
	return []string{"sh", "-c", script, "sh", host, strconv.Itoa(port), timeout}
}

// reachResult interprets a reach script's output.
func reachResult(out remote.Output) (ok bool, via, msg string) {
	via, _, _ = strings.Cut(strings.TrimSpace(string(out.Stdout)), "\n")
	switch {
	case out.ExitCode == 0:
		return true, via, ""
	case via == "none":
		return false, via, "no tool to test with: need bash and timeout, nc or curl"
	case out.ExitCode == 124:
		return false, via, "timed out"
	}
	msg = strings.TrimSpace(string(out.Stderr))
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", out.ExitCode)
	}
	return false, via, msg
}

func netReach(e *Env, L *glua.LState) int {
	out, err := e.Query(reachArgv(L, "net.reach")...)
	if err != nil {
		e.Fail(err)
	}
	ok, via, msg := reachResult(out)
	t := L.NewTable()
	t.RawSetString("ok", glua.LBool(ok))
	t.RawSetString("via", glua.LString(via))
	t.RawSetString("err", glua.LString(msg))
	L.Push(t)
	return 1
}
