// Package remote holds what the playbook engine and the runner share: the
// Host interface a playbook needs from one managed machine (the runner's
// SSH connection satisfies it), a command's Output, the Facts gathered
// about a host and the Result of each task. It imports neither the Lua VM
// nor SSH, so the runner's renderers can use it alone.
package remote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnreachable marks a Host error that means the connection is gone.
// The runner wraps such errors with it; a task that meets one ends the
// host's run as unreachable rather than failed.
var ErrUnreachable = errors.New("host unreachable")

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
	Planned  []string // commands run, or that would run in check mode; "# ..." for a step only a run takes
	Severity string   // checks only
	Ignored  bool     // failed, but the task said ignore_errors
	// Error: failed because the task or check itself broke (a Lua error,
	// a command that could not run, facts that could not be gathered),
	// not through expect or fail. A check that errs found nothing: it is
	// no finding, and the host's audit is incomplete.
	Error    bool
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
	Firewall    string `json:"firewall"`     // "firewalld", "ufw", "nftables", "iptables-legacy", "iptables-nft", "none"; "unknown" when its read could not be modelled
	FirewallWhy string `json:"firewall_why"` // why that one governs when several are present
	SELinux     string `json:"selinux"`      // "enforcing", "permissive", "disabled"
	SSHSocket   bool   `json:"ssh_socket"`   // sshd is socket-activated by ssh.socket
	Root        bool   `json:"root"`         // the connection user is uid 0
	User        string `json:"user"`
}

// FactsTask names the first result of every host, as Ansible does.
const FactsTask = "Gathering Facts"

// FactsResult is the first result of a host's run: its facts, or why
// they could not be gathered. start is when the host's run began, its
// connection included.
func FactsResult(err error, facts Facts, start time.Time) Result {
	r := Result{Kind: KindTask, Name: FactsTask, Status: StatusOK, Duration: time.Since(start)}
	switch {
	case errors.Is(err, ErrUnreachable):
		r.Status, r.Msg = StatusUnreachable, err.Error()
	case err != nil:
		r.Status, r.Msg, r.Error = StatusFailed, err.Error(), true
	default:
		r.Msg = fmt.Sprintf("%s %s, %s init, %s, firewall %s", facts.OSID, facts.OSVersion, facts.Init, facts.SSHDVersion, facts.Firewall)
	}
	return r
}

// Excerpt is the start of a host's output for an error message: a host
// decides how much it prints.
func Excerpt(b []byte) string {
	const max = 400
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
