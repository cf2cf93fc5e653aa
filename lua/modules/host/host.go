// Package host is the host module: the host a playbook runs on, its
// name, variables and facts.
package host

import (
	"encoding/json"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
)

func init() {
	lua.Register(lua.Module{
		Name: "host",
		Doc:  "The host the playbook is running on.",
		Fields: []lua.Field{
			{Param: lua.Param{Name: "name", Type: "string", Doc: "the host's inventory name"}, Value: hostName},
			{Param: lua.Param{Name: "vars", Type: "table<string, any>", Doc: "the merged variables, the same table every task receives as v"}, Value: hostVars},
			{Param: lua.Param{Name: "facts", Type: "remedy.Facts", Doc: "what was gathered about the host before the first task (empty at the playbook's top level and in prefetch)"}, Value: hostFacts},
		},
		Types: []lua.Class{{
			Name: "remedy.Facts",
			Doc:  "Facts gathered in one round trip, with the playbook's prefetch, before the first task.",
			Fields: []lua.Param{
				{Name: "os_id", Type: "string", Doc: `ID= in /etc/os-release, e.g. "debian"`},
				{Name: "os_version", Type: "string", Doc: "VERSION_ID= in /etc/os-release"},
				{Name: "os_family", Type: "string", Doc: `"debian", "redhat", "suse", ...`},
				{Name: "init", Type: "string", Doc: `"systemd", "sysv" or "none"`},
				{Name: "sshd_version", Type: "string", Doc: `e.g. "OpenSSH_9.2p1"`},
				{Name: "firewall", Type: "string", Doc: `"firewalld", "ufw", "nftables", "iptables-legacy", "iptables-nft" or "none"; "unknown" when remedy cannot read the firewall (firewall_why says why)`},
				{Name: "firewall_why", Type: "string", Doc: "why that firewall governs when several are present"},
				{Name: "selinux", Type: "string", Doc: `"enforcing", "permissive" or "disabled"`},
				{Name: "ssh_socket", Type: "boolean", Doc: "sshd is socket-activated by ssh.socket"},
				{Name: "root", Type: "boolean", Doc: "the connection user is uid 0"},
				{Name: "user", Type: "string", Doc: "the connection user"},
			},
		}},
	})
}

func hostName(e *lua.Env, L *glua.LState) glua.LValue { return glua.LString(e.Name()) }

func hostVars(e *lua.Env, L *glua.LState) glua.LValue { return e.Vars() }

// hostFacts converts Facts through its JSON form so the Lua names are the
// json tags, one source of truth with the runner's JSON output.
func hostFacts(e *lua.Env, L *glua.LState) glua.LValue {
	b, err := json.Marshal(e.Facts())
	if err != nil {
		L.RaiseError("facts: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		L.RaiseError("facts: %v", err)
	}
	return lua.ToLua(L, m)
}
