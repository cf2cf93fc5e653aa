package labkit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"remedy/lua/shell"
)

// hostPath is the PATH commands inside a host run with, as root's login would.
const hostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// prepareHost writes everything a host starts with into its own directories
// and returns its public host keys for known_hosts.
func prepareHost(st *state, h hostState, m *machine, labKey keyPair) ([]keyPair, error) {
	dir := st.hostDir(h.Name)
	u := upper{root: map[string]string{}}
	for _, d := range m.dirs {
		u.root[d] = filepath.Join(dir, "upper", d)
		for _, sub := range []string{"upper", "work"} {
			if err := os.MkdirAll(filepath.Join(dir, sub, d), 0o755); err != nil {
				return nil, fmt.Errorf("%s: %w", h.Name, err)
			}
		}
	}
	keys, err := writeHostKeys(u, h.Name, m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	files := m.withOps()
	files["/etc/hostname"] = []byte(h.Name + "\n")
	files["/etc/hosts"] = etcHosts(h.Name, st.Hosts, st.License)
	files["/etc/ssh/sshd_config"] = sshdConfig(m.files["/etc/ssh/sshd_config"])
	prof := profileOf(h.Profile, h.Egress)
	for p, content := range prof.files {
		files[p] = []byte(content)
	}
	for p, content := range files {
		if err := u.write(p, content, 0o644); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	if err := u.write("/etc/sudoers.d/"+opsUser, []byte(opsUser+" ALL=(ALL:ALL) ALL\n"), 0o440); err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	for p, target := range prof.links {
		if err := u.symlink(p, target); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	if err := writeHomes(dir, m.opsID, labKey.public); err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	return keys, nil
}

// writeHostKeys gives the host its own keys and hides the machine's keys
// and sshd drop-ins (a drop-in could move the port or forbid root).
func writeHostKeys(u upper, name string, m *machine) ([]keyPair, error) {
	var keys []keyPair
	own := map[string]bool{}
	for _, t := range hostKeyTypes {
		own["/etc/ssh/ssh_host_"+t+"_key"] = true
		own["/etc/ssh/ssh_host_"+t+"_key.pub"] = true
	}
	for _, k := range m.hidden {
		if own[k] {
			continue
		}
		if err := u.remove(k); err != nil {
			return nil, err
		}
	}
	for _, t := range hostKeyTypes {
		k, err := newKeyPair(t, "root@"+name)
		if err != nil {
			return nil, err
		}
		base := "/etc/ssh/ssh_host_" + t + "_key"
		if err := u.write(base, k.private, 0o600); err != nil {
			return nil, err
		}
		if err := u.write(base+".pub", k.public, 0o644); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// writeHomes makes the host's /root and /home, each letting the lab key in.
func writeHomes(dir string, opsID int, pub []byte) error {
	homes := []struct {
		path     string
		uid      int
		homeMode os.FileMode
	}{
		{filepath.Join(dir, "root"), 0, 0o700},
		{filepath.Join(dir, "home", opsUser), opsID, 0o755},
	}
	if err := os.MkdirAll(filepath.Join(dir, "home"), 0o755); err != nil {
		return err
	}
	for _, h := range homes {
		ssh := filepath.Join(h.path, ".ssh")
		if err := os.MkdirAll(ssh, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(h.path, h.homeMode); err != nil {
			return err
		}
		keys := filepath.Join(ssh, "authorized_keys")
		if err := os.WriteFile(keys, pub, 0o600); err != nil {
			return err
		}
		for _, p := range []string{h.path, ssh, keys} {
			if err := os.Chown(p, h.uid, h.uid); err != nil {
				return err
			}
		}
	}
	return nil
}

// setupScript runs inside the host's new mount, UTS and network namespaces:
// it drops its copies of every namespace pin under /run (they would keep
// other labs' namespaces alive after those labs' Down), mounts the host's
// own directories, brings its link up, loads its firewall and starts sshd.
func setupScript(st *state, h hostState, m *machine) string {
	dir := st.hostDir(h.Name)
	lines := []string{
		"set -e",
		"export PATH=" + hostPath,
		// Lazy unmounts detach whole subtrees: only the topmost mounts
		// under /run need one, which keeps this cheap with many labs up.
		`awk '$2 ~ "^/run/" {print $2}' /proc/self/mounts | sort |`,
		`awk 'top == "" || index($0, top "/") != 1 {print; top = $0}' |`,
		`while read -r m; do umount -l "$m" || true; done`,
	}
	for _, d := range m.dirs {
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", d,
			filepath.Join(dir, "upper", d), filepath.Join(dir, "work", d))
		lines = append(lines, shell.Join("mount", "-t", "overlay", "remedy-lab", "-o", opts, d))
	}
	lines = append(lines,
		shell.Join("mount", "--bind", filepath.Join(dir, "root"), "/root"),
		shell.Join("mount", "--bind", filepath.Join(dir, "home"), "/home"),
		"mount -t tmpfs -o mode=0755 remedy-lab /run",
		"mount -t tmpfs -o mode=1777 remedy-lab /tmp",
		"mount -t sysfs remedy-lab /sys",
		"mkdir -p /run/sshd /run/lock",
		shell.Join("hostname", h.Name),
		"ip -batch - <<'EOF'",
	)
	var neighbours []neighbour
	if !h.Hidden {
		neighbours = append(licenseNeighbours(st.Slot), bridgeNeighbour(st.Slot))
	}
	lines = append(lines, ifaceUp(h.Addr, h.Prefix, neighbours)...)
	lines = append(lines, "EOF")
	if start := profileOf(h.Profile, h.Egress).start; start != "" {
		lines = append(lines, start)
	}
	lines = append(lines, "/usr/sbin/sshd")
	return strings.Join(lines, "\n") + "\n"
}

// startHost creates the host's kept namespaces and runs its setup script in
// them. The command runs in its own session so that the daemons it leaves
// behind outlive the process that brought the lab up.
func startHost(ctx context.Context, st *state, h hostState, m *machine) error {
	for _, f := range []string{st.mountNS(h.Name), st.utsNS(h.Name)} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	cmd := exec.CommandContext(ctx, "unshare",
		"--mount="+st.mountNS(h.Name), "--uts="+st.utsNS(h.Name), "--propagation", "private",
		"nsenter", "--net=/run/netns/"+h.Netns, "sh", "-c", setupScript(st, h, m))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: set up: %w: %s", h.Name, err, bytes.TrimSpace(out))
	}
	return nil
}
