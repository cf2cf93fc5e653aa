package lua

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// A value that becomes a command argument is checked by the shape the
// playbook declares, and a refusal names the variable, the value and the
// layer it came from.
func TestCheckVarTypes(t *testing.T) {
	types := map[string]varType{
		"domain": {shape: "domain"}, "host": {shape: "host", optional: true}, "port": {shape: "port"},
		"path": {shape: "path"}, "on": {shape: "bool"}, "unit": {shape: "service"},
	}
	good := map[string]any{"domain": "api.ibmaspera.com", "port": int64(33001), "path": "/opt/aspera/bin", "on": false, "unit": "ssh"}
	for _, tc := range []struct {
		name       string
		inv, extra map[string]any
		want       string // "" when the values pass
	}{
		{"defaults", nil, nil, ""},
		{"strings as -e gives them", nil, map[string]any{"port": "22", "on": "yes", "host": "198.18.0.2"}, ""},
		{"optional unset", nil, map[string]any{"host": ""}, ""},
		{"whole float port", map[string]any{"port": 22.0}, nil, ""},
		{"option as domain", nil, map[string]any{"domain": "-f/etc/shadow"}, `domain "-f/etc/shadow" (from -e): not a domain name`},
		{"server as domain", map[string]any{"domain": "@evil"}, nil, `domain "@evil" (from the inventory): not a domain name`},
		{"-e wins over the inventory", map[string]any{"domain": "-x"}, map[string]any{"domain": "ok.example"}, ""},
		{"the inventory wins over the playbook", map[string]any{"path": "bin"}, nil, `path "bin" (from the inventory): not an absolute path`},
		{"newline in a host", nil, map[string]any{"host": "a\n-b"}, `host "a\n-b" (from -e): not a host name or IP address`},
		{"substitution in a path", nil, map[string]any{"path": "$(id)"}, `path "$(id)" (from -e): not an absolute path`},
		{"unclean path", nil, map[string]any{"path": "/opt/../tmp"}, `not a clean path (/tmp)`},
		{"port out of range", map[string]any{"port": int64(70000)}, nil, `port 70000 (from the inventory): not a port (1-65535)`},
		{"port as option", nil, map[string]any{"port": "--help"}, `port "--help" (from -e): not a port`},
		{"fractional port", nil, map[string]any{"port": 22.5}, `port 22.5 (from -e): not a port`},
		{"list as domain", nil, map[string]any{"domain": []any{"a"}}, `domain [a] (from -e): not a domain name`},
		{"not a boolean", nil, map[string]any{"on": "maybe"}, `on "maybe" (from -e): not true or false`},
		{"unit template", nil, map[string]any{"unit": "getty@tty1.service"}, ""},
		{"option as a service", nil, map[string]any{"unit": "--now"}, `unit "--now" (from -e): not a service name`},
		{"long value cut short", nil, map[string]any{"domain": strings.Repeat("-", 500)}, `domain "` + strings.Repeat("-", 80) + `" (from -e)`},
		{"unset", map[string]any{"domain": nil}, nil, "domain is not set: want a domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkVarTypes(types, []varLayer{{"the playbook's vars", good}, {"the inventory", tc.inv}, {"-e", tc.extra}})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want no error, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseVarTypes(t *testing.T) {
	for src, want := range map[string]string{
		`{ a = "domain", b = "host?", c = "port", d = "path", e = "bool", f = "service" }`: "",
		`{ a = "prot" }`:     `var_types: a: prot is not a type (want bool, domain, host, path, port, service, with ? when it may be unset)`,
		`{ a = 1 }`:          `var_types: a: 1 is not a type`,
		`{ "domain" }`:       `var_types: key 1 is not a variable name`,
		`{ a = "domain??" }`: `var_types: a: domain?? is not a type`,
	} {
		L := glua.NewState()
		if err := L.DoString("return " + src); err != nil {
			t.Fatal(err)
		}
		_, err := parseVarTypes(L.Get(-1).(*glua.LTable))
		L.Close()
		if (want == "") != (err == nil) || err != nil && !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
}
