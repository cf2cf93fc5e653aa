package firewall

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"remedy/lua/shell"
)

// ReadScript reads, in one round trip and each in a part of its output
// (shell.PartsPrelude, which must come first): the iptables variant
// commands the host has and
// what plain iptables is; the firewalld default zone and its settings,
// asked over D-Bus because firewall-cmd starts a Python interpreter, a
// second per call on a busy host, and whether busctl is there to make
// changes over D-Bus too; the timed reverts pending; nft's JSON
// ruleset; iptables-save and ip6tables-save of each variant (plain where
// the host has no variants); the ipsets; whether ufw is enabled, and its
// defaults and rules from its files and whether the kernel forwards, for
// the same reason (ufw is Python too); the host's addresses, the
// controller's address as the host sees it ($SSH_CONNECTION, from the
// processes above when sudo dropped it) and the host's route to it, from
// which a probe is built. Tools with nothing to show are not
// started (see skipEmpty). It reads the same whatever the host, so the
// facts end with it and decide from it which firewall governs; it ends
// the shell.
const ReadScript = readPrelude + `part cmd; for v in nft legacy; do has "iptables-$v" && echo "iptables-$v"; done
part default; has iptables && iptables -V
fwd() { dbus-send --system "$1" --dest=org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 "org.fedoraproject.FirewallD1.$2" ${3:+"string:$3"} 2>/dev/null; }
z=; bus && z=$(echo $(fwd --print-reply=literal getDefaultZone)); part zone; echo "$z"
part zoneinfo; [ -n "$z" ] && fwd --print-reply zone.getZoneSettings2 "$z"
part busctl; [ -n "$z" ] && has busctl && echo busctl
part pending; for d in /run/remedy-revert-*; do [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null && echo "${d#/run/remedy-revert-}"; done
` + kernelRead + `part addr; has ip && ip -j addr 2>/dev/null
c=${SSH_CONNECTION%% *}; p=$$; n=0
while [ -z "$c" ] && [ "$p" -gt 1 ] && [ $n -lt 8 ]; do n=$((n+1))
	c=$(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | sed -n 's/^SSH_CONNECTION=\([^ ]*\) .*/\1/p')
	q=1; while read -r k v; do [ "$k" = PPid: ] && q=$v; done <"/proc/$p/status"; p=$q
done 2>/dev/null
part controller; echo "$c"
part route; [ -n "$c" ] && has ip && ip -j route get "$c" 2>/dev/null
part ufw; ufwon || exit 0; echo ENABLED=yes
part ufwdefaults; cat /etc/default/ufw
for v in "" 6; do part "ufwrules$v"; for d in /etc/ufw /lib/ufw; do [ -f "$d/user$v.rules" ] && { grep '^### tuple' "$d/user$v.rules"; break; }; done; done
part forwarding; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/default/forwarding /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null
exit 0`

// readPrelude is what ReadScript and ReadAgainArgv start with: the PATH
// root's tools are on, C messages, and the shell functions they use.
const readPrelude = `PATH="$PATH:/usr/sbin:/sbin"; export LC_ALL=C
has() { command -v "$1" >/dev/null 2>&1; }
save() { has "$2" && { part "$1"; "$2"; }; }
` + skipEmpty + "\n"

// kernelRead is ReadScript's read of the kernel's tables: nft's listing
// first, since the saves of the nft variant run only for the families it
// shows tables of.
const kernelRead = `part nft; t=; has nft && t=$(nft -j list ruleset) && printf '%s\n' "$t"
nftip ip && save v4-nft iptables-nft-save; nftip ip6 && save v6-nft ip6tables-nft-save
legacy ip && save v4-legacy iptables-legacy-save; legacy ip6 && save v6-legacy ip6tables-legacy-save
has iptables-nft-save || has iptables-legacy-save || { save v4 iptables-save; save v6 ip6tables-save; }
part ipset; has ipset && ipset save
`

// skipEmpty defines the shell tests the read uses to start a tool only
// when it has something to show, each a shell builtin: a tool start costs
// about a millisecond of a host's CPU. bus: a system D-Bus to ask. legacy
// ip|ip6: the kernel holds legacy iptables tables of that family (and
// iptables-legacy-save does not load the module by looking). nftip
// ip|ip6: nft's listing in $t has tables of that family, as
// iptables-nft's are, or there is no nft to list them. ufwon: ufw.conf
// says ufw is enabled.
const skipEmpty = `bus() { [ -S /run/dbus/system_bus_socket ] || [ -n "${DBUS_SYSTEM_BUS_ADDRESS-}" ]; }
legacy() { read -r x <"/proc/net/$1_tables_names"; } 2>/dev/null
nftip() { ! command -v nft >/dev/null 2>&1 || case "$t" in *"table $1 "*|*'"family": "'"$1"'"'*|*'"family":"'"$1"'"'*) true ;; *) false ;; esac; }
ufwon() { while read -r l; do [ "$l" = ENABLED=yes ] && return 0; done <"/etc/ufw/ufw.conf"; return 1; } 2>/dev/null`

// ReadArgv reads a host's firewall: see HostRead and Read.
var ReadArgv = []string{"sh", "-c", shell.PartsPrelude + ReadScript}

// ReadAgainArgv reads the kernel's tables alone, as ReadArgv does, for
// Read: a second after it is sent, as what changed the tables may be
// one of several steps (ufw deleting a rule flushes each of its chains,
// then restores them all: a tenth of a second on a real host, seconds on
// an emulated one); and between two listings of nft's rules with their
// handles (-a; -s leaves out counters, which change with every packet),
// tried again while the two differ, up to readAgainTries times. A rule
// deleted and added again gets a new handle, so two equal listings
// bracket saves that saw the tables as nft did.
var ReadAgainArgv = []string{"sh", "-c", shell.PartsPrelude + readPrelude + "sleep 1\nkread() {\n" + kernelRead + `}
n=0; while :; do n=$((n+1))
	a=$(nft -s -a list ruleset 2>&1); r=$(kread); b=$(nft -s -a list ruleset 2>&1)
	[ "$a" != "$b" ] && [ $n -lt ` + strconv.Itoa(readAgainTries) + ` ] || break
done
printf '%s\n' "$r"
exit 0`}

const readAgainTries = 5

// ReadTries bounds the reads of a host whose tables change while they are
// read (Read): three, the first included.
const ReadTries = 3

// ErrUnmodelled marks an error of Read that is the host's output, not
// its connection: the model cannot read it. The facts stand without the
// firewall then, where a host that failed to answer fails its gathering.
var ErrUnmodelled = errors.New("output the model cannot read")

// Run runs a read-only command on the host a firewall is read of and
// returns its output; a non-zero exit status is an error.
type Run func(argv []string) ([]byte, error)

// Read is a host's firewall, the one way remedy reads it: first is
// ReadArgv's output, or any output holding its parts (the facts end with
// ReadScript). Where first caught the kernel's tables changing between
// nft's listing and iptables-nft-save's (Detection.Changing), run reads
// them again (ReadAgainArgv), until a read finds both listings agree or
// ReadTries reads are done. A change between the two commands (ufw
// adding a rule, a refresh job, fail2ban) would otherwise leave the
// table to nftables, with its iptables matches undecided and the host's
// firewall misnamed, until the next audit; a read that agrees costs
// nothing more. The last read keeps its reasons when all disagree.
func Read(first []byte, run Run) (*HostRead, error) {
	r, err := parseRead(first)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnmodelled, err)
	}
	for reads := 1; readAgain(r.Detection, reads); reads++ {
		out, err := run(ReadAgainArgv)
		if err != nil {
			return nil, fmt.Errorf("read the tables again (%s): %w", strings.Join(r.Detection.Changing, "; "), err)
		}
		if r, err = r.settled(out, reads+1); err != nil {
			return nil, fmt.Errorf("%w: the tables read again: %w", ErrUnmodelled, err)
		}
	}
	return r, nil
}

// readAgain decides whether a host whose tables were read reads times,
// the last with detection d, reads them again: while the two listings
// disagree, up to ReadTries reads.
func readAgain(d Detection, reads int) bool {
	return len(d.Changing) > 0 && reads < ReadTries
}

// settled is r with the kernel's tables from ReadAgainArgv's output, the
// host's reads-th read, saying so when it is the last and still
// disagrees.
func (r *HostRead) settled(out []byte, reads int) (*HostRead, error) {
	again, err := r.withKernel(out)
	if err != nil {
		return nil, err
	}
	if reads == ReadTries && len(again.Detection.Changing) > 0 {
		again.Detection.Tables = append(again.Detection.Tables, fmt.Sprintf("nft and iptables-nft-save disagreed in each of %d reads", ReadTries))
	}
	return again, nil
}

// withKernel is r with the kernel's tables from ReadAgainArgv's output.
func (r *HostRead) withKernel(out []byte) (*HostRead, error) {
	parts, err := shell.Parts(out)
	if err != nil {
		return nil, err
	}
	again := *r
	if again.Rules, again.Detection, err = ReadKernel(kernelReads(parts)); err != nil {
		return nil, err
	}
	return &again, nil
}

// kernelReads picks the kernel's tables out of a read's parts.
func kernelReads(parts map[string][]byte) KernelReads {
	kr := KernelReads{Nft: parts["nft"], NftSave: parts["v4-nft"], NftSave6: parts["v6-nft"],
		LegacySave: parts["v4-legacy"], LegacySave6: parts["v6-legacy"], Ipset: parts["ipset"]}
	if len(kr.LegacySave) == 0 && len(kr.LegacySave6) == 0 {
		// A host without the variants (before iptables 1.8) has legacy
		// tables alone, read with the plain commands.
		kr.LegacySave, kr.LegacySave6 = parts["v4"], parts["v6"]
	}
	return kr
}

// HostRead is a host's firewall as Read reads it.
type HostRead struct {
	Rules     *Ruleset  // every table the kernel holds (ReadKernel)
	Detection Detection // whose each table is
	Variants  []string  // the iptables variant commands installed: "iptables-nft", "iptables-legacy"
	Plain     string    // what plain iptables is (iptables -V)
	Zone      string    // firewalld's default zone; "" when firewalld does not answer on D-Bus
	ZoneInfo  []byte    // its settings (getZoneSettings2), where firewalld has them
	Busctl    bool      // firewalld answers and busctl can call its D-Bus API
	Pending   []string  // tokens of timed reverts armed on the host and not yet fired
	Ufw       UfwFiles  // ufw's defaults and rules from its files
	// UfwEnabled: ufw.conf says ENABLED=yes (from "ufw enable" on, even
	// before a boot loads its chains).
	UfwEnabled bool
	// Addressing is the host's interfaces and addresses (ip -j addr);
	// nil when the host could not say (no ip, or one without -j).
	Addressing *Addressing
	// Controller is the controller's address as the host sees it (the
	// client end of $SSH_CONNECTION); invalid when the read did not come
	// over SSH. ControllerRoute is the host's route to it, nil when
	// unknown.
	Controller      netip.Addr
	ControllerRoute *Route
}

// parseRead models ReadArgv's output, or any output holding its parts,
// as the kernel's tables stood for its listings: Read settles it.
func parseRead(out []byte) (*HostRead, error) {
	parts, err := shell.Parts(out)
	if err != nil {
		return nil, err
	}
	rs, det, err := ReadKernel(kernelReads(parts))
	if err != nil {
		return nil, err
	}
	hr := &HostRead{Rules: rs, Detection: det,
		Variants:   strings.Fields(string(parts["cmd"])),
		Plain:      strings.TrimSpace(string(parts["default"])),
		Zone:       strings.TrimSpace(string(parts["zone"])),
		ZoneInfo:   parts["zoneinfo"],
		Busctl:     strings.TrimSpace(string(parts["busctl"])) == "busctl",
		Pending:    strings.Fields(string(parts["pending"])),
		UfwEnabled: bytes.Contains(parts["ufw"], []byte("ENABLED=yes")),
		Ufw: UfwFiles{Defaults: parts["ufwdefaults"], Rules4: parts["ufwrules"], Rules6: parts["ufwrules6"],
			Forwarding: bytes.Contains(parts["forwarding"], []byte("1"))},
	}
	// The addressing only builds probes: a host whose ip cannot say
	// leaves them to follow interface and address matches both ways.
	if a, err := ReadIPAddr(parts["addr"]); err == nil {
		hr.Addressing = &a
	}
	hr.Controller, _ = netip.ParseAddr(strings.TrimSpace(string(parts["controller"])))
	if r, err := ReadRouteGet(parts["route"]); err == nil {
		hr.ControllerRoute = &r
	}
	return hr, nil
}

// Governing names the backend that owns the host's rules, and why: the
// one place remedy decides it (Facts.Firewall). firewalld governs when
// it answers on D-Bus; ufw when ufw.conf enables it and its chains are
// loaded, since "ufw enable" writes ENABLED=yes before a boot loads them
// and until then ufw filters nothing.
func (r *HostRead) Governing() (backend, why string) {
	return r.Detection.Governing(r.Zone != "", r.UfwEnabled && hasUfwChains(r.Rules))
}

func hasUfwChains(rs *Ruleset) bool {
	for _, t := range rs.Tables {
		if slices.ContainsFunc(t.Chains, func(c *Chain) bool { return strings.HasPrefix(c.Name, "ufw-") }) {
			return true
		}
	}
	return false
}

// IptablesVariant picks the command that changes the iptables tables:
// legacy for a legacy host, the host's plain iptables for ufw (it uses
// whichever the alternatives name), else the nft variant, whose tables
// may sit beside native nftables. Changes go to that variant, not to
// whichever plain iptables names. A host without variants (before
// iptables 1.8) has only the plain commands: "".
func (r *HostRead) IptablesVariant(backend string) string {
	want := "nft"
	switch {
	case backend == IptablesLegacy:
		want = "legacy"
	case backend == Ufw && strings.Contains(r.Plain, "(legacy)"):
		want = "legacy"
	}
	cmd := "iptables-" + want
	if !slices.Contains(r.Variants, cmd) {
		return ""
	}
	return cmd
}
