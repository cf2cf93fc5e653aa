package labkit

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func testLab(dir string) *Lab {
	st := &state{Options: Options{Dir: dir}, License: "198.18.0.2", Hosts: []hostState{
		{Host: Host{Name: "h1", Addr: "198.18.0.10", Profile: "nftables"}},
		{Host: Host{Name: "h2", Addr: "198.18.0.11", Profile: "iptables-legacy", Egress: true}},
		{Host: Host{Name: "hidden1", Addr: "198.18.2.10", Profile: "ufw", Hidden: true}},
	}}
	return st.lab()
}

// Ansible itself is the oracle: ansible-inventory must read the groups and
// the connection variables the way the lab means them.
func TestInventoryReadsAsAnsibleINI(t *testing.T) {
	RequireTools(t, "ansible-inventory")
	dir := t.TempDir()
	l := testLab(dir)
	path := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(path, inventory(l), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ansible-inventory", "-i", path, "--list")
	// Ansible wants a writable home for its temp files, which nobody lacks.
	cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_LOCAL_TEMP="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-inventory: %v: %s", err, stderr.Bytes())
	}
	var inv struct {
		Meta struct {
			Hostvars map[string]map[string]any `json:"hostvars"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(out, &inv); err != nil {
		t.Fatal(err)
	}
	var groups map[string]struct {
		Hosts []string `json:"hosts"`
	}
	if err := json.Unmarshal(out, &groups); err != nil {
		t.Fatal(err)
	}
	for group, want := range map[string][]string{
		"nftables": {"h1"}, "iptables_legacy": {"h2"}, "ufw": {"hidden1"}, "egress": {"h2"}, "hidden": {"hidden1"},
	} {
		if got := groups[group].Hosts; !slices.Equal(got, want) {
			t.Errorf("group %s = %v, want %v", group, got, want)
		}
	}
	h1 := inv.Meta.Hostvars["h1"]
	if h1["ansible_host"] != "198.18.0.10" || h1["ansible_user"] != "root" || h1["ansible_ssh_private_key_file"] != l.Key {
		t.Errorf("h1 vars = %v", h1)
	}
	wantJump := "-F /dev/null -o UserKnownHostsFile=" + l.KnownHosts + " -o StrictHostKeyChecking=yes" +
		` -o ProxyCommand="ssh -F /dev/null -o UserKnownHostsFile=` + l.KnownHosts +
		" -o StrictHostKeyChecking=yes -i " + l.Key + ` -W %h:%p root@198.18.0.10"`
	if got := inv.Meta.Hostvars["hidden1"]["ansible_ssh_common_args"]; got != wantJump {
		t.Errorf("hidden1 ssh args = %q,\nwant %q", got, wantJump)
	}
}

func TestKnownHostsListsEveryKeyByAddress(t *testing.T) {
	a, err := newKeyPair("ed25519", "root@h1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := newKeyPair("ecdsa", "root@h2")
	if err != nil {
		t.Fatal(err)
	}
	got := string(knownHosts(map[string][]keyPair{"198.18.0.11": {b}, "198.18.0.10": {a}}))
	want := "198.18.0.10 " + string(a.public) + "198.18.0.11 " + string(b.public)
	if got != want {
		t.Errorf("known_hosts:\n%s\nwant:\n%s", got, want)
	}
}
