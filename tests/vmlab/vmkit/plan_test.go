package vmkit

import (
	"slices"
	"strings"
	"testing"

	"remedy/tests/lab/labkit"
)

func TestParseProfile(t *testing.T) {
	for _, c := range []struct {
		in     string
		name   string
		egress bool
		err    string
	}{
		{"nftables", "nftables", false, ""},
		{" ufw+egress ", "ufw", true, ""},
		{"selinux+egress", "selinux", true, ""},
		{"ssh-socket", "ssh-socket", false, ""},
		{"ssh-socket+egress", "", false, "no firewall"},
		{"iptables-legacy", "", false, "unknown VM profile"},
		{"", "", false, "unknown VM profile"},
	} {
		name, egress, err := parseProfile(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want one saying %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || name != c.name || egress != c.egress {
			t.Errorf("%q: %q %t %v, want %q %t", c.in, name, egress, err, c.name, c.egress)
		}
	}
}

func TestOptionsNormalize(t *testing.T) {
	for _, c := range []struct {
		o   Options
		err string
	}{
		{Options{Dir: "/tmp/vmlab"}, ""},
		{Options{}, "dir is required"},
		{Options{Dir: "/tmp/a,b"}, "commas"},
		{Options{Dir: "/tmp/" + strings.Repeat("d", 100)}, "short"},
		{Options{Dir: "/tmp/vmlab", Profiles: slices.Repeat([]string{"ufw"}, MaxVMs+1)}, "at most"},
		{Options{Dir: "/tmp/vmlab", Profiles: []string{"nftables", "pf"}}, `"pf"`},
	} {
		o, err := c.o.normalize()
		if c.err == "" {
			if err != nil || o.Cache != DefaultCache || !slices.Equal(o.Profiles, Profiles) {
				t.Errorf("%+v: %+v, %v; want the defaults filled in", c.o, o, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: err %v, want one saying %q", c.o, err, c.err)
		}
	}
}

func TestSuitesFirst(t *testing.T) {
	got := suitesFirst([]string{"nftables", "iptables", "ufw+egress", "ssh-socket", "selinux"})
	want := []string{"nftables", "ssh-socket", "iptables", "ufw+egress", "selinux"}
	if !slices.Equal(got, want) {
		t.Errorf("build order %v, want %v", got, want)
	}
}

// VMs are named after their profiles and take the slot's host addresses
// and links in order, as labkit's hosts do.
func TestPlan(t *testing.T) {
	images := map[string]*image{}
	for _, n := range []string{"nftables", "nftables+egress", "ssh-socket"} {
		images[n] = &image{Name: n, Dir: "/cache/image-" + n + ".0123", HostKeys: []string{"ssh-ed25519 AAAA root@" + n}}
	}
	vms := plan([]string{"nftables", "ssh-socket", "nftables+egress", "nftables"}, labkit.Slot(3), images)
	var got []string
	for _, v := range vms {
		got = append(got, strings.Join([]string{v.Name, v.Addr, v.Profile, boolEnv(v.Egress), v.Tap, v.MAC, v.Kernel}, " "))
	}
	want := []string{
		"nftables 198.18.12.10 nftables 0 rl3v1 52:54:00:4c:03:01 /cache/image-nftables.0123/vmlinuz",
		"ssh-socket 198.18.12.11 ssh-socket 0 rl3v2 52:54:00:4c:03:02 /cache/image-ssh-socket.0123/vmlinuz",
		"nftables-egress 198.18.12.12 nftables 1 rl3v3 52:54:00:4c:03:03 /cache/image-nftables+egress.0123/vmlinuz",
		"nftables-2 198.18.12.13 nftables 0 rl3v4 52:54:00:4c:03:04 /cache/image-nftables.0123/vmlinuz",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The kernel finds its root and address on the command line; SELinux is
// switched on there too, and nowhere else.
func TestKernelCmdline(t *testing.T) {
	vm := vmState{VM: VM{Name: "nftables", Addr: "198.18.12.10", Profile: "nftables"}}
	want := "root=/dev/vda rw console=ttyS0 net.ifnames=0 ip=198.18.12.10:::255.255.254.0:nftables:eth0:off"
	if got := kernelCmdline(vm); got != want {
		t.Errorf("nftables: %q, want %q", got, want)
	}
	vm.Profile = "selinux"
	if got := kernelCmdline(vm); got != want+" security=selinux selinux=1" {
		t.Errorf("selinux: %q", got)
	}
}

// A VM's command line never changes (loadvm needs the one savevm ran
// under), and its drive, monitor and console live in the lab's dir.
func TestQemuArgs(t *testing.T) {
	vm := vmState{VM: VM{Name: "ufw", Addr: "198.18.12.10", Profile: "ufw"}, Kernel: "/c/vmlinuz", Initrd: "/c/initrd.img", Tap: "rl3v1", MAC: "52:54:00:4c:03:01"}
	args := strings.Join(qemuArgs("/tmp/vmlab", vm), " ")
	containsAll(t, "qemu args", args,
		"-accel tcg,tb-size=256 -cpu qemu64 -smp 1 -m 512",
		"-kernel /c/vmlinuz -initrd /c/initrd.img -append root=/dev/vda",
		"-drive file=/tmp/vmlab/ufw.qcow2,if=virtio,format=qcow2",
		"-netdev tap,id=net0,ifname=rl3v1,script=no,downscript=no -device virtio-net-pci,netdev=net0,mac=52:54:00:4c:03:01",
		"-monitor unix:/tmp/vmlab/ufw.monitor,server=on,wait=off")
	if again := strings.Join(qemuArgs("/tmp/vmlab", vm), " "); again != args {
		t.Errorf("qemu args differ between two calls:\n%s\n%s", args, again)
	}
}

func TestKnownHostsAndInventory(t *testing.T) {
	vms := []vmState{
		{VM: VM{Name: "nftables", Addr: "198.18.12.10", Profile: "nftables"}, HostKeys: []string{"ssh-ed25519 AAAAone root@x", "ecdsa-sha2-nistp256 AAAAtwo root@x"}},
		{VM: VM{Name: "ssh-socket", Addr: "198.18.12.11", Profile: "ssh-socket", Egress: false}, HostKeys: []string{"ssh-ed25519 AAAAthree root@y"}},
		{VM: VM{Name: "ufw-egress", Addr: "198.18.12.12", Profile: "ufw", Egress: true}, HostKeys: []string{"ssh-ed25519 AAAAfour root@z"}},
	}
	want := "198.18.12.10 ssh-ed25519 AAAAone\n198.18.12.10 ecdsa-sha2-nistp256 AAAAtwo\n198.18.12.11 ssh-ed25519 AAAAthree\n198.18.12.12 ssh-ed25519 AAAAfour\n"
	if got := string(knownHosts(vms)); got != want {
		t.Errorf("known_hosts:\n%s\nwant:\n%s", got, want)
	}
	st := &state{Options: Options{Dir: "/tmp/vmlab"}, VMs: vms}
	containsAll(t, "inventory", string(inventory(st.lab())),
		"ansible_ssh_private_key_file=/tmp/vmlab/id_ed25519\n",
		"UserKnownHostsFile=/tmp/vmlab/known_hosts -o StrictHostKeyChecking=yes'\n",
		"\n[nftables]\nnftables ansible_host=198.18.12.10 vm_profile=nftables vm_egress=false\n",
		"\n[ssh_socket]\nssh-socket ansible_host=198.18.12.11 vm_profile=ssh-socket vm_egress=false\n",
		"\n[egress]\nufw-egress\n")
}

func containsAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, text)
		}
	}
}
