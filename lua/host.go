// Package lua runs remedy playbooks: it loads a playbook written in Lua,
// runs its tasks, checks and handlers on one host, in check mode or for
// real, and exposes the modules (cmd, file, service, net, sshd, firewall)
// that playbooks call. It talks to the host only through the Host interface,
// which the runner's SSH connection satisfies.
package lua

import (
	"context"
	"errors"
	"time"
)

// ErrOutputLimit marks a Host error that means the host sent more than
// the run lets one command or file bring back: reading stopped there.
var ErrOutputLimit = errors.New("output limit passed")

// Host is what a playbook needs from one managed machine.
type Host interface {
	// Name is the host's inventory name.
	Name() string
	// Exec runs a command line built with shell.Join (through sudo when
	// become is on), feeding it stdin when stdin is not nil. A non-zero
	// exit status is reported in Output, not as an error; an error means
	// the command could not be run or its result not read; an output past
	// the run's limit is one that wraps ErrOutputLimit.
	Exec(ctx context.Context, cmd string, stdin []byte) (Output, error)
	// ReadFile returns the contents of path; a missing file is an error
	// that wraps fs.ErrNotExist, a file past the run's output limit one
	// that wraps ErrOutputLimit. Errors name the path.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Probe dials the host afresh on port with the same credentials,
	// authenticates and runs a command. It proves a new sshd port works
	// before the old one is removed.
	Probe(ctx context.Context, port int) error
	// MovePort makes every later call use a connection to port.
	MovePort(ctx context.Context, port int) error
	// Port is the port the connection is on now: the inventory's, -e's
	// or ssh config's, or the one MovePort moved it to. A check that the
	// controller can still log in after a change dials this port, never
	// one read from the playbook's variables.
	Port() int
}

// Output is the result of one remote command.
type Output struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Status is how a task or check ended on one host.
type Status string

// The statuses a result can have, as Ansible names them.
const (
	StatusOK          Status = "ok"
	StatusChanged     Status = "changed"
	StatusFailed      Status = "failed"
	StatusSkipped     Status = "skipped"
	StatusUnreachable Status = "unreachable"
)

// Kind says which part of a playbook a result came from.
type Kind string

// The parts of a playbook that produce results.
const (
	KindTask    Kind = "task"
	KindCheck   Kind = "check"
	KindHandler Kind = "handler"
)

// Result is what one task, check or handler did on one host.
type Result struct {
	Host     string
	Kind     Kind
	Name     string
	Status   Status
	Msg      string
	Diff     string   // unified diffs of files changed, or that would change
	Planned  []string // commands run, or that would run in check mode
	Severity string   // checks only
	Ignored  bool     // failed, but the task said ignore_errors
	Duration time.Duration
}

// Facts is what the runner learns about a host in its single gathering
// round trip, before the playbook runs.
type Facts struct {
	OSID        string `json:"os_id"`        // ID= in /etc/os-release, e.g. "debian"
	OSVersion   string `json:"os_version"`   // VERSION_ID=
	OSFamily    string `json:"os_family"`    // "debian", "redhat", "suse", ... from ID_LIKE
	Init        string `json:"init"`         // "systemd", "sysv" or "none"
	SSHDVersion string `json:"sshd_version"` // e.g. "OpenSSH_9.2p1"
	Firewall    string `json:"firewall"`     // "firewalld", "ufw", "nftables", "iptables-legacy", "iptables-nft" or "none"
	FirewallWhy string `json:"firewall_why"` // why that one governs when several are present
	SELinux     string `json:"selinux"`      // "enforcing", "permissive", "disabled"
	SSHSocket   bool   `json:"ssh_socket"`   // sshd is socket-activated by ssh.socket
	Root        bool   `json:"root"`         // the connection user is uid 0
	User        string `json:"user"`
}
