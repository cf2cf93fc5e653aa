package tests

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"remedy/tests/lab/labkit"
)

func (r *remedyRunner) unknownKey(t *testing.T) {
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	args := []string{"run", pb, "-i", inventoryWithoutKnownHosts(t, r.lab.Inventory), "-l", "!hidden", "--known-hosts", kh}

	res := r.run(t, args...)
	if res.code != 4 || strings.Count(res.stdout, "--accept-new-host-keys") != len(r.visible()) {
		t.Fatalf("unknown keys: want exit 4 and every host saying how to accept its key: %s", res)
	}
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Errorf("a refused key was recorded in %s (stat: %v)", kh, err)
	}

	if res = r.run(t, append(args, "--accept-new-host-keys")...); res.code != 0 {
		t.Fatalf("--accept-new-host-keys: want exit 0: %s", res)
	}
	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.visible() {
		if !strings.Contains(string(data), h.Addr+" ") {
			t.Errorf("%s (%s) not recorded in %s:\n%s", h.Name, h.Addr, kh, data)
		}
	}
	if res = r.run(t, args...); res.code != 0 {
		t.Fatalf("keys recorded on first use, then a plain run: want exit 0: %s", res)
	}
}

func (r *remedyRunner) changedKey(t *testing.T) {
	victim := r.visible()[1]
	real, err := os.ReadFile(r.lab.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	impostor := newPublicKey(t)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(real)), "\n") {
		if strings.HasPrefix(l, victim.Addr+" ") {
			l = victim.Addr + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(impostor)))
		}
		lines = append(lines, l)
	}
	kh := runnerFile(t, "known_hosts", strings.Join(lines, "\n")+"\n")
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)

	// Even with --accept-new-host-keys, a changed key is refused.
	res := r.run(t, "run", pb, "-i", inventoryWithoutKnownHosts(t, r.lab.Inventory), "-l", "!hidden", "--known-hosts", kh, "--accept-new-host-keys", "-o", "json")
	if res.code != 4 {
		t.Fatalf("want exit 4: %s", res)
	}
	doc := parseRunJSON(t, res)
	for _, lh := range r.visible() {
		h := doc.host(t, lh.Name)
		if lh.Name != victim.Name {
			if h.Unreachable || h.Stats.Failed != 0 {
				t.Errorf("%s failed beside the changed host: %+v", h.Name, h)
			}
			continue
		}
		if !h.Unreachable || !strings.Contains(h.Error, "HOST KEY CHANGED") || !strings.Contains(h.Error, victim.Name) ||
			!strings.Contains(h.Error, ssh.FingerprintSHA256(impostor)) {
			t.Errorf("%s: want a changed-key refusal naming the host and the fingerprint on record, got %q", h.Name, h.Error)
		}
	}
	after, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != strings.Join(lines, "\n")+"\n" {
		t.Errorf("known_hosts changed after a refused key:\n%s", after)
	}
}

func newPublicKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// inventoryWithoutKnownHosts copies the lab's inventory without its
// -o UserKnownHostsFile=, which remedy honours: these tests choose the only
// known_hosts file remedy may trust with --known-hosts.
func inventoryWithoutKnownHosts(t *testing.T, inv string) string {
	t.Helper()
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	stripped := regexp.MustCompile(`-o UserKnownHostsFile=\S+`).ReplaceAll(data, nil)
	if string(stripped) == string(data) {
		t.Fatalf("%s names no UserKnownHostsFile: the test would prove nothing new", inv)
	}
	return runnerFile(t, "inventory.ini", string(stripped))
}

// labKeyLines are the lab's known_hosts lines for addrs.
func (r *remedyRunner) labKeyLines(t *testing.T, addrs ...string) string {
	t.Helper()
	data, err := os.ReadFile(r.lab.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, l := range strings.SplitAfter(string(data), "\n") {
		addr, _, _ := strings.Cut(l, " ")
		if slices.Contains(addrs, addr) {
			out.WriteString(l)
		}
	}
	if out.Len() == 0 {
		t.Fatalf("no keys for %v in %s", addrs, r.lab.KnownHosts)
	}
	return out.String()
}

// rootLine is an inventory line that logs in to h as root with the lab
// key, plus more.
func (r *remedyRunner) rootLine(h labkit.Host, more string) string {
	return fmt.Sprintf("%s ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s %s\n", h.Name, h.Addr, r.lab.Key, more)
}

// knownHostsScopedToTheirHost: a UserKnownHostsFile in one host's
// ansible_ssh_common_args vouches for that host and its bastions only.
// Every host of the run has the same empty operator's known_hosts.
func (r *remedyRunner) knownHostsScopedToTheirHost(t *testing.T) {
	vis := r.visible()
	a, b, bastion := vis[1], vis[2], vis[0]
	var hidden []labkit.Host
	for _, h := range r.lab.Hosts {
		if h.Hidden {
			hidden = append(hidden, h)
		}
	}
	viaJ, noFiles, viaProxy := hidden[0], hidden[1], hidden[2]
	// b's file also holds a's key: it must not vouch for a.
	fileB := runnerFile(t, "b_known_hosts", r.labKeyLines(t, a.Addr, b.Addr))
	fileJ := runnerFile(t, "j_known_hosts", r.labKeyLines(t, bastion.Addr, viaJ.Addr))
	own := func(h labkit.Host) string { return runnerFile(t, h.Name+"_known_hosts", r.labKeyLines(t, h.Addr)) }
	fileBastion := runnerFile(t, "bastion_known_hosts", r.labKeyLines(t, bastion.Addr))
	inv := runnerFile(t, "scoped.ini", r.rootLine(a, "")+
		r.rootLine(b, "ansible_ssh_common_args='-o UserKnownHostsFile="+fileB+"'")+
		r.rootLine(viaJ, "ansible_ssh_common_args='-o UserKnownHostsFile="+fileJ+" -J root@"+bastion.Addr+"'")+
		// The same bastion, for a host whose own file holds only its key.
		r.rootLine(noFiles, "ansible_ssh_common_args='-o UserKnownHostsFile="+own(noFiles)+" -J root@"+bastion.Addr+"'")+
		// OpenSSH checks a ProxyCommand's bastion against that ssh's own files.
		r.rootLine(viaProxy, `ansible_ssh_common_args='-o UserKnownHostsFile=`+own(viaProxy)+
			` -o ProxyCommand="ssh -o UserKnownHostsFile=`+fileBastion+` -i `+r.lab.Key+` -W %h:%p root@`+bastion.Addr+`"'`))
	operator := runnerFile(t, "operator_known_hosts", "")
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	res := r.run(t, "run", pb, "-i", inv, "--known-hosts", operator, "-o", "json")
	if res.code != 4 {
		t.Fatalf("want exit 4 (a and %s unreachable): %s", noFiles.Name, res)
	}
	doc := parseRunJSON(t, res)
	for _, h := range []labkit.Host{b, viaJ, viaProxy} {
		if jh := doc.host(t, h.Name); jh.Unreachable || jh.Stats.Failed != 0 {
			t.Errorf("%s, vouched for by its own file: %+v", h.Name, jh)
		}
	}
	if jh := doc.host(t, a.Name); !jh.Unreachable || !strings.Contains(jh.Error, "unknown host key") {
		t.Errorf("%s, whose key only b's file holds: want unreachable with an unknown key, got %+v", a.Name, jh)
	}
	if jh := doc.host(t, noFiles.Name); !jh.Unreachable || !strings.Contains(jh.Error, "bastion "+bastion.Addr) || !strings.Contains(jh.Error, "unknown host key") {
		t.Errorf("%s, whose files do not hold the bastion's key: want its bastion refused, got %+v", noFiles.Name, jh)
	}
	if data, _ := os.ReadFile(operator); len(data) != 0 {
		t.Errorf("the operator's known_hosts was written without --accept-new-host-keys:\n%s", data)
	}
}

// newKeysRecordedForTheOperator: --accept-new-host-keys records into
// --known-hosts, else ~/.ssh/known_hosts, never into a file the
// inventory names.
func (r *remedyRunner) newKeysRecordedForTheOperator(t *testing.T) {
	op := *r
	op.home = t.TempDir()
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	invFile := filepath.Join(t.TempDir(), "inventory_known_hosts")
	h1, h2 := r.visible()[3], r.visible()[4]
	inv := func(h labkit.Host) string {
		return runnerFile(t, "tofu.ini", r.rootLine(h, "ansible_ssh_common_args='-o UserKnownHostsFile="+invFile+"'"))
	}
	home := filepath.Join(op.home, ".ssh", "known_hosts")
	if res := op.run(t, "run", pb, "-i", inv(h1), "--accept-new-host-keys"); res.code != 0 {
		t.Fatalf("--accept-new-host-keys: want exit 0: %s", res)
	}
	if data, err := os.ReadFile(home); err != nil || !strings.HasPrefix(string(data), h1.Addr+" ") {
		t.Errorf("%s not recorded in ~/.ssh/known_hosts: %q, %v", h1.Name, data, err)
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if res := op.run(t, "run", pb, "-i", inv(h2), "--accept-new-host-keys", "--known-hosts", kh); res.code != 0 {
		t.Fatalf("--accept-new-host-keys --known-hosts: want exit 0: %s", res)
	}
	if data, err := os.ReadFile(kh); err != nil || !strings.HasPrefix(string(data), h2.Addr+" ") {
		t.Errorf("%s not recorded in --known-hosts: %q, %v", h2.Name, data, err)
	}
	if data, _ := os.ReadFile(home); strings.Contains(string(data), h2.Addr+" ") {
		t.Errorf("%s recorded in ~/.ssh/known_hosts beside --known-hosts:\n%s", h2.Name, data)
	}
	if _, err := os.Stat(invFile); !os.IsNotExist(err) {
		t.Errorf("the inventory's UserKnownHostsFile was written (stat: %v)", err)
	}
	if res := op.run(t, "run", pb, "-i", inv(h1)); res.code != 0 {
		t.Errorf("the key recorded on first use, then a plain run: want exit 0: %s", res)
	}
}

// passwordsOnlyToVouchedHosts: no SSH or sudo password goes to a host
// whose key no operator's known_hosts held before the run.
func (r *remedyRunner) passwordsOnlyToVouchedHosts(t *testing.T) {
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	hosts := r.visible()[4:6]
	var pw, become strings.Builder
	fmt.Fprintf(&pw, "[all:vars]\nansible_user=%s\nansible_password='%s'\n[targets]\n", r.lab.OpsUser, r.lab.OpsPassword)
	fmt.Fprintf(&become, "[all:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\nansible_become_password='%s'\n[targets]\n",
		r.lab.OpsUser, r.lab.Key, r.lab.OpsPassword)
	for _, h := range hosts {
		fmt.Fprintf(&pw, "%s ansible_host=%s\n", h.Name, h.Addr)
		fmt.Fprintf(&become, "%s ansible_host=%s\n", h.Name, h.Addr)
	}
	pwInv, becomeInv := runnerFile(t, "pw.ini", pw.String()), runnerFile(t, "become.ini", become.String())

	// Trusted on first use: no password login, no sudo password.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	res := r.run(t, "run", pb, "-i", pwInv, "--known-hosts", kh, "--accept-new-host-keys")
	if res.code != 4 || strings.Count(res.stdout, "accepted on first use in this run") != len(hosts) {
		t.Fatalf("password login to hosts trusted on first use: want exit 4, each saying why: %s", res)
	}
	if res = r.run(t, "run", pb, "-i", pwInv, "--known-hosts", kh, "-o", "json"); res.code != 0 {
		t.Fatalf("the same hosts, their keys now in --known-hosts: want exit 0: %s", res)
	}
	for _, h := range hosts {
		if jh := parseRunJSON(t, res).host(t, h.Name); jh.Facts == nil || jh.Facts.User != r.lab.OpsUser {
			t.Errorf("%s: facts %+v, want a login as %s", h.Name, jh.Facts, r.lab.OpsUser)
		}
	}
	kh = filepath.Join(t.TempDir(), "known_hosts")
	res = r.run(t, "run", pb, "-i", becomeInv, "-b", "--known-hosts", kh, "--accept-new-host-keys")
	if res.code != 2 || strings.Count(res.stdout, "sudo to root needs a password: password not sent to") != len(hosts) {
		t.Fatalf("sudo with a password on hosts trusted on first use: want exit 2, each saying why: %s", res)
	}
	if res = r.run(t, "run", pb, "-i", becomeInv, "-b", "--known-hosts", kh); res.code != 0 {
		t.Fatalf("the same hosts, their keys now in --known-hosts: want exit 0: %s", res)
	}

	// A file the inventory names lets remedy connect, not send passwords.
	scoped := strings.Replace(pw.String(), "[all:vars]\n", "[all:vars]\nansible_ssh_common_args='-o UserKnownHostsFile="+r.lab.KnownHosts+"'\n", 1)
	res = r.run(t, "run", pb, "-i", runnerFile(t, "scoped.ini", scoped), "--known-hosts", runnerFile(t, "empty", ""))
	if res.code != 4 || strings.Count(res.stdout, "which the inventory names") != len(hosts) {
		t.Fatalf("password login to hosts vouched for only by the inventory's file: want exit 4, each saying why: %s", res)
	}
}

// hostileInventoryRefusedBeforeConnecting: an address, name, user or
// bastion no host can have stops run and audit with exit 5, naming the
// file and line, before any lab host sees a connection; `remedy inventory`
// still lists the inventory.
func (r *remedyRunner) hostileInventoryRefusedBeforeConnecting(t *testing.T) {
	good, other := r.visible()[0], r.visible()[1]
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	cases := []struct {
		name, file, text, where string
	}{
		{"newline in ansible_host", "hosts.ini", r.rootLine(good, "") +
			other.Name + ` ansible_host='"` + other.Addr + `\n* ssh-ed25519 AAAA"'` + "\n", "hosts.ini:2:"},
		{"leading dash in a host name", "hosts.ini", r.rootLine(good, "") + "-oProxyCommand=touch\n", "hosts.ini:2:"},
		{"user with a leading dash", "hosts.yml", fmt.Sprintf("all:\n  hosts:\n    %s:\n      ansible_host: %s\n    %s:\n      ansible_host: %s\n      ansible_user: -oProxyCommand=touch\n",
			good.Name, good.Addr, other.Name, other.Addr), "hosts.yml:7:"},
		{"space in a bastion", "hosts.json", fmt.Sprintf(`{"all": {"hosts": {"%s": {"ansible_host": "%s"},
  "%s": {"ansible_host": "%s", "ansible_ssh_common_args": "-J 'root@%s -oProxyCommand=touch'"}}}}`,
			good.Name, good.Addr, other.Name, other.Addr, good.Addr), "hosts.json:2:"},
		{"NUL in a group's address", "hosts.ini", "[web]\n" + r.rootLine(good, "") + other.Name + "\n[web:vars]\nansible_host='\"" + other.Addr + `\x00"'` + "\n", "hosts.ini:5:"},
	}
	before := r.passiveOpens(t, good, other)
	for _, tc := range cases {
		inv := filepath.Join(t.TempDir(), tc.file)
		if err := os.WriteFile(inv, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"run", "audit"} {
			res := r.run(t, cmd, pb, "-i", inv, "--known-hosts", r.lab.KnownHosts)
			if res.code != 5 || !strings.Contains(res.stderr, filepath.Join(filepath.Dir(inv), tc.where)) {
				t.Errorf("%s: %s: want exit 5 naming %s: %s", tc.name, cmd, tc.where, res)
			}
		}
		if res := r.run(t, "inventory", "-i", inv, "--list"); res.code != 0 {
			t.Errorf("%s: inventory --list: want exit 0: %s", tc.name, res)
		}
	}
	res := r.run(t, "run", pb, "-i", good.Addr+",-oProxyCommand=touch,", "--known-hosts", r.lab.KnownHosts)
	if res.code != 5 || !strings.Contains(res.stderr, `-i "`+good.Addr+`,-oProxyCommand=touch,"`) {
		t.Errorf("a host list: want exit 5 naming it: %s", res)
	}
	if after := r.passiveOpens(t, good, other); !slices.Equal(before, after) {
		t.Errorf("TCP connections accepted by %s and %s went from %v to %v: a host was contacted", good.Name, other.Name, before, after)
	}
}

// passiveOpens reads each host's count of TCP connections it was asked
// to accept (PassiveOpens in its network namespace's /proc/net/snmp).
func (r *remedyRunner) passiveOpens(t *testing.T, hosts ...labkit.Host) []string {
	t.Helper()
	var counts []string
	for _, h := range hosts {
		out, err := r.lab.Exec(context.Background(), h.Name, "cat", "/proc/net/snmp")
		if err != nil {
			t.Fatalf("%s: /proc/net/snmp: %v", h.Name, err)
		}
		var names []string
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) == 0 || f[0] != "Tcp:" {
				continue
			}
			if names == nil {
				names = f
				continue
			}
			if i := slices.Index(names, "PassiveOpens"); i > 0 && i < len(f) {
				counts = append(counts, f[i])
			}
		}
	}
	if len(counts) != len(hosts) {
		t.Fatalf("PassiveOpens not found for every host: %v", counts)
	}
	return counts
}
