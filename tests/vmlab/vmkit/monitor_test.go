package vmkit

import (
	"bytes"
	"os"
	"testing"
)

// qemu's line editor redraws the command at every character it echoes;
// what follows the last redraw is the answer. Captured from qemu 7.2's
// monitor socket.
func TestHMPOutput(t *testing.T) {
	for file, c := range map[string]struct{ command, want string }{
		"loadvm-missing.raw": {"loadvm nosuch", "Error: Snapshot 'nosuch' does not exist in one or more devices"},
		"info-status.raw":    {"info status", "VM status: running"},
	} {
		raw, err := os.ReadFile("testdata/hmp/" + file)
		if err != nil {
			t.Fatal(err)
		}
		// The greeting ends at the first prompt, as readUntilPrompt reads it.
		answer := raw[bytes.Index(raw, []byte(hmpPrompt))+len(hmpPrompt):]
		if got := hmpOutput(answer, c.command); got != c.want {
			t.Errorf("%s: %q, want %q", file, got, c.want)
		}
	}
}
