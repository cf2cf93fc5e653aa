package net

import (
	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
	"remedy/lua/valid"
)

func init() {
	lua.Register(lua.Module{
		Name: "net",
		Doc: `Network questions answered ON the host, so they see its resolver,
routes and egress firewall. Both run in check mode too.`,
		Funcs: []lua.Func{
			{
				Name:    "resolve",
				Params:  []lua.Param{{Name: "name", Type: "string", Doc: "a host name (RFC 1123) or an IP address"}},
				Returns: []lua.Param{{Name: "addrs", Type: "string[]", Doc: "addresses in the resolver's order; empty when the name does not resolve"}},
				Doc:     "Resolves a name with getent ahosts (hosts file, DNS, as nsswitch.conf says).",
				Call:    netResolve,
			},
			{
				Name:    "reach",
				Params:  []lua.Param{{Name: "opts", Type: `{host: string, port: integer, proto?: "tcp"|"udp", timeout?: number}`, Doc: "host: a host name or IP address; timeout in seconds (at most 3600), default 3"}},
				Returns: []lua.Param{{Name: "res", Type: "remedy.Reach"}},
				Doc: `Tries to reach host:port from the host: TCP connects, with bash's /dev/tcp
under timeout, else nc, else curl. UDP sends a datagram and waits for any
reply (bash /dev/udp or nc), so it needs a service that answers.`,
				Call: netReach,
			},
			{
				Name:    "reach_command",
				Params:  []lua.Param{{Name: "opts", Type: `{host: string, port: integer, proto?: "tcp"|"udp", timeout?: number}`, Doc: "as net.reach takes them"}},
				Returns: []lua.Param{{Name: "argv", Type: "string[]"}},
				Doc: `The command net.reach runs for these options, without running it: list it
in a playbook's prefetch to take the probe with the facts.`,
				Call: netReachCommand,
			},
		},
		Types: []lua.Class{{Name: "remedy.Reach", Doc: "The outcome of net.reach.", Fields: []lua.Param{
			{Name: "ok", Type: "boolean", Doc: "connected (TCP) or got a reply (UDP)"},
			{Name: "via", Type: "string", Doc: `the tool used: "bash", "nc", "curl", or "none" when none exists`},
			{Name: "err", Type: "string", Doc: "what went wrong, when not ok"},
		}}},
	})
}

func netResolve(e *lua.Env, L *glua.LState) int {
	addrs, err := Resolve(e, lua.ShapedArg(L, 1, "net.resolve", valid.Host))
	if err != nil {
		e.Fail(err)
	}
	L.Push(lua.ToLua(L, addrs))
	return 1
}

func netReachCommand(e *lua.Env, L *glua.LState) int {
	argv := L.NewTable()
	for _, a := range reachArg(L, "net.reach_command").Argv() {
		argv.Append(glua.LString(a))
	}
	L.Push(argv)
	return 1
}

// reachArg reads net.reach's options.
func reachArg(L *glua.LState, fn string) Reach {
	o := lua.TableArg(L, 1, fn, false, "host", "port", "proto", "timeout")
	r := Reach{Host: o.Shaped("host", true, valid.Host), Port: o.Port("port", 0)}
	switch proto := o.Str("proto", false); proto {
	case "", "tcp":
	case "udp":
		r.UDP = true
	default:
		lua.ArgError(L, fn, "proto %q must be tcp or udp", proto)
	}
	r.Timeout = o.Number("timeout", 3)
	if !(r.Timeout > 0 && r.Timeout <= 3600) {
		lua.ArgError(L, fn, "timeout %v: want seconds, more than 0 and at most 3600", r.Timeout)
	}
	return r
}

func netReach(e *lua.Env, L *glua.LState) int {
	r, err := reachArg(L, "net.reach").Try(e)
	if err != nil {
		e.Fail(err)
	}
	t := L.NewTable()
	t.RawSetString("ok", glua.LBool(r.OK))
	t.RawSetString("via", glua.LString(r.Via))
	t.RawSetString("err", glua.LString(r.Err))
	L.Push(t)
	return 1
}
