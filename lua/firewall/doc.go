// Package firewall reads a Linux host's packet filter — nftables, iptables
// (legacy or nft), and the rules firewalld and ufw materialise in them —
// into one model, answers whether a packet would pass and which rule
// decides, and plans the narrowest commands that make it pass. It is pure:
// no SSH, no Lua, no I/O; callers feed it the tools' output.
//
// Reading. The kernel's rules are the truth for verdicts, whichever tool
// wrote them: `nft -j list ruleset` (ReadNft) holds every nftables table,
// including firewalld's (nftables backend) and iptables-nft's; iptables-nft
// matches show there only as opaque xt expressions, so iptables-save's
// exact tables are merged over them (Merge), and legacy tables come from
// iptables-legacy-save alone. ufw's rules are iptables rules. `firewall-cmd
// --list-all` and `ufw status verbose` only explain a verdict in those
// tools' own terms (ExplainFirewalld, ExplainUfw). Whatever the model does
// not understand is kept as an Opaque match or an Unknown action.
//
// Verdicts. A probe is the first packet of a new connection, unicast, to a
// local address from outside (dir "in") or from the host to a remote peer
// (dir "out"), not NATed, with a valid reverse path. Verdict runs every base
// chain of the hooks such a packet crosses (ingress, prerouting, input; or
// output, postrouting — never forward) in priority order: an accept ends
// only its chain, a drop or reject is final. Where a match cannot be
// decided (an opaque match, an address the probe leaves unset) both ways
// are followed, and the verdict is unknown unless they agree.
//
// Plans. PlanAllow inserts, on a copy of the model, an accept rule right
// before whatever stops the flow (appended when a policy does), in each
// chain that stops it, until every probe passes — the copy proves the plan
// before a command runs. Commands are argv for the tool that owns the
// table (nft by handle, iptables by position), or for firewalld (a
// service or policy named after the comment; permanent, then reload) and
// ufw (ufw allow). Every rule carries a comment starting "remedy:", which
// PlanRemove finds.
//
// Boot. ReadUnit reads the unit that loads the rules at boot from its
// files (ExecStart with drop-ins) and PlanBoot says which files it loads,
// or why a reboot would not carry a change; PlanBootAllow and
// PlanBootRemove put remedy's own rule into such a file, or take it out,
// and nothing else (bootfile.go).
//
// PlanAllowDomain uses named sets refreshed by a job instead of a
// hostname, resolved once; PlanRevert arms a timed restore before a change
// on the input path; Governing says which tool owns a host's rules.
package firewall
