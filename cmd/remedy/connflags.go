package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"remedy/inventory"
	"remedy/runner"
)

// connFlags are how every command that contacts hosts (run, audit,
// firewall explain) reaches them, named as ansible-playbook names them.
type connFlags struct {
	inventories    []string
	user           string
	privateKey     string
	askPass        bool
	become         bool
	askBecomePass  bool
	becomePassFile string
	becomeUser     string
	becomeMethod   string
	sshCommonArgs  string
	timeout        time.Duration
	commandTimeout time.Duration
	maxOutput      runner.Size
	knownHosts     string
	acceptNew      bool
	forks          int
	maxHandshakes  int
}

// addConnFlags declares c's flags on cmd (how hosts are reached and how
// many at once), with the same names and help
// on every command. commandTimeout is the command's own default: explain
// only reads, so a read that hangs longer than a minute is stuck, while a
// run's task may install packages.
func addConnFlags(cmd *cobra.Command, c *connFlags, commandTimeout time.Duration) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&c.inventories, "inventory", "i", nil, "inventory file, directory or host list `h1,h2,` (repeatable)")
	fl.StringVarP(&c.user, "user", "u", "", "connect as this user unless the inventory says otherwise")
	fl.StringVar(&c.privateKey, "private-key", "", "private key `FILE` to authenticate with")
	fl.BoolVarP(&c.askPass, "ask-pass", "k", false, "ask once for the SSH password")
	fl.BoolVarP(&c.become, "become", "b", false, "run commands through sudo (or su: --become-method)")
	fl.BoolVarP(&c.askBecomePass, "ask-become-pass", "K", false, "ask once for the become (sudo or su) password")
	fl.StringVar(&c.becomePassFile, "become-password-file", "", "read the become password from `FILE` (not a program: remedy runs none)")
	fl.StringVar(&c.becomeUser, "become-user", "", "become this user (default root)")
	fl.StringVar(&c.becomeMethod, "become-method", "sudo", "how to become the user: sudo or su")
	fl.StringVar(&c.sshCommonArgs, "ssh-common-args", "", "ssh `ARGS` for hosts whose inventory sets no ansible_ssh_common_args (-J, -p, -l, -o ProxyJump=...)")
	fl.DurationVar(&c.timeout, "timeout", 10*time.Second, "connect timeout, per SSH hop")
	fl.DurationVar(&c.commandTimeout, "command-timeout", commandTimeout, "longest a remote command may run (0: no limit)")
	c.maxOutput = runner.DefaultMaxOutput
	fl.Var(&c.maxOutput, "max-output", "most a remote command's output or a file read may bring back, as 8M or 1G (binary units)")
	fl.StringVar(&c.knownHosts, "known-hosts", "", "known_hosts `FILE` read besides ~/.ssh/known_hosts; new keys are recorded here")
	fl.BoolVar(&c.acceptNew, "accept-new-host-keys", false, "trust and record keys of hosts not yet known (a changed key is still refused)")
	fl.IntVarP(&c.forks, "forks", "f", 50, "hosts worked on at once")
	fl.IntVar(&c.maxHandshakes, "max-handshakes", runner.DefaultMaxHandshakes, "SSH handshakes in flight at most (fewer while they time out); --timeout counts from each one's start")
	_ = cmd.RegisterFlagCompletionFunc("become-method", cobra.FixedCompletions([]string{"sudo", "su"}, cobra.ShellCompDirectiveNoFileComp))
}

// checkBecomeMethod refuses, before any host is contacted, a become method remedy
// does not have, rather than using sudo in its place.
func (c *connFlags) checkBecomeMethod() error {
	if c.becomeMethod == "" {
		return nil
	}
	if err := inventory.CheckBecomeMethod(c.becomeMethod); err != nil {
		return badInput(fmt.Errorf("--become-method %q: %w", c.becomeMethod, err))
	}
	return nil
}
