package tests

import (
	"fmt"
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
	if err := L.DoFile("../lua/lib/aspera.lua"); err != nil {
		t.Fatal(err)
	}
	aspera, ok := L.Get(-1).(*glua.LTable)
	if !ok {
		t.Fatalf("lua/lib/aspera.lua returned %s, not its module table", L.Get(-1).Type())
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
