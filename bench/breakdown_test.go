package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The fixture is `remedy audit aspera-server -e alee=true -vv -l h6` on a
// lab host without a firewall.
func TestCommandCostsFromRemedyOutput(t *testing.T) {
	f, err := os.Open("testdata/audit-none-vv.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	costs, hosts, err := commandCosts(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 1 || hosts[0].key != "h6" || hosts[0].count != 21 {
		t.Errorf("hosts = %+v, want h6 with 21 commands", hosts)
	}
	got := map[string]cost{}
	total := 0
	for _, c := range costs {
		got[c.key] = c
		total += c.count
	}
	if total != 21 {
		t.Errorf("%d commands, want 21", total)
	}
	want := []cost{
		{key: `sh -c 'PATH="$PATH:/usr/sbin:/sbin"; export LC_A…`, count: 1, total: 895 * time.Millisecond},
		{key: `sh -c 'PATH="$PATH:/usr/sbin:/sbin"`, count: 7, total: 373 * time.Millisecond},
		{key: "sshd -T", count: 3, total: 155 * time.Millisecond},
		{key: "ss -Htlnp", count: 2, total: 178 * time.Millisecond},
		{key: "getent ahosts api.ibmaspera.com", count: 2, total: 39 * time.Millisecond},
	}
	for _, w := range want {
		if g := got[w.key]; g != w {
			t.Errorf("%s: %+v, want %+v", w.key, g, w)
		}
	}
	if costs[0].key != want[0].key {
		t.Errorf("most costly: %q, want the facts script", costs[0].key)
	}
}

func TestBreakdownRefusesOutputWithoutCommands(t *testing.T) {
	var out strings.Builder
	if err := breakdownCmd(strings.NewReader("PLAY RECAP\n"), &out); err == nil {
		t.Errorf("no error for output without -vv command lines; printed %q", out.String())
	}
}
