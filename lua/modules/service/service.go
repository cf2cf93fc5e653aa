// Package service is the service module: reload, restart and query
// services through the init system the facts name (Do, Enabled), changes
// going through the gate; binding.go is its Lua binding.
package service

import (
	"fmt"
	"regexp"

	"remedy/lua/change"
	"remedy/lua/valid"
)

// Service is a service: its name, and where there is no init system the
// pid file holding its process id and the signal that reloads it.
type Service struct {
	Name, Pidfile, Signal string
}

// withDefaults fills in the pid file (/run/NAME.pid) and signal (HUP).
func (s Service) withDefaults() Service {
	if s.Pidfile == "" {
		s.Pidfile = "/run/" + s.Name + ".pid"
	}
	if s.Signal == "" {
		s.Signal = "HUP"
	}
	return s
}

// signalName is what a signal's name looks like; a leading dash would
// read as an option.
var signalName = regexp.MustCompile(`^[A-Z][A-Z0-9]*$`)

func (s Service) validate() error {
	if valid.Service(s.Name) != nil {
		return fmt.Errorf("%q is not a service name", s.Name)
	}
	if !signalName.MatchString(s.Signal) {
		return fmt.Errorf("signal %q is not a signal name like HUP", s.Signal)
	}
	if err := valid.Path(s.Pidfile); err != nil {
		return fmt.Errorf("pidfile %.80q: %w", s.Pidfile, err)
	}
	return nil
}

// pidOf reads the pid in the file $1 into $p, and exits unless it is a
// process id: kill takes "-1" as every process it may signal, and "0" as
// its own process group, so such a pid file would signal them all.
const pidOf = `p=$(cat -- "$1") || exit 1; case $p in ''|0*|*[!0-9]*) echo "$1 does not hold a process id" >&2; exit 1;; esac; `

// signalScript sends $2 to the pid in the file $1; the script is constant
// and the values arrive as quoted arguments.
const signalScript = pidOf + `kill -s "$2" "$p"`

// aliveScript succeeds when the pid in the file $1 is a live process.
const aliveScript = "exec 2>/dev/null; " + pidOf + `kill -0 "$p"`

// sysvEnabledScript succeeds when a runlevel 2-5 start link exists for $1.
const sysvEnabledScript = `ls /etc/rc[2345].d/S[0-9][0-9]"$1" >/dev/null 2>&1`

// SignalCommand sends signal to the process whose id is in pidfile: how a
// daemon reloads where there is no init system.
func SignalCommand(pidfile, signal string) []string {
	return []string{"sh", "-c", signalScript, "sh", pidfile, signal}
}

// Command returns the argv that performs action on s under init.
func Command(init, action string, s Service) ([]string, error) {
	switch init {
	case "systemd":
		return []string{"systemctl", action, "--", s.Name}, nil
	case "sysv":
		return []string{"service", s.Name, action}, nil
	case "none", "":
		if action == "reload" {
			return SignalCommand(s.Pidfile, s.Signal), nil
		}
		return nil, fmt.Errorf("cannot %s %s without an init system; use service.reload, which signals the pid in %s", action, s.Name, s.Pidfile)
	default:
		return nil, fmt.Errorf("unknown init system %q", init)
	}
}

func enabledCommand(init string, s Service) []string {
	switch init {
	case "systemd":
		return []string{"systemctl", "is-enabled", "--quiet", "--", s.Name}
	case "sysv":
		return []string{"sh", "-c", sysvEnabledScript, "sh", s.Name}
	default:
		return []string{"sh", "-c", aliveScript, "sh", s.Pidfile}
	}
}

// Do reloads or restarts a service: a change, through the gate.
func Do(sess change.Session, action string, s Service) error {
	argv, err := Command(sess.Facts().Init, action, s)
	if err != nil {
		return fmt.Errorf("service.%s: %w", action, err)
	}
	_, err = sess.Apply(change.Command{Argv: argv, Say: change.Say{Done: action + " " + s.Name, Would: "would " + action + " " + s.Name}})
	return err
}

// Enabled reports whether boot starts the service; without an init
// system, whether its pid file names a live process.
func Enabled(sess change.Session, s Service) (bool, error) {
	out, err := sess.Query(enabledCommand(sess.Facts().Init, s)...)
	if err != nil {
		return false, err
	}
	return out.ExitCode == 0, nil
}
