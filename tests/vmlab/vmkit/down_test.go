package vmkit

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"testing"
	"time"

	"remedy/tests/lab/labkit"
)

// The lab of a test process that died (killed, so its cleanup never ran)
// is taken down by the next Up, its directory last, once Down has removed
// its network (labkit's TestClaimedSlotIsReclaimedAfterItsOwner shows
// that part). A live process's lab is left alone.
func TestUpReclaimsTheLabsOfDeadTests(t *testing.T) {
	RequireVM(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(runRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	orphan, err := os.MkdirTemp(runRoot, runDirPrefix(dead.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(orphan)
	slot, err := labkit.ClaimSlot(orphan, dead.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer slot.Remove(orphan)
	st := &state{Slot: int(slot), Options: Options{Dir: orphan, Ephemeral: true}, Owner: dead.Process.Pid,
		VMs: []vmState{{VM: VM{Name: "nftables"}}}}
	if err := st.write(); err != nil {
		t.Fatal(err)
	}
	if err := slot.Network(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(overlayPath(orphan, "nftables"), []byte("disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	live, err := os.MkdirTemp(runRoot, runDirPrefix(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(live)

	reclaimOrphans()
	if _, err := os.Stat(orphan); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dead test's lab dir %s survives: %v", orphan, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live test's lab dir is gone: %v", err)
	}
}
