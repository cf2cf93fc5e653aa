package labkit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// overlaid are the machine's directories each host gets its own writable
// copy of (when the machine has them as directories, not merged-/usr
// symlinks): whatever a playbook installs or writes there stays on that host.
var overlaid = []string{"/etc", "/var", "/opt", "/srv", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"}

// machine is what every host's files start from, read once per Up.
type machine struct {
	files   map[string][]byte // /etc/passwd, /etc/group, /etc/shadow, /etc/gshadow, /etc/ssh/sshd_config
	hidden  []string          // the machine's host keys and sshd drop-ins, hidden from hosts
	dirs    []string          // the overlaid directories the machine has
	opsID   int               // uid and gid for ops, free on the machine
	opsHash string            // crypt(3) hash of the ops password
}

func readMachine(ctx context.Context, password string) (*machine, error) {
	m := &machine{files: map[string][]byte{}}
	for _, p := range []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/ssh/sshd_config"} {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read the machine's %s: %w", p, err)
		}
		m.files[p] = b
	}
	for _, pattern := range []string{"/etc/ssh/ssh_host_*", "/etc/ssh/sshd_config.d/*"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("list the machine's %s: %w", pattern, err)
		}
		m.hidden = append(m.hidden, files...)
	}
	for _, d := range overlaid {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			m.dirs = append(m.dirs, d)
		}
	}
	m.opsID = freeID(m.files["/etc/passwd"], m.files["/etc/group"])
	cmd := exec.CommandContext(ctx, "openssl", "passwd", "-6", "-stdin")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("hash the ops password: openssl passwd: %w", err)
	}
	m.opsHash = string(bytes.TrimSpace(out))
	return m, nil
}

// freeID returns the first id from 1000 up that is neither a uid in passwd
// nor a gid in group.
func freeID(passwd, group []byte) int {
	used := map[int]bool{}
	for _, db := range [][]byte{passwd, group} {
		for _, line := range strings.Split(string(db), "\n") {
			fields := strings.Split(line, ":")
			if len(fields) > 2 {
				if id, err := strconv.Atoi(fields[2]); err == nil {
					used[id] = true
				}
			}
		}
	}
	id := 1000
	for used[id] {
		id++
	}
	return id
}

// withOps appends the ops user's entries to the machine's account files.
func (m *machine) withOps() map[string][]byte {
	id := strconv.Itoa(m.opsID)
	lines := map[string]string{
		"/etc/passwd":  opsUser + ":x:" + id + ":" + id + ":lab operator:/home/" + opsUser + ":/bin/bash",
		"/etc/group":   opsUser + ":x:" + id + ":",
		"/etc/shadow":  opsUser + ":" + m.opsHash + ":19700:0:99999:7:::",
		"/etc/gshadow": opsUser + ":!::",
	}
	out := map[string][]byte{}
	for p, line := range lines {
		b := bytes.TrimRight(m.files[p], "\n")
		out[p] = append(append(bytes.Clone(b), '\n'), line+"\n"...)
	}
	return out
}

// sshdConfig is the machine's sshd_config without the settings the lab
// relies on, so that they are OpenSSH's defaults whatever the machine says
// (port 22, root login by key, keys in ~/.ssh/authorized_keys), and naming
// only the host's own keys, so sshd never looks for the RSA key the host
// does not have.
func sshdConfig(machine []byte) []byte {
	var b bytes.Buffer
	b.WriteString("# Host keys generated for this lab host.\n")
	for _, t := range hostKeyTypes {
		b.WriteString("HostKey /etc/ssh/ssh_host_" + t + "_key\n")
	}
	for _, line := range strings.SplitAfter(string(machine), "\n") {
		keyword, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		keyword, _, _ = strings.Cut(keyword, "\t")
		if !sshdLabSettings[strings.ToLower(keyword)] {
			b.WriteString(line)
		}
	}
	return b.Bytes()
}

var sshdLabSettings = map[string]bool{
	"hostkey": true, "port": true, "listenaddress": true, "permitrootlogin": true,
	"pubkeyauthentication": true, "authorizedkeysfile": true, "authorizedkeyscommand": true,
	"allowusers": true, "allowgroups": true, "denyusers": true, "denygroups": true,
}

// etcHosts maps the host's own name, the other hosts and the licensing
// domain (to the stand-in).
func etcHosts(self string, hosts []hostState, license string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", self)
	for _, h := range hosts {
		fmt.Fprintf(&b, "%s\t%s\n", h.Addr, h.Name)
	}
	fmt.Fprintf(&b, "%s\t%s\n", license, LicenseDomain)
	return []byte(b.String())
}
