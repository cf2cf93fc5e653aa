package sshd

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

	"remedy/lua/change"
	"remedy/lua/firewall"
	fwmodule "remedy/lua/modules/firewall"
	"remedy/lua/modules/service"
	"remedy/lua/remote"
	"remedy/lua/revert"
	"remedy/lua/shell"
	"remedy/lua/sshd"
)

// How long sshd may take to listen after a reload, and fresh logins on
// the new port may keep failing, before the move counts as failed. Each
// login is bounded by --timeout (10s by default) and retried until
// probeTimeout: the first connection to a socket-activated sshd starts
// sshd itself, which a loaded host may not do within one try.
const (
	listenTimeout = 15 * time.Second
	probeTimeout  = 20 * time.Second
)

// Moved is what MovePort did, or would do in check mode.
type Moved struct {
	Changed   bool
	From      []int  // the ports before
	Ports     []int  // the ports after
	Inventory string // the inventory change to make, "ansible_port=33001"; "" when unchanged
}

// MovePort moves sshd to req.To in the fixed order of DESIGN.md's "Never
// lock the operator out": it opens the port in the firewall (the
// firewall's Go API, now and in what boot loads; persist as Allow's),
// labels it for SELinux, writes the old and new ports, validates, reloads
// and logs in on the new port from the controller; then, under a timed
// revert on the host, it writes only the wanted ports, logs in again,
// disarms the revert and moves the connection. Every change goes through
// one sequence of the gate, the same in check mode, where nothing runs; a
// failure after the first write rolls the files back, reloads and
// confirms an old port answers.
func MovePort(s change.Session, req sshd.MoveRequest, persist bool) (Moved, error) {
	m := &portMove{s: s, req: req, persist: persist}
	return m.run()
}

// portMove is one MovePort call and what it takes to undo it.
type portMove struct {
	s        change.Session
	req      sshd.MoveRequest
	persist  bool
	plan     sshd.Plan
	pidfile  string
	seq      change.Sequence
	original []sshd.Edit   // phase 1's edits: each file's text before the move
	armed    [][]string    // disarms the timed revert of phase 2 while it is armed
	revert   revert.Revert // phase 2's revert, whose deadline proveLife pushes
	pushed   time.Time     // when its deadline was last pushed
	restored bool          // the rollback put phase 1's files back
}

func (m *portMove) host() string { return m.s.Name() }

func (m *portMove) run() (Moved, error) {
	if err := m.prepare(); err != nil {
		return Moved{}, err
	}
	res := Moved{From: m.plan.From, Ports: m.plan.From}
	// Also when sshd is there already: what boot loads must let the port
	// in too, or the next reboot locks the operator out.
	if err := m.openFirewall(); err != nil {
		return Moved{}, fmt.Errorf("%s: sshd.move_port: open %d/tcp in the firewall: %w", m.host(), m.req.To, err)
	}
	if m.plan.Empty() {
		return res, nil
	}
	m.seq = m.s.Begin()
	if err := m.labelPort(); err != nil {
		return Moved{}, err
	}
	if err := m.move(); err != nil {
		return Moved{}, m.rollback(err)
	}
	return Moved{Changed: true, From: m.plan.From, Ports: m.plan.Listen2, Inventory: "ansible_port=" + strconv.Itoa(m.req.To)}, nil
}

// prepare refuses a config sshd already rejects, then plans from the
// files as they are. sshd -T checks the config as sshd -t does before it
// prints what the config means, so one read does both.
func (m *portMove) prepare() error {
	out, err := m.s.QueryCached("sshd", "-T")
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
	if m.s.Facts().SSHSocket {
		m.req.Socket = true
		if m.req.Streams, err = socketStreams(m.s); err != nil {
			return err
		}
	}
	m.plan, err = sshd.PlanMove(files, mainConfig, m.req)
	if err != nil {
		return fmt.Errorf("%s: sshd.move_port: %w", m.host(), err)
	}
	return nil
}

// readFiles reads sshd_config and every file its Include globs match,
// listing the glob directories on the host and matching them locally.
func (m *portMove) readFiles() (sshd.FileSet, error) {
	files := sshd.FileSet{Text: map[string]string{}, Listed: map[sshd.Listing][]string{}}
	if m.s.Facts().SSHSocket {
		if err := m.readInto(files, sshd.SocketDropInPath, true); err != nil {
			return files, err
		}
	}
	for {
		needs, err := sshd.FileNeeds(files, mainConfig)
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
			out, err := m.s.Query(l.Command()...)
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
	b, err := m.s.ReadFileCached(p)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: read sshd config %s: %w", m.host(), p, err)
	}
	files.Text[p] = string(b)
	return nil
}

// openFirewall lets TCP to the new port in through the firewall's Go API,
// which keeps a timed revert armed while a change could cut the session,
// and puts the rule into what boot loads; it refuses, before anything
// changes, when a reboot would not keep the port open.
func (m *portMove) openFirewall() error {
	if m.s.Facts().Firewall == "none" {
		return nil
	}
	a := firewall.Allow{Dir: "in", Proto: "tcp", Ports: firewall.PortRange{Lo: uint16(m.req.To), Hi: uint16(m.req.To)},
		Comment: "sshd port " + strconv.Itoa(m.req.To)}
	_, err := fwmodule.Allow(m.s, a, m.persist)
	return err
}

// labelPort gives the new port the SELinux type sshd may bind, where
// SELinux would otherwise silently keep sshd from listening.
func (m *portMove) labelPort() error {
	if se := m.s.Facts().SELinux; se != "enforcing" && se != "permissive" {
		return nil
	}
	out, err := m.s.Query(sshd.PortLabelsCommand...)
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
		_, err = m.seq.Apply(change.Command{Argv: argv}, nil)
	}
	return err
}

// move runs both phases: old and new ports, proven from the controller;
// then only the wanted ports, and the connection moves.
func (m *portMove) move() error {
	if err := m.apply(m.plan.Phase1, true); err != nil {
		return fmt.Errorf("phase 1 (listen on %s): %w", portList(m.plan.Listen1), err)
	}
	// A failed check says its phase: the same login failing in phase 1
	// (old ports still open) and in phase 2 (under the timed revert) has
	// different causes.
	if err := m.verify(m.req.To, nil); err != nil {
		return fmt.Errorf("phase 1 (listen on %s): %w", portList(m.plan.Listen1), err)
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
	if err := m.proveLife(); err != nil {
		return err
	}
	if err := m.verify(m.req.To, without(m.plan.Listen1, m.plan.Listen2)); err != nil {
		return fmt.Errorf("phase 2 (listen on %s): %w", portList(m.plan.Listen2), err)
	}
	// A push (when due) also finds out whether the revert fired during
	// the wait, where a disarm would stop nothing and report a move the
	// host has taken back.
	if err := m.proveLife(); err != nil {
		return err
	}
	if err := m.disarm(); err != nil {
		return err
	}
	_, err := m.seq.Apply(change.Reconnect{Port: m.req.To}, nil)
	return err
}

// armPhase2Revert arms, before phase 2 closes the old ports, a timed
// revert on the host that puts phase 1's files back and restarts sshd on
// them: the old and the new ports, both proven. A lost connection cannot
// roll back over itself, and the new port may stop answering between
// phase 1's login and phase 2's (a rule added meanwhile, a pending
// revert): the host then opens the old ports again by itself. Only the
// controller's fresh login after phase 2 disarms it; a rollback disarms
// it first.
func (m *portMove) armPhase2Revert() error {
	paths := make([]string, len(m.plan.Phase2))
	for i, ed := range m.plan.Phase2 {
		paths[i] = ed.Path
	}
	save, restore := sshd.RevertFiles(paths, m.restartScript())
	r, err := revert.Plan(m.s.Facts().Init, revert.NewToken("sshd"), revert.Window, save, restore)
	if err != nil {
		return err
	}
	m.armed, m.revert = r.Disarm, r
	undo := func() (string, error) {
		if err := m.disarm(); err != nil {
			return "", fmt.Errorf("ROLLBACK FAILED: %v; the revert armed on the host restores phase 1's files once the controller has been silent for %s", err, r.Window)
		}
		return "", nil
	}
	for i, c := range r.Arm {
		if i > 0 {
			undo = nil
		}
		if _, err := m.seq.Apply(change.Command{Argv: c}, undo); err != nil {
			return fmt.Errorf("arm the revert of phase 2: %w", err)
		}
	}
	m.pushed = time.Now()
	return nil
}

// proveLife pushes the deadline of phase 2's revert forward once a
// quarter of its window has passed since the last push: each step the
// host has answered shows the controller is there, so on a slow host the
// window counts from the controller's last answer, not from the arming.
// A push that finds the revert fired fails the move, which rolls back.
func (m *portMove) proveLife() error {
	if m.armed == nil || !m.revert.Due(m.pushed) {
		return nil
	}
	for _, c := range m.revert.Extend {
		if _, err := m.seq.Apply(change.Command{Argv: c}, nil); err != nil {
			return fmt.Errorf("push the deadline of the revert of phase 2: %w", err)
		}
	}
	m.pushed = time.Now()
	return nil
}

// disarm stops the revert phase 2 armed: the controller has logged in on
// the new port, or is connected and rolls back itself.
func (m *portMove) disarm() error {
	for _, c := range m.armed {
		if _, err := m.seq.Apply(change.Command{Argv: c}, nil); err != nil {
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
		for _, argv := range m.socketRestart() {
			lines = append(lines, shell.Join(argv...))
		}
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
		if err := m.proveLife(); err != nil {
			return err
		}
	}
	validate := change.Step{Describe: "sshd -t", Run: m.validate}
	if _, err := m.seq.Apply(validate, nil); err != nil {
		return err
	}
	if err := m.proveLife(); err != nil {
		return err
	}
	return m.reload(edits)
}

// write puts one edit on the host. Each of phase 1's writes that runs
// keeps the rollback: every phase 1 file back, sshd reloaded, once.
func (m *portMove) write(ed sshd.Edit, first bool) error {
	if ed.Create {
		if _, err := m.seq.Apply(change.Command{Argv: []string{"mkdir", "-p", path.Dir(ed.Path)}}, nil); err != nil {
			return err
		}
	}
	var undo change.Undo
	if first {
		undo = m.restore
	}
	_, err := m.seq.Apply(change.File{Path: ed.Path, Content: []byte(ed.New), Backup: first}, undo)
	return err
}

func (m *portMove) validate() error {
	out, err := m.s.Query("sshd", "-t")
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
		for _, argv := range m.socketRestart() {
			if _, err := m.seq.Apply(change.Command{Argv: argv}, nil); err != nil {
				return err
			}
		}
	}
	_, err := m.seq.Apply(change.Command{Argv: m.reloadCommand()}, nil)
	return err
}

// socketRestart makes ssh.socket listen on what its drop-in now says. The
// socket must restart to bind new ports, and with Accept=no (Debian 13)
// it refuses to start while the sshd it activated still runs ("Socket
// service ssh.service already active, refusing"), which left the host
// with no ssh.socket at all: that sshd is stopped first. Its unit kills
// only the listener (KillMode=process), so sessions, ours included,
// survive; the next connection starts it again with the new sockets.
func (m *portMove) socketRestart() [][]string {
	return [][]string{{"systemctl", "daemon-reload"}, {"systemctl", "stop", m.serviceName() + ".service"},
		{"systemctl", "restart", "ssh.socket"}}
}

// reloadCommand reloads sshd through systemd, or where there is no init
// system sends SIGHUP to the pid in sshd's PidFile: sshd re-executes
// itself and running sessions survive.
func (m *portMove) reloadCommand() []string {
	if m.s.Facts().Init == "systemd" {
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
	return service.SignalCommand(pidfile, "HUP")
}

// serviceName is sshd's systemd unit: Debian and Ubuntu call it ssh.
func (m *portMove) serviceName() string {
	if m.s.Facts().OSFamily == "debian" {
		return "ssh"
	}
	return "sshd"
}

// verify waits until the host listens on port and no longer on gone,
// which tells the reloaded sshd has bound its sockets (SIGHUP re-executes
// it under the same pid), then logs in there from the controller over a
// fresh connection.
func (m *portMove) verify(port int, gone []int) error {
	step := change.Step{
		Describe: fmt.Sprintf("# wait until sshd listens on %d, then log in there from the controller over a new connection", port),
		Run: func() error {
			if err := m.waitListening(port, gone); err != nil {
				return err
			}
			if err := m.probeRetrying(port); err != nil {
				return fmt.Errorf("a fresh SSH login on port %d from the controller failed: %w", port, err)
			}
			return nil
		},
	}
	_, err := m.seq.Apply(step, nil)
	return err
}

func (m *portMove) waitListening(port int, gone []int) error {
	deadline := time.Now().Add(listenTimeout)
	for {
		// Afresh: sshd binds a port in its own time, no command of ours.
		ls, err := readListeners(m.s, m.s.Query)
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
		case <-m.s.Context().Done():
			return m.s.Context().Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// rollback undoes what the move changed on the host and says what it
// failed at and what the host is left with.
func (m *portMove) rollback(cause error) error {
	msg := fmt.Sprintf("%s: sshd.move_port to %d failed: %v", m.host(), m.req.To, cause)
	undone, err := m.seq.Rollback()
	switch {
	case err != nil:
		return fmt.Errorf("%s; %w", msg, err)
	case len(undone) == 0:
		return errors.New(msg)
	}
	return fmt.Errorf("%s; rolled back: %s", msg, strings.Join(undone, "; "))
}

// restore puts every file phase 1 changed back, reloads, and checks an
// old port answers; once, however many of phase 1's writes ran.
func (m *portMove) restore() (string, error) {
	if m.restored {
		return "", nil
	}
	m.restored = true
	var restored []string
	for _, ed := range m.original {
		var err error
		if ed.Create {
			_, err = m.seq.Apply(change.Command{Argv: []string{"rm", "-f", ed.Path}}, nil)
		} else {
			_, err = m.seq.Apply(change.File{Path: ed.Path, Content: []byte(ed.Old)}, nil)
		}
		if err != nil {
			return "", fmt.Errorf("ROLLBACK FAILED restoring %s: %v", ed.Path, err)
		}
		restored = append(restored, ed.Path)
	}
	// A failed reload leaves the running sshd on the config it had;
	// starting one covers an sshd the failed reload stopped.
	reloaded := "reloaded sshd"
	if rerr := m.reload(m.original); rerr != nil {
		if _, err := m.seq.Apply(change.Command{Argv: m.startCommand()}, nil); err != nil {
			return "", fmt.Errorf("restored %s but neither reloading nor starting sshd worked: %v", strings.Join(restored, ", "), err)
		}
		reloaded = fmt.Sprintf("reloading sshd failed (%v), so sshd was started", rerr)
	}
	port, err := m.oldPortAnswers()
	if err != nil {
		return "", fmt.Errorf("restored %s and %s, but no old port answers: %v", strings.Join(restored, ", "), reloaded, err)
	}
	kept := ""
	if m.s.Facts().Firewall != "none" {
		kept = fmt.Sprintf("; the firewall still lets %d/tcp in", m.req.To)
	}
	return fmt.Sprintf("restored %s, %s, port %d answers%s", strings.Join(restored, ", "), reloaded, port, kept), nil
}

// oldPortAnswers returns the first old port that listens again, without
// the ports the move added, and lets the controller log in; sshd may still
// be re-executing, so logins are retried until probeTimeout. The port the
// connection is on comes first: it is the one the operator uses.
func (m *portMove) oldPortAnswers() (int, error) {
	var errs []error
	added := without(m.plan.Listen1, m.plan.From)
	for _, p := range connectionFirst(m.plan.From, m.s.Port()) {
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

// probeRetrying logs in on port over a new connection, again until one
// works or probeTimeout has passed. Its error says how many tries failed
// in how long: a login that ran out of time (a slow host) is told from
// one refused at once.
func (m *portMove) probeRetrying(port int) error {
	ctx, cancel := context.WithTimeout(m.s.Context(), probeTimeout)
	defer cancel()
	start := time.Now()
	var last error
	for tries := 1; ; tries++ {
		err := m.s.Probe(ctx, port)
		if err == nil {
			return nil
		}
		// A try the bound cut says only "context deadline exceeded":
		// the one before it tells why logins fail.
		cut := ctx.Err() != nil && last != nil
		if !cut {
			last = err
		}
		select {
		case <-ctx.Done():
			took := time.Since(start).Round(100 * time.Millisecond)
			if cut {
				return fmt.Errorf("%d tries in %s (of %s; the bound cut the last), the last: %w", tries, took, probeTimeout, last)
			}
			return fmt.Errorf("%d tries in %s (of %s), the last: %w", tries, took, probeTimeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startCommand starts sshd when a reload found it gone: a config it could
// not bind makes sshd exit on SIGHUP. sshd must be started by its absolute
// path to re-execute itself later.
func (m *portMove) startCommand() []string {
	if m.s.Facts().Init == "systemd" {
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
