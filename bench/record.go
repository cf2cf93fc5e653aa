package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// recordCmd records what one lab host answers to remedy's audit: remedy
// audits a fleet of one fake host, which passes every command on to the
// lab host and keeps the answers.
//
//	bench record -lab DIR -host h1 -remedy BIN -out bench/testdata/audit-nftables.json
func recordCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench record", flag.ContinueOnError)
	lab := fs.String("lab", "", "lab directory: inventory.ini, known_hosts, id_ed25519")
	host := fs.String("host", "h1", "the lab host to record")
	remedy := fs.String("remedy", "", "the remedy binary")
	dest := fs.String("out", "", "the recording to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *lab == "" || *remedy == "" || *dest == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: bench record -lab DIR -host NAME -remedy BIN -out FILE")
	}
	addr, profile, err := labHost(*lab, *host)
	if err != nil {
		return err
	}
	upstream, err := dialLab(*lab, addr)
	if err != nil {
		return err
	}
	defer upstream.Close()

	pub, priv, err := clientKey()
	if err != nil {
		return err
	}
	f, err := newFleet(pub)
	if err != nil {
		return err
	}
	f.upstream = upstream
	if err := f.listen(1); err != nil {
		return err
	}
	defer f.close()
	work, err := os.MkdirTemp("", "remedy-bench-record-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := f.writeLab(work, priv); err != nil {
		return err
	}
	argv := remedyAudit(*remedy, work, 1)
	if _, err := measure(argv, []string{"HOME=" + work}, filepath.Join(work, "remedy.log"), []int{0, 3}); err != nil {
		log, _ := os.ReadFile(filepath.Join(work, "remedy.log"))
		return fmt.Errorf("%w: %s", err, log)
	}
	rec := recording{Host: *host + " (" + profile + ")", Command: strings.ReplaceAll("remedy "+strings.Join(argv[1:], " "), work, "LAB"), Commands: f.recorded}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*dest, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	fmt.Fprintf(out, "recorded %d commands of %s at %s into %s\n", len(rec.Commands), *host, addr, *dest)
	return nil
}

// remedyAudit is the audit every benchmark times: the built-in
// aspera-server audit with the licensing domain's check (alee=true),
// over the lab in dir, forks hosts at once (0: remedy's default).
func remedyAudit(remedy, dir string, forks int) []string {
	argv := []string{remedy, "audit", "aspera-server", "-i", filepath.Join(dir, "inventory.ini"),
		"--known-hosts", filepath.Join(dir, "known_hosts"), "-e", "alee=true"}
	if forks > 0 {
		argv = append(argv, "-f", fmt.Sprint(forks))
	}
	return argv
}

// labHost finds a host's address and profile in the lab's inventory.
func labHost(lab, host string) (addr, profile string, err error) {
	inv, err := os.ReadFile(filepath.Join(lab, "inventory.ini"))
	if err != nil {
		return "", "", fmt.Errorf("lab: %w", err)
	}
	line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(host) + ` ansible_host=(\S+) lab_profile=(\S+)`)
	m := line.FindSubmatch(inv)
	if m == nil {
		return "", "", fmt.Errorf("lab: %s is not in %s/inventory.ini", host, lab)
	}
	return string(m[1]), string(m[2]), nil
}

// dialLab logs in to a lab host as root with the lab's key, checking its
// host key against the lab's known_hosts.
func dialLab(lab, addr string) (*ssh.Client, error) {
	keyPEM, err := os.ReadFile(filepath.Join(lab, "id_ed25519"))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	key, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("lab key: %w", err)
	}
	check, err := knownhosts.New(filepath.Join(lab, "known_hosts"))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, HostKeyCallback: check, Timeout: 10 * time.Second}
	c, err := ssh.Dial("tcp", addr+":22", cfg)
	if err != nil {
		return nil, fmt.Errorf("lab host %s: %w", addr, err)
	}
	return c, nil
}
