package lua

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"remedy/lua/change"
	"remedy/lua/remote"
	"remedy/lua/revert"
	"remedy/lua/shell"
	"remedy/lua/sshd"
)

// sshdMainConfig is the file sshd reads, and where the planner starts.
const sshdMainConfig = "/etc/ssh/sshd_config"

// How long sshd may take to listen after a reload, and a fresh login on
// the new port may take, before the move counts as failed.
const (
	listenTimeout = 15 * time.Second
	probeTimeout  = 20 * time.Second
)

func sshdMovePort(e *Env, L *glua.LState) int {
	o := TableArg(L, 1, "sshd.move_port", false, "to", "keep_22", "persist")
	to := o.Number("to", 0)
	if to != float64(int(to)) || to < 1 || to > 65535 {
		ArgError(L, "sshd.move_port", "to must be a port number, not %v", to)
	}
	m := &portMove{e: e, L: L, req: sshd.MoveRequest{To: int(to), Keep: o.Bool("keep_22", false)}, persist: o.Bool("persist", false)}
	res, err := m.run()
	if err != nil {
		e.Fail(err)
	}
	L.Push(ToLua(L, res))
	return 1
}

// portMove is one sshd.move_port call: the fixed order of DESIGN.md's
// "Never lock the operator out", and what it takes to undo it.
type portMove struct {
	e        *Env
	L        *glua.LState
	req      sshd.MoveRequest
	persist  bool // firewall.allow's persist: enable the unit that loads the rules at boot
	plan     sshd.Plan
	pidfile  string
	original []sshd.Edit // phase 1's edits: each file's text before the move
	written  bool        // a config file has been changed on the host
	armed    [][]string  // disarms the timed revert of phase 2 while it is armed
}

func (m *portMove) host() string { return m.e.Name() }

func (m *portMove) run() (map[string]any, error) {
	if err := m.prepare(); err != nil {
		return nil, err
	}
	res := map[string]any{"changed": false, "from": intsToAny(m.plan.From), "ports": intsToAny(m.plan.From), "inventory": ""}
	// Also when sshd is there already: what boot loads must let the port
	// in too, or the next reboot locks the operator out.
	if err := m.openFirewall(); err != nil {
		return nil, fmt.Errorf("%s: sshd.move_port: open %d/tcp in the firewall: %w", m.host(), m.req.To, err)
	}
	if m.plan.Empty() {
		return res, nil
	}
	if err := m.labelPort(); err != nil {
		return nil, err
	}
	if err := m.move(); err != nil {
		return nil, m.rollback(err)
	}
	inv := "ansible_port=" + strconv.Itoa(m.req.To)
	res["changed"], res["ports"], res["inventory"] = true, intsToAny(m.plan.Listen2), inv
	return res, nil
}

// prepare refuses a config sshd already rejects, then plans from the
// files as they are. It runs in check mode too. sshd -T checks the config
// as sshd -t does before it prints what the config means, so one read
// does both.
func (m *portMove) prepare() error {
	out, err := m.e.QueryCached("sshd", "-T")
	if err != nil {
		return err
	}
	if out.ExitCode != 0 {
		return fmt.Errorf("%s: sshd.move_port: the current sshd config is invalid, refusing to touch it (sshd -T: %s)",
			m.host(), remote.Excerpt(append(out.Stderr, out.Stdout...)))
	}
	m.pidfile = sshd.ParseEffective(string(out.Stdout)).Get("pidfile")
	files, err := m.readFiles()
	if err != nil {
		return err
	}
	if m.e.Facts().SSHSocket {
		m.req.Socket = true
		if m.req.Streams, err = socketStreams(m.e); err != nil {
			return err
		}
	}
	m.plan, err = sshd.PlanMove(files, sshdMainConfig, m.req)
	if err != nil {
		return fmt.Errorf("%s: sshd.move_port: %w", m.host(), err)
	}
	return nil
}

// readFiles reads sshd_config and every file its Include globs match,
// listing the glob directories on the host and matching them locally.
func (m *portMove) readFiles() (sshd.FileSet, error) {
	files := sshd.FileSet{Text: map[string]string{}, Listed: map[sshd.Listing][]string{}}
	if m.e.Facts().SSHSocket {
		if err := m.readInto(files, sshd.SocketDropInPath, true); err != nil {
			return files, err
		}
	}
	for {
		needs, err := sshd.FileNeeds(files, sshdMainConfig)
		if err != nil {
			return files, fmt.Errorf("%s: sshd.move_port: %w", m.host(), err)
		}
		if needs.Empty() {
			return files, nil
		}
		for _, p := range needs.Read {
			if err := m.readInto(files, p, false); err != nil {
				return files, err
			}
		}
		for _, l := range needs.List {
			out, err := m.e.Query(l.Command()...)
			if err == nil && out.ExitCode != 0 {
				err = fmt.Errorf("exit status %d: %s", out.ExitCode, remote.Excerpt(out.Stderr))
			}
			if err != nil {
				return files, fmt.Errorf("%s: list %s for sshd Include: %w", m.host(), l.Dir, err)
			}
			files.Listed[l] = sshd.ParseListing(string(out.Stdout))
		}
	}
}

func (m *portMove) readInto(files sshd.FileSet, p string, optional bool) error {
	b, err := m.e.ReadFileCached(p)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: read sshd config %s: %w", m.host(), p, err)
	}
	files.Text[p] = string(b)
	return nil
}

// openFirewall lets TCP to the new port in through the firewall module,
// which knows the host's firewall, reports in check mode, keeps a timed
// revert armed while a change could cut the session, and puts the rule
// into what boot loads; it refuses, before anything changes, when a
// reboot would not keep the port open.
func (m *portMove) openFirewall() error {
	if m.e.Facts().Firewall == "none" {
		return nil
	}
	fw, ok := m.L.GetGlobal("firewall").(*glua.LTable)
	if !ok {
		return errors.New("the firewall module is not available")
	}
	allow, ok := fw.RawGetString("allow").(*glua.LFunction)
	if !ok {
		return errors.New("the firewall module has no allow function")
	}
	arg := ToLua(m.L, map[string]any{"dir": "in", "proto": "tcp", "port": m.req.To, "comment": "sshd port " + strconv.Itoa(m.req.To), "persist": m.persist})
	return withoutTraceback(m.L.CallByParam(glua.P{Fn: allow, NRet: 1, Protect: true}, arg))
}

// withoutTraceback keeps a Lua error's message and drops the stack
// traceback gopher-lua appends: the operator reads the message, and
// move_port's own error already names the playbook line.
func withoutTraceback(err error) error {
	var apiErr *glua.ApiError
	if !errors.As(err, &apiErr) || apiErr.Object == nil {
		return err
	}
	if apiErr.Cause != nil {
		return apiErr.Cause
	}
	return errors.New(apiErr.Object.String())
}

// labelPort gives the new port the SELinux type sshd may bind, where
// SELinux would otherwise silently keep sshd from listening.
func (m *portMove) labelPort() error {
	if se := m.e.Facts().SELinux; se != "enforcing" && se != "permissive" {
		return nil
	}
	out, err := m.e.Query(sshd.PortLabelsCommand...)
	if err == nil && out.ExitCode != 0 {
		err = fmt.Errorf("exit status %d: %s", out.ExitCode, remote.Excerpt(out.Stderr))
	}
	if err != nil {
		return fmt.Errorf("%s: sshd.move_port: semanage port -l: %w", m.host(), err)
	}
	labels, err := sshd.ParsePortLabels(string(out.Stdout))
	if err != nil {
		return fmt.Errorf("%s: sshd.move_port: %w", m.host(), err)
	}
	if argv := sshd.LabelCommand(labels, m.req.To); argv != nil {
		_, err = m.e.applyArgv(argv...)
	}
	return err
}

// move runs both phases: old and new ports, proven from the controller;
// then only the wanted ports, and the connection moves.
func (m *portMove) move() error {
	if err := m.apply(m.plan.Phase1, true); err != nil {
		return fmt.Errorf("phase 1 (listen on %s): %w", portList(m.plan.Listen1), err)
	}
	if err := m.verify(m.req.To, nil); err != nil {
		return err
	}
	if len(m.plan.Phase2) == 0 {
		return nil
	}
	if err := m.armPhase2Revert(); err != nil {
		return err
	}
	if err := m.apply(m.plan.Phase2, false); err != nil {
		return fmt.Errorf("phase 2 (listen on %s): %w", portList(m.plan.Listen2), err)
	}
	if err := m.verify(m.req.To, without(m.plan.Listen1, m.plan.Listen2)); err != nil {
		return err
	}
	if err := m.disarm(); err != nil {
		return err
	}
	if m.e.checking() {
		m.e.record(true, "", fmt.Sprintf("# move the connection to port %d", m.req.To))
		return nil
	}
	if err := m.e.host.MovePort(m.e.Context(), m.req.To); err != nil {
		return fmt.Errorf("move the connection to port %d: %w", m.req.To, err)
	}
	return nil
}

// armPhase2Revert arms, before phase 2 closes the old ports, a timed
// revert on the host that puts phase 1's files back and restarts sshd on
// them: the old and the new ports, both proven. A lost connection cannot
// roll back over itself, and the new port may stop answering between
// phase 1's login and phase 2's (a rule added meanwhile, a pending
// revert): the host then opens the old ports again by itself. Only the
// controller's fresh login after phase 2 disarms it.
func (m *portMove) armPhase2Revert() error {
	if m.e.checking() {
		m.e.record(true, "", fmt.Sprintf("# arm a timed revert on the host: sshd back on %s in %s unless the controller logs in on %d after phase 2",
			portList(m.plan.Listen1), revert.Window, m.req.To))
		return nil
	}
	paths := make([]string, len(m.plan.Phase2))
	for i, ed := range m.plan.Phase2 {
		paths[i] = ed.Path
	}
	save, restore := sshd.RevertFiles(paths, m.restartScript())
	r, err := revert.Plan(m.e.Facts().Init, revert.NewToken("sshd"), revert.Window, save, restore)
	if err != nil {
		return err
	}
	for _, c := range r.Arm {
		if _, err := m.e.applyArgv(c...); err != nil {
			return fmt.Errorf("arm the revert of phase 2: %w", err)
		}
	}
	m.armed = r.Disarm
	return nil
}

// disarm stops the revert phase 2 armed: the controller has logged in on
// the new port, or is connected and rolls back itself.
func (m *portMove) disarm() error {
	for _, c := range m.armed {
		if _, err := m.e.applyArgv(c...); err != nil {
			return fmt.Errorf("disarm the revert of phase 2: %w", err)
		}
	}
	m.armed = nil
	return nil
}

// restartScript is what the phase 2 revert runs once the files are back:
// the reload (and ssh.socket's restart) the move itself would run, or,
// when sshd is gone, a start.
func (m *portMove) restartScript() string {
	var lines []string
	if m.req.Socket {
		lines = append(lines, shell.Join("systemctl", "daemon-reload"), shell.Join("systemctl", "restart", "ssh.socket"))
	}
	lines = append(lines, shell.Join(m.reloadCommand()...)+" || "+shell.Join(m.startCommand()...))
	return strings.Join(lines, "; ")
}

// apply writes one phase's files, validates and reloads. The first phase
// backs the files up; the second starts from the first's result.
func (m *portMove) apply(edits []sshd.Edit, first bool) error {
	for _, ed := range edits {
		if first {
			m.original = append(m.original, ed)
		}
		if err := m.write(ed, first); err != nil {
			return err
		}
	}
	if m.e.checking() {
		m.e.record(true, "", "sshd -t")
	} else if err := m.validate(); err != nil {
		return err
	}
	return m.reload(edits)
}

// write puts one edit on the host. In check mode phase 2's files are still
// the originals, so its diff is reported from the plan.
func (m *portMove) write(ed sshd.Edit, first bool) error {
	if m.e.checking() && !first {
		m.e.record(true, ed.Diff(), "write "+ed.Path)
		return nil
	}
	if ed.Create {
		if _, err := m.e.applyArgv("mkdir", "-p", path.Dir(ed.Path)); err != nil {
			return err
		}
	}
	m.written = m.written || !m.e.checking()
	_, err := m.e.Apply(change.File{Path: ed.Path, Content: []byte(ed.New), Backup: first})
	return err
}

func (m *portMove) validate() error {
	out, err := m.e.Query("sshd", "-t")
	if err != nil {
		return err
	}
	if out.ExitCode != 0 {
		return fmt.Errorf("sshd -t rejects the new config: %s", remote.Excerpt(append(out.Stderr, out.Stdout...)))
	}
	return nil
}

// reload makes sshd (and ssh.socket, when a phase changed its drop-in)
// pick up the files.
func (m *portMove) reload(edits []sshd.Edit) error {
	for _, ed := range edits {
		if ed.Path != sshd.SocketDropInPath {
			continue
		}
		for _, argv := range [][]string{{"systemctl", "daemon-reload"}, {"systemctl", "restart", "ssh.socket"}} {
			if _, err := m.e.applyArgv(argv...); err != nil {
				return err
			}
		}
	}
	_, err := m.e.applyArgv(m.reloadCommand()...)
	return err
}

// reloadCommand reloads sshd through systemd, or where there is no init
// system sends SIGHUP to the pid in sshd's PidFile: sshd re-executes
// itself and running sessions survive.
func (m *portMove) reloadCommand() []string {
	if m.e.Facts().Init == "systemd" {
		if m.req.Socket {
			// Restarting ssh.socket may have stopped ssh.service; a
			// stopped service starts on the next connection by itself.
			return []string{"systemctl", "try-reload-or-restart", m.serviceName()}
		}
		return []string{"systemctl", "reload", m.serviceName()}
	}
	pidfile := m.pidfile
	if pidfile == "" {
		pidfile = "/run/sshd.pid"
	}
	return []string{"sh", "-c", signalScript, "sh", pidfile, "HUP"}
}

// serviceName is sshd's systemd unit: Debian and Ubuntu call it ssh.
func (m *portMove) serviceName() string {
	if m.e.Facts().OSFamily == "debian" {
		return "ssh"
	}
	return "sshd"
}

// verify waits until the host listens on port and no longer on gone,
// which tells the reloaded sshd has bound its sockets (SIGHUP re-executes
// it under the same pid), then logs in there from the controller over a
// fresh connection.
func (m *portMove) verify(port int, gone []int) error {
	if m.e.checking() {
		m.e.record(true, "", fmt.Sprintf("# wait until sshd listens on %d, then log in there from the controller over a new connection", port))
		return nil
	}
	if err := m.waitListening(port, gone); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(m.e.Context(), probeTimeout)
	defer cancel()
	if err := m.e.Probe(ctx, port); err != nil {
		return fmt.Errorf("a fresh SSH login on port %d from the controller failed: %w", port, err)
	}
	return nil
}

func (m *portMove) waitListening(port int, gone []int) error {
	deadline := time.Now().Add(listenTimeout)
	for {
		ls, err := listeners(m.e)
		if err != nil {
			return err
		}
		if sshd.ListeningOn(ls, port) && !slices.ContainsFunc(gone, func(p int) bool { return sshd.ListeningOn(ls, p) }) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sshd does not listen on port %d (and only there among %s) %s after the reload", port, portList(append([]int{port}, gone...)), listenTimeout)
		}
		select {
		case <-m.e.Context().Done():
			return m.e.Context().Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// rollback restores every file the move changed, reloads, and checks the
// old port answers; the error says what failed and what the host is left
// with.
func (m *portMove) rollback(cause error) error {
	msg := fmt.Sprintf("%s: sshd.move_port to %d failed: %v", m.host(), m.req.To, cause)
	if m.e.checking() || !m.written {
		return errors.New(msg)
	}
	if err := m.disarm(); err != nil {
		return fmt.Errorf("%s; ROLLBACK FAILED: %v; the revert armed on the host restores phase 1's files within %s", msg, err, revert.Window)
	}
	var restored []string
	for _, ed := range m.original {
		var err error
		if ed.Create {
			_, err = m.e.applyArgv("rm", "-f", ed.Path)
		} else {
			_, err = m.e.Apply(change.File{Path: ed.Path, Content: []byte(ed.Old)})
		}
		if err != nil {
			return fmt.Errorf("%s; ROLLBACK FAILED restoring %s: %v", msg, ed.Path, err)
		}
		restored = append(restored, ed.Path)
	}
	// A failed reload leaves the running sshd on the config it had;
	// starting one covers an sshd the failed reload stopped.
	reloaded := "reloaded sshd"
	if rerr := m.reload(m.original); rerr != nil {
		if _, err := m.e.applyArgv(m.startCommand()...); err != nil {
			return fmt.Errorf("%s; restored %s but neither reloading nor starting sshd worked: %v", msg, strings.Join(restored, ", "), err)
		}
		reloaded = fmt.Sprintf("reloading sshd failed (%v), so sshd was started", rerr)
	}
	port, err := m.oldPortAnswers()
	if err != nil {
		return fmt.Errorf("%s; restored %s and %s, but no old port answers: %v", msg, strings.Join(restored, ", "), reloaded, err)
	}
	kept := ""
	if m.e.Facts().Firewall != "none" {
		kept = fmt.Sprintf("; the firewall still lets %d/tcp in", m.req.To)
	}
	return fmt.Errorf("%s; rolled back: restored %s, %s, port %d answers%s", msg, strings.Join(restored, ", "), reloaded, port, kept)
}

// oldPortAnswers returns the first old port that listens again, without
// the ports the move added, and lets the controller log in; sshd may still
// be re-executing, so logins are retried until probeTimeout. The port the
// connection is on comes first: it is the one the operator uses.
func (m *portMove) oldPortAnswers() (int, error) {
	var errs []error
	added := without(m.plan.Listen1, m.plan.From)
	for _, p := range connectionFirst(m.plan.From, m.e.Port()) {
		err := m.waitListening(p, added)
		if err == nil {
			err = m.probeRetrying(p)
		}
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("port %d: %w", p, err))
	}
	return 0, errors.Join(errs...)
}

func (m *portMove) probeRetrying(port int) error {
	ctx, cancel := context.WithTimeout(m.e.Context(), probeTimeout)
	defer cancel()
	for {
		err := m.e.Probe(ctx, port)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startCommand starts sshd when a reload found it gone: a config it could
// not bind makes sshd exit on SIGHUP. sshd must be started by its absolute
// path to re-execute itself later.
func (m *portMove) startCommand() []string {
	if m.e.Facts().Init == "systemd" {
		return []string{"systemctl", "restart", m.serviceName()}
	}
	return []string{"/usr/sbin/sshd"}
}

// connectionFirst returns ports with conn, the connection's port, moved
// to the front when it is among them.
func connectionFirst(ports []int, conn int) []int {
	if !slices.Contains(ports, conn) {
		return ports
	}
	return append([]int{conn}, without(ports, []int{conn})...)
}

// without returns the ports of a that are not in b.
func without(a, b []int) []int {
	var out []int
	for _, p := range a {
		if !slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	return out
}

func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}

// applyArgv runs a command through the gate.
func (e *Env) applyArgv(args ...string) (remote.Output, error) {
	r, err := e.Apply(change.Command{Argv: args})
	return r.Output, err
}
