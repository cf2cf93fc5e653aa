package firewall

import (
	"fmt"
	"strings"
)

// Presence is what a host shows of each firewall tool.
type Presence struct {
	FirewalldRunning bool     // firewall-cmd --state says running
	UfwActive        bool     // ufw status says active
	IptablesLegacy   bool     // iptables-legacy-save shows rules or a non-ACCEPT policy
	IptablesNft      bool     // iptables-nft-save does
	NftTables        []string // nftables tables iptables-nft does not own, "inet filter"
}

// Governing names the backend that owns the host's rules, and why when
// several are present. firewalld and ufw rewrite the kernel's rules on
// every reload, so a change made beneath them would not last: they
// govern when they run. Otherwise rules in legacy iptables, then
// iptables-nft, then native nftables.
func Governing(p Presence) (backend, why string) {
	var present []string
	add := func(ok bool, name string) {
		if ok {
			present = append(present, name)
		}
	}
	add(p.FirewalldRunning, Firewalld)
	add(p.UfwActive, Ufw)
	add(p.IptablesLegacy, IptablesLegacy)
	add(p.IptablesNft, IptablesNft)
	add(len(p.NftTables) > 0, Nftables)
	if len(present) == 0 {
		return "none", "no firewall service, rules or nftables tables"
	}
	backend = present[0]
	why = map[string]string{
		Firewalld:      "firewalld is running and owns the rules",
		Ufw:            "ufw is active and owns the rules",
		IptablesLegacy: "iptables-legacy holds rules",
		IptablesNft:    "iptables-nft holds rules",
		Nftables:       "nftables tables: " + strings.Join(p.NftTables, ", "),
	}[backend]
	if len(present) > 1 {
		why += fmt.Sprintf("; also present: %s — every one of them filters, so verdicts read them all", strings.Join(present[1:], ", "))
	}
	return backend, why
}
