// Package runner runs a playbook on many hosts at once: it dials each host
// over SSH (one connection per host, host keys always checked), gathers its
// facts in one round trip, runs the playbook through package lua under a
// bound of forks and rolling serial batches, and streams every result to an
// Observer that renders it.
//
// It speaks SSH through golang.org/x/crypto/ssh directly: a run needs
// dialling through a bastion's client, commands with stdin and separate
// stdout and stderr that a context can stop, and host keys pinned across
// ports, none of which goph's wrapper offers.
package runner
