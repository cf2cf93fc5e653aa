// Package recap holds what a run reports as it goes and at its end: the
// Observer that receives it, and the Play, Command, HostReport, Stats and
// Recap it is given. The renderers (runner/output) need only this and
// package remote, not the SSH code that produces a run.
package recap

import (
	"time"

	"remedy/lua/remote"
)

// Observer receives a run as it happens. The runner calls it from one
// goroutine at a time, so an implementation needs no locking of its own.
// Start comes first and End last; between them each host gets HostStarted,
// any number of Command and Result calls, and HostDone.
type Observer interface {
	Start(Play)
	HostStarted(host string)
	// Command reports one remote command and what it returned (shown at -v).
	Command(Command)
	// Log reports a line the playbook wrote on host with log() or print().
	Log(host, msg string)
	Result(remote.Result)
	HostDone(HostReport)
	End(Recap)
}

// ConnectingObserver is an Observer also told when a started host's
// first SSH handshake begins. Until then the host waits for a handshake
// slot (--max-handshakes), which at 500 hosts is most of them: a
// progress line tells those apart from hosts connecting or running.
// The runner calls HostConnecting at most once per host, between its
// HostStarted and HostDone.
type ConnectingObserver interface {
	Observer
	HostConnecting(host string)
}

// Play describes a run before it starts.
type Play struct {
	Name    string   // the playbook's name
	Path    string   // where it was loaded from
	Check   bool     // nothing is changed: modules report what they would do
	Diff    bool     // results carry unified diffs
	Audit   bool     // an audit: check and diff forced, drift is exit code 3
	Hosts   []string // every host the run targets, in inventory order
	Started time.Time
	// Provenance names what made the run, for reports a change board
	// files: the runner does not read it.
	Provenance Provenance
}

// Provenance is which remedy, which operator and which inputs made a run.
type Provenance struct {
	Version, Commit string
	Operator        string   // user@controller
	CommandLine     []string // the arguments, values of secret -e keys masked
	Inventories     []string // the -i sources
	Limit           string
	PlaybookSHA256  string // of the playbook file, hex
	ChangeID        string // --change-id: the ticket the run belongs to
	Shard           string // --shard K/N: the share of the selected hosts this run took; "" for all of them
}

// Command is one command run on a host. Stdin is never reported: it may
// carry file contents or, under become, the sudo password.
type Command struct {
	Host     string
	Line     string // the command line as sent, sudo wrapper included
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	Err      error // the command could not be run or its result not read
	Duration time.Duration
}

// Stats counts a host's results the way Ansible's PLAY RECAP does.
type Stats struct {
	OK          int
	Changed     int
	Unreachable int
	Failed      int
	Skipped     int
	Rescued     int
	Ignored     int
}

// HostReport is everything that happened on one host.
type HostReport struct {
	Host        string
	Facts       *remote.Facts // nil when the host was never reached
	Results     []remote.Result
	Stats       Stats
	Unreachable bool  // the host could not be dialled or its connection died
	Err         error // why the host stopped early, nil when it ran to the end
	// MovedPort is the SSH port the host's connection moved to during the
	// run, after sshd.move_port proved it (Conn.MovePort): the inventory's
	// ansible_port from now on. 0: the port did not move.
	MovedPort int
	Duration  time.Duration
}

// Recap is the whole run, for the PLAY RECAP, reports and the exit code.
type Recap struct {
	Play        Play
	Hosts       []HostReport // sorted by host name
	NotRun      []string     // hosts never started: interrupted, or stopped by --max-fail-percent
	Interrupted bool
	Duration    time.Duration
}
