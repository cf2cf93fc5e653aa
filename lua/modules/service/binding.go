package service

import (
	glua "github.com/yuin/gopher-lua"

	"remedy/lua"
)

func init() {
	svcArg := lua.Param{Name: "svc", Type: "string|{name: string, pidfile?: string, signal?: string}", Doc: `a service name, or a table; pidfile (default /run/NAME.pid) and signal (default "HUP") are used where there is no init system`}
	lua.Register(lua.Module{
		Name: "service",
		Doc: `Reloads, restarts and queries services. It uses the init system
facts.init names: systemd (systemctl), SysV (service), or none, as in
containers and the lab, where reload signals the pid in the service's pid
file.
reload and restart count as changes and are only reported in check mode.`,
		Funcs: []lua.Func{
			{Name: "reload", Params: []lua.Param{svcArg}, Doc: "Reloads a service's configuration.", Call: serviceReload},
			{Name: "restart", Params: []lua.Param{svcArg}, Doc: "Restarts a service. Without an init system there is no way to start a process again, so this fails: use reload.", Call: serviceRestart},
			{
				Name:    "enabled",
				Params:  []lua.Param{svcArg},
				Returns: []lua.Param{{Name: "enabled", Type: "boolean", Doc: "starts at boot; without an init system: the pid file names a live process"}},
				Doc:     "Reports whether a service is enabled. Runs in check mode too.",
				Call:    serviceEnabled,
			},
		},
	})
}

// serviceArg reads a service argument: a name, or a table.
func serviceArg(L *glua.LState, fn string) Service {
	var s Service
	if name, ok := L.Get(1).(glua.LString); ok {
		s.Name = string(name)
	} else {
		o := lua.TableArg(L, 1, fn, false, "name", "pidfile", "signal")
		s = Service{Name: o.Str("name", true), Pidfile: o.Str("pidfile", false), Signal: o.Str("signal", false)}
	}
	s = s.withDefaults()
	if err := s.validate(); err != nil {
		lua.ArgError(L, fn, "%v", err)
	}
	return s
}

func serviceReload(e *lua.Env, L *glua.LState) int  { return serviceAction(e, L, "reload") }
func serviceRestart(e *lua.Env, L *glua.LState) int { return serviceAction(e, L, "restart") }

func serviceAction(e *lua.Env, L *glua.LState, action string) int {
	if err := Do(e, action, serviceArg(L, "service."+action)); err != nil {
		e.Fail(err)
	}
	return 0
}

func serviceEnabled(e *lua.Env, L *glua.LState) int {
	on, err := Enabled(e, serviceArg(L, "service.enabled"))
	if err != nil {
		e.Fail(err)
	}
	L.Push(glua.LBool(on))
	return 1
}
