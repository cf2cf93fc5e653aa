package firewall

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"remedy/lua/shell"
)

func TestIptablesVariant(t *testing.T) {
	both := []string{"iptables-nft", "iptables-legacy"}
	tests := []struct {
		name, backend string
		read          HostRead
		want          string
	}{
		{"nftables reads the nft variant beside it", "nftables", HostRead{Variants: both, Plain: "iptables v1.8.9 (legacy)"}, "iptables-nft"},
		{"a legacy host", "iptables-legacy", HostRead{Variants: both}, "iptables-legacy"},
		{"ufw follows the plain command: legacy", "ufw", HostRead{Variants: both, Plain: "iptables v1.8.9 (legacy)"}, "iptables-legacy"},
		{"ufw follows the plain command: nft", "ufw", HostRead{Variants: both, Plain: "iptables v1.8.9 (nf_tables)"}, "iptables-nft"},
		{"no variants (iptables 1.6)", "iptables-legacy", HostRead{Plain: "iptables v1.6.2"}, ""},
		{"only the legacy variant installed", "nftables", HostRead{Variants: []string{"iptables-legacy"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.read.IptablesVariant(tt.backend); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Which firewall governs, from what the read shows of firewalld and ufw
// and of the kernel's tables.
func TestGoverningServices(t *testing.T) {
	nftFirewalld := `{"nftables": [{"table": {"family": "inet", "name": "firewalld"}}, {"chain": {"family": "inet", "table": "firewalld", "name": "filter_INPUT", "type": "filter", "hook": "input", "prio": 10, "policy": "accept"}}, {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "expr": [{"reject": null}]}}]}`
	nftFilter := `{"nftables": [{"table": {"family": "inet", "name": "filter"}}, {"chain": {"family": "inet", "table": "filter", "name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}]}`
	ufwChains := "*filter\n:INPUT DROP [0:0]\n:ufw-before-input - [0:0]\nCOMMIT\n"
	leftover := "*filter\n:INPUT ACCEPT [0:0]\n:ufw-user-input - [0:0]\nCOMMIT\n"
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		// firewalld drives nftables underneath; its own tables must not
		// make the host look like plain nftables.
		{"firewalld over its nftables", []string{"zone", "public\n", "nft", nftFirewalld}, "firewalld"},
		{"firewalld stopped", []string{"zone", "\n", "nft", nftFilter}, "nftables"},
		// "ufw enable" writes ENABLED=yes; until its chains are loaded,
		// ufw filters nothing.
		{"ufw enabled, chains loaded", []string{"ufw", "ENABLED=yes\n", "v4-legacy", ufwChains}, "ufw"},
		{"ufw enabled, nothing loaded", []string{"ufw", "ENABLED=yes\n"}, "none"},
		{"ufw chains left by a disabled ufw", []string{"v4-legacy", leftover}, "none"},
	}
	for _, tt := range tests {
		b := shell.NewBatch(nil)
		var out []byte
		for i := 0; i < len(tt.parts); i += 2 {
			out = append(append(out, b.Part(tt.parts[i])...), tt.parts[i+1]...)
		}
		r, err := parseRead(out)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got, why := r.Governing(); got != tt.want || why == "" {
			t.Errorf("%s: Governing = %q (%s), want %q", tt.name, got, why, tt.want)
		}
	}
}

// The read brings what a probe is built from: the host's addresses, the
// controller's address as the host sees it and the route back to it. A
// host whose ip cannot say (no ip, one without -j, no SSH connection)
// leaves them unset, and the probe with them.
func TestParseReadAddressing(t *testing.T) {
	addr, err := os.ReadFile("testdata/kernel/probe-nft.addr.json")
	if err != nil {
		t.Fatal(err)
	}
	route, err := os.ReadFile("testdata/kernel/probe-nft.route.json")
	if err != nil {
		t.Fatal(err)
	}
	read := func(parts ...string) *HostRead {
		b := shell.NewBatch(nil)
		var out []byte
		for i := 0; i < len(parts); i += 2 {
			out = append(append(out, b.Part(parts[i])...), parts[i+1]...)
		}
		r, err := parseRead(out)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := read("addr", string(addr), "controller", "198.18.0.1\n", "route", string(route))
	if r.Addressing == nil || len(r.Addressing.Local()) != 5 || r.Controller.String() != "198.18.0.1" || r.ControllerRoute == nil || r.ControllerRoute.Dev != "eth0" {
		t.Fatalf("read: addressing %v, controller %v, route %v", r.Addressing, r.Controller, r.ControllerRoute)
	}
	pkt, err := r.Packet(Probe{Dir: "in", Proto: "tcp", Port: 22}, nil)
	if err != nil || pkt.Src.String() != "198.18.0.1" || pkt.Dst.String() != "198.18.0.10" || pkt.Iif != "eth0" || pkt.Notes["src"] != ControllerNote {
		t.Errorf("probe from the controller: %+v %v", pkt, err)
	}
	bare := read("addr", "Object \"addr\" is unknown, try \"ip help\".\n", "controller", "\n", "route", "")
	if bare.Addressing != nil || bare.Controller.IsValid() || bare.ControllerRoute != nil {
		t.Fatalf("no ip: addressing %v, controller %v, route %v", bare.Addressing, bare.Controller, bare.ControllerRoute)
	}
	pkt, err = bare.Packet(Probe{Dir: "in", Proto: "tcp", Port: 22}, nil)
	if err != nil || pkt.Src.IsValid() || pkt.Dst.IsValid() || pkt.Iif != "" {
		t.Errorf("probe without addressing: %+v %v: want its ends and interface unset", pkt, err)
	}
}

// The read says whether busctl can change firewalld over D-Bus: the
// script prints it only where firewalld answered.
func TestParseReadBusctl(t *testing.T) {
	for _, tt := range []struct {
		parts []string
		want  bool
	}{
		{[]string{"zone", "public\n", "busctl", "busctl\n"}, true},
		{[]string{"zone", "public\n", "busctl", ""}, false},
		{[]string{"zone", "\n"}, false},
	} {
		b := shell.NewBatch(nil)
		var out []byte
		for i := 0; i < len(tt.parts); i += 2 {
			out = append(append(out, b.Part(tt.parts[i])...), tt.parts[i+1]...)
		}
		r, err := parseRead(out)
		if err != nil || r.Busctl != tt.want {
			t.Errorf("%q: Busctl %v (%v), want %v", tt.parts, r.Busctl, err, tt.want)
		}
	}
}

// ufwRead is a read of a ufw host as ReadArgv makes it, its nft listing
// from testdata/ufw/NFT.json and its iptables-nft-save from SAVE.save and
// SAVE.save6: when SAVE is another capture than NFT, a rule came or went
// between the two commands.
func ufwRead(t *testing.T, nft, save string) []byte {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile("testdata/ufw/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	b := shell.NewBatch(nil)
	var out []byte
	for _, p := range [][2]string{{"nft", read(nft + ".json")}, {"v4-nft", read(save + ".save")}, {"v6-nft", read(save + ".save6")}, {"ufw", "ENABLED=yes\n"}} {
		out = append(append(out, b.Part(p[0])...), p[1]...)
	}
	return out
}

// A read reads the tables again while nft's listing and iptables-nft-save's
// disagree, up to ReadTries reads; one iptables-nft-save calls
// incompatible disagrees for good and is not read again.
func TestReadAgain(t *testing.T) {
	ufw := func(nft, save string) Detection {
		r, err := parseRead(ufwRead(t, nft, save))
		if err != nil {
			t.Fatal(err)
		}
		return r.Detection
	}
	tests := []struct {
		name     string
		d        Detection
		changing string
		again    []bool // after 1, 2, 3 reads
	}{
		{"ufw, both listings alike", ufw("lab-ufw", "lab-ufw"), "", []bool{false, false, false}},
		{"ufw, a rule added between them", ufw("lab-ufw", "remedy-fasp"),
			"ip filter: chain ufw-user-input holds 1 rules in nft, 2 in iptables-nft-save", []bool{true, true, false}},
		{"ufw, a rule deleted between them", ufw("remedy-fasp", "lab-ufw"),
			"ip6 filter: chain ufw6-user-input holds 2 rules in nft, 1 in iptables-nft-save", []bool{true, true, false}},
		{"a native ip filter (incompatible)", loadKernel(t, "kernel/native-ip-filter").d, "", []bool{false, false, false}},
		{"iptables-nft's table with a rule nft added", loadKernel(t, "kernel/iptables-nft-edited").d, "", []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.d.Changing, "; "); (tt.changing == "") != (got == "") || !strings.Contains(got, tt.changing) {
				t.Errorf("Changing %q, want %q", got, tt.changing)
			}
			for i, want := range tt.again {
				if got := readAgain(tt.d, i+1); got != want {
					t.Errorf("readAgain after %d reads: %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

// Read reads the tables again, with ReadAgainArgv, until nft's listing
// and iptables-nft-save's agree, and the verdicts with them: a read
// caught mid-change leaves ufw's xt matches undecided.
func TestRead(t *testing.T) {
	ssh := Packet{Dir: "in", Proto: "tcp", Port: 22, Iif: "eth0", Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.10"),
		Local: []netip.Addr{netip.MustParseAddr("198.18.0.10")}}
	changed, alike := ufwRead(t, "lab-ufw", "remedy-fasp"), ufwRead(t, "lab-ufw", "lab-ufw")
	tests := []struct {
		name    string
		again   [][]byte // what each read after the first returns
		reads   int
		verdict string
		why     string
	}{
		{"alike at once", [][]byte{}, 1, VerdictAccept, "iptables-nft's"},
		{"alike the second time", [][]byte{alike}, 2, VerdictAccept, "iptables-nft's"},
		{"alike the third time", [][]byte{changed, alike}, 3, VerdictAccept, "iptables-nft's"},
		{"changing in every read", [][]byte{changed, changed, alike}, 3, VerdictUnknown,
			"ip filter: made by iptables-nft (nft shows xt expressions) but changed between nft's listing and iptables-nft-save's: its xt matches stay undecided; " +
				"ip6 filter: made by iptables-nft (nft shows xt expressions) but changed between nft's listing and iptables-nft-save's: its xt matches stay undecided; " +
				"nft and iptables-nft-save disagreed in each of 3 reads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := changed
			if tt.reads == 1 {
				first = alike
			}
			reads := 1
			r, err := Read(first, func(argv []string) ([]byte, error) {
				if !slices.Equal(argv, ReadAgainArgv) {
					t.Fatalf("read again with %q, want ReadAgainArgv", argv)
				}
				if reads > len(tt.again) {
					t.Fatalf("read %d times", reads+1)
				}
				reads++
				return tt.again[reads-2], nil
			})
			if err != nil {
				t.Fatal(err)
			}
			backend, why := r.Governing()
			if reads != tt.reads || backend != Ufw || !strings.Contains(why, tt.why) {
				t.Errorf("%d reads, %s: %s\nwant %d reads, ufw, %q", reads, backend, why, tt.reads, tt.why)
			}
			if v := Verdict(r.Rules, ssh); v.Verdict != tt.verdict {
				t.Errorf("tcp/22 in: %s (%s), want %s", v.Verdict, v.Reason, tt.verdict)
			}
		})
	}
}

// A rule replaced by another between nft's listing and
// iptables-nft-save's (ufw deny after ufw allow) leaves the count of
// rules alone, but not the rule's verdict, which both listings show: the
// tables are read again, and the verdict is not nft's accept by a rule
// iptables-nft-save prints as a drop.
func TestReadAgainAfterAReplacedRule(t *testing.T) {
	ssh := Packet{Dir: "in", Proto: "tcp", Port: 22, Iif: "eth0", Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.10"),
		Local: []netip.Addr{netip.MustParseAddr("198.18.0.10")}}
	alike := ufwRead(t, "lab-ufw", "lab-ufw")
	replaced := bytes.Replace(alike, []byte("-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT"), []byte("-A ufw-user-input -p tcp -m tcp --dport 22 -j DROP"), 1)
	r, err := parseRead(replaced)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(r.Detection.Changing, "; "), "ip filter: rule 1 of chain ufw-user-input is accept in nft, drop in iptables-nft-save"; got != want {
		t.Errorf("Changing %q, want %q", got, want)
	}
	reads := 1
	r, err = Read(replaced, func([]string) ([]byte, error) { reads++; return alike, nil })
	if err != nil {
		t.Fatal(err)
	}
	v := Verdict(r.Rules, ssh)
	if reads != 2 || v.Verdict != VerdictAccept || v.Rule != "-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT" {
		t.Errorf("%d reads, tcp/22 in: %s by %q; want 2 reads, accept by the rule that accepts", reads, v.Verdict, v.Rule)
	}
}

// Read's errors say whether the host failed to answer or answered what
// the model cannot read (ErrUnmodelled): the facts stand without the
// firewall only for the second.
func TestReadErrors(t *testing.T) {
	changed := ufwRead(t, "lab-ufw", "remedy-fasp")
	b := shell.NewBatch(nil)
	garbled := []byte(b.Part("nft") + `{"nftables": [`)
	lost := errors.New("connection lost")
	tests := []struct {
		name       string
		first      []byte
		again      func([]string) ([]byte, error)
		unmodelled bool
		want       string
	}{
		{"the first read garbled", garbled, nil, true, "nft"},
		{"the read again fails", changed, func([]string) ([]byte, error) { return nil, lost }, false, "connection lost"},
		{"the read again garbled", changed, func([]string) ([]byte, error) { return garbled, nil }, true, "the tables read again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(tt.first, tt.again)
			if err == nil || errors.Is(err, ErrUnmodelled) != tt.unmodelled || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v; want an error with %q, ErrUnmodelled %v", err, tt.want, tt.unmodelled)
			}
		})
	}
}
