package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The floor of remedy's reads runs on each host, over one OpenSSH
// connection and in one command, exactly the commands remedy's audit ran
// there: captureReads takes them from one audit's -v output, and floor.sh
// sends each host its own (its reads differ with its firewall).

// continuationLine is a later line of a command in -v output: the text
// output marks them like a shell's continuation prompt.
var continuationLine = regexp.MustCompile(`^<([^>]+)> > (.*)$`)

// hostCommands reads remedy's -v output (or more verbose) and returns, by
// host, the commands remedy ran there in order, each whole: its first
// line and its continuation lines. Hosts' lines may interleave.
func hostCommands(in io.Reader) (map[string][]string, error) {
	cmds := map[string][]string{}
	open := map[string]bool{} // the host's last command may go on
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := commandLine.FindStringSubmatch(line); m != nil {
			cmds[m[1]] = append(cmds[m[1]], m[2])
			open[m[1]] = true
			continue
		}
		if m := continuationLine.FindStringSubmatch(line); m != nil && open[m[1]] {
			last := &cmds[m[1]][len(cmds[m[1]])-1]
			*last += "\n" + m[2]
			continue
		}
		if host, _, ok := strings.Cut(strings.TrimPrefix(line, "<"), "> "); ok && strings.HasPrefix(line, "<") {
			open[host] = false
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("remedy's output: %w", err)
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("remedy's output shows no commands: want -v or more")
	}
	return cmds, nil
}

// captureReads audits the lab once with remedy -v and writes, for each
// host of the lab, the commands the audit ran there as one script,
// dir/ADDR.sh, the command floor.sh sends that host. A host the audit
// ran nothing on fails the capture.
func captureReads(remedy, lab, dir string, hosts int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "remedy-v.log")
	argv := append(remedyAudit(remedy, lab, hosts), "-v")
	if _, err := measure(argv, []string{"HOME=" + dir}, logPath, []int{0, 3}); err != nil {
		return fmt.Errorf("capture remedy's reads: %w", err)
	}
	log, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	cmds, err := hostCommands(log)
	if err != nil {
		return fmt.Errorf("capture remedy's reads (%s): %w", logPath, err)
	}
	addrs, err := labAddrs(lab)
	if err != nil {
		return err
	}
	for name, addr := range addrs {
		c, ok := cmds[name]
		if !ok {
			return fmt.Errorf("capture remedy's reads: the audit ran nothing on %s (%s)", name, logPath)
		}
		// exit 0: a read may fail, as it may in the audit; ssh's own
		// failures still show (255).
		script := strings.Join(append(c, "exit 0"), "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, addr+".sh"), []byte(script), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// inventoryHost is a host line of the lab's inventory.
var inventoryHost = regexp.MustCompile(`(?m)^(\S+) ansible_host=(\S+)`)

// labAddrs maps each host of the lab's inventory to its address.
func labAddrs(lab string) (map[string]string, error) {
	inv, err := os.ReadFile(filepath.Join(lab, "inventory.ini"))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	addrs := map[string]string{}
	for _, m := range inventoryHost.FindAllStringSubmatch(string(inv), -1) {
		addrs[m[1]] = m[2]
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("lab: %s/inventory.ini lists no hosts", lab)
	}
	return addrs, nil
}
