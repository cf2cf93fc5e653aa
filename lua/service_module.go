package lua

import (
	"fmt"
	"regexp"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/change"
	"remedy/lua/valid"
)

func init() {
	svcArg := Param{"svc", "string|{name: string, pidfile?: string, signal?: string}", `a service name, or a table; pidfile (default /run/NAME.pid) and signal (default "HUP") are used where there is no init system`}
	Register(Module{
		Name: "service",
		Doc: `Reloads, restarts and queries services. It uses the init system
facts.init names: systemd (systemctl), SysV (service), or none, as in
containers and the lab, where reload signals the pid in the service's pid
file.
reload and restart count as changes and are only reported in check mode.`,
		Funcs: []Func{
			{Name: "reload", Params: []Param{svcArg}, Doc: "Reloads a service's configuration.", Call: serviceReload},
			{Name: "restart", Params: []Param{svcArg}, Doc: "Restarts a service. Without an init system there is no way to start a process again, so this fails: use reload.", Call: serviceRestart},
			{
				Name:    "enabled",
				Params:  []Param{svcArg},
				Returns: []Param{{"enabled", "boolean", "starts at boot; without an init system: the pid file names a live process"}},
				Doc:     "Reports whether a service is enabled. Runs in check mode too.",
				Call:    serviceEnabled,
			},
		},
	})
}

// service is a service argument.
type service struct {
	name, pidfile, signal string
}

func serviceArg(L *glua.LState, fn string) service {
	var s service
	if name, ok := L.Get(1).(glua.LString); ok {
		s.name = string(name)
	} else {
		o := TableArg(L, 1, fn, false, "name", "pidfile", "signal")
		s = service{name: o.Str("name", true), pidfile: o.Str("pidfile", false), signal: o.Str("signal", false)}
	}
	if s.pidfile == "" {
		s.pidfile = "/run/" + s.name + ".pid"
	}
	if s.signal == "" {
		s.signal = "HUP"
	}
	if err := s.validate(); err != nil {
		ArgError(L, fn, "%v", err)
	}
	return s
}

// serviceName and signalName are what unit, init script and signal names
// look like; a leading dash would read as an option.
var (
	serviceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_@.:-]*$`)
	signalName  = regexp.MustCompile(`^[A-Z][A-Z0-9]*$`)
)

func (s service) validate() error {
	if !serviceName.MatchString(s.name) {
		return fmt.Errorf("%q is not a service name", s.name)
	}
	if !signalName.MatchString(s.signal) {
		return fmt.Errorf("signal %q is not a signal name like HUP", s.signal)
	}
	if err := valid.Path(s.pidfile); err != nil {
		return fmt.Errorf("pidfile %.80q: %w", s.pidfile, err)
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

// serviceCommand returns the argv that performs action on s under init.
func serviceCommand(init, action string, s service) ([]string, error) {
	switch init {
	case "systemd":
		return []string{"systemctl", action, "--", s.name}, nil
	case "sysv":
		return []string{"service", s.name, action}, nil
	case "none", "":
		if action == "reload" {
			return []string{"sh", "-c", signalScript, "sh", s.pidfile, s.signal}, nil
		}
		return nil, fmt.Errorf("cannot %s %s without an init system; use service.reload, which signals the pid in %s", action, s.name, s.pidfile)
	default:
		return nil, fmt.Errorf("unknown init system %q", init)
	}
}

func enabledCommand(init string, s service) []string {
	switch init {
	case "systemd":
		return []string{"systemctl", "is-enabled", "--quiet", "--", s.name}
	case "sysv":
		return []string{"sh", "-c", sysvEnabledScript, "sh", s.name}
	default:
		return []string{"sh", "-c", aliveScript, "sh", s.pidfile}
	}
}

func serviceReload(e *Env, L *glua.LState) int  { return serviceAction(e, L, "reload") }
func serviceRestart(e *Env, L *glua.LState) int { return serviceAction(e, L, "restart") }

func serviceAction(e *Env, L *glua.LState, action string) int {
	s := serviceArg(L, "service."+action)
	argv, err := serviceCommand(e.Facts().Init, action, s)
	if err != nil {
		e.Fail(fmt.Errorf("service.%s: %w", action, err))
	}
	say := change.Say{Done: action + " " + s.name, Would: "would " + action + " " + s.name}
	if _, err := e.Apply(change.Command{Argv: argv, Say: say}); err != nil {
		e.Fail(err)
	}
	return 0
}

func serviceEnabled(e *Env, L *glua.LState) int {
	s := serviceArg(L, "service.enabled")
	out, err := e.Query(enabledCommand(e.Facts().Init, s)...)
	if err != nil {
		e.Fail(err)
	}
	L.Push(glua.LBool(out.ExitCode == 0))
	return 1
}
