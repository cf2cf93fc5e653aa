// Package firewall reads a Linux host's packet filter — nftables, iptables
// (legacy or nft), and the rules firewalld and ufw materialise in them —
// into one model, answers whether a packet would pass and which rule
// decides, and plans the narrowest commands that make it pass. It is pure:
// no SSH, no Lua, no I/O; callers feed it the tools' output.
//
// Reading. The kernel's rules are the truth for verdicts, whichever tool
// wrote them: `nft -j list ruleset` (ReadNft) holds every nftables table,
// including firewalld's (nftables backend) and iptables-nft's. ReadKernel
// decides whose each table is: iptables-nft's only when
// iptables-nft-save shows it whole (same chains, hooks, policies, rule
// counts, no "incompatible" warning), and then iptables' reading replaces
// the xt expressions nft cannot show; any other table is nftables' own,
// whatever its name. Legacy tables come from iptables-legacy-save and sit
// beside nftables' (both hooks see a packet); ipsets from `ipset save`.
// ufw's rules are iptables rules. `firewall-cmd --list-all` and `ufw
// status verbose` only explain a verdict in those tools' own terms
// (ExplainFirewalld, ExplainUfw). Whatever the model does not understand
// is kept as an Opaque match or an Unknown action.
//
// Verdicts. A probe (Packet) is the whole first packet of a new
// connection, to a local listener from a peer (dir "in") or from the host
// to a peer (dir "out"). Addressing.Packet builds it from the host's `ip
// -j addr` and its `ip -j route get PEER`: the arrival interface, the
// host's address, its other addresses. What a probe does not carry is
// assumed, and a verdict's reason names each assumption it used: a first
// SYN, pkttype host, a plain IP header, an ephemeral source port, no mark,
// a single new connection under every rate limit, count and quota,
// dynamic sets as of now. Verdict runs every base chain of the hooks
// such a packet crosses (ingress, prerouting, input; or output,
// postrouting) in priority order: an accept ends only its chain, a drop or
// reject is final. Destination NAT in prerouting rewrites the address and
// port the input hook sees, and to another host's address forwards the
// packet (verdict "forward"; on the output hook, to another host than the
// peer, the same); notrack, marks and elements a rule adds to a set carry
// to later rules, and a SYN's elements to its SYN-ACK. A map keyed by a
// choice (numgen, jhash) is followed for every element. Where a match cannot be decided (an opaque
// match, an address the probe leaves unset) both ways are followed, and
// the verdict is unknown unless they agree, naming what would decide it.
// HostRead.Packet builds a probe from the host's read alone (its
// addresses, the controller's address as it sees it and its route back),
// and Trace records every step of the evaluation, hook by hook and rule
// by rule, for `remedy firewall explain`.
//
// Plans. PlanAllow inserts, on a copy of the model, an accept rule right
// before whatever stops the flow (appended when a policy does), in each
// chain that stops it, until every probe passes — the copy proves the plan
// before a command runs. Commands are argv for the tool that owns the
// table (nft by handle, iptables by position), or for firewalld (a
// service or policy named after the comment, in the permanent
// configuration; over D-Bus with busctl where the host has it, the
// runtime gets a rich rule to the same effect too, without a reload, in
// the zone or in remedy's live policy, whose making is a host's one
// reload; else firewall-cmd, then a reload: see planFirewalld) and ufw
// (ufw allow). Every rule carries
// a comment starting "remedy:", which PlanRemove finds.
//
// Boot. ReadUnit reads the unit that loads the rules at boot from its
// files (ExecStart with drop-ins) and PlanBoot says which files it loads,
// or why a reboot would not carry a change; PlanBootAllow and
// PlanBootRemove put remedy's own rule into such a file, or take it out,
// and nothing else (bootfile.go).
//
// The host's read. ReadArgv reads all of it in one round trip (the facts
// end with ReadScript), and Read makes a HostRead of it: the kernel's
// tables with ReadKernel, and what firewalld and ufw say; its Governing is
// the one place remedy decides which tool owns a host's rules. Read
// reads the tables again (ReadAgainArgv) when nft's listing and
// iptables-nft-save's disagree: they changed between the two commands.
// It is the only way to a HostRead, so no reader of a host's firewall
// can keep a read caught mid-change.
//
// PlanAllowDomain uses named sets refreshed by a job instead of a
// hostname, resolved once (and PlanBootAllowDomain keeps them, with the
// ipsets an iptables boot needs first, in what boot loads); PlanRevert
// arms a timed restore before a change on the input path.
package firewall
