package firewall

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"remedy/lua/firewall"
)

// bootUnitsHost makes, in a private mount namespace, a host without
// systemd whose unit directories, ufw.conf and netfilter-persistent's
// plugins are these, and runs the boot units' read there: nftables
// enabled through a wants link; firewalld with a drop-in replacing its
// ExecStart= and enabled through a requires link to a path that is not
// there; ufw masked; netfilter-persistent installed, disabled; no ipset.
const bootUnitsHost = `set -e
for d in /etc/systemd/system /run/systemd /usr/lib/systemd/system /etc/ufw /usr/share; do
	mkdir -p "$d"; mount -t tmpfs tmpfs "$d"
done
s=/etc/systemd/system l=/usr/lib/systemd/system
mkdir -p $s/sysinit.target.wants $s/multi-user.target.requires $s/firewalld.service.d /usr/share/netfilter-persistent/plugins.d
printf '[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n' >$l/nftables.service
ln -s $l/nftables.service $s/sysinit.target.wants/nftables.service
printf '[Service]\nExecStart=/usr/sbin/firewalld --nofork\n' >$l/firewalld.service
printf '[Service]\nExecStart=\nExecStart=/usr/sbin/firewalld --nofork --debug' >$s/firewalld.service.d/override.conf
ln -s /nowhere/firewalld.service $s/multi-user.target.requires/firewalld.service
printf '[Service]\nExecStart=/usr/sbin/ufw-init start\n' >$l/ufw.service
ln -s /dev/null $s/ufw.service
printf '[Service]\nExecStart=/usr/sbin/netfilter-persistent start\n' >$l/netfilter-persistent.service
printf '# ufw\nENABLED=no\n' >/etc/ufw/ufw.conf
touch /usr/share/netfilter-persistent/plugins.d/10-ipset /usr/share/netfilter-persistent/plugins.d/15-ip4tables
exec "$@"`

// The boot units' read where systemd does not run, through a real shell:
// each unit's files, whether boot starts it, ufw's ENABLED= and the
// plugins.
func TestBootUnitsReadWithoutSystemd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace")
	}
	argv := append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c", bootUnitsHost, "sh"}, bootUnitsArgv...)
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	b, err := parseBootUnits(out)
	if err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if b.ufw || !slices.Equal(b.plugins, []string{"10-ipset", "15-ip4tables"}) {
		t.Errorf("ufw enabled %v, plugins %q; want false, [10-ipset 15-ip4tables]", b.ufw, b.plugins)
	}
	for _, tt := range []struct {
		name, path      string
		enabled, masked bool
		exec            [][]string
	}{
		{"nftables.service", "/usr/lib/systemd/system/nftables.service", true, false, [][]string{{"/usr/sbin/nft", "-f", "/etc/nftables.conf"}}},
		{"firewalld.service", "/usr/lib/systemd/system/firewalld.service", true, false, [][]string{{"/usr/sbin/firewalld", "--nofork", "--debug"}}},
		{"ufw.service", "/etc/systemd/system/ufw.service", false, true, nil},
		{"netfilter-persistent.service", "/usr/lib/systemd/system/netfilter-persistent.service", false, false, [][]string{{"/usr/sbin/netfilter-persistent", "start"}}},
		{"ipset.service", "", false, false, nil},
	} {
		u := b.units[tt.name]
		if u.Path != tt.path || u.Enabled != tt.enabled || u.Masked != tt.masked || !slices.EqualFunc(u.ExecStart, tt.exec, slices.Equal) {
			t.Errorf("%s: %+v, want path %q, enabled %v, masked %v, ExecStart %q", tt.name, u, tt.path, tt.enabled, tt.masked, tt.exec)
		}
	}
}

// The boot units' read where systemd runs, on a Debian 12 VM (systemd
// 252: nftables enabled with a drop-in, ufw masked, ipset disabled):
// the one systemctl show and the files it names give the units the
// systemctl cat and is-enabled of each unit gave on the same VM, but for
// the masked unit, whose path `systemctl cat` did not print.
func TestBootUnitsReadUnderSystemd(t *testing.T) {
	read := func(name string) bootUnits {
		out, err := os.ReadFile(filepath.Join(fixtures, "units", name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := parseBootUnits(out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	got, cat := read("debian12-systemd.parts"), read("debian12-systemd-cat.parts")
	nft := got.units["nftables.service"]
	if !nft.Enabled || nft.Path != "/lib/systemd/system/nftables.service" || !slices.EqualFunc(nft.ExecStart, [][]string{{"/usr/sbin/nft", "-f", "/etc/nftables.d/site.nft"}}, slices.Equal) {
		t.Errorf("nftables.service: %+v, want enabled, its drop-in's ExecStart", nft)
	}
	if u := got.units["ufw.service"]; !u.Masked || u.Path != "/etc/systemd/system/ufw.service" {
		t.Errorf("ufw.service: %+v, want masked, at /etc/systemd/system/ufw.service", u)
	}
	for _, n := range firewall.KnownUnits {
		u, c := got.units[n], cat.units[n]
		if n == "ufw.service" {
			c.Path = u.Path
		}
		if !reflect.DeepEqual(u, c) {
			t.Errorf("%s: systemctl show gives %+v, systemctl cat and is-enabled gave %+v", n, u, c)
		}
	}
}
