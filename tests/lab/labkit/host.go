package labkit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

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

// setupScript is the host's first process, PID 1 of its own PID namespace,
// run inside its new mount, UTS and PID namespaces and its network
// namespace. It keeps the host's processes to themselves (/proc shows
// only them, as on a real host: `ss -p`, ps and pid files name the host's
// own), drops its copies of every namespace pin under /run (they would keep
// other labs' namespaces alive after those labs' Down), mounts the host's
// own directories, brings its link up, loads its firewall and starts sshd.
// Then it says hostUp and stays, as init does: the daemons' orphans are
// reparented to it, and it reaps them while it waits on its sleep (a
// zombie would still answer kill -0, and remedy's revert timers are
// checked that way). Were it to exit, the kernel would kill the host.
func setupScript(st *state, h hostState, m *machine) string {
	dir := st.hostDir(h.Name)
	lines := []string{
		"set -e",
		"export PATH=" + hostPath,
		// What unshare --propagation private --mount-proc does: mounts
		// made here stay here, and /proc is the host's PID namespace's.
		"mount --make-rprivate /",
		"mount -t proc -o nosuid,nodev,noexec remedy-lab /proc",
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
	lines = append(lines,
		"/usr/sbin/sshd",
		"echo "+hostUp,
		"exec </dev/null >/dev/null 2>&1",
		shell.Join("exec", "sh", "-c", "while :; do sleep infinity; done", "remedy-lab-init"),
	)
	return strings.Join(lines, "\n") + "\n"
}

// hostUp is the line the setup script prints once the host is up.
const hostUp = "remedy-lab: host up"

// startHost starts the host's setup script as PID 1 of new mount, UTS and
// PID namespaces, entered into the host's network namespace, waits until it
// says the host is up, and binds the namespaces to files, for Exec, Listen
// and Down. It runs in its own session so that the host outlives the
// process that brought the lab up.
func startHost(ctx context.Context, st *state, h hostState, m *machine) error {
	pins := map[string]string{"mnt": st.mountNS(h.Name), "uts": st.utsNS(h.Name), "pid": st.pidNS(h.Name)}
	for _, f := range pins {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	defer r.Close()
	cmd := exec.Command("nsenter", "--net=/run/netns/"+h.Netns, "sh", "-c", setupScript(st, h, m))
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWPID,
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("%s: set up: %w", h.Name, err)
	}
	// The host lives as long as its PID 1: a test process that brought it
	// up reaps it after Down.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var out bytes.Buffer
	up := make(chan bool, 1)
	go func() { up <- readUntilUp(r, &out) }()
	select {
	case ok := <-up:
		if !ok {
			return fmt.Errorf("%s: set up: %w: %s", h.Name, <-exited, bytes.TrimSpace(out.Bytes()))
		}
	case <-ctx.Done():
		cmd.Process.Kill()
		return fmt.Errorf("%s: set up: %w", h.Name, ctx.Err())
	}
	for kind, f := range pins {
		src := fmt.Sprintf("/proc/%d/ns/%s", cmd.Process.Pid, kind)
		if err := unix.Mount(src, f, "", unix.MS_BIND, ""); err != nil {
			cmd.Process.Kill()
			return fmt.Errorf("%s: bind %s to %s: %w", h.Name, src, f, err)
		}
	}
	return nil
}

// readUntilUp copies the setup script's output to out until the script
// says the host is up (true) or its output ends (false: it failed).
func readUntilUp(r io.Reader, out *bytes.Buffer) bool {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() == hostUp {
			return true
		}
		out.Write(sc.Bytes())
		out.WriteByte('\n')
	}
	return false
}

// pidNS is the file the host's PID namespace is bound to.
func (st *state) pidNS(name string) string { return filepath.Join(nsDir(st.Slot), name+".pid") }
