// Package runner runs a playbook on many hosts at once: it dials each host
// over SSH (one connection per host, host keys always checked), gathers its
// facts in one round trip, runs the playbook through package lua under a
// bound of forks and rolling serial batches, and streams every result to an
// Observer that renders it.
//
// Key files, password auth, each host's client, its command sessions and
// its SFTP client go through goph; dialling (through bastions), the host
// key check and pinning, and stopping a command from a context use
// golang.org/x/crypto/ssh directly, which goph cannot do (docs/runner.md).
package runner
