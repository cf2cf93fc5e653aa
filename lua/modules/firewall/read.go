// Package firewall is the firewall module: its Go API reads a host's
// firewall (Read), says whether a packet would pass and why (Verdict,
// Explain), and changes it (Allow, Remove, AllowDomain) through the
// engine's gate, live and in what boot loads; binding.go is its Lua
// binding. The model, the parsers (the nftables one is
// lua/firewall/nftables.go), the verdict engine and the planners are the
// pure core in remedy/lua/firewall, which this package feeds with the
// host's output.
package firewall

import (
	"fmt"
	"net/netip"
	"strings"

	"remedy/lua/change"
	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// State is a host's firewall as Read found it.
type State struct {
	*firewall.HostRead
	// System is what a plan needs besides the rules: the backend that
	// governs (Facts.Firewall), the iptables variant changes go to, the
	// firewalld zone.
	System firewall.System
}

// Read reads the host's firewall (firewall.ReadArgv, which the facts
// take already): every table the kernel holds, whose each table is, and
// what a change needs. The model is made once for as long as the read
// stands.
func Read(s change.Session) (*State, error) {
	v, err := s.QueryParsed(func(out remote.Output) (any, error) { return parseRead(s, out) }, firewall.ReadArgv...)
	if err != nil {
		return nil, fmt.Errorf("%s: read firewall: %w", s.Name(), err)
	}
	r := v.(*firewall.HostRead)
	f := s.Facts()
	st := &State{HostRead: r, System: firewall.System{Backend: f.Firewall, OSFamily: f.OSFamily, Init: f.Init, Iptables: r.IptablesVariant(f.Firewall)}}
	if st.System.Backend == firewall.Firewalld {
		if st.System.Zone, err = zone(s, r); err != nil {
			return nil, err
		}
		st.System.Bus = r.Busctl
	}
	return st, nil
}

// parseRead models the output of firewall.ReadArgv, as Read keeps it
// (and the engine, whose facts read the firewall too), with the tables
// read again where the read caught them changing (firewall.Read).
func parseRead(s change.Session, out remote.Output) (any, error) {
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: exit status %d: %s", shell.Join(firewall.ReadArgv...), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return firewall.Read(out.Stdout, func(argv []string) ([]byte, error) { return query(s, false, argv...) })
}

// zone is firewalld's default zone: from D-Bus, else (no dbus-send on
// the host) from firewall-cmd.
func zone(s change.Session, r *firewall.HostRead) (string, error) {
	if r.Zone != "" {
		return r.Zone, nil
	}
	out, err := query(s, true, "firewall-cmd", "--get-default-zone")
	return strings.TrimSpace(string(out)), err
}

// query runs a read-only command (cached: a read calls in a row repeat)
// and makes a non-zero exit status an error.
func query(s change.Session, cached bool, argv ...string) ([]byte, error) {
	q := s.Query
	if cached {
		q = s.QueryCached
	}
	out, err := q(argv...)
	if err == nil && out.ExitCode != 0 {
		err = fmt.Errorf("%s: %s: exit status %d: %s", s.Name(), shell.Join(argv...), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return out.Stdout, err
}

// Verdict evaluates a packet as the kernel would.
func (st *State) Verdict(p firewall.Packet) firewall.Result { return firewall.Verdict(st.Rules, p) }

// Packet builds the whole first packet of a probe from the host's own
// view (firewall.HostRead.Packet): a probe in comes from the controller
// as the host sees it unless it names its source, and arrives on the
// interface of the host's route back to it; a probe out leaves by the
// route's interface from its address. The read holds the route to the
// controller; the route to another peer is one more read, cached (list
// it in a playbook's prefetch with firewall.route_read).
func (st *State) Packet(s change.Session, p firewall.Probe) (firewall.Packet, error) {
	pkt, err := st.HostRead.Packet(p, func(a netip.Addr) (firewall.Route, error) {
		out, err := s.QueryCached(firewall.RouteArgv(a)...)
		if err != nil {
			return firewall.Route{}, err
		}
		return firewall.RouteAnswer(out)
	})
	if err != nil {
		return firewall.Packet{}, fmt.Errorf("%s: firewall probe: %w", s.Name(), err)
	}
	return pkt, nil
}

// Probe is Verdict for a probe: its packet as Packet builds it, and the
// verdict on that packet.
func (st *State) Probe(s change.Session, p firewall.Probe) (firewall.Packet, firewall.Result, error) {
	pkt, err := st.Packet(s, p)
	if err != nil {
		return firewall.Packet{}, firewall.Result{}, err
	}
	return pkt, st.Verdict(pkt), nil
}

// Explain says, for firewalld and ufw, which of their own rules and
// defaults stop a packet. Accepted packets need no explaining, which
// spares the compliant host a Python start of firewall-cmd or ufw; the
// listing is read once for every blocked verdict until a command runs.
func (st *State) Explain(s change.Session, p firewall.Packet, r firewall.Result) (string, error) {
	if r.Verdict == firewall.VerdictAccept {
		return "", nil
	}
	switch st.System.Backend {
	case firewall.Firewalld:
		z, err := firewall.ReadFirewalldZoneSettings(st.System.Zone, st.ZoneInfo)
		if err != nil {
			// An older firewalld without getZoneSettings2.
			var out []byte
			if out, err = query(s, true, "firewall-cmd", "--list-all", "--zone="+st.System.Zone); err != nil {
				return "", err
			}
			z, err = firewall.ReadFirewalldZone(out)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.Name(), err)
		}
		return firewall.ExplainFirewalld(r, z), nil
	case firewall.Ufw:
		st, err := st.ufwStatus(s)
		if err != nil {
			return "", err
		}
		return firewall.ExplainUfw(p, st), nil
	}
	return "", nil
}

// ufwStatus is what `ufw status verbose` says, built from ufw's files;
// from ufw itself where they are not where ufw 0.36 keeps them.
func (st *State) ufwStatus(s change.Session) (firewall.UfwStatus, error) {
	u, err := firewall.StatusFromFiles(st.Ufw)
	if err == nil {
		return u, nil
	}
	out, err := query(s, true, "ufw", "status", "verbose")
	return firewall.ReadUfwStatus(out), err
}
