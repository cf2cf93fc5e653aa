// Package change is how a module changes a host. A module's Go API reads
// the host through a Session and hands every change to the Session's
// Apply, the engine's gate (lua/gate.go): a Command to run, a File to
// write, a Step only a real run takes (a fresh login on a new port, a
// wait, a re-read that verifies), or a Reconnect. The gate alone knows
// whether the task runs in check mode: there it records each change (its
// command lines, a file's diff) and runs nothing, so check mode reports
// what a run would do through the same code, and no module tests for it.
package change

import (
	"context"

	"remedy/lua/remote"
)

// A Change is one thing a module does to a host: a Command, File, Step
// or Reconnect.
type Change interface{ change() }

// Command runs a command that changes the host.
type Command struct {
	Argv  []string
	Stdin []byte
	// AnyStatus hands a non-zero exit status to the caller in the
	// Output; otherwise it is an error naming the command.
	AnyStatus bool
	Say       Say
}

// File brings a file to a state, atomically: the new file is made in a
// private directory beside the target, validated, the old one backed up,
// and a rename puts it in place. A symbolic link is written through.
type File struct {
	Path     string
	Content  []byte
	Mode     string   // octal like "0644"; "" keeps the current mode, 0644 for a new file
	Owner    string   // "user" or "user:group"; "" keeps the current owner
	Backup   bool     // keep the current file aside (a hard link, else a copy) before replacing it
	Validate []string // argv run on the candidate before it replaces the file; "%s" is its path
}

// Step is something only a real run does, such as logging in afresh on a
// new port, validating a file it wrote, or reading the host again to see
// a change take: Describe is what the task's planned lines show of it (a
// command line, or a phrase starting "# "; "" shows nothing), in both
// modes, and check mode runs nothing.
type Step struct {
	Describe string
	Say      Say
	Run      func() error
}

// Reconnect moves the connection to another port: every later command
// goes there.
type Reconnect struct {
	Port int
}

func (Command) change()   {}
func (File) change()      {}
func (Step) change()      {}
func (Reconnect) change() {}

// Say is what a change adds to its task's message: Done once it ran,
// Would in check mode. Either may be empty.
type Say struct {
	Done, Would string
}

// Result is what the gate did with a change, or would have done.
type Result struct {
	// Changed: a Command, or a File whose content, mode or owner differs.
	// Steps and Reconnect change nothing by themselves.
	Changed bool
	Output  remote.Output // a Command's output; empty in check mode, where it did not run
	Diff    string        // a File's unified diff
	Backup  string        // a File's backup, when one was (or would be) made
}

// Undo takes back a change that ran on the host, saying what it did: see
// Sequence.
type Undo func() (string, error)

// Sequence applies changes in order and keeps the Undo of each that ran
// on the host; Rollback runs them, newest first, and returns what they
// said. A change that did not run, as in check mode, has nothing to undo.
type Sequence interface {
	Apply(c Change, undo Undo) (Result, error)
	Rollback() ([]string, error)
}

// Session is what a module sees of one host while a task, check or
// handler runs: its facts, reads (which run in check mode too, and may be
// answered from what the playbook prefetched or an earlier read, until a
// change) and the gate.
type Session interface {
	Name() string
	Context() context.Context
	Facts() remote.Facts
	// Port is the port the connection is on now; Probe logs in afresh on
	// port (see remote.Host).
	Port() int
	Probe(ctx context.Context, port int) error

	// Query runs a read-only command; a non-zero exit status is in the
	// Output, not an error. QueryCached is Query for a read that calls in
	// a row repeat: the output is reused until the host changes.
	Query(argv ...string) (remote.Output, error)
	QueryCached(argv ...string) (remote.Output, error)
	// QueryParsed is QueryCached with what parse made of the output,
	// kept as long as the output is.
	QueryParsed(parse func(remote.Output) (any, error), argv ...string) (any, error)
	// ReadFile reads a file (a missing one is an error wrapping
	// fs.ErrNotExist); ReadFileCached keeps it as QueryCached keeps a read.
	ReadFile(path string) ([]byte, error)
	ReadFileCached(path string) ([]byte, error)
	// ReadForEdit reads the file a File change of path would replace,
	// following the symbolic links a write follows and refusing those it
	// refuses; exists is false for a file a write would create.
	ReadForEdit(path string) (content []byte, exists bool, err error)

	// Apply is the gate: a sequence of one change.
	Apply(c Change) (Result, error)
	// Begin starts a Sequence.
	Begin() Sequence
}
