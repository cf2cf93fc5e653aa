package main

import (
	"slices"
	"strings"
	"testing"
)

// Completion offers the built-in playbooks, the modules of remedy doc and
// the values of -o, as the shells ask for them (cobra's __complete).
func TestCompletion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", ""}, []string{"aspera-server", "aspera-client"}},
		{[]string{"audit", ""}, []string{"aspera-server"}},
		{[]string{"doc", ""}, []string{"firewall", "sshd", "globals", "policy", "aspera"}},
		{[]string{"run", "pb.lua", "-o", ""}, []string{"text", "json", "junit"}},
		{[]string{"audit", "pb.lua", "--become-method", ""}, []string{"sudo", "su"}},
		{[]string{"firewall", "explain", "h1", "tcp/22", "--become-method", ""}, []string{"sudo", "su"}},
	} {
		out, code := runRemedy(t, append([]string{"__complete"}, c.args...)...)
		lines := strings.Split(out, "\n")
		for _, w := range c.want {
			if code != exitOK || !slices.Contains(lines, w) {
				t.Errorf("complete %q: exit %d, want %q among:\n%s", c.args, code, w, out)
			}
		}
	}
}
