package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// TestAnsibleHabitsOnLab runs remedy as an Ansible user would, with what
// they carry over from ansible-playbook and ~/.ssh/config, on real
// OpenSSH hosts; where Ansible has the same feature, ansible-playbook runs
// beside it on the same hosts and inputs.
func TestAnsibleHabitsOnLab(t *testing.T) {
	lab := labkit.New(t, labkit.Options{Hosts: 2, Profiles: []string{"none"}, Hidden: 1})
	a := &habitsLab{remedyRunner: remedyRunner{bin: buildRemedy(t), lab: lab, home: t.TempDir()}}
	t.Run("-e connection variables win over the inventory", a.extraVarsWin)
	t.Run("ssh config ProxyCommand is a jump or refused", a.sshConfigProxyCommand)
	t.Run("ssh config UserKnownHostsFile vouches for its hosts", a.sshConfigKnownHosts)
	t.Run("host and user certificates", a.certificates)
	t.Run("a host without SFTP", a.noSFTP)
	t.Run("become with su", a.becomeSu)
	t.Run("run --report for a change board", a.runReport)
}

type habitsLab struct {
	remedyRunner
}

// withHome is the runner with its own HOME, holding ~/.ssh/config.
func (a *habitsLab) withHome(t *testing.T, sshConfig string) *remedyRunner {
	r := a.remedyRunner
	r.home = t.TempDir()
	writeTestFile(t, filepath.Join(r.home, ".ssh", "config"), sshConfig)
	return &r
}

// ansible runs ansible-playbook on the lab with args, checking host keys
// against the lab's known_hosts, and returns its exit code and output.
func (a *habitsLab) ansible(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ansible-playbook", args...)
	cmd.Env = append(isolatedEnv(t.TempDir()), "ANSIBLE_SSH_ARGS=-o UserKnownHostsFile="+a.lab.KnownHosts+" -o StrictHostKeyChecking=yes",
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil {
		t.Fatalf("ansible-playbook: %v", err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// hupSSHD makes the host's sshd read its config again and waits until it
// takes connections.
func (a *habitsLab) hupSSHD(t *testing.T, h labkit.Host) {
	t.Helper()
	labSh(t, a.lab, h.Name, `sshd -t && kill -HUP "$(cat /run/sshd.pid)"`)
	time.Sleep(300 * time.Millisecond)
	if err := a.lab.Reach(h.Addr, "tcp", 22, 10*time.Second); err != nil {
		t.Fatalf("%s: sshd after SIGHUP: %v", h.Name, err)
	}
}

const idPlaybookYAML = `- hosts: all
  gather_facts: false
  tasks:
    - command: id -u
`

// The inventory says port 2200, user nobody and a key that does not
// exist; -e says 22, root and the lab key, and wins, for remedy as for
// ansible-playbook. A port that is no number is bad input naming -e.
func (a *habitsLab) extraVarsWin(t *testing.T) {
	h := a.lab.Hosts[0]
	inv := runnerFile(t, "hosts.ini", fmt.Sprintf("%s ansible_host=%s ansible_port=2200 ansible_user=nobody ansible_ssh_private_key_file=/nonexistent/key\n", h.Name, h.Addr))
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	extra := []string{"-e", "ansible_port=22 ansible_user=root", "-e", "ansible_ssh_private_key_file=" + a.lab.Key}
	res := a.run(t, append([]string{"run", pb, "-i", inv, "--known-hosts", a.lab.KnownHosts, "-o", "json"}, extra...)...)
	if res.code != 0 || parseRunJSON(t, res).host(t, h.Name).statuses() != "Gathering Facts=ok uid=ok sshd_config=ok" {
		t.Fatalf("-e over the inventory: want exit 0 as root on 22: %s", res)
	}
	if code, out := a.ansible(t, append([]string{"-i", inv, runnerFile(t, "id.yml", idPlaybookYAML)}, extra...)...); code != 0 {
		t.Errorf("ansible-playbook with the same -e: exit %d\n%s", code, out)
	}
	res = a.run(t, "run", pb, "-i", inv, "--known-hosts", a.lab.KnownHosts, "-e", "ansible_port=twenty-two")
	if res.code != 5 || !strings.Contains(res.stderr, `-e: `+h.Name+`: ansible_port "twenty-two"`) || strings.Contains(res.stderr, inv) {
		t.Errorf("a port that is no number: want exit 5 naming -e: %s", res)
	}
}

// The hidden host is reachable only through the first. Its ssh config
// block reaches it with ProxyCommand "ssh -W": remedy follows it as a
// jump, as ssh (and so Ansible) does; a ProxyCommand remedy cannot follow
// is refused naming the file and the host, where remedy used to dial the
// host directly.
func (a *habitsLab) sshConfigProxyCommand(t *testing.T) {
	hidden, bastion := a.hidden(t), a.visible()[0]
	inv := runnerFile(t, "hosts.ini", fmt.Sprintf("%s ansible_user=root ansible_ssh_private_key_file=%s\n", hidden.Name, a.lab.Key))
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	block := fmt.Sprintf("Host %s\n  HostName %s\n  User root\n  IdentityFile %s\n", hidden.Name, hidden.Addr, a.lab.Key)
	jump := a.withHome(t, block+fmt.Sprintf("  ProxyCommand ssh -W %%h:%%p root@%s\n", bastion.Addr))
	res := jump.run(t, "run", pb, "-i", inv, "--known-hosts", a.lab.KnownHosts)
	if res.code != 0 || !recapHas(res.stdout, hidden.Name, "ok=3") {
		t.Fatalf("through ssh config's ProxyCommand: want exit 0: %s", res)
	}
	r := a.withHome(t, block+"  ProxyCommand nc %h %p\n")
	res = r.run(t, "run", pb, "-i", inv, "--known-hosts", a.lab.KnownHosts, "--timeout", "2s")
	want := filepath.Join(r.home, ".ssh", "config") + ": host " + hidden.Name + `: ProxyCommand "nc %h %p" is not supported`
	if res.code != 5 || !strings.Contains(res.stderr, want) {
		t.Errorf("a ProxyCommand remedy cannot follow: want exit 5 saying %q: %s", want, res)
	}
}

// A UserKnownHostsFile in a Host block of ~/.ssh/config vouches for the
// hosts that block matches, as for ssh, and no other; nothing is recorded
// in it.
func (a *habitsLab) sshConfigKnownHosts(t *testing.T) {
	h1, h2 := a.visible()[0], a.visible()[1]
	file := filepath.Join(t.TempDir(), "site_hosts")
	writeTestFile(t, file, readTestFile(t, a.lab.KnownHosts))
	r := a.withHome(t, fmt.Sprintf("Host %s\n  UserKnownHostsFile %s\n", h1.Name, file))
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	inv := runnerFile(t, "hosts.ini", fmt.Sprintf("[all:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n[t]\n%s ansible_host=%s\n%s ansible_host=%s\n",
		a.lab.Key, h1.Name, h1.Addr, h2.Name, h2.Addr))
	res := r.run(t, "run", pb, "-i", inv)
	if res.code != 4 || !recapHas(res.stdout, h1.Name, "ok=3") || !strings.Contains(res.stdout, "unknown host key: "+h2.Name) {
		t.Fatalf("want %s vouched for by ssh config's file and %s unknown (exit 4): %s", h1.Name, h2.Name, res)
	}
	if readTestFile(t, file) != readTestFile(t, a.lab.KnownHosts) {
		t.Errorf("%s was written to", file)
	}
}

// The host shows a certificate signed by a host CA that known_hosts lists
// as @cert-authority, and no plain key of it is listed anywhere; root
// logs in with a user certificate alone (its key is in no
// authorized_keys), found as KEY-cert.pub beside the key and through ssh
// config's CertificateFile. Both are signed with ssh-keygen -s.
func (a *habitsLab) certificates(t *testing.T) {
	h := a.visible()[1]
	dir := t.TempDir()
	keygen := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ssh-keygen", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
		}
	}
	for _, k := range []string{"host_ca", "user_ca", "user"} {
		keygen("-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k))
	}
	hostPub := filepath.Join(dir, "ssh_host_ed25519_key.pub")
	writeTestFile(t, hostPub, labSh(t, a.lab, h.Name, "cat /etc/ssh/ssh_host_ed25519_key.pub"))
	keygen("-s", filepath.Join(dir, "host_ca"), "-I", h.Name, "-h", "-n", h.Addr, hostPub)
	keygen("-s", filepath.Join(dir, "user_ca"), "-I", "ops-cert", "-n", "root", filepath.Join(dir, "user.pub"))
	labSh(t, a.lab, h.Name, fmt.Sprintf(`cat > /etc/ssh/ssh_host_ed25519_key-cert.pub <<'EOF'
%sEOF
cat > /etc/ssh/user_ca.pub <<'EOF'
%sEOF
printf 'HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\nTrustedUserCAKeys /etc/ssh/user_ca.pub\n' >> /etc/ssh/sshd_config`,
		readTestFile(t, filepath.Join(dir, "ssh_host_ed25519_key-cert.pub")), readTestFile(t, filepath.Join(dir, "user_ca.pub"))))
	a.hupSSHD(t, h)

	known := filepath.Join(dir, "known_hosts")
	writeTestFile(t, known, "@cert-authority "+h.Addr+" "+readTestFile(t, filepath.Join(dir, "host_ca.pub")))
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	inv := func(key string) string {
		return runnerFile(t, "hosts.ini", fmt.Sprintf("%s ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s\n", h.Name, h.Addr, key))
	}
	res := a.run(t, "run", pb, "-i", inv(filepath.Join(dir, "user")), "--known-hosts", known)
	if res.code != 0 || !recapHas(res.stdout, h.Name, "ok=3") {
		t.Fatalf("host certificate and user-cert.pub beside the key: want exit 0: %s", res)
	}
	if code, out := a.ansibleWithKnownHosts(t, known, "-i", inv(filepath.Join(dir, "user")), runnerFile(t, "id.yml", idPlaybookYAML)); code != 0 {
		t.Errorf("ansible-playbook with the same certificates: exit %d\n%s", code, out)
	}

	// The same certificate under another name, given by CertificateFile.
	key := filepath.Join(t.TempDir(), "site_key")
	writeTestFile(t, key, readTestFile(t, filepath.Join(dir, "user")))
	cert := filepath.Join(dir, "site.crt")
	writeTestFile(t, cert, readTestFile(t, filepath.Join(dir, "user-cert.pub")))
	r := a.withHome(t, fmt.Sprintf("Host %s\n  CertificateFile %s\n", h.Name, cert))
	if res := r.run(t, "run", pb, "-i", inv(key), "--known-hosts", known); res.code != 0 {
		t.Errorf("CertificateFile from ssh config: want exit 0: %s", res)
	}
	if res := a.run(t, "run", pb, "-i", inv(key), "--known-hosts", known); res.code != 4 {
		t.Errorf("the key without its certificate: want exit 4, refused: %s", res)
	}
}

// ansibleWithKnownHosts is ansible with known_hosts as its only file.
func (a *habitsLab) ansibleWithKnownHosts(t *testing.T, known string, args ...string) (int, string) {
	b := *a
	lab := *a.lab
	lab.KnownHosts = known
	b.lab = &lab
	return b.ansible(t, args...)
}

// Without a Subsystem line in sshd_config the host has no SFTP: remedy
// reads its files with cat and the host stays reachable.
func (a *habitsLab) noSFTP(t *testing.T) {
	h := a.visible()[0]
	labSh(t, a.lab, h.Name, `cp /etc/ssh/sshd_config /etc/ssh/sshd_config.sftp && sed -i '/^Subsystem/d' /etc/ssh/sshd_config`)
	a.hupSSHD(t, h)
	defer func() {
		labSh(t, a.lab, h.Name, `mv /etc/ssh/sshd_config.sftp /etc/ssh/sshd_config`)
		a.hupSSHD(t, h)
	}()
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	res := a.run(t, "run", pb, "-i", a.lab.Inventory, "-l", h.Name, "--known-hosts", a.lab.KnownHosts, "-o", "json")
	if res.code != 0 {
		t.Fatalf("want exit 0 without SFTP: %s", res)
	}
	got := parseRunJSON(t, res).host(t, h.Name)
	if got.statuses() != "Gathering Facts=ok uid=ok sshd_config=ok" || !strings.Contains(got.Tasks[2].Msg, " bytes") {
		t.Errorf("the file read without SFTP: %s %+v", got.statuses(), got.Tasks)
	}
}

const suPlaybook = `return {
  name = "su", hosts = "all",
  tasks = {
    { name = "uid", run = function() return cmd.query({"id", "-u"}).stdout end },
    { name = "write as root", run = function()
        file.write { path = "/root/remedy-su.txt", content = "written through su\n", mode = "0600" }
      end },
    { name = "read as root", run = function() return file.read("/root/remedy-su.txt") end },
  },
}`

// ops logs in and becomes root with su and root's password, read from
// --become-password-file: remedy as ansible-playbook --become-method su.
// A wrong password fails the host with su's own words.
func (a *habitsLab) becomeSu(t *testing.T) {
	h := a.visible()[0]
	const rootPassword = "r00t su pass"
	labSh(t, a.lab, h.Name, "echo 'root:"+rootPassword+"' | chpasswd")
	inv := runnerFile(t, "ops.ini", fmt.Sprintf("%s ansible_host=%s ansible_user=%s ansible_ssh_private_key_file=%s\n",
		h.Name, h.Addr, a.lab.OpsUser, a.lab.Key))
	pw := runnerFile(t, "pw", rootPassword+"\n")
	res := a.run(t, "run", runnerFile(t, "su.lua", suPlaybook), "-i", inv, "--known-hosts", a.lab.KnownHosts,
		"-b", "--become-method", "su", "--become-password-file", pw, "-o", "json")
	if res.code != 0 {
		t.Fatalf("su with the right password: want exit 0: %s", res)
	}
	got := parseRunJSON(t, res).host(t, h.Name)
	if got.statuses() != "Gathering Facts=ok uid=ok write as root=changed read as root=ok" ||
		strings.TrimSpace(got.Tasks[1].Msg) != "0" || strings.TrimSpace(got.Tasks[3].Msg) != "written through su" {
		t.Errorf("through su: %s %+v", got.statuses(), got.Tasks)
	}
	if strings.Contains(res.stdout+res.stderr, rootPassword) {
		t.Error("the su password appears in remedy's output")
	}
	if code, out := a.ansible(t, "-i", inv, runnerFile(t, "id.yml", idPlaybookYAML), "-b", "--become-method", "su", "--become-password-file", pw); code != 0 {
		t.Errorf("ansible-playbook --become-method su: exit %d\n%s", code, out)
	}
	res = a.run(t, "run", runnerFile(t, "su.lua", suPlaybook), "-i", inv, "--known-hosts", a.lab.KnownHosts,
		"-b", "--become-method", "su", "--become-password-file", runnerFile(t, "wrong", "wrong\n"))
	if res.code != 2 || !strings.Contains(res.stdout, "su to root refused the password or the user") {
		t.Errorf("su with a wrong password: want exit 2 with su's refusal: %s", res)
	}
}

const reportPlaybook = `return {
  name = "site motd", hosts = "all",
  tasks = {
    { name = "motd names the change", run = function(v)
        file.write { path = "/etc/motd", content = "change " .. v.change .. "\\n", mode = "0644" }
      end },
  },
  checks = {
    { name = "motd is written", severity = "low", run = function()
        expect(file.read("/etc/motd") ~= nil, "no /etc/motd")
      end },
    { name = "no world-writable motd", severity = "high", run = function()
        expect(false, "a finding on purpose")
      end },
  },
}`

// remedy run --report writes what changed, with its diff and commands,
// and the checks after, under what made the run: remedy's version, the
// operator, the command line with the -e secret masked, the inventory and
// limit, the playbook's sha256 and the change ID; findings ranked by
// severity. The JSON carries the same and its schema_version.
func (a *habitsLab) runReport(t *testing.T) {
	h := a.visible()[1]
	pbText := reportPlaybook
	pb := runnerFile(t, "motd.lua", pbText)
	report := filepath.Join(t.TempDir(), "change.md")
	const secret = "db-s3cret"
	res := a.run(t, "run", pb, "-i", a.lab.Inventory, "-l", h.Name, "--known-hosts", a.lab.KnownHosts,
		"-D", "-e", "change=CHG-42 db_password="+secret, "--change-id", "CHG-42", "--report", report)
	if res.code != 2 {
		t.Fatalf("want exit 2 (a check fails on purpose): %s", res)
	}
	md := readTestFile(t, report)
	sum := sha256.Sum256([]byte(pbText))
	for _, want := range []string{
		"# Run report: site motd", "- **Change:** CHG-42", "- **Operator:** root@", "- **remedy:** ",
		"db_password=********", "- **Inventory:** `" + a.lab.Inventory + "`; limit `" + h.Name + "`",
		"- **Playbook sha256:** `" + hex.EncodeToString(sum[:]) + "`",
		"- **fail** (high): no world-writable motd", "#### Changes made", "+change CHG-42", "Commands run:",
		"| motd is written (check, severity low) | pass |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, secret) || strings.Contains(res.stdout+res.stderr, secret) {
		t.Error("the -e secret is in the report or the output")
	}
	if strings.Index(md, "no world-writable motd") > strings.Index(md, "motd names the change") {
		t.Errorf("the high finding is not ranked first:\n%s", md)
	}
	res = a.run(t, "run", pb, "-i", a.lab.Inventory, "-l", h.Name, "--known-hosts", a.lab.KnownHosts, "-e", "change=CHG-42", "-o", "json")
	var doc struct {
		SchemaVersion int    `json:"schema_version"`
		Operator      string `json:"operator"`
		PlaybookSum   string `json:"playbook_sha256"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil || doc.SchemaVersion != 1 || doc.PlaybookSum != hex.EncodeToString(sum[:]) || !strings.HasPrefix(doc.Operator, "root@") {
		t.Errorf("JSON: %+v, %v\n%s", doc, err, res)
	}
}
