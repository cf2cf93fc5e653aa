// Command remedy is an agentless, Ansible-style remediation tool: it reads an
// Ansible inventory, connects to each host over SSH and runs Lua playbooks
// that audit and fix sshd and the host firewall.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"remedy/runner/output"
)

// rootCmd is the remedy command; each subcommand adds itself in its own
// file's init.
var rootCmd = &cobra.Command{
	Use:   "remedy",
	Short: "Agentless remediation of sshd and host firewalls, with Lua playbooks",
	Long: `remedy reads an Ansible-compatible inventory, connects to each host over
SSH and runs Lua playbooks that inspect and fix sshd's ports, the host
firewall and outbound access. Built in: the aspera-server and aspera-client
playbooks. Run "remedy audit" for a dry run that changes nothing.

Ctrl-C stops starting hosts, stops the remote commands, closes the
connections, prints the recap so far and exits 99. A second Ctrl-C, for
a host that does not let go, exits 99 at once, without the recap; its
remote command may still be running. SIGTERM does as Ctrl-C does.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	// SIGTERM (a CI job cancelled, systemd stopping a timer's run) winds
	// down as Ctrl-C does: the recap and reports say which hosts were cut
	// short, instead of the process vanishing with nothing written.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go onInterrupt(sigs, cancel, exitNow(os.Stdin))
	err := rootCmd.ExecuteContext(ctx)
	if err != nil {
		printError(os.Stderr, err)
	}
	os.Exit(exitCode(err))
}

// printError writes err after "remedy: ". Its text may quote a host or
// an inventory, so their controls are shown as escapes, as in the output.
func printError(w io.Writer, err error) {
	fmt.Fprintln(w, "remedy:", output.Visible(err.Error()))
}

// onInterrupt cancels the run at the first Ctrl-C, so it winds down and
// prints its recap, and calls exit at the second: an operator must not
// be held by a host whose command or connection does not let go.
func onInterrupt(sigs <-chan os.Signal, cancel context.CancelFunc, exit func()) {
	<-sigs
	fmt.Fprintln(os.Stderr, "remedy: interrupted: stopping; Ctrl-C again to exit at once")
	cancel()
	<-sigs
	fmt.Fprintln(os.Stderr, "remedy: interrupted twice: exiting now")
	exit()
}

// exitNow exits 99 with the terminal as it was at start: a Ctrl-C at a
// password prompt would otherwise leave the shell without echo.
func exitNow(tty *os.File) func() {
	fd := int(tty.Fd())
	state, err := term.GetState(fd)
	return func() {
		if err == nil {
			term.Restore(fd, state)
		}
		os.Exit(exitInterrupted)
	}
}

// Exit codes, as the README documents them.
const (
	exitOK          = 0
	exitFailed      = 2
	exitDrift       = 3
	exitUnreachable = 4
	exitBadInput    = 5
	exitInterrupted = 99
)

// exitError carries the exit code a command wants alongside its error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as a problem with the command line, inventory or
// playbook: exit code 5, and no host was contacted.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitBadInput, err: err}
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	// Cobra's own errors (unknown flag, missing argument) are bad command lines.
	return exitBadInput
}
