package sshd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// realSSHD runs the machine's own OpenSSH on config files laid out under
// /etc/ssh. The files go to a temporary directory that a private mount
// namespace binds over /etc/ssh, so the machine's /etc/ssh and its running
// sshd are never touched.
type realSSHD struct {
	hostKey string
}

// needRealSSHD skips the test when sshd, unshare or root is missing, and
// fails it instead under CI=true, where they must be present.
func needRealSSHD(t *testing.T) *realSSHD {
	t.Helper()
	reason := ""
	switch {
	case os.Geteuid() != 0:
		reason = "needs root for a private mount namespace"
	case !hasCommand("sshd") || !hasCommand("unshare") || !hasCommand("ssh-keygen"):
		reason = "needs sshd, ssh-keygen and unshare"
	}
	if reason != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real sshd check: %s", reason)
		}
		t.Skipf("real sshd check: %s", reason)
	}
	key := filepath.Join(t.TempDir(), "hostkey")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	return &realSSHD{hostKey: key}
}

func hasCommand(name string) bool {
	if _, err := exec.LookPath(name); err == nil {
		return true
	}
	_, err := os.Stat("/usr/sbin/" + name)
	return err == nil
}

// run writes files (absolute paths under /etc/ssh) and runs sshd with args
// on /etc/ssh/sshd_config inside the namespace.
func (r *realSSHD) run(t *testing.T, files map[string]string, args ...string) (string, error) {
	t.Helper()
	root := t.TempDir()
	for p, text := range files {
		rel, ok := strings.CutPrefix(p, SSHDir+"/")
		if !ok {
			t.Fatalf("%s is not under %s", p, SSHDir)
		}
		dst := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const script = `mount --bind "$1" /etc/ssh && mount -t tmpfs tmpfs /run && mkdir /run/sshd && shift && exec /usr/sbin/sshd "$@"`
	argv := append([]string{"--mount", "sh", "-c", script, "sh", root, "-f", "/etc/ssh/sshd_config", "-h", r.hostKey}, args...)
	var out bytes.Buffer
	cmd := exec.Command("unshare", argv...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// listenPorts returns the sorted ports of the sockets sshd -T says it
// would open for files.
func (r *realSSHD) listenPorts(t *testing.T, files map[string]string) []int {
	t.Helper()
	out, err := r.run(t, files, "-T")
	if err != nil {
		t.Fatalf("sshd -T: %v\n%s", err, out)
	}
	var ports []int
	for _, l := range ParseEffective(out)["listenaddress"] {
		la, err := parseListenAddress(strings.Fields(l))
		if err != nil {
			t.Fatalf("sshd -T printed listenaddress %q: %v", l, err)
		}
		ports = appendMissing(ports, la.port)
	}
	slices.Sort(ports)
	return ports
}
