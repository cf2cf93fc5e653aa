package lua

import (
	"encoding/json"

	glua "github.com/yuin/gopher-lua"
)

func init() {
	Register(Module{
		Name: "host",
		Doc:  "The host the playbook is running on.",
		Fields: []Field{
			{Param{"name", "string", "the host's inventory name"}, hostName},
			{Param{"vars", "table<string, any>", "the merged variables, the same table every task receives as v"}, hostVars},
			{Param{"facts", "remedy.Facts", "what was gathered about the host before the first task (empty at the playbook's top level and in prefetch)"}, hostFacts},
		},
		Types: []Class{{
			Name: "remedy.Facts",
			Doc:  "Facts gathered in one round trip, with the playbook's prefetch, before the first task.",
			Fields: []Param{
				{"os_id", "string", `ID= in /etc/os-release, e.g. "debian"`},
				{"os_version", "string", "VERSION_ID= in /etc/os-release"},
				{"os_family", "string", `"debian", "redhat", "suse", ...`},
				{"init", "string", `"systemd", "sysv" or "none"`},
				{"sshd_version", "string", `e.g. "OpenSSH_9.2p1"`},
				{"firewall", "string", `"firewalld", "ufw", "nftables", "iptables-legacy", "iptables-nft" or "none"`},
				{"firewall_why", "string", "why that firewall governs when several are present"},
				{"selinux", "string", `"enforcing", "permissive" or "disabled"`},
				{"ssh_socket", "boolean", "sshd is socket-activated by ssh.socket"},
				{"root", "boolean", "the connection user is uid 0"},
				{"user", "string", "the connection user"},
			},
		}},
	})
}

func hostName(e *Env, L *glua.LState) glua.LValue {
	if e.host == nil {
		return glua.LString("")
	}
	return glua.LString(e.host.Name())
}

func hostVars(e *Env, L *glua.LState) glua.LValue { return e.vars }

// hostFacts converts Facts through its JSON form so the Lua names are the
// json tags, one source of truth with the runner's JSON output.
func hostFacts(e *Env, L *glua.LState) glua.LValue {
	b, err := json.Marshal(e.facts)
	if err != nil {
		L.RaiseError("facts: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		L.RaiseError("facts: %v", err)
	}
	return toLua(L, m)
}
