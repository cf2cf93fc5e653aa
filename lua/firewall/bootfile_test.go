package firewall

import (
	"strings"
	"testing"
)

// rejectLast is a boot file whose input chain ends in a reject rule, so
// remedy's rules go in by index, before it.
const rejectLast = `#!/usr/sbin/nft -f
flush ruleset
define ssh = 22
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
		iif "lo" accept
		tcp dport $ssh accept
		reject
	}
}
`

// TestBootBlockKeepsItsOrder adds three rules to an nft boot file one
// after the other, each planned on the rules the file before it loads
// (in a namespace, as boot would), then removes the middle one: the
// others must keep passing, the removed one must not, and the file must
// be the one adding only the other two.
func TestBootBlockKeepsItsOrder(t *testing.T) {
	n := newNetns(t)
	tl := tools[Nftables]
	f := BootFile{Path: "/etc/nftables.conf", Format: FormatNft}
	allows := []Allow{
		{Dir: "in", Proto: "udp", Ports: ports(33001, 33001), Comment: "a"},
		{Dir: "in", Proto: "tcp", Ports: ports(8443, 8443), Comment: "b"},
		{Dir: "in", Proto: "udp", Ports: ports(5000, 5010), Comment: "c"},
	}
	add := func(text string, as ...Allow) string {
		for _, a := range as {
			next, err := PlanBootAllow(f, text, tl.reboot(n, text), a)
			if err != nil {
				t.Fatal(err)
			}
			text = next
		}
		return text
	}
	all := add(rejectLast, allows...)
	if !strings.Contains(all, "insert rule inet filter input index 4 ") || !strings.Contains(all, `define ssh = 22`) {
		t.Errorf("the block does not place the rules by index, or the site's text changed:\n%s", all)
	}
	without, err := PlanBootRemove(f, all, tl.reboot(n, all), "remedy: b")
	if err != nil {
		t.Fatal(err)
	}
	if want := add(rejectLast, allows[0], allows[2]); without != want {
		t.Errorf("after removing b:\n%s\nwant:\n%s", without, want)
	}
	booted := tl.reboot(n, without)
	for i, a := range allows {
		plan, err := PlanAllow(booted, debian, a)
		if err != nil || plan.Already == (i == 1) {
			t.Errorf("%s: passes %v after removing b (%v)", a.Comment, plan.Already, err)
		}
	}
	if back, err := PlanBootRemove(f, without, booted, "remedy:"); err != nil || back != rejectLast {
		t.Errorf("removing every remedy rule (%v):\n%s", err, back)
	}
}

func TestBootFileRefusesABrokenBlock(t *testing.T) {
	f := BootFile{Path: "/etc/nftables.conf", Format: FormatNft}
	for _, text := range []string{
		rejectLast + nftBlockStart + "\nadd rule inet filter input udp dport 1 accept\n",
		rejectLast + nftBlockStart + "\nflush ruleset\n" + nftBlockEnd + "\n",
	} {
		if _, err := PlanBootRemove(f, text, &Ruleset{}, "remedy: x"); err == nil {
			t.Errorf("no error for:\n%s", text)
		}
	}
}

func TestSaveRuleText(t *testing.T) {
	text := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -j REJECT\nCOMMIT\n"
	rs, err := ReadIptablesSave([]byte(text), "ip")
	if err != nil {
		t.Fatal(err)
	}
	f := BootFile{Path: "/etc/iptables/rules.v4", Format: FormatIptablesSave, Family: "ip"}
	got, err := PlanBootAllow(f, text, rs, Allow{Dir: "in", Proto: "tcp", Ports: ports(33001, 33001), Comment: "sshd port 33001"})
	if err != nil {
		t.Fatal(err)
	}
	want := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n" +
		`-A INPUT -p tcp -m tcp --dport 33001 -m comment --comment "remedy: sshd port 33001" -j ACCEPT` + "\n-A INPUT -j REJECT\nCOMMIT\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if back := removeSaveRules(got, "remedy: sshd"); back != text {
		t.Errorf("removed:\n%s", back)
	}
}
