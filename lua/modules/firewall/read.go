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
	"bytes"
	"fmt"
	"slices"
	"strings"

	"remedy/lua"
	"remedy/lua/change"
	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// readScript prints, in one round trip and each after a marker line: the
// iptables variant commands the host has and what plain iptables is; the
// firewalld default zone and its settings, asked over D-Bus because
// firewall-cmd starts a Python interpreter, a second per call on a busy
// host; the timed reverts pending; nft's JSON ruleset; iptables-save and
// ip6tables-save of each variant (plain where the host has no variants);
// the ipsets; ufw's defaults and rules from its files, and whether the
// kernel forwards, for the same reason (ufw is Python too). Tools with
// nothing to show are not started (see lua.SkipEmpty). It reads the same
// whatever the host's facts, so it can be prefetched with them.
const readScript = `PATH="$PATH:/usr/sbin:/sbin"
has() { command -v "$1" >/dev/null 2>&1; }
save() { has "$2" && { echo "==$1"; "$2"; }; }
` + lua.SkipEmpty + `
echo ==cmd; for v in nft legacy; do has "iptables-$v" && echo "iptables-$v"; done
echo ==default; has iptables && iptables -V
fwd() { dbus-send --system "$1" --dest=org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 "org.fedoraproject.FirewallD1.$2" ${3:+"string:$3"} 2>/dev/null; }
z=; bus && z=$(echo $(fwd --print-reply=literal getDefaultZone)); echo ==zone; echo "$z"
echo ==zoneinfo; [ -n "$z" ] && fwd --print-reply zone.getZoneSettings2 "$z"
echo ==pending; for d in /run/remedy-revert-*; do [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null && echo "${d#/run/remedy-revert-}"; done
echo ==nft; t=; has nft && t=$(nft -j list ruleset) && printf '%s\n' "$t"
nftip ip && save v4-nft iptables-nft-save; nftip ip6 && save v6-nft ip6tables-nft-save
legacy ip && save v4-legacy iptables-legacy-save; legacy ip6 && save v6-legacy ip6tables-legacy-save
has iptables-nft-save || has iptables-legacy-save || { save v4 iptables-save; save v6 ip6tables-save; }
echo ==ipset; has ipset && ipset save
ufwon || exit 0
echo ==ufwdefaults; cat /etc/default/ufw
for v in "" 6; do echo "==ufwrules$v"; for d in /etc/ufw /lib/ufw; do [ -f "$d/user$v.rules" ] && { grep '^### tuple' "$d/user$v.rules"; break; }; done; done
echo ==forwarding; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/default/forwarding /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null
exit 0`

// readArgv reads the firewall: see readScript.
var readArgv = []string{"sh", "-c", readScript}

// State is a host's firewall as Read found it.
type State struct {
	Rules     *firewall.Ruleset  // every table the kernel holds (firewall.ReadKernel)
	Detection firewall.Detection // whose each table is
	// System is what a plan needs besides the rules: the backend that
	// governs (Facts.Firewall), the iptables variant changes go to, the
	// firewalld zone.
	System  firewall.System
	Pending []string // tokens of timed reverts armed on the host and not yet fired
	sec     map[string][]byte
}

// read is the firewall read and the model made of it, kept while the
// read stands.
type read struct {
	sec map[string][]byte
	rs  *firewall.Ruleset
	det firewall.Detection
}

// Read reads the host's firewall: every table the kernel holds, with
// whose each table is, and what a change needs. The model is made once
// for as long as the read stands.
func Read(s change.Session) (*State, error) {
	v, err := s.QueryParsed(parseRead, readArgv...)
	if err != nil {
		return nil, fmt.Errorf("%s: read firewall: %w", s.Name(), err)
	}
	r := v.(read)
	f := s.Facts()
	st := &State{Rules: r.rs, Detection: r.det, sec: r.sec, Pending: strings.Fields(string(r.sec["pending"])),
		System: firewall.System{Backend: f.Firewall, OSFamily: f.OSFamily, Init: f.Init, Iptables: iptablesVariant(f.Firewall, r.sec)}}
	if st.System.Backend == firewall.Firewalld {
		if st.System.Zone, err = zone(s, r.sec); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func parseRead(out remote.Output) (any, error) {
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: exit status %d: %s", shell.Join(readArgv...), out.ExitCode, remote.Excerpt(out.Stderr))
	}
	sec := sections(out.Stdout)
	kr := firewall.KernelReads{Nft: sec["nft"], NftSave: sec["v4-nft"], NftSave6: sec["v6-nft"],
		LegacySave: sec["v4-legacy"], LegacySave6: sec["v6-legacy"], Ipset: sec["ipset"]}
	if len(kr.LegacySave) == 0 && len(kr.LegacySave6) == 0 {
		// A host without the variants (before iptables 1.8) has legacy
		// tables alone, read with the plain commands.
		kr.LegacySave, kr.LegacySave6 = sec["v4"], sec["v6"]
	}
	rs, det, err := firewall.ReadKernel(kr)
	if err != nil {
		return nil, err
	}
	return read{sec: sec, rs: rs, det: det}, nil
}

// sections splits readScript's output at its "==name" marker lines.
func sections(out []byte) map[string][]byte {
	sec := map[string][]byte{}
	var cur string
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		if name, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("==")); ok && len(line) < 16 {
			cur = string(name)
			continue
		}
		sec[cur] = append(sec[cur], line...)
	}
	return sec
}

// zone is firewalld's default zone: from D-Bus, else (no dbus-send on
// the host) from firewall-cmd.
func zone(s change.Session, sec map[string][]byte) (string, error) {
	if z := strings.TrimSpace(string(sec["zone"])); z != "" {
		return z, nil
	}
	out, err := query(s, true, "firewall-cmd", "--get-default-zone")
	return strings.TrimSpace(string(out)), err
}

// iptablesVariant picks the command that changes the iptables tables:
// legacy for a legacy host, the host's default for ufw (it uses whichever
// the alternatives name), else the nft variant, whose tables may sit
// beside native nftables. Changes go to that variant, not to whichever
// plain iptables names. A host without variants (before iptables 1.8)
// has only the plain commands: "".
func iptablesVariant(backend string, sec map[string][]byte) string {
	want := "nft"
	switch {
	case backend == firewall.IptablesLegacy:
		want = "legacy"
	case backend == firewall.Ufw && bytes.Contains(sec["default"], []byte("(legacy)")):
		want = "legacy"
	}
	cmd := "iptables-" + want
	if !slices.Contains(strings.Fields(string(sec["cmd"])), cmd) {
		return ""
	}
	return cmd
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

// Verdict evaluates a probe as the kernel would.
func (st *State) Verdict(p firewall.Packet) firewall.Result { return firewall.Verdict(st.Rules, p) }

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
		z, err := firewall.ReadFirewalldZoneSettings(st.System.Zone, st.sec["zoneinfo"])
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
	u, err := firewall.StatusFromFiles(firewall.UfwFiles{
		Defaults: st.sec["ufwdefaults"], Rules4: st.sec["ufwrules"], Rules6: st.sec["ufwrules6"],
		Forwarding: bytes.Contains(st.sec["forwarding"], []byte("1")),
	})
	if err == nil {
		return u, nil
	}
	out, err := query(s, true, "ufw", "status", "verbose")
	return firewall.ReadUfwStatus(out), err
}
