package tests

import (
	"fmt"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// The Aspera library's readers of the host's configuration are pure Lua
// functions: this runs them in a bare VM on configurations as IBM prints
// and documents them, without a lab.

// stigUserdataPorts is `asuserdata -a | grep port:` as DISA's IBM Aspera
// STIG quotes it from a real HSTS (the HTTP server's ports come first, the
// Node API's second), with the two enable flags asuserdata also prints.
const stigUserdataPorts = `transfer_protocol_options_bind_udp_port: "33001"
    trunk_mcast_port: "0"
    trunk_mcast_port: "0"
port: "4406"
port: "40001"
mgmt_port: "0"
http_port: "8080"
https_port: "8443"
http_port: "9091"
https_port: "9092"
ssh_port: "33001"
db_port: "31415"
enable_http: "false"
enable_https: "true"
`

// trunksUserdata has two trunks, the first off: its port is not a Vlink.
const trunksUserdata = `transfer_protocol_options_bind_udp_port: "33300"
    trunk_id: "1"
    trunk_on: "false"
    trunk_mcast_port: "55500"
    trunk_id: "2"
    trunk_on: "true"
    trunk_mcast_port: "55600"
`

const minimalConf = `<?xml version='1.0' encoding='UTF-8'?>
<CONF version="2">
  <server><server_name>hsts1</server_name></server>
</CONF>
`

// handsOnConf is the <http_server> section IBM's hands-on labs add, with
// a FASP port and a commented-out one that must not be read.
const handsOnConf = `<CONF version="2">
  <!--
  <default><transfer><protocol_options><bind_udp_port>40000</bind_udp_port></protocol_options></transfer></default>
  -->
  <default>
    <transfer>
      <protocol_options>
        <bind_udp_port> 33500 </bind_udp_port>
      </protocol_options>
    </transfer>
  </default>
  <http_server>
    <http_port>8080</http_port>
    <https_port>8443</https_port>
    <enable_http>true</enable_http>
    <enable_https>true</enable_https>
  </http_server>
  <trunks>
    <trunk><id>1</id><on>false</on><mcast_port>55900</mcast_port></trunk>
    <trunk><id>2</id><on>true</on><trunk_mcast_port>55800</trunk_mcast_port></trunk>
  </trunks>
</CONF>
`

func TestAsperaConfigReaders(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	if err := L.DoFile("../playbooks/lib/aspera.lua"); err != nil {
		t.Fatal(err)
	}
	aspera, ok := L.Get(-1).(*glua.LTable)
	if !ok {
		t.Fatalf("playbooks/lib/aspera.lua returned %s, not its module table", L.Get(-1).Type())
	}
	for _, c := range []struct{ name, reader, input, want string }{
		{"STIG asuserdata ports", "config_from_userdata", stigUserdataPorts, "fasp=33001 http=8080/false https=8443/true vlink=nil"},
		{"asuserdata trunks, the first off", "config_from_userdata", trunksUserdata, "fasp=33300 http=nil/false https=nil/false vlink=55600"},
		{"asuserdata printing nothing known", "config_from_userdata", "Usage: asuserdata [options]\n", "fasp=nil http=nil/false https=nil/false vlink=nil"},
		{"aspera.conf without the sections", "config_from_xml", minimalConf, "fasp=nil http=nil/false https=nil/false vlink=nil"},
		{"aspera.conf with comments, http_server and trunks", "config_from_xml", handsOnConf, "fasp=33500 http=8080/true https=8443/true vlink=55800"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := L.CallByParam(glua.P{Fn: aspera.RawGetString(c.reader), NRet: 1, Protect: true}, glua.LString(c.input)); err != nil {
				t.Fatal(err)
			}
			cfg := L.Get(-1).(*glua.LTable)
			L.Pop(1)
			if got := describeAsperaConfig(cfg); got != c.want {
				t.Errorf("%s:\n got %s\nwant %s", c.reader, got, c.want)
			}
		})
	}
}

// describeAsperaConfig renders a config table as
// "fasp=N http=PORT/ENABLED https=PORT/ENABLED vlink=N".
func describeAsperaConfig(cfg *glua.LTable) string {
	server := func(name string) string {
		t, ok := cfg.RawGetString(name).(*glua.LTable)
		if !ok {
			return "missing"
		}
		return fmt.Sprintf("%s/%s", t.RawGetString("port"), t.RawGetString("enabled"))
	}
	return fmt.Sprintf("fasp=%s http=%s https=%s vlink=%s",
		cfg.RawGetString("fasp_port"), server("http"), server("https"), cfg.RawGetString("vlink_port"))
}

// TestAsperaServerSettings resolves the server playbook's variables as
// aspera.server does on a host: the defaults merged with the case's
// variables (given as strings, as an INI inventory or -e gives them), and
// the host's aspera.conf when the case has one.
func TestAsperaServerSettings(t *testing.T) {
	for _, c := range []struct {
		name, conf string
		vars       map[string]string
		want       string // the settings, or how the error starts
	}{
		{"defaults, no Aspera configuration", "", nil,
			"ssh=33001 keep22=false fasp=33001-33001(default) http=[8443] vlink=- alee=-"},
		{"every option", "", map[string]string{"keep_legacy_22": "True", "udp_concurrency": "10", "http_fallback": "both", "vlinks": "yes", "alee": "on"},
			"ssh=33001 keep22=true fasp=33001-33010(default) http=[8443 8080] vlink=55001(default) alee=api.ibmaspera.com"},
		{"ports from aspera.conf, fallback by its flags", handsOnConf, map[string]string{"vlinks": "true"},
			"ssh=33001 keep22=false fasp=33500-33500(/etc/aspera.conf) http=[8443 8080] vlink=55800(/etc/aspera.conf) alee=-"},
		{"vars win over aspera.conf", handsOnConf, map[string]string{"fasp_port": "40001", "http_fallback": "none"},
			"ssh=33001 keep22=false fasp=40001-40001(vars) http=[] vlink=- alee=-"},
		{"an aspera.conf without http_server: no fallback", minimalConf, nil,
			"ssh=33001 keep22=false fasp=33001-33001(default) http=[] vlink=- alee=-"},
		{"SSH staying on 22 keeps 22", "", map[string]string{"ssh_port": "22"},
			"ssh=22 keep22=true fasp=33001-33001(default) http=[8443] vlink=- alee=-"},
		{"Vlink port inside the FASP range", "", map[string]string{"vlinks": "true", "vlink_port": "33005", "udp_concurrency": "10"},
			"error: vlinks: the Vlink port 33005 is a FASP port (33001-33010, from default)"},
		{"range past 65535", "", map[string]string{"fasp_port": "65530", "udp_concurrency": "10"},
			`error: udp_concurrency is "10": want a whole number from 1 to 6`},
		{"unknown fallback", "", map[string]string{"http_fallback": "ftp"},
			`error: http_fallback is "ftp": want auto, https, http, both or none`},
		{"not a boolean", "", map[string]string{"vlinks": "maybe"},
			`error: vlinks is "maybe": want true or false`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := asperaServerSettings(t, c.conf, c.vars)
			if got != c.want && !(strings.HasPrefix(c.want, "error: ") && strings.HasPrefix(got, c.want)) {
				t.Errorf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// asperaStubs stand in for the host: no asuserdata, and aspera.conf (at
// /etc/aspera.conf) holding conf, or missing when conf is "".
const asperaStubs = `
cmd = { query = function() return { stdout = "" } end }
file = { read = function(path) if conf ~= "" and path == "/etc/aspera.conf" then return conf end end }
function fail(msg) error(msg, 0) end
`

const asperaDescribeSettings = `
local aspera, vars = ...
local v = {}
for k, x in pairs(aspera.server_defaults) do v[k] = x end
for k, x in pairs(vars) do v[k] = x end
v.aspera_conf = "/etc/aspera.conf"
local ok, s = pcall(aspera.server, v)
if not ok then return "error: " .. s end
local http = {}
for _, p in ipairs(s.http) do table.insert(http, p.port) end
local vlink = s.vlink and (s.vlink.port .. "(" .. s.vlink.from .. ")") or "-"
return string.format("ssh=%d keep22=%s fasp=%d-%d(%s) http=[%s] vlink=%s alee=%s", s.ssh_port, tostring(s.keep_22),
  s.fasp.lo, s.fasp.hi, s.fasp.from, table.concat(http, " "), vlink, s.alee_domain or "-")
`

func asperaServerSettings(t *testing.T, conf string, vars map[string]string) string {
	t.Helper()
	L := glua.NewState()
	defer L.Close()
	L.SetGlobal("conf", glua.LString(conf))
	if err := L.DoString(asperaStubs); err != nil {
		t.Fatal(err)
	}
	if err := L.DoFile("../playbooks/lib/aspera.lua"); err != nil {
		t.Fatal(err)
	}
	aspera := L.Get(-1)
	L.Pop(1)
	vt := L.NewTable()
	for k, v := range vars {
		vt.RawSetString(k, glua.LString(v))
	}
	describe, err := L.LoadString(asperaDescribeSettings)
	if err != nil {
		t.Fatal(err)
	}
	if err := L.CallByParam(glua.P{Fn: describe, NRet: 1, Protect: true}, aspera, vt); err != nil {
		t.Fatal(err)
	}
	return L.Get(-1).String()
}
