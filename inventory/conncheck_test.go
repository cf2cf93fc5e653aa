package inventory

import (
	"path/filepath"
	"strings"
	"testing"
)

// badConns are inventories that load, as they do in Ansible, but that
// remedy must not dial: CheckConn names the file and line that set the bad
// value. files[0] is the source given to Load.
var badConns = []struct {
	name  string
	files [][2]string // name, content
	host  string
	file  string // where the error points
	line  int
	msg   string
}{
	{"INI newline in ansible_host", [][2]string{{"hosts.ini", "[web]\nw1 ansible_host='\"198.18.0.5\\n* ssh-ed25519 AAAA\"'\n"}},
		"w1", "hosts.ini", 2, "format character (U+000A)"},
	{"INI NUL in ansible_host", [][2]string{{"hosts.ini", "w1 ansible_host='\"198.18.0.5\\x00\"'\n"}},
		"w1", "hosts.ini", 1, "format character (U+0000)"},
	{"INI space in ansible_host", [][2]string{{"hosts.ini", "w1 ansible_host='198.18.0.5 -oProxyCommand=x'\n"}},
		"w1", "hosts.ini", 1, "white space"},
	{"INI leading dash in ansible_host", [][2]string{{"hosts.ini", "w1 ansible_host=-oProxyCommand=x\n"}},
		"w1", "hosts.ini", 1, "starts with '-'"},
	{"INI known_hosts pattern in ansible_host", [][2]string{{"hosts.ini", "w1 ansible_host=198.18.0.5,*\n"}},
		"w1", "hosts.ini", 1, `holds ','`},
	{"INI escape sequence in ansible_host", [][2]string{{"hosts.ini", "w1 ansible_host='\"\\x1b[2Jok\"'\n"}},
		"w1", "hosts.ini", 1, "format character (U+001B)"},
	{"INI group vars", [][2]string{{"hosts.ini", "[web]\nw1\nw2\n\n[web:vars]\nansible_host=*\n"}},
		"w2", "hosts.ini", 6, `holds '*'`},
	{"INI leading dash in the name", [][2]string{{"hosts.ini", "[web]\n-oProxyCommand=x\n"}},
		"-oProxyCommand=x", "hosts.ini", 2, "starts with '-'"},
	{"INI range of names", [][2]string{{"hosts.ini", "\n-web[1:3]\n"}},
		"-web2", "hosts.ini", 2, "starts with '-'"},
	{"INI name as address", [][2]string{{"hosts.ini", "[web]\nw1\nweb!\n"}},
		"web!", "hosts.ini", 3, "no ansible_host"},
	{"INI port out of range", [][2]string{{"hosts.ini", "[web]\nw1:99999\n"}},
		"w1", "hosts.ini", 2, "not a port"},
	{"INI port not a number", [][2]string{{"hosts.ini", "w1 ansible_port=22x\n"}},
		"w1", "hosts.ini", 1, "not a port"},
	{"INI user with a leading dash", [][2]string{{"hosts.ini", "[all:vars]\nansible_user=-oProxyCommand=x\n[web]\nw1\n"}},
		"w1", "hosts.ini", 2, "starts with '-'"},
	{"INI key file with a control character", [][2]string{{"hosts.ini", "w1 ansible_ssh_private_key_file='\"/k\\x1b]0;\"'\n"}},
		"w1", "hosts.ini", 1, "format character"},
	{"INI key file with a leading dash", [][2]string{{"hosts.ini", "w1 ansible_ssh_private_key_file=-oProxyCommand=x\n"}},
		"w1", "hosts.ini", 1, "starts with '-'"},
	{"INI jump host with a leading dash", [][2]string{{"hosts.ini", "w1 ansible_ssh_common_args='-J -oProxyCommand=x'\n"}},
		"w1", "hosts.ini", 1, `jump host "-oProxyCommand=x"`},
	{"INI jump user with a leading dash", [][2]string{{"hosts.ini", "w1 ansible_ssh_common_args='-J -l@bastion'\n"}},
		"w1", "hosts.ini", 1, `user "-l"`},
	{"INI jump port", [][2]string{{"hosts.ini", "w1 ansible_ssh_common_args='-o ProxyJump=ops@bastion:0'\n"}},
		"w1", "hosts.ini", 1, "not a port"},
	{"INI ProxyCommand ssh -W with a bad bastion", [][2]string{{"hosts.ini", "w1 ansible_ssh_common_args='-o ProxyCommand=\"ssh -W %h:%p b,*\"'\n"}},
		"w1", "hosts.ini", 1, `holds ','`},
	{"INI ProxyCommand not a jump", [][2]string{{"hosts.ini", "w1 ansible_ssh_extra_args='-o ProxyCommand=\"nc proxy %h %p\"'\n"}},
		"w1", "hosts.ini", 1, "ansible_ssh_extra_args"},
	{"INI unclosed quote in ssh args", [][2]string{{"hosts.ini", "w1 ansible_ssh_common_args=\"-o 'ProxyJump=bastion\"\n"}},
		"w1", "hosts.ini", 1, "no closing quotation"},
	{"INI ssh args user", [][2]string{{"hosts.ini", "w1 ansible_ssh_common_args='-o User=-x'\n"}},
		"w1", "hosts.ini", 1, `user "-x"`},
	{"INI ssh args port", [][2]string{{"hosts.ini", "w1 ansible_ssh_common_args='-p 70000'\n"}},
		"w1", "hosts.ini", 1, "not a port"},
	{"INI known_hosts file with a leading dash", [][2]string{{"hosts.ini", "w1 ansible_ssh_common_args='-o UserKnownHostsFile=-x'\n"}},
		"w1", "hosts.ini", 1, "UserKnownHostsFile"},
	{"YAML host vars", [][2]string{{"hosts.yml", "all:\n  hosts:\n    w1:\n      ansible_port: 22\n      ansible_host: \"198.18.0.5\\nx\"\n"}},
		"w1", "hosts.yml", 5, "format character (U+000A)"},
	{"YAML group vars", [][2]string{{"hosts.yml", "web:\n  hosts:\n    w1:\n  vars:\n    a: 1\n    ansible_user: \"-x\"\n"}},
		"w1", "hosts.yml", 6, "starts with '-'"},
	{"YAML name with a space", [][2]string{{"hosts.yml", "web:\n  hosts:\n    w1:\n    w 2:\n      ansible_host: 198.18.0.5\n"}},
		"w 2", "hosts.yml", 4, "white space"},
	{"YAML address as a list", [][2]string{{"hosts.yml", "all:\n  hosts:\n    w1:\n      ansible_host: [a, b]\n"}},
		"w1", "hosts.yml", 4, "not a single value"},
	{"YAML merge key", [][2]string{{"hosts.yml", "all:\n  hosts:\n    w1:\n      <<: {ansible_host: \"-x\"}\n      a: 1\n"}},
		"w1", "hosts.yml", 4, "starts with '-'"},
	{"JSON", [][2]string{{"hosts.json", "{\"all\": {\"hosts\": {\n  \"w1\": {\"ansible_host\": \"198.18.0.5\\r\"}}}}\n"}},
		"w1", "hosts.json", 2, "format character (U+000D)"},
	{"group_vars file", [][2]string{{"hosts.ini", "[web]\nw1\n"}, {"group_vars/web.yml", "a: 1\nansible_ssh_common_args: -J 'x y'\n"}},
		"w1", "group_vars/web.yml", 2, "white space"},
	{"host_vars directory", [][2]string{{"hosts.ini", "[web]\nw1\n"}, {"host_vars/w1/10.yml", "ansible_host: ok.example\n"}, {"host_vars/w1/20.yml", "\nansible_host: \"a\\u202eb\"\n"}},
		"w1", "host_vars/w1/20.yml", 2, "format character (U+202E)"},
	{"inventory directory", [][2]string{{"inv/10-web", "[web]\nw1 ansible_host=198.18.0.5\n"}, {"inv/20-db.yml", "db:\n  hosts:\n    w1:\n      ansible_host: \"198.18.0.5 \"\n"}},
		"w1", "inv/20-db.yml", 4, "white space"},
}

func TestCheckConnNamesFileAndLine(t *testing.T) {
	for _, tc := range badConns {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for _, f := range tc.files {
				files[f[0]] = f[1]
			}
			writeFiles(t, dir, files)
			src := filepath.Join(dir, tc.files[0][0])
			if filepath.Base(filepath.Dir(tc.files[0][0])) == "inv" {
				src = filepath.Dir(src)
			}
			inv, err := Load([]string{src})
			if err != nil {
				t.Fatalf("Load: %v (the inventory must load: Ansible reads it)", err)
			}
			h, ok := inv.hosts[tc.host]
			if !ok {
				t.Fatalf("no host %q", tc.host)
			}
			checkError(t, h.CheckConn(), filepath.Join(dir, tc.file), tc.line, tc.msg)
		})
	}
}

func TestCheckConnHostList(t *testing.T) {
	inv, err := Load([]string{"198.18.0.5,-oProxyCommand=x,"})
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.hosts["198.18.0.5"].CheckConn(); err != nil {
		t.Errorf("198.18.0.5: %v", err)
	}
	checkError(t, inv.hosts["-oProxyCommand=x"].CheckConn(), `-i "198.18.0.5,-oProxyCommand=x,"`, 0, "starts with '-'")
}

// The value a host uses is checked, wherever it comes from; one it
// overrides is not used, and not checked.
func TestCheckConnChecksTheWinningValue(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hosts.ini": "[web]\nw1 ansible_host=198.18.0.5\nw2\n[web:vars]\nansible_host=bad,*\n",
	})
	inv, err := Load([]string{filepath.Join(dir, "hosts.ini")})
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.hosts["w1"].CheckConn(); err != nil {
		t.Errorf("w1 overrides the group's address: %v", err)
	}
	checkError(t, inv.hosts["w2"].CheckConn(), filepath.Join(dir, "hosts.ini"), 5, "holds ','")
}

func TestCheckConnAcceptsUsualValues(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"hosts.yml": `all:
  hosts:
    web_01.example.com:
    v6:
      ansible_host: "fe80::1%eth0"
      ansible_port: "2222"
    ad:
      ansible_host: 198.18.0.5
      ansible_user: alice@corp.example
      ansible_ssh_private_key_file: ~/My Keys/id_ed25519
      ansible_ssh_common_args: >-
        -o "UserKnownHostsFile=~/.ssh/site hosts"
        -J ops@[2001:db8::1]:2222,root@198.18.0.1
    behind:
      ansible_ssh_common_args: -o ProxyCommand="ssh -o UserKnownHostsFile=/k -W %h:%p -p 2200 ops@bastion.example"
`})
	inv, err := Load([]string{filepath.Join(dir, "hosts.yml"), "198.18.0.9:2222,"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range inv.hostOrder {
		if err := h.CheckConn(); err != nil {
			t.Errorf("%s: %v", h.Name, err)
		}
	}
	lab, err := Load([]string{"testdata/oracle/lab/inventory.ini"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range lab.hostOrder {
		if err := h.CheckConn(); err != nil {
			t.Errorf("lab inventory: %v", err)
		}
	}
}

func TestParseHop(t *testing.T) {
	tests := []struct {
		spec string
		want Hop
		err  string
	}{
		{"bastion", Hop{Host: "bastion"}, ""},
		{"ops@198.18.0.1:2222", Hop{User: "ops", Host: "198.18.0.1", Port: 2222}, ""},
		{"a@corp@bastion", Hop{User: "a@corp", Host: "bastion"}, ""},
		{"[2001:db8::1]:22", Hop{Host: "2001:db8::1", Port: 22}, ""},
		{"2001:db8::1", Hop{Host: "2001:db8::1"}, ""},
		{"[bastion]", Hop{Host: "bastion"}, ""},
		{"[2001:db8::1", Hop{}, "without ']'"},
		{"[::1]x", Hop{}, "after ']'"},
		{"bastion:ssh", Hop{}, "not a port"},
		{"@bastion", Hop{}, "is empty"},
		{"ops@", Hop{}, "is empty"},
		{"-oProxyCommand=x", Hop{}, "starts with '-'"},
		{"b*", Hop{}, "holds '*'"},
	}
	for _, tt := range tests {
		got, err := ParseHop(tt.spec)
		if tt.err == "" && (err != nil || got != tt.want) {
			t.Errorf("ParseHop(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("ParseHop(%q): err = %v, want one saying %q", tt.spec, err, tt.err)
		}
	}
}
