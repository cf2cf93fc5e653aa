package lua

import (
	"runtime"
	"testing"
)

// A host's Lua VM starts with a small data stack and call stack, not
// gopher-lua's fixed 5,120 slots and 256 frames (about 100 KiB a host in
// flight, whatever the playbook), and grows them as far as those went.
func TestVMStacksStartSmallAndGrow(t *testing.T) {
	p := &Playbook{}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	L := p.newVM(&Env{})
	runtime.ReadMemStats(&after)
	defer L.Close()
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("a new VM allocates %d KiB", got>>10)
	if got > 160<<10 {
		t.Errorf("a new VM allocates %d KiB, want at most 160 KiB", got>>10)
	}
	err := L.DoString(`
		local t = {}
		for i = 1, 4000 do t[i] = i end
		assert(select('#', unpack(t)) == 4000, "4000 values on the stack")
		local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
		assert(deep(200) == 200, "200 nested calls")`)
	if err != nil {
		t.Fatal(err)
	}
}
