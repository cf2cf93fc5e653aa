package tests

import (
	"fmt"
	"strings"
	"testing"
)

func (r *remedyRunner) proxyJump(t *testing.T) {
	hidden, bastion := r.hidden(t), r.visible()[0]
	pb := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	inv := func(jump string) string {
		return runnerFile(t, "jump.ini", fmt.Sprintf("%s ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s%s\n",
			hidden.Name, hidden.Addr, r.lab.Key, jump))
	}

	// Directly, the hidden host cannot be reached.
	res := r.run(t, "run", pb, "-i", inv(""), "--known-hosts", r.lab.KnownHosts, "--timeout", "2s")
	if res.code != 4 || !strings.Contains(res.stdout, "UNREACHABLE") {
		t.Fatalf("hidden host without a jump: want exit 4: %s", res)
	}

	res = r.run(t, "run", pb, "-i", inv(" ansible_ssh_common_args='-J root@"+bastion.Addr+"'"),
		"--known-hosts", r.lab.KnownHosts, "-o", "json")
	if res.code != 0 {
		t.Fatalf("through %s: want exit 0: %s", bastion.Name, res)
	}
	h := parseRunJSON(t, res).host(t, hidden.Name)
	if h.statuses() != "Gathering Facts=ok uid=ok sshd_config=ok" || h.Facts == nil || h.Facts.Firewall != hidden.Profile {
		t.Errorf("through the bastion: %s, facts %+v", h.statuses(), h.Facts)
	}

	// The lab's own inventory reaches them with ProxyCommand 'ssh -W',
	// which the inventory reads as the same jump. All of them at once
	// share one connection to the bastion: a login each would exceed its
	// MaxStartups and some would be dropped.
	res = r.run(t, "run", pb, "-i", r.lab.Inventory, "-l", "hidden", "--known-hosts", r.lab.KnownHosts)
	if res.code != 0 {
		t.Fatalf("the lab inventory's hidden hosts: want exit 0: %s", res)
	}
	for _, h := range r.lab.Hosts {
		if h.Hidden && !recapHas(res.stdout, h.Name, "ok=3") {
			t.Errorf("%s: not ok in the recap", h.Name)
		}
	}
}
