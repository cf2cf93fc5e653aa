package tests

import (
	"os"
	"strings"
	"testing"
	"time"
)

// movePlaybook moves sshd to port, dropping the old one.
const movePlaybook = `return {
  name = "runner lab: move sshd", hosts = "all",
  tasks = {
    { name = "move", run = function(v) return sshd.move_port { to = tonumber(v.to_port) }.inventory end },
  },
}`

// updateInventory moves one host's sshd to 33001 with --update-inventory,
// then runs on the rewritten inventory: with port 22 closed, that run
// can only have connected on 33001. It moves the host back to 22 the same
// way, so the later subtests find it where the lab put it.
func (r *remedyRunner) updateInventory(t *testing.T) {
	h := r.visible()[1]
	src, err := os.ReadFile(r.lab.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	inv := runnerFile(t, "inventory.ini", string(src))
	pb := runnerFile(t, "move.lua", movePlaybook)
	move := func(port string) runResult {
		return r.run(t, "run", pb, "-i", inv, "-l", h.Name, "--known-hosts", r.lab.KnownHosts, "-e", "to_port="+port, "--update-inventory")
	}

	res := move("33001")
	if res.code != 0 || !strings.Contains(res.stdout, h.Name+": inventory: ansible_port=33001 written to "+inv) {
		t.Fatalf("move to 33001: want exit 0 and the inventory written: %s", res)
	}
	if !hostLineHas(t, inv, h.Name, "ansible_port=33001") {
		t.Fatalf("%s: the inventory does not say ansible_port=33001", h.Name)
	}
	if err := r.lab.Reach(h.Addr, "tcp", 22, 2*time.Second); err == nil {
		t.Fatalf("%s: port 22 still answers after the move", h.Name)
	}
	ro := runnerFile(t, "readonly.lua", readOnlyPlaybook)
	if res := r.run(t, "run", ro, "-i", inv, "-l", h.Name, "--known-hosts", r.lab.KnownHosts); res.code != 0 {
		t.Fatalf("a second run on the rewritten inventory: want exit 0 over port 33001: %s", res)
	}

	res = move("22")
	if res.code != 0 || !hostLineHas(t, inv, h.Name, "ansible_port=22") {
		t.Fatalf("move back to 22: %s", res)
	}
	if err := r.lab.Reach(h.Addr, "tcp", 22, 10*time.Second); err != nil {
		t.Fatalf("%s: back on 22: %v", h.Name, err)
	}
}

// hostLineHas says whether the inventory line naming host holds want.
func hostLineHas(t *testing.T, inv, host, want string) bool {
	t.Helper()
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, host+" ") {
			return strings.Contains(l, want)
		}
	}
	return false
}
